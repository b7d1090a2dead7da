/**
 * Messages between the data-parallel trainer (`_parallel.ts`) and its workers (`_worker.ts`).
 * Gradients travel through SharedArrayBuffers (one per worker, plus the averaged one), batches as
 * transferred Float32Arrays.
 *
 * @module
 */
import type { AdamState } from "./adam.ts";

/** What the main thread asks a worker; every request gets one {@link Reply} with its id. */
export type Request =
  & { id: number }
  & (
    | {
      op: "init";
      backend: "wasm" | "cpu";
      fastKernels: boolean;
      blas: boolean;
      /** `model.toJSON(undefined, false)`. */
      topology: unknown;
      /** Every weight in `model.weights` order. */
      weights: Float32Array[];
      learningRate: number;
      adam: AdamState | null;
      /** Side of the square input images. */
      size: number;
      /** This worker's gradient output, and the averaged gradients all workers read. */
      grads: SharedArrayBuffer;
      average: SharedArrayBuffer;
    }
    /** Loss and gradients of a shard of `rows` images ([rows, S, S, 3] and [rows, 37]). */
    | { op: "step"; x: Float32Array; y: Float32Array; rows: number; dropoutSeed: number }
    /** One Adam update with the averaged gradients. */
    | { op: "apply" }
    /** Sum of squared errors of a batch in inference mode. */
    | { op: "eval"; x: Float32Array; y: Float32Array; rows: number }
    /** The weights at `indices` of `model.weights`, and the Adam state when `adam`. */
    | { op: "getState"; indices: number[]; adam: boolean }
    | { op: "setWeights"; indices: number[]; arrays: Float32Array[] }
  );

/** A worker's answer: only the fields of the request's kind are set. */
export interface Reply {
  id: number;
  error?: string;
  loss?: number;
  sse?: number;
  weights?: Float32Array[];
  adam?: AdamState;
}
