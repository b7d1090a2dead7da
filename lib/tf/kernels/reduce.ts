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

/**
 * `acc[c] += src[r * cols + c]` over all rows, in float64, then scaled into `out`. Narrow rows
 * (BatchNorm's 6 or 16 channels) accumulate a block of several rows at once, so the inner loop is
 * long and flat, and fold the block at the end.
 */
export function reduceLeading(
  src: ArrayLike<number>,
  rows: number,
  cols: number,
  scale: number,
  out: Float32Array,
): void {
  let block = 1;
  for (let k = Math.min(rows, Math.floor(1024 / cols)); k > 1; k--) {
    if (rows % k === 0) {
      block = k;
      break;
    }
  }
  const width = block * cols;
  const acc = new Float64Array(width);
  const n = rows * cols;
  for (let o = 0; o < n; o += width) {
    for (let i = 0; i < width; i++) acc[i] += src[o + i];
  }
  for (let c = 0; c < cols; c++) {
    let total = 0;
    for (let i = c; i < width; i += cols) total += acc[i];
    out[c] = total * scale;
  }
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
