/**
 * A linear-flux RGB canvas with the few drawing primitives galaxies are made of, a PSF blur, and
 * the SDSS-like finish: Lupton asinh stretch (colour-preserving, so saturated centres stay
 * yellow), sky level and grainy sky noise, quantised to 8-bit RGB. Each primitive touches only its
 * own bounding rectangle; the blur only the rectangle of extended (pre-PSF) light.
 *
 * Light is sampled on a half-resolution grid (213x213, one sample every 2 frame pixels) and
 * interpolated to 424x424 at the end. Kaggle cutouts are zoomed SDSS images whose PSF spans 2.5-6
 * frame pixels, so nothing finer than the grid survives anyway, and it quarters the per-pixel work.
 *
 * All parameters are in frame pixels; pixel (x, y) has its centre at integer coordinates, the
 * frame centre is (FRAME - 1) / 2.
 *
 * @module
 */

import { FRAME } from "./_morphology.ts";
import type { Rng } from "./_rng.ts";

/** Linear flux ratios (R, G, B), each with mean 1 so brightness and colour stay separate. */
export type Colour = readonly [number, number, number];

/**
 * Asinh softening: flux 1 maps to full scale, 0.0025 to ~10 counts. A large Q puts most of a
 * galaxy in the logarithmic regime, so exponential profiles fall off linearly as SDSS cutouts do.
 */
const STRETCH_Q = 100;
const STRETCH_NORM = 255 / Math.asinh(STRETCH_Q);

/** An elliptical shape: centre, position angle (rad), axis ratio b/a. */
export interface Ellipse {
  x: number;
  y: number;
  angle: number;
  q: number;
}

export interface SersicParams extends Ellipse {
  /** Effective (half-light) radius in px along the major axis. */
  re: number;
  n: number;
  /** Surface brightness at re. */
  amp: number;
  colour: Colour;
  /** Isophote exponent: 2 is an ellipse, 3-4 boxy. */
  boxiness?: number;
}

export interface DiskParams extends Ellipse {
  /** Exponential scale length, px. */
  h: number;
  /** Central surface brightness. */
  amp: number;
  colour: Colour;
  armColour: Colour;
  arms: number;
  flocculent: boolean;
  /** Pitch angle, degrees. */
  pitch: number;
  armContrast: number;
  /** Angle (in the disk plane) where the arms start, and the radius they start at. */
  armPhase: number;
  armStart: number;
  bar?: { amp: number; length: number; q: number; colour: Colour };
  ring?: { radius: number; width: number; amp: number; colour: Colour };
  /** Dark lane along the projected major axis: width (px) and depth 0..1. */
  dust?: { width: number; depth: number; offset: number };
}

/** Grid points per side: frame pixels 0, 2, ..., 424 (the last one only feeds interpolation). */
const GRID = FRAME / 2 + 1;
/** Frame pixels per grid step. */
const STEP = 2;

/** Inclusive grid-index bounds. */
type Rect = [x0: number, y0: number, x1: number, y1: number];

export class Canvas {
  /** [GRID, GRID, 3] linear flux. */
  readonly flux = new Float32Array(GRID * GRID * 3);
  /** Union of extended-light rectangles; empty when x0 > x1. */
  #extended: Rect = [GRID, GRID, -1, -1];

  reset(): void {
    this.flux.fill(0);
    this.#extended = [GRID, GRID, -1, -1];
  }

