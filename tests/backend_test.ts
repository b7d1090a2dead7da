/**
 * Backend selection on this machine (no libtensorflow, no real GPU) and memory hygiene of the
 * kernels we install.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
// tfjs-layers registers the gradient functions, as in the app.
import "@tensorflow/tfjs-layers";
import { selectBackend, useBackend } from "../lib/tf/backend.ts";

Deno.test("auto falls back past the native packages and a software GPU to wasm", async () => {
  const lines: string[] = [];
  const choice = await selectBackend("auto", (l) => lines.push(l));
  assert.equal(choice.name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(choice.requested, "auto");
  assert.deepEqual(choice.skipped.map((s) => s.name), ["tfjs-node-gpu", "tfjs-node", "webgpu"]);
  for (const s of choice.skipped) assert.ok(s.why.length > 0 && s.why.length <= 200, s.name);
  assert.match(choice.reason, /tfjs-node-gpu, tfjs-node, webgpu/);
  assert.equal(choice.versions["tfjs-core"], tf.version_core);
  assert.match(choice.versions["fast-kernels"], /Conv2DBackpropFilter/);
  assert.equal(choice.versions["wasm-simd"], "true");
  assert.equal(lines.length, 4, lines.join("\n"));
});

Deno.test("an explicit backend that cannot load is an error naming why", async () => {
  await assert.rejects(
    selectBackend("tensorflow"),
    /Cannot use backend 'tensorflow': tfjs-node-gpu: .+; tfjs-node: .+/,
  );
  await assert.rejects(selectBackend("webgpu"), /Cannot use backend 'webgpu': webgpu: /);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(selectBackend("gpu" as any), /Unknown backend 'gpu'/);
});

Deno.test("explicit wasm and cpu load with our kernels", async () => {
  for (const name of ["cpu", "wasm"] as const) {
    const choice = await selectBackend(name);
    assert.equal(choice.name, name);
    assert.deepEqual(choice.skipped, []);
    assert.match(choice.versions["fast-kernels"], /Conv2DBackpropInput/);
  }
});

Deno.test("no tensors leak from gradient steps with our kernels", async () => {
  for (const name of ["wasm", "cpu"] as const) {
    await useBackend(name, { fastKernels: true });
    const x = tf.randomNormal([2, 9, 9, 3]) as tf.Tensor4D;
    const w1 = tf.variable(tf.randomNormal([3, 3, 3, 4]));
    const w2 = tf.variable(tf.randomNormal([5, 5, 4, 2]));
    const loss = () =>
      tf.tidy(() => {
        const h = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 2, "same"));
        const y = tf.conv2d(h, w2 as tf.Tensor4D, 1, [[0, 0], [2, 1], [1, 2], [0, 0]]);
        const bn = tf.mul(y, tf.tile(tf.reshape(tf.sum(w2), [1, 1, 1, 1]), [2, 4, 4, 2]));
        return tf.mean(tf.square(bn)) as tf.Scalar;
      });
    const step = () => {
      const { value, grads } = tf.variableGrads(loss);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(); // first call may cache things (kernel setup)
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked`);
    tf.dispose([x, w1, w2]);
  }
});
