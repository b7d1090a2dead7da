import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { CSV_HEADER, NUM_CLASSES, QUESTIONS } from "../lib/classes.ts";
import { generateSyntheticGalaxyZoo, sampleGalaxy } from "../lib/synthetic/mod.ts";
import { formatMicro, roundTree } from "../lib/synthetic/_labels.ts";
import { Rng } from "../lib/synthetic/_rng.ts";

async function generate(count: number, seed: number): Promise<{ dir: string; csv: string; ids: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "synthetic_test_" });
  const result = await generateSyntheticGalaxyZoo({ dir, count, seed, concurrency: 3 });
  assert.equal(result.count, count);
  const csv = await Deno.readTextFile(result.csvPath);
  const ids = csv.trim().split("\n").slice(1).map((line) => line.split(",")[0]);
  return { dir, csv, ids };
}

function image(dir: string, id: string): Promise<Uint8Array> {
  return Deno.readFile(join(dir, "images_training_rev1", `${id}.jpg`));
}

Deno.test("synthetic: same seed gives byte-identical CSV and JPEGs; a prefix equals a smaller run", async () => {
  const a = await generate(5, 42);
  const b = await generate(5, 42);
  const bigger = await generate(7, 42);
  try {
    assert.equal(a.csv, b.csv);
    assert.deepEqual(a.ids, ["100008", "100009", "100010", "100011", "100012"]);
    for (const id of a.ids) {
      assert.deepEqual(await image(a.dir, id), await image(b.dir, id), `image ${id} differs between runs`);
      assert.deepEqual(
        await image(a.dir, id),
        await image(bigger.dir, id),
        `image ${id} differs in the bigger run`,
      );
    }
    const biggerLines = bigger.csv.trim().split("\n");
    assert.equal(biggerLines.length, 8);
    assert.deepEqual(biggerLines.slice(0, 6), a.csv.trim().split("\n"));
    // No temporary files left behind.
    const names = [...Deno.readDirSync(join(a.dir, "images_training_rev1"))].map((entry) => entry.name)
      .sort();
    assert.deepEqual(names, a.ids.map((id) => `${id}.jpg`));
  } finally {
    for (const run of [a, b, bigger]) await Deno.remove(run.dir, { recursive: true });
  }
});

Deno.test("synthetic: different seeds differ", async () => {
  const a = await generate(2, 1);
  const b = await generate(2, 2);
  try {
    assert.notEqual(a.csv, b.csv);
    assert.notDeepEqual(await image(a.dir, "100008"), await image(b.dir, "100008"));
  } finally {
    await Deno.remove(a.dir, { recursive: true });
    await Deno.remove(b.dir, { recursive: true });
  }
});

Deno.test("synthetic: CSV has the Kaggle header and plain decimals with at most 6 places", async () => {
  const run = await generate(3, 7);
  try {
    const [header, ...rows] = run.csv.trim().split("\n");
    assert.equal(header, CSV_HEADER.join(","));
    for (const row of rows) {
      const cells = row.split(",");
      assert.equal(cells.length, NUM_CLASSES + 1);
      for (const cell of cells.slice(1)) assert.match(cell, /^(0|1|0\.\d{1,6})$/);
    }
  } finally {
    await Deno.remove(run.dir, { recursive: true });
  }
});

Deno.test("synthetic: labels are vote fractions obeying the decision tree", () => {
  const kinds = new Set<string>();
  for (let index = 0; index < 500; index++) {
    const { labels, morphology } = sampleGalaxy(3, index);
    kinds.add(morphology.kind);
    assert.equal(labels.length, NUM_CLASSES);
    for (const value of labels) {
      assert.ok(value >= 0 && value <= 1, `galaxy ${index}: value ${value} out of [0, 1]`);
    }
    for (const question of QUESTIONS) {
      const sum = question.answers.reduce((total, i) => total + labels[i], 0);
      const expected = question.parent === null ? 1 : labels[question.parent];
      assert.ok(
        Math.abs(sum - expected) < 1e-6,
        `galaxy ${index}: question ${question.number} sums to ${sum}, parent is ${expected}`,
      );
      if (expected === 0) { for (const i of question.answers) assert.equal(labels[i], 0); }
    }
  }
  assert.deepEqual([...kinds].sort(), ["disk", "edgeOn", "irregular", "smooth", "star"]);
  // Noisy crowds, not one-hot answers: few galaxies get a unanimous question 1.
  const unanimous = Array.from({ length: 500 }, (_, i) => sampleGalaxy(3, i).labels)
    .filter((labels) => labels.slice(0, 3).some((value) => value === 1)).length;
  assert.ok(unanimous < 100, `${unanimous} of 500 galaxies have unanimous question-1 votes`);
});

Deno.test("synthetic: sampleGalaxy is pure in (seed, index)", () => {
  assert.deepEqual(sampleGalaxy(9, 17), sampleGalaxy(9, 17));
  assert.notDeepEqual(sampleGalaxy(9, 17).labels, sampleGalaxy(10, 17).labels);
});

Deno.test("synthetic: rounding keeps tree sums exact and formats plain decimals", () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 200; trial++) {
    // Arbitrary fractions: the rounding alone must restore exact sums.
    const micro = roundTree(Array.from({ length: NUM_CLASSES }, () => rng.next() / 3));
    for (const question of QUESTIONS) {
      const sum = question.answers.reduce((total, i) => total + micro[i], 0);
      assert.equal(sum, question.parent === null ? 1_000_000 : micro[question.parent]);
    }
  }
  assert.equal(formatMicro(0), "0");
  assert.equal(formatMicro(1_000_000), "1");
  assert.equal(formatMicro(383_147), "0.383147");
  assert.equal(formatMicro(500_000), "0.5");
  assert.equal(formatMicro(1_200), "0.0012");
});

Deno.test("synthetic: images are 424x424 RGB with a galaxy brighter than the corners", async () => {
  const run = await generate(6, 11);
  try {
    for (const [index, id] of run.ids.entries()) {
      const { data, info } = await sharp(await image(run.dir, id)).raw().toBuffer({
        resolveWithObject: true,
      });
      assert.deepEqual([info.width, info.height, info.channels], [424, 424, 3]);
      const mean = (x0: number, y0: number, size: number) => {
        let total = 0;
        for (let y = y0; y < y0 + size; y++) {
          for (let x = x0; x < x0 + size; x++) {
            for (let c = 0; c < 3; c++) total += data[(y * 424 + x) * 3 + c];
          }
        }
        return total / (size * size * 3);
      };
      // A satellite trail may miss the centre: only galaxies and centred artifacts are checked.
      if (sampleGalaxy(11, index).morphology.artifact === "trail") continue;
      const centre = mean(202, 202, 20);
      const corners = Math.max(mean(0, 0, 40), mean(384, 0, 40), mean(0, 384, 40), mean(384, 384, 40));
      assert.ok(
        centre > corners + 20,
        `galaxy ${id}: centre ${centre.toFixed(1)} vs corners ${corners.toFixed(1)}`,
      );
    }
  } finally {
    await Deno.remove(run.dir, { recursive: true });
  }
});