  /** Sersic spheroid: ellipticals, bulges, companions. */
  sersic(p: SersicParams): void {
    const b = 2 * p.n - 1 / 3 + 0.009876 / p.n;
    // Stop where the profile drops under 1/2000 of the visibility threshold scale.
    const rMax = Math.min(p.re * Math.pow(1 + Math.log(Math.max(p.amp, 1e-6) / 2e-4) / b, p.n), 260);
    if (!(rMax > 0)) return;
    const rect = this.#rect(p.x, p.y, rMax, true);
    const cos = Math.cos(p.angle), sin = Math.sin(p.angle);
    const invQ = 1 / p.q, invN = 1 / p.n, invRe = 1 / p.re, soft2 = 0.5;
    const boxy = p.boxiness ?? 2;
    const [cr, cg, cb] = p.colour;
    const flux = this.flux;
    for (let y = rect[1]; y <= rect[3]; y++) {
      const dy = y * STEP - p.y;
      let i = (y * GRID + rect[0]) * 3;
      for (let x = rect[0]; x <= rect[2]; x++, i += 3) {
        const dx = x * STEP - p.x;
        const u = dx * cos + dy * sin;
        const v = (dy * cos - dx * sin) * invQ;
        const r = boxy === 2
          ? Math.sqrt(u * u + v * v + soft2)
          : Math.pow(Math.pow(Math.abs(u), boxy) + Math.pow(Math.abs(v), boxy), 1 / boxy) + 0.3;
        if (r > rMax) continue;
        const value = p.amp * Math.exp(-b * (Math.pow(r * invRe, invN) - 1));
        flux[i] += value * cr;
        flux[i + 1] += value * cg;
        flux[i + 2] += value * cb;
      }
    }
  }

  /** Inclined exponential disk with optional log-spiral arms, bar, ring and dust lane. */
  disk(p: DiskParams): void {
    const rMax = Math.min(p.h * Math.log(Math.max(p.amp, 1e-6) / 2e-4), 260);
    if (!(rMax > 0)) return;
    const rect = this.#rect(p.x, p.y, rMax, true);
    const cos = Math.cos(p.angle), sin = Math.sin(p.angle), invQ = 1 / p.q, invH = 1 / p.h;
    const spiral = p.arms > 0 || p.flocculent;
    const windK = 1 / Math.tan((p.pitch * Math.PI) / 180);
    // Mean of ((1 + cos) / 2)^2 is 3/8: dividing by it keeps the arm light equal to the disk's.
    const armNorm = 8 / 3;
    const [dr, dg, db] = p.colour, [ar, ag, ab] = p.armColour;
    const bar = p.bar;
    const barCos = Math.cos(p.armPhase), barSin = Math.sin(p.armPhase);
    const ring = p.ring, dust = p.dust;
    const flux = this.flux;
    for (let y = rect[1]; y <= rect[3]; y++) {
      const dy = y * STEP - p.y;
      let i = (y * GRID + rect[0]) * 3;
      for (let x = rect[0]; x <= rect[2]; x++, i += 3) {
        const dx = x * STEP - p.x;
        const u = dx * cos + dy * sin;
        const vSky = dy * cos - dx * sin;
        const v = vSky * invQ;
        const r = Math.sqrt(u * u + v * v + 0.25);
        if (r > rMax) continue;
        const base = p.amp * Math.exp(-r * invH);
        let plain = base, arm = 0;
        if (spiral) {
          const fade = r < p.armStart ? (r * r) / (p.armStart * p.armStart) : 1;
          const phi = Math.atan2(v, u) - p.armPhase;
          const wind = Math.log(r / p.armStart) * windK;
          let pattern: number;
          if (p.flocculent) {
            const t1 = 0.5 + 0.5 * Math.cos(3 * (phi - wind));
            const t2 = 0.5 + 0.5 * Math.cos(7 * (phi - 1.3 * wind) + 1.7);
            const t3 = 0.5 + 0.5 * Math.cos(11 * (phi - 0.8 * wind) + 0.4);
            pattern = 4.5 * t1 * t2 * t3 * t1;
          } else {
            const t = 0.5 + 0.5 * Math.cos(p.arms * (phi - wind));
            pattern = t * t * armNorm;
          }
          const contrast = p.armContrast * fade;
          plain = base * (1 - contrast);
          arm = base * contrast * pattern;
        }
        let r0 = plain * dr + arm * ar, g0 = plain * dg + arm * ag, b0 = plain * db + arm * ab;
        if (bar) {
          const bu = u * barCos + v * barSin, bv = (v * barCos - u * barSin) / bar.q;
          const t = (bu * bu + bv * bv) / (bar.length * bar.length);
          if (t < 1) {
            const value = bar.amp * (1 - t) * (1 - t);
            r0 += value * bar.colour[0];
            g0 += value * bar.colour[1];
            b0 += value * bar.colour[2];
          }
        }
        if (ring) {
          const d = (r - ring.radius) / ring.width;
          if (d > -4 && d < 4) {
            const value = ring.amp * Math.exp(-0.5 * d * d);
            r0 += value * ring.colour[0];
            g0 += value * ring.colour[1];
            b0 += value * ring.colour[2];
          }
        }
        if (dust) {
          const d = (vSky - dust.offset) / dust.width;
          const keep = 1 - dust.depth * Math.exp(-0.5 * d * d) * Math.min(1, 1.4 - Math.abs(u) / rMax);
          r0 *= keep;
          g0 *= keep;
          b0 *= keep;
        }
        flux[i] += r0;
        flux[i + 1] += g0;
        flux[i + 2] += b0;
      }
    }
  }

