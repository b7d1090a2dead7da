/**
 * The architectures as data: a name per factory, so an experiment names its model in its config
 * (`{ model: "resnet18", modelOptions: { stem: "cifar" } }`) and every model goes through the
 * same training loop.
 *
 * @module
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import { constrainedCnn, type ConstrainedCnnOptions } from "./constrained_cnn.ts";
import { courseCnn, type CourseCnnOptions } from "./course_cnn.ts";
import { resnet18, type ResNet18Options } from "./resnet18.ts";

export { constrainedCnn, courseCnn, resnet18 };
export type { ConstrainedCnnOptions, CourseCnnOptions, ResNet18Options };
export {
  DecisionTreeOutput,
  decisionTreeOutput,
  type DecisionTreeOutputArgs,
} from "./decision_tree_output.ts";
export { SeededDropout, seededDropout, type SeededDropoutArgs } from "./seeded_dropout.ts";
export { type LayerSummary, type ModelSummary, summarize } from "./summary.ts";
export { fileHandler, loadModel, saveModel } from "./io.ts";

/** Options every architecture takes, by name. */
export interface ModelOptions {
  cnn: CourseCnnOptions;
  resnet18: ResNet18Options;
  constrained: ConstrainedCnnOptions;
}

/** An architecture name usable in configs. */
export type ModelName = keyof ModelOptions;

/** Each architecture's factory and a one-line description for the report. */
export const ARCHITECTURES: {
  readonly [N in ModelName]: {
    readonly description: string;
    readonly build: (options: ModelOptions[N]) => tfl.LayersModel;
  };
} = {
  cnn: {
    description: "The course CNN: two 5x5 conv + BatchNorm + max-pool blocks, dense 120-84-37, sigmoid",
    build: courseCnn,
  },
  resnet18: {
    description:
      "ResNet-18 (BasicBlocks [2, 2, 2, 2], 64-512 filters), global average pooling, 37 sigmoid outputs",
    build: resnet18,
  },
  constrained: {
    description: "Four 3x3 conv blocks, dense 256, and the Galaxy Zoo decision-tree output layer",
    build: constrainedCnn,
  },
};

/** Names of the architectures, in registry order. */
export const MODEL_NAMES = Object.keys(ARCHITECTURES) as ModelName[];

/**
 * Builds an architecture by name; throws on an unknown name (names come from config files).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { buildModel } from "./mod.ts";
 * const model = buildModel("cnn", { seed: 7, inputSize: 32 });
 * assert.deepEqual(model.outputs[0].shape, [null, 37]);
 * model.dispose();
 * ```
 */
export function buildModel<N extends ModelName>(
  name: N,
  options: ModelOptions[N],
): tfl.LayersModel {
  const architecture = ARCHITECTURES[name];
  if (!architecture) {
    throw new Error(
      `Unknown model '${name}': expected one of ${MODEL_NAMES.join(", ")}`,
    );
  }
  return architecture.build(options);
}
