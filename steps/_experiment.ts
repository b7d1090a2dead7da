/**
 * One experiment, end to end, for Steps 4 and 6: build the named architecture, train it with the
 * one training loop (checkpointing into the stage's folder, so a killed run resumes), evaluate
 * it on both splits and save the model, the history, the test predictions and a loss curve.
 *
 * @module
 */
import { join } from "node:path";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { BackendInfo, StageContext } from "../pipeline/stage.ts";
import type { Config } from "../pipeline/config.ts";
import { buildModel, type ModelName, saveModel, summarize } from "../lib/model/mod.ts";
import { type History, train } from "../lib/train/loop.ts";
import { predict } from "../lib/train/predict.ts";
import { augmentDihedral, rmse, rmsePerQuestion } from "../lib/train/metrics.ts";
import type { PackedDataset } from "../lib/data/packed.ts";
import { pickRows } from "../lib/eval/baselines.ts";
import { type ExperimentName, EXPERIMENTS } from "../lib/experiments.ts";

/** Training settings shared by every experiment of a run. */
export interface TrainingParams {
  /** The centre crop Step 2 applied, recorded with the model so `predict` prepares images the same way. */
  crop: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Data-parallel workers on wasm/cpu; they change BatchNorm's batch statistics, so they're a param. */
  workers: number;
}

/** The training settings of a run, shared by Steps 4 and 6. */
export function trainingParams(c: Config): TrainingParams {
  return {
    crop: c.crop,
    epochs: c.epochs,
    batchSize: c.batchSize,
    learningRate: c.learningRate,
    seed: c.seed,
    workers: resolveWorkers(c.workers, c.batchSize),
  };
}

/** How many workers `--workers` means here: one per core (at most 4), at least 16 images each. */
export function resolveWorkers(requested: number | "auto", batchSize: number): number {
  if (requested !== "auto") return requested;
  return Math.max(1, Math.min(navigator.hardwareConcurrency ?? 1, 4, Math.floor(batchSize / 16)));
}

export interface ExperimentResult {
  name: ExperimentName;
  title: string;
  model: ModelName;
  augment: boolean;
  tta: boolean;
  why: string;
  trainableParams: number;
  totalParams: number;
  epochs: number;
  history: History;
  trainRmse: number;
  testRmse: number;
  perQuestionRmse: number[];
  trainSeconds: number;
  imagesPerSecond: number;
  backend: string;
  /** Which backend ran, why, and why the ones before it were skipped. */
  backendChoice: BackendInfo | null;
  /**
   * Files, relative to the stage folder. The loss curves are drawn by the report from the history,
   * so that editing a chart never retrains a model.
   */
  files: {
    model: string;
    history: string;
    testPredictions: string;
  };
}

/** Trains and evaluates experiment `name` into `ctx.dir/<name>/`. */
export async function runExperiment(
  ctx: StageContext<unknown>,
  name: ExperimentName,
  data: PackedDataset,
  params: TrainingParams,
): Promise<ExperimentResult> {
  const experiment = EXPERIMENTS[name];
  const dir = join(ctx.dir, name);
  await Deno.mkdir(dir, { recursive: true });
  const model = buildModel(experiment.model, {
    seed: params.seed,
    inputSize: data.size,
    ...("modelOptions" in experiment ? experiment.modelOptions : {}),
  } as never) as tfl.LayersModel;
  try {
    const summary = summarize(model);
    const trainBatches = Math.ceil(data.split.train.length / params.batchSize);
    let bar: ReturnType<StageContext<unknown>["progress"]> | null = null;
    let epochImages = 0, epochSeconds = 0;
    const started = performance.now();
    const history = await train({
      model,
      data: {
        dataset: data,
        trainIndices: data.split.train,
        testIndices: data.split.test,
      },
      epochs: params.epochs,
      batchSize: params.batchSize,
      learningRate: params.learningRate,
      seed: params.seed,
      augment: experiment.augment ? augmentDihedral : undefined,
      checkpoint: { dir: join(dir, "checkpoint") },
      workers: ctx.backend?.name === "wasm" || ctx.backend?.name === "cpu" ? params.workers : 1,
      runKey: name,
      callbacks: {
        onEpochStart(epoch) {
          bar = ctx.progress(
            `${name} epoch ${epoch}/${params.epochs}`,
            trainBatches,
          );
          epochImages = 0;
          epochSeconds = 0;
        },
        onBatchEnd(_epoch, batch, _batches, loss, imagesPerSecond) {
          // The epoch's rate so far: one batch's rate jumps about, and the last batch is short.
          const rows = Math.min(params.batchSize, data.split.train.length - batch * params.batchSize);
          epochImages += rows;
          epochSeconds += rows / imagesPerSecond;
          bar?.update(
            batch + 1,
            `loss ${loss.toFixed(4)}  ${(epochImages / epochSeconds).toFixed(0)} img/s`,
          );
        },
        onEpochEnd(record) {
          bar?.stop();
          bar = null;
          ctx.log(
            `${name} epoch ${record.epoch}: train MSE ${record.trainLoss.toFixed(5)}, test MSE ${
              record.testLoss?.toFixed(5)
            }` +
              (record.imagesPerSecond ? `, ${record.imagesPerSecond.toFixed(0)} img/s` : ""),
          );
        },
      },
    });
    const trainSeconds = (performance.now() - started) / 1000;
    const truthTrain = pickRows(data.labels, data.split.train);
    const truthTest = pickRows(data.labels, data.split.test);
    const predTrain = predict(model, data, data.split.train, {
      batchSize: params.batchSize,
      tta: experiment.tta,
    });
    const predTest = predict(model, data, data.split.test, {
      batchSize: params.batchSize,
      tta: experiment.tta,
    });

    await saveModel(model, join(dir, "model"), {
      experiment: name,
      title: experiment.title,
      tta: experiment.tta,
      imageSize: data.size,
      crop: params.crop,
    });
    const files = {
      model: `${name}/model`,
      history: `${name}/history.json`,
      testPredictions: `${name}/test_predictions.f32`,
    };
    await Deno.writeTextFile(
      join(ctx.dir, files.history),
      JSON.stringify(history, null, 1),
    );
    await Deno.writeFile(
      join(ctx.dir, files.testPredictions),
      new Uint8Array(predTest.buffer),
    );
    // The checkpoint only serves a resumed run; the finished model is saved above.
    await Deno.remove(join(dir, "checkpoint"), { recursive: true }).catch(
      () => {},
    );
    const trained = history.epochs.filter((e) => e.imagesPerSecond !== null);
    return {
      name,
      title: experiment.title,
      model: experiment.model,
      augment: experiment.augment,
      tta: experiment.tta,
      why: experiment.why,
      trainableParams: summary.trainableParams,
      totalParams: summary.totalParams,
      epochs: params.epochs,
      history,
      trainRmse: rmse(predTrain, truthTrain),
      testRmse: rmse(predTest, truthTest),
      perQuestionRmse: rmsePerQuestion(predTest, truthTest),
      trainSeconds,
      imagesPerSecond: trained.length
        ? trained.reduce((s, e) => s + e.imagesPerSecond!, 0) / trained.length
        : 0,
      backend: ctx.backend?.name ?? "?",
      backendChoice: ctx.backend,
      files,
    };
  } finally {
    model.dispose();
  }
}
