/**
 * The BLAS kernels (im2col + sgemm convolutions, matrix products) against tfjs's stock cpu
 * kernels. They need a BLAS library on the machine (`.ci/run` installs Debian's OpenBLAS); where
 * none loads, the tests say so and are skipped, and the app runs on XNNPACK.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // the gradient functions
import { type Blas, blasStatus, loadBlas, type Sgemm } from "../lib/tf/blas.ts";
import { isFastKernel, useBackend, usesBlas } from "../lib/tf/backend.ts";
import {
  convForward,
  type ConvImplementation,
  IM2COL,
  MIN_BLAS_CHANNELS,
  MIN_SHIFTED_FORWARD_DEPTH,
  SHIFTED,
} from "../lib/tf/kernels/conv_blas.ts";
import { isShiftable } from "../lib/tf/kernels/conv_shifted.ts";
import { assertClose, type Case, cases, describe, outSize, values } from "./_conv_cases.ts";

const blas = loadBlas();
const ignore = blas === null;
if (ignore) console.warn(`BLAS kernel tests skipped: ${blasStatus()}`);

function infoOf(c: Case, dilation = 1): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    [c.batch, c.h, c.w, c.inC],
    [c.k, c.k, c.inC, c.outC],
    c.stride,
    dilation,
    c.pad,
    undefined,
    false,
    "channelsLast",
  );
}

/** The three stock kernels on one case, through the engine. */
function stockResults(c: Case, dilation = 1) {
  const [oh, ow] = dilation === 1
    ? outSize(c)
    : [infoOf(c, dilation).outHeight, infoOf(c, dilation).outWidth];
  return tf.tidy(() => {
    const x = tf.tensor4d(values(c.batch * c.h * c.w * c.inC, 1), [c.batch, c.h, c.w, c.inC]);
    const w = tf.tensor4d(values(c.k * c.k * c.inC * c.outC, 2), [c.k, c.k, c.inC, c.outC]);
    const dy = tf.tensor4d(values(c.batch * oh * ow * c.outC, 3), [c.batch, oh, ow, c.outC]);
    const y = tf.conv2d(x, w, c.stride, c.pad, "NHWC", dilation);
    if (dilation !== 1) return { y: y.dataSync() as Float32Array };
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined };
    const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
      ...attrs,
      filterShape: [c.k, c.k, c.inC, c.outC],
    } as never) as tf.Tensor;
    const dx = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, {
      ...attrs,
      inputShape: [c.batch, c.h, c.w, c.inC],
    } as never) as tf.Tensor;
    return {
      y: y.dataSync() as Float32Array,
      dw: dw.dataSync() as Float32Array,
      dx: dx.dataSync() as Float32Array,
    };
  });
}

/**
 * Checks `impl` against the stock kernels on case `c`, with `lib` as the BLAS of the forward pass
 * (a counting wrapper, say). Outputs start as NaN: every function must overwrite, never
 * accumulate into, its output.
 */
function checkCase(c: Case, impl: ConvImplementation, lib: Blas = blas!): void {
  const expected = stockResults(c);
  const info = infoOf(c);
  const x = values(c.batch * c.h * c.w * c.inC, 1);
  const w = values(c.k * c.k * c.inC * c.outC, 2);
  const dy = values(info.outShape.reduce((a, b) => a * b, 1), 3);
  const y = new Float32Array(expected.y.length).fill(NaN);
  const dw = new Float32Array(expected.dw!.length).fill(NaN);
  const dx = new Float32Array(expected.dx!.length).fill(NaN);
  impl.forward(lib, x, w, info, y);
  impl.filterGrad(blas!, x, dy, info, dw);
  impl.inputGrad(blas!, dy, w, info, dx);
  assertClose(y, expected.y, `forward ${describe(c)}`);
  assertClose(dw, expected.dw!, `filter grad ${describe(c)}`);
  assertClose(dx, expected.dx!, `input grad ${describe(c)}`);
}

