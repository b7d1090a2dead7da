/**
 * Checks a printed report the way a reader would notice: a figure whose parts land on two pages.
 * Every text inside a figure must be on the page of that figure's caption (figures that share
 * texts, like the two 37-galaxy figures, are in different sections, pages apart).
 */

export function normalize(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function decodeEntities(text: string): string {
  return text.replace(/&#(\d+);/g, (_m, code) => String.fromCharCode(Number(code))).replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"');
}

/** The text of each PDF page (poppler's pdftotext), whitespace collapsed. */
export async function pdfPages(pdf: string): Promise<string[]> {
  const { stdout, success } = await new Deno.Command("pdftotext", { args: [pdf, "-"], stdout: "piped" })
    .output();
  if (!success) throw new Error(`pdftotext failed on ${pdf} (is poppler-utils installed?)`);
  return new TextDecoder().decode(stdout).split("\f").map(normalize).filter((p) => p.length > 0);
}

/** Problems found: figures split over pages, or missing from the PDF. Empty when all is well. */
export function splitFigures(html: string, pages: string[]): string[] {
  const problems: string[] = [];
  for (const [index, figure] of [...html.matchAll(/<figure[\s\S]*?<\/figure>/g)].entries()) {
    const n = index + 1;
    const captionPage = pages.findIndex((p) => p.includes(`Figure ${n}.`));
    if (captionPage < 0) {
      problems.push(`the caption of figure ${n} is not in the PDF`);
      continue;
    }
    // Texts drawn invisible (vega hides overlapping axis labels with opacity 0) aren't printed, and
    // rotated tick numbers come out of pdftotext in pieces: words are what we look for.
    const texts = [...figure[0].matchAll(/<text([^>]*)>([^<]{3,})<\/text>/g)]
      .filter((m) => !/opacity="0"/.test(m[1]) && /[a-z]/i.test(m[2]))
      .map((m) => normalize(decodeEntities(m[2])));
    if (texts.length === 0) problems.push(`figure ${n} has no text to find`);
    const away = texts.filter((t) => !pages[captionPage].includes(t));
    if (away.length > 0) {
      problems.push(
        `figure ${n} is split: ${away.length} of its texts (e.g. '${
          away[0]
        }') are not on its caption's page ${captionPage + 1}`,
      );
    }
  }
  return problems;
}
