/**
 * Identity, and Cast to the same dtype, on wasm by sharing the input's memory (a reference count,
 * as the cpu backend does) instead of copying it. The engine clones every tensor it saves for the
 * backward pass through Identity: ~600 copies of activations per ResNet-18 step, ~90 per course
 * CNN step (40-50 and ~30 ms). No kernel writes into its inputs, so sharing is safe.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

interface RefCounted {
  incRef(dataId: object): void;
}

/** The input itself, one more reference to its data. */
function share(x: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  (backend as RefCounted).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Identity that shares memory; strings go to the stock kernel. */
export function makeIdentityKernel(backendName: string, stock: tf.KernelFunc | undefined): tf.KernelFunc {
  if (stock == null) throw new Error(`Identity on '${backendName}': stock kernel missing`);
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    return x.dtype === "string" ? stock(args) : share(x, args.backend);
  };
}

/** Cast that shares memory when the dtype does not change; real conversions go to the stock kernel. */
export function makeCastKernel(backendName: string, stock: tf.KernelFunc | undefined): tf.KernelFunc {
  if (stock == null) throw new Error(`Cast on '${backendName}': stock kernel missing`);
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const dtype = (args.attrs as { dtype: tf.DataType }).dtype;
    return x.dtype === dtype && dtype !== "string" ? share(x, args.backend) : stock(args);
  };
}
