/**
 * Our convolution-gradient kernels against tfjs's own (the stock cpu kernels) on small random
 * shapes covering what tfjs-layers produces: strides 1, 2 (and 3, and 1x2); same, valid and explicit padding;
 * filters 1x1 to 7x7; odd sizes and channel counts.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
// tfjs-layers registers the gradient functions (tfjs-core alone has none), as in the app.
import * as tfl from "@tensorflow/tfjs-layers";
import {
  isFastKernel,
  registerFastKernels,
  restoreStockKernels,
  useBackend,
  usesBlas,
} from "../lib/tf/backend.ts";
import { filterGradAxis, inputGradAxis } from "../lib/tf/kernels/_geometry.ts";
import { batchNormTraining } from "../lib/tf/kernels/batch_norm.ts";
import { Adam } from "../lib/train/adam.ts";
import { train } from "../lib/train/loop.ts";
import { assertClose, type Case, cases, describe, outSize, values } from "./_conv_cases.ts";

/** Both gradient kernels, called through the engine as tfjs-core's conv2d gradient does. */
function gradients(c: Case): { dw: Float32Array; dx: Float32Array } {
  const [oh, ow] = outSize(c);
  return tf.tidy(() => {
    const x = tf.tensor4d(values(c.batch * c.h * c.w * c.inC, 1), [c.batch, c.h, c.w, c.inC]);
    const w = tf.tensor4d(values(c.k * c.k * c.inC * c.outC, 2), [c.k, c.k, c.inC, c.outC]);
    const dy = tf.tensor4d(values(c.batch * oh * ow * c.outC, 3), [c.batch, oh, ow, c.outC]);
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined };
    const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
      ...attrs,
      filterShape: [c.k, c.k, c.inC, c.outC],
    } as never) as tf.Tensor;
    const dx = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, {
      ...attrs,
      inputShape: [c.batch, c.h, c.w, c.inC],
    } as never) as tf.Tensor;
    return { dw: dw.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  });
}

Deno.test("geometry: the filter-gradient convolution yields exactly kernel taps", () => {
  for (const [input, kernel, stride, before, after] of [[9, 3, 2, 1, 1], [8, 3, 2, 0, 0], [7, 1, 2, 2, 3]]) {
    const out = Math.floor((input + before + after - kernel) / stride) + 1;
    const g = filterGradAxis({ input, out, kernel, stride, padBefore: before });
    assert.equal(g.padBefore + g.keep + g.padAfter - stride * (out - 1), kernel);
    const d = inputGradAxis({ input, out, kernel, stride, padBefore: before });
    assert.equal(d.padBefore + d.dilatedLength + d.padAfter - kernel + 1, input);
  }
});

Deno.test("conv gradient kernels match tfjs's stock cpu kernels", async (t) => {
  const all = cases();
  await useBackend("cpu", { fastKernels: false });
  const expected = all.map(gradients);
  for (const backend of ["cpu", "wasm"] as const) {
    await t.step(backend, async () => {
      await useBackend(backend, { fastKernels: true });
      assert.ok(isFastKernel(tf.Conv2DBackpropFilter, backend));
      all.forEach((c, i) => {
        const got = gradients(c);
        assertClose(got.dw, expected[i].dw, `${backend} filter grad ${describe(c)}`);
        assertClose(got.dx, expected[i].dx, `${backend} input grad ${describe(c)}`);
      });
    });
  }
});

