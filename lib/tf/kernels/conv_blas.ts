/**
 * Conv2D, FusedConv2D and both convolution gradients as im2col + a BLAS sgemm (see `../blas.ts`),
 * on the wasm and cpu backends. With the filter [kh, kw, ci, co] read as a [kh*kw*ci, co] matrix
 * and the im2col matrix `cols` [b*oh*ow, kh*kw*ci] (one row per output pixel, the input patch it
 * reads):
 *
 * - forward: `y = cols @ W`;
 * - filter gradient: `dW = cols^T @ dy`;
 * - input gradient: `dcols = dy @ W^T`, then each row of dcols added back where its patch came
 *   from (col2im).
 *
 * The im2col matrix is built in slices of rows in a scratch buffer outside the backend's memory
 * (a slice stays in cache between its copy and its product, and the buffer never grows with the
 * batch). A 1x1 stride-1 convolution without padding needs no im2col: the input already is `cols`.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import type { Blas } from "../blas.ts";
import { produce } from "./_io.ts";
import { isShiftable, shiftedFilterGrad, shiftedForward, shiftedInputGrad } from "./conv_shifted.ts";

type TensorInfo = tf.TensorInfo;
type Info = tf.backend_util.Conv2DInfo;
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type Shape4 = [number, number, number, number];

/** Rows of the im2col matrix per slice: about 8 MB of floats, and never fewer than 256 rows. */
function sliceRows(rowLength: number): number {
  return Math.max(256, Math.floor((1 << 21) / Math.max(1, rowLength)));
}

/** One growable scratch buffer per thread (each worker has its own module instance). */
let scratch = new Float32Array(0);
function scratchOf(length: number): Float32Array {
  if (scratch.length < length) scratch = new Float32Array(length);
  return scratch.subarray(0, length);
}

function copy(dst: Float32Array, to: number, src: Float32Array, from: number, n: number): void {
  // set() pays a fixed cost per call that a short loop doesn't.
  if (n >= 32) dst.set(src.subarray(from, from + n), to);
  else for (let i = 0; i < n; i++) dst[to + i] = src[from + i];
}

/** Where output row `m` (a pixel of y) reads its input. */
function pixelOf(info: Info, m: number): { b: number; ih0: number; iw0: number } {
  const ow = m % info.outWidth;
  const rest = (m - ow) / info.outWidth;
  const oh = rest % info.outHeight;
  const b = (rest - oh) / info.outHeight;
  return {
    b,
    ih0: oh * info.strideHeight - info.padInfo.top,
    iw0: ow * info.strideWidth - info.padInfo.left,
  };
}

/** Writes rows [m0, m1) of the im2col matrix of `x` into `cols`. */
export function im2col(x: Float32Array, info: Info, m0: number, m1: number, cols: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: C, filterHeight: FH, filterWidth: FW } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const K = FH * FW * C, run = FW * C;
  for (let m = m0; m < m1; m++) {
    const { b, ih0, iw0 } = pixelOf(info, m);
    const base = (m - m0) * K;
    // The whole row of taps is one contiguous run of x when it lies inside the image.
    const inside = dw === 1 && iw0 >= 0 && iw0 + FW <= W;
    for (let kh = 0; kh < FH; kh++) {
      const ih = ih0 + kh * dh;
      const to = base + kh * run;
      if (ih < 0 || ih >= H) {
        cols.fill(0, to, to + run);
        continue;
      }
      const row = (b * H + ih) * W;
      if (inside) {
        copy(cols, to, x, (row + iw0) * C, run);
        continue;
      }
      for (let kw = 0; kw < FW; kw++) {
        const iw = iw0 + kw * dw;
        if (iw < 0 || iw >= W) cols.fill(0, to + kw * C, to + (kw + 1) * C);
        else copy(cols, to + kw * C, x, (row + iw) * C, C);
      }
    }
  }
}

