/**
 * Re-rendering after a template edit: builds a small pipeline once (cached under
 * cache/bench/render), then edits a copy of the templates and times the render stage, which is
 * the only one that reruns. Target: at most 2 seconds.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { STAGES } from "../steps/mod.ts";
import { runGraph } from "../pipeline/runner.ts";
import { DEFAULTS } from "../pipeline/config.ts";
import { selectBackend } from "../lib/tf/backend.ts";
import { silentProgress } from "../pipeline/progress.ts";
import { TEMPLATES_DIR } from "../report/stage.ts";

const TARGET_SECONDS = 2;
const root = resolve(import.meta.dirname!, "..");
const work = join(root, "cache", "bench", "render");
const templates = join(work, "templates");
const data = join(work, "empty-data");
await Deno.mkdir(templates, { recursive: true });
await Deno.mkdir(data, { recursive: true });
for await (const entry of Deno.readDir(TEMPLATES_DIR)) {
  await Deno.copyFile(join(TEMPLATES_DIR, entry.name), join(templates, entry.name));
}

const config = {
  ...DEFAULTS,
  force: [],
  data,
  templates,
  syntheticCount: 400,
  epochs: 1,
  experiments: ["winner"],
};
const env = {
  root,
  cacheDir: join(work, "cache"),
  log: () => {},
  progress: silentProgress,
  backend: () => selectBackend("wasm"),
  now: () => new Date(),
};
console.log("preparing the cached pipeline (first time only: generates and trains on 400 galaxies)...");
await runGraph(STAGES, ["render"], config, env);

const times: number[] = [];
for (let i = 0; i < 3; i++) {
  const path = join(templates, "04-training.md");
  await Deno.writeTextFile(path, (await Deno.readTextFile(path)) + `\nEdit ${Date.now()}.\n`);
  const started = performance.now();
  const result = await runGraph(STAGES, ["render"], config, env);
  times.push((performance.now() - started) / 1000);
  const ran = result.statuses.filter((s) => s.status === "ran").map((s) => s.stage);
  if (ran.join() !== "render") throw new Error(`expected only render to rerun, got ${ran.join(", ")}`);
}
const best = Math.min(...times);
console.log(
  `template edit -> report: ${times.map((t) => t.toFixed(2)).join(" s, ")} s (best ${
    best.toFixed(2)
  } s, target <= ${TARGET_SECONDS} s)`,
);
console.log(best <= TARGET_SECONDS ? "PASS" : "FAIL");
console.log(`load average: ${Deno.loadavg().map((v) => v.toFixed(2)).join(" ")}`);
