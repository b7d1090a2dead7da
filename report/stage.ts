/**
 * The rendering stage: reads every step's cached files, fills the templates and writes
 * `report.html` (and `report.pdf` with --pdf) into its cache folder. Its key covers the templates'
 * content, so editing only a template re-renders only.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { defineStage } from "../pipeline/stage.ts";
import { hashFile, hashJson } from "../pipeline/hash.ts";
import { buildReportModel, type ReportInputs } from "./model.ts";
import { renderHtml } from "./html.ts";
import { printPdf } from "./pdf.ts";

export interface RenderParams {
  pdf: boolean;
  templates: string;
}

export interface RenderResult {
  files: string[];
  summary: Record<string, unknown>;
}

/** The folder of templates shipped with the project. */
export const TEMPLATES_DIR = resolve(import.meta.dirname!, "..", "templates");

async function hashTemplates(dir: string): Promise<string> {
  const entries: [string, string][] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) entries.push([entry.name, await hashFile(join(dir, entry.name))]);
  }
  return hashJson(entries.sort(([a], [b]) => a.localeCompare(b)));
}

export default defineStage<RenderParams, RenderResult>({
  name: "render",
  title: "Rendering the report",
  module: import.meta.url,
  deps: ["data", "step1", "step2", "step3", "step4", "step5", "step6"],
  // The templates folder is an input, not a parameter: tests point it elsewhere.
  params: (c) => ({ pdf: c.pdf, templates: c.templates ? resolve(c.templates) : "" }),
  fingerprint: (p) => hashTemplates(p.templates || TEMPLATES_DIR),
  async run(ctx) {
    const inputs = Object.fromEntries(
      this.deps.map((name) => [name, ctx.input(name)]),
    ) as unknown as ReportInputs;
    const model = await buildReportModel(inputs, {
      runId: ctx.runId,
      renderedAt: new Date(),
      pdf: ctx.params.pdf,
    });
    const html = await renderHtml(model, ctx.params.templates || TEMPLATES_DIR);
    await Deno.writeTextFile(join(ctx.dir, "report.html"), html);
    const files = ["report.html"];
    if (ctx.params.pdf) {
      await printPdf(join(ctx.dir, "report.html"), join(ctx.dir, "report.pdf"), ctx.dir);
      files.push("report.pdf");
    }
    await Deno.writeTextFile(join(ctx.dir, "summary.json"), JSON.stringify(model.summary, null, 1));
    return { files, summary: model.summary };
  },
});
