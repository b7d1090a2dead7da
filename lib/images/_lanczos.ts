/**
 * Lanczos-3 resampling of a box of an RGB image, the way Pillow's `Image.resize(size, LANCZOS,
 * box=...)` does it (Resample.c): separable, horizontal pass then vertical, antialiased (the
 * kernel is stretched by the downscale factor, so every source pixel under the box contributes),
 * weights normalised per output pixel and rounded to 22-bit fixed point, 8-bit rounding between
 * the passes. The same bytes as Pillow for the same input; taps near the box's edge read the
 * pixels around the box (the rest of the image), not a clamped edge.
 *
 * @module
 */

/** The integer bits Pillow keeps for weights: 32 - 8 (pixel) - 2 (headroom for negative lobes). */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);
const SUPPORT = 3;

function sinc(x: number): number {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

function lanczos3(x: number): number {
  return -SUPPORT <= x && x < SUPPORT ? sinc(x) * sinc(x / SUPPORT) : 0;
}

/** Per output pixel: the first source pixel, how many, and their fixed-point weights. */
interface Coefficients {
  /** Taps per output pixel (the widest one). */
  taps: number;
  first: Int32Array;
  count: Int32Array;
  /** `taps` weights per output pixel, zero beyond `count`. */
  weights: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for one axis. */
function coefficients(inSize: number, in0: number, in1: number, outSize: number): Coefficients {
  const scale = (in1 - in0) / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const k = new Float64Array(taps);
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    // Pillow truncates toward zero after adding 0.5 (C's (int) cast).
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = lanczos3((x + xmin - center + 0.5) / filterScale);
      sum += k[x];
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum === 0 ? k[x] : k[x] / sum;
      weights[xx * taps + x] = Math.trunc(w < 0 ? w * ONE - 0.5 : w * ONE + 0.5);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  // The sums are int32 like Pillow's: 255 times the positive weights must stay below 2^31.
  for (let xx = 0; xx < outSize; xx++) {
    let positive = HALF;
    for (let x = 0; x < taps; x++) positive += 255 * Math.max(0, weights[xx * taps + x]);
    if (positive >= 2 ** 31) throw new Error(`Lanczos weights overflow 32 bits (${inSize} -> ${outSize})`);
  }
  return { taps, first, count, weights };
}

/** The clamp of Pillow's clip8: fixed-point sum to a byte. */
function clip8(sum: number): number {
  return sum <= 0 ? 0 : sum >= ONE * 256 ? 255 : sum >> PRECISION_BITS;
}

/** A source box, in source pixels (fractions allowed), as Pillow's `box=(left, top, right, bottom)`. */
export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/**
 * A resampler for one geometry (source size, box, output size), its weights computed once:
 * Step 2 resizes 61,578 images of the same geometry.
 */
export class LanczosResampler {
  readonly #horizontal: Coefficients;
  readonly #vertical: Coefficients;
  /** Source rows the vertical pass reads: [rowFirst, rowFirst + rows). */
  readonly #rowFirst: number;
  readonly #rows: number;
  readonly #temp: Uint8Array;
  /** One output row's fixed-point sums. */
  readonly #sums: Int32Array;

  constructor(
    readonly inWidth: number,
    readonly inHeight: number,
    readonly box: Box,
    readonly outWidth: number,
    readonly outHeight: number,
  ) {
    this.#horizontal = coefficients(inWidth, box.left, box.right, outWidth);
    this.#vertical = coefficients(inHeight, box.top, box.bottom, outHeight);
    const v = this.#vertical;
    this.#rowFirst = v.first[0];
    this.#rows = v.first[outHeight - 1] + v.count[outHeight - 1] - this.#rowFirst;
    this.#temp = new Uint8Array(outWidth * this.#rows * 3);
    this.#sums = new Int32Array(outWidth * 3);
  }

  /** Resamples `rgb` (`inWidth` x `inHeight` x 3) into a new `outWidth` x `outHeight` x 3 array. */
  resample(rgb: Uint8Array): Uint8Array {
    if (rgb.length !== this.inWidth * this.inHeight * 3) {
      throw new Error(`expected ${this.inWidth}x${this.inHeight} RGB, got ${rgb.length} bytes`);
    }
    const temp = this.#temp, outW = this.outWidth, outH = this.outHeight, stride = outW * 3;
    // Horizontal pass over the rows the vertical pass needs: [rows, outWidth, 3].
    {
      const { taps, first, count, weights } = this.#horizontal;
      const rows = this.#rows, inStride = this.inWidth * 3, rowFirst = this.#rowFirst;
      for (let y = 0; y < rows; y++) {
        const rowStart = (y + rowFirst) * inStride;
        let o = y * stride;
        for (let xx = 0; xx < outW; xx++, o += 3) {
          let r = HALF, g = HALF, b = HALF;
          let at = rowStart + first[xx] * 3;
          const kAt = xx * taps, kEnd = kAt + count[xx];
          for (let k = kAt; k < kEnd; k++, at += 3) {
            const w = weights[k];
            r = (r + Math.imul(rgb[at], w)) | 0;
            g = (g + Math.imul(rgb[at + 1], w)) | 0;
            b = (b + Math.imul(rgb[at + 2], w)) | 0;
          }
          temp[o] = clip8(r);
          temp[o + 1] = clip8(g);
          temp[o + 2] = clip8(b);
        }
      }
    }
    // Vertical pass, a whole output row at a time so the inner loop runs along memory.
    const out = new Uint8Array(stride * outH), sums = this.#sums;
    {
      const { taps, first, count, weights } = this.#vertical;
      const rowFirst = this.#rowFirst;
      for (let yy = 0; yy < outH; yy++) {
        sums.fill(HALF);
        const kAt = yy * taps, kEnd = kAt + count[yy];
        let at = (first[yy] - rowFirst) * stride;
        for (let k = kAt; k < kEnd; k++, at += stride) {
          const w = weights[k];
          for (let i = 0; i < stride; i++) sums[i] = (sums[i] + Math.imul(temp[at + i], w)) | 0;
        }
        const o = yy * stride;
        for (let i = 0; i < stride; i++) out[o + i] = clip8(sums[i]);
      }
    }
    return out;
  }
}
