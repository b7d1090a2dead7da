/**
 * Training and inference speed of a course-CNN-shaped model per backend (wasm + our kernels,
 * cpu + our kernels, stock cpu briefly), then each convolution-gradient kernel alone on the
 * course CNN's and ResNet-18's layer shapes. Random data; prints a table, writes nothing.
 *
 *   deno run --allow-read --allow-env --allow-ffi --allow-sys bench/kernels_bench.ts \
 *     [--steps 8] [--batch 64] [--only train|kernels] [--backends wasm,cpu,cpu-stock]
 *
 * The real model lives elsewhere; this keeps its own copy of the shape so it stays a benchmark
 * of the kernels.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { useBackend } from "../lib/tf/backend.ts";

interface Options {
  steps: number;
  batch: number;
  only: "all" | "train" | "kernels";
  backends: string[];
}

function parseArgs(args: string[]): Options {
  const opts: Options = { steps: 8, batch: 64, only: "all", backends: ["wasm", "cpu", "cpu-stock"] };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--steps") opts.steps = Number(value);
    else if (flag === "--batch") opts.batch = Number(value);
    else if (flag === "--only") opts.only = value as Options["only"];
    else if (flag === "--backends") opts.backends = value.split(",");
    else throw new Error(`unknown flag ${flag}`);
  }
  return opts;
}

/** The course CNN: [64,64,3] -> 37 sigmoid outputs, 571,225 parameters. */
function courseCnn(): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.zeroPadding2d({ padding: 3, inputShape: [64, 64, 3] })); // [B,70,70,3]
  m.add(tfl.layers.conv2d({ filters: 6, kernelSize: 5 })); // [B,66,66,6]
  m.add(tfl.layers.batchNormalization());
  m.add(tfl.layers.reLU());
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 })); // [B,33,33,6]
  m.add(tfl.layers.zeroPadding2d({ padding: 3 })); // [B,39,39,6]
  m.add(tfl.layers.conv2d({ filters: 16, kernelSize: 5 })); // [B,35,35,16]
  m.add(tfl.layers.batchNormalization());
  m.add(tfl.layers.reLU());
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 })); // [B,17,17,16]
  m.add(tfl.layers.flatten()); // [B,4624]
  m.add(tfl.layers.dense({ units: 120, activation: "relu" }));
  m.add(tfl.layers.dense({ units: 84, activation: "relu" }));
  m.add(tfl.layers.dense({ units: 37, activation: "sigmoid" }));
  m.compile({ optimizer: tf.train.adam(0.003), loss: "meanSquaredError" });
  return m;
}

async function setup(label: string): Promise<void> {
  if (label === "cpu-stock") await useBackend("cpu", { fastKernels: false });
  else await useBackend(label as "wasm" | "cpu", { fastKernels: true });
}

async function trainBench(label: string, steps: number, batch: number): Promise<string> {
  await setup(label);
  const model = courseCnn();
  const x = tf.randomUniform([batch, 64, 64, 3]);
  const y = tf.randomUniform([batch, 37]);
  await model.trainOnBatch(x, y); // warm-up: kernel setup, XNNPACK operator creation
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(x, y);
  const trainS = (performance.now() - t0) / 1000;
  const leaked = tf.memory().numTensors - before;
  const inferSteps = Math.max(steps, 4);
  tf.tidy(() => model.predict(x) as tf.Tensor).dispose();
  const t1 = performance.now();
  for (let i = 0; i < inferSteps; i++) {
    const p = model.predict(x) as tf.Tensor;
    await p.data();
    p.dispose();
  }
  const inferS = (performance.now() - t1) / 1000;
  model.dispose();
  tf.dispose([x, y]);
  const row = [
    label.padEnd(10),
    String(batch).padStart(5),
    (steps * batch / trainS).toFixed(1).padStart(10),
    (inferSteps * batch / inferS).toFixed(0).padStart(10),
    String(leaked).padStart(7),
  ];
  return row.join(" ");
}

/** One conv layer: input NHWC, square kernel, stride, padding, output channels. */
interface Layer {
  name: string;
  x: [number, number, number, number];
  k: number;
  outC: number;
  stride: number;
  pad: "same" | "valid";
  /** The first layer's input gradient is never computed during training. */
  needsDx: boolean;
}

