/**
 * Conv2DBackpropFilter and Conv2DBackpropInput expressed through the backend's own forward
 * Conv2D kernel (XNNPACK on wasm, 9-11 GFLOP/s measured for the course CNN's filter gradient
 * against 0.5-2 for scalar loops), plus that backend's Transpose and Slice kernels for the layout
 * changes. The kernels are built per backend by {@link makeConvGradKernels}; nothing registers
 * itself at import.
 *
 * Everything created inside a kernel is a backend-level TensorInfo released with
 * `backend.disposeData`, which both cpu and wasm reference-count, so the engine sees exactly one
 * new tensor per call (the result) and nothing leaks.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { filterGradAxis, inputGradAxis, inputGradPhase } from "./_geometry.ts";
import { produce } from "./_io.ts";

type TensorInfo = tf.TensorInfo;
// The two methods of KernelBackend every backend implements and we need; typed narrowly
// because the backend classes are not exported with their full types.
interface Backend {
  disposeData(dataId: object, force?: boolean): boolean;
  readSync(dataId: object): tf.backend_util.BackendValues;
  write(values: Float32Array, shape: number[], dtype: "float32"): object;
}
type KernelArgs = {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
};

/** Calls another kernel of the same backend directly, as the backends do internally. */
function callKernel(
  backendName: string,
  name: string,
  backend: unknown,
  inputs: tf.NamedTensorInfoMap,
  attrs: Record<string, unknown>,
): TensorInfo {
  const kernel = tf.getKernel(name, backendName);
  if (kernel == null) {
    throw new Error(
      `conv gradient on '${backendName}': kernel '${name}' is not registered`,
    );
  }
  return kernel.kernelFunc(
    { inputs, backend, attrs: attrs as tf.NamedAttrMap } as never,
  ) as TensorInfo;
}

function convInfoOf(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: tf.NamedAttrMap,
): tf.backend_util.Conv2DInfo {
  const dataFormat = tf.backend_util.convertConv2DDataFormat(
    attrs.dataFormat as "NHWC" | "NCHW",
  );
  if (dataFormat !== "channelsLast") {
    throw new Error(
      `fast conv gradients support NHWC only, got dataFormat '${attrs.dataFormat}'`,
    );
  }
  return tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides as number | [number, number],
    1,
    attrs.pad as "valid" | "same" | number,
    attrs.dimRoundingMode as "floor" | "round" | "ceil" | undefined,
    false,
    dataFormat,
  );
}

/** The two gradient kernel functions for one backend. */
export interface ConvGradKernels {
  filter: tf.KernelFunc;
  input: tf.KernelFunc;
}

