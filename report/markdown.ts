/**
 * The report's markdown-it, built once per render: heading anchors, a table of contents built
 * from the headings, and TeX math rendered at build time by KaTeX to MathML (no fonts, styles
 * or scripts needed to view it).
 *
 * @module
 */
// @ts-types="@types/markdown-it"
import MarkdownIt, { type StateBlock, type StateInline, type Token } from "markdown-it";
import anchor from "markdown-it-anchor";
import katex from "katex";

function renderMath(tex: string, displayMode: boolean): string {
  return katex.renderToString(tex, {
    displayMode,
    output: "mathml",
    throwOnError: true,
  });
}

/** `$...$` inline and `$$ ... $$` blocks (on their own lines). */
function mathPlugin(md: MarkdownIt): void {
  md.inline.ruler.after(
    "escape",
    "math_inline",
    (state: StateInline, silent: boolean) => {
      if (
        state.src[state.pos] !== "$" || state.src[state.pos + 1] === "$"
      ) return false;
      const end = state.src.indexOf("$", state.pos + 1);
      if (end < 0 || end === state.pos + 1) return false;
      if (!silent) {
        const token = state.push("math_inline", "math", 0);
        token.content = state.src.slice(state.pos + 1, end);
        token.markup = "$";
      }
      state.pos = end + 1;
      return true;
    },
  );
  md.block.ruler.before(
    "fence",
    "math_block",
    (state: StateBlock, start: number, end: number, silent: boolean) => {
      const first = state.src.slice(
        state.bMarks[start] + state.tShift[start],
        state.eMarks[start],
      );
      if (!first.startsWith("$$")) return false;
      let line = start;
      let content = first.slice(2);
      let closed = content.trimEnd().endsWith("$$");
      if (closed) content = content.trimEnd().slice(0, -2);
      while (!closed && ++line < end) {
        const text = state.src.slice(
          state.bMarks[line] + state.tShift[line],
          state.eMarks[line],
        );
        if (text.trimEnd().endsWith("$$")) {
          content += "\n" + text.trimEnd().slice(0, -2);
          closed = true;
        } else content += "\n" + text;
      }
      if (!closed) return false;
      if (silent) return true;
      const token = state.push("math_block", "math", 0);
      token.block = true;
      token.content = content;
      token.map = [start, line + 1];
      state.line = line + 1;
      return true;
    },
    { alt: ["paragraph"] },
  );
  md.renderer.rules.math_inline = (tokens: Token[], i: number) => renderMath(tokens[i].content, false);
  md.renderer.rules.math_block = (tokens: Token[], i: number) =>
    `<div class="math">${renderMath(tokens[i].content, true)}</div>\n`;
}

/** Heading slugs that stay stable across runs (the text, lowercased, dashed). */
export function slugify(text: string): string {
  return text.toLowerCase().replace(/<[^>]+>/g, "").replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/** A markdown-it with raw HTML allowed (figures and tables come in as HTML), anchors and math. */
export function createMarkdown(): MarkdownIt {
  const md = new MarkdownIt({ html: true, typographer: true });
  md.use(anchor, { slugify, level: [2, 3] });
  md.use(mathPlugin);
  return md;
}

/** A nested list of the h2/h3 headings of rendered HTML, linking to their anchors. */
export function tableOfContents(html: string): string {
  const items: string[] = [];
  let open = false;
  for (
    const match of html.matchAll(/<h([23]) id="([^"]+)"[^>]*>(.*?)<\/h\1>/g)
  ) {
    const [, level, id, text] = match;
    const label = text.replace(/<[^>]+>/g, "");
    if (level === "2") {
      if (open) items.push("</ul></li>");
      items.push(`<li><a href="#${id}">${label}</a><ul>`);
      open = true;
    } else items.push(`<li><a href="#${id}">${label}</a></li>`);
  }
  if (open) items.push("</ul></li>");
  return `<nav class="toc"><h2>Contents</h2><ul>${items.join("").replaceAll("<ul></ul>", "")}</ul></nav>`;
}
