/**
 * Stage `data`: finds the galaxies. A Kaggle-layout folder is validated in place (labels parsed,
 * every image present); with no Kaggle CSV in the data folder, a synthetic Galaxy Zoo is
 * generated into this stage's cache folder in the same layout, so every later step runs the
 * same code on either.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { defineStage } from "../pipeline/stage.ts";
import { fingerprintFolder } from "../lib/data/fingerprint.ts";
import {
  DataError,
  hasKaggleData,
  LABELS_CSV,
  listNames,
  missingImages,
  parseLabels,
  type Problem,
  summarizeProblems,
  TRAINING_IMAGES,
} from "../lib/data/kaggle.ts";
import { generateSyntheticGalaxyZoo } from "../lib/synthetic/mod.ts";
import { writeLabelSet } from "../lib/data/label_set.ts";

/**
 * The synthetic set does not follow --seed: changing the seed to compare runs should change the
 * split, shuffling and initialisation, not the galaxies themselves.
 */
export const SYNTHETIC_SEED = 2014;
export const SYNTHETIC_DIR = "synthetic";

export type DataParams =
  | { source: "kaggle"; folder: string; limit: number | null; skipBad: boolean }
  | { source: "synthetic"; count: number; seed: number; skipBad: boolean };

/** What later stages and the report learn about the data. */
export interface DataResult {
  source: "kaggle" | "synthetic";
  /** Folder holding the CSV and image folder: absolute for Kaggle, relative to this stage's folder for synthetic. */
  root: string;
  rowsRead: number;
  count: number;
  excluded: Problem[];
  treeViolations: { question: number; count: number; worst: number }[];
}

/** Absolute folder of the Kaggle-layout data a `data` stage found or made. */
export function dataRoot(stageDir: string, result: DataResult): string {
  return result.source === "synthetic" ? join(stageDir, result.root) : result.root;
}

export default defineStage<DataParams, DataResult>({
  name: "data",
  title: "Data: Kaggle layout or synthetic Galaxy Zoo",
  module: import.meta.url,
  deps: [],
  params: (config) =>
    hasKaggleData(config.data)
      ? {
        source: "kaggle",
        folder: resolve(config.data),
        limit: config.limit,
        skipBad: config.skipBad,
      }
      : {
        source: "synthetic",
        count: Math.min(config.syntheticCount, config.limit ?? Infinity),
        seed: SYNTHETIC_SEED,
        skipBad: config.skipBad,
      },
  fingerprint: (params) =>
    params.source === "kaggle"
      ? fingerprintFolder(
        join(params.folder, LABELS_CSV),
        join(params.folder, TRAINING_IMAGES),
      )
      : Promise.resolve(null),
  async run(ctx) {
    const p = ctx.params;
    let root: string;
    if (p.source === "synthetic") {
      ctx.log(
        `No ${LABELS_CSV} in the data folder: generating a synthetic Galaxy Zoo of ${p.count} galaxies`,
      );
      root = join(ctx.dir, SYNTHETIC_DIR);
      const bar = ctx.progress("generate", p.count);
      await generateSyntheticGalaxyZoo({
        dir: root,
        count: p.count,
        seed: p.seed,
        onProgress: (done) => bar.update(done),
      });
      bar.stop();
    } else {
      root = p.folder;
    }
    const csvPath = join(root, LABELS_CSV);
    const table = parseLabels(
      await Deno.readTextFile(csvPath),
      csvPath,
      p.source === "kaggle" ? p.limit : null,
    );
    const imageDir = join(root, TRAINING_IMAGES);
    const missing = missingImages(
      table.ids,
      await listNames(imageDir),
      imageDir,
    );
    const problems = [...table.problems, ...missing];
    if (problems.length > 0 && !p.skipBad) {
      throw new DataError(
        `${summarizeProblems(`${csvPath} and ${imageDir}`, problems)}\n` +
          "Fix them, or pass --skip-bad to leave these galaxies out (the report lists each one).",
        problems,
      );
    }
    const missingIds = new Set(missing.map((m) => Number(m.id)));
    const kept = table.ids.map((id, i) => [id, i] as const).filter(([id]) => !missingIds.has(id));
    await writeLabelSet(
      ctx.dir,
      kept.map(([id]) => id),
      kept.map(([, i]) => i),
      table.labels,
    );
    if (problems.length > 0) {
      ctx.log(
        `--skip-bad: left out ${problems.length} galaxies (listed in the report)`,
      );
    }
    for (const v of table.treeViolations.filter((v) => v.count > 0)) {
      ctx.log(
        `note: ${v.count} rows where question ${v.question}'s answers don't sum to their parent (worst off by ${
          v.worst.toFixed(3)
        })`,
      );
    }
    return {
      source: p.source,
      root: p.source === "synthetic" ? SYNTHETIC_DIR : root,
      rowsRead: table.rowsRead,
      count: kept.length,
      excluded: problems,
      treeViolations: table.treeViolations,
    };
  },
});
