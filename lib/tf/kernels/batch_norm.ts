/**
 * Training-mode batch normalization as two kernels of ours, `GalaxyZooBatchNormTraining` and its
 * gradient, for the cpu and wasm backends. tfjs-layers builds it from `tf.moments` and
 * `tf.batchNorm`, and autodiff turns that into some twenty kernels per layer (sums, broadcast
 * products, a transposed reduction), each a full pass over the activation: 50 ms of a 223 ms
 * course-CNN step on wasm, measured. Here the forward pass is three passes over the data
 * (mean, variance, normalize) and the backward two (two sums, then dx), with the exact gradient
 * through the batch statistics:
 *
 *   xhat = (x - mean) / sqrt(var + eps),  y = gamma * xhat + beta,
 *   dbeta = sum(dy),  dgamma = sum(dy * xhat),
 *   dx = gamma / sqrt(var + eps) * (dy - dbeta / n - xhat * dgamma / n),
 *
 * sums over every axis but the last (channels), n the number of summed values, var the biased
 * variance, as `tf.moments` computes it. Statistics accumulate in float64. The mean and variance
 * outputs feed only the moving averages: they carry no gradient.
 *
 * `lib/train/_fast_paths.ts` points tfjs-layers' BatchNormalization at these in training mode.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { produceMany } from "./_io.ts";
import { foldBlock, rowsPerBlock } from "./reduce.ts";

/** The forward kernel: inputs {x, gamma, beta}, attrs {epsilon}; outputs [y, mean, variance]. */
export const BATCH_NORM_TRAINING = "GalaxyZooBatchNormTraining";
/** Its gradient: inputs {dy, x, gamma, mean, variance}, attrs {epsilon}; outputs [dx, dgamma, dbeta]. */
export const BATCH_NORM_TRAINING_GRAD = "GalaxyZooBatchNormTrainingGrad";

/** `values` (one per channel) repeated over a block of `width` elements. */
function tiled(values: ArrayLike<number>, width: number): Float64Array {
  const out = new Float64Array(width);
  for (let i = 0; i < width; i++) out[i] = values[i % values.length];
  return out;
}

/**
 * Per-channel mean and biased variance of `x` ([rows, C] row-major): two passes, float64 sums,
 * block-wise (see `rowsPerBlock`).
 */
export function channelMoments(
  x: ArrayLike<number>,
  channels: number,
  mean: Float64Array,
  variance: Float64Array,
) {
  const rows = x.length / channels;
  const width = rowsPerBlock(rows, channels) * channels;
  const acc = new Float64Array(width);
  for (let o = 0; o < x.length; o += width) {
    for (let i = 0; i < width; i++) acc[i] += x[o + i];
  }
  foldBlock(acc, channels, 1 / rows, mean);
  const m = tiled(mean, width);
  acc.fill(0);
  for (let o = 0; o < x.length; o += width) {
    for (let i = 0; i < width; i++) {
      const d = x[o + i] - m[i];
      acc[i] += d * d;
    }
  }
  foldBlock(acc, channels, 1 / rows, variance);
}

/** `y = gamma * (x - mean) / sqrt(var + eps) + beta`, and the float32 statistics. */
export function batchNormTrainingInto(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  epsilon: number,
  out: { y: Float32Array; mean: Float32Array; variance: Float32Array },
): void {
  const channels = gamma.length;
  const mean = new Float64Array(channels), variance = new Float64Array(channels);
  channelMoments(x, channels, mean, variance);
  const scale = new Float64Array(channels), shift = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    scale[c] = gamma[c] / Math.sqrt(variance[c] + epsilon);
    shift[c] = beta[c] - mean[c] * scale[c];
    out.mean[c] = mean[c];
    out.variance[c] = variance[c];
  }
  const width = rowsPerBlock(x.length / channels, channels) * channels;
  const s = tiled(scale, width), t = tiled(shift, width);
  const { y } = out;
  for (let o = 0; o < x.length; o += width) {
    for (let i = 0; i < width; i++) y[o + i] = x[o + i] * s[i] + t[i];
  }
}

