/**
 * Mini-batches from a packed uint8 image set: a seeded epoch order that depends only on
 * (seed, epoch), and a generator that turns index lists into float tensors and frees each batch
 * as soon as the next one is asked for, so a training loop cannot leak batch tensors.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { NUM_CLASSES } from "../classes.ts";
import { mixSeed, mulberry32 } from "../train/rng.ts";

/** Images and labels in memory. */
export interface Dataset {
  /** `count * size * size * 3` bytes: RGB, row-major NHWC. */
  images: Uint8Array;
  /** `count * 37` vote fractions, in CLASS_COLUMNS order. */
  labels: Float32Array;
  count: number;
  /** Side of each square image. */
  size: number;
}

/** One mini-batch; its tensors are disposed when the generator moves on or stops. */
export interface Batch {
  /** [B, S, S, 3] float32 in [0, 1]. */
  x: tf.Tensor4D;
  /** [B, 37] float32. */
  y: tf.Tensor2D;
  /** Dataset indices of the B images, in batch order. */
  indices: number[];
}

/** Options of {@link batches}. */
export interface BatchOptions {
  /** Shuffle `indices` with {@link epochOrder}(indices, seed, epoch) first. */
  shuffle?: { seed: number; epoch: number };
}

/** Throws when a dataset's arrays disagree with its count and size. */
export function checkDataset(dataset: Dataset): void {
  const { images, labels, count, size } = dataset;
  if (images.length !== count * size * size * 3) {
    throw new Error(
      `Dataset images hold ${images.length} bytes, expected ${count} x ${size} x ${size} x 3`,
    );
  }
  if (labels.length !== count * NUM_CLASSES) {
    throw new Error(
      `Dataset labels hold ${labels.length} values, expected ${count} x ${NUM_CLASSES}`,
    );
  }
}

/**
 * A seeded permutation of `0..count-1` (or of the given indices) that depends only on
 * `(seed, epoch)`: resuming after epoch k replays epochs k+1.. exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { epochOrder } from "./batches.ts";
 * assert.deepEqual(epochOrder(5, 1, 3), epochOrder(5, 1, 3));
 * assert.deepEqual([...epochOrder([7, 8, 9], 1, 0)].sort(), [7, 8, 9]);
 * ```
 */
export function epochOrder(
  countOrIndices: number | ArrayLike<number>,
  seed: number,
  epoch: number,
): number[] {
  const order = typeof countOrIndices === "number"
    ? Array.from({ length: countOrIndices }, (_, i) => i)
    : Array.from(countOrIndices);
  const random = mulberry32(mixSeed(seed, epoch));
  for (let i = order.length - 1; i > 0; i--) { // Fisher-Yates
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** byte -> byte / 255 as float32, so the conversion is one table look-up per value. */
const UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/**
 * The float pixels (`[B, S, S, 3]` in [0, 1]) and labels (`[B, 37]`) of `indices`, in new
 * arrays. No tensors: the parallel trainer ships these arrays to its workers.
 */
export function fillBatch(
  dataset: Dataset,
  indices: readonly number[],
): { x: Float32Array<ArrayBuffer>; y: Float32Array<ArrayBuffer> } {
  const { images, labels, count, size } = dataset;
  const pixels = size * size * 3;
  const b = indices.length;
  const x = new Float32Array(b * pixels);
  const y = new Float32Array(b * NUM_CLASSES);
  indices.forEach((index, i) => {
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new Error(`Batch index ${index} is outside the dataset of ${count} images`);
    }
    const from = index * pixels;
    const to = i * pixels;
    for (let p = 0; p < pixels; p++) x[to + p] = UNIT[images[from + p]];
    y.set(labels.subarray(index * NUM_CLASSES, (index + 1) * NUM_CLASSES), i * NUM_CLASSES);
  });
  return { x, y };
}

/**
 * Yields the batches of `indices` (in order, or shuffled per `options.shuffle`), the last one
 * partial. Each batch's tensors are disposed when the next batch is requested or the loop ends
 * (break and throw included): use them inside the loop body, `tf.clone` what must outlive it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { batches } from "./batches.ts";
 * const dataset = { images: new Uint8Array(3 * 2 * 2 * 3), labels: new Float32Array(3 * 37), count: 3, size: 2 };
 * const sizes = [];
 * for (const { x } of batches(dataset, [0, 1, 2], 2)) sizes.push(x.shape[0]);
 * assert.deepEqual(sizes, [2, 1]);
 * ```
 */
export function* batches(
  dataset: Dataset,
  indices: ArrayLike<number>,
  batchSize: number,
  options: BatchOptions = {},
): Generator<Batch, void, undefined> {
  checkDataset(dataset);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const { size } = dataset;
  const order = options.shuffle
    ? epochOrder(indices, options.shuffle.seed, options.shuffle.epoch)
    : Array.from(indices);
  for (let start = 0; start < order.length; start += batchSize) {
    const batchIndices = order.slice(start, start + batchSize);
    const b = batchIndices.length;
    // A fresh buffer per batch: the cpu backend keeps the array it is given, so reuse would alias.
    const { x, y } = fillBatch(dataset, batchIndices);
    const batch: Batch = {
      x: tf.tensor4d(x, [b, size, size, 3], "float32"),
      y: tf.tensor2d(y, [b, NUM_CLASSES], "float32"),
      indices: batchIndices,
    };
    try {
      yield batch;
    } finally {
      batch.x.dispose();
      batch.y.dispose();
    }
  }
}