/** Adds rows [m0, m1) of `dcols` back into `dx` at the patches they came from (im2col's adjoint). */
export function col2imAdd(dcols: Float32Array, info: Info, m0: number, m1: number, dx: Float32Array): void {
  const { inHeight: H, inWidth: W, inChannels: C, filterHeight: FH, filterWidth: FW } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const K = FH * FW * C;
  for (let m = m0; m < m1; m++) {
    const { b, ih0, iw0 } = pixelOf(info, m);
    const base = (m - m0) * K;
    for (let kh = 0; kh < FH; kh++) {
      const ih = ih0 + kh * dh;
      if (ih < 0 || ih >= H) continue;
      const row = (b * H + ih) * W;
      for (let kw = 0; kw < FW; kw++) {
        const iw = iw0 + kw * dw;
        if (iw < 0 || iw >= W) continue;
        const to = (row + iw) * C, from = base + (kh * FW + kw) * C;
        for (let c = 0; c < C; c++) dx[to + c] += dcols[from + c];
      }
    }
  }
}

/** True when `x` is its own im2col matrix. */
function pointwise(info: Info): boolean {
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 &&
    info.strideWidth === 1 && info.padInfo.top === 0 && info.padInfo.left === 0 &&
    info.outHeight === info.inHeight && info.outWidth === info.inWidth;
}

/** `y = cols(x) @ W` into `y` ([b*oh*ow, co]). */
export function convForward(blas: Blas, x: Float32Array, w: Float32Array, info: Info, y: Float32Array): void {
  const M = info.batchSize * info.outHeight * info.outWidth;
  const K = info.filterHeight * info.filterWidth * info.inChannels, N = info.outChannels;
  if (pointwise(info)) return blas.sgemm(false, false, M, N, K, 1, x, K, w, N, 0, y, N);
  const step = sliceRows(K);
  const cols = scratchOf(Math.min(M, step) * K);
  for (let m0 = 0; m0 < M; m0 += step) {
    const m1 = Math.min(M, m0 + step);
    im2col(x, info, m0, m1, cols);
    blas.sgemm(false, false, m1 - m0, N, K, 1, cols, K, w, N, 0, y.subarray(m0 * N), N);
  }
}

/** `dW = cols(x)^T @ dy` into `dw` ([kh*kw*ci, co]). */
export function convFilterGrad(
  blas: Blas,
  x: Float32Array,
  dy: Float32Array,
  info: Info,
  dw: Float32Array,
): void {
  const M = info.batchSize * info.outHeight * info.outWidth;
  const K = info.filterHeight * info.filterWidth * info.inChannels, N = info.outChannels;
  if (M === 0) return void dw.fill(0);
  if (pointwise(info)) return blas.sgemm(true, false, K, N, M, 1, x, K, dy, N, 0, dw, N);
  const step = sliceRows(K);
  const cols = scratchOf(Math.min(M, step) * K);
  for (let m0 = 0; m0 < M; m0 += step) {
    const m1 = Math.min(M, m0 + step);
    im2col(x, info, m0, m1, cols);
    blas.sgemm(true, false, K, N, m1 - m0, 1, cols, K, dy.subarray(m0 * N), N, m0 === 0 ? 0 : 1, dw, N);
  }
}

/** `dx = col2im(dy @ W^T)` into `dx` ([b, h, w, ci]). */
export function convInputGrad(
  blas: Blas,
  dy: Float32Array,
  w: Float32Array,
  info: Info,
  dx: Float32Array,
): void {
  const M = info.batchSize * info.outHeight * info.outWidth;
  const K = info.filterHeight * info.filterWidth * info.inChannels, N = info.outChannels;
  if (pointwise(info)) return blas.sgemm(false, true, M, K, N, 1, dy, N, w, N, 0, dx, K);
  dx.fill(0);
  const step = sliceRows(K);
  const dcols = scratchOf(Math.min(M, step) * K);
  for (let m0 = 0; m0 < M; m0 += step) {
    const m1 = Math.min(M, m0 + step);
    blas.sgemm(false, true, m1 - m0, K, N, 1, dy.subarray(m0 * N), N, w, N, 0, dcols, K);
    col2imAdd(dcols, info, m0, m1, dx);
  }
}

function convInfo(xShape: Shape4, filterShape: Shape4, attrs: tf.NamedAttrMap): Info {
  return tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides as number | [number, number],
    (attrs.dilations ?? 1) as number | [number, number],
    attrs.pad as "valid" | "same" | number,
    attrs.dimRoundingMode as "floor" | "round" | "ceil" | undefined,
    false,
    "channelsLast",
  );
}

