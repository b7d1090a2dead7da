/// <reference lib="dom" />
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
import { predictCommand } from "../commands/predict.ts";
import { findChromium, launchChromium, printPdf } from "../report/pdf.ts";
import { pathToFileURL } from "node:url";
import { pdfPages, splitFigures } from "./_pdf_check.ts";
import { CSV_HEADER } from "../lib/classes.ts";

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
      "backend",
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

Deno.test("predict writes a Kaggle-format CSV for a folder of JPEGs with a cached model", async () => {
  const images = join(work, "predict-images");
  await Deno.mkdir(images);
  const source = join(first.outputs.get("data")!.dir, "synthetic", "images_training_rev1");
  const names = [...Deno.readDirSync(source)].map((e) => e.name).sort().slice(0, 5);
  for (const name of names) await Deno.copyFile(join(source, name), join(images, name));
  const out = join(work, "predictions.csv");
  const args = ["--images", images, "--out", out, "--cache", cache, "--backend", "wasm"];
  assert.equal(await predictCommand([...args, "--model", "winner"], () => {}), 0);
  const lines = (await Deno.readTextFile(out)).trim().split("\n");
  assert.equal(lines[0], CSV_HEADER.join(","));
  assert.equal(lines.length, 1 + names.length);
  for (const line of lines.slice(1)) {
    const cells = line.split(",");
    assert.equal(cells.length, 38);
    assert.ok(names.includes(`${cells[0]}.jpg`));
    assert.ok(cells.slice(1).every((c) => Number(c) >= 0 && Number(c) <= 1), line);
  }

  // A file that isn't a galaxy JPEG is named; --skip-bad predicts the rest.
  await Deno.writeTextFile(join(images, "notes.txt"), "hello");
  await Deno.writeTextFile(join(images, "123.jpg"), "not really a jpeg");
  await assert.rejects(predictCommand(args, () => {}), /notes\.txt: not a JPEG named <GalaxyID>\.jpg/);
  const logs: string[] = [];
  assert.equal(await predictCommand([...args, "--skip-bad"], (l) => logs.push(l)), 0);
  assert.equal((await Deno.readTextFile(out)).trim().split("\n").length, 1 + names.length);
  assert.match(logs.join("\n"), /123\.jpg: cannot be decoded/);
});

const chromium = findChromium();
if (!chromium) {
  console.warn("No Chromium found (apt-get install -y chromium): the browser and PDF checks are skipped");
}

Deno.test({
  name: "in headless Chromium every galaxy panel, chart and table is present and visible",
  ignore: chromium === null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const browser = await launchChromium(work);
    try {
      const page = await browser.browser.newPage();
      await page.setViewport({ width: 1200, height: 900 });
      await page.goto(pathToFileURL(join(reportDir, "report.html")).href, { waitUntil: "load" });
      const seen = await page.evaluate(async () => {
        const visible = (e: Element) => {
          const r = e.getBoundingClientRect();
          const style = getComputedStyle(e);
          return r.width > 10 && r.height > 10 && style.visibility !== "hidden" && style.display !== "none";
        };
        const decoded = async (image: SVGImageElement) => {
          const img = new Image();
          img.src = image.href.baseVal;
          try {
            await img.decode();
            return img.naturalWidth > 0;
          } catch {
            return false;
          }
        };
        const figures = [];
        for (const figure of document.querySelectorAll("figure")) {
          const images = [...figure.querySelectorAll("g.panel image")] as SVGImageElement[];
          const ok = await Promise.all(images.map(decoded));
          figures.push({
            id: figure.id,
            visible: visible(figure.querySelector("svg")!),
            panels: images.filter((image, i) => ok[i] && visible(image)).length,
            width: figure.querySelector("svg")!.getBoundingClientRect().width,
          });
        }
        const tables = [...document.querySelectorAll(".table-wrap")].map((t) => ({
          id: t.id,
          visible: visible(t),
          rows: t.querySelectorAll("tbody tr").length,
        }));
        return { figures, tables, pageWidth: document.documentElement.clientWidth };
      });
      const figure = (id: string) => seen.figures.find((f) => f.id === id)!;
      assert.equal(figure("fig-top-galaxies").panels, 37);
      assert.equal(figure("fig-top-processed").panels, 37);
      assert.ok(figure("fig-best").panels > 0 && figure("fig-worst").panels > 0);
      for (const f of seen.figures) {
        assert.ok(f.visible, `${f.id} is visible`);
        assert.ok(f.width <= seen.pageWidth, `${f.id} fits the page width`);
      }
      assert.ok(seen.figures.length >= 10, `${seen.figures.length} figures`);
      assert.ok(seen.tables.length >= 12, `${seen.tables.length} tables`);
      for (const t of seen.tables) {
        assert.ok(t.visible && t.rows > 0, `table ${t.id} is visible and has rows`);
      }

      // The PDF: pages, and no figure split across two pages: every text of a figure must be on
      // the page of its caption (figures with the same texts are in other sections, pages apart).
      const pdf = join(work, "report.pdf");
      await printPdf(join(reportDir, "report.html"), pdf, work);
      assert.ok((await pdfPages(pdf)).length > 5, "the PDF has pages");
      for (const problem of splitFigures(html, await pdfPages(pdf))) assert.fail(problem);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "cleanup",
  sanitizeResources: false,
  async fn() {
    await Deno.remove(work, { recursive: true });
  },
});
