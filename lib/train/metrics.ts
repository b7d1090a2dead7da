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

/** The dihedral element (0..7) each of `rows` images gets from `seed` in {@link augmentDihedral}. */
export function dihedralChoices(rows: number, seed: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: rows }, () => Math.floor(random() * 8));
}

/**
 * Training augmentation: each image of a [rows, size, size, 3] batch of pixels gets its own
 * random rotation/flip, drawn from `seed` ({@link dihedralChoices}), exactly as {@link dihedral}
 * transforms it. Plain index arithmetic on the arrays: it runs on the main thread while the
 * trainer's workers compute, where tensor ops (gathers, reverses, transposes) took half of the
 * augmented course CNN's time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { augmentDihedral } from "./metrics.ts";
 * const image = Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => i);
 * assert.equal(augmentDihedral(image, 1, 2, 7).length, 12);
 * ```
 */
export function augmentDihedral(x: Float32Array, rows: number, size: number, seed: number): Float32Array {
  if (x.length !== rows * size * size * 3) {
    throw new Error(`augmentDihedral: ${x.length} values is not ${rows} images of ${size}x${size}x3`);
  }
  const out = new Float32Array(x.length);
  const last = size - 1;
  dihedralChoices(rows, seed).forEach((k, image) => {
    const base = image * size * size * 3;
    const turns = k & 3, mirror = (k & 4) !== 0;
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        // The pixel of the (mirrored) image that `dihedral` moves to (i, j).
        let a = i, b = j;
        if (turns === 1) (a = j), (b = last - i);
        else if (turns === 2) (a = last - i), (b = last - j);
        else if (turns === 3) (a = last - j), (b = i);
        if (mirror) b = last - b;
        const from = base + (a * size + b) * 3, to = base + (i * size + j) * 3;
        out[to] = x[from];
        out[to + 1] = x[from + 1];
        out[to + 2] = x[from + 2];
      }
    }
  });
  return out;
}
