/**
 * Every experiment of Step 6 on tiny data: its model builds, trains a step through the one
 * training loop (with its augmentation), and predicts values in [0, 1] (with its test-time
 * averaging), and nothing leaks.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { EXPERIMENT_NAMES, EXPERIMENTS } from "../lib/experiments.ts";
import { buildModel } from "../lib/model/mod.ts";
import { train } from "../lib/train/loop.ts";
import { predict } from "../lib/train/predict.ts";
import { augmentDihedral } from "../lib/train/metrics.ts";
import { selectBackend } from "../lib/tf/backend.ts";
import { QUESTIONS } from "../lib/classes.ts";

await selectBackend("wasm");

const size = 32;
const count = 8;
const dataset = {
  images: new Uint8Array(count * size * size * 3).map((_, i) => (i * 37) % 256),
  labels: new Float32Array(count * 37).map((_, i) => ((i * 7) % 10) / 10),
  count,
  size,
};

for (const name of EXPERIMENT_NAMES) {
  const experiment = EXPERIMENTS[name];
  Deno.test({
    name: `experiment '${name}' (${experiment.title}) trains and predicts on tiny data`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const before = tf.memory().numTensors;
      const model = buildModel(experiment.model, {
        seed: 3,
        inputSize: size,
        ...("modelOptions" in experiment ? experiment.modelOptions : {}),
      } as never);
      const history = await train({
        model,
        data: { dataset, trainIndices: [0, 1, 2, 3, 4, 5], testIndices: [6, 7] },
        epochs: 1,
        batchSize: 4,
        learningRate: 0.001,
        seed: 3,
        augment: experiment.augment ? augmentDihedral : undefined,
        workers: 1,
      });
      assert.equal(history.epochs.length, 2);
      assert.ok(history.epochs.every((e) => Number.isFinite(e.trainLoss)));
      const out = predict(model, dataset, [6, 7], { tta: experiment.tta });
      assert.equal(out.length, 2 * 37);
      assert.ok(out.every((v) => v >= 0 && v <= 1));
      if (experiment.model === "constrained" && !("modelOptions" in experiment)) {
        // The decision-tree output: question 1's answers sum to 1 for every galaxy.
        for (let g = 0; g < 2; g++) {
          const sum = QUESTIONS[0].answers.reduce((s, a) => s + out[g * 37 + a], 0);
          assert.ok(Math.abs(sum - 1) < 1e-4, `Q1 sums to ${sum}`);
        }
      }
      model.dispose();
      assert.equal(tf.memory().numTensors, before);
    },
  });
}
