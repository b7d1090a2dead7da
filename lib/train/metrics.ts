/**
 * The competition's score (RMSE over every predicted vote fraction), its per-question breakdown,
 * and the dihedral transforms (rotations and flips) used for augmentation and test-time averaging:
 * a galaxy photographed rotated or mirrored is the same galaxy with the same answers.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { NUM_CLASSES, QUESTIONS } from "../classes.ts";
import { mulberry32 } from "./rng.ts";

function checkSameLength(pred: ArrayLike<number>, truth: ArrayLike<number>): void {
  if (pred.length !== truth.length || pred.length % NUM_CLASSES !== 0 || pred.length === 0) {
    throw new Error(
      `RMSE needs two equal, non-empty arrays of N x ${NUM_CLASSES} values, got ${pred.length} and ${truth.length}`,
    );
  }
}

/**
 * Kaggle's RMSE: the square root of the mean squared error over all N x 37 values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rmse } from "./metrics.ts";
 * const truth = new Float32Array(37);
 * const pred = new Float32Array(37).fill(0.5);
 * assert.equal(rmse(pred, truth), 0.5);
 * ```
 */
export function rmse(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  checkSameLength(pred, truth);
  let sum = 0;
  for (let i = 0; i < pred.length; i++) sum += (pred[i] - truth[i]) ** 2;
  return Math.sqrt(sum / pred.length);
}

/** RMSE per question (11 values, question order) over that question's answer columns. */
export function rmsePerQuestion(pred: ArrayLike<number>, truth: ArrayLike<number>): number[] {
  checkSameLength(pred, truth);
  const n = pred.length / NUM_CLASSES;
  return QUESTIONS.map((q) => {
    let sum = 0;
    for (let r = 0; r < n; r++) {
      for (const c of q.answers) sum += (pred[r * NUM_CLASSES + c] - truth[r * NUM_CLASSES + c]) ** 2;
    }
    return Math.sqrt(sum / (n * q.answers.length));
  });
}

/**
 * Element `k` (0..7) of the dihedral group applied to a square NHWC batch: `k & 3` quarter turns,
 * preceded by a horizontal mirror when `k & 4`. `k = 0` returns a clone.
 */
export function dihedral(x: tf.Tensor4D, k: number): tf.Tensor4D {
  if (!Number.isInteger(k) || k < 0 || k > 7) throw new Error(`Dihedral element must be 0..7, got ${k}`);
  if (x.shape[1] !== x.shape[2]) throw new Error(`Dihedral transforms need square images, got [${x.shape}]`);
  return tf.tidy(() => {
    let y: tf.Tensor4D = k & 4 ? tf.reverse(x, 2) : tf.clone(x);
    const turns = k & 3;
    if (turns === 2) return tf.reverse(y, [1, 2]);
    if (turns === 0) return y;
    y = tf.transpose(y, [0, 2, 1, 3]); // [B, W, H, C]
    return tf.reverse(y, turns === 1 ? 1 : 2); // quarter turn one way or the other
  });
}

/**
 * Training augmentation: each image gets its own random rotation/flip, drawn from `seed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { augmentDihedral } from "./metrics.ts";
 * await tf.setBackend("cpu");
 * const x = tf.ones([2, 4, 4, 3]) as tf.Tensor4D;
 * assert.deepEqual(augmentDihedral(x, 1).shape, [2, 4, 4, 3]);
 * ```
 */
export function augmentDihedral(x: tf.Tensor4D, seed: number): tf.Tensor4D {
  const b = x.shape[0];
  const random = mulberry32(seed);
  const ks = Array.from({ length: b }, () => Math.floor(random() * 8));
  return tf.tidy(() => {
    const parts: tf.Tensor4D[] = [];
    const placed: number[] = []; // placed[j] = batch position of the j-th image in `parts` order
    for (let k = 0; k < 8; k++) {
      const rows = ks.flatMap((kk, i) => kk === k ? [i] : []);
      if (rows.length === 0) continue;
      parts.push(dihedral(tf.gather(x, rows), k));
      placed.push(...rows);
    }
    const joined = tf.concat(parts, 0);
    const inverse = new Array<number>(b);
    placed.forEach((row, j) => inverse[row] = j);
    return tf.gather(joined, inverse);
  });
}
