/**
 * Sum and Mean over the leading axes of a float tensor, in one pass over the data. BatchNorm's
 * statistics and gradients reduce NHWC activations over [0, 1, 2] every step; the stock wasm and
 * cpu kernels first transpose the whole activation so the reduced axes come last (a full copy with
 * an index per element): 27 + 21 ms of a course-CNN step on wasm. Other reductions go to the stock
 * kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { produce } from "./_io.ts";

/** `acc[c] += src[r * cols + c]` over all rows, in float64, then scaled into `out`. */
export function reduceLeading(
  src: ArrayLike<number>,
  rows: number,
  cols: number,
  scale: number,
  out: Float32Array,
): void {
  const acc = new Float64Array(cols);
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    for (let c = 0; c < cols; c++) acc[c] += src[o + c];
  }
  for (let c = 0; c < cols; c++) out[c] = acc[c] * scale;
}

/** A Sum or Mean kernel for cpu or wasm that handles leading-axes float32 reductions itself. */
export function makeReduceKernel(
  kind: "Sum" | "Mean",
  backendName: string,
  stock: tf.KernelFunc | undefined,
): tf.KernelFunc {
  if (stock == null) throw new Error(`${kind} on '${backendName}': stock kernel missing`);
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < x.shape.length && axes.every((a, i) => a === i);
    if (x.dtype !== "float32" || !leading) return stock(args);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const rest = x.shape.slice(axes.length);
    const cols = tf.util.sizeFromShape(rest);
    if (rows === 0 || cols === 0) return stock(args);
    const outShape = keepDims ? [...axes.map(() => 1), ...rest] : rest;
    const scale = kind === "Mean" ? 1 / rows : 1;
    return produce(backendName, args.backend, outShape, "float32", [x], (out, src) => {
      reduceLeading(src, rows, cols, scale, out as Float32Array);
    });
  };
}
