/**
 * The seeded train/test split by GalaxyID. Each galaxy's side depends only on (seed, GalaxyID):
 * galaxies are ordered by a hash of the two and the first share goes to the test side, so the
 * split is reproducible and barely moves when a few galaxies are excluded.
 *
 * @module
 */

/** A 32-bit mix of a seed and an integer (murmur3's finaliser on a combined word). */
export function hashId(seed: number, id: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ id;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= Math.floor(id / 0x100000000);
  return (h ^ (h >>> 16)) >>> 0;
}

export interface Split {
  /** Row indices into the label table, ascending. */
  train: number[];
  test: number[];
}

/**
 * Splits rows by GalaxyID: `round(n * testFraction)` rows (at least 1 when n > 1) to test.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitByGalaxyId } from "./split.ts";
 * const split = splitByGalaxyId([11, 12, 13, 14, 15], 0.2, 42);
 * assert.equal(split.test.length, 1);
 * assert.equal(split.train.length + split.test.length, 5);
 * ```
 */
export function splitByGalaxyId(
  ids: readonly number[],
  testFraction: number,
  seed: number,
): Split {
  const order = ids.map((id, row) => ({ row, id, h: hashId(seed, id) }))
    .sort((a, b) => a.h - b.h || a.id - b.id);
  const testCount = ids.length > 1 ? Math.max(1, Math.round(ids.length * testFraction)) : 0;
  const test = order.slice(0, testCount).map((o) => o.row).sort((a, b) => a - b);
  const train = order.slice(testCount).map((o) => o.row).sort((a, b) => a - b);
  return { train, test };
}