/** Builds both gradient kernels on top of `backendName`'s Conv2D, Transpose and Slice. */
export function makeConvGradKernels(backendName: string): ConvGradKernels {
  const run = (
    backend: unknown,
    name: string,
    inputs: tf.NamedTensorInfoMap,
    attrs: Record<string, unknown>,
  ) => callKernel(backendName, name, backend, inputs, attrs);

  /** dW[kh,kw,ci,co] = sum_{b,oh,ow} x[b, oh*s+kh-pt, ow*s+kw-pl, ci] * dy[b,oh,ow,co]. */
  function filter({ inputs, backend, attrs }: KernelArgs): TensorInfo {
    const be = backend as Backend;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const filterShape = attrs!.filterShape as [number, number, number, number];
    const info = convInfoOf(
      x.shape as [number, number, number, number],
      filterShape,
      attrs!,
    );
    const [batch, inH, inW, inC] = x.shape;
    const rows = filterGradAxis({
      input: inH,
      out: info.outHeight,
      kernel: info.filterHeight,
      stride: info.strideHeight,
      padBefore: info.padInfo.top,
    });
    const cols = filterGradAxis({
      input: inW,
      out: info.outWidth,
      kernel: info.filterWidth,
      stride: info.strideWidth,
      padBefore: info.padInfo.left,
    });
    if (rows.keep <= 0 || cols.keep <= 0) {
      // Every tap reads padding: the gradient is zero (wasm's Conv2D mishandles empty inputs).
      return produce(backendName, backend, filterShape, "float32", [], (out) => out.fill(0));
    }
    const temps: TensorInfo[] = [];
    try {
      let xs = x;
      if (rows.keep < inH || cols.keep < inW) {
        xs = run(backend, "Slice", { x }, {
          begin: [0, 0, 0, 0],
          size: [batch, rows.keep, cols.keep, inC],
        });
        temps.push(xs);
      }
      // The batch becomes the reduced (channel) axis of both operands:
      // x -> [ci, H, W, b] (ci plays the batch), dy -> [oh, ow, b, co] (a huge dilated filter).
      const xT = run(backend, "Transpose", { x: xs }, { perm: [3, 1, 2, 0] });
      temps.push(xT);
      const dyT = run(backend, "Transpose", { x: dy }, { perm: [1, 2, 0, 3] });
      temps.push(dyT);
      const out = run(backend, "Conv2D", { x: xT, filter: dyT }, {
        strides: 1,
        dilations: [info.strideHeight, info.strideWidth],
        pad: [[0, 0], [rows.padBefore, rows.padAfter], [
          cols.padBefore,
          cols.padAfter,
        ], [0, 0]],
        dataFormat: "NHWC",
      }); // [ci, kh, kw, co]
      temps.push(out);
      return run(backend, "Transpose", { x: out }, { perm: [1, 2, 0, 3] });
    } finally {
      for (const t of temps) be.disposeData(t.dataId);
    }
  }

  /**
   * dx = the transposed convolution of dy. Stride 1 with non-negative padding: one "valid"
   * correlation of dy (padded) with the flipped filter. Otherwise sub-pixel: each of the
   * stride x stride phases of dx is a stride-1 correlation of the un-spread dy with a flipped
   * sub-filter (see `inputGradPhase`), interleaved into dx. That costs what the forward conv
   * costs, where correlating a zero-spread dy would cost stride^2 times as much.
   */
  function input({ inputs, backend, attrs }: KernelArgs): TensorInfo {
    const be = backend as Backend;
    const { dy, filter: w } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const inputShape = attrs!.inputShape as [number, number, number, number];
    const info = convInfoOf(
      inputShape,
      w.shape as [number, number, number, number],
      attrs!,
    );
    const [batch, inH, inW, inC] = inputShape;
    const [kh, kw] = w.shape;
    const rowAxis = {
      input: inH,
      out: info.outHeight,
      kernel: kh,
      stride: info.strideHeight,
      padBefore: info.padInfo.top,
    };
    const colAxis = {
      input: inW,
      out: info.outWidth,
      kernel: kw,
      stride: info.strideWidth,
      padBefore: info.padInfo.left,
    };
    const rows = inputGradAxis(rowAxis);
    const cols = inputGradAxis(colAxis);
    const direct = info.strideHeight === 1 && info.strideWidth === 1 &&
      Math.min(rows.padBefore, rows.padAfter, cols.padBefore, cols.padAfter) >= 0;
    const temps: TensorInfo[] = [];
    try {
      if (direct) {
        const wf = subFilter(be, w, 1, 1, 0, 0);
        temps.push(wf);
        return run(backend, "Conv2D", { x: dy, filter: wf }, {
          strides: 1,
          dilations: 1,
          pad: [[0, 0], [rows.padBefore, rows.padAfter], [cols.padBefore, cols.padAfter], [0, 0]],
          dataFormat: "NHWC",
        });
      }
      const sh = info.strideHeight, sw = info.strideWidth;
      const phases: Phase[] = [];
      let complete = true;
      for (let rh = 0; rh < sh; rh++) {
        const r = inputGradPhase(rowAxis, rh);
        for (let rw = 0; rw < sw; rw++) {
          const c = inputGradPhase(colAxis, rw);
          if (r.last < r.first || c.last < c.first) continue; // no input lies in this phase
          if (r.taps === 0 || c.taps === 0) {
            complete = false; // no tap reaches it: its inputs get zero (a 1x1 stride-2 conv)
            continue;
          }
          const wf = subFilter(be, w, sh, sw, rh, rw);
          temps.push(wf);
          const out = run(backend, "Conv2D", { x: dy, filter: wf }, {
            strides: 1,
            dilations: 1,
            pad: [[0, 0], [r.padBefore, r.padAfter], [c.padBefore, c.padAfter], [0, 0]],
            dataFormat: "NHWC",
          });
          temps.push(out);
          phases.push({ out, rh, rw, rows: r, cols: c });
        }
      }
      return produce(
        backendName,
        backend,
        [batch, inH, inW, inC],
        "float32",
        phases.map((p) => p.out),
        (dx, ...outs) => {
          if (!complete) dx.fill(0);
          phases.forEach((p, k) =>
            interleave(dx as Float32Array, outs[k] as Float32Array, p, {
              batch,
              inH,
              inW,
              inC,
              sh,
              sw,
              padTop: info.padInfo.top,
              padLeft: info.padInfo.left,
            })
          );
        },
      );
    } finally {
      for (const t of temps) be.disposeData(t.dataId);
    }
  }

  return { filter: filter as tf.KernelFunc, input: input as tf.KernelFunc };
}

