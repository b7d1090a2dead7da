/**
 * Baselines every model is compared with, computed on the same split: constant predictions
 * (all zeros, all ones, the training mean) and the Kaggle "central pixel" benchmark.
 *
 * @module
 */
import { NUM_CLASSES } from "../classes.ts";

/** Predicts `values` (37) for each of `n` galaxies. */
export function constantPrediction(
  values: ArrayLike<number>,
  n: number,
): Float32Array {
  const out = new Float32Array(n * NUM_CLASSES);
  for (let i = 0; i < n; i++) out.set(Array.from(values), i * NUM_CLASSES);
  return out;
}

/** The mean label vector of `rows` of an N x 37 table. */
export function meanLabels(
  labels: Float32Array,
  rows: ArrayLike<number>,
): Float64Array {
  const mean = new Float64Array(NUM_CLASSES);
  for (let i = 0; i < rows.length; i++) {
    for (let c = 0; c < NUM_CLASSES; c++) {
      mean[c] += labels[rows[i] * NUM_CLASSES + c];
    }
  }
  return mean.map((v) => rows.length ? v / rows.length : 0);
}

/** Mean RGB of the central `patch` x `patch` pixels of image `row` in a packed N x S x S x 3 array. */
export function centralColour(
  images: Uint8Array,
  size: number,
  row: number,
  patch = 10,
): [number, number, number] {
  const start = Math.floor((size - patch) / 2);
  const sum = [0, 0, 0];
  for (let y = start; y < start + patch; y++) {
    for (let x = start; x < start + patch; x++) {
      const p = ((row * size + y) * size + x) * 3;
      sum[0] += images[p];
      sum[1] += images[p + 1];
      sum[2] += images[p + 2];
    }
  }
  const n = patch * patch;
  return [sum[0] / n, sum[1] / n, sum[2] / n];
}

/**
 * The central-pixel benchmark: training galaxies grouped by the average colour of their central
 * pixels (each channel quantised into `levels` bins); a test galaxy gets the mean labels of its
 * colour group, or the training mean when no training galaxy shares its colour.
 */
export function centralPixelPrediction(
  images: Uint8Array,
  size: number,
  labels: Float32Array,
  trainRows: ArrayLike<number>,
  testRows: ArrayLike<number>,
  levels = 8,
): { predictions: Float32Array; groups: number } {
  const groupOf = (row: number) =>
    centralColour(images, size, row).map((v) => Math.min(levels - 1, Math.floor((v / 256) * levels))).join(
      ",",
    );
  const sums = new Map<string, { n: number; sum: Float64Array }>();
  for (let i = 0; i < trainRows.length; i++) {
    const key = groupOf(trainRows[i]);
    let group = sums.get(key);
    if (!group) {
      sums.set(key, group = { n: 0, sum: new Float64Array(NUM_CLASSES) });
    }
    group.n++;
    for (let c = 0; c < NUM_CLASSES; c++) {
      group.sum[c] += labels[trainRows[i] * NUM_CLASSES + c];
    }
  }
  const fallback = meanLabels(labels, trainRows);
  const predictions = new Float32Array(testRows.length * NUM_CLASSES);
  for (let i = 0; i < testRows.length; i++) {
    const group = sums.get(groupOf(testRows[i]));
    for (let c = 0; c < NUM_CLASSES; c++) {
      predictions[i * NUM_CLASSES + c] = group ? group.sum[c] / group.n : fallback[c];
    }
  }
  return { predictions, groups: sums.size };
}

/** Rows `rows` of an N x 37 table, as a new (rows.length x 37) array. */
export function pickRows(
  labels: Float32Array,
  rows: ArrayLike<number>,
): Float32Array {
  const out = new Float32Array(rows.length * NUM_CLASSES);
  for (let i = 0; i < rows.length; i++) {
    out.set(
      labels.subarray(rows[i] * NUM_CLASSES, (rows[i] + 1) * NUM_CLASSES),
      i * NUM_CLASSES,
    );
  }
  return out;
}
