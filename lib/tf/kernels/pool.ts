/**
 * MaxPoolGrad as one scatter pass: each output's gradient goes to the first maximum of its window
 * (row-major, strictly greater, NaN never chosen: tfjs's cpu `maxPoolPositions`), accumulated in
 * output order. The stock wasm kernel walks every input against every window with a scalar mask
 * (88 ms of a 650 ms course-CNN step for its two pools, measured) and ignores values <= FLT_MIN; after a ReLU
 * the two agree wherever the gradient is not zero anyway. Dilated pools go to the stock kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { produce } from "./_io.ts";

/** `dx` (zeroed here) receives each `dy` at the first maximum of its window of `x` (NHWC). */
export function maxPoolGradInto(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  dx: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight, outWidth } = info;
  const fh = info.effectiveFilterHeight, fw = info.effectiveFilterWidth;
  if (
    fh === 2 && fw === 2 && info.strideHeight === 2 && info.strideWidth === 2 &&
    info.padInfo.top === 0 && info.padInfo.left === 0
  ) {
    return maxPool2x2GradInto(x, dy, dx, info);
  }
  const best = new Float32Array(c);
  const pos = new Int32Array(c);
  dx.fill(0);
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      const r0 = yr * info.strideHeight - info.padInfo.top;
      const rMin = Math.max(0, r0), rMax = Math.min(h, r0 + fh);
      for (let yc = 0; yc < outWidth; yc++, o += c) {
        const c0 = yc * info.strideWidth - info.padInfo.left;
        const cMin = Math.max(0, c0), cMax = Math.min(w, c0 + fw);
        best.fill(-Infinity);
        pos.fill(-1);
        for (let xr = rMin; xr < rMax; xr++) {
          for (let xc = cMin; xc < cMax; xc++) {
            const base = ((b * h + xr) * w + xc) * c;
            for (let d = 0; d < c; d++) {
              const v = x[base + d];
              if (v > best[d]) {
                best[d] = v;
                pos[d] = base + d;
              }
            }
          }
        }
        for (let d = 0; d < c; d++) if (pos[d] >= 0) dx[pos[d]] += dy[o + d];
      }
    }
  }
}

/**
 * The 2x2 stride-2 pool without padding (the course CNN's two pools): windows don't overlap, so
 * each input gets at most one output's gradient, written directly; same first-maximum rule.
 */
function maxPool2x2GradInto(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  dx: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight, outWidth } = info;
  // Rows and columns no window covers (odd sizes) keep their zeros.
  dx.fill(0);
  const row = w * c;
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      let top = (b * h + 2 * yr) * row;
      for (let yc = 0; yc < outWidth; yc++, top += 2 * c) {
        for (let d = 0; d < c; d++, o++) {
          // The window row-major, as the general loop visits it.
          const p00 = top + d, p01 = p00 + c, p10 = p00 + row, p11 = p10 + c;
          let best = -Infinity, at = -1;
          if (x[p00] > best) {
            best = x[p00];
            at = p00;
          }
          if (x[p01] > best) {
            best = x[p01];
            at = p01;
          }
          if (x[p10] > best) {
            best = x[p10];
            at = p10;
          }
          if (x[p11] > best) at = p11;
          if (at >= 0) dx[at] = dy[o];
        }
      }
    }
  }
}

/** A MaxPoolGrad kernel for cpu or wasm. */
export function makeMaxPoolGradKernel(backendName: string, stock: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
      filterSize: number | [number, number];
      strides: number | [number, number];
      pad: "valid" | "same" | number;
      dimRoundingMode?: "floor" | "round" | "ceil";
    };
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    if (input.dtype !== "float32" || dy.dtype !== "float32") {
      if (stock == null) throw new Error(`MaxPoolGrad on '${backendName}': no stock kernel for this case`);
      return stock(args);
    }
    return produce(backendName, args.backend, input.shape, "float32", [input, dy], (dx, x, g) => {
      maxPoolGradInto(x, g, dx as Float32Array, info);
    });
  };
}
