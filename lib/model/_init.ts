/**
 * Seeded weight initialisers shared by the model factories. Each layer gets its own seed derived
 * from the model seed and the layer's name, so the same seed gives bit-identical weights and
 * adding a layer does not reshuffle the others.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { mixSeed } from "../train/rng.ts";

type Initializer = ReturnType<typeof tfl.initializers.zeros>;

/** The seed of one named layer's initialiser (`part` separates e.g. kernel and bias). */
export function layerSeed(seed: number, layerName: string, part = 0): number {
  let h = 0;
  for (let i = 0; i < layerName.length; i++) {
    h = Math.imul(h ^ layerName.charCodeAt(i), 0x01000193);
  }
  return mixSeed(seed, h >>> 0, part);
}

/**
 * PyTorch's default for `nn.Conv2d` / `nn.Linear` weights, `kaiming_uniform_(a=sqrt(5))`:
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), written as variance scaling with scale 1/3.
 */
export function torchKernel(seed: number, layerName: string): Initializer {
  return tfl.initializers.varianceScaling({
    scale: 1 / 3,
    mode: "fanIn",
    distribution: "uniform",
    seed: layerSeed(seed, layerName, 0),
  });
}

/** PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export function torchBias(
  seed: number,
  layerName: string,
  fanIn: number,
): Initializer {
  const bound = 1 / Math.sqrt(fanIn);
  return tfl.initializers.randomUniform({
    minval: -bound,
    maxval: bound,
    seed: layerSeed(seed, layerName, 1),
  });
}

/** torchvision's ResNet conv init, `kaiming_normal_(mode="fan_out", nonlinearity="relu")`. */
export function heFanOut(seed: number, layerName: string): Initializer {
  return tfl.initializers.varianceScaling({
    scale: 2,
    mode: "fanOut",
    distribution: "normal",
    seed: layerSeed(seed, layerName, 0),
  });
}

/**
 * BatchNorm with PyTorch's defaults (momentum 0.1 = Keras momentum 0.9, epsilon 1e-5). Keras's own
 * 0.99 would leave the moving statistics near their initial values after the few hundred steps a
 * course run takes, and inference uses those statistics.
 */
export function batchNorm(name: string): tfl.layers.Layer {
  return tfl.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-5 });
}

/** Checks that a factory argument is a positive integer. */
export function checkPositiveInt(name: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min}, got ${value}`);
  }
}