/** The gradient of {@link batchNormTrainingInto} with respect to x, gamma and beta. */
export function batchNormTrainingGradInto(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  epsilon: number,
  out: { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array },
): void {
  const channels = gamma.length;
  const rows = x.length / channels;
  const width = rowsPerBlock(rows, channels) * channels;
  const m = tiled(mean, width);
  const accDy = new Float64Array(width), accDyX = new Float64Array(width);
  // Centred on the saved mean so the products stay small.
  for (let o = 0; o < x.length; o += width) {
    for (let i = 0; i < width; i++) {
      const g = dy[o + i];
      accDy[i] += g;
      accDyX[i] += g * (x[o + i] - m[i]);
    }
  }
  const sumDy = new Float64Array(channels), sumDyX = new Float64Array(channels);
  foldBlock(accDy, channels, 1, sumDy);
  foldBlock(accDyX, channels, 1, sumDyX);
  // dx = a * dy + b * x + d per channel, the terms of the formula above regrouped.
  const a = new Float64Array(channels), b = new Float64Array(channels), d = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const invStd = 1 / Math.sqrt(variance[c] + epsilon);
    out.dbeta[c] = sumDy[c];
    out.dgamma[c] = sumDyX[c] * invStd;
    a[c] = gamma[c] * invStd;
    b[c] = -a[c] * invStd * invStd * sumDyX[c] / rows;
    d[c] = -a[c] * sumDy[c] / rows - b[c] * mean[c];
  }
  const ta = tiled(a, width), tb = tiled(b, width), td = tiled(d, width);
  const { dx } = out;
  for (let o = 0; o < x.length; o += width) {
    for (let i = 0; i < width; i++) dx[o + i] = ta[i] * dy[o + i] + tb[i] * x[o + i] + td[i];
  }
}

type Inputs = Record<string, tf.TensorInfo>;

function checkFloat(name: string, tensors: tf.TensorInfo[]): void {
  for (const t of tensors) {
    if (t.dtype !== "float32") throw new Error(`${name}: float32 only, got ${t.dtype}`);
  }
}

/** The forward kernel for cpu or wasm. */
export function makeBatchNormTrainingKernel(backendName: string): tf.KernelFunc {
  return (args) => {
    const { x, gamma, beta } = args.inputs as Inputs;
    checkFloat(BATCH_NORM_TRAINING, [x, gamma, beta]);
    const channels = x.shape[x.shape.length - 1];
    if (gamma.shape.join() !== `${channels}` || beta.shape.join() !== `${channels}`) {
      throw new Error(`${BATCH_NORM_TRAINING}: gamma and beta must be [${channels}]`);
    }
    const { epsilon } = args.attrs as { epsilon: number };
    const outputs = [x.shape, [channels], [channels]].map((shape) => ({ shape, dtype: "float32" as const }));
    return produceMany(backendName, args.backend, outputs, [x, gamma, beta], (outs, [xs, gs, bs]) => {
      batchNormTrainingInto(xs, gs, bs, epsilon, {
        y: outs[0] as Float32Array,
        mean: outs[1] as Float32Array,
        variance: outs[2] as Float32Array,
      });
    });
  };
}

/** The gradient kernel for cpu or wasm. */
export function makeBatchNormTrainingGradKernel(backendName: string): tf.KernelFunc {
  return (args) => {
    const { dy, x, gamma, mean, variance } = args.inputs as Inputs;
    checkFloat(BATCH_NORM_TRAINING_GRAD, [dy, x, gamma, mean, variance]);
    const { epsilon } = args.attrs as { epsilon: number };
    const outputs = [x.shape, gamma.shape, gamma.shape].map((shape) => ({
      shape,
      dtype: "float32" as const,
    }));
    return produceMany(
      backendName,
      args.backend,
      outputs,
      [dy, x, gamma, mean, variance],
      (outs, [dys, xs, gs, ms, vs]) =>
        batchNormTrainingGradInto(dys, xs, gs, ms, vs, epsilon, {
          dx: outs[0] as Float32Array,
          dgamma: outs[1] as Float32Array,
          dbeta: outs[2] as Float32Array,
        }),
    );
  };
}

/**
 * Registers the forward kernel's gradient with the engine (once; gradients are per kernel name,
 * not per backend). Backprop calls the gradient kernel on whichever backend is active.
 */
export function registerBatchNormTrainingGradient(): void {
  if (tf.getGradient(BATCH_NORM_TRAINING) != null) return;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAINING,
    inputsToSave: ["x", "gamma"],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, gamma, mean, variance] = saved;
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      // One kernel call gives all three, computed here: the engine calls each input's function
      // inside its own tidy, which would dispose the other two if computed lazily in the first.
      const [dx, dgamma, dbeta] = tf.engine().runKernel(
        BATCH_NORM_TRAINING_GRAD,
        { dy, x, gamma, mean, variance },
        attrs as tf.NamedAttrMap,
      ) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
}

/**
 * Training-mode batch normalization over every axis but the last: `[y, mean, variance]`.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerFastKernels } from "./mod.ts";
 * import { batchNormTraining } from "./batch_norm.ts";
 * await tf.setBackend("cpu");
 * registerFastKernels("cpu", { blas: false });
 * const [y, mean] = batchNormTraining(tf.tensor2d([1, 2, 3, 6], [2, 2]), tf.ones([2]), tf.zeros([2]), 1e-5);
 * console.log(mean.arraySync()); // [2, 4]
 * ```
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(BATCH_NORM_TRAINING, { x, gamma, beta }, { epsilon }) as [
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
  ];
}
