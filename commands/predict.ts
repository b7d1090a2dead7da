/**
 * `deno task predict`: Kaggle-format predictions (`GalaxyID,Class1.1,...,Class11.6`) for a folder
 * of 424x424 JPEGs named by GalaxyID, with a model the pipeline trained (found in the cache), the
 * same preprocessing as training, and test-time averaging for the models trained with it.
 *
 * ```sh
 * deno task predict --model cnn --images data/images_test_rev1 --out out/submission.csv
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { CSV_HEADER, NUM_CLASSES } from "../lib/classes.ts";
import { loadModel } from "../lib/model/mod.ts";
import { predictBatch } from "../lib/train/predict.ts";
import { centerCropResize, mapConcurrent } from "../lib/images/preprocess.ts";
import { type Problem, summarizeProblems } from "../lib/data/kaggle.ts";
import { selectBackend } from "../lib/tf/backend.ts";
import { type BackendRequest, BACKENDS, UsageError } from "../pipeline/config.ts";
import { EXPERIMENT_NAMES } from "../lib/experiments.ts";
import { writeFileAtomic } from "../lib/files.ts";
import { defaultProgress } from "../pipeline/progress.ts";

const OPTIONS = {
  model: { type: "string", default: "cnn" },
  "model-dir": { type: "string" },
  images: { type: "string" },
  out: { type: "string", default: "out/predictions.csv" },
  cache: { type: "string", default: "cache" },
  backend: { type: "string", default: "auto" },
  "batch-size": { type: "string", default: "64" },
  "skip-bad": { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const;

const HELP = `Usage: deno task predict --images DIR [--model NAME] [--out FILE] [flags]

Writes Kaggle-format predictions for every <GalaxyID>.jpg in DIR.

  --images DIR       folder of 424x424 JPEGs named <GalaxyID>.jpg (required)
  --model NAME       a trained model from the cache: ${EXPERIMENT_NAMES.join(", ")} (default cnn)
  --model-dir DIR    or a saved model folder (model.json + weights.bin) instead of --model
  --out FILE         the CSV to write (default out/predictions.csv)
  --cache DIR        the pipeline's cache (default cache)
  --backend NAME     ${BACKENDS.join(", ")} (default auto)
  --batch-size N     images per batch (default 64)
  --skip-bad         predict the readable images and list the others, instead of stopping`;

/** A trained model in the cache: its folder and what training recorded about it. */
export interface ModelInfo {
  dir: string;
  experiment: string;
  title: string;
  tta: boolean;
  imageSize: number;
  crop: number;
  /** Where it came from, for the log. */
  origin: string;
}

/** Reads a saved model's metadata (written by the pipeline's experiments). */
export async function readModelInfo(dir: string, origin: string): Promise<ModelInfo> {
  let json: { userDefinedMetadata?: Record<string, unknown> };
  try {
    json = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
  } catch (error) {
    throw new UsageError(`No readable model in ${dir}: ${(error as Error).message}`);
  }
  const meta = json.userDefinedMetadata ?? {};
  if (typeof meta.imageSize !== "number" || typeof meta.crop !== "number") {
    throw new UsageError(
      `${
        join(dir, "model.json")
      } does not record its preprocessing (imageSize, crop); was it trained by this project?`,
    );
  }
  return {
    dir,
    experiment: String(meta.experiment ?? "?"),
    title: String(meta.title ?? meta.experiment ?? "?"),
    tta: meta.tta === true,
    imageSize: meta.imageSize,
    crop: meta.crop,
    origin,
  };
}

/** The newest committed model of experiment `name` in the cache (Step 4 for cnn, Step 6 otherwise). */
export async function findCachedModel(cacheDir: string, name: string): Promise<ModelInfo> {
  const stage = name === "cnn" ? "step4" : "step6";
  let best: { createdAt: string; dir: string; key: string } | null = null;
  try {
    for await (const entry of Deno.readDir(join(cacheDir, stage))) {
      if (!entry.isDirectory || entry.name.startsWith(".")) continue;
      const entryDir = join(cacheDir, stage, entry.name);
      try {
        const manifest = JSON.parse(await Deno.readTextFile(join(entryDir, "manifest.json")));
        await Deno.stat(join(entryDir, name, "model", "model.json"));
        if (!best || manifest.createdAt > best.createdAt) {
          best = { createdAt: manifest.createdAt, dir: join(entryDir, name, "model"), key: manifest.key };
        }
      } catch { /* not a complete entry with this model */ }
    }
  } catch { /* no such stage folder */ }
  if (!best) {
    throw new UsageError(
      `No trained '${name}' model in ${cacheDir}/${stage}. Train it first: ` +
        (name === "cnn" ? "deno task step4" : `deno task step6 --experiments ${name}`),
    );
  }
  return await readModelInfo(best.dir, `${stage} entry ${best.key.slice(0, 10)}, trained ${best.createdAt}`);
}

