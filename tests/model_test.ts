import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { QUESTIONS } from "../lib/classes.ts";
import { buildModel, loadModel, MODEL_NAMES, saveModel, summarize } from "../lib/model/mod.ts";
import { courseCnn } from "../lib/model/course_cnn.ts";
import { resnet18 } from "../lib/model/resnet18.ts";
import { constrainedCnn } from "../lib/model/constrained_cnn.ts";
import { decisionTreeOutput } from "../lib/model/decision_tree_output.ts";

await tf.setBackend("cpu");

const randomImages = (n: number, size: number, seed = 1) =>
  tf.randomUniform([n, size, size, 3], 0, 1, "float32", seed);

Deno.test("course CNN: 571,225 trainable parameters and 44 BatchNorm statistics at 64x64", () => {
  const model = courseCnn({ seed: 0 });
  const summary = summarize(model);
  assert.equal(summary.trainableParams, 571_225);
  assert.equal(summary.nonTrainableParams, 44);
  assert.equal(model.countParams(), 571_269);
  assert.deepEqual(summary.layers.find((l) => l.name === "flatten")?.outputShape, [null, 4624]);
  assert.deepEqual(summary.layers.find((l) => l.name === "conv1")?.outputShape, [null, 66, 66, 6]);
  model.dispose();
});

Deno.test("course CNN: [B, 37] outputs in (0, 1), no tensors left after predict", () => {
  const model = courseCnn({ seed: 0, inputSize: 32 });
  const x = randomImages(3, 32);
  const before = tf.memory().numTensors;
  const y = model.predict(x) as tf.Tensor;
  assert.deepEqual(y.shape, [3, 37]);
  const values = y.dataSync();
  assert.ok(values.every((v) => v > 0 && v < 1));
  y.dispose();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  model.dispose();
});

Deno.test("same seed gives identical weights, another seed different ones", () => {
  const weights = (seed: number) => {
    const model = courseCnn({ seed, inputSize: 16 });
    const w = model.getWeights().map((t) => Array.from(t.dataSync()));
    model.dispose();
    return w;
  };
  const a = weights(5);
  assert.deepEqual(weights(5), a);
  const b = weights(6);
  assert.notDeepEqual(b[0], a[0]);
  // Layers get distinct seeds: conv1's kernel is not a prefix copy of conv2's.
  assert.notDeepEqual(a[0].slice(0, 10), a[6].slice(0, 10));
});

Deno.test("ResNet-18: 11,195,493 trainable parameters, [2, 37] output", () => {
  const model = resnet18({ seed: 0 });
  const summary = summarize(model);
  assert.equal(summary.trainableParams, 11_195_493);
  assert.equal(summary.nonTrainableParams, 9_600);
  const x = randomImages(2, 64);
  const y = model.predict(x) as tf.Tensor;
  assert.deepEqual(y.shape, [2, 37]);
  assert.ok(y.dataSync().every((v) => v > 0 && v < 1));
  tf.dispose([x, y]);
  model.dispose();
});

Deno.test("ResNet-18 CIFAR stem: same parameter count bar the stem conv", () => {
  const model = resnet18({ seed: 0, stem: "cifar", inputSize: 32 });
  assert.equal(summarize(model).trainableParams, 11_195_493 - 7 * 7 * 3 * 64 + 3 * 3 * 3 * 64);
  model.dispose();
});

Deno.test("registry builds every architecture and rejects unknown names", () => {
  for (const name of MODEL_NAMES) {
    const model = buildModel(name, { seed: 1, inputSize: 32 });
    assert.deepEqual(model.outputs[0].shape, [null, 37]);
    model.dispose();
  }
  assert.throws(() => buildModel("lenet" as "cnn", { seed: 1 }), /Unknown model 'lenet'/);
});

Deno.test("constrained CNN stays under 2M parameters", () => {
  const model = constrainedCnn({ seed: 0 });
  const summary = summarize(model);
  assert.ok(summary.trainableParams < 2_000_000, `${summary.trainableParams}`);
  model.dispose();
});

/** Sums of every question's outputs, and the value each should equal. */
function treeSums(y: Float32Array | Int32Array | Uint8Array, n: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let r = 0; r < n; r++) {
    for (const q of QUESTIONS) {
      const sum = q.answers.reduce((s, a) => s + y[r * 37 + a], 0);
      pairs.push([sum, q.parent === null ? 1 : y[r * 37 + q.parent]]);
    }
  }
  return pairs;
}

for (const activation of ["softplus", "relu"] as const) {
  Deno.test(`decision-tree layer (${activation}): every question sums to its parent answer`, () => {
    const layer = decisionTreeOutput({ activation });
    const x = tf.randomNormal([64, 37], 0, 2, "float32", 3);
    const y = layer.apply(x) as tf.Tensor;
    const values = y.dataSync() as Float32Array;
    assert.ok(values.every((v) => v >= 0 && v <= 1 + 1e-6));
    for (const [sum, expected] of treeSums(values, 64)) {
      // With ReLU a question whose answers are all <= 0 sums to 0: nothing to normalise.
      if (activation === "relu" && sum === 0) continue;
      assert.ok(Math.abs(sum - expected) < 1e-5, `${sum} vs ${expected}`);
    }
    tf.dispose([x, y]);
  });
}

Deno.test("save/load round trip gives identical predictions, custom layer included", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const models = [
      courseCnn({ seed: 2, inputSize: 16 }),
      constrainedCnn({ seed: 2, inputSize: 16 }),
      courseCnn({ seed: 2, inputSize: 16, dropout: 0.5 }),
    ];
    for (const model of models) {
      const x = randomImages(2, 16);
      const before = model.predict(x) as tf.Tensor;
      await saveModel(model, `${dir}/${model.name}`, { seed: 2 });
      const loaded = await loadModel(`${dir}/${model.name}`);
      const after = loaded.predict(x) as tf.Tensor;
      assert.deepEqual(Array.from(after.dataSync()), Array.from(before.dataSync()));
      assert.deepEqual(
        summarize(loaded).layers.map((l) => l.type),
        summarize(model).layers.map((l) => l.type),
      );
      tf.dispose([x, before, after]);
      model.dispose();
      loaded.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
