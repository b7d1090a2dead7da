/**
 * Summaries of a label table for Step 1: the galaxy with the highest probability per class,
 * and the distribution of each class's probabilities.
 *
 * @module
 */
import { CLASS_COLUMNS, CLASS_NAMES, NUM_CLASSES } from "../classes.ts";

export interface TopGalaxy {
  classId: string;
  className: string;
  /** Row in the label table. */
  row: number;
  galaxyId: number;
  probability: number;
}

/**
 * For each of the 37 classes, the galaxy with the highest vote fraction (the first in table order
 * on ties).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topGalaxyPerClass } from "./explore.ts";
 * const labels = new Float32Array(2 * 37);
 * labels[0] = 0.2; labels[37] = 0.9; // Class1.1 of two galaxies
 * assert.equal(topGalaxyPerClass([7, 8], labels)[0].galaxyId, 8);
 * ```
 */
export function topGalaxyPerClass(
  ids: readonly number[],
  labels: Float32Array,
): TopGalaxy[] {
  return CLASS_COLUMNS.map((classId, c) => {
    let best = 0;
    for (let i = 1; i < ids.length; i++) {
      if (labels[i * NUM_CLASSES + c] > labels[best * NUM_CLASSES + c]) {
        best = i;
      }
    }
    return {
      classId,
      className: CLASS_NAMES[c],
      row: best,
      galaxyId: ids[best],
      probability: labels[best * NUM_CLASSES + c],
    };
  });
}

export interface ClassDistribution {
  classId: string;
  mean: number;
  /** Share of galaxies with probability > 0.5. */
  majority: number;
  /** Counts in `bins` equal bins over [0, 1]. */
  histogram: number[];
}

/** Mean, majority share and a histogram per class. */
export function classDistributions(
  labels: Float32Array,
  bins = 10,
): ClassDistribution[] {
  const n = labels.length / NUM_CLASSES;
  return CLASS_COLUMNS.map((classId, c) => {
    const histogram = new Array(bins).fill(0);
    let sum = 0;
    let majority = 0;
    for (let i = 0; i < n; i++) {
      const v = labels[i * NUM_CLASSES + c];
      sum += v;
      if (v > 0.5) majority++;
      histogram[Math.min(bins - 1, Math.floor(v * bins))]++;
    }
    return {
      classId,
      mean: n ? sum / n : 0,
      majority: n ? majority / n : 0,
      histogram,
    };
  });
}
