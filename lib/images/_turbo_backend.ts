/**
 * The fast preprocessing backend: libjpeg-turbo decodes at a DCT-scaled size (424 -> 212 at 1/2),
 * then the centre box is resampled with Pillow's Lanczos-3 in JavaScript (`_lanczos.ts`). The
 * scale is chosen by Pillow's `draft()` rule, so the pixels are the same bytes as Pillow's
 * `im.draft("RGB", ...)` followed by `resize((64, 64), LANCZOS, box=...)`. All synchronous: one
 * image costs well under a millisecond, and a worker runs it without yielding.
 *
 * @module
 */
import { type Box, LanczosResampler } from "./_lanczos.ts";
import { TurboJpeg } from "./_turbojpeg.ts";
import { centerCrop, type Preprocessed, type PreprocessOptions } from "./_geometry.ts";

/** Magic numbers of formats people save galaxies in, to say what a non-JPEG file is. */
const SIGNATURES: [string, number[]][] = [
  ["a PNG image", [0x89, 0x50, 0x4e, 0x47]],
  ["a GIF image", [0x47, 0x49, 0x46, 0x38]],
  ["a TIFF image", [0x49, 0x49, 0x2a, 0x00]],
  ["a TIFF image", [0x4d, 0x4d, 0x00, 0x2a]],
  ["a BMP image", [0x42, 0x4d]],
  ["a RIFF (WebP?) file", [0x52, 0x49, 0x46, 0x46]],
];

/** Why `bytes` is not a JPEG, or null when it starts like one. */
export function notJpegReason(bytes: Uint8Array): string | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return null;
  if (bytes.length === 0) return "unsupported image format: the file is empty";
  const kind = SIGNATURES.find(([, magic]) => magic.every((b, i) => bytes[i] === b))?.[0];
  const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  return `unsupported image format: ${kind ?? `starts with bytes ${head}`}, not a JPEG ` +
    `(Step 2's libjpeg-turbo decoder reads JPEG only)`;
}

/** Crop + resize + JPEG on one loaded libturbojpeg; one per thread. */
export class TurboBackend {
  /** Resamplers by geometry (Step 2 sees one geometry 61,578 times). */
  readonly #resamplers = new Map<string, LanczosResampler>();
  /** The decode buffer, reused (the resampler copies what it needs out of it). */
  #decoded = new Uint8Array(0);

  constructor(readonly turbo: TurboJpeg) {}

  /** Centre crop `opts.crop` and resize to `opts.size`, from a JPEG's bytes. */
  centerCropResize(bytes: Uint8Array, opts: PreprocessOptions): Preprocessed {
    const reason = notJpegReason(bytes);
    if (reason) throw new Error(reason);
    const { crop, size } = opts;
    const { width, height } = this.turbo.header(bytes);
    const { left, top } = centerCrop(width, height, crop);
    // Pillow's draft(): the largest of 1/8, 1/4, 1/2, 1 that keeps the image at least as large as
    // the whole image resized at the crop's ratio (so the crop keeps at least `size` pixels).
    const ratio = Math.min(
      Math.floor(width / Math.floor(width * size / crop)),
      Math.floor(height / Math.floor(height * size / crop)),
    );
    const shrink = [8, 4, 2].find((s) => ratio >= s) ?? 1;
    const w = Math.ceil(width / shrink), h = Math.ceil(height / shrink);
    const box: Box = {
      left: left / shrink,
      top: top / shrink,
      right: (left + crop) / shrink,
      bottom: (top + crop) / shrink,
    };
    if (this.#decoded.length < w * h * 3) this.#decoded = new Uint8Array(w * h * 3);
    const decoded = this.turbo.decode(bytes, w, h, this.#decoded.subarray(0, w * h * 3));
    const rgb = this.#resampler(w, h, box, size).resample(decoded);
    return { rgb, width: size, height: size };
  }

  /** Baseline 4:2:0 JPEG of `size` x `size` RGB pixels. */
  encodeJpeg(rgb: Uint8Array, size: number, quality: number): Uint8Array {
    return this.turbo.encode(rgb, size, size, quality);
  }

  #resampler(w: number, h: number, box: Box, size: number): LanczosResampler {
    const key = `${w}x${h} ${box.left},${box.top},${box.right},${box.bottom} ${size}`;
    let resampler = this.#resamplers.get(key);
    if (!resampler) {
      if (this.#resamplers.size >= 16) this.#resamplers.clear(); // images of many sizes: stay small
      resampler = new LanczosResampler(w, h, box, size, size);
      this.#resamplers.set(key, resampler);
    }
    return resampler;
  }
}
