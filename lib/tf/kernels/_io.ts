/**
 * Zero-copy access to kernel inputs and outputs on the cpu and wasm backends, which keep their
 * data differently: cpu as JS typed arrays, wasm in its heap (where any allocation may grow the
 * memory and detach earlier views, so views are taken only after the output is allocated).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

type Typed = Float32Array | Int32Array | Uint8Array;

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Typed;
}
interface CpuLike {
  data: { get(dataId: object): { values: Typed } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Typed): tf.TensorInfo;
}

/**
 * Allocates an output of `shape`/`dtype` and calls `compute(out, ...inputViews)` with typed-array
 * views of the output and of `inputs`, then returns the output's TensorInfo.
 */
export function produce(
  backendName: string,
  backend: unknown,
  shape: number[],
  dtype: tf.DataType,
  inputs: tf.TensorInfo[],
  compute: (out: Typed, ...ins: Typed[]) => void,
): tf.TensorInfo {
  return produceMany(
    backendName,
    backend,
    [{ shape, dtype }],
    inputs,
    (outs, ins) => compute(outs[0], ...ins),
  )[0];
}

/** {@link produce} for several outputs: `compute(outputViews, inputViews)`. */
export function produceMany(
  backendName: string,
  backend: unknown,
  outputs: { shape: number[]; dtype: tf.DataType }[],
  inputs: tf.TensorInfo[],
  compute: (outs: Typed[], ins: Typed[]) => void,
): tf.TensorInfo[] {
  if (backendName === "wasm") {
    const be = backend as WasmLike;
    const infos = outputs.map((o) => be.makeOutput(o.shape, o.dtype));
    // Views only now: every allocation above may have grown (and detached) the heap.
    compute(infos.map((t) => be.typedArrayFromHeap(t)), inputs.map((t) => be.typedArrayFromHeap(t)));
    return infos;
  }
  if (backendName === "cpu") {
    const be = backend as CpuLike;
    const values = outputs.map((o) =>
      tf.util.getTypedArrayFromDType(o.dtype as "float32", tf.util.sizeFromShape(o.shape)) as Typed
    );
    compute(values, inputs.map((t) => be.data.get(t.dataId).values));
    return outputs.map((o, k) => be.makeTensorInfo(o.shape, o.dtype, values[k]));
  }
  throw new Error(`produce: backend '${backendName}' is not supported`);
}
