/**
 * The real pipeline end to end on a tiny synthetic Galaxy Zoo: every stage runs, the report has
 * every figure, chart and table, a second run reuses everything, a param change reruns exactly
 * the stages downstream of it, and a template change re-renders only.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { STAGE_NAMES, STAGES } from "../steps/mod.ts";
import { runGraph } from "../pipeline/runner.ts";
import { selectBackend } from "../lib/tf/backend.ts";
import { TEMPLATES_DIR } from "../report/stage.ts";
import { config, quietEnv } from "./_fake_stages.ts";
import type { Config } from "../pipeline/config.ts";

const work = await Deno.makeTempDir({ prefix: "gz-pipeline-" });
const cache = join(work, "cache");
const templates = join(work, "templates");
const emptyData = join(work, "data");
await Deno.mkdir(emptyData);
await Deno.mkdir(templates);
for await (const entry of Deno.readDir(TEMPLATES_DIR)) {
  await Deno.copyFile(join(TEMPLATES_DIR, entry.name), join(templates, entry.name));
}

const tiny: Partial<Config> = {
  data: emptyData,
  syntheticCount: 60,
  epochs: 1,
  batchSize: 16,
  experiments: ["winner"],
  templates,
  backend: "wasm",
};

function env(logs: string[] = []) {
  return { ...quietEnv(cache, logs), backend: () => selectBackend("wasm"), now: () => new Date() };
}

const first = await runGraph(STAGES, ["render"], config(tiny), env());
const reportDir = first.outputs.get("render")!.dir;
const html = await Deno.readTextFile(join(reportDir, "report.html"));

Deno.test({
  name: "every stage runs on a fresh cache and the report says the data are synthetic",
  sanitizeResources: false,
  fn() {
    assert.deepEqual(first.statuses.map((s) => s.stage), STAGE_NAMES);
    assert.ok(first.statuses.every((s) => s.status === "ran"));
    assert.match(html, /Synthetic data\./);
    assert.match(html, /synthetic Galaxy Zoo/);
  },
});

Deno.test("the report holds both 37-galaxy figures, the charts and the tables, and fetches nothing", () => {
  const panels = (id: string) => {
    const figure = html.slice(
      html.indexOf(`id="${id}"`),
      html.indexOf("</figure>", html.indexOf(`id="${id}"`)),
    );
    return [...figure.matchAll(/<g class="panel" data-class="(Class[\d.]+)"/g)].map((m) => m[1]);
  };
  assert.equal(panels("fig-top-galaxies").length, 37);
  assert.equal(new Set(panels("fig-top-galaxies")).size, 37);
  assert.equal(panels("fig-top-processed").length, 37);
  for (
    const id of [
      "fig-distributions",
      "fig-loss-cnn",
      "fig-pred-vs-true",
      "fig-rmse-bars",
      "fig-per-question",
      "fig-loss-modified",
    ]
  ) {
    assert.match(html, new RegExp(`<figure class="figure chart" id="${id}">\\s*<svg`), id);
  }
  for (
    const id of [
      "first-rows",
      "split",
      "architecture",
      "history-cnn",
      "rmse",
      "leaderboard",
      "per-question",
      "comparison",
      "stages",
      "params",
    ]
  ) {
    assert.match(html, new RegExp(`<div class="table-wrap" id="${id}">`), id);
  }
  assert.doesNotMatch(html, /(src|href)="https?:/, "nothing fetched from the network");
  assert.doesNotMatch(html, /\{\{/, "no unfilled placeholder");
  assert.match(html, /<math/, "formulas rendered at build time");
  assert.match(html, /571,225 trainable parameters/);
});

Deno.test("a second run reuses every stage", async () => {
  const second = await runGraph(STAGES, ["render"], config(tiny), env());
  assert.deepEqual(second.statuses.filter((s) => s.status === "ran").map((s) => s.stage), []);
});

Deno.test("editing a template re-renders only", async () => {
  const path = join(templates, "05-evaluation.md");
  await Deno.writeTextFile(path, (await Deno.readTextFile(path)) + "\nAn added sentence.\n");
  const rerun = await runGraph(STAGES, ["render"], config(tiny), env());
  assert.deepEqual(rerun.statuses.filter((s) => s.status === "ran").map((s) => s.stage), ["render"]);
  const rendered = await Deno.readTextFile(join(rerun.outputs.get("render")!.dir, "report.html"));
  assert.match(rendered, /An added sentence\./);
});

Deno.test("changing --epochs reruns training and what depends on it, nothing upstream", async () => {
  const logs: string[] = [];
  const rerun = await runGraph(STAGES, ["render"], config({ ...tiny, epochs: 2 }), env(logs));
  assert.deepEqual(rerun.statuses.filter((s) => s.status === "ran").map((s) => s.stage), [
    "step4",
    "step5",
    "step6",
    "render",
  ]);
  assert.ok(logs.some((l) => l.includes("epochs 1 -> 2")), logs.join("\n"));
});

Deno.test({
  name: "cleanup",
  sanitizeResources: false,
  async fn() {
    await Deno.remove(work, { recursive: true });
  },
});