/** One phase's stride-1 correlation result and its geometry. */
interface Phase {
  out: TensorInfo;
  rh: number;
  rw: number;
  rows: ReturnType<typeof inputGradPhase>;
  cols: ReturnType<typeof inputGradPhase>;
}

/**
 * The sub-filter of phase (rh, rw) for strides (sh, sw), rotated 180 degrees and channel-swapped:
 * [kh,kw,ci,co] -> [th,tw,co,ci] with `out[u,v,o,c] = w[rh + sh*(th-1-u), rw + sw*(tw-1-v), c, o]`.
 * With strides 1 it is the whole filter flipped. Filters are small next to activations.
 */
function subFilter(be: Backend, w: TensorInfo, sh: number, sw: number, rh: number, rw: number): TensorInfo {
  const [kh, kw, ci, co] = w.shape;
  const th = Math.ceil((kh - rh) / sh), tw = Math.ceil((kw - rw) / sw);
  const src = be.readSync(w.dataId) as Float32Array;
  const dst = new Float32Array(th * tw * ci * co);
  for (let u = 0; u < th; u++) {
    for (let v = 0; v < tw; v++) {
      const from = ((rh + sh * (th - 1 - u)) * kw + (rw + sw * (tw - 1 - v))) * ci * co;
      const to = (u * tw + v) * co * ci;
      for (let c = 0; c < ci; c++) {
        const row = from + c * co;
        for (let o = 0; o < co; o++) dst[to + o * ci + c] = src[row + o];
      }
    }
  }
  const shape = [th, tw, co, ci];
  return { dataId: be.write(dst, shape, "float32"), shape, dtype: "float32" };
}

/**
 * Copies a phase's result [b, n, n', ci] into dx: result row n is m = n + offset and lands on
 * input row `sh * m + rh - padTop` when m is in [first, last]; columns likewise.
 */
function interleave(
  dx: Float32Array,
  src: Float32Array,
  p: Phase,
  g: {
    batch: number;
    inH: number;
    inW: number;
    inC: number;
    sh: number;
    sw: number;
    padTop: number;
    padLeft: number;
  },
): void {
  const [, nh, nw, c] = p.out.shape;
  const m0 = Math.max(p.rows.first, p.rows.offset);
  const m1 = Math.min(p.rows.last, nh - 1 + p.rows.offset);
  const q0 = Math.max(p.cols.first, p.cols.offset);
  const q1 = Math.min(p.cols.last, nw - 1 + p.cols.offset);
  for (let b = 0; b < g.batch; b++) {
    for (let m = m0; m <= m1; m++) {
      const i = g.sh * m + p.rh - g.padTop;
      const srcRow = ((b * nh + m - p.rows.offset) * nw - p.cols.offset) * c;
      const dstRow = (b * g.inH + i) * g.inW * c;
      if (g.sw === 1) {
        // Contiguous: the whole run of columns at once.
        const j0 = q0 + p.rw - g.padLeft;
        dx.set(src.subarray(srcRow + q0 * c, srcRow + (q1 + 1) * c), dstRow + j0 * c);
        continue;
      }
      for (let q = q0; q <= q1; q++) {
        const j = g.sw * q + p.rw - g.padLeft;
        const from = srcRow + q * c;
        const to = dstRow + j * c;
        if (c >= 16) dx.set(src.subarray(from, from + c), to);
        else for (let k = 0; k < c; k++) dx[to + k] = src[from + k];
      }
    }
  }
}
