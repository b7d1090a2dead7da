/**
 * Renders the report: each step's template filled from the report model, through markdown-it,
 * into the document frame with the stylesheet inlined. The result is one HTML file that needs
 * nothing else: images are data URIs, charts inline SVG, math MathML.
 *
 * @module
 */
import { join } from "node:path";
import { fillTemplate } from "./template.ts";
import { createMarkdown, tableOfContents } from "./markdown.ts";
import type { ReportModel } from "./model.ts";
import { numberFigures } from "./format.ts";

/** The step templates in report order; the frame and stylesheet wrap them. */
export const SECTION_TEMPLATES = [
  "01-data.md",
  "02-preprocessing.md",
  "03-model.md",
  "04-training.md",
  "05-evaluation.md",
  "06-modified.md",
  "07-appendix.md",
];

/** Renders the whole report from the templates in `templatesDir`. */
export async function renderHtml(model: ReportModel, templatesDir: string): Promise<string> {
  const md = createMarkdown();
  const sections: string[] = [];
  for (const name of SECTION_TEMPLATES) {
    const source = await Deno.readTextFile(join(templatesDir, name));
    sections.push(md.render(fillTemplate(source, model, name)));
  }
  const body = numberFigures(sections.join("\n"));
  const frame = await Deno.readTextFile(join(templatesDir, "frame.html"));
  const css = await Deno.readTextFile(join(templatesDir, "report.css"));
  return fillTemplate(frame, {
    vars: { ...model.vars, title: model.title, css },
    blocks: { ...model.blocks, toc: tableOfContents(body), body },
  }, "frame.html");
}
