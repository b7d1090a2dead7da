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
 * Rows per block for a loop over [rows, cols] data (cols = channels) that keeps one accumulator
 * per element of a block: a divisor of `rows` with block * cols <= 1024, so narrow rows
 * (BatchNorm's 6 or 16 channels) make a long, flat inner loop with no modulo, folded per channel
 * at the end.
 */
export function rowsPerBlock(rows: number, cols: number): number {
  for (let k = Math.min(rows, Math.floor(1024 / cols)); k > 1; k--) {
    if (rows % k === 0) return k;
  }
  return 1;
}

/** `out[c] = scale * sum_r block[r * cols + c]`, the fold of a block of accumulators. */
export function foldBlock(
  acc: Float64Array,
  cols: number,
  scale: number,
  out: Float32Array | Float64Array,
): void {
  for (let c = 0; c < cols; c++) {
    let total = 0;
    for (let i = c; i < acc.length; i += cols) total += acc[i];
    out[c] = total * scale;
  }
}

/** `acc[c] += src[r * cols + c]` over all rows, in float64, then scaled into `out`. */
export function reduceLeading(
  src: ArrayLike<number>,
  rows: number,
  cols: number,
  scale: number,
  out: Float32Array,
): void {
  const width = rowsPerBlock(rows, cols) * cols;
  const acc = new Float64Array(width);
  const n = rows * cols;
  for (let o = 0; o < n; o += width) {
    for (let i = 0; i < width; i++) acc[i] += src[o + i];
  }
  foldBlock(acc, cols, scale, out);
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