/** Image files of a folder, sorted by GalaxyID; names that aren't `<GalaxyID>.jpg` are problems. */
export async function listGalaxyImages(
  dir: string,
): Promise<{ images: { id: number; file: string }[]; problems: Problem[] }> {
  const images: { id: number; file: string }[] = [];
  const problems: Problem[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || entry.name.startsWith(".")) continue;
      const match = /^(\d+)\.jpe?g$/i.exec(entry.name);
      if (match) images.push({ id: Number(match[1]), file: join(dir, entry.name) });
      else problems.push({ file: join(dir, entry.name), reason: "not a JPEG named <GalaxyID>.jpg" });
    }
  } catch (error) {
    throw new UsageError(`--images ${dir}: ${(error as Error).message}`);
  }
  images.sort((a, b) => a.id - b.id);
  return { images, problems };
}

/** One CSV row: the id and 37 values clipped to [0, 1] with 6 decimals. */
function csvRow(id: number, values: ArrayLike<number>): string {
  const cells = Array.from(values, (v) => Math.min(1, Math.max(0, v)).toFixed(6));
  return `${id},${cells.join(",")}`;
}

function parseOptions(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const valid = Object.keys(OPTIONS).map((o) => `--${o}`).join(", ");
    throw new UsageError(`${(error as Error).message.split(".")[0]}. Valid flags: ${valid}`);
  }
}

/** Runs the command; returns the exit code. */
export async function predictCommand(args: string[], log: (line: string) => void): Promise<number> {
  const options = parseOptions(args);
  if (options.help) {
    console.log(HELP);
    return 0;
  }
  if (!options.images) throw new UsageError("--images DIR is required (a folder of <GalaxyID>.jpg files)");
  if (!EXPERIMENT_NAMES.includes(options.model as never)) {
    throw new UsageError(`--model must be one of ${EXPERIMENT_NAMES.join(", ")}, got '${options.model}'`);
  }
  if (!(BACKENDS as readonly string[]).includes(options.backend)) {
    throw new UsageError(`--backend must be one of ${BACKENDS.join(", ")}, got '${options.backend}'`);
  }
  const batchSize = Number(options["batch-size"]);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new UsageError(`--batch-size must be a positive integer, got '${options["batch-size"]}'`);
  }

  const { images, problems } = await listGalaxyImages(options.images);
  if (problems.length > 0 && !options["skip-bad"]) {
    throw new UsageError(
      `${
        summarizeProblems(options.images, problems)
      }\nRemove them, or pass --skip-bad to predict the others.`,
    );
  }
  const info = options["model-dir"]
    ? await readModelInfo(resolve(options["model-dir"]), options["model-dir"])
    : await findCachedModel(resolve(options.cache), options.model);
  log(
    `model: ${info.title} (${info.origin}); crop ${info.crop} -> ${info.imageSize}x${info.imageSize}${
      info.tta ? ", 8-way test-time averaging" : ""
    }`,
  );
  const backend = await selectBackend(options.backend as BackendRequest, log);
  log(`backend: ${backend.name} (${backend.reason})`);
  const model = await loadModel(info.dir);

  const rows: string[] = [CSV_HEADER.join(",")];
  const bar = defaultProgress(log)("predict", images.length);
  const pixels = info.imageSize * info.imageSize * 3;
  try {
    for (let start = 0; start < images.length; start += batchSize) {
      const chunk = images.slice(start, start + batchSize);
      const decoded = await mapConcurrent(chunk, 8, async (image) => {
        try {
          return (await centerCropResize(image.file, { crop: info.crop, size: info.imageSize })).rgb;
        } catch (error) {
          problems.push({
            id: String(image.id),
            file: image.file,
            reason: `cannot be decoded: ${(error as Error).message}`,
          });
          return null;
        }
      });
      const good = chunk.filter((_, i) => decoded[i] !== null);
      if (good.length > 0) {
        const batch = new Float32Array(good.length * pixels);
        let offset = 0;
        for (const rgb of decoded) {
          if (!rgb) continue;
          for (let i = 0; i < pixels; i++) batch[offset + i] = rgb[i] / 255;
          offset += pixels;
        }
        const x = tf.tensor4d(batch, [good.length, info.imageSize, info.imageSize, 3]);
        const y = predictBatch(model, x, info.tta);
        const values = await y.data();
        tf.dispose([x, y]);
        good.forEach((image, i) =>
          rows.push(csvRow(image.id, values.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES)))
        );
      }
      bar.update(Math.min(images.length, start + batchSize));
    }
  } finally {
    bar.stop();
    model.dispose();
  }
  const unreadable = problems.filter((p) => p.reason.startsWith("cannot be decoded"));
  if (unreadable.length > 0 && !options["skip-bad"]) {
    throw new UsageError(
      `${
        summarizeProblems(options.images, unreadable)
      }\nRemove them, or pass --skip-bad to predict the others.`,
    );
  }
  await Deno.mkdir(resolve(options.out, ".."), { recursive: true });
  await writeFileAtomic(options.out, rows.join("\n") + "\n");
  log(`wrote ${options.out}: ${rows.length - 1} galaxies`);
  if (problems.length > 0) log(summarizeProblems("skipped (--skip-bad)", problems, 50));
  return 0;
}
