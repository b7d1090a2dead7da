import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "./lib/tf/backend.ts";
import { buildModel } from "./lib/model/mod.ts";
import { train } from "./lib/train/loop.ts";
import { predict } from "./lib/train/predict.ts";
import { rmse } from "./lib/train/metrics.ts";
await useBackend("wasm", { fastKernels: true });
const images = await Deno.readFile("/tmp/gz_images.u8");
const lb = await Deno.readFile("/tmp/gz_labels.f32");
const labels = new Float32Array(lb.buffer, lb.byteOffset, lb.byteLength / 4);
const dataset = { images, labels, count: 700, size: 64 };
const trainIndices = Array.from({ length: 560 }, (_, i) => i);
const testIndices = Array.from({ length: 140 }, (_, i) => 560 + i);
const [arch, act, seedStr, epochsStr] = Deno.args;
const seed = Number(seedStr);
const model = arch === "cnn"
  ? buildModel("cnn", { seed, output: act === "sigmoid" ? "sigmoid" : "tree", tree: { activation: act as "relu" } })
  : buildModel("constrained", { seed, tree: { activation: act as "relu" } });
const t0 = performance.now();
const h = await train({ model, data: { dataset, trainIndices, testIndices }, epochs: Number(epochsStr), batchSize: 32, learningRate: 0.003, seed });
const pred = predict(model, dataset, testIndices, { batchSize: 64 });
const truth = labels.slice(560 * 37);
let dead = 0;
for (let c = 0; c < 37; c++) { let mx = 0; for (let r = 0; r < 140; r++) mx = Math.max(mx, pred[r * 37 + c]); if (mx < 1e-6) dead++; }
console.log(JSON.stringify({ arch, act, seed, rmse: rmse(pred, truth).toFixed(4), dead, losses: h.epochs.map((e) => e.testLoss!.toFixed(4)).join(" "), ips: h.epochs.at(-1)!.imagesPerSecond!.toFixed(1), s: ((performance.now() - t0) / 1000).toFixed(0), backend: tf.getBackend() }));