Deno.test("tf.grad of conv2d (the path tfjs-layers takes) agrees with stock cpu", async () => {
  const grads = () =>
    tf.tidy(() => {
      const x = tf.tensor4d(values(2 * 11 * 9 * 3, 4), [2, 11, 9, 3]);
      const w = tf.tensor4d(values(3 * 3 * 3 * 4, 5), [3, 3, 3, 4]);
      const loss = (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same")));
      const [dx, dw] = tf.grads(loss)([x, w]);
      return [dx.dataSync(), dw.dataSync()] as Float32Array[];
    });
  await useBackend("cpu", { fastKernels: false });
  const [dx0, dw0] = grads();
  await useBackend("wasm", { fastKernels: true });
  const [dx1, dw1] = grads();
  assertClose(dx1, dx0, "dx");
  assertClose(dw1, dw0, "dw");
});

Deno.test("registerFastKernels is idempotent and restoreStockKernels undoes it", async () => {
  await useBackend("cpu", { fastKernels: false });
  const stock = tf.getKernel(tf.Conv2DBackpropFilter, "cpu");
  assert.deepEqual(registerFastKernels("cpu"), registerFastKernels("cpu"));
  assert.ok(isFastKernel(tf.Conv2DBackpropFilter, "cpu"));
  restoreStockKernels("cpu");
  assert.equal(tf.getKernel(tf.Conv2DBackpropFilter, "cpu"), stock);
  await useBackend("wasm", { fastKernels: false });
  assert.equal(tf.getKernel(tf.Conv2DBackpropFilter, "wasm"), undefined, "wasm has no stock filter gradient");
  assert.deepEqual(registerFastKernels("webgpu"), []);
});

Deno.test("Tile and transposed BatchMatMul match stock cpu", async () => {
  const compute = () =>
    tf.tidy(() => {
      const v = tf.tensor4d(values(6, 8), [1, 1, 1, 6]);
      const m = tf.tensor3d(values(2 * 3 * 4, 9), [2, 3, 4]);
      const ints = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], "int32");
      const a = tf.tensor2d(values(7 * 5, 10), [7, 5]);
      const b = tf.tensor2d(values(7 * 3, 11), [7, 3]);
      const c = tf.tensor2d(values(4 * 3, 12), [4, 3]);
      return [
        tf.tile(v, [3, 5, 4, 1]),
        tf.tile(m, [2, 1, 3]),
        tf.tile(ints, [3, 2]),
        tf.tile(tf.scalar(2), []),
        tf.matMul(a, b, true, false),
        tf.matMul(b, c, false, true),
        tf.matMul(c, tf.tensor2d(values(5 * 4, 13), [5, 4]), true, true),
      ].map((t) => Float32Array.from(t.dataSync()));
    });
  await useBackend("cpu", { fastKernels: false });
  const expected = compute();
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend, { fastKernels: true });
    compute().forEach((got, i) => assertClose(got, expected[i], `${backend} case ${i}`));
  }
});

Deno.test("Sum and Mean over leading axes (BatchNorm's reductions) match stock cpu", async () => {
  const compute = () =>
    tf.tidy(() => {
      const x = tf.tensor4d(values(3 * 5 * 4 * 6, 14), [3, 5, 4, 6]);
      const ints = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], "int32");
      return [
        tf.sum(x, [0, 1, 2]),
        tf.mean(x, [0, 1, 2], true),
        tf.sum(x, [1, 0]),
        tf.mean(x, 0),
        tf.sum(x, [0, 2]), // not leading: stock
        tf.sum(x, 3),
        tf.sum(x),
        tf.mean(x, -1, true),
        tf.sum(ints, 0),
      ].map((t) => ({ shape: t.shape, values: Float32Array.from(t.dataSync()) }));
    });
  await useBackend("cpu", { fastKernels: false });
  const expected = compute();
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend, { fastKernels: true });
    assert.ok(isFastKernel(tf.Sum, backend) && isFastKernel(tf.Mean, backend));
    compute().forEach((got, i) => {
      assert.deepEqual(got.shape, expected[i].shape, `${backend} case ${i} shape`);
      assertClose(got.values, expected[i].values, `${backend} case ${i}`);
    });
  }
});

// Three epochs of training amplify the kernels' float rounding (another summation order) a little.
const CURVE_TOLERANCE = 1e-3;

