/**
 * BatchMatMul on wasm with transposed operands materialized first. The stock kernel runs the
 * untransposed product fast (XNNPACK) but falls back to a slow loop when transposeA/B is set, and
 * every dense-layer gradient sets one: measured 44-66 ms against 4-9 ms with an explicit
 * Transpose for the course CNN's 4624x120 layer.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

interface Disposer {
  disposeData(dataId: object): boolean;
}

/** Wraps `stock` (the wasm BatchMatMul) so it only ever sees untransposed operands. */
export function makeWasmBatchMatMul(stock: tf.KernelFunc | undefined): tf.KernelFunc {
  if (stock == null) throw new Error("wasm BatchMatMul: stock kernel missing");
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return stock(args);
    const transpose = tf.getKernel(tf.Transpose, "wasm")!.kernelFunc;
    const swapLast = (t: tf.TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
      return transpose(
        { inputs: { x: t }, backend: args.backend, attrs: { perm } } as never,
      ) as tf.TensorInfo;
    };
    const temps: tf.TensorInfo[] = [];
    try {
      const a2 = transposeA ? swapLast(a) : a;
      if (transposeA) temps.push(a2);
      const b2 = transposeB ? swapLast(b) : b;
      if (transposeB) temps.push(b2);
      return stock({
        ...args,
        inputs: { a: a2, b: b2 },
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of temps) (args.backend as Disposer).disposeData(t.dataId);
    }
  };
}
