/**
 * The one training loop every model goes through: Adam on the mean squared error, mini-batches
 * in a seeded order per epoch, optional seeded augmentation, and after each epoch the loss over
 * the whole train and test splits (inference mode) plus a checkpoint. Every random choice is a
 * function of (seed, epoch, step), so a run resumed from a checkpoint finishes with exactly the
 * weights and losses of an uninterrupted one.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { NUM_CLASSES } from "../classes.ts";
import { batches, checkDataset, type Dataset, epochOrder, fillBatch } from "../data/batches.ts";
import { isFastKernel, usesBlas } from "../tf/backend.ts";
import { Adam, type AdamState } from "./adam.ts";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import { mixSeed } from "./rng.ts";
import { ParallelTrainer } from "./_parallel.ts";
import { useTrainingFastPaths } from "./_fast_paths.ts";

/** One row of the training history. Epoch 0 is the untrained model. */
export interface EpochRecord {
  epoch: number;
  /** MSE over the whole train split, inference mode, after the epoch. */
  trainLoss: number;
  /** MSE over the whole test split, inference mode; null without test indices. */
  testLoss: number | null;
  /** Mean of the epoch's mini-batch losses weighted by batch size (training mode); null at epoch 0. */
  runningLoss: number | null;
  /** Wall-clock seconds of the epoch, evaluation included. */
  seconds: number;
  /** Training throughput of the epoch (optimisation steps only); null at epoch 0. */
  imagesPerSecond: number | null;
}

/** The result of {@link train}. */
export interface History {
  epochs: EpochRecord[];
}

/** Hooks into the loop; they may be async (the loop awaits them). */
export interface TrainCallbacks {
  onEpochStart?(epoch: number): void | Promise<void>;
  onBatchEnd?(
    epoch: number,
    batch: number,
    batches: number,
    loss: number,
    imagesPerSecond: number,
  ): void | Promise<void>;
  onEpochEnd?(record: EpochRecord): void | Promise<void>;
}

/** Everything {@link train} needs. */
export interface TrainOptions {
  model: tfl.LayersModel;
  data: { dataset: Dataset; trainIndices: ArrayLike<number>; testIndices: ArrayLike<number> };
  /** Total epochs; a resumed run continues up to this number. */
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /**
   * Training-time augmentation of a batch of `rows` [S, S, 3] images (pixels in [0, 1]), returning
   * new pixels of the same shape; `stepSeed` comes from (seed, epoch, step).
   */
  augment?: (x: Float32Array, rows: number, size: number, stepSeed: number) => Float32Array;
  /** Checkpoint after every epoch into `dir`, and resume from it when it exists. */
  checkpoint?: { dir: string };
  /**
   * Extra identity of the run recorded in the checkpoint (e.g. a hash of the experiment config);
   * resuming with a different value fails rather than mixing two runs.
   */
  runKey?: string;
  callbacks?: TrainCallbacks;
  /** Milliseconds clock for the timings (default `performance.now`). */
  clock?: () => number;
  /**
   * Data-parallel workers, each computing the gradients of a slice of every batch on its own core
   * (see `_parallel.ts`); 1 trains in this thread. Default: {@link defaultWorkers}. Only the wasm
   * and cpu backends run in workers. With BatchNorm the result depends on the count (per-shard
   * batch statistics), so it is part of the checkpoint's run identity.
   */
  workers?: number;
}

/**
 * The default worker count: one per core, at most 4 and at least 16 images per shard, on the
 * wasm and cpu backends (the others are multi-threaded or on a GPU already); otherwise 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultWorkers } from "./loop.ts";
 * assert.equal(defaultWorkers(64, "tensorflow"), 1);
 * assert.equal(defaultWorkers(8, "wasm"), 1);
 * ```
 */
export function defaultWorkers(batchSize: number, backend: string): number {
  if (backend !== "wasm" && backend !== "cpu") return 1;
  return Math.max(1, Math.min(navigator.hardwareConcurrency ?? 1, 4, Math.floor(batchSize / 16)));
}

/** Mean squared error of `model` over `indices` (inference mode, batched); null when empty. */
export function evaluateMse(
  model: tfl.LayersModel,
  dataset: Dataset,
  indices: ArrayLike<number>,
  batchSize: number,
): number | null {
  if (indices.length === 0) return null;
  let sum = 0;
  for (const { x, y } of batches(dataset, indices, batchSize)) {
    const sse = tf.tidy(() => tf.sum(tf.squaredDifference(model.predict(x) as tf.Tensor, y)));
    sum += sse.dataSync()[0];
    sse.dispose();
  }
  return sum / (indices.length * NUM_CLASSES);
}

