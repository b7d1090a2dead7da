/**
 * Multiply, Add and Sub where one float32 operand repeats along the leading axes of the other
 * (a per-channel vector against an NHWC activation: `[C]` or `[1, 1, 1, C]` with `[B, H, W, C]`),
 * in one pass. BatchNorm's moments and its gradient dispatch a dozen of these per layer every
 * step; the stock wasm kernels (XNNPACK) run the broadcast as one call per C-element row, 4-5x
 * slower than the same op on equal shapes: ~85 ms of a ~390 ms course-CNN step, ~20 ms here. Equal shapes,
 * scalars and other broadcasts go to the stock kernel. Each result is the float32 rounding of the
 * exact one, as in the stock kernels.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { produce } from "./_io.ts";

/** The binary kernels handled here. */
export type BinaryOp = "Multiply" | "Add" | "Sub";

/**
 * The length of `small`'s repeating block when it broadcasts against `full` along leading axes
 * only (its shape, leading 1s dropped, is a proper suffix of `full`'s), else 0.
 */
export function trailingPeriod(full: readonly number[], small: readonly number[]): number {
  let start = 0;
  while (start < small.length && small[start] === 1) start++;
  const rest = small.slice(start);
  if (rest.length === 0 || rest.length > full.length || small.length > full.length) return 0;
  const offset = full.length - rest.length;
  if (!rest.every((d, i) => d === full[offset + i])) return 0;
  const period = tf.util.sizeFromShape(rest);
  return period < tf.util.sizeFromShape([...full]) ? period : 0;
}

/** `small` repeated to `length` elements (a whole number of periods). */
function repeatRow(small: ArrayLike<number>, period: number, length: number): Float32Array {
  const row = new Float32Array(length);
  for (let i = 0; i < length; i++) row[i] = small[i % period];
  return row;
}

/** Rows per block (a block of up to ~4096 elements): the largest divisor of `rows` up to `max`. */
function blockRows(rows: number, max: number): number {
  for (let k = Math.min(rows, max); k > 1; k--) if (rows % k === 0) return k;
  return 1;
}

/**
 * `out[i] = full[i] op small[i % period]`, or `small[i % period] op full[i]` when `smallFirst`
 * (only Sub cares): over blocks of whole periods against `small` repeated once, so the inner loops
 * are flat. One loop per case keeps each monomorphic.
 */
export function broadcastInto(
  op: BinaryOp,
  full: ArrayLike<number>,
  small: ArrayLike<number>,
  period: number,
  smallFirst: boolean,
  out: Float32Array,
): void {
  const n = out.length;
  const row = repeatRow(small, period, period * blockRows(n / period, Math.floor(4096 / period)));
  const len = row.length;
  for (let o = 0; o < n; o += len) {
    if (op === "Multiply") { for (let i = 0; i < len; i++) out[o + i] = full[o + i] * row[i]; }
    else if (op === "Add") { for (let i = 0; i < len; i++) out[o + i] = full[o + i] + row[i]; }
    else if (!smallFirst) { for (let i = 0; i < len; i++) out[o + i] = full[o + i] - row[i]; }
    else for (let i = 0; i < len; i++) out[o + i] = row[i] - full[o + i];
  }
}

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  disposeData(dataId: object): boolean;
}

/**
 * On wasm: the stock (XNNPACK) kernel on a reshaped view, `[n / L, L]` against `small` repeated to
 * `L` (hundreds of elements), so its broadcast runs one long vector call per row.
 */
function viaStockRows(
  stock: tf.KernelFunc,
  args: Parameters<tf.KernelFunc>[0],
  full: tf.TensorInfo,
  small: tf.TensorInfo,
  period: number,
  smallFirst: boolean,
): tf.TensorInfo {
  const be = args.backend as unknown as WasmLike;
  const n = tf.util.sizeFromShape(full.shape);
  const len = period * blockRows(n / period, Math.floor(4096 / period));
  const rowInfo = be.makeOutput([len], "float32");
  try {
    be.typedArrayFromHeap(rowInfo).set(repeatRow(be.typedArrayFromHeap(small), period, len));
    const view = { dataId: full.dataId, shape: [n / len, len], dtype: full.dtype };
    const inputs = smallFirst ? { a: rowInfo, b: view } : { a: view, b: rowInfo };
    const out = stock({ ...args, inputs }) as tf.TensorInfo;
    return { dataId: out.dataId, shape: full.shape.slice(), dtype: out.dtype };
  } finally {
    be.disposeData(rowInfo.dataId);
  }
}

/** A Multiply, Add or Sub kernel for cpu or wasm that does leading-axes broadcasts itself. */
export function makeBinaryKernel(
  op: BinaryOp,
  backendName: string,
  stock: tf.KernelFunc | undefined,
): tf.KernelFunc {
  if (stock == null) throw new Error(`${op} on '${backendName}': stock kernel missing`);
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== "float32" || b.dtype !== "float32") return stock(args);
    const periodB = trailingPeriod(a.shape, b.shape);
    const periodA = periodB === 0 ? trailingPeriod(b.shape, a.shape) : 0;
    // Scalars (period 1) are as fast in the stock kernels.
    if (periodB <= 1 && periodA <= 1) return stock(args);
    const smallFirst = periodB === 0;
    const [full, small] = smallFirst ? [b, a] : [a, b];
    const period = smallFirst ? periodA : periodB;
    if (backendName === "wasm") return viaStockRows(stock, args, full, small, period, smallFirst);
    return produce(backendName, args.backend, full.shape, "float32", [full, small], (out, f, s) => {
      broadcastInto(op, f, s, period, smallFirst, out as Float32Array);
    });
  };
}