Deno.test("training with our kernels follows the stock kernels' loss curve (cpu, wasm)", async () => {
  const size = 12;
  const count = 24;
  let s = 3;
  const random = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const dataset = {
    images: Uint8Array.from({ length: count * size * size * 3 }, () => Math.floor(random() * 256)),
    labels: Float32Array.from({ length: count * 37 }, random),
    count,
    size,
  };
  const model = () => {
    const input = tfl.input({ shape: [size, size, 3] });
    let x = tfl.layers.zeroPadding2d({ padding: 2 }).apply(input);
    x = tfl.layers.conv2d({
      filters: 4,
      kernelSize: 5,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
    })
      .apply(x); // [B, 12, 12, 4]
    x = tfl.layers.batchNormalization({ momentum: 0.9 }).apply(x);
    x = tfl.layers.reLU().apply(x);
    x = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(x); // [B, 6, 6, 4]
    // Enough filters for the BLAS kernels, where a BLAS loads (MIN_BLAS_CHANNELS).
    x = tfl.layers.conv2d({
      filters: 32,
      kernelSize: 3,
      strides: 2,
      padding: "same",
      activation: "relu",
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }),
    }).apply(x); // [B, 3, 3, 32]
    x = tfl.layers.flatten().apply(x);
    const y = tfl.layers.dense({
      units: 37,
      activation: "sigmoid",
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }),
    }).apply(x) as tfl.SymbolicTensor;
    return tfl.model({ inputs: input, outputs: y });
  };
  const curve = async () => {
    const m = model();
    const history = await train({
      model: m,
      data: { dataset, trainIndices: Array.from({ length: 20 }, (_, i) => i), testIndices: [20, 21, 22, 23] },
      epochs: 3,
      batchSize: 8,
      learningRate: 0.01,
      seed: 1,
      workers: 1,
    });
    m.dispose();
    return history.epochs.flatMap((e) => [e.trainLoss, e.testLoss!, e.runningLoss ?? 0]);
  };
  await useBackend("cpu", { fastKernels: false });
  const stock = await curve();
  await useBackend("cpu", { fastKernels: true });
  const ours = await curve();
  assertClose(Float32Array.from(ours), Float32Array.from(stock), "loss curve", CURVE_TOLERANCE);
  assert.ok(stock[6] < stock[0], `the loss falls: ${stock}`);
  // wasm cannot train without our kernels (no filter gradient): it follows stock cpu's curve, and
  // repeats itself exactly, leaking nothing.
  await useBackend("wasm", { fastKernels: true });
  const before = tf.memory().numTensors;
  const wasm = await curve();
  assert.equal(tf.memory().numTensors, before, "tensors leaked on wasm");
  assertClose(Float32Array.from(wasm), Float32Array.from(stock), "wasm loss curve", CURVE_TOLERANCE);
  assert.deepEqual(await curve(), wasm, "two wasm runs with the same seed");
  // And without the BLAS (XNNPACK convolutions), where one is in use above.
  if (usesBlas("wasm")) {
    await useBackend("wasm", { fastKernels: true, blas: false });
    assertClose(
      Float32Array.from(await curve()),
      Float32Array.from(stock),
      "wasm loss curve without BLAS",
      CURVE_TOLERANCE,
    );
    await useBackend("wasm", { fastKernels: true });
  }
});

Deno.test("MaxPoolGrad matches stock cpu, ties to the first maximum included", async () => {
  const pools: {
    x: [number, number, number, number];
    f: number;
    s: number;
    pad: "same" | "valid" | number;
  }[] = [
    { x: [2, 8, 8, 3], f: 2, s: 2, pad: "valid" },
    { x: [1, 9, 7, 5], f: 2, s: 2, pad: "valid" },
    { x: [2, 9, 8, 4], f: 3, s: 2, pad: "same" },
    { x: [1, 7, 9, 2], f: 3, s: 1, pad: "same" },
    { x: [2, 6, 7, 3], f: 3, s: 2, pad: 1 },
    { x: [1, 5, 6, 6], f: 2, s: 1, pad: "valid" },
    { x: [2, 7, 6, 3], f: 2, s: 2, pad: "valid" }, // the 2x2 fast path, with NaN and -Infinity
  ];
  const compute = () =>
    tf.tidy(() =>
      pools.flatMap((p, i) => {
        const n = p.x.reduce((a, b) => a * b, 1);
        // Coarse values make ties common; every third case and the last also have -Infinity and
        // NaN windows.
        const raw = values(n, 20 + i).map((v) => Math.round(v * 3) / 3);
        if (i % 3 === 2 || i === pools.length - 1) {
          raw.forEach((_, k) => k % 7 === 0 && (raw[k] = k % 2 ? -Infinity : NaN));
        }
        const x = tf.tensor4d(raw, p.x);
        const y = tf.maxPool(x, p.f, p.s, p.pad);
        const dy = tf.tensor4d(values(y.size, 40 + i), y.shape);
        const dx = tf.engine().runKernel(tf.MaxPoolGrad, { dy, input: x, output: y }, {
          filterSize: p.f,
          strides: p.s,
          pad: p.pad,
        } as never) as tf.Tensor;
        // The path training takes: the gradient of maxPool through the engine, after a ReLU.
        const viaGrad = tf.grad((t: tf.Tensor) =>
          tf.sum(tf.mul(tf.maxPool(tf.relu(t) as tf.Tensor4D, p.f, p.s, p.pad), dy))
        )(
          tf.tensor4d(values(n, 60 + i), p.x),
        );
        return [Float32Array.from(dx.dataSync()), Float32Array.from(viaGrad.dataSync())];
      })
    );
  await useBackend("cpu", { fastKernels: false });
  const expected = compute();
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend, { fastKernels: true });
    assert.ok(isFastKernel(tf.MaxPoolGrad, backend));
    compute().forEach((got, i) =>
      assertClose(got, expected[i], `${backend} max-pool case ${i >> 1}.${i & 1}`)
    );
  }
});

