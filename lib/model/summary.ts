/**
 * A model's layer table as plain data, for the report (what `model.summary()` prints, minus the
 * printing).
 *
 * @module
 */
import type * as tfl from "@tensorflow/tfjs-layers";

/** One row of the layer table. */
export interface LayerSummary {
  name: string;
  /** TF.js class name, e.g. `Conv2D`, `BatchNormalization`. */
  type: string;
  /** Output shape with `null` for the batch dimension, e.g. `[null, 66, 66, 6]`. */
  outputShape: (number | null)[] | (number | null)[][];
  /** All parameters of the layer, BatchNorm moving statistics included. */
  params: number;
  /** Whether the layer is trainable. */
  trainable: boolean;
  /** Parameters updated by the optimiser (excludes BatchNorm moving mean and variance). */
  trainableParams: number;
}

/** The layer table and parameter totals of a model. */
export interface ModelSummary {
  name: string;
  layers: LayerSummary[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
}

const count = (weights: readonly { shape: readonly (number | null)[] }[]) =>
  weights.reduce(
    (n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1),
    0,
  );

/**
 * Summarises a model as plain, JSON-ready data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { courseCnn } from "./course_cnn.ts";
 * import { summarize } from "./summary.ts";
 * const model = courseCnn({ seed: 0 });
 * assert.equal(summarize(model).trainableParams, 571_225);
 * model.dispose();
 * ```
 */
export function summarize(model: tfl.LayersModel): ModelSummary {
  const layers = model.layers.map((layer) => ({
    name: layer.name,
    type: layer.getClassName(),
    outputShape: layer.outputShape as LayerSummary["outputShape"],
    params: layer.countParams(),
    trainable: layer.trainable,
    trainableParams: count(layer.trainableWeights),
  }));
  const trainableParams = count(model.trainableWeights);
  const nonTrainableParams = count(model.nonTrainableWeights);
  return {
    name: model.name,
    layers,
    totalParams: trainableParams + nonTrainableParams,
    trainableParams,
    nonTrainableParams,
  };
}