/** What we leave to the stock kernel: NCHW, non-float inputs. */
function unsupported(attrs: tf.NamedAttrMap | undefined, ...tensors: (TensorInfo | undefined)[]): boolean {
  const format = attrs?.dataFormat;
  if (format != null && format !== "NHWC" && format !== "channelsLast") return true;
  return tensors.some((t) => t != null && t.dtype !== "float32");
}

/**
 * Output channels below which im2col loses: the products get too thin for the BLAS (one side of
 * 6 or 16 columns) while im2col copies as much as ever. Measured on the course CNN (6 and 16
 * channels), every convolution ran 1.0-1.7x slower through im2col than through XNNPACK;
 * ResNet-18's (64-512 channels) 2.5-5x faster. Thinner stride-1 convolutions take the shifted
 * products of `conv_shifted.ts` instead, the rest the other kernels.
 */
export const MIN_BLAS_CHANNELS = 32;

/** A convolution and both its gradients, as one of the two BLAS methods computes them. */
export interface ConvImplementation {
  forward: typeof convForward;
  filterGrad: typeof convFilterGrad;
  inputGrad: typeof convInputGrad;
}

/** im2col + sgemm. */
export const IM2COL: ConvImplementation = {
  forward: convForward,
  filterGrad: convFilterGrad,
  inputGrad: convInputGrad,
};
/** Shifted products (`conv_shifted.ts`), stride 1 only. */
export const SHIFTED: ConvImplementation = {
  forward: shiftedForward,
  filterGrad: shiftedFilterGrad,
  inputGrad: shiftedInputGrad,
};

/**
 * Depth (kw * input channels) below which a thin forward convolution stays on XNNPACK. Batch 32,
 * the two interleaved in one process (median and best of 12 rounds): the course CNN's first layer
 * (5 x 3 = 15) 11.5 / 8.7 ms on XNNPACK against 11.9 / 10.3 ms as shifted products; its second
 * (5 x 6 = 30) 9.0 / 7.2 ms against 5.9 / 4.2 ms. The gradients win through the BLAS at every depth
 * measured (7 against 17 ms for the first layer's filter gradient).
 */
export const MIN_SHIFTED_FORWARD_DEPTH = 16;

/**
 * How a convolution runs: im2col + sgemm, shifted products, or another kernel (null), for its
 * forward pass or for its gradients.
 */
function implementationFor(info: Info, pass: "forward" | "gradient"): ConvImplementation | null {
  if (info.outChannels >= MIN_BLAS_CHANNELS) return IM2COL;
  if (!isShiftable(info)) return null;
  const shallow = info.filterWidth * info.inChannels < MIN_SHIFTED_FORWARD_DEPTH;
  return pass === "forward" && shallow ? null : SHIFTED;
}

/** True for the activations {@link epilogue} applies. */
export function hasEpilogue(activation: string): boolean {
  return activation in ACTIVATIONS;
}

/**
 * Bias (one per channel, the last axis, or a scalar) and activation applied in place, as the
 * fused kernels do after their product.
 */
export function epilogue(
  y: Float32Array,
  channels: number,
  bias: Float32Array | undefined,
  activation: string,
  alpha: number,
): void {
  if (bias?.length === 1 && channels !== 1) bias = new Float32Array(channels).fill(bias[0]);
  if (bias) {
    for (let i = 0; i < y.length; i += channels) {
      for (let c = 0; c < channels; c++) y[i + c] += bias[c];
    }
  }
  const f = ACTIVATIONS[activation];
  if (f) { for (let i = 0; i < y.length; i++) y[i] = f(y[i], alpha); }
}

// The activations FusedConv2D carries (prelu, with its weight tensor, goes to the stock kernel).
const ACTIVATIONS: Record<string, ((v: number, alpha: number) => number) | null> = {
  linear: null,
  relu: (v) => (v > 0 ? v : 0),
  relu6: (v) => Math.min(Math.max(v, 0), 6),
  elu: (v) => (v >= 0 ? v : Math.exp(v) - 1),
  leakyrelu: (v, a) => (v >= 0 ? v : a * v),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
};

