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
import { centerCropResize, encodeJpeg, imageVersions, mapConcurrent } from "../lib/images/preprocess.ts";
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

    // Pixels go straight to their slot in the packed file, so memory stays flat at 61,578 images.
    const bytesPerImage = p.size * p.size * 3;
    const packedTmp = join(ctx.dir, PACKED_IMAGES + ".tmp");
    using packed = await Deno.open(packedTmp, {
      write: true,
      create: true,
      truncate: true,
    });
    const ok = new Uint8Array(source.ids.length);
    const problems: Problem[] = [];
    const bar = ctx.progress("preprocess", source.ids.length);
    let done = 0;
    const started = performance.now();
    // Failed images leave a hole that is squeezed out below, so slots follow the source order.
    let writeChain = Promise.resolve();
    await mapConcurrent(source.ids, 8, async (id, i) => {
      const file = join(imageDir, `${id}.jpg`);
      try {
        const { rgb } = await centerCropResize(file, p);
        const jpeg = await encodeJpeg(rgb, p.size, p.jpegQuality);
        await Deno.writeFile(join(outImages, `${id}.jpg`), jpeg);
        writeChain = writeChain.then(async () => {
          await packed.seek(i * bytesPerImage, Deno.SeekMode.Start);
          let written = 0;
          while (written < rgb.length) {
            written += await packed.write(rgb.subarray(written));
          }
        });
        await writeChain;
        ok[i] = 1;
      } catch (error) {
        problems.push({
          id: String(id),
          file,
          reason: `cannot be decoded: ${(error as Error).message}`,
        });
      }
      bar.update(++done);
    });
    bar.stop();
    const seconds = (performance.now() - started) / 1000;
    if (problems.length > 0 && !p.skipBad) {
      throw new Error(
        `${
          summarizeProblems(imageDir, problems)
        }\nFix or remove them, or pass --skip-bad to leave these galaxies out (the report lists each one).`,
      );
    }
    packed.close();
    const keptRows = source.ids.map((_, i) => i).filter((i) => ok[i]);
    if (keptRows.length < source.ids.length) {
      await compactPacked(packedTmp, keptRows, bytesPerImage);
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
    };
  },
});

/** Moves the kept images' slots together, in order, dropping the holes of failed ones. */
async function compactPacked(
  path: string,
  keptRows: number[],
  bytesPerImage: number,
): Promise<void> {
  using file = await Deno.open(path, { read: true, write: true });
  const buffer = new Uint8Array(bytesPerImage);
  for (let slot = 0; slot < keptRows.length; slot++) {
    if (keptRows[slot] === slot) continue;
    await file.seek(keptRows[slot] * bytesPerImage, Deno.SeekMode.Start);
    let read = 0;
    while (read < bytesPerImage) {
      read += (await file.read(buffer.subarray(read))) ?? bytesPerImage;
    }
    await file.seek(slot * bytesPerImage, Deno.SeekMode.Start);
    let written = 0;
    while (written < bytesPerImage) {
      written += await file.write(buffer.subarray(written));
    }
  }
  await file.truncate(keptRows.length * bytesPerImage);
}
