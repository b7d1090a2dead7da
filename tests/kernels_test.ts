/**
 * Our convolution-gradient kernels against tfjs's own (the stock cpu kernels) on small random
 * shapes covering what tfjs-layers produces: strides 1 and 2; same, valid and explicit padding;
 * filters 1x1 to 7x7; odd sizes and channel counts.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
// tfjs-layers registers the gradient functions (tfjs-core alone has none), as in the app.
import "@tensorflow/tfjs-layers";
import { isFastKernel, registerFastKernels, restoreStockKernels, useBackend } from "../lib/tf/backend.ts";
import { filterGradAxis, inputGradAxis } from "../lib/tf/kernels/_geometry.ts";

type Pad = "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  batch: number;
  h: number;
  w: number;
  inC: number;
  outC: number;
  k: number;
  stride: number;
  pad: Pad;
}

// Deterministic cases and data: a failure reproduces.
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function cases(): Case[] {
  const rand = prng(7);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const out: Case[] = [];
  for (const k of [1, 3, 5, 7]) {
    for (const stride of [1, 2]) {
      const pads: Pad[] = ["same", "valid", [[0, 0], [int(0, 3), int(0, 3)], [int(0, 3), int(0, 2)], [0, 0]]];
      for (const pad of pads) {
        out.push({
          batch: int(1, 3),
          h: k + int(0, 6) | 1,
          w: k + int(1, 6),
          inC: int(1, 5),
          outC: int(1, 6),
          k,
          stride,
          pad,
        });
      }
    }
  }
  return out;
}

function values(n: number, seed: number): Float32Array {
  const rand = prng(seed);
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

function outSize(c: Case): [number, number] {
  const info = tf.backend_util.computeConv2DInfo(
    [c.batch, c.h, c.w, c.inC],
    [c.k, c.k, c.inC, c.outC],
    c.stride,
    1,
    c.pad,
  );
  return [info.outHeight, info.outWidth];
}

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

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1e-6, worst = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  assert.ok(worst / scale < 1e-4, `${what}: max error ${worst} relative to ${scale}`);
}

const describe = (c: Case) =>
  `k${c.k} s${c.stride} pad ${JSON.stringify(c.pad)} x[${c.batch},${c.h},${c.w},${c.inC}] -> ${c.outC}`;

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
