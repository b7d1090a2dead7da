/**
 * Batched inference (BatchNorm in inference mode) with optional test-time augmentation: the mean
 * prediction over the 8 rotations and flips of each image.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { NUM_CLASSES } from "../classes.ts";
import { batches, type Dataset } from "../data/batches.ts";
import { dihedral } from "./metrics.ts";

/** Options of {@link predict}. */
export interface PredictOptions {
  batchSize?: number;
  /** Average over the 8 dihedral transforms of each image (8x the cost). */
  tta?: boolean;
}

/** Model outputs for one batch, `[B, 37]`, averaged over the dihedral group when `tta`. */
export function predictBatch(model: tfl.LayersModel, x: tf.Tensor4D, tta = false): tf.Tensor2D {
  return tf.tidy(() => {
    const run = (input: tf.Tensor4D) => model.predict(input) as tf.Tensor2D;
    if (!tta) return run(x);
    let sum = run(x);
    for (let k = 1; k < 8; k++) sum = tf.add(sum, run(dihedral(x, k)));
    return tf.div(sum, 8);
  });
}

/**
 * Predicts the 37 vote fractions of `indices`, returning `indices.length * 37` values in index
 * order.
 */
export function predict(
  model: tfl.LayersModel,
  dataset: Dataset,
  indices: ArrayLike<number>,
  { batchSize = 64, tta = false }: PredictOptions = {},
): Float32Array {
  const out = new Float32Array(indices.length * NUM_CLASSES);
  let offset = 0;
  for (const { x } of batches(dataset, indices, batchSize)) {
    const y = predictBatch(model, x, tta);
    out.set(y.dataSync(), offset);
    offset += y.size;
    y.dispose();
  }
  return out;
}
