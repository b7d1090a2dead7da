/**
 * The galaxy figure of Steps 1 and 2: one panel per class with the image, the class id, the
 * course's name for it, the GalaxyID and the probability. An SVG with the images inside, so the
 * file stands alone and the report embeds it without fetching anything.
 *
 * @module
 */
import { encodeBase64 } from "./_base64.ts";

export interface GalaxyPanel {
  jpeg: Uint8Array;
  /** First caption line (bold), e.g. `Class1.1 Smooth`. */
  title: string;
  /** Second caption line, e.g. `ID 100008 · p = 0.983`. */
  subtitle: string;
  /** `data-*` attributes of the panel, for tests and readers of the SVG. */
  data: Record<string, string | number>;
}

/** A Step-1/2 panel: the top galaxy of a class. */
export function classPanel(
  t: {
    classId: string;
    className: string;
    galaxyId: number;
    probability: number;
  },
  jpeg: Uint8Array,
): GalaxyPanel {
  return {
    jpeg,
    title: `${t.classId} ${t.className}`,
    subtitle: `ID ${t.galaxyId} · p = ${t.probability.toFixed(3)}`,
    data: { class: t.classId, galaxy: t.galaxyId },
  };
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Lays out `panels` in a grid of `columns`, `imageSize` pixels per image. */
export function galaxyGridSvg(
  panels: readonly GalaxyPanel[],
  opts: { columns?: number; imageSize?: number; title?: string } = {},
): string {
  const columns = opts.columns ?? 8;
  const image = opts.imageSize ?? 120;
  const pad = 6;
  const textHeight = 40;
  const cellW = image + 2 * pad;
  const cellH = image + textHeight + 2 * pad;
  const rows = Math.ceil(panels.length / columns);
  const width = columns * cellW;
  const height = rows * cellH;
  const cells = panels.map((p, i) => {
    const x = (i % columns) * cellW + pad;
    const y = Math.floor(i / columns) * cellH + pad;
    const href = `data:image/jpeg;base64,${encodeBase64(p.jpeg)}`;
    const attrs = Object.entries(p.data).map(([k, v]) => ` data-${k}="${escapeXml(String(v))}"`).join("");
    return [
      `<g class="panel"${attrs}>`,
      `<image x="${x}" y="${y}" width="${image}" height="${image}" href="${href}"/>`,
      `<text x="${x}" y="${y + image + 13}" class="t1">${escapeXml(p.title)}</text>`,
      `<text x="${x}" y="${y + image + 27}" class="t2">${escapeXml(p.subtitle)}</text>`,
      `</g>`,
    ].join("");
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img"${
      opts.title ? ` aria-label="${escapeXml(opts.title)}"` : ""
    }>`,
    `<style>text{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;fill:#222}.t1{font-size:10.5px;font-weight:600}.t2{font-size:9.5px;fill:#555}</style>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...cells,
    `</svg>`,
  ].join("\n");
}
