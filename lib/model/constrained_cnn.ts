/**
 * The "Kaggle winner's spirit" model: a CNN somewhat deeper than the course's (four 3x3
 * convolution blocks instead of two 5x5 ones) whose 37 outputs pass through the Galaxy Zoo
 * decision-tree layer, so its predictions obey the tree by construction. Sized for a 2-core CPU:
 * ~0.35M parameters and ~2.5x the course CNN's FLOPs at the default widths.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { NUM_CLASSES } from "../classes.ts";
import { batchNorm, checkPositiveInt, torchBias, torchKernel } from "./_init.ts";
import { decisionTreeOutput, type DecisionTreeOutputArgs } from "./decision_tree_output.ts";

/** Options of {@link constrainedCnn}. */
export interface ConstrainedCnnOptions {
  /** Side of the square RGB input (default 64; divisible by 2^blocks). */
  inputSize?: number;
  seed: number;
  /** Filters of each conv block; each block halves the image (default [16, 32, 64, 64]). */
  filters?: readonly number[];
  /** Units of the hidden dense layer (default 256). */
  hidden?: number;
  /** Options of the decision-tree layer (activation, epsilon, divide). */
  tree?: DecisionTreeOutputArgs;
  /**
   * `"tree"` (default): the decision-tree output layer; `"sigmoid"`: 37 independent sigmoids as in
   * the course, which makes this the "deeper plain CNN" of the ablations.
   */
  output?: "tree" | "sigmoid";
}

/**
 * Builds the constrained CNN. Shapes are for the defaults (64x64, filters [16, 32, 64, 64]).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { constrainedCnn } from "./constrained_cnn.ts";
 * const model = constrainedCnn({ seed: 1, inputSize: 32 });
 * assert.deepEqual(model.outputs[0].shape, [null, 37]);
 * model.dispose();
 * ```
 */
export function constrainedCnn(
  { inputSize = 64, seed, filters = [16, 32, 64, 64], hidden = 256, tree, output = "tree" }:
    ConstrainedCnnOptions,
): tfl.LayersModel {
  checkPositiveInt("constrainedCnn hidden", hidden);
  filters.forEach((f, i) => checkPositiveInt(`constrainedCnn filters[${i}]`, f));
  if (!Number.isInteger(inputSize) || inputSize % 2 ** filters.length !== 0) {
    throw new Error(
      `constrainedCnn inputSize must be a multiple of ${2 ** filters.length}, got ${inputSize}`,
    );
  }
  const input = tfl.input({ name: "image", shape: [inputSize, inputSize, 3] }); // [B, 64, 64, 3]
  let x: tfl.SymbolicTensor = input;
  let channels = 3;
  filters.forEach((f, i) => {
    const name = `conv${i + 1}`;
    x = tfl.layers.conv2d({
      name,
      filters: f,
      kernelSize: 3,
      padding: "same",
      useBias: false, // BatchNorm's beta is the bias
      kernelInitializer: torchKernel(seed, name),
    }).apply(x) as tfl.SymbolicTensor; // [B, 64, 64, 16] [B, 32, 32, 32] [B, 16, 16, 64] [B, 8, 8, 64]
    x = batchNorm(`bn${i + 1}`).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.reLU({ name: `relu${i + 1}` }).apply(
      x,
    ) as tfl.SymbolicTensor;
    x = tfl.layers.maxPooling2d({ name: `pool${i + 1}`, poolSize: 2 }).apply(
      x,
    ) as tfl.SymbolicTensor;
    channels = f;
  }); // [B, 4, 4, 64]
  x = tfl.layers.flatten({ name: "flatten" }).apply(x) as tfl.SymbolicTensor; // [B, 1024]
  const flat = (inputSize / 2 ** filters.length) ** 2 * channels;
  x = tfl.layers.dense({
    name: "fc1",
    units: hidden,
    activation: "relu",
    kernelInitializer: torchKernel(seed, "fc1"),
    biasInitializer: torchBias(seed, "fc1", flat),
  }).apply(x) as tfl.SymbolicTensor; // [B, 256]
  x = tfl.layers.dense({
    name: "fc2",
    units: NUM_CLASSES,
    kernelInitializer: torchKernel(seed, "fc2"),
    biasInitializer: torchBias(seed, "fc2", hidden),
    activation: output === "sigmoid" ? "sigmoid" : "linear",
  }).apply(x) as tfl.SymbolicTensor; // [B, 37]: unconstrained, or in (0, 1) with the sigmoid
  const y = output === "sigmoid" ? x : decisionTreeOutput({ name: "tree", ...tree }).apply(
    x,
  ) as tfl.SymbolicTensor; // [B, 37]
  return tfl.model({ name: "constrained_cnn", inputs: input, outputs: y });
}
