/**
 * The course's preprocessing of one galaxy image: centre crop (424 -> 212 by default), resize to
 * a small square (64x64) with Lanczos, RGB. Training, evaluation and `predict` all go through
 * `centerCropResize`, so a model never sees pixels prepared another way; `preprocessImages` runs
 * it over a whole folder on every core, streaming.
 *
 * Two backends, picked once per thread by `defaultPreprocessor()` and named in `imageVersions()`
 * (so in every cache key: switching backends reruns Step 2):
 * - libjpeg-turbo through FFI (`_turbo_backend.ts`): DCT-scaled decode plus Pillow's Lanczos-3
 *   in JavaScript; the same bytes as Pillow's `draft()` + `resize(LANCZOS, box)`, and ~3x faster
 *   than sharp. JPEG only.
 * - sharp (libvips) when libturbojpeg can't be loaded: slower, within about a level.
 *
 * @module
 */
import { ImageTooSmallError, type Preprocessed, type PreprocessOptions } from "./_geometry.ts";
import { TURBOJPEG_PATHS } from "./_turbojpeg.ts";
import {
  type BackendSpec,
  type ImageJob,
  type ImageResult,
  openTurboPreprocessor,
  type Preprocessor,
  processImage as processWith,
} from "./_backend.ts";
import { sharpCenterCropResize, sharpEncodeJpeg, sharpThumbnail, sharpVersions } from "./_sharp_backend.ts";
import { WorkerPool } from "./_pool.ts";

export {
  type BackendSpec,
  type ImageJob,
  type ImageResult,
  ImageTooSmallError,
  openTurboPreprocessor,
  type Preprocessed,
  type PreprocessOptions,
  type Preprocessor,
  TURBOJPEG_PATHS,
};

/**
 * Opens the backend `spec` names (see `openTurboPreprocessor`: a libjpeg-turbo path that doesn't
 * load is an error, not a fallback).
 */
export function openPreprocessor(spec: BackendSpec): Preprocessor {
  return spec.kind === "sharp" ? sharpPreprocessor() : openTurboPreprocessor(spec.path);
}

function sharpPreprocessor(fallbackReason?: string): Preprocessor {
  const { sharp, libvips } = sharpVersions();
  return {
    spec: { kind: "sharp" },
    decoder: `sharp ${sharp} (libvips ${libvips})`,
    fallbackReason,
    centerCropResize: sharpCenterCropResize,
    encodeJpeg: sharpEncodeJpeg,
  };
}

/**
 * libjpeg-turbo from the first of `turbojpegPaths` that loads, else sharp (with the reason).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPreprocessor } from "./preprocess.ts";
 * const p = createPreprocessor({ turbojpegPaths: ["/nowhere/libturbojpeg.so.0"] });
 * assert.equal(p.spec.kind, "sharp");
 * assert.match(p.fallbackReason!, /\/nowhere\/libturbojpeg\.so\.0: not found/);
 * ```
 */
export function createPreprocessor(
  options: { turbojpegPaths?: readonly string[] } = {},
): Preprocessor {
  const { turbojpegPaths = TURBOJPEG_PATHS } = options;
  const problems: string[] = [];
  for (const path of turbojpegPaths) {
    try {
      return openPreprocessor({ kind: "libjpeg-turbo", path });
    } catch (error) {
      const e = error as Error;
      problems.push(`${path}: ${e instanceof Deno.errors.NotFound ? "not found" : e.message}`);
    }
  }
  return sharpPreprocessor(`libturbojpeg not loaded (${problems.join("; ") || "no paths to try"})`);
}

let threadDefault: Preprocessor | undefined;

/**
 * This thread's preprocessor, created on first use with `createPreprocessor()`: the same choice
 * every time on one machine, so training, evaluation and `predict` see the same pixels.
 */
export function defaultPreprocessor(): Preprocessor {
  return threadDefault ??= createPreprocessor();
}

/**
 * Centre-crops and resizes an image file (or its bytes). Throws with what is wrong when the
 * image can't be decoded (`ImageTooSmallError` when it is smaller than the crop).
 */