  /**
   * Elliptical Gaussian blob. `extended` blobs are blurred with the galaxy (knots, clumps, tails);
   * point sources drawn after the blur pass their PSF in `sigma` instead.
   */
  gaussian(
    x: number,
    y: number,
    sigma: number,
    q: number,
    angle: number,
    amp: number,
    colour: Colour,
    extended: boolean,
  ): void {
    // Reach out to where the blob falls under 2e-4 flux (~1 count), however bright its core.
    const reach = sigma * Math.sqrt(2 * Math.log(Math.max(amp, 4e-4) / 2e-4));
    const rect = this.#rect(x, y, reach + 1, extended);
    const cos = Math.cos(angle), sin = Math.sin(angle);
    const k = -0.5 / (sigma * sigma), invQ2 = 1 / (q * q);
    const flux = this.flux;
    for (let py = rect[1]; py <= rect[3]; py++) {
      const dy = py * STEP - y;
      let i = (py * GRID + rect[0]) * 3;
      for (let px = rect[0]; px <= rect[2]; px++, i += 3) {
        const dx = px * STEP - x;
        const u = dx * cos + dy * sin, v = dy * cos - dx * sin;
        const value = amp * Math.exp(k * (u * u + v * v * invQ2));
        flux[i] += value * colour[0];
        flux[i + 1] += value * colour[1];
        flux[i + 2] += value * colour[2];
      }
    }
  }

  /** Thin ring or arc (angles in the ellipse's own frame), e.g. a lensed arc. */
  arc(
    e: Ellipse,
    radius: number,
    width: number,
    from: number,
    to: number,
    amp: number,
    colour: Colour,
  ): void {
    const rect = this.#rect(e.x, e.y, radius + 4 * width, true);
    const cos = Math.cos(e.angle), sin = Math.sin(e.angle), invQ = 1 / e.q;
    const middle = (from + to) / 2, half = (to - from) / 2;
    const flux = this.flux;
    for (let y = rect[1]; y <= rect[3]; y++) {
      const dy = y * STEP - e.y;
      let i = (y * GRID + rect[0]) * 3;
      for (let x = rect[0]; x <= rect[2]; x++, i += 3) {
        const dx = x * STEP - e.x;
        const u = dx * cos + dy * sin, v = (dy * cos - dx * sin) * invQ;
        const d = (Math.sqrt(u * u + v * v) - radius) / width;
        if (d < -4 || d > 4) continue;
        let along = Math.atan2(v, u) - middle;
        along -= 2 * Math.PI * Math.round(along / (2 * Math.PI));
        const taper = 1 - Math.pow(Math.abs(along) / half, 4);
        if (taper <= 0) continue;
        const value = amp * taper * Math.exp(-0.5 * d * d);
        flux[i] += value * colour[0];
        flux[i + 1] += value * colour[1];
        flux[i + 2] += value * colour[2];
      }
    }
  }

