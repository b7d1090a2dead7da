/**
 * Step 5, evaluation: the trained CNN's RMSE on the test and training splits against baselines
 * computed on the same split (all zeros, all ones, the training mean, the central-pixel
 * benchmark), the quoted Kaggle figures, the RMSE per question, predicted-against-true figures
 * and the best and worst predicted test galaxies.
 *
 * @module
 */
import { join } from "node:path";
import { defineStage } from "../pipeline/stage.ts";
import { loadPacked } from "../lib/data/packed.ts";
import { CLASS_COLUMNS, CLASS_NAMES, NUM_CLASSES, QUESTIONS } from "../lib/classes.ts";
import { centralPixelPrediction, constantPrediction, meanLabels, pickRows } from "../lib/eval/baselines.ts";
import {
  LEADERBOARD,
  type Placement,
  placeOnLeaderboard,
  QUOTED_CENTRAL_PIXEL_RMSE,
} from "../lib/eval/leaderboard.ts";
import { rmse, rmsePerQuestion } from "../lib/train/metrics.ts";
import { chartSvg, predictedVsTrueSpec } from "../lib/figures/charts.ts";
import { galaxyGridSvg } from "../lib/figures/galaxy_grid.ts";
import type { ExperimentResult } from "./_experiment.ts";

export interface EvaluateParams {
  /** Classes shown in the predicted-against-true figure. */
  keyClasses: string[];
  /** Galaxies in each of the best and worst figures. */
  extremes: number;
  centralPatch: number;
  colourLevels: number;
}

export interface Baseline {
  name: string;
  testRmse: number;
  /** How much lower the CNN's test RMSE is, in % of the baseline's. */
  improvement: number;
  perQuestionRmse: number[];
  note: string;
}

export interface EvaluateResult {
  cnn: { testRmse: number; trainRmse: number; perQuestionRmse: number[] };
  baselines: Baseline[];
  quotedCentralPixel: number;
  leaderboard: { entries: typeof LEADERBOARD; placement: Placement };
  testCount: number;
  trainCount: number;
  figures: { predictedVsTrue: string; best: string; worst: string };
}

export default defineStage<EvaluateParams, EvaluateResult>({
  name: "step5",
  title: "Step 5: evaluation against baselines and the leaderboard",
  module: import.meta.url,
  deps: ["step2", "step4"],
  params: () => ({
    keyClasses: ["Class1.1", "Class1.2", "Class2.1", "Class4.1"],
    extremes: 8,
    centralPatch: 10,
    colourLevels: 8,
  }),
  async run(ctx) {
    const step2 = ctx.input("step2");
    const step4 = ctx.input<ExperimentResult>("step4");
    const data = await loadPacked(step2.dir);
    const { train, test } = data.split;
    const truth = pickRows(data.labels, test);
    const bytes = await Deno.readFile(join(step4.dir, step4.result.files.testPredictions));
    const predicted = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    if (predicted.length !== truth.length) {
      throw new Error(
        `step4's test predictions hold ${predicted.length / NUM_CLASSES} galaxies, the split ${test.length}`,
      );
    }
    const cnnRmse = rmse(predicted, truth);
    const baseline = (name: string, prediction: Float32Array, note: string): Baseline => {
      const testRmse = rmse(prediction, truth);
      return {
        name,
        testRmse,
        improvement: 100 * (testRmse - cnnRmse) / testRmse,
        perQuestionRmse: rmsePerQuestion(prediction, truth),
        note,
      };
    };
    const central = centralPixelPrediction(
      data.images,
      data.size,
      data.labels,
      train,
      test,
      ctx.params.colourLevels,
    );
    const baselines = [
      baseline(
        "All zeros",
        constantPrediction(new Float32Array(NUM_CLASSES), test.length),
        "predicts 0 for every class",
      ),
      baseline(
        "All ones",
        constantPrediction(new Float32Array(NUM_CLASSES).fill(1), test.length),
        "predicts 1 for every class",
      ),
      baseline(
        "Training mean",
        constantPrediction(meanLabels(data.labels, train), test.length),
        "predicts the mean label vector of the training split",
      ),
      baseline(
        "Central pixel",
        central.predictions,
        `mean labels of the training galaxies whose central ${ctx.params.centralPatch}x${ctx.params.centralPatch} pixels have the same colour (${ctx.params.colourLevels} levels per channel, ${central.groups} colour groups)`,
      ),
    ];

    const keyColumns = ctx.params.keyClasses.map((id) => CLASS_COLUMNS.indexOf(id));
    const scatterRows = keyColumns.flatMap((c) =>
      test.map((_, i) => ({
        classId: `${CLASS_COLUMNS[c]} ${CLASS_NAMES[c]}`,
        truth: truth[i * NUM_CLASSES + c],
        predicted: predicted[i * NUM_CLASSES + c],
      }))
    );
    const figures = {
      predictedVsTrue: "predicted_vs_true.svg",
      best: "best_galaxies.svg",
      worst: "worst_galaxies.svg",
    };
    await Deno.writeTextFile(
      join(ctx.dir, figures.predictedVsTrue),
      await chartSvg(predictedVsTrueSpec(scatterRows, "Predicted against true vote fractions (test split)")),
    );

    const perGalaxy = test.map((row, i) => ({
      row,
      i,
      rmse: rmse(
        predicted.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES),
        truth.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES),
      ),
    })).sort((a, b) => a.rmse - b.rmse);
    const n = Math.min(ctx.params.extremes, Math.floor(perGalaxy.length / 2));
    const panels = async (items: typeof perGalaxy) =>
      await Promise.all(items.map(async ({ row, i, rmse }) => {
        const id = data.ids[row];
        const q1 = QUESTIONS[0].answers;
        const top = (values: Float32Array) =>
          q1.reduce((best, c) => values[i * NUM_CLASSES + c] > values[i * NUM_CLASSES + best] ? c : best);
        const t = top(truth);
        const p = top(predicted);
        return {
          jpeg: await Deno.readFile(join(step2.dir, "images", `${id}.jpg`)),
          lines: [
            `ID ${id} · RMSE ${rmse.toFixed(3)}`,
            `true: ${CLASS_NAMES[t]} ${truth[i * NUM_CLASSES + t].toFixed(2)}`,
            `predicted: ${CLASS_NAMES[p]} ${predicted[i * NUM_CLASSES + p].toFixed(2)}`,
          ],
          data: { galaxy: id, rmse: rmse.toFixed(4) },
        };
      }));
    const gridOptions = { columns: 4, imageSize: 150 };
    await Deno.writeTextFile(
      join(ctx.dir, figures.best),
      galaxyGridSvg(await panels(perGalaxy.slice(0, n)), {
        ...gridOptions,
        title: "Best predicted test galaxies",
      }),
    );
    await Deno.writeTextFile(
      join(ctx.dir, figures.worst),
      galaxyGridSvg(await panels(perGalaxy.slice(-n).reverse()), {
        ...gridOptions,
        title: "Worst predicted test galaxies",
      }),
    );

    return {
      cnn: {
        testRmse: cnnRmse,
        trainRmse: step4.result.trainRmse,
        perQuestionRmse: rmsePerQuestion(predicted, truth),
      },
      baselines,
      quotedCentralPixel: QUOTED_CENTRAL_PIXEL_RMSE,
      leaderboard: { entries: LEADERBOARD, placement: placeOnLeaderboard(cnnRmse) },
      testCount: test.length,
      trainCount: train.length,
      figures,
    };
  },
});
