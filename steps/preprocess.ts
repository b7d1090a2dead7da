/**
 * Step 2, preprocessing: centre crop 424 -> 212, resize to 64x64, save each image and a packed
 * file of all of them, the seeded 80/20 split by GalaxyID, and the Step-1 figure again from the
 * processed images. An image that can't be decoded stops the run here, before any training,
 * unless --skip-bad excludes it (and the report lists it).
 *
 * @module
 */
import { join } from "node:path";
import { defineStage } from "../pipeline/stage.ts";
import { readLabelSet, writeLabelSet } from "../lib/data/label_set.ts";
import { type Problem, summarizeProblems, TRAINING_IMAGES } from "../lib/data/kaggle.ts";
import { splitByGalaxyId } from "../lib/data/split.ts";
import { topGalaxyPerClass } from "../lib/data/explore.ts";
import { PACKED_IMAGES } from "../lib/data/packed.ts";
import {
  batchThreads,
  defaultPreprocessor,
  imageVersions,
  preprocessToPacked,
} from "../lib/images/preprocess.ts";
import { classPanel, galaxyGridSvg } from "../lib/figures/galaxy_grid.ts";
import { type DataResult, dataRoot } from "./data.ts";

export interface PreprocessParams {
  crop: number;
  size: number;
  testFraction: number;
  seed: number;
  batchSize: number;
  skipBad: boolean;
  jpegQuality: number;
}

export interface PreprocessResult {
  count: number;
  train: number;
  test: number;
  size: number;
  crop: number;
  batchSize: number;
  /** Batch shapes the loader yields: full batches and the last partial one. */
  batches: {
    trainBatches: number;
    testBatches: number;
    imageShape: number[];
    labelShape: number[];
    lastTrainBatch: number;
  };
  excluded: Problem[];
  figure: string;
  seconds: number;
  imagesPerSecond: number;
  /** The decoder that prepared the pixels, e.g. `libjpeg-turbo 2.1.5 (build 20230203)`. */
  decoder: string;
}

export default defineStage<PreprocessParams, PreprocessResult>({
  name: "step2",
  title: "Step 2: preprocessing, split and batches",
  module: import.meta.url,
  deps: ["data"],
  params: (c) => ({
    crop: c.crop,
    size: c.imageSize,
    testFraction: c.testFraction,
    seed: c.seed,
    batchSize: c.batchSize,
    skipBad: c.skipBad,
    jpegQuality: 90,
  }),
  versions: imageVersions,
  async run(ctx) {
    const p = ctx.params;
    const data = ctx.input<DataResult>("data");
    const source = await readLabelSet(data.dir);
    const imageDir = join(dataRoot(data.dir, data.result), TRAINING_IMAGES);
    const outImages = join(ctx.dir, "images");
    await Deno.mkdir(outImages, { recursive: true });

    // One image after another, in label order, straight into the packed file: memory stays flat
    // at 61,578 images, and the packed file's rows follow the labels (a failed image has no row).
    const packedTmp = join(ctx.dir, PACKED_IMAGES + ".tmp");
    const jobs = source.ids.map((id) => ({
      input: join(imageDir, `${id}.jpg`),
      output: join(outImages, `${id}.jpg`),
    }));
    const bar = ctx.progress("preprocess", jobs.length);
    const started = performance.now();
    // libjpeg-turbo on a worker per core where it loads, else sharp (imageVersions names which,
    // so the cache key changes with it); the same bytes with any number of threads.
    const preprocessor = defaultPreprocessor();
    if (preprocessor.fallbackReason) ctx.log(`step2: using sharp: ${preprocessor.fallbackReason}`);
    const { kept: keptRows, failed } = await preprocessToPacked(
      jobs,
      packedTmp,
      { ...p, ...batchThreads(preprocessor), preprocessor },
      (done) => bar.update(done),
    );
    bar.stop();
    const problems: Problem[] = failed.map((f) => ({
      id: String(source.ids[f.index]),
      file: jobs[f.index].input,
      reason: f.tooSmall ? f.error : `cannot be decoded: ${f.error}`,
    }));
    const seconds = (performance.now() - started) / 1000;
    if (problems.length > 0 && !p.skipBad) {
      throw new Error(
        `${
          summarizeProblems(imageDir, problems)
        }\nFix or remove them, or pass --skip-bad to leave these galaxies out (the report lists each one).`,
      );
    }
    await Deno.rename(packedTmp, join(ctx.dir, PACKED_IMAGES));
    const ids = keptRows.map((i) => source.ids[i]);
    await writeLabelSet(ctx.dir, ids, keptRows, source.labels);
    const split = splitByGalaxyId(ids, p.testFraction, p.seed);
    await Deno.writeTextFile(
      join(ctx.dir, "split.json"),
      JSON.stringify({
        ...split,
        trainIds: split.train.map((r) => ids[r]),
        testIds: split.test.map((r) => ids[r]),
      }),
    );

    const { labels } = await readLabelSet(ctx.dir);
    const top = topGalaxyPerClass(ids, labels);
    const jpegs = await Promise.all(
      top.map((t) => Deno.readFile(join(outImages, `${t.galaxyId}.jpg`))),
    );
    const figure = "galaxies_by_class_processed.svg";
    await Deno.writeTextFile(
      join(ctx.dir, figure),
      galaxyGridSvg(top.map((t, i) => classPanel(t, jpegs[i])), {
        title: "The same classes after preprocessing",
      }),
    );
    const trainCount = split.train.length;
    return {
      count: ids.length,
      train: trainCount,
      test: split.test.length,
      size: p.size,
      crop: p.crop,
      batchSize: p.batchSize,
      batches: {
        trainBatches: Math.ceil(trainCount / p.batchSize),
        testBatches: Math.ceil(split.test.length / p.batchSize),
        imageShape: [p.batchSize, p.size, p.size, 3],
        labelShape: [p.batchSize, 37],
        lastTrainBatch: trainCount % p.batchSize || p.batchSize,
      },
      excluded: [...data.result.excluded, ...problems],
      figure,
      seconds,
      imagesPerSecond: source.ids.length / seconds,
      decoder: preprocessor.decoder,
    };
  },
});
