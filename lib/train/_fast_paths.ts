/**
 * Training-mode rewrites of tfjs-layers' layers that compute the same thing with fewer kernels.
 * {@link useTrainingFastPaths} applies them all for one model and returns the undo; inference is
 * never touched, so a saved model is a plain tfjs-layers model.
 *
 * First layers: tfjs-layers runs every Conv2D layer through `tf.fused.conv2d`, whose gradient
 * always computes the input gradient too. For a convolution that reads the model's input (possibly
 * through zero-padding), that input gradient is thrown away: 40-53 ms of a course-CNN step on
 * wasm. Here such layers compute, in training mode only, `conv2d + bias + activation` unfused:
 * tfjs-core's own conv2d gradient, which the engine skips for inputs that need no gradient. Same
 * arithmetic up to float rounding of the bias add; inference keeps the fused kernel.
 *
 * BatchNorm: where our `GalaxyZooBatchNormTraining` kernel is registered (cpu, wasm; see
 * `../tf/kernels/batch_norm.ts`), a BatchNormalization layer over the last axis normalizes with it
 * in training mode and updates its moving statistics exactly as tfjs-layers does.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { BATCH_NORM_TRAINING, batchNormTraining } from "../tf/kernels/batch_norm.ts";

type CallKwargs = { training?: boolean } & Record<string, unknown>;
type Call = (inputs: tf.Tensor | tf.Tensor[], kwargs: CallKwargs) => tf.Tensor | tf.Tensor[];

/** The parts of tfjs-layers' Conv2D this needs (protected in its typings). */
interface ConvLayer {
  call: Call;
  kernel: { read(): tf.Tensor4D };
  bias: { read(): tf.Tensor1D } | null;
  strides: [number, number];
  padding: "valid" | "same";
  dataFormat: string;
  dilationRate: number | [number, number];
  activation: { apply(x: tf.Tensor): tf.Tensor };
}

/** True for layers whose output depends on no trainable weight (inputs, padding, reshapes). */
function weightFree(layer: tfl.layers.Layer, memo: Map<tfl.layers.Layer, boolean>): boolean {
  const known = memo.get(layer);
  if (known !== undefined) return known;
  const inbound = layer.inboundNodes.flatMap((node) => node.inboundLayers);
  const free = layer.trainableWeights.length === 0 && inbound.every((l) => weightFree(l, memo));
  memo.set(layer, free);
  return free;
}

/**
 * Switches the Conv2D layers of `model` that read only weight-free inputs to the unfused path in
 * training mode. Returns a function that undoes it.
 */
export function runFirstLayersUnfused(model: tfl.LayersModel): () => void {
  const memo = new Map<tfl.layers.Layer, boolean>();
  const undo: (() => void)[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== "Conv2D") continue;
    const inbound = layer.inboundNodes.flatMap((node) => node.inboundLayers);
    if (layer.inboundNodes.length !== 1 || !inbound.every((l) => weightFree(l, memo))) continue;
    const conv = layer as unknown as ConvLayer;
    if (conv.dataFormat !== "channelsLast") continue;
    const fused = conv.call;
    conv.call = function (this: ConvLayer, inputs, kwargs) {
      if (!kwargs?.training) return fused.call(this, inputs, kwargs);
      return tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
        let y: tf.Tensor = tf.conv2d(
          x,
          this.kernel.read(),
          this.strides,
          this.padding,
          "NHWC",
          this.dilationRate,
        );
        if (this.bias !== null) y = tf.add(y, this.bias.read());
        return this.activation.apply(y);
      });
    };
    undo.push(() => (conv.call = fused));
  }
  return () => undo.forEach((u) => u());
}

/** The parts of tfjs-layers' BatchNormalization this needs (protected in its typings). */
interface Weight {
  read(): tf.Tensor;
  write(value: tf.Tensor): void;
}
interface BatchNormLayer {
  call: Call;
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: Weight | null;
  beta: Weight | null;
  movingMean: Weight;
  movingVariance: Weight;
}

/**
 * Switches every BatchNormalization layer of `model` that normalizes the last axis with both
 * gamma and beta to our training kernel, while the backend has it. Returns the undo.
 */
export function runBatchNormFused(model: tfl.LayersModel): () => void {
  const undo: (() => void)[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== "BatchNormalization") continue;
    const bn = layer as unknown as BatchNormLayer;
    if (bn.gamma === null || bn.beta === null) continue;
    const stock = bn.call;
    bn.call = function (this: BatchNormLayer, inputs, kwargs) {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
      const lastAxis = this.axis === -1 || this.axis === x.rank - 1;
      if (
        !kwargs?.training || !lastAxis || x.dtype !== "float32" || x.rank < 2 ||
        tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) == null
      ) {
        return stock.call(this, inputs, kwargs);
      }
      return tf.tidy(() => {
        const [y, mean, variance] = batchNormTraining(x, this.gamma!.read(), this.beta!.read(), this.epsilon);
        // tfjs-layers' moving average: v - (v - batch) * (1 - momentum).
        for (const [moving, batch] of [[this.movingMean, mean], [this.movingVariance, variance]] as const) {
          const value = moving.read();
          moving.write(tf.sub(value, tf.mul(tf.sub(value, batch), 1 - this.momentum)));
        }
        return y;
      });
    };
    undo.push(() => (bn.call = stock));
  }
  return () => undo.forEach((u) => u());
}

/** Every training-mode rewrite above, for `model`; returns a function that undoes them all. */
export function useTrainingFastPaths(model: tfl.LayersModel): () => void {
  const undo = [runFirstLayersUnfused(model), runBatchNormFused(model)];
  return () => undo.forEach((u) => u());
}
