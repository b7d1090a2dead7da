/**
 * PadV2 (constant padding) and Slice (stride 1) as copies of contiguous runs. The course CNN
 * zero-pads its input and its first pooled activation (its convolutions pad by 3, which Keras's
 * "same" can't say) and its gradient slices the padding off again: the stock wasm kernels move one
 * element at a time, 4.6 + 1.5 ms for the two pads and 4.7 ms for the slice of a 223 ms step on
 * wasm, measured; a run of W * C floats at once costs a fraction of that.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { produce } from "./_io.ts";

type Typed = Float32Array | Int32Array | Uint8Array;

/**
 * Copies the box of `src` (shape `from`) that starts at `begin` and has shape `size` into `dst`
 * (shape `to`) at `at`. Axes after the last one where the box is narrower than either tensor are
 * one contiguous run per copy.
 */
export function copyBox(
  src: Typed,
  from: readonly number[],
  begin: readonly number[],
  dst: Typed,
  to: readonly number[],
  at: readonly number[],
  size: readonly number[],
): void {
  const rank = size.length;
  if (size.some((s) => s === 0)) return;
  // The innermost axes where the box spans both tensors whole merge into the run.
  let inner = rank;
  while (inner > 0 && size[inner - 1] === from[inner - 1] && size[inner - 1] === to[inner - 1]) inner--;
  const srcStrides = tf.util.computeStrides(from as number[]);
  const dstStrides = tf.util.computeStrides(to as number[]);
  const stride = (strides: number[], axis: number) => (axis < rank - 1 ? strides[axis] : 1);
  if (inner === 0) {
    dst.set(src.subarray(0, src.length));
    return;
  }
  // Axis `inner - 1` and everything after it: one run.
  const runAxis = inner - 1;
  const run = size[runAxis] * (runAxis < rank - 1 ? srcStrides[runAxis] : 1);
  const copy = (axis: number, s: number, d: number): void => {
    if (axis === runAxis) {
      const s0 = s + begin[axis] * stride(srcStrides, axis);
      const d0 = d + at[axis] * stride(dstStrides, axis);
      dst.set(src.subarray(s0, s0 + run), d0);
      return;
    }
    const ss = stride(srcStrides, axis), ds = stride(dstStrides, axis);
    for (let i = 0; i < size[axis]; i++) {
      copy(axis + 1, s + (begin[axis] + i) * ss, d + (at[axis] + i) * ds);
    }
  };
  copy(0, 0, 0);
}

/** A PadV2 kernel for cpu or wasm; non-numeric dtypes go to the stock kernel. */
export function makePadKernel(backendName: string, stock: tf.KernelFunc | undefined): tf.KernelFunc {
  if (stock == null) throw new Error(`PadV2 on '${backendName}': stock kernel missing`);
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { paddings, constantValue } = args.attrs as unknown as {
      paddings: [number, number][];
      constantValue: number;
    };
    if (x.dtype === "string" || x.dtype === "complex64" || x.shape.length === 0) return stock(args);
    const outShape = x.shape.map((s, i) => paddings[i][0] + s + paddings[i][1]);
    return produce(backendName, args.backend, outShape, x.dtype, [x], (out, src) => {
      out.fill(constantValue);
      copyBox(src, x.shape, x.shape.map(() => 0), out, outShape, paddings.map((p) => p[0]), x.shape);
    });
  };
}

/** A Slice kernel for cpu or wasm; non-numeric dtypes go to the stock kernel. */
export function makeSliceKernel(backendName: string, stock: tf.KernelFunc | undefined): tf.KernelFunc {
  if (stock == null) throw new Error(`Slice on '${backendName}': stock kernel missing`);
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === "string" || x.dtype === "complex64" || x.shape.length === 0) return stock(args);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size);
    return produce(backendName, args.backend, s, x.dtype, [x], (out, src) => {
      copyBox(src, x.shape, b, out, s, s.map(() => 0), s);
    });
  };
}
