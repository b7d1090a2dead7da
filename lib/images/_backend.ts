/**
 * The backend-neutral core that worker threads load: what a preprocessor is, the libjpeg-turbo
 * one, and one image's job (read, crop + resize, save the JPEG). Nothing here imports sharp, so
 * a libjpeg-turbo worker starts in ~50 ms instead of ~150.
 *
 * @module
 */
import { ImageTooSmallError, type Preprocessed, type PreprocessOptions } from "./_geometry.ts";
import { TurboJpeg } from "./_turbojpeg.ts";
import { TurboBackend } from "./_turbo_backend.ts";

/** Which backend a preprocessor runs, as plain data a worker thread can reopen. */
export type BackendSpec = { kind: "libjpeg-turbo"; path: string } | { kind: "sharp" };

/** Crop + resize + JPEG on one backend. */
export interface Preprocessor {
  readonly spec: BackendSpec;
  /** The decoder and its version, e.g. `libjpeg-turbo 2.1.5 (build 20230203)`: a cache-key ingredient. */
  readonly decoder: string;
  /** Why libjpeg-turbo isn't used, when it isn't (each path tried and what went wrong). */
  readonly fallbackReason?: string;
  centerCropResize(bytes: Uint8Array, opts: PreprocessOptions): Promise<Preprocessed>;
  encodeJpeg(rgb: Uint8Array, size: number, quality: number): Promise<Uint8Array>;
  /** The same work without promises, for backends that are synchronous (libjpeg-turbo). */
  readonly sync?: {
    centerCropResize(bytes: Uint8Array, opts: PreprocessOptions): Preprocessed;
    encodeJpeg(rgb: Uint8Array, size: number, quality: number): Uint8Array;
  };
}

/**
 * The libjpeg-turbo preprocessor on the library at `path`. Throws when that file can't be loaded:
 * a worker must run what its pool's thread chose, never quietly something else.
 */
export function openTurboPreprocessor(path: string): Preprocessor {
  const turbo = TurboJpeg.open(path);
  const backend = new TurboBackend(turbo);
  const sync = {
    centerCropResize: (bytes: Uint8Array, opts: PreprocessOptions) => backend.centerCropResize(bytes, opts),
    encodeJpeg: (rgb: Uint8Array, size: number, quality: number) => backend.encodeJpeg(rgb, size, quality),
  };
  return {
    spec: { kind: "libjpeg-turbo", path },
    decoder: `libjpeg-turbo ${turbo.version}`,
    sync,
    centerCropResize: async (bytes, opts) => await sync.centerCropResize(bytes, opts),
    encodeJpeg: async (rgb, size, quality) => await sync.encodeJpeg(rgb, size, quality),
  };
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

/**
 * One job: crop and resize, save the JPEG, return the RGB bytes. Never throws for a bad image;
 * the failure comes back as a result so a run can report every bad file at once.
 */
export async function processImage(
  job: ImageJob,
  index: number,
  opts: PreprocessOptions & { jpegQuality: number },
  preprocessor: Preprocessor,
): Promise<ImageResult> {
  if (preprocessor.sync) return processImageSync(job, index, opts, preprocessor.sync);
  try {
    const { rgb } = await preprocessor.centerCropResize(await Deno.readFile(job.input), opts);
    await Deno.writeFile(job.output, await preprocessor.encodeJpeg(rgb, opts.size, opts.jpegQuality));
    return { index, rgb };
  } catch (error) {
    return failure(index, error);
  }
}

/** `processImage` for a synchronous backend: no promise or I/O thread hop per image. */
function processImageSync(
  job: ImageJob,
  index: number,
  opts: PreprocessOptions & { jpegQuality: number },
  sync: NonNullable<Preprocessor["sync"]>,
): ImageResult {
  try {
    const { rgb } = sync.centerCropResize(Deno.readFileSync(job.input), opts);
    Deno.writeFileSync(job.output, sync.encodeJpeg(rgb, opts.size, opts.jpegQuality));
    return { index, rgb };
  } catch (error) {
    return failure(index, error);
  }
}

function failure(index: number, error: unknown): ImageResult {
  return { index, error: (error as Error).message, tooSmall: error instanceof ImageTooSmallError };
}
