/**
 * The course's preprocessing of one galaxy image: centre crop (424 -> 212 by default), resize to
 * a small square (64x64) with Lanczos, RGB. Training, evaluation and `predict` all go through
 * here, so a model never sees pixels prepared another way.
 *
 * @module
 */
import sharp from "sharp";

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

/**
 * Centre-crops and resizes an image file (or its bytes). Throws with the file name when the
 * image can't be decoded or is smaller than the crop.
 */
export async function centerCropResize(
  input: string | Uint8Array,
  opts: PreprocessOptions,
): Promise<Preprocessed> {
  const image = sharp(input, { failOn: "truncated" });
  const { width = 0, height = 0 } = await image.metadata();
  if (width < opts.crop || height < opts.crop) {
    throw new Error(
      `image is ${width}x${height}, smaller than the ${opts.crop}x${opts.crop} crop`,
    );
  }
  const { data, info } = await image
    .extract({
      left: Math.floor((width - opts.crop) / 2),
      top: Math.floor((height - opts.crop) / 2),
      width: opts.crop,
      height: opts.crop,
    })
    .resize(opts.size, opts.size, { kernel: "lanczos3" })
    .toColourspace("srgb")
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) {
    throw new Error(
      `expected 3 colour channels after conversion, got ${info.channels}`,
    );
  }
  return {
    rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
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
