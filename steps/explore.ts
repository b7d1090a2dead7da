/**
 * Step 1, data exploration: the first rows of the label table, each class's distribution, and
 * one figure of the galaxy with the highest probability for each of the 37 classes.
 *
 * @module
 */
import { join } from "node:path";
import { defineStage } from "../pipeline/stage.ts";
import { readLabelSet } from "../lib/data/label_set.ts";
import {
  type ClassDistribution,
  classDistributions,
  type TopGalaxy,
  topGalaxyPerClass,
} from "../lib/data/explore.ts";
import { TRAINING_IMAGES } from "../lib/data/kaggle.ts";
import { imageVersions, mapConcurrent, thumbnail } from "../lib/images/preprocess.ts";
import { classPanel, galaxyGridSvg } from "../lib/figures/galaxy_grid.ts";
import { type DataResult, dataRoot } from "./data.ts";

export interface ExploreParams {
  firstRows: number;
  thumbnailSize: number;
}

export interface ExploreResult {
  count: number;
  firstRows: { galaxyId: number; values: number[] }[];
  top: TopGalaxy[];
  distributions: ClassDistribution[];
  /** The 37-panel figure, in this stage's folder. */
  figure: string;
}

export default defineStage<ExploreParams, ExploreResult>({
  name: "step1",
  title: "Step 1: data exploration",
  module: import.meta.url,
  deps: ["data"],
  params: () => ({ firstRows: 5, thumbnailSize: 160 }),
  versions: imageVersions,
  async run(ctx) {
    const data = ctx.input<DataResult>("data");
    const { ids, labels } = await readLabelSet(data.dir);
    if (ids.length === 0) throw new Error("no galaxies to explore");
    const imageDir = join(dataRoot(data.dir, data.result), TRAINING_IMAGES);
    const top = topGalaxyPerClass(ids, labels);
    const jpegs = await mapConcurrent(
      top,
      8,
      (t) =>
        thumbnail(
          join(imageDir, `${t.galaxyId}.jpg`),
          ctx.params.thumbnailSize,
        ),
    );
    const figure = "galaxies_by_class.svg";
    await Deno.writeTextFile(
      join(ctx.dir, figure),
      galaxyGridSvg(top.map((t, i) => classPanel(t, jpegs[i])), {
        title: "The galaxy with the highest probability for each class",
      }),
    );
    return {
      count: ids.length,
      firstRows: ids.slice(0, ctx.params.firstRows).map((galaxyId, i) => ({
        galaxyId,
        values: Array.from(labels.subarray(i * 37, (i + 1) * 37)),
      })),
      top,
      distributions: classDistributions(labels),
      figure,
    };
  },
});
