/**
 * Shared by the kernel tests: deterministic convolution cases covering what tfjs-layers produces
 * (strides 1, 2, 3 and 1x2; same, valid and explicit padding; filters 1x1 to 7x7; odd sizes and
 * channel counts), seeded data, and a relative-error comparison.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";

export type Pad = "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]];
export interface Case {
  batch: number;
  h: number;
  w: number;
  inC: number;
  outC: number;
  k: number;
  stride: number | [number, number];
  pad: Pad;
}

// Deterministic cases and data: a failure reproduces.
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function cases(): Case[] {
  const rand = prng(7);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const out: Case[] = [];
  for (const k of [1, 3, 5, 7]) {
    for (const stride of [1, 2, [1, 2] as [number, number], 3]) {
      // Explicit pads up to k + 1: beyond k - 1 the input gradient's padding goes negative.
      const pads: Pad[] = [
        "same",
        "valid",
        [[0, 0], [int(0, 3), int(0, 3)], [int(0, 3), int(0, 2)], [0, 0]],
        [[0, 0], [int(0, k + 1), int(0, k + 1)], [int(0, k + 1), int(0, k + 1)], [0, 0]],
      ];
      for (const pad of pads) {
        out.push({
          batch: int(1, 3),
          h: k + int(0, 6) | 1,
          w: k + int(1, 6),
          inC: int(1, 5),
          outC: int(1, 6),
          k,
          stride,
          pad,
        });
      }
    }
  }
  // Channel counts where the input gradient copies whole channel vectors (>= 16).
  out.push({ batch: 2, h: 9, w: 8, inC: 17, outC: 5, k: 3, stride: 2, pad: "same" });
  out.push({ batch: 1, h: 7, w: 7, inC: 20, outC: 3, k: 1, stride: 2, pad: "valid" });
  return out;
}

export function values(n: number, seed: number): Float32Array {
  const rand = prng(seed);
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

export function outSize(c: Case): [number, number] {
  const info = tf.backend_util.computeConv2DInfo(
    [c.batch, c.h, c.w, c.inC],
    [c.k, c.k, c.inC, c.outC],
    c.stride,
    1,
    c.pad,
  );
  return [info.outHeight, info.outWidth];
}

/** Max absolute error relative to the largest expected magnitude, below `tolerance`. */
export function assertClose(
  actual: Float32Array,
  expected: Float32Array,
  what: string,
  tolerance = 1e-4,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1e-6, worst = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  assert.ok(worst / scale < tolerance, `${what}: max error ${worst} relative to ${scale}`);
}

export const describe = (c: Case) =>
  `k${c.k} s${c.stride} pad ${JSON.stringify(c.pad)} x[${c.batch},${c.h},${c.w},${c.inC}] -> ${c.outC}`;