  /** Straight line across the whole frame (satellite trail, diffraction spike when `decay` > 0). */
  line(x: number, y: number, angle: number, width: number, amp: number, colour: Colour, decay = 0): void {
    const nx = -Math.sin(angle), ny = Math.cos(angle);
    const k = -0.5 / (width * width);
    const reach = decay > 0 ? Math.min(6 / decay, 300) : Infinity;
    const rect = this.#rect(x, y, Math.min(reach, 2 * FRAME), false);
    const flux = this.flux;
    for (let py = rect[1]; py <= rect[3]; py++) {
      let i = (py * GRID + rect[0]) * 3;
      for (let px = rect[0]; px <= rect[2]; px++, i += 3) {
        const dx = px * STEP - x, dy = py * STEP - y;
        const d = dx * nx + dy * ny;
        if (d > 4 * width || d < -4 * width) continue;
        let value = amp * Math.exp(k * d * d);
        if (decay > 0) value *= Math.exp(-decay * Math.abs(dx * ny - dy * nx));
        flux[i] += value * colour[0];
        flux[i + 1] += value * colour[1];
        flux[i + 2] += value * colour[2];
      }
    }
  }

  /** Gaussian PSF (sigma in frame px) over the extended-light rectangle, separable. */
  blur(sigma: number): void {
    const [x0, y0, x1, y1] = this.#extended;
    const gridSigma = sigma / STEP;
    if (x0 > x1 || gridSigma <= 0.25) return;
    const radius = Math.max(1, Math.ceil(2.5 * gridSigma));
    const kernel = new Float32Array(2 * radius + 1);
    let total = 0;
    for (let k = -radius; k <= radius; k++) {
      total += kernel[k + radius] = Math.exp((-0.5 * k * k) / (gridSigma * gridSigma));
    }
    for (let k = 0; k < kernel.length; k++) kernel[k] /= total;
    const width = x1 - x0 + 1, height = y1 - y0 + 1;
    const line = new Float32Array(Math.max(width, height) * 3);
    const flux = this.flux;
    for (let y = y0; y <= y1; y++) {
      const row = (y * GRID + x0) * 3;
      line.set(flux.subarray(row, row + width * 3));
      convolve(line, width, kernel, radius, flux, row, 3);
    }
    for (let x = x0; x <= x1; x++) {
      const column = (y0 * GRID + x) * 3;
      for (let y = 0; y < height; y++) {
        const src = column + y * GRID * 3;
        line[y * 3] = flux[src];
        line[y * 3 + 1] = flux[src + 1];
        line[y * 3 + 2] = flux[src + 2];
      }
      convolve(line, height, kernel, radius, flux, column, GRID * 3);
    }
  }

