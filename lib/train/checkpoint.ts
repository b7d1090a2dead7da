/**
 * Training checkpoints: model weights (BatchNorm statistics included), the Adam state and the
 * history so far, written after each epoch. The float32 tensors go to `epoch-NNNN.bin`, then
 * `checkpoint.json` (the commit point) names that file, both through temp files and renames, so a
 * kill at any moment leaves the previous checkpoint readable.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../files.ts";
import type { AdamState } from "./adam.ts";

const JSON_NAME = "checkpoint.json";
const VERSION = 1;

/** What a checkpoint holds. */
export interface Checkpoint<Record> {
  /** Last finished epoch. */
  epoch: number;
  /** Identity of the run (config, data, architecture); a resume must match it exactly. */
  run: unknown;
  history: Record[];
  /** Model weights in `model.weights` order. */
  weights: Float32Array[];
  adam: AdamState;
}

interface CheckpointJson {
  version: number;
  epoch: number;
  run: unknown;
  history: unknown[];
  adamStep: number;
  file: string;
  /** Lengths of the arrays in the .bin file: weights, then Adam m, then Adam v. */
  weightSizes: number[];
  adamSizes: number[];
}

const binName = (epoch: number) => `epoch-${String(epoch).padStart(4, "0")}.bin`;

/** Writes a checkpoint and removes the older epoch files. */
export async function writeCheckpoint<R>(dir: string, checkpoint: Checkpoint<R>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const arrays = [...checkpoint.weights, ...checkpoint.adam.m, ...checkpoint.adam.v];
  const bytes = new Uint8Array(arrays.reduce((n, a) => n + a.byteLength, 0));
  let offset = 0;
  for (const a of arrays) {
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += a.byteLength;
  }
  const file = binName(checkpoint.epoch);
  await writeFileAtomic(join(dir, file), bytes);
  const json: CheckpointJson = {
    version: VERSION,
    epoch: checkpoint.epoch,
    run: checkpoint.run,
    history: checkpoint.history,
    adamStep: checkpoint.adam.step,
    file,
    weightSizes: checkpoint.weights.map((a) => a.length),
    adamSizes: checkpoint.adam.m.map((a) => a.length),
  };
  await writeFileAtomic(join(dir, JSON_NAME), JSON.stringify(json, null, 1));
  for await (const entry of Deno.readDir(dir)) {
    if (/^epoch-\d+\.bin$/.test(entry.name) && entry.name !== file) await Deno.remove(join(dir, entry.name));
  }
}

/** Reads the checkpoint in `dir`, or returns null when there is none. */
export async function readCheckpoint<R>(dir: string): Promise<Checkpoint<R> | null> {
  const path = join(dir, JSON_NAME);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  const json = JSON.parse(text) as CheckpointJson;
  if (json.version !== VERSION) {
    throw new Error(`Checkpoint ${path} has version ${json.version}, expected ${VERSION}`);
  }
  const bytes = await Deno.readFile(join(dir, json.file));
  const sizes = [...json.weightSizes, ...json.adamSizes, ...json.adamSizes];
  const expected = sizes.reduce((n, s) => n + s, 0) * 4;
  if (bytes.byteLength !== expected) {
    throw new Error(`Checkpoint ${join(dir, json.file)} has ${bytes.byteLength} bytes, expected ${expected}`);
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  let offset = 0;
  const arrays = sizes.map((s) => {
    const a = new Float32Array(buffer, offset, s);
    offset += s * 4;
    return a;
  });
  const nw = json.weightSizes.length;
  const na = json.adamSizes.length;
  return {
    epoch: json.epoch,
    run: json.run,
    history: json.history as R[],
    weights: arrays.slice(0, nw),
    adam: { step: json.adamStep, m: arrays.slice(nw, nw + na), v: arrays.slice(nw + na) },
  };
}
