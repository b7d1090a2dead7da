/**
 * Reading the Kaggle layout: every malformed input stops the run with a message naming the line
 * or file, or with --skip-bad is excluded and listed. Plus the split.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { CSV_HEADER, QUESTIONS } from "../lib/classes.ts";
import { countTreeViolations, DataError, parseLabels } from "../lib/data/kaggle.ts";
import { splitByGalaxyId } from "../lib/data/split.ts";
import { runGraph } from "../pipeline/runner.ts";
import { STAGES } from "../steps/mod.ts";
import { config, quietEnv } from "./_fake_stages.ts";
import type { DataResult } from "../steps/data.ts";
import type { PreprocessResult } from "../steps/preprocess.ts";

/** A label row that satisfies the decision tree: smooth, round, nothing odd. */
function validRow(id: number): string {
  const v = new Array(37).fill(0);
  v[0] = 1; // Class1.1 smooth
  v[14] = 1; // Class6.2 no odd feature
  v[15] = 1; // Class7.1 completely round
  return [id, ...v].join(",");
}

const header = CSV_HEADER.join(",");

function parse(lines: string[]) {
  return parseLabels(lines.join("\n") + "\n", "training_solutions_rev1.csv");
}

Deno.test("a valid table parses, with no tree violations", () => {
  const table = parse([header, validRow(100008), validRow(100023)]);
  assert.deepEqual(table.ids, [100008, 100023]);
  assert.equal(table.labels.length, 2 * 37);
  assert.deepEqual(table.problems, []);
  assert.ok(table.treeViolations.every((v) => v.count === 0));
  assert.equal(table.treeViolations.length, QUESTIONS.length);
});

Deno.test("a bad header is an error naming the column", () => {
  const bad = header.replace("Class1.2", "Class1.X");
  assert.throws(() => parse([bad, validRow(1)]), (e: Error) => {
    assert.ok(e instanceof DataError);
    assert.match(e.message, /header is not the Kaggle one.*column 3 is 'Class1.X', expected 'Class1.2'/);
    return true;
  });
  assert.throws(() => parse(["GalaxyID,Class1.1", validRow(1)]), /column 3 is '\(missing\)'/);
});

Deno.test("malformed rows are problems naming the line and GalaxyID", () => {
  const nonNumber = validRow(3).replace(/,0,/, ",abc,");
  const above = validRow(4).replace(/^4,1,/, "4,1.5,");
  const table = parse([header, validRow(1), "2,0.5,0.5", nonNumber, above, validRow(1)]);
  assert.deepEqual(table.ids, [1]);
  const reasons = table.problems.map((p) => `line ${p.line} (${p.id}): ${p.reason}`);
  assert.deepEqual(reasons, [
    "line 3 (2): has 3 values, expected 38",
    "line 4 (3): value 'abc' in Class1.2 is not a number",
    "line 5 (4): value 1.5 in Class1.1 is outside [0, 1]",
    "line 6 (1): duplicate GalaxyID (first on line 2)",
  ]);
});

Deno.test("tree sums are checked with a tolerance and counted, not enforced", () => {
  const labels = new Float32Array(2 * 37);
  labels[0] = 1; // galaxy 0: Q1 fine, Q6 sums to 0 (violation), Q7 sums to 0 but parent 1.1 is 1 (violation)
  labels[37] = 0.995; // galaxy 1: off by 0.005, within tolerance for Q1
  const counts = countTreeViolations(labels);
  assert.equal(counts[0].count, 0);
  assert.equal(counts[5].count, 2, "Q6 sums to 1 for every galaxy");
  assert.equal(counts[6].count, 2, "Q7 sums to Class1.1");
});

