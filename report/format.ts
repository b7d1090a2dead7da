/**
 * Small HTML builders for the report model: numbers, tables and figures. Everything is escaped
 * here so templates and the model never build markup by hand.
 *
 * @module
 */

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** `0.12345` -> `"0.1235"`. */
export const f4 = (x: number) => Number.isFinite(x) ? x.toFixed(4) : "–";
export const f5 = (x: number) => Number.isFinite(x) ? x.toFixed(5) : "–";
export const f1 = (x: number) => Number.isFinite(x) ? x.toFixed(1) : "–";
/** Thousands separators: `571225` -> `"571,225"`. */
export const int = (x: number) => Math.round(x).toLocaleString("en-US");
export const pct = (x: number) => `${x >= 0 ? "" : "−"}${Math.abs(x).toFixed(1)}%`;

export function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A cell: plain text (escaped) or `{ html }` for trusted markup. */
export type Cell = string | number | { html: string };

function cell(value: Cell, tag: "td" | "th"): string {
  const content = typeof value === "object" ? value.html : escapeHtml(String(value));
  const numeric = typeof value === "number" || (typeof value === "string" && /^[−-]?[\d,.]+%?$/.test(value));
  return `<${tag}${numeric ? ' class="num"' : ""}>${content}</${tag}>`;
}

/** A table with a caption; `id` lets tests and links find it. */
export function table(id: string, caption: string, headers: Cell[], rows: Cell[][]): string {
  return [
    `<div class="table-wrap" id="${id}">`,
    `<table>`,
    `<caption>${escapeHtml(caption)}</caption>`,
    `<thead><tr>${headers.map((h) => cell(h, "th")).join("")}</tr></thead>`,
    `<tbody>`,
    ...rows.map((r) => `<tr>${r.map((c) => cell(c, "td")).join("")}</tr>`),
    `</tbody></table></div>`,
  ].join("\n");
}

/** Stands for a figure's number until {@link numberFigures} numbers them in document order. */
const FIGURE_NUMBER = "<!--figure-number-->";

/**
 * A figure around inline SVG (or other trusted HTML) with a caption whose number
 * {@link numberFigures} fills in, in the order the figures appear, not the order they are made.
 */
export function figure(
  id: string,
  content: string,
  caption: string,
  kind: "chart" | "galaxies" = "chart",
): string {
  const svg = content.replace(/^<\?xml[^>]*>\s*/, "");
  return [
    `<figure class="figure ${kind}" id="${id}">`,
    svg,
    `<figcaption><strong>Figure ${FIGURE_NUMBER}.</strong> ${escapeHtml(caption)}</figcaption>`,
    `</figure>`,
  ].join("\n");
}

/**
 * Numbers the figures of a rendered document 1, 2, ... in the order they appear.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figure, numberFigures } from "./format.ts";
 * const [a, b] = [figure("a", "", "A"), figure("b", "", "B")];
 * assert.match(numberFigures(b + a), /Figure 1\.<\/strong> B[^]*Figure 2\.<\/strong> A/);
 * ```
 */
export function numberFigures(html: string): string {
  let n = 0;
  return html.replaceAll(FIGURE_NUMBER, () => String(++n));
}
