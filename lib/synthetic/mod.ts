/**
 * A seeded synthetic Galaxy Zoo: the embedded default dataset when no Kaggle download is present.
 * Each galaxy has a latent morphology (smooth, disk with bar/arms/bulge, edge-on, irregular,
 * star/artifact, plus odd features) that is both rendered into an SDSS-like JPEG and turned into
 * noisy, tree-consistent volunteer vote fractions, so a CNN can learn real morphology signals.
 *
 * Galaxy i depends only on (seed, i): runs are byte-identical for the same seed, and the first N
 * galaxies of a larger run equal a run of N.
 *
 * @example
 * ```ts ignore
 * const { csvPath } = await generateSyntheticGalaxyZoo({ dir: "data/synthetic", count: 2000, seed: 1 });
 * ```
 *
 * @module
 */

import sharp from "sharp";
import { join } from "node:path";
import { CSV_HEADER } from "../classes.ts";
import { Canvas } from "./_canvas.ts";
import { formatMicro, MICRO, simulateVotes } from "./_labels.ts";
import { FRAME, type Morphology, sampleMorphology } from "./_morphology.ts";
import { renderGalaxy } from "./_render.ts";
import { Rng } from "./_rng.ts";
import { writeFileAtomic } from "../files.ts";

export type { Morphology } from "./_morphology.ts";

export interface SyntheticOptions {
  /** Output folder, laid out like the Kaggle download. */
  dir: string;
  count: number;
  seed: number;
  /** GalaxyID of galaxy 0; galaxy i gets firstId + i. Default 100008, the first real ID. */
  firstId?: number;
  onProgress?: (done: number, total: number) => void;
  /** JPEG encodes in flight at once (sharp runs them on libuv threads). Default 4. */
  concurrency?: number;
}

export interface SyntheticResult {
  count: number;
  csvPath: string;
  imageDir: string;
}

export interface SyntheticGalaxy {
  morphology: Morphology;
  /** The 37 vote fractions in CLASS_COLUMNS order, exactly as written to the CSV. */
  labels: number[];
}

/** JPEG quality: Kaggle's images average ~14 KB; q80 on our noise lands close. */
const JPEG_QUALITY = 80;

/** Independent random streams per galaxy, so labels and pixels can change separately. */
const STREAM = { morphology: 1, votes: 2, pixels: 3 } as const;

/** Latent morphology and labels of galaxy `index` of the set seeded by `seed` (no rendering). */
export function sampleGalaxy(seed: number, index: number): SyntheticGalaxy {
  const { morphology, micro } = sampleLatent(seed, index);
  return { morphology, labels: Array.from(micro, (value) => value / MICRO) };
}

/**
 * Writes `count` galaxies as `dir/images_training_rev1/<GalaxyID>.jpg` (424x424 RGB) and then
 * `dir/training_solutions_rev1.csv`. Every file is written under a temporary name and renamed, so a
 * crash never leaves a truncated image or CSV under its final name.
 */
export async function generateSyntheticGalaxyZoo(opts: SyntheticOptions): Promise<SyntheticResult> {
  const { dir, count, seed, firstId = 100008, onProgress, concurrency = 4 } = opts;
  if (!Number.isInteger(count) || count < 0) {
    throw new Error(`Synthetic Galaxy Zoo: count must be a non-negative integer, got ${count}`);
  }
  if (!Number.isFinite(seed)) {
    throw new Error(`Synthetic Galaxy Zoo: seed must be a finite number, got ${seed}`);
  }
  if (!Number.isInteger(firstId) || firstId < 0) {
    throw new Error(`Synthetic Galaxy Zoo: firstId must be a non-negative integer, got ${firstId}`);
  }
  const imageDir = join(dir, "images_training_rev1");
  const csvPath = join(dir, "training_solutions_rev1.csv");
  await Deno.mkdir(imageDir, { recursive: true });

  const rows: string[] = [CSV_HEADER.join(",")];
  const canvas = new Canvas();
  const inFlight = new Set<Promise<void>>();
  let done = 0;
  for (let index = 0; index < count; index++) {
    const id = firstId + index;
    const { morphology, micro } = sampleLatent(seed, index);
    rows.push(`${id},${Array.from(micro, formatMicro).join(",")}`);
    // Rendering is synchronous JS; encoding and writing overlap with the next galaxy's render.
    const pixels = renderGalaxy(morphology, new Rng(seed, index, STREAM.pixels), canvas);
    const task = writeJpeg(pixels, join(imageDir, `${id}.jpg`)).then(() => {
      inFlight.delete(task);
      onProgress?.(++done, count);
    });
    inFlight.add(task);
    if (inFlight.size >= Math.max(1, concurrency)) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await writeFileAtomic(csvPath, new TextEncoder().encode(rows.join("\n") + "\n"));
  return { count, csvPath, imageDir };
}

function sampleLatent(seed: number, index: number): { morphology: Morphology; micro: Int32Array } {
  const morphology = sampleMorphology(new Rng(seed, index, STREAM.morphology));
  const micro = simulateVotes(morphology, new Rng(seed, index, STREAM.votes));
  return { morphology, micro };
}

async function writeJpeg(pixels: Uint8Array, path: string): Promise<void> {
  const jpeg = await sharp(pixels, { raw: { width: FRAME, height: FRAME, channels: 3 } })
    .jpeg({ quality: JPEG_QUALITY })
    .toBuffer();
  await writeFileAtomic(path, jpeg);
}
