/**
 * Stateless seeded randomness: every random choice in training (weight init, epoch order,
 * augmentation) is a pure function of the run seed and where it happens (layer, epoch, step), so a
 * resumed run makes exactly the choices an uninterrupted one would.
 *
 * @module
 */

/**
 * Mixes integers into one 32-bit unsigned seed (murmur3's finaliser over each part), so nearby
 * inputs such as `(seed, 1)` and `(seed, 2)` give unrelated seeds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mixSeed } from "./rng.ts";
 * assert.equal(mixSeed(42, 1), mixSeed(42, 1));
 * assert.notEqual(mixSeed(42, 1), mixSeed(42, 2));
 * ```
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    if (!Number.isInteger(part)) {
      throw new Error(`mixSeed expects integers, got ${part}`);
    }
    // Fold in the low and high 32 bits so seeds above 2^32 still matter.
    for (const word of [part >>> 0, Math.floor(part / 0x100000000) >>> 0]) {
      h = Math.imul(h ^ word, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

/** A mulberry32 generator: returns floats in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
