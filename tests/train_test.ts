import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import type { Dataset } from "../lib/data/batches.ts";
import { courseCnn } from "../lib/model/course_cnn.ts";
import { seededDropout } from "../lib/model/seeded_dropout.ts";
import { type History, train } from "../lib/train/loop.ts";
import { augmentDihedral, dihedral, dihedralChoices, rmse, rmsePerQuestion } from "../lib/train/metrics.ts";
import { predict } from "../lib/train/predict.ts";
import { runBatchNormFused, runFirstLayersUnfused } from "../lib/train/_fast_paths.ts";
import { restoreStockKernels, useBackend } from "../lib/tf/backend.ts";
import { BATCH_NORM_TRAINING } from "../lib/tf/kernels/batch_norm.ts";

await tf.setBackend("cpu");

const SIZE = 8;

/**
 * A learnable toy set: image i is a random texture whose brightness b_i sets every label
 * (column c is b_i for even c, 1 - b_i for odd c).
 */
function toyDataset(count: number, seed = 1): Dataset {
  let state = seed;
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
 * A small model with a conv, BatchNorm and dense layer: everything the loop must handle; with
 * `dropout`, step-seeded dropout before the dense layer (the same weights either way).
 */
function toyModel(seed: number, dropout = 0): tfl.LayersModel {
  const input = tfl.input({ shape: [SIZE, SIZE, 3] });
  let x = tfl.layers.conv2d({
    name: "conv",
    filters: 4,
    kernelSize: 3,
    kernelInitializer: tfl.initializers.glorotUniform({ seed }),
  }).apply(input); // [B, 6, 6, 4]
  x = tfl.layers.batchNormalization({ name: "bn", momentum: 0.9 }).apply(x);
  x = tfl.layers.reLU().apply(x);
  x = tfl.layers.flatten().apply(x); // [B, 144]
  if (dropout > 0) x = seededDropout({ name: "drop", rate: dropout }).apply(x);
  const y = tfl.layers.dense({
    units: 37,
    activation: "sigmoid",
    kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }),
  }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ name: "toy", inputs: input, outputs: y });
}

const dataset = toyDataset(40);
const data = {
  dataset,
  trainIndices: Array.from({ length: 32 }, (_, i) => i),
  testIndices: Array.from({ length: 8 }, (_, i) => 32 + i),
};
const losses = (h: History) =>
  h.epochs.map(({ epoch, trainLoss, testLoss, runningLoss }) => ({
    epoch,
    trainLoss,
    testLoss,
    runningLoss,
  }));
const weights = (model: tfl.LayersModel) => model.getWeights().map((t) => Array.from(t.dataSync()));

Deno.test("train: loss falls on a learnable toy set, BatchNorm statistics move, nothing leaks", async () => {
  const model = toyModel(1);
  const before = tf.memory().numTensors;
  const batchEnds: number[] = [];
  const history = await train({
    model,
    data,
    epochs: 5,
    batchSize: 8,
    learningRate: 0.01,
    seed: 1,
    callbacks: { onBatchEnd: (_e, batch, batches) => void batchEnds.push(batch * 10 + batches) },
  });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(history.epochs.map((e) => e.epoch), [0, 1, 2, 3, 4, 5]);
  const first = history.epochs[0];
  const last = history.epochs[5];
  assert.ok(last.trainLoss < first.trainLoss / 2, `train ${first.trainLoss} -> ${last.trainLoss}`);
  assert.ok(last.testLoss! < first.testLoss! / 2, `test ${first.testLoss} -> ${last.testLoss}`);
  assert.equal(first.runningLoss, null);
  assert.ok(last.runningLoss! > 0 && last.imagesPerSecond! > 0);
  assert.deepEqual(batchEnds.slice(0, 4), [4, 14, 24, 34]);
  const bn = model.getLayer("bn");
  const [movingMean, movingVariance] = bn.getWeights().slice(2).map((t) => Array.from(t.dataSync()));
  assert.ok(movingMean.every((v) => v !== 0), `moving mean ${movingMean}`);
  assert.ok(movingVariance.every((v) => v !== 1), `moving variance ${movingVariance}`);
  model.dispose();
});

