/**
 * Data-parallel training (`train({ workers })`): what "the same result as one worker" can be
 * guaranteed. Without BatchNorm the averaged shard gradients are the full-batch gradient, so the
 * losses match a single-thread run to float rounding; with BatchNorm each shard normalizes with its
 * own statistics (DDP without SyncBN), so they are close, not equal. Either way a run is
 * reproducible bit for bit, resumes exactly, keeps the replicas identical and leaks nothing.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { useBackend } from "../lib/tf/backend.ts";
import type { Dataset } from "../lib/data/batches.ts";
import { type History, train } from "../lib/train/loop.ts";
import { ParallelTrainer, shardSizes } from "../lib/train/_parallel.ts";
import { augmentDihedral } from "../lib/train/metrics.ts";
import { seededDropout } from "../lib/model/seeded_dropout.ts";

await useBackend("cpu", { fastKernels: true });

const SIZE = 8;

function toyDataset(count: number): Dataset {
  let state = 7;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pixels = SIZE * SIZE * 3;
  const images = new Uint8Array(count * pixels);
  const labels = new Float32Array(count * 37);
  for (let i = 0; i < count; i++) {
    const b = random();
    for (let p = 0; p < pixels; p++) images[i * pixels + p] = Math.round(255 * b * (0.5 + random()) / 1.5);
    for (let c = 0; c < 37; c++) labels[i * 37 + c] = c % 2 === 0 ? b : 1 - b;
  }
  return { images, labels, count, size: SIZE };
}

/**
 * Two convolutions (the first reads the input, stride 2 for the second), optional BatchNorm and
 * dropout before the dense layer.
 */
function toyModel(seed: number, batchNorm: boolean, dropout = 0): tfl.LayersModel {
  const input = tfl.input({ shape: [SIZE, SIZE, 3] });
  let x = tfl.layers.zeroPadding2d({ padding: 1 }).apply(input);
  x = tfl.layers.conv2d({
    filters: 4,
    kernelSize: 3,
    kernelInitializer: tfl.initializers.glorotUniform({ seed }),
  }).apply(x); // [B, 8, 8, 4]
  if (batchNorm) x = tfl.layers.batchNormalization({ momentum: 0.9 }).apply(x);
  x = tfl.layers.reLU().apply(x);
  x = tfl.layers.conv2d({
    filters: 6,
    kernelSize: 3,
    strides: 2,
    padding: "same",
    activation: "relu",
    kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }),
  }).apply(x); // [B, 4, 4, 6]
  x = tfl.layers.flatten().apply(x);
  if (dropout > 0) x = seededDropout({ name: "drop", rate: dropout }).apply(x);
  const y = tfl.layers.dense({
    units: 37,
    activation: "sigmoid",
    kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 2 }),
  }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ name: batchNorm ? "toy_bn" : "toy", inputs: input, outputs: y });
}

const dataset = toyDataset(44);
const data = {
  dataset,
  trainIndices: Array.from({ length: 36 }, (_, i) => i), // batches of 16, 16, 4
  testIndices: Array.from({ length: 8 }, (_, i) => 36 + i),
};
const curve = (h: History) => h.epochs.flatMap((e) => [e.trainLoss, e.testLoss!, e.runningLoss ?? 0]);
const weights = (model: tfl.LayersModel) => model.getWeights().map((t) => Float32Array.from(t.dataSync()));

async function run(
  workers: number,
  batchNorm: boolean,
  extra: Partial<Parameters<typeof train>[0]> = {},
  dropout = 0,
) {
  const model = toyModel(3, batchNorm, dropout);
  const history = await train({
    model,
    data,
    epochs: 2,
    batchSize: 16,
    learningRate: 0.01,
    seed: 3,
    workers,
    ...extra,
  });
  const w = weights(model);
  model.dispose();
  return { curve: curve(history), w };
}

function assertClose(a: number[], b: number[], tolerance: number, what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => {
    assert.ok(
      Math.abs(v - b[i]) <= tolerance * Math.max(1e-3, Math.abs(b[i])),
      `${what}[${i}]: ${v} vs ${b[i]}`,
    );
  });
}

Deno.test("shardSizes splits a batch into near-equal contiguous parts", () => {
  assert.deepEqual(shardSizes(64, 2), [32, 32]);
  assert.deepEqual(shardSizes(5, 2), [3, 2]);
  assert.deepEqual(shardSizes(1, 2), [1, 0]);
});

Deno.test("workers: without BatchNorm, 2 workers follow the single-thread loss curve to float rounding", async () => {
  const before = tf.memory().numTensors;
  const one = await run(1, false);
  const two = await run(2, false);
  assert.equal(tf.memory().numTensors, before, "tensors leaked on the main thread");
  assertClose(two.curve, one.curve, 1e-5, "loss");
  assertClose(two.w.flatMap((a) => [...a]), one.w.flatMap((a) => [...a]), 1e-3, "weight");
});

Deno.test("workers: with BatchNorm, resuming equals an uninterrupted run bit for bit, close to one thread", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const options = {
      data,
      batchSize: 16,
      learningRate: 0.01,
      seed: 3,
      workers: 2,
      augment: augmentDihedral,
      checkpoint: { dir },
    };
    const full = await run(2, true, { augment: augmentDihedral });
    const first = toyModel(3, true);
    await train({ ...options, model: first, epochs: 1 });
    first.dispose();
    const resumed = toyModel(3, true); // fresh weights and fresh workers: all from the checkpoint
    const rest = await train({ ...options, model: resumed, epochs: 2 });
    assert.deepEqual(curve(rest), full.curve);
    assert.deepEqual(weights(resumed), full.w);
    await assert.rejects(
      train({ ...options, workers: 1, model: resumed, epochs: 3 }),
      /belongs to another run \(workers differs\)/,
    );
    resumed.dispose();
    // Per-shard batch statistics: the same learning, not the same rounding.
    const one = await run(1, true, { augment: augmentDihedral });
    const trainLosses = (c: number[]) => [c[0], c[3], c[6]];
    assert.ok(full.curve[6] < full.curve[0] * 0.8, `${full.curve}`);
    assertClose(trainLosses(full.curve), trainLosses(one.curve), 0.05, "train loss");
    assertClose(full.curve, one.curve, 0.3, "loss");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workers: dropout masks are drawn per shard and step, the same on every rerun", async () => {
  const plain = await run(2, true);
  const a = await run(2, true, {}, 0.5);
  assert.notDeepEqual(a.curve, plain.curve);
  assert.deepEqual(await run(2, true, {}, 0.5), a);
});

Deno.test("workers: replicas keep identical weights; a worker's error reaches the caller", async () => {
  const model = toyModel(5, true);
  const trainer = await ParallelTrainer.start(model, {
    workers: 2,
    backend: "cpu",
    fastKernels: true,
    blas: false,
    learningRate: 0.01,
    adam: null,
    imageSize: SIZE,
  });
  try {
    const pixels = SIZE * SIZE * 3;
    for (const rows of [16, 3, 1]) {
      const x = Float32Array.from(dataset.images.subarray(0, rows * pixels), (v) => v / 255);
      const loss = await trainer.step(x, dataset.labels.slice(0, rows * 37), rows, rows);
      assert.ok(Number.isFinite(loss) && loss > 0);
    }
    const [w0, w1] = await trainer.replicaWeights();
    assert.deepEqual(w1, w0);
    await assert.rejects(trainer.step(new Float32Array(5), new Float32Array(37), 1, 0), /trainer worker 0: /);
  } finally {
    trainer.dispose();
    model.dispose();
  }
});
