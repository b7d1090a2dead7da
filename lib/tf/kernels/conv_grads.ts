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
import { filterGradAxis, inputGradAxis } from "./_geometry.ts";

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

  /** dx = valid correlation of the dilated, padded dy with the flipped filter [kh,kw,co,ci]. */
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
    const [kh, kw, , outC] = w.shape;
    const rows = inputGradAxis({
      input: inH,
      out: info.outHeight,
      kernel: kh,
      stride: info.strideHeight,
      padBefore: info.padInfo.top,
    });
    const cols = inputGradAxis({
      input: inW,
      out: info.outWidth,
      kernel: kw,
      stride: info.strideWidth,
      padBefore: info.padInfo.left,
    });
    const temps: TensorInfo[] = [];
    try {
      const wf = flipFilter(be, w);
      temps.push(wf);
      const direct = info.strideHeight === 1 && info.strideWidth === 1 &&
        Math.min(
            rows.padBefore,
            rows.padAfter,
            cols.padBefore,
            cols.padAfter,
          ) >= 0;
      if (direct) {
        return run(backend, "Conv2D", { x: dy, filter: wf }, {
          strides: 1,
          dilations: 1,
          pad: [[0, 0], [rows.padBefore, rows.padAfter], [
            cols.padBefore,
            cols.padAfter,
          ], [0, 0]],
          dataFormat: "NHWC",
        });
      }
      const spread = dilateAndPad(
        be,
        dy,
        [batch, inH + kh - 1, inW + kw - 1, outC],
        info,
        rows.padBefore,
        cols.padBefore,
      );
      temps.push(spread);
      const dx = run(backend, "Conv2D", { x: spread, filter: wf }, {
        strides: 1,
        dilations: 1,
        pad: "valid",
        dataFormat: "NHWC",
      });
      if (dx.shape[3] !== inC) {
        throw new Error("conv input gradient: channel mismatch");
      }
      return dx;
    } finally {
      for (const t of temps) be.disposeData(t.dataId);
    }
  }

  return { filter: filter as tf.KernelFunc, input: input as tf.KernelFunc };
}

/** [kh,kw,ci,co] -> rotated 180 degrees and channel-swapped [kh,kw,co,ci]; filters are small. */
function flipFilter(be: Backend, w: TensorInfo): TensorInfo {
  const [kh, kw, ci, co] = w.shape;
  const src = be.readSync(w.dataId) as Float32Array;
  const dst = new Float32Array(src.length);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const from = (i * kw + j) * ci * co;
      const to = ((kh - 1 - i) * kw + (kw - 1 - j)) * co * ci;
      for (let c = 0; c < ci; c++) {
        for (let o = 0; o < co; o++) {
          dst[to + o * ci + c] = src[from + c * co + o];
        }
      }
    }
  }
  const shape = [kh, kw, co, ci];
  return { dataId: be.write(dst, shape, "float32"), shape, dtype: "float32" };
}

/**
 * dy [b,oh,ow,co] scattered into zeros of `shape`: row o lands at `padTop + o * stride`; rows that
 * fall outside (negative padding) are dropped because they correspond to padding in x.
 */
function dilateAndPad(
  be: Backend,
  dy: TensorInfo,
  shape: number[],
  info: tf.backend_util.Conv2DInfo,
  padTop: number,
  padLeft: number,
): TensorInfo {
  const [batch, oh, ow, co] = dy.shape;
  const [, h, w] = shape;
  const src = be.readSync(dy.dataId) as Float32Array;
  const dst = new Float32Array(shape[0] * h * w * co);
  const sh = info.strideHeight, sw = info.strideWidth;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < oh; i++) {
      const r = padTop + i * sh;
      if (r < 0 || r >= h) continue;
      for (let j = 0; j < ow; j++) {
        const c = padLeft + j * sw;
        if (c < 0 || c >= w) continue;
        const from = ((b * oh + i) * ow + j) * co;
        dst.set(src.subarray(from, from + co), ((b * h + r) * w + c) * co);
      }
    }
  }
  return { dataId: be.write(dst, shape, "float32"), shape, dtype: "float32" };
}
