/**
 * Tile by block copies. tfjs's batch-norm gradient tiles a [1,1,1,C] vector up to the whole
 * activation ([64,66,66,6] in the course CNN) every step; the stock wasm kernel computes an index
 * per element and took 150-270 ms for that one call, about a quarter of a training step.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { produce } from "./_io.ts";

type Typed = Float32Array | Int32Array | Uint8Array;

/** Copies `dst[start, start+block)` until it fills `dst[start, start+total)`, doubling each time. */
function replicate(dst: Typed, start: number, block: number, total: number): void {
  let filled = block;
  while (filled < total) {
    const n = Math.min(filled, total - filled);
    dst.copyWithin(start + filled, start, start + n);
    filled += n;
  }
}

/** Writes `src` (row-major, `shape`) tiled `reps` times into `dst`. */
export function tileInto(src: Typed, shape: readonly number[], reps: readonly number[], dst: Typed): void {
  const rank = shape.length;
  if (rank === 0) {
    dst.set(src.subarray(0, 1));
    return;
  }
  const outShape = shape.map((s, i) => s * reps[i]);
  const inStrides = tf.util.computeStrides(shape as number[]);
  const outStrides = tf.util.computeStrides(outShape);
  const fill = (axis: number, outOff: number, inOff: number): void => {
    if (axis === rank - 1) {
      dst.set(src.subarray(inOff, inOff + shape[axis]), outOff);
      replicate(dst, outOff, shape[axis], outShape[axis]);
      return;
    }
    for (let i = 0; i < shape[axis]; i++) {
      fill(axis + 1, outOff + i * outStrides[axis], inOff + i * inStrides[axis]);
    }
    const block = shape[axis] * outStrides[axis];
    replicate(dst, outOff, block, block * reps[axis]);
  };
  fill(0, 0, 0);
}

/** A Tile kernel for cpu or wasm; strings (and empty tensors) go to the stock kernel. */
export function makeTileKernel(backendName: string, stock: tf.KernelFunc | undefined): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const reps = args.attrs!.reps as number[];
    const outShape = x.shape.map((s, i) => s * reps[i]);
    if (x.dtype === "string" || tf.util.sizeFromShape(outShape) === 0) {
      if (stock == null) throw new Error(`Tile on '${backendName}': no stock kernel for this case`);
      return stock(args);
    }
    return produce(backendName, args.backend, outShape, x.dtype, [x], (out, src) => {
      tileInto(src, x.shape, reps, out);
    });
  };
}
