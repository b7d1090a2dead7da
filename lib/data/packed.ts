/**
 * The preprocessed data set as Step 2 leaves it: `images.u8` (N x S x S x 3 RGB bytes, the pixels
 * before any JPEG re-encoding), `labels.f32`, `ids.json` and `split.json`. Loading it is one
 * read; decoding thousands of small JPEGs per epoch is what makes input pipelines slow.
 *
 * @module
 */
import { join } from "node:path";
import { readLabelSet } from "./label_set.ts";
import type { Split } from "./split.ts";

export const PACKED_IMAGES = "images.u8";

/** Images and labels in memory, as the batch loader and the models take them. */
export interface PackedDataset {
  ids: number[];
  /** N x size x size x 3, row-major NHWC, RGB. */
  images: Uint8Array;
  /** N x 37. */
  labels: Float32Array;
  count: number;
  size: number;
  split: Split;
}

/** Loads a Step-2 folder. */
export async function loadPacked(dir: string): Promise<PackedDataset> {
  const { ids, labels } = await readLabelSet(dir);
  const images = await Deno.readFile(join(dir, PACKED_IMAGES));
  const size = Math.round(
    Math.sqrt(images.length / 3 / Math.max(1, ids.length)),
  );
  if (size * size * 3 * ids.length !== images.length) {
    throw new Error(
      `${join(dir, PACKED_IMAGES)} has ${images.length} bytes, which is not ${ids.length} square RGB images`,
    );
  }
  const split: Split = JSON.parse(
    await Deno.readTextFile(join(dir, "split.json")),
  );
  return { ids, images, labels, count: ids.length, size, split };
}