/** The four kernel functions for one backend. */
export interface BlasConvKernels {
  conv2d: tf.KernelFunc;
  fusedConv2d: tf.KernelFunc;
  filter: tf.KernelFunc;
  input: tf.KernelFunc;
}

/**
 * Builds the kernels for `backendName`; `stock` gives the backend's own kernel of a name, for the
 * cases we leave to it.
 */
export function makeBlasConvKernels(
  backendName: string,
  blas: Blas,
  stock: (kernelName: string) => tf.KernelFunc | undefined,
): BlasConvKernels {
  const fallback = (name: string, args: KernelArgs): TensorInfo => {
    const k = stock(name);
    if (k == null) throw new Error(`${name} on '${backendName}': no stock kernel for this case`);
    return k(args as never) as TensorInfo;
  };

  function conv2d(args: KernelArgs): TensorInfo {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    if (unsupported(args.attrs, x, filter)) return fallback(tf.Conv2D, args);
    const info = convInfo(x.shape as Shape4, filter.shape as Shape4, args.attrs!);
    const impl = implementationFor(info, "forward");
    if (impl === null) return fallback(tf.Conv2D, args);
    return produce(
      backendName,
      args.backend,
      info.outShape,
      "float32",
      [x, filter],
      (y, xs, ws) => impl.forward(blas, xs as Float32Array, ws as Float32Array, info, y as Float32Array),
    );
  }

  function fusedConv2d(args: KernelArgs): TensorInfo {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const activation = (args.attrs?.activation ?? "linear") as string;
    if (
      unsupported(args.attrs, x, filter, bias) ||
      preluActivationWeights != null ||
      !hasEpilogue(activation) ||
      (bias != null && bias.shape.length > 1 &&
        bias.shape.some((d, i) => i < bias.shape.length - 1 && d !== 1))
    ) {
      return fallback(tf.FusedConv2D, args);
    }
    const info = convInfo(x!.shape as Shape4, filter!.shape as Shape4, args.attrs!);
    const impl = implementationFor(info, "forward");
    if (impl === null) return fallback(tf.FusedConv2D, args);
    const alpha = (args.attrs?.leakyreluAlpha ?? 0.2) as number;
    const inputs = bias != null ? [x!, filter!, bias] : [x!, filter!];
    return produce(backendName, args.backend, info.outShape, "float32", inputs, (y, xs, ws, bs) => {
      impl.forward(blas, xs as Float32Array, ws as Float32Array, info, y as Float32Array);
      epilogue(y as Float32Array, info.outChannels, bs as Float32Array | undefined, activation, alpha);
    });
  }

  function filter(args: KernelArgs): TensorInfo {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    if (unsupported(args.attrs, x, dy)) return fallback(tf.Conv2DBackpropFilter, args);
    const filterShape = args.attrs!.filterShape as Shape4;
    const info = convInfo(x.shape as Shape4, filterShape, args.attrs!);
    const impl = implementationFor(info, "gradient");
    if (impl === null) return fallback(tf.Conv2DBackpropFilter, args);
    return produce(
      backendName,
      args.backend,
      filterShape,
      "float32",
      [x, dy],
      (dw, xs, dys) =>
        impl.filterGrad(blas, xs as Float32Array, dys as Float32Array, info, dw as Float32Array),
    );
  }

  function input(args: KernelArgs): TensorInfo {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    if (unsupported(args.attrs, dy, filter)) return fallback(tf.Conv2DBackpropInput, args);
    const inputShape = args.attrs!.inputShape as Shape4;
    const info = convInfo(inputShape, filter.shape as Shape4, args.attrs!);
    const impl = implementationFor(info, "gradient");
    if (impl === null) return fallback(tf.Conv2DBackpropInput, args);
    return produce(
      backendName,
      args.backend,
      inputShape,
      "float32",
      [dy, filter],
      (dx, dys, ws) =>
        impl.inputGrad(blas, dys as Float32Array, ws as Float32Array, info, dx as Float32Array),
    );
  }

  return {
    conv2d: conv2d as tf.KernelFunc,
    fusedConv2d: fusedConv2d as tf.KernelFunc,
    filter: filter as tf.KernelFunc,
    input: input as tf.KernelFunc,
  };
}