Deno.test("the one-pass Adam kernel is bit-identical to Adam op by op", async () => {
  const run = () => {
    const shapes = [[3, 4], [7], [2, 3, 2, 5]];
    const vars = shapes.map((shape, i) =>
      tf.variable(tf.tensor(values(tf.util.sizeFromShape(shape), 70 + i), shape), true, `adam_test_${i}`)
    );
    const adam = new Adam(vars, { learningRate: 0.003 });
    const before = tf.memory().numTensors;
    for (let step = 0; step < 4; step++) {
      tf.tidy(() => adam.apply(vars.map((v, i) => tf.tensor(values(v.size, 80 + 10 * step + i), v.shape))));
    }
    assert.equal(tf.memory().numTensors, before, "Adam leaked tensors");
    const state = adam.getState();
    const out = [
      ...vars.map((v) => Array.from(v.dataSync())),
      ...[...state.m, ...state.v].map((a) => Array.from(a)),
    ];
    adam.dispose();
    tf.dispose(vars);
    return out;
  };
  await useBackend("cpu", { fastKernels: false });
  const expected = run();
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend, { fastKernels: true });
    assert.ok(isFastKernel("GalaxyZooAdam", backend));
    assert.deepEqual(run(), expected, backend);
  }
});

Deno.test("per-channel Multiply/Add/Sub and BatchNorm with its gradient match stock cpu", async () => {
  const compute = () =>
    tf.tidy(() => {
      const x = tf.tensor4d(values(3 * 5 * 7 * 6, 90), [3, 5, 7, 6]);
      const v = tf.tensor1d(values(6, 91));
      const v4 = tf.reshape(v, [1, 1, 1, 6]);
      const m = tf.tensor2d(values(5 * 7, 92), [5, 7]);
      const rowOdd = tf.tensor3d(values(7 * 11 * 13, 93), [7, 11, 13]); // 77 rows: a prime-ish block
      const ints = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], "int32");
      const out: tf.Tensor[] = [];
      for (const op of [tf.mul, tf.add, tf.sub]) {
        out.push(op(x, v), op(v, x), op(x, v4), op(v4, x), op(x, tf.tensor3d(values(7 * 6, 89), [1, 7, 6])));
        out.push(
          op(x, tf.reshape(m, [1, 5, 7, 1])),
          op(x, tf.scalar(3)),
          op(x, x),
          op(rowOdd, tf.slice(rowOdd, 0, 1)),
        );
        out.push(op(tf.tensor1d(values(13, 94)), rowOdd), op(ints, tf.tensor1d([1, 2, 3], "int32")));
      }
      const variance = tf.abs(tf.tensor1d(values(6, 95)));
      out.push(tf.batchNorm(x, v, variance, tf.tensor1d(values(6, 96)), tf.tensor1d(values(6, 97)), 1e-3));
      out.push(tf.batchNorm(x, v, variance), tf.batchNorm(m, tf.tensor1d(values(7, 98)), tf.ones([7])));
      // tfjs-layers' training-mode batch norm: moments, then batchNorm, differentiated.
      const bn = (t: tf.Tensor) => {
        const { mean, variance: vr } = tf.moments(t, [0, 1, 2]);
        return tf.batchNorm(t, mean, vr, tf.tensor1d(values(6, 99)), tf.tensor1d(values(6, 100)), 1e-5);
      };
      const dy = tf.tensor4d(values(x.size, 101), x.shape);
      out.push(bn(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(bn(t), dy)))(x));
      return out.map((t) => ({ shape: t.shape, values: Float32Array.from(t.dataSync()) }));
    });
  await useBackend("cpu", { fastKernels: false });
  const expected = compute();
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend, { fastKernels: true });
    assert.ok(isFastKernel(tf.Multiply, backend) && isFastKernel(tf.Sub, backend));
    const before = tf.memory().numTensors;
    compute().forEach((got, i) => {
      assert.deepEqual(got.shape, expected[i].shape, `${backend} case ${i} shape`);
      assertClose(got.values, expected[i].values, `${backend} case ${i}`);
    });
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  }
});

