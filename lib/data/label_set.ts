/**
 * The labels as stages hand them on: `ids.json` (GalaxyIDs in order) and `labels.f32`
 * (N x 37 float32, little-endian), so nobody re-parses the CSV.
 *
 * @module
 */
import { join } from "node:path";
import { NUM_CLASSES } from "../classes.ts";

export interface LabelSet {
  ids: number[];
  /** N x 37, row-major. */
  labels: Float32Array;
}

/** Writes the rows `rows` of `labels` (N x 37) under the given ids. */
export async function writeLabelSet(
  dir: string,
  ids: readonly number[],
  rows: readonly number[],
  labels: Float32Array,
): Promise<void> {
  const picked = new Float32Array(rows.length * NUM_CLASSES);
  rows.forEach((row, i) =>
    picked.set(
      labels.subarray(row * NUM_CLASSES, (row + 1) * NUM_CLASSES),
      i * NUM_CLASSES,
    )
  );
  await Deno.writeTextFile(join(dir, "ids.json"), JSON.stringify(ids));
  await Deno.writeFile(join(dir, "labels.f32"), new Uint8Array(picked.buffer));
}

/** Reads what {@link writeLabelSet} wrote, checking the two files agree. */
export async function readLabelSet(dir: string): Promise<LabelSet> {
  const ids: number[] = JSON.parse(
    await Deno.readTextFile(join(dir, "ids.json")),
  );
  const bytes = await Deno.readFile(join(dir, "labels.f32"));
  const labels = new Float32Array(
    bytes.buffer,
    bytes.byteOffset,
    bytes.byteLength / 4,
  );
  if (labels.length !== ids.length * NUM_CLASSES) {
    throw new Error(
      `${dir}: labels.f32 holds ${labels.length / NUM_CLASSES} rows but ids.json ${ids.length}`,
    );
  }
  return { ids, labels };
}
