/**
 * The course's preprocessing of one galaxy image: centre crop (424 -> 212 by default), resize to
 * a small square (64x64) with Lanczos, RGB. Training, evaluation and `predict` all go through
 * `centerCropResize`, so a model never sees pixels prepared another way; `preprocessImages` runs
 * it over a whole folder on every core, streaming.
 *
 * @module
 */
import sharp from "sharp";
import { jpegSize } from "./_jpeg_size.ts";
import { WorkerPool } from "./_pool.ts";

export interface PreprocessOptions {
  /** Side of the centred square kept, in source pixels. */
  crop: number;
  /** Side of the output square. */
  size: number;
}

/** One preprocessed image: `size` x `size` x 3 RGB bytes, row-major. */
export interface Preprocessed {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** An image too small for the crop: readable, but not the shape the course expects. */
export class ImageTooSmallError extends Error {
  override name = "ImageTooSmallError";
}

/**
 * Centre-crops and resizes an image file (or its bytes). Throws with what is wrong when the
 * image can't be decoded (`ImageTooSmallError` when it is smaller than the crop).
 *
 * When the crop and output sizes allow it (424 -> 212 -> 64 does: 424 * 64 / 212 = 128), the
 * whole image is resized to 128 and its centre 64x64 kept. That is the same geometry as cropping
 * first, but lets libjpeg decode at half size (DCT scaling, "shrink-on-load"), which is most of
 * the speed; pixels differ from crop-then-resize by about a third of a level on average.
 */
export async function centerCropResize(
  input: string | Uint8Array,
  opts: PreprocessOptions,
): Promise<Preprocessed> {
  const { crop, size } = opts;
  const bytes = typeof input === "string" ? await Deno.readFile(input) : input;
  const { width, height } = jpegSize(bytes) ?? await sharpSize(bytes);
  if (width < crop || height < crop) {
    throw new ImageTooSmallError(`image is ${width}x${height}, smaller than the ${crop}x${crop} crop`);
  }
  const left = Math.floor((width - crop) / 2);
  const top = Math.floor((height - crop) / 2);
  const scaled = (n: number) => n * size / crop;
  const exact = [width, height, left, top].every((n) => Number.isInteger(scaled(n)));
  const image = sharp(bytes, { failOn: "truncated" });
  const resized = exact
    ? image.resize(scaled(width), scaled(height), { kernel: "lanczos3" })
      .extract({ left: scaled(left), top: scaled(top), width: size, height: size })
    : image.extract({ left, top, width: crop, height: crop })
      .resize(size, size, { kernel: "lanczos3" });
  const { data, info } = await resized.toColourspace("srgb").removeAlpha().raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) {
    throw new Error(`expected 3 colour channels after conversion, got ${info.channels}`);
  }
  return {
    rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
}

async function sharpSize(bytes: Uint8Array): Promise<{ width: number; height: number }> {
  const { width = 0, height = 0 } = await sharp(bytes, { failOn: "truncated" }).metadata();
  return { width, height };
}

/** JPEG bytes of raw RGB pixels. */
export async function encodeJpeg(
  rgb: Uint8Array,
  size: number,
  quality = 90,
): Promise<Uint8Array> {
  const buffer = await sharp(rgb, {
    raw: { width: size, height: size, channels: 3 },
  }).jpeg({ quality }).toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A small JPEG thumbnail of an image file, for figures. */
export async function thumbnail(
  input: string | Uint8Array,
  size: number,
): Promise<Uint8Array> {
  const buffer = await sharp(input).resize(size, size, { kernel: "lanczos3" })
    .jpeg({ quality: 85 }).toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Versions that change preprocessed pixels, for cache keys. */
export function imageVersions(): Record<string, string> {
  return { sharp: sharp.versions.sharp ?? "", libvips: sharp.versions.vips };
}

/** One image of a folder to preprocess: read `input`, save the processed JPEG as `output`. */
export interface ImageJob {
  input: string;
  output: string;
}

/** What became of job `index`: its RGB bytes, or why it failed. */
export type ImageResult =
  | { index: number; rgb: Uint8Array }
  | { index: number; error: string; tooSmall: boolean };

export interface BatchOptions extends PreprocessOptions {
  jpegQuality: number;
  /** Worker threads; 0 runs everything on this thread. */
  workers: number;
  /**
   * Images handed to sharp at once per thread (sharp runs them on libuv's threads); twice as many
   * are started ahead of the one being yielded, so a slow image doesn't idle the others.
   */
  inFlight: number;
}

/**
 * One job: crop and resize, save the JPEG, return the RGB bytes. Never throws for a bad image;
 * the failure comes back as a result so a run can report every bad file at once.
 */
export async function processImage(
  job: ImageJob,
  index: number,
  opts: PreprocessOptions & { jpegQuality: number },
): Promise<ImageResult> {
  try {
    const { rgb } = await centerCropResize(job.input, opts);
    await Deno.writeFile(job.output, await encodeJpeg(rgb, opts.size, opts.jpegQuality));
    return { index, rgb };
  } catch (error) {
    return { index, error: (error as Error).message, tooSmall: error instanceof ImageTooSmallError };
  }
}

/**
 * Preprocesses every job, yielding results in job order while at most a few dozen images are in
 * memory (so 61,578 images need no more than 6). With `workers > 0` the work is spread over
 * that many worker threads; their results are byte-identical to this thread's.
 */
export async function* preprocessImages(
  jobs: readonly ImageJob[],
  opts: BatchOptions,
): AsyncGenerator<ImageResult> {
  const pool = opts.workers > 0 ? new WorkerPool(opts.workers, opts.inFlight) : null;
  const slots = Math.max(1, opts.workers) * opts.inFlight;
  const start = (i: number): Promise<ImageResult> => {
    const result = pool ? pool.submit(jobs[i], i, opts) : processImage(jobs[i], i, opts);
    result.catch(() => {}); // awaited in order below; a worker's crash rejects them all
    return result;
  };
  try {
    const pending: Promise<ImageResult>[] = [];
    let next = 0;
    while (next < jobs.length && pending.length < 2 * slots) pending.push(start(next++));
    while (pending.length > 0) {
      const result = await pending.shift()!;
      if (next < jobs.length) pending.push(start(next++));
      yield result;
    }
  } finally {
    pool?.close();
  }
}

/** Which jobs made it into the packed file (in order), and which failed and why. */
export interface PackedOutcome {
  kept: number[];
  failed: { index: number; error: string; tooSmall: boolean }[];
}

/**
 * Preprocesses every job into `packedPath`: the kept images' RGB bytes one after another, in job
 * order (a failed image leaves no row), written in chunks of 256 images so memory stays flat.
 * Each processed image is also saved as its job's JPEG `output`.
 */
export async function preprocessToPacked(
  jobs: readonly ImageJob[],
  packedPath: string,
  opts: BatchOptions,
  onProgress: (done: number) => void = () => {},
): Promise<PackedOutcome> {
  const bytesPerImage = opts.size * opts.size * 3;
  const chunk = new Uint8Array(256 * bytesPerImage);
  let filled = 0;
  const outcome: PackedOutcome = { kept: [], failed: [] };
  using packed = await Deno.open(packedPath, { write: true, create: true, truncate: true });
  for await (const result of preprocessImages(jobs, opts)) {
    if ("error" in result) {
      outcome.failed.push(result);
    } else {
      outcome.kept.push(result.index);
      chunk.set(result.rgb, filled);
      filled += bytesPerImage;
      if (filled === chunk.length) {
        await writeAll(packed, chunk);
        filled = 0;
      }
    }
    onProgress(result.index + 1);
  }
  await writeAll(packed, chunk.subarray(0, filled));
  return outcome;
}

/** Writes all of `bytes` (a single write may take only part). */
async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/**
 * Runs `work` over `items` with at most `limit` in flight (sharp does its work on libuv's
 * threads, so several promises in flight is how both cores get used).
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
  return results;
}
