import assert from "node:assert/strict";
import {
  centralColour,
  centralPixelPrediction,
  constantPrediction,
  meanLabels,
  pickRows,
} from "../lib/eval/baselines.ts";
import { LEADERBOARD, placeOnLeaderboard } from "../lib/eval/leaderboard.ts";
import { rmse } from "../lib/train/metrics.ts";

const N = 37;

/** A label table whose row i has every class equal to values[i]. */
function table(values: number[]): Float32Array {
  const out = new Float32Array(values.length * N);
  values.forEach((v, i) => out.fill(v, i * N, (i + 1) * N));
  return out;
}

Deno.test("constant baselines: all zeros and all ones score the RMS of the labels and of 1 - labels", () => {
  const truth = table([0.2, 0.6]);
  assert.ok(
    Math.abs(rmse(constantPrediction(new Float32Array(N), 2), truth) - Math.sqrt((0.04 + 0.36) / 2)) < 1e-6,
  );
  assert.ok(
    Math.abs(rmse(constantPrediction(new Float32Array(N).fill(1), 2), truth) - Math.sqrt((0.64 + 0.16) / 2)) <
      1e-6,
  );
});

Deno.test("the training mean is the mean over the training rows only", () => {
  const labels = table([0.1, 0.3, 0.9]);
  const mean = meanLabels(labels, [0, 1]);
  assert.ok(mean.every((v) => Math.abs(v - 0.2) < 1e-6));
  assert.deepEqual(Array.from(pickRows(labels, [2]).slice(0, 2)), [0.8999999761581421, 0.8999999761581421]);
});

/** size x size images, each filled with one colour, with a differently coloured centre. */
function images(centres: [number, number, number][], size = 20): Uint8Array {
  const out = new Uint8Array(centres.length * size * size * 3).fill(7);
  centres.forEach((rgb, i) => {
    for (let y = 5; y < 15; y++) {
      for (let x = 5; x < 15; x++) out.set(rgb, ((i * size + y) * size + x) * 3);
    }
  });
  return out;
}

Deno.test("central pixel: the mean colour of the central 10x10 pixels", () => {
  assert.deepEqual(centralColour(images([[200, 100, 0]]), 20, 0), [200, 100, 0]);
});

Deno.test("central pixel: test galaxies get the mean labels of training galaxies of their colour group", () => {
  const pixels = images([[250, 250, 250], [250, 250, 250], [10, 10, 200], [252, 251, 250], [12, 12, 12]]);
  const labels = table([0.8, 0.6, 0.1, 0, 0]);
  const { predictions, groups } = centralPixelPrediction(pixels, 20, labels, [0, 1, 2], [3, 4], 8);
  assert.equal(groups, 2);
  assert.ok(
    Math.abs(predictions[0] - 0.7) < 1e-6,
    "bright centre -> mean of the two bright training galaxies",
  );
  // A colour no training galaxy has falls back to the training mean.
  assert.ok(Math.abs(predictions[N] - 0.5) < 1e-6);
});

Deno.test("leaderboard placement between and beyond the quoted entries", () => {
  assert.equal(placeOnLeaderboard(0.07).text, "rank 1 of 326");
  assert.equal(placeOnLeaderboard(0.076).text, "rank 2 of 326");
  assert.equal(placeOnLeaderboard(0.12).text, "between rank 61 and 145 of 326");
  assert.match(placeOnLeaderboard(0.2).text, /below rank 145 of 326/);
  assert.equal(LEADERBOARD[0].rmse, 0.07491);
});