Deno.test("train: the same seed gives identical losses and weights", async () => {
  const run = async () => {
    const model = toyModel(3);
    const history = await train({
      model,
      data,
      epochs: 2,
      batchSize: 8,
      learningRate: 0.01,
      seed: 3,
      augment: augmentDihedral,
    });
    const w = weights(model);
    model.dispose();
    return { losses: losses(history), w };
  };
  const a = await run();
  const b = await run();
  assert.deepEqual(b, a);
});

Deno.test("train: resuming from the epoch-1 checkpoint equals an uninterrupted run, bit for bit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const options = { data, batchSize: 8, learningRate: 0.01, seed: 5, augment: augmentDihedral };
    const straight = toyModel(5);
    const full = await train({ ...options, model: straight, epochs: 3 });

    const first = toyModel(5);
    await train({ ...options, model: first, epochs: 1, checkpoint: { dir } });
    first.dispose();
    const resumed = toyModel(5); // fresh weights: everything must come from the checkpoint
    const before = tf.memory().numTensors;
    const epochsRun: number[] = [];
    const rest = await train({
      ...options,
      model: resumed,
      epochs: 3,
      checkpoint: { dir },
      callbacks: { onEpochStart: (e) => void epochsRun.push(e) },
    });
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(epochsRun, [2, 3]);
    assert.deepEqual(losses(rest), losses(full));
    assert.deepEqual(weights(resumed), weights(straight));
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(files, ["checkpoint.json", "epoch-0003.bin"]);

    await assert.rejects(
      train({ ...options, learningRate: 0.02, model: resumed, epochs: 4, checkpoint: { dir } }),
      /belongs to another run \(learningRate differs\)/,
    );
    straight.dispose();
    resumed.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train with dropout: masks change every step, yet runs repeat and resume bit for bit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const options = { data, batchSize: 8, learningRate: 0.01, seed: 9, workers: 1 };
    const run = async (dropout: number, epochs: number, checkpoint?: { dir: string }) => {
      const model = toyModel(9, dropout);
      const history = await train({ ...options, model, epochs, checkpoint });
      const w = weights(model);
      model.dispose();
      return { losses: losses(history), w };
    };
    const plain = await run(0, 2);
    const a = await run(0.5, 2);
    assert.deepEqual(a.losses[0], plain.losses[0], "no dropout at inference: the same untrained model");
    assert.notEqual(a.losses[1].runningLoss, plain.losses[1].runningLoss, "dropout acts in training");
    assert.deepEqual(await run(0.5, 2), a, "same seed, same masks");
    await run(0.5, 1, { dir });
    assert.deepEqual(await run(0.5, 2, { dir }), a, "resumed from epoch 1");
    // The masks are a function of the step: a model applied twice with one seed drops the same
    // units, with another seed others.
    const model = toyModel(9, 0.5);
    const x = tf.randomUniform([4, SIZE, SIZE, 3], 0, 1, "float32", 8);
    const out = (dropoutSeed: number) =>
      Array.from((model.apply(x, { training: true, dropoutSeed }) as tf.Tensor).dataSync());
    assert.deepEqual(out(1), out(1));
    assert.notDeepEqual(out(1), out(2));
    assert.throws(() => model.apply(x, { training: true }), /needs an integer dropoutSeed/);
    tf.dispose(x);
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("predict with TTA is invariant to rotating and flipping the input", () => {
  const size = 16;
  const model = courseCnn({ seed: 4, inputSize: size });
  const pixels = size * size * 3;
  const images = new Uint8Array(8 * pixels);
  const original = tf.tidy(() =>
    tf.floor(tf.mul(tf.randomUniform([1, size, size, 3], 0, 1, "float32", 9), 256))
  );
  for (let k = 0; k < 8; k++) {
    const t = dihedral(original as tf.Tensor4D, k);
    images.set(Uint8Array.from(t.dataSync()), k * pixels);
    t.dispose();
  }
  original.dispose();
  const ds: Dataset = { images, labels: new Float32Array(8 * 37), count: 8, size };
  const indices = Array.from({ length: 8 }, (_, i) => i);
  const plain = predict(model, ds, indices, { batchSize: 3 });
  const tta = predict(model, ds, indices, { batchSize: 3, tta: true });
  const maxDiff = (p: Float32Array, k: number) =>
    Math.max(...Array.from({ length: 37 }, (_, c) => Math.abs(p[k * 37 + c] - p[c])));
  assert.ok(
    Math.max(...indices.slice(1).map((k) => maxDiff(plain, k))) > 1e-4,
    "the model is not itself invariant",
  );
  const before = tf.memory().numTensors;
  predict(model, ds, indices, { batchSize: 3, tta: true });
  assert.equal(tf.memory().numTensors, before);
  for (let k = 1; k < 8; k++) {
    assert.ok(maxDiff(tta, k) < 1e-6, `TTA prediction of transform ${k} differs by ${maxDiff(tta, k)}`);
  }
  model.dispose();
});

Deno.test("dihedral: 8 distinct transforms forming a group; augmentDihedral picks one per image", () => {
  const x = tf.tensor4d(Array.from({ length: 9 }, (_, i) => i), [1, 3, 3, 1]);
  const all = Array.from({ length: 8 }, (_, k) => {
    const t = dihedral(x, k);
    const values = Array.from(t.dataSync());
    t.dispose();
    return values.join(",");
  });
  assert.equal(new Set(all).size, 8);
  const once = dihedral(x, 1);
  const twice = dihedral(once, 1);
  assert.equal(Array.from(twice.dataSync()).join(","), all[2]);
  tf.dispose([x, once, twice]);
  // augmentDihedral on plain pixels: image i is exactly dihedral(image i, its drawn element).
  const size = 5, rows = 12;
  const pixels = Float32Array.from({ length: rows * size * size * 3 }, (_, i) => i);
  const augmented = augmentDihedral(pixels, rows, size, 12345);
  const ks = dihedralChoices(rows, 12345);
  assert.ok(new Set(ks).size > 4, `the draws vary: ${ks}`);
  const perImage = size * size * 3;
  ks.forEach((k, i) => {
    const image = tf.tensor4d(pixels.subarray(i * perImage, (i + 1) * perImage), [1, size, size, 3]);
    const expected = dihedral(image, k);
    assert.deepEqual(
      augmented.subarray(i * perImage, (i + 1) * perImage),
      expected.dataSync(),
      `image ${i}, k ${k}`,
    );
    tf.dispose([image, expected]);
  });
  assert.deepEqual(augmentDihedral(pixels, rows, size, 12345), augmented, "same seed, same batch");
  assert.throws(() => augmentDihedral(pixels, rows, size + 1, 12345), /is not 12 images of 6x6x3/);
});

Deno.test("rmse and rmsePerQuestion against a hand-worked example", () => {
  // Two galaxies. Row 0 is off by 0.6 on Class1.1 and 0.8 on Class2.1; row 1 is exact.
  const truth = new Float32Array(74).fill(0.25);
  const pred = truth.slice();
  pred[0] += 0.6;
  pred[3] -= 0.8;
  // MSE = (0.36 + 0.64) / 74.
  assert.ok(Math.abs(rmse(pred, truth) - Math.sqrt(1 / 74)) < 1e-7);
  const perQuestion = rmsePerQuestion(pred, truth);
  assert.equal(perQuestion.length, 11);
  assert.ok(Math.abs(perQuestion[0] - Math.sqrt(0.36 / 6)) < 1e-7); // Q1: 2 rows x 3 answers
  assert.ok(Math.abs(perQuestion[1] - Math.sqrt(0.64 / 4)) < 1e-7); // Q2: 2 rows x 2 answers
  assert.deepEqual(perQuestion.slice(2), new Array(9).fill(0));
  assert.equal(rmse([0.5, ...new Array(36).fill(0)], new Array(37).fill(0)), 0.5 / Math.sqrt(37));
  assert.throws(() => rmse(new Float32Array(37), new Float32Array(74)), /equal, non-empty/);
});

/** The MSE gradients of one training-mode step of `model`, and the kernels that step ran. */
async function profiledGradients(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor) {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let grads: Float32Array[] = [];
  const info = await tf.profile(() => {
    grads = tf.tidy(() => {
      const { value, grads: g } = tf.variableGrads(
        () => tf.mean(tf.squaredDifference(model.apply(x, { training: true }) as tf.Tensor, y)),
        variables,
      );
      value.dispose();
      return variables.map((v) => g[v.name].dataSync() as Float32Array);
    });
  });
  return { grads, kernels: info.kernels.map((k) => k.name) };
}

Deno.test("the input-reading convolution skips its useless input gradient, same gradients", async () => {
  const model = toyModel(2);
  const x = tf.randomUniform([4, SIZE, SIZE, 3], 0, 1, "float32", 1);
  const y = tf.randomUniform([4, 37], 0, 1, "float32", 2);
  const step = async () => {
    const { grads, kernels } = await profiledGradients(model, x, y);
    return { grads, inputGrads: kernels.filter((k) => k === tf.Conv2DBackpropInput).length };
  };
  const fused = await step();
  assert.equal(fused.inputGrads, 1, "tfjs-layers' fused conv computes the input gradient");
  const undo = runFirstLayersUnfused(model);
  const unfused = await step();
  assert.equal(unfused.inputGrads, 0);
  unfused.grads.forEach((g, i) =>
    g.forEach((v, j) =>
      assert.ok(Math.abs(v - fused.grads[i][j]) <= 1e-5 * (1 + Math.abs(fused.grads[i][j])))
    )
  );
  undo();
  assert.equal((await step()).inputGrads, 1, "undone");
  tf.dispose([x, y]);
  model.dispose();
});

Deno.test("BatchNorm through our training kernel: same gradients and moving statistics", async () => {
  await useBackend("cpu", { fastKernels: true, blas: false });
  try {
    const x = tf.randomUniform([6, SIZE, SIZE, 3], 0, 1, "float32", 3);
    const y = tf.randomUniform([6, 37], 0, 1, "float32", 4);
    const run = async (fused: boolean) => {
      const model = toyModel(5);
      const initial = weights(model);
      const undo = fused ? runBatchNormFused(model) : () => {};
      const profiled = await profiledGradients(model, x, y);
      const grads = profiled.grads, kernels = new Set(profiled.kernels);
      const result = {
        grads,
        kernels,
        initial,
        weights: weights(model),
        inference: Array.from((model.predict(x) as tf.Tensor).dataSync()),
      };
      undo();
      model.dispose();
      return result;
    };
    const stock = await run(false);
    const fused = await run(true);
    assert.ok(!stock.kernels.has(BATCH_NORM_TRAINING) && fused.kernels.has(BATCH_NORM_TRAINING));
    assert.ok(fused.kernels.has("GalaxyZooBatchNormTrainingGrad"));
    const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
      assert.equal(a.length, b.length, what);
      for (let i = 0; i < a.length; i++) {
        assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * (1 + Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
      }
    };
    fused.grads.forEach((g, i) => close(g, stock.grads[i], `gradient ${i}`));
    // The training-mode call moved the moving mean and variance, the same way in both.
    fused.weights.forEach((w, i) => close(w, stock.weights[i], `weight ${i}`));
    assert.notDeepEqual(stock.weights, stock.initial);
    close(fused.inference, stock.inference, "inference after the step");
    tf.dispose([x, y]);
  } finally {
    restoreStockKernels("cpu");
  }
});