Deno.test({
  name: "im2col + sgemm convolution, filter and input gradients match stock cpu on every case",
  ignore,
  async fn() {
    await useBackend("cpu", { fastKernels: false });
    const all = [
      ...cases(),
      // Channel vectors long enough for the block copies; several im2col slices (> 256 rows).
      { batch: 3, h: 23, w: 21, inC: 40, outC: 33, k: 3, stride: 1, pad: "same" as const },
      { batch: 2, h: 30, w: 30, inC: 3, outC: 8, k: 7, stride: 2, pad: "same" as const },
      { batch: 2, h: 9, w: 9, inC: 33, outC: 4, k: 1, stride: 1, pad: "valid" as const }, // pointwise
    ];
    for (const c of all) checkCase(c, IM2COL);
    // Dilated forward convolutions (tfjs-layers allows them; gradients require dilation 1).
    for (const c of cases().filter((c) => c.stride === 1 && c.k > 1)) {
      const expected = stockResults({ ...c, h: c.h + 2 * c.k, w: c.w + 2 * c.k }, 2);
      const big = { ...c, h: c.h + 2 * c.k, w: c.w + 2 * c.k };
      const info = infoOf(big, 2);
      const y = new Float32Array(expected.y.length);
      convForward(
        blas!,
        values(big.batch * big.h * big.w * big.inC, 1),
        values(c.k * c.k * c.inC * c.outC, 2),
        info,
        y,
      );
      assertClose(y, expected.y, `dilated forward ${describe(big)}`);
    }
  },
});

Deno.test({
  name: "shifted-product convolution and both gradients match stock cpu on every stride-1 case",
  ignore,
  async fn() {
    await useBackend("cpu", { fastKernels: false });
    const all = [
      ...cases().filter((c) => c.stride === 1),
      // The course CNN's two layers (after their explicit zero padding), small batches.
      { batch: 2, h: 70, w: 70, inC: 3, outC: 6, k: 5, stride: 1, pad: "valid" as const },
      { batch: 3, h: 39, w: 39, inC: 6, outC: 16, k: 5, stride: 1, pad: "valid" as const },
      // Padding handled on the grid, even kernels (uneven "same" padding); the last case's
      // 12,078 product rows of 192 taps span two slices of the tap matrix (10,842 rows each).
      { batch: 2, h: 33, w: 31, inC: 5, outC: 7, k: 4, stride: 1, pad: "same" as const },
      { batch: 8, h: 36, w: 36, inC: 64, outC: 2, k: 3, stride: 1, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
    ] as Case[];
    let chunks = 0;
    for (const c of all) {
      assert.ok(isShiftable(infoOf(c)), describe(c));
      let calls = 0;
      const counting = { ...blas!, sgemm: (...a: Parameters<Sgemm>) => (calls++, blas!.sgemm(...a)) };
      checkCase(c, SHIFTED, counting);
      chunks = Math.max(chunks, calls / c.k);
    }
    assert.ok(chunks > 6, `some case makes several product calls per filter row (${chunks})`);
    assert.ok(!isShiftable(infoOf({ ...all[0], stride: 2 })) && !isShiftable(infoOf(all[0], 2)));
  },
});

Deno.test({
  name: "registered BLAS kernels (Conv2D, FusedConv2D, both gradients) match stock cpu through tf ops",
  ignore,
  async fn() {
    // Wide (im2col), thin and deep enough for shifted products (3 x 5 = 15 < 16: its forward pass
    // goes to XNNPACK), thin and deep enough for all of it (3 x 6 = 18).
    const compute = (inC: number, outC: number) =>
      tf.tidy(() => {
        const x = tf.tensor4d(values(2 * 11 * 10 * inC, 21), [2, 11, 10, inC]);
        const w = tf.tensor4d(values(3 * 3 * inC * outC, 22), [3, 3, inC, outC]);
        const bias = tf.tensor1d(values(outC, 23));
        const shallow = outC < MIN_BLAS_CHANNELS && inC * 3 < MIN_SHIFTED_FORWARD_DEPTH;
        const scalarBias = shallow ? tf.fill([outC], 0.5) : tf.scalar(0.5);
        const out: tf.Tensor[] = [
          tf.conv2d(x, w, 2, "same"),
          tf.fused.conv2d({ x, filter: w, strides: 1, pad: "valid", bias, activation: "relu" }),
          // A scalar bias where the BLAS runs it: the stock wasm kernel, which the shallow thin
          // layer's forward pass goes to, takes rank-1 biases only.
          tf.fused.conv2d({ x, filter: w, strides: 1, pad: 1, bias: scalarBias, activation: "sigmoid" }),
          tf.fused.conv2d({ x, filter: w, strides: 1, pad: "same", activation: "elu" }),
        ];
        // The gradients tfjs-layers takes: through the fused op, with bias and relu.
        const loss = (a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.fused.conv2d({
            x: a as tf.Tensor4D,
            filter: b as tf.Tensor4D,
            strides: 2,
            pad: "same",
            bias,
            activation: "relu",
          })));
        out.push(...tf.grads(loss)([x, w]));
        return out.map((t) => Float32Array.from(t.dataSync()));
      });
    const shapes = [[5, MIN_BLAS_CHANNELS + 3], [5, 4], [6, 7]];
    await useBackend("cpu", { fastKernels: false });
    const expected = shapes.map(([inC, outC]) => compute(inC, outC));
    for (const backend of ["cpu", "wasm"] as const) {
      await useBackend(backend, { fastKernels: true });
      assert.ok(usesBlas(backend) && isFastKernel(tf.FusedConv2D, backend), `${backend} uses the BLAS`);
      shapes.forEach(([inC, outC], k) =>
        compute(inC, outC).forEach((got, i) =>
          assertClose(got, expected[k][i], `${backend} ${inC} -> ${outC} channels, result ${i}`)
        )
      );
    }
  },
});

