/**
 * Galaxy figures: a grid of panels, each an image with a few caption lines (class, name,
 * GalaxyID and probability in Steps 1 and 2; errors and answers in Step 5). An SVG with the
 * images inside, so the file stands alone and the report embeds it without fetching anything.
 *
 * @module
 */
import { encodeBase64 } from "./_base64.ts";

export interface GalaxyPanel {
  jpeg: Uint8Array;
  /** Caption lines under the image; the first is bold. */
  lines: string[];
  /** `data-*` attributes of the panel, for tests and readers of the SVG. */
  data: Record<string, string | number>;
}

/** A Step-1/2 panel: the top galaxy of a class. */
export function classPanel(
  t: { classId: string; className: string; galaxyId: number; probability: number },
  jpeg: Uint8Array,
): GalaxyPanel {
  return {
    jpeg,
    lines: [t.classId, t.className, `ID ${t.galaxyId} · p = ${t.probability.toFixed(3)}`],
    data: { class: t.classId, galaxy: t.galaxyId },
  };
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const FONT_SIZE = 10;
const LINE_HEIGHT = 12.5;
/** Average advance of DejaVu Sans per em; lines estimated wider than the image are squeezed. */
const EM_WIDTH = 0.58;

/** Lays out `panels` in a grid of `columns`, `imageSize` pixels per image. */
export function galaxyGridSvg(
  panels: readonly GalaxyPanel[],
  opts: { columns?: number; imageSize?: number; title?: string } = {},
): string {
  const columns = opts.columns ?? 8;
  const image = opts.imageSize ?? 128;
  const pad = 6;
  const lineCount = Math.max(0, ...panels.map((p) => p.lines.length));
  const cellW = image + 2 * pad;
  const cellH = image + lineCount * LINE_HEIGHT + 2 * pad + 4;
  const width = Math.min(columns, panels.length) * cellW;
  const height = Math.ceil(panels.length / columns) * cellH;
  const cells = panels.map((p, i) => {
    const x = (i % columns) * cellW + pad;
    const y = Math.floor(i / columns) * cellH + pad;
    const attrs = Object.entries(p.data).map(([k, v]) => ` data-${k}="${escapeXml(String(v))}"`).join("");
    const text = p.lines.map((line, l) => {
      const squeeze = line.length * FONT_SIZE * EM_WIDTH > image
        ? ` textLength="${image}" lengthAdjust="spacingAndGlyphs"`
        : "";
      return `<text x="${x}" y="${y + image + 12 + l * LINE_HEIGHT}"${squeeze}${
        l === 0 ? ' class="t1"' : ""
      }>${escapeXml(line)}</text>`;
    });
    return [
      `<g class="panel"${attrs}>`,
      `<image x="${x}" y="${y}" width="${image}" height="${image}" href="data:image/jpeg;base64,${
        encodeBase64(p.jpeg)
      }"/>`,
      ...text,
      `</g>`,
    ].join("");
  });
  const label = opts.title ? ` aria-label="${escapeXml(opts.title)}"` : "";
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img"${label}>`,
    `<style>text{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;font-size:${FONT_SIZE}px;fill:#444}.t1{font-weight:700;fill:#222}</style>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...cells,
    `</svg>`,
  ].join("\n");
}
