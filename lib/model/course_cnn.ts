/**
 * The course's CNN, layer for layer as the course defines it in PyTorch (LeNet-like: two 5x5
 * convolutions with BatchNorm and max-pooling, three dense layers, 37 sigmoid outputs). At 64x64 it
 * has 571,225 trainable parameters, plus 44 BatchNorm moving statistics that TF.js also counts.
 *
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { NUM_CLASSES } from "../classes.ts";
import { batchNorm, checkPositiveInt, torchBias, torchKernel } from "./_init.ts";
import { decisionTreeOutput, type DecisionTreeOutputArgs } from "./decision_tree_output.ts";
import { seededDropout } from "./seeded_dropout.ts";

/** Options of {@link courseCnn}. */
export interface CourseCnnOptions {
  /** Side of the square RGB input (64 in the course; >= 16). */
  inputSize?: number;
  /** Seed of every weight initialiser. */
  seed: number;
  /**
   * Output head: `"sigmoid"` (the course) or `"tree"`, the Galaxy Zoo decision-tree layer in
   * place of the sigmoid (see {@link decisionTreeOutput}), with `tree` its options.
   */
  output?: "sigmoid" | "tree";
  tree?: DecisionTreeOutputArgs;
  /**
   * Dropout rate before each of the two hidden dense layers (0, the course's model, leaves them
   * out); masks are seeded per training step (see {@link seededDropout}).
   */
  dropout?: number;
}

/**
 * Builds the course CNN. Shapes below are for the default 64x64 input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { courseCnn } from "./course_cnn.ts";
 * const model = courseCnn({ seed: 1 });
 * assert.deepEqual(model.outputs[0].shape, [null, 37]);
 * model.dispose();
 * ```
 */
export function courseCnn(
  { inputSize = 64, seed, output = "sigmoid", tree, dropout = 0 }: CourseCnnOptions,
): tfl.LayersModel {
  checkPositiveInt("courseCnn inputSize", inputSize, 16);
  const conv = (name: string, filters: number, inChannels: number) =>
    tfl.layers.conv2d({
      name,
      filters,
      kernelSize: 5,
      padding: "valid",
      kernelInitializer: torchKernel(seed, name),
      biasInitializer: torchBias(seed, name, 5 * 5 * inChannels),
    });
  const dense = (
    name: string,
    units: number,
    inUnits: number,
    activation?: "relu" | "sigmoid",
  ) =>
    tfl.layers.dense({
      name,
      units,
      activation,
      kernelInitializer: torchKernel(seed, name),
      biasInitializer: torchBias(seed, name, inUnits),
    });

  const input = tfl.input({ name: "image", shape: [inputSize, inputSize, 3] }); // [B, 64, 64, 3]
  let x = tfl.layers.zeroPadding2d({ name: "pad1", padding: 3 }).apply(input); // [B, 70, 70, 3]
  x = conv("conv1", 6, 3).apply(x); // [B, 66, 66, 6]
  x = batchNorm("bn1").apply(x);
  x = tfl.layers.reLU({ name: "relu1" }).apply(x);
  x = tfl.layers.maxPooling2d({ name: "pool1", poolSize: 2 }).apply(x); // [B, 33, 33, 6]
  x = tfl.layers.zeroPadding2d({ name: "pad2", padding: 3 }).apply(x); // [B, 39, 39, 6]
  x = conv("conv2", 16, 6).apply(x); // [B, 35, 35, 16]
  x = batchNorm("bn2").apply(x);
  x = tfl.layers.reLU({ name: "relu2" }).apply(x);
  x = tfl.layers.maxPooling2d({ name: "pool2", poolSize: 2 }).apply(x); // [B, 17, 17, 16]
  x = tfl.layers.flatten({ name: "flatten" }).apply(x) as tfl.SymbolicTensor; // [B, 4624]
  const flat = x.shape[1] as number;
  if (dropout > 0) x = seededDropout({ name: "drop1", rate: dropout }).apply(x) as tfl.SymbolicTensor;
  x = dense("fc1", 120, flat, "relu").apply(x); // [B, 120]
  if (dropout > 0) x = seededDropout({ name: "drop2", rate: dropout }).apply(x) as tfl.SymbolicTensor;
  x = dense("fc2", 84, 120, "relu").apply(x); // [B, 84]
  let y: tfl.SymbolicTensor;
  if (output === "tree") {
    x = dense("fc3", NUM_CLASSES, 84).apply(x); // [B, 37] unconstrained
    y = decisionTreeOutput({ name: "tree", ...tree }).apply(
      x,
    ) as tfl.SymbolicTensor; // [B, 37]
  } else {
    y = dense("fc3", NUM_CLASSES, 84, "sigmoid").apply(x) as tfl.SymbolicTensor; // [B, 37]
  }
  return tfl.model({
    name: `course_cnn${output === "tree" ? "_tree" : ""}${dropout > 0 ? "_dropout" : ""}`,
    inputs: input,
    outputs: y,
  });
}
