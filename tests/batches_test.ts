import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { batches, type Dataset, epochOrder } from "../lib/data/batches.ts";

await tf.setBackend("cpu");

/** Image i is filled with byte (i * 25) % 256; label row i is filled with i. */
function toyDataset(count: number, size: number): Dataset {
  const pixels = size * size * 3;
  const images = new Uint8Array(count * pixels);
  for (let i = 0; i < count; i++) images.fill((i * 25) % 256, i * pixels, (i + 1) * pixels);
  images[0] = 255; // one full-scale value, to see the top of the range
  const labels = new Float32Array(count * 37);
  for (let i = 0; i < count; i++) labels.fill(i, i * 37, (i + 1) * 37);
  return { images, labels, count, size };
}

Deno.test("batches: shapes, [0, 1] range, last partial batch, rows match their indices", () => {
  const dataset = toyDataset(10, 4);
  const seen: number[][] = [];
  for (const { x, y, indices } of batches(dataset, [9, 1, 2, 3, 4, 5, 6], 3)) {
    assert.equal(x.dtype, "float32");
    assert.deepEqual(x.shape, [indices.length, 4, 4, 3]);
    assert.deepEqual(y.shape, [indices.length, 37]);
    const xs = x.dataSync();
    assert.ok(xs.every((v) => v >= 0 && v <= 1));
    const ys = y.arraySync();
    indices.forEach((index, i) => {
      assert.equal(ys[i][0], index);
      assert.equal(xs[i * 48 + 5], Math.fround(((index * 25) % 256) / 255));
    });
    seen.push(indices);
  }
  assert.deepEqual(seen, [[9, 1, 2], [3, 4, 5], [6]]);
  const generator = batches(dataset, [0], 1);
  const first = generator.next();
  assert.ok(!first.done);
  assert.equal(first.value!.x.dataSync()[0], 1);
  generator.return();
});

Deno.test("batches: tensors are freed as the loop moves on, breaks or throws", () => {
  const dataset = toyDataset(10, 4);
  const before = tf.memory().numTensors;
  for (const _ of batches(dataset, [0, 1, 2, 3, 4], 2)) {
    assert.equal(tf.memory().numTensors, before + 2);
  }
  assert.equal(tf.memory().numTensors, before);
  for (const _ of batches(dataset, [0, 1, 2, 3, 4], 2)) break;
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => {
    for (const _ of batches(dataset, [0, 1, 2, 3, 4], 2)) throw new Error("boom");
  }, /boom/);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("epochOrder: same (seed, epoch) same order, other epochs differ, each index once", () => {
  const a = epochOrder(100, 7, 3);
  assert.deepEqual(epochOrder(100, 7, 3), a);
  assert.notDeepEqual(epochOrder(100, 7, 4), a);
  assert.notDeepEqual(epochOrder(100, 8, 3), a);
  assert.deepEqual([...a].sort((p, q) => p - q), Array.from({ length: 100 }, (_, i) => i));
  const subset = [5, 10, 15, 20, 25, 30];
  assert.deepEqual([...epochOrder(subset, 1, 1)].sort((p, q) => p - q), subset);
});

Deno.test("shuffled batches cover every index exactly once, in epochOrder's order", () => {
  const dataset = toyDataset(23, 2);
  const indices = Array.from({ length: 23 }, (_, i) => i);
  const order: number[] = [];
  for (const batch of batches(dataset, indices, 5, { shuffle: { seed: 3, epoch: 2 } })) {
    order.push(...batch.indices);
  }
  assert.deepEqual(order, epochOrder(indices, 3, 2));
  assert.deepEqual([...order].sort((p, q) => p - q), indices);
});

Deno.test("batches: a malformed dataset or index fails with a message", () => {
  const dataset = toyDataset(3, 2);
  assert.throws(() => batches({ ...dataset, count: 4 }, [0], 1).next(), /expected 4 x 2 x 2 x 3/);
  assert.throws(() => batches(dataset, [3], 1).next(), /outside the dataset of 3/);
});