Deno.test("the split is reproducible, disjoint, complete and follows the seed", () => {
  const ids = Array.from({ length: 1000 }, (_, i) => 100000 + 7 * i);
  const a = splitByGalaxyId(ids, 0.2, 42);
  const b = splitByGalaxyId(ids, 0.2, 42);
  assert.deepEqual(a, b);
  assert.equal(a.test.length, 200);
  assert.equal(new Set([...a.train, ...a.test]).size, 1000);
  assert.ok(a.test.every((r) => !a.train.includes(r)));
  assert.notDeepEqual(splitByGalaxyId(ids, 0.2, 43).test, a.test);
  // Leaving one galaxy out barely moves the split: each galaxy's side depends on its own id.
  const fewer = splitByGalaxyId(ids.slice(1), 0.2, 42);
  const moved = fewer.test.map((r) => ids[r + 1]).filter((id) => !a.test.map((r) => ids[r]).includes(id));
  assert.ok(moved.length <= 1);
});

/** A Kaggle-layout folder with `count` decodable images and the given extra CSV lines. */
async function kaggleFolder(count: number, extraRows: string[] = []): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "gz-kaggle-" });
  await Deno.mkdir(join(dir, "images_training_rev1"));
  const rows = [header];
  for (let i = 0; i < count; i++) {
    const id = 100000 + i;
    rows.push(validRow(id));
    const jpeg = await sharp({
      create: { width: 424, height: 424, channels: 3, background: { r: 20 + i, g: 10, b: 5 } },
    })
      .jpeg().toBuffer();
    await Deno.writeFile(join(dir, "images_training_rev1", `${id}.jpg`), jpeg);
  }
  await Deno.writeTextFile(
    join(dir, "training_solutions_rev1.csv"),
    [...rows, ...extraRows].join("\n") + "\n",
  );
  return dir;
}

Deno.test({
  name: "missing and corrupt images stop the run before training, naming the file; --skip-bad lists them",
  sanitizeResources: false,
  async fn() {
    const dir = await kaggleFolder(12, [validRow(200001)]);
    const cache = await Deno.makeTempDir({ prefix: "gz-cache-" });
    try {
      // A truncated JPEG: the first half of a real one.
      const good = await Deno.readFile(join(dir, "images_training_rev1", "100003.jpg"));
      await Deno.writeFile(
        join(dir, "images_training_rev1", "100003.jpg"),
        good.subarray(0, good.length >> 1),
      );
      const base = { data: dir, seed: 1 };

      await assert.rejects(runGraph(STAGES, ["step2"], config(base), quietEnv(cache)), (e: Error) => {
        assert.match(e.message, /1 problem/);
        assert.match(e.message, /GalaxyID 200001, .*200001\.jpg: image file is missing/);
        assert.match(e.message, /--skip-bad/);
        return true;
      });
      // With --skip-bad the missing image is excluded at the data stage, then the truncated JPEG in Step 2.
      const run = await runGraph(STAGES, ["step2"], config({ ...base, skipBad: true }), quietEnv(cache));
      const data = run.outputs.get("data")!.result as DataResult;
      const step2 = run.outputs.get("step2")!.result as PreprocessResult;
      assert.equal(data.count, 12);
      assert.equal(step2.count, 11);
      const excluded = step2.excluded.map((p) => `${p.id}: ${p.reason}`);
      assert.equal(excluded.length, 2);
      assert.match(excluded[0], /^200001: image file is missing/);
      assert.match(excluded[1], /^100003: cannot be decoded/);

      // Without --skip-bad, the truncated JPEG alone also stops Step 2 with its name.
      await Deno.remove(join(cache), { recursive: true });
      const csv = join(dir, "training_solutions_rev1.csv");
      await Deno.writeTextFile(csv, (await Deno.readTextFile(csv)).replace(validRow(200001) + "\n", ""));
      await assert.rejects(
        runGraph(STAGES, ["step2"], config(base), quietEnv(cache)),
        /step2 .*failed: .*100003\.jpg: cannot be decoded/s,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(cache, { recursive: true }).catch(() => {});
    }
  },
});