Deno.test({
  name: "BLAS BatchMatMul and _FusedMatMul: transposes, batches, broadcast, bias and activations",
  ignore,
  async fn() {
    const compute = () =>
      tf.tidy(() => {
        const a = tf.tensor2d(values(7 * 5, 31), [7, 5]);
        const b = tf.tensor2d(values(7 * 3, 32), [7, 3]);
        const c = tf.tensor2d(values(4 * 3, 33), [4, 3]);
        const batched = tf.tensor3d(values(2 * 4 * 6, 34), [2, 4, 6]);
        const shared = tf.tensor3d(values(6 * 5, 35), [1, 6, 5]);
        const bias = tf.tensor1d(values(3, 36));
        return [
          tf.matMul(a, b, true, false),
          tf.matMul(b, c, false, true),
          tf.matMul(c, tf.tensor2d(values(5 * 4, 37), [5, 4]), true, true),
          tf.matMul(batched, shared),
          tf.matMul(batched, tf.tensor3d(values(2 * 5 * 6, 38), [2, 5, 6]), false, true),
          tf.fused.matMul({ a: c, b: tf.tensor2d(values(3 * 3, 39), [3, 3]), bias, activation: "relu" }),
          tf.fused.matMul({ a: b, b: c, transposeB: true, bias: tf.scalar(-0.2), activation: "leakyrelu" }),
          tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 2])), // an empty sum is zero
        ].map((t) => Float32Array.from(t.dataSync()));
      });
    await useBackend("cpu", { fastKernels: false });
    const expected = compute();
    for (const backend of ["cpu", "wasm"] as const) {
      await useBackend(backend, { fastKernels: true });
      assert.ok(isFastKernel(tf._FusedMatMul, backend));
      compute().forEach((got, i) => assertClose(got, expected[i], `${backend} product ${i}`));
    }
  },
});

Deno.test({
  name: "switching the BLAS off and on re-registers the kernels",
  ignore,
  async fn() {
    await useBackend("wasm", { fastKernels: true, blas: false });
    assert.ok(!usesBlas("wasm") && isFastKernel(tf.Conv2DBackpropFilter, "wasm"));
    assert.ok(!isFastKernel(tf.Conv2D, "wasm"), "Conv2D is XNNPACK's without the BLAS");
    await useBackend("wasm", { fastKernels: true });
    assert.ok(usesBlas("wasm"));
    await useBackend("wasm", { fastKernels: false });
    assert.ok(!isFastKernel(tf.Conv2D, "wasm") && !isFastKernel(tf.Conv2DBackpropFilter, "wasm"));
  },
});