Deno.test("PadV2 and Slice by runs match stock cpu, any rank and dtype", async () => {
  const compute = () =>
    tf.tidy(() => {
      const x = tf.tensor4d(values(3 * 5 * 4 * 6, 120), [3, 5, 4, 6]);
      const ints = tf.tensor3d(Int32Array.from({ length: 2 * 3 * 4 }, (_, i) => i - 7), [2, 3, 4], "int32");
      const v = tf.tensor1d(values(9, 121));
      return [
        tf.pad(x, [[0, 0], [3, 3], [3, 3], [0, 0]]), // the course CNN's zero padding
        tf.pad(x, [[1, 0], [0, 2], [1, 1], [2, 1]], 0.5),
        tf.pad(x, [[0, 0], [0, 0], [0, 0], [0, 0]]),
        tf.pad(ints, [[0, 1], [2, 0], [0, 0]], -3),
        tf.pad(v, [[4, 2]]),
        tf.slice(x, [0, 3, 3, 0], [3, 2, 1, 6]),
        tf.slice(x, [1, 0, 0, 0], [2, -1, -1, -1]), // contiguous
        tf.slice(x, [0, 1, 1, 2], [3, 3, 2, 3]),
        tf.slice(ints, [1, 1, 1], [1, 2, 3]),
        tf.slice(v, 2, 5),
        tf.slice(x, [0, 0, 0, 0], [3, 0, 4, 6]), // empty
      ].map((t) => ({ shape: t.shape, values: Float32Array.from(t.dataSync()) }));
    });
  await useBackend("cpu", { fastKernels: false });
  const expected = compute();
  await useBackend("wasm", { fastKernels: true });
  assert.ok(isFastKernel(tf.PadV2, "wasm") && isFastKernel(tf.Slice, "wasm"));
  compute().forEach((got, i) => {
    assert.deepEqual(got.shape, expected[i].shape, `case ${i} shape`);
    assert.deepEqual(got.values, expected[i].values, `case ${i}`);
  });
});

Deno.test("the training BatchNorm kernel and its gradient match tf.moments + tf.batchNorm", async () => {
  // tfjs-layers' training-mode batch norm, differentiated by autodiff through the statistics.
  const stock = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    return [tf.batchNorm(x, mean, variance, beta, gamma, 1e-5), mean, variance];
  };
  const ours = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => batchNormTraining(x, gamma, beta, 1e-5);
  const shapes = [[3, 5, 7, 6], [2, 4, 4, 16], [7, 13], [1, 2, 2, 3]];
  const compute = (bn: typeof stock) =>
    shapes.flatMap((shape, k) =>
      tf.tidy(() => {
        const size = shape.reduce((a, b) => a * b, 1);
        const c = shape[shape.length - 1];
        // An offset mean, as activations have: the centred sums must not lose it.
        const x = tf.add(tf.tensor(values(size, 130 + k), shape), 3);
        const gamma = tf.tensor1d(values(c, 140 + k));
        const beta = tf.tensor1d(values(c, 150 + k));
        const dy = tf.tensor(values(size, 160 + k), shape);
        const [y, mean, variance] = bn(x, gamma, beta);
        const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(bn(a, g, b)[0], dy))
        )([
          x,
          gamma,
          beta,
        ]);
        return [y, mean, variance, ...grads].map((t) => Float32Array.from(t.dataSync()));
      })
    );
  await useBackend("cpu", { fastKernels: false });
  const expected = compute(stock);
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend, { fastKernels: true });
    const before = tf.memory().numTensors;
    compute(ours).forEach((got, i) =>
      assertClose(got, expected[i], `${backend} output ${i % 6} of shape ${i / 6 | 0}`)
    );
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  }
});