function layers(batch: number): Layer[] {
  return [
    {
      name: "course conv1 5x5 3->6",
      x: [batch, 70, 70, 3],
      k: 5,
      outC: 6,
      stride: 1,
      pad: "valid",
      needsDx: false,
    },
    {
      name: "course conv2 5x5 6->16",
      x: [batch, 39, 39, 6],
      k: 5,
      outC: 16,
      stride: 1,
      pad: "valid",
      needsDx: true,
    },
    {
      name: "resnet stem 7x7/2 3->64",
      x: [batch, 64, 64, 3],
      k: 7,
      outC: 64,
      stride: 2,
      pad: "same",
      needsDx: false,
    },
    {
      name: "resnet 3x3 64->64 @16",
      x: [batch, 16, 16, 64],
      k: 3,
      outC: 64,
      stride: 1,
      pad: "same",
      needsDx: true,
    },
    {
      name: "resnet 3x3/2 64->128",
      x: [batch, 16, 16, 64],
      k: 3,
      outC: 128,
      stride: 2,
      pad: "same",
      needsDx: true,
    },
    {
      name: "resnet 1x1/2 64->128",
      x: [batch, 16, 16, 64],
      k: 1,
      outC: 128,
      stride: 2,
      pad: "same",
      needsDx: true,
    },
    {
      name: "resnet 3x3 128->128 @8",
      x: [batch, 8, 8, 128],
      k: 3,
      outC: 128,
      stride: 1,
      pad: "same",
      needsDx: true,
    },
    {
      name: "resnet 3x3 256->256 @4",
      x: [batch, 4, 4, 256],
      k: 3,
      outC: 256,
      stride: 1,
      pad: "same",
      needsDx: true,
    },
    {
      name: "resnet 3x3 512->512 @2",
      x: [batch, 2, 2, 512],
      k: 3,
      outC: 512,
      stride: 1,
      pad: "same",
      needsDx: true,
    },
  ];
}

/** Median milliseconds of `fn` over a few runs after a warm-up. */
async function timeMs(fn: () => tf.Tensor, runs: number): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    const r = fn();
    await r.data();
    r.dispose();
    return performance.now() - t0;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

async function kernelBench(label: string, batch: number): Promise<string[]> {
  await setup(label);
  const rows: string[] = [];
  for (const l of layers(batch)) {
    const info = tf.backend_util.computeConv2DInfo(l.x, [l.k, l.k, l.x[3], l.outC], l.stride, 1, l.pad);
    const x = tf.randomNormal(l.x) as tf.Tensor4D;
    const w = tf.randomNormal([l.k, l.k, l.x[3], l.outC]) as tf.Tensor4D;
    const dy = tf.randomNormal(info.outShape) as tf.Tensor4D;
    const attrs = { strides: l.stride, pad: l.pad, dataFormat: "NHWC", dimRoundingMode: undefined };
    const flops = 2 * info.outShape.reduce((a, b) => a * b, 1) * l.k * l.k * l.x[3];
    const runs = label === "cpu-stock" ? 1 : 3;
    const cell = async (kernel: string, extra: Record<string, unknown>, inputs: tf.NamedTensorMap) => {
      if (tf.getKernel(kernel, tf.getBackend()) == null) return "missing".padStart(18);
      const ms = await timeMs(
        () => tf.engine().runKernel(kernel, inputs, { ...attrs, ...extra } as never) as tf.Tensor,
        runs,
      );
      return `${ms.toFixed(1)} ms ${(flops / ms / 1e6).toFixed(1)} GF/s`.padStart(18);
    };
    const fwd = await timeMs(() => tf.conv2d(x, w, l.stride, l.pad), runs);
    const dw = await cell(tf.Conv2DBackpropFilter, { filterShape: w.shape }, { x, dy });
    const dx = l.needsDx
      ? await cell(tf.Conv2DBackpropInput, { inputShape: x.shape }, { dy, filter: w })
      : "(not needed)".padStart(18);
    rows.push([label.padEnd(10), l.name.padEnd(24), `${fwd.toFixed(1)} ms`.padStart(10), dw, dx].join(" "));
    tf.dispose([x, w, dy]);
  }
  return rows;
}

const opts = parseArgs(Deno.args);
if (opts.only !== "kernels") {
  console.log(`course CNN, ${opts.steps} training steps (cpu-stock: 1 step, batch 8)`);
  console.log("backend    batch  train img/s  infer img/s  leaked");
  for (const b of opts.backends) {
    const stock = b === "cpu-stock";
    console.log(await trainBench(b, stock ? 1 : opts.steps, stock ? 8 : opts.batch));
  }
}
if (opts.only !== "train") {
  console.log(`\nconvolution kernels, batch ${opts.batch} (cpu-stock: batch 4)`);
  console.log("backend    layer                    forward      filter grad (dW)   input grad (dx)");
  for (const b of opts.backends) {
    for (const row of await kernelBench(b, b === "cpu-stock" ? 4 : opts.batch)) console.log(row);
  }
}
