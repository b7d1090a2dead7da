/**
 * Prints the HTML report to PDF with a headless Chromium found on the machine (puppeteer-core
 * never downloads a browser). Page breaks are left to the stylesheet's print rules, which keep
 * figures and tables whole.
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import puppeteer from "puppeteer-core";

/** Where Chromium usually lives; `CHROMIUM_PATH` wins. */
const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
];

/** The Chromium to use, or null when none is installed. */
export function findChromium(): string | null {
  const fromEnv = Deno.env.get("CHROMIUM_PATH");
  for (const path of fromEnv ? [fromEnv, ...CANDIDATES] : CANDIDATES) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not here */ }
  }
  return null;
}

/** Flags that keep Chromium off the network and quiet in a container. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** Starts a headless Chromium with a fresh profile inside `scratchDir`. */
export async function launchChromium(scratchDir: string) {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new Error(
      "No Chromium found for --pdf (looked in CHROMIUM_PATH and " + CANDIDATES.join(", ") +
        "). Install one (Debian: apt-get install -y chromium) or set CHROMIUM_PATH; the HTML report is written without it.",
    );
  }
  const userDataDir = await Deno.makeTempDir({ dir: scratchDir, prefix: ".chromium-profile-" });
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    userDataDir,
    args: CHROMIUM_ARGS,
    pipe: true,
  });
  return {
    browser,
    async close() {
      await browser.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Prints `htmlPath` to `pdfPath` (A4, backgrounds on). */
export async function printPdf(htmlPath: string, pdfPath: string, scratchDir: string): Promise<void> {
  const chromium = await launchChromium(scratchDir);
  try {
    const page = await chromium.browser.newPage();
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: "load" });
    await page.pdf({ path: pdfPath + ".tmp", format: "A4", printBackground: true, preferCSSPageSize: true });
    await Deno.rename(pdfPath + ".tmp", pdfPath);
  } finally {
    await chromium.close();
  }
}
