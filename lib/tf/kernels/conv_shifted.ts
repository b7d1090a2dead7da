/**
 * Stride-1 convolutions with few channels (the course CNN's 3 -> 6 and 6 -> 16) as shifted matrix
 * products through a BLAS, without a full im2col matrix. im2col copies every input kh * kw times
 * and then feeds the BLAS products only 6 or 16 columns wide; XNNPACK's direct convolution runs
 * such shapes at 9-19 GFLOP/s. Here:
 *
 * The padded input is laid out as a grid of `Hg x Wg` pixels per image, flattened over
 * (batch, row, column) into P rows of C values. For stride 1, output pixel p (in grid
 * coordinates) reads grid row `p + kh * Wg + kw` at tap (kh, kw): the same flat shift for every
 * pixel, so a whole convolution is a sum of products of shifted row ranges. Grid rows that are no
 * output pixel (the last kh - 1 rows and kw - 1 columns of each image) are computed and dropped,
 * or zero on the gradient side, which costs (Hg * Wg) / (OH * OW) - 1 extra, 15-25% here.
 *
 * - forward: a row `q` of `xa` holds the kw taps of one filter row, `xg[q .. q + kw)` (kw * C
 *   contiguous values, so building `xa` copies the input kw times, not kh * kw), and
 *   `y = sum_kh xa[p + kh * Wg] @ W[kh]` (kh products of depth kw * C);
 * - filter gradient: `dW[kh] = sum_p xa[p + kh * Wg]^T dy[p]` with dy on the grid;
 * - input gradient: `dx[p + kh * Wg + kw] += dy[p] @ W[kh, kw]^T`, one product per tap.
 *
 * Measured on the course CNN's shapes (batch 32, one core, OpenBLAS, through the registered
 * kernels): filter gradients 7.3 and 5.0 ms (ours through XNNPACK 16.9 and 17.7), the second
 * layer's input gradient 8.5 ms (17.2), its forward pass 5.9 ms (XNNPACK 9.0); the first layer's
 * forward pass, only 15 deep, stays on XNNPACK (see `MIN_SHIFTED_FORWARD_DEPTH` in `conv_blas.ts`).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { Blas } from "../blas.ts";

type Info = tf.backend_util.Conv2DInfo;

/** The padded input grid of a stride-1 convolution. */
interface Grid {
  /** Grid rows and columns per image. */
  hg: number;
  wg: number;
  /** Grid pixels in all images. */
  pixels: number;
  /** Grid rows of the product: every output pixel lies below this flat index. */
  rows: number;
  /** True when the grid is the input itself (no padding). */
  bare: boolean;
}

/** True for the convolutions this module computes: stride 1, no dilation. */
export function isShiftable(info: Info): boolean {
  return info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 &&
    info.dilationWidth === 1 && info.batchSize > 0 && info.outHeight > 0 && info.outWidth > 0 &&
    info.inChannels > 0 && info.outChannels > 0;
}

function gridOf(info: Info): Grid {
  const { top, bottom, left, right } = info.padInfo;
  const hg = info.inHeight + top + bottom, wg = info.inWidth + left + right;
  if (hg - info.filterHeight + 1 !== info.outHeight || wg - info.filterWidth + 1 !== info.outWidth) {
    throw new Error(`shifted convolution: inconsistent geometry ${JSON.stringify(info.padInfo)}`);
  }
  const pixels = info.batchSize * hg * wg;
  return {
    hg,
    wg,
    pixels,
    rows: pixels - (info.filterHeight - 1) * wg - (info.filterWidth - 1),
    bare: top === 0 && bottom === 0 && left === 0 && right === 0,
  };
}

// Scratch buffers per role, reused across calls (each worker has its own module instance).
const scratch = new Map<string, Float32Array>();
function buffer(role: string, length: number): Float32Array {
  let b = scratch.get(role);
  if (b === undefined || b.length < length) scratch.set(role, b = new Float32Array(length));
  return b.subarray(0, length);
}

/** `x` ([b, h, w, c]) on its zero-padded grid, or `x` itself without padding. */
function inputGrid(x: Float32Array, info: Info, g: Grid): Float32Array {
  if (g.bare) return x;
  const { inHeight: h, inWidth: w, inChannels: c } = info;
  const xg = buffer("grid", g.pixels * c);
  xg.fill(0);
  const run = w * c;
  for (let b = 0; b < info.batchSize; b++) {
    for (let r = 0; r < h; r++) {
      const from = (b * h + r) * run;
      xg.set(
        x.subarray(from, from + run),
        ((b * g.hg + r + info.padInfo.top) * g.wg + info.padInfo.left) * c,
      );
    }
  }
  return xg;
}

/** Output pixels ([b, oh, ow, n] in `out`) to or from their rows of the grid (`grid`, n per row). */
function copyOutputRows(
  info: Info,
  g: Grid,
  n: number,
  out: Float32Array,
  grid: Float32Array,
  toGrid: boolean,
) {
  const run = info.outWidth * n;
  for (let b = 0; b < info.batchSize; b++) {
    for (let r = 0; r < info.outHeight; r++) {
      const o = (b * info.outHeight + r) * run, q = (b * g.hg + r) * g.wg * n;
      if (toGrid) grid.set(out.subarray(o, o + run), q);
      else out.set(grid.subarray(q, q + run), o);
    }
  }
}

/** `dy` ([b, oh, ow, co]) on the grid, zero where no output pixel is: `rows` x co. */
function outputGrid(dy: Float32Array, info: Info, g: Grid): Float32Array {
  const dyg = buffer("dy", g.rows * info.outChannels);
  dyg.fill(0);
  copyOutputRows(info, g, info.outChannels, dy, dyg, true);
  return dyg;
}