  /**
   * The finished [FRAME, FRAME, 3] RGB bytes: each grid sample is stretched and gets its sky noise,
   * then the grid is interpolated to full resolution, which also gives the 2-3 px grain of
   * resampled SDSS sky.
   */
  toRgb(sky: Colour, noiseSigma: number, rng: Rng): Uint8Array {
    const flux = this.flux;
    const table = gaussianTable();
    // Bilinear interpolation averages up to 4 noise samples; 1.6x restores the sky's spread.
    const noiseScale = noiseSigma * 1.6;
    const grid = new Float32Array(GRID * GRID * 3);
    // Sky noise needs speed more than statistical quality: a local xorshift32, seeded from `rng`.
    let state = rng.u32() | 1;
    for (let i = 0; i < grid.length; i += 3) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const bits = state >>> 0;
      let r = sky[0] + table[bits & 0x3ff] * noiseScale;
      let g = sky[1] + table[(bits >>> 10) & 0x3ff] * noiseScale;
      let b = sky[2] + table[(bits >>> 20) & 0x3ff] * noiseScale;
      const fr = flux[i], fg = flux[i + 1], fb = flux[i + 2];
      const intensity = (fr + fg + fb) / 3;
      if (intensity > 1e-6) {
        const scale = (Math.asinh(STRETCH_Q * intensity) / intensity) * STRETCH_NORM;
        // Lupton's trick: scale all channels together so saturated cores keep their colour.
        const peak = Math.max(fr, fg, fb) * scale;
        const k = peak > 255 ? scale * (255 / peak) : scale;
        r += fr * k;
        g += fg * k;
        b += fb * k;
      }
      // Clamped to [0, 255] and offset by 0.5 here, on the small grid: averages of these values
      // stay in range, so the full-resolution loop below rounds by plain truncation.
      grid[i] = r < 0 ? 0.5 : r > 255 ? 255.5 : r + 0.5;
      grid[i + 1] = g < 0 ? 0.5 : g > 255 ? 255.5 : g + 0.5;
      grid[i + 2] = b < 0 ? 0.5 : b > 255 ? 255.5 : b + 0.5;
    }
    const out = new Uint8Array(FRAME * FRAME * 3);
    const row = new Float32Array(GRID * 3);
    for (let y = 0; y < FRAME; y++) {
      const top = (y >> 1) * GRID * 3;
      if ((y & 1) === 0) row.set(grid.subarray(top, top + GRID * 3));
      else {
        for (let k = 0; k < GRID * 3; k++) row[k] = 0.5 * (grid[top + k] + grid[top + GRID * 3 + k]);
      }
      let o = y * FRAME * 3;
      for (let a = 0; a < (FRAME / 2) * 3; a += 3, o += 6) {
        const r = row[a], g = row[a + 1], b = row[a + 2];
        out[o] = r;
        out[o + 1] = g;
        out[o + 2] = b;
        out[o + 3] = 0.5 * (r + row[a + 3]);
        out[o + 4] = 0.5 * (g + row[a + 4]);
        out[o + 5] = 0.5 * (b + row[a + 5]);
      }
    }
    return out;
  }

  /** Clipped grid rectangle around frame point (x, y); extended ones join the blur region. */
  #rect(x: number, y: number, radius: number, extended: boolean): Rect {
    const rect: Rect = [
      Math.max(0, Math.floor((x - radius) / STEP)),
      Math.max(0, Math.floor((y - radius) / STEP)),
      Math.min(GRID - 1, Math.ceil((x + radius) / STEP)),
      Math.min(GRID - 1, Math.ceil((y + radius) / STEP)),
    ];
    if (extended && rect[0] <= rect[2] && rect[1] <= rect[3]) {
      const e = this.#extended;
      e[0] = Math.min(e[0], rect[0]);
      e[1] = Math.min(e[1], rect[1]);
      e[2] = Math.max(e[2], rect[2]);
      e[3] = Math.max(e[3], rect[3]);
    }
    return rect;
  }
}

/** 1-D convolution of `count` interleaved RGB samples from `line` into `out` with a stride. */
function convolve(
  line: Float32Array,
  count: number,
  kernel: Float32Array,
  radius: number,
  out: Float32Array,
  start: number,
  stride: number,
): void {
  for (let k = 0; k < count; k++) {
    let r = 0, g = 0, b = 0;
    const lo = Math.max(0, k - radius), hi = Math.min(count - 1, k + radius);
    for (let j = lo; j <= hi; j++) {
      const w = kernel[j - k + radius];
      const s = j * 3;
      r += w * line[s];
      g += w * line[s + 1];
      b += w * line[s + 2];
    }
    const o = start + k * stride;
    out[o] = r;
    out[o + 1] = g;
    out[o + 2] = b;
  }
}

let table: Float32Array | undefined;

/** 1024 standard-normal quantiles: noise by table lookup, three samples per random word. */
function gaussianTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(1024);
  for (let i = 0; i < 1024; i++) table[i] = inverseNormal((i + 0.5) / 1024);
  return table;
}

/** Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9). */
function inverseNormal(p: number): number {
  const a = [
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.357751867269,
    -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low || p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(p < low ? p : 1 - p));
    const value = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    return p < low ? value : -value;
  }
  const q = p - 0.5, r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}
