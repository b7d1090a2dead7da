/**
 * The preprocessing backend on sharp (libvips): the fallback where libturbojpeg can't be loaded
 * (macOS without Homebrew's jpeg-turbo, no `--allow-ffi`). Slower, close in pixels (a mean of
 * about half a level from the libjpeg-turbo backend), and reads any format libvips does.
 *
 * @module
 */
import sharp from "sharp";
import { jpegSize } from "./_jpeg_size.ts";
import { centerCrop, type Preprocessed, type PreprocessOptions } from "./_geometry.ts";

/** sharp's and libvips' versions. */
export function sharpVersions(): { sharp: string; libvips: string } {
  return { sharp: sharp.versions.sharp ?? "", libvips: sharp.versions.vips };
}

/**
 * When the crop and output sizes allow it (424 -> 212 -> 64 does: 424 * 64 / 212 = 128), the
 * whole image is resized to 128 and its centre 64x64 kept. That is the same geometry as cropping
 * first, but lets libjpeg decode at half size (DCT scaling, "shrink-on-load"), which is most of
 * the speed; pixels differ from crop-then-resize by about a third of a level on average.
 */
export async function sharpCenterCropResize(
  bytes: Uint8Array,
  opts: PreprocessOptions,
): Promise<Preprocessed> {
  const { crop, size } = opts;
  const { width, height } = jpegSize(bytes) ?? await sharpSize(bytes);
  const { left, top } = centerCrop(width, height, crop);
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
export async function sharpEncodeJpeg(rgb: Uint8Array, size: number, quality: number): Promise<Uint8Array> {
  const buffer = await sharp(rgb, {
    raw: { width: size, height: size, channels: 3 },
  }).jpeg({ quality }).toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A small JPEG thumbnail of an image file, for figures. */
export async function sharpThumbnail(input: string | Uint8Array, size: number): Promise<Uint8Array> {
  const buffer = await sharp(input).resize(size, size, { kernel: "lanczos3" })
    .jpeg({ quality: 85 }).toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