/** Mixed into each step's seed for dropout masks, so they never repeat the augmentation's draws. */
const DROPOUT_STREAM = 0xd70;

/** A cheap fingerprint of an index list for the checkpoint's run identity. */
function indexHash(indices: ArrayLike<number>): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < indices.length; i++) h = Math.imul(h ^ indices[i], 0x01000193) >>> 0;
  return `${indices.length}:${h.toString(16)}`;
}

/**
 * Trains `model` in place and returns its history (epoch 0 = before training).
 *
 * BatchNorm runs in training mode during the steps (batch statistics, moving averages updated)
 * and in inference mode for the losses. Tensors are freed by the end of every step.
 */
export async function train(options: TrainOptions): Promise<History> {
  const { model, data, epochs, batchSize, learningRate, seed, augment, checkpoint, callbacks = {} } = options;
  const clock = options.clock ?? (() => performance.now());
  const { dataset, trainIndices, testIndices } = data;
  checkDataset(dataset);
  if (!Number.isInteger(epochs) || epochs < 0) {
    throw new Error(`epochs must be an integer >= 0, got ${epochs}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batchSize must be an integer >= 1, got ${batchSize}`);
  }
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  if (trainIndices.length === 0) throw new Error("train needs at least one training index");

  const backend = tf.getBackend();
  const workers = options.workers ?? defaultWorkers(batchSize, backend);
  if (!Number.isInteger(workers) || workers < 1) {
    throw new Error(`workers must be an integer >= 1, got ${workers}`);
  }
  if (workers > 1 && backend !== "wasm" && backend !== "cpu") {
    throw new Error(`workers: ${workers} needs the wasm or cpu backend, not '${backend}'`);
  }

  const run = {
    model: model.name,
    // Shapes only: auto-generated layer names differ between two builds of the same model.
    weights: model.weights.map((w) => w.shape.join("x")),
    batchSize,
    learningRate,
    seed,
    augment: augment !== undefined,
    train: indexHash(trainIndices),
    test: indexHash(testIndices),
    imageSize: dataset.size,
    runKey: options.runKey ?? null,
    workers,
  };
  const history: EpochRecord[] = [];
  let adamState: AdamState | null = null;
  if (checkpoint) {
    const saved = await readCheckpoint<EpochRecord>(checkpoint.dir);
    if (saved) {
      const mismatch = Object.keys(run).find((k) =>
        JSON.stringify((saved.run as Record<string, unknown>)?.[k] ?? null) !==
          JSON.stringify(run[k as keyof typeof run])
      );
      if (mismatch) {
        throw new Error(
          `Checkpoint in ${checkpoint.dir} belongs to another run (${mismatch} differs); ` +
            "delete it or train into another directory",
        );
      }
      if (saved.epoch > epochs) {
        throw new Error(
          `Checkpoint in ${checkpoint.dir} is at epoch ${saved.epoch}, past the requested ${epochs}`,
        );
      }
      if (saved.weights.length !== model.weights.length) {
        throw new Error(
          `Checkpoint in ${checkpoint.dir} holds ${saved.weights.length} weights, the model ${model.weights.length}`,
        );
      }
      tf.tidy(() =>
        model.weights.forEach((w, i) => w.write(tf.tensor(saved.weights[i].slice(), w.shape as number[])))
      );
      adamState = saved.adam;
      history.push(...saved.history);
    }
  }
  if (history.length > 0 && history[history.length - 1].epoch >= epochs) return { epochs: history };

  const engine = workers > 1
    ? await ParallelTrainer.start(model, {
      workers,
      backend: backend as "wasm" | "cpu",
      fastKernels: isFastKernel(tf.Conv2DBackpropFilter, backend),
      blas: usesBlas(backend),
      learningRate,
      adam: adamState,
      imageSize: dataset.size,
    })
    : new LocalTrainer(model, learningRate, adamState);
  try {
    if (history.length === 0) {
      const t0 = clock();
      const record: EpochRecord = {
        epoch: 0,
        trainLoss: (await engine.evaluate(dataset, trainIndices, batchSize))!,
        testLoss: await engine.evaluate(dataset, testIndices, batchSize),
        runningLoss: null,
        seconds: (clock() - t0) / 1000,
        imagesPerSecond: null,
      };
      history.push(record);
      await callbacks.onEpochEnd?.(record);
    }

    const steps = Math.ceil(trainIndices.length / batchSize);
    for (let epoch = history[history.length - 1].epoch + 1; epoch <= epochs; epoch++) {
      await callbacks.onEpochStart?.(epoch);
      const epochStart = clock();
      const order = epochOrder(trainIndices, seed, epoch);
      // The batch as float arrays, augmented with the step's seed: prepared while the workers
      // compute the previous step.
      const prepare = (step: number) => {
        const { x, y } = fillBatch(dataset, order.slice(step * batchSize, (step + 1) * batchSize));
        const rows = y.length / NUM_CLASSES;
        if (!augment) return { x, y, rows };
        return { x: augment(x, rows, dataset.size, mixSeed(seed, epoch, step)), y, rows };
      };
      let trainMs = 0;
      let lossSum = 0;
      let seen = 0;
      let next = prepare(0);
      let stepStart = clock();
      for (let step = 0; step < steps; step++) {
        const { x, y, rows } = next;
        const pending = engine.step(x, y, rows, mixSeed(seed, epoch, step, DROPOUT_STREAM));
        if (step + 1 < steps) next = prepare(step + 1);
        const loss = await pending;
        const now = clock();
        const ms = now - stepStart;
        trainMs += ms;
        lossSum += loss * rows;
        seen += rows;
        await callbacks.onBatchEnd?.(epoch, step, steps, loss, rows / Math.max(ms / 1000, 1e-9));
        stepStart = clock();
      }
      adamState = await engine.pull(model);
      const record: EpochRecord = {
        epoch,
        trainLoss: (await engine.evaluate(dataset, trainIndices, batchSize))!,
        testLoss: await engine.evaluate(dataset, testIndices, batchSize),
        runningLoss: lossSum / seen,
        seconds: (clock() - epochStart) / 1000,
        imagesPerSecond: seen / Math.max(trainMs / 1000, 1e-9),
      };
      history.push(record);
      if (checkpoint) {
        await writeCheckpoint(checkpoint.dir, {
          epoch,
          run,
          history,
          weights: model.weights.map((w) => (w.read().dataSync() as Float32Array).slice()),
          adam: adamState,
        });
      }
      await callbacks.onEpochEnd?.(record);
    }
    return { epochs: history };
  } finally {
    engine.dispose();
  }
}