/** Rows [q0, q1) of the kw-tap matrix of `xg` (kw * c values per row) into `xa`. */
function tapRows(xg: Float32Array, c: number, kw: number, q0: number, q1: number, xa: Float32Array) {
  const width = kw * c;
  for (let q = q0; q < q1; q++) {
    const from = q * c, to = (q - q0) * width;
    for (let i = 0; i < width; i++) xa[to + i] = xg[from + i];
  }
}

/**
 * Rows per product call. OpenBLAS runs these thin products (6 to 30 columns) 1.3x (forward) to
 * 4x (filter gradient, where the rows are the summed dimension) faster in chunks of a few thousand
 * rows than in one call over a whole slice, measured on the course CNN's shapes; each chunk's
 * rows are used by all kh products while they are in cache.
 */
const CHUNK_ROWS = 2048;

/** Output rows per slice of the tap matrix: about 8 MB of floats with its kh overlap. */
function sliceRows(info: Info, g: Grid): number {
  const width = info.filterWidth * info.inChannels;
  return Math.max(g.wg, Math.floor((1 << 21) / width) - (info.filterHeight - 1) * g.wg);
}

/**
 * Calls `product(xa, m0, m1)` for slices [m0, m1) of the grid's product rows, with `xa` holding
 * tap rows [m0, m1 + (kh - 1) * Wg).
 */
function eachSlice(
  x: Float32Array,
  info: Info,
  g: Grid,
  product: (xa: Float32Array, m0: number, m1: number) => void,
): void {
  const xg = inputGrid(x, info, g);
  const width = info.filterWidth * info.inChannels;
  const overlap = (info.filterHeight - 1) * g.wg;
  const step = sliceRows(info, g);
  for (let m0 = 0; m0 < g.rows; m0 += step) {
    const m1 = Math.min(g.rows, m0 + step);
    const xa = buffer("taps", (m1 - m0 + overlap) * width);
    tapRows(xg, info.inChannels, info.filterWidth, m0, m1 + overlap, xa);
    product(xa, m0, m1);
  }
}

/** `y = conv(x, w)` into `y` ([b, oh, ow, co]). */
export function shiftedForward(
  blas: Blas,
  x: Float32Array,
  w: Float32Array,
  info: Info,
  y: Float32Array,
): void {
  const g = gridOf(info);
  const co = info.outChannels, width = info.filterWidth * info.inChannels;
  const yg = buffer("y", g.rows * co);
  eachSlice(x, info, g, (xa, m0, m1) => {
    for (let m = m0; m < m1; m += CHUNK_ROWS) {
      const rows = Math.min(CHUNK_ROWS, m1 - m);
      for (let kh = 0; kh < info.filterHeight; kh++) {
        const a = xa.subarray((m - m0 + kh * g.wg) * width);
        const wk = w.subarray(kh * width * co);
        const out = yg.subarray(m * co);
        blas.sgemm(false, false, rows, co, width, 1, a, width, wk, co, kh === 0 ? 0 : 1, out, co);
      }
    }
  });
  copyOutputRows(info, g, co, y, yg, false);
}

/** `dw = d conv / d w` into `dw` ([kh, kw, ci, co]). */
export function shiftedFilterGrad(
  blas: Blas,
  x: Float32Array,
  dy: Float32Array,
  info: Info,
  dw: Float32Array,
): void {
  const g = gridOf(info);
  const co = info.outChannels, width = info.filterWidth * info.inChannels;
  const dyg = outputGrid(dy, info, g);
  eachSlice(x, info, g, (xa, m0, m1) => {
    for (let m = m0; m < m1; m += CHUNK_ROWS) {
      const rows = Math.min(CHUNK_ROWS, m1 - m);
      const beta = m === 0 ? 0 : 1;
      for (let kh = 0; kh < info.filterHeight; kh++) {
        const a = xa.subarray((m - m0 + kh * g.wg) * width);
        const dwk = dw.subarray(kh * width * co);
        blas.sgemm(true, false, width, co, rows, 1, a, width, dyg.subarray(m * co), co, beta, dwk, co);
      }
    }
  });
}

/** `dx = d conv / d x` into `dx` ([b, h, w, ci]). */
export function shiftedInputGrad(
  blas: Blas,
  dy: Float32Array,
  w: Float32Array,
  info: Info,
  dx: Float32Array,
): void {
  const g = gridOf(info);
  const { inChannels: ci, outChannels: co } = info;
  const dyg = outputGrid(dy, info, g);
  const dxg = g.bare ? dx : buffer("grid", g.pixels * ci);
  dxg.fill(0);
  for (let kh = 0; kh < info.filterHeight; kh++) {
    for (let kw = 0; kw < info.filterWidth; kw++) {
      const tap = w.subarray((kh * info.filterWidth + kw) * ci * co); // [ci, co]
      const at = dxg.subarray((kh * g.wg + kw) * ci);
      blas.sgemm(false, true, g.rows, ci, co, 1, dyg, co, tap, co, 1, at, ci);
    }
  }
  if (g.bare) return;
  const { inHeight: h, inWidth: wd } = info;
  const run = wd * ci;
  for (let b = 0; b < info.batchSize; b++) {
    for (let r = 0; r < h; r++) {
      const q = ((b * g.hg + r + info.padInfo.top) * g.wg + info.padInfo.left) * ci;
      dx.set(dxg.subarray(q, q + run), (b * h + r) * run);
    }
  }
}