export async function centerCropResize(
  input: string | Uint8Array,
  opts: PreprocessOptions,
  preprocessor: Preprocessor = defaultPreprocessor(),
): Promise<Preprocessed> {
  const bytes = typeof input === "string" ? await Deno.readFile(input) : input;
  return await preprocessor.centerCropResize(bytes, opts);
}

/** JPEG bytes of raw RGB pixels. */
export async function encodeJpeg(
  rgb: Uint8Array,
  size: number,
  quality = 90,
  preprocessor: Preprocessor = defaultPreprocessor(),
): Promise<Uint8Array> {
  return await preprocessor.encodeJpeg(rgb, size, quality);
}

/** A small JPEG thumbnail of an image file, for figures (always sharp). */
export function thumbnail(input: string | Uint8Array, size: number): Promise<Uint8Array> {
  return sharpThumbnail(input, size);
}

/**
 * Versions that change preprocessed pixels, for cache keys: sharp's and libvips' (thumbnails,
 * the fallback) and the decoder this thread's preprocessor runs.
 */
export function imageVersions(): Record<string, string> {
  const { sharp, libvips } = sharpVersions();
  return { sharp, libvips, decoder: defaultPreprocessor().decoder };
}

export interface BatchOptions extends PreprocessOptions {
  jpegQuality: number;
  /** Worker threads; 0 runs everything on this thread. */
  workers: number;
  /**
   * On this thread: images in flight (sharp runs them on libuv's threads). With workers: images
   * per batch, one message each way (a worker runs a sharp batch all in flight).
   */
  inFlight: number;
  /** The backend; workers open the same one. Default: `defaultPreprocessor()`. */
  preprocessor?: Preprocessor;
}

/**
 * One job: crop and resize, save the JPEG, return the RGB bytes. Never throws for a bad image;
 * the failure comes back as a result so a run can report every bad file at once.
 */
export function processImage(
  job: ImageJob,
  index: number,
  opts: PreprocessOptions & { jpegQuality: number },
  preprocessor: Preprocessor = defaultPreprocessor(),
): Promise<ImageResult> {
  return processWith(job, index, opts, preprocessor);
}

/**
 * How Step 2 spreads images over threads with `preprocessor` on `cores` cores: libjpeg-turbo is
 * synchronous, so one worker per core, batches of 16 images (this thread only collects results);
 * sharp works on libuv's threads, so eight images in flight on this thread (measured faster than
 * workers on two cores).
 * The bytes are the same with any setting (bench/preprocess_bench.ts compares them).
 */
export function batchThreads(
  preprocessor: Preprocessor,
  cores: number = navigator.hardwareConcurrency,
): { workers: number; inFlight: number } {
  return preprocessor.sync ? { workers: Math.max(1, cores), inFlight: 16 } : { workers: 0, inFlight: 8 };
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
  const preprocessor = opts.preprocessor ?? defaultPreprocessor();
  const pool = opts.workers > 0 ? new WorkerPool(opts.workers, preprocessor.spec) : null;
  // With workers: batches of `inFlight` images, two per worker queued. On this thread: single
  // images, `inFlight` of them in flight. Either way twice that is started ahead of the one yielded.
  const batch = pool ? opts.inFlight : 1;
  const slots = pool ? 2 * opts.workers : opts.inFlight;
  const start = (first: number): Promise<ImageResult[]> => {
    const end = Math.min(jobs.length, first + batch);
    const results = pool
      ? pool.submit(jobs.slice(first, end).map((job, i) => ({ job, index: first + i })), opts)
      : processImage(jobs[first], first, opts, preprocessor).then((result) => [result]);
    results.catch(() => {}); // awaited in order below; a worker's crash rejects them all
    return results;
  };
  try {
    const pending: Promise<ImageResult[]>[] = [];
    let next = 0;
    const startNext = () => {
      pending.push(start(next));
      next += batch;
    };
    while (next < jobs.length && pending.length < 2 * slots) startNext();
    while (pending.length > 0) {
      const results = await pending.shift()!;
      if (next < jobs.length) startNext();
      yield* results;
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