/** Training in this thread: the same interface as {@link ParallelTrainer}. */
class LocalTrainer {
  readonly #model: tfl.LayersModel;
  readonly #variables: tf.Variable[];
  readonly #adam: Adam;
  readonly #restore: () => void;

  constructor(model: tfl.LayersModel, learningRate: number, state: AdamState | null) {
    this.#model = model;
    this.#variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.#adam = new Adam(this.#variables, { learningRate });
    if (state) this.#adam.setState(state);
    this.#restore = useTrainingFastPaths(model);
  }

  step(x: Float32Array, y: Float32Array, rows: number, dropoutSeed: number): Promise<number> {
    const size = Math.round(Math.sqrt(x.length / rows / 3));
    const lossTensor = tf.tidy(() => {
      const input = tf.tensor4d(x, [rows, size, size, 3]);
      const target = tf.tensor2d(y, [rows, NUM_CLASSES]);
      const { value, grads } = tf.variableGrads(() => {
        const pred = this.#model.apply(input, { training: true, dropoutSeed }) as tf.Tensor; // [B, 37]
        return tf.mean(tf.squaredDifference(pred, target));
      }, this.#variables);
      this.#adam.apply(this.#variables.map((v) => grads[v.name]));
      return value;
    });
    const loss = lossTensor.dataSync()[0];
    lossTensor.dispose();
    return Promise.resolve(loss);
  }

  evaluate(dataset: Dataset, indices: ArrayLike<number>, batchSize: number): Promise<number | null> {
    return Promise.resolve(evaluateMse(this.#model, dataset, indices, batchSize));
  }

  pull(): Promise<AdamState> {
    return Promise.resolve(this.#adam.getState());
  }

  dispose(): void {
    this.#restore();
    this.#adam.dispose();
  }
}
