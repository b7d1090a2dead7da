/**
 * Draws one galaxy's latent morphology as an SDSS-like 424x424 RGB image: the main body from the
 * morphology, its odd feature, PSF blur, then a few field stars and faint background galaxies
 * that carry no label signal, and finally the asinh stretch with sky noise.
 *
 * @module
 */

import { Canvas, type Colour, type Ellipse } from "./_canvas.ts";
import { clamp, FRAME, type Morphology } from "./_morphology.ts";
import type { Rng } from "./_rng.ts";

// Flux ratios in (R, G, B) = SDSS (i, r, g): old stars red-yellow, young disks and arms blue.
const SPHEROID: Colour = [1.25, 1.04, 0.71];
const DISK: Colour = [1.08, 0.99, 0.93];
const ARM: Colour = [0.97, 0.93, 1.1];
const KNOT: Colour = [0.8, 0.95, 1.25];
const STAR_COLOURS: readonly Colour[] = [
  [1.5, 1.0, 0.5],
  [1.25, 1.0, 0.75],
  [1.0, 1.0, 1.0],
  [0.8, 1.0, 1.2],
  [1.8, 0.8, 0.4],
];

/** Satellite trails show up in one SDSS band, so they are strongly coloured. */
const TRAIL_COLOURS: readonly Colour[] = [[2.4, 0.3, 0.3], [0.3, 2.4, 0.3], [0.4, 0.4, 2.2]];
const GHOST_COLOURS: readonly Colour[] = [[1.3, 0.4, 1.3], [0.4, 1.8, 0.8], [1.6, 0.6, 0.8]];

/** Visibility threshold in flux units (a few counts above the sky after the stretch). */
const THRESHOLD = 0.0025;
const CENTRE = (FRAME - 1) / 2;
/** Surface brightness at re of a spheroid per unit disk central brightness (cores are 5-50x re). */
const SPHEROID_SB = 0.15;

/** Renders `m` into RGB bytes [424, 424, 3]; `rng` supplies only incidental detail and noise. */
export function renderGalaxy(m: Morphology, rng: Rng, canvas: Canvas): Uint8Array {
  canvas.reset();
  const x = CENTRE + m.dx, y = CENTRE + m.dy;
  const tint = rng.uniform(-0.08, 0.08); // galaxy-to-galaxy colour scatter
  const spheroid = tinted(SPHEROID, tint), disk = tinted(DISK, tint);
  const main: Ellipse = { x, y, angle: m.angle, q: m.axisRatio };

  switch (m.kind) {
    case "smooth":
      drawSpheroid(canvas, main, m.extent, m.brightness * SPHEROID_SB, m.sersicN, spheroid);
      break;
    case "disk":
      drawDisk(canvas, m, main, rng, spheroid, disk);
      break;
    case "edgeOn":
      drawEdgeOn(canvas, m, main, rng, spheroid, disk);
      break;
    case "irregular":
      drawIrregular(canvas, m, main, rng);
      break;
    case "star":
      drawArtifact(canvas, m, rng);
      break;
  }
  drawOdd(canvas, m, main, rng, spheroid);
  canvas.blur(m.psf);
  drawField(canvas, m, rng);

  const skyLevel = rng.uniform(2.5, 6);
  const sky: Colour = [skyLevel * rng.uniform(0.9, 1.3), skyLevel, skyLevel * rng.uniform(0.5, 0.8)];
  return canvas.toRgb(sky, rng.uniform(2.8, 4.2), rng);
}

/** Sersic body whose isophote at THRESHOLD sits at `extent` px. */
function drawSpheroid(
  canvas: Canvas,
  e: Ellipse,
  extent: number,
  amp: number,
  n: number,
  colour: Colour,
): void {
  const b = 2 * n - 1 / 3;
  const re = extent / Math.pow(1 + Math.log(amp / THRESHOLD) / b, n);
  canvas.sersic({ ...e, re, n, amp, colour });
}

function drawDisk(
  canvas: Canvas,
  m: Morphology,
  e: Ellipse,
  rng: Rng,
  spheroid: Colour,
  colour: Colour,
): void {
  const amp = m.brightness;
  const h = m.extent / Math.log(amp / THRESHOLD);
  const armPhase = rng.uniform(0, 2 * Math.PI);
  const barLength = h * rng.uniform(1.0, 1.7);
  const bar = m.bar > 0
    ? { amp: amp * (0.6 + 0.9 * m.bar), length: barLength, q: rng.uniform(0.2, 0.32), colour: spheroid }
    : undefined;
  const ring = m.odd === "ring"
    ? {
      radius: h * rng.uniform(1.6, 2.6),
      width: h * rng.uniform(0.12, 0.25),
      amp: amp * rng.uniform(0.35, 0.7),
      colour: ARM,
    }
    : undefined;
  const dust = m.odd === "dustLane" ? { width: h * 0.18, depth: 0.75, offset: h * 0.15 } : undefined;
  canvas.disk({
    ...e,
    h,
    amp,
    colour,
    armColour: ARM,
    arms: m.arms,
    flocculent: m.flocculent,
    pitch: m.pitch,
    armContrast: m.armContrast,
    armPhase,
    armStart: bar ? barLength : h * rng.uniform(0.4, 0.8),
    bar,
    ring,
    dust,
  });
  drawBulge(canvas, e, m.bulgeFraction, amp, h, m.sersicN, spheroid, 1 - (1 - m.axisRatio) * 0.3, 2);
  // Star-forming knots along the arms: the blue clumps of real spirals.
  if (m.arms > 0) {
    const knots = Math.round(m.armContrast * rng.uniform(3, 12));
    const windK = 1 / Math.tan((m.pitch * Math.PI) / 180);
    const cos = Math.cos(e.angle), sin = Math.sin(e.angle);
    const r0 = bar ? barLength : h * 0.6;
    for (let k = 0; k < knots; k++) {
      const r = r0 * Math.exp(rng.uniform(0.2, 1.1) * Math.log((2.6 * h) / r0));
      const arm = rng.int(0, m.arms - 1);
      const phi = armPhase + (2 * Math.PI * arm) / m.arms + Math.log(r / r0) * windK + 0.1 * rng.normal();
      const u = r * Math.cos(phi), v = r * Math.sin(phi) * e.q;
      const kx = e.x + u * cos - v * sin, ky = e.y + u * sin + v * cos;
      canvas.gaussian(
        kx,
        ky,
        rng.uniform(0.8, 1.6),
        1,
        0,
        amp * Math.exp(-r / h) * rng.uniform(0.6, 1.8),
        KNOT,
        true,
      );
    }
  }
}

function drawEdgeOn(
  canvas: Canvas,
  m: Morphology,
  e: Ellipse,
  rng: Rng,
  spheroid: Colour,
  colour: Colour,
): void {
  const amp = m.brightness * 2;
  const h = m.extent / Math.log(amp / THRESHOLD);
  const dust = m.odd === "dustLane"
    ? { width: Math.max(1.2, h * e.q * 0.45), depth: 0.85, offset: rng.uniform(-0.3, 0.3) * h * e.q }
    : undefined;
  canvas.disk({
    ...e,
    h,
    amp,
    colour,
    armColour: ARM,
    arms: 0,
    flocculent: false,
    pitch: 15,
    armContrast: 0,
    armPhase: 0,
    armStart: 1,
    dust,
  });
  if (m.edgeBulge === "none") return;
  const boxy = m.edgeBulge === "boxy";
  drawBulge(
    canvas,
    e,
    m.bulgeFraction,
    amp * e.q * 4,
    h,
    boxy ? 1 : m.sersicN,
    spheroid,
    boxy ? 0.75 : 0.8,
    boxy ? 4 : 2,
  );
}

/** Bulge holding `fraction` of the disk+bulge light, drawn over a disk of (amp, h). */
function drawBulge(
  canvas: Canvas,
  e: Ellipse,
  fraction: number,
  diskAmp: number,
  h: number,
  n: number,
  colour: Colour,
  q: number,
  boxiness: number,
): void {
  if (fraction < 0.01) return;
  const diskFlux = 2 * Math.PI * h * h * diskAmp;
  const bulgeFlux = (fraction / (1 - Math.min(fraction, 0.9))) * diskFlux;
  const re = h * clamp(0.25 + 0.7 * fraction, 0.25, 0.8);
  const b = 2 * n - 1 / 3;
  // Total flux of a Sersic profile: 2 pi n re^2 Ie e^b b^-2n Gamma(2n).
  const unit = 2 * Math.PI * n * re * re * Math.exp(b + lnGamma(2 * n) - 2 * n * Math.log(b));
  canvas.sersic({ ...e, q, re, n, amp: bulgeFlux / unit, colour, boxiness });
}

function drawIrregular(canvas: Canvas, m: Morphology, e: Ellipse, rng: Rng): void {
  const amp = m.brightness * 0.25;
  canvas.sersic({ ...e, re: m.extent * 0.4, n: 1, amp: amp * 0.3, colour: DISK });
  const clumps = rng.int(5, 14);
  for (let k = 0; k < clumps; k++) {
    const r = m.extent * 0.45 * Math.abs(rng.normal());
    const phi = rng.uniform(0, 2 * Math.PI);
    canvas.gaussian(
      e.x + r * Math.cos(phi),
      e.y + r * Math.sin(phi) * e.q,
      rng.uniform(1.5, 5),
      rng.uniform(0.5, 1),
      rng.uniform(0, Math.PI),
      amp * rng.uniform(0.4, 2),
      rng.chance(0.7) ? KNOT : DISK,
      true,
    );
  }
}

function drawArtifact(canvas: Canvas, m: Morphology, rng: Rng): void {
  const x = CENTRE + m.dx, y = CENTRE + m.dy;
  // Often a faint small galaxy sits behind the artifact.
  if (rng.chance(0.5)) {
    const e: Ellipse = {
      x: x + rng.uniform(-30, 30),
      y: y + rng.uniform(-30, 30),
      angle: m.angle,
      q: rng.uniform(0.4, 1),
    };
    drawSpheroid(canvas, e, m.extent * 0.4, 0.005, 2, SPHEROID);
  }
  switch (m.artifact) {
    case "star": {
      const colour = STAR_COLOURS[rng.int(2, 3)];
      const amp = rng.uniform(30, 200);
      canvas.gaussian(x, y, 2.2, 1, 0, amp, colour, true);
      canvas.gaussian(x, y, rng.uniform(8, 16), 1, 0, amp * 0.002, [1.2, 0.8, 1.0], true);
      const spikeAngle = rng.uniform(-0.2, 0.2);
      for (let k = 0; k < 2; k++) {
        canvas.line(x, y, spikeAngle + (k * Math.PI) / 2, 0.8, amp * 0.005, colour, rng.uniform(0.03, 0.06));
      }
      break;
    }
    case "trail": {
      const colour = TRAIL_COLOURS[rng.int(0, 2)];
      canvas.line(
        x + rng.uniform(-20, 20),
        y + rng.uniform(-20, 20),
        rng.uniform(0, Math.PI),
        rng.uniform(1, 2.2),
        rng.uniform(0.01, 0.05),
        colour,
      );
      break;
    }
    case "ghost": {
      const colour = GHOST_COLOURS[rng.int(0, 2)];
      canvas.gaussian(
        x,
        y,
        rng.uniform(12, 30),
        rng.uniform(0.7, 1),
        m.angle,
        rng.uniform(0.01, 0.04),
        colour,
        true,
      );
      canvas.gaussian(x, y, 1.8, 1, 0, rng.uniform(5, 30), STAR_COLOURS[3], true);
      break;
    }
  }
}

/** The odd feature's extra light (rings and dust lanes are drawn with the disk). */
function drawOdd(canvas: Canvas, m: Morphology, e: Ellipse, rng: Rng, spheroid: Colour): void {
  const side = rng.uniform(0, 2 * Math.PI);
  switch (m.odd) {
    case "lens": {
      const radius = m.extent * rng.uniform(0.45, 0.75);
      const span = rng.uniform(0.7, 2.0);
      canvas.arc(
        { x: e.x, y: e.y, angle: 0, q: 1 },
        radius,
        rng.uniform(1.2, 2.2),
        side - span / 2,
        side + span / 2,
        m.brightness * rng.uniform(0.2, 0.4),
        KNOT,
      );
      break;
    }
    case "disturbed": {
      // A lopsided plume: a tidal tail curving away from one side.
      drawTail(
        canvas,
        e.x,
        e.y,
        side,
        m.extent * rng.uniform(0.9, 1.5),
        rng.uniform(-1.2, 1.2),
        m.brightness * 0.06,
        DISK,
        rng,
      );
      canvas.gaussian(
        e.x + 0.35 * m.extent * Math.cos(side),
        e.y + 0.35 * m.extent * Math.sin(side),
        m.extent * 0.3,
        0.7,
        side,
        m.brightness * 0.05,
        DISK,
        true,
      );
      break;
    }
    case "other": {
      const r = m.extent * rng.uniform(0.15, 0.5);
      canvas.gaussian(
        e.x + r * Math.cos(side),
        e.y + r * Math.sin(side),
        rng.uniform(1.5, 3),
        1,
        0,
        m.brightness * rng.uniform(0.6, 1.5),
        KNOT,
        true,
      );
      break;
    }
    case "merger": {
      const distance = m.extent * rng.uniform(0.55, 1.1);
      const companion: Ellipse = {
        x: e.x + distance * Math.cos(side),
        y: e.y + distance * Math.sin(side),
        angle: rng.uniform(0, Math.PI),
        q: rng.uniform(0.5, 1),
      };
      drawSpheroid(
        canvas,
        companion,
        m.extent * rng.uniform(0.5, 0.9),
        m.brightness * SPHEROID_SB * rng.uniform(0.5, 1),
        rng.uniform(1.5, 3.5),
        spheroid,
      );
      drawTail(
        canvas,
        companion.x,
        companion.y,
        side,
        m.extent * rng.uniform(0.6, 1.2),
        rng.uniform(-1.5, 1.5),
        m.brightness * 0.07,
        DISK,
        rng,
      );
      drawTail(
        canvas,
        e.x,
        e.y,
        side + Math.PI,
        m.extent * rng.uniform(0.5, 1.0),
        rng.uniform(-1.5, 1.5),
        m.brightness * 0.06,
        DISK,
        rng,
      );
      break;
    }
  }
}

/** Tidal tail: a curved string of soft blobs fading outwards. */
function drawTail(
  canvas: Canvas,
  x: number,
  y: number,
  direction: number,
  length: number,
  curl: number,
  amp: number,
  colour: Colour,
  rng: Rng,
): void {
  const steps = 14;
  for (let k = 1; k <= steps; k++) {
    const t = k / steps;
    const angle = direction + curl * t;
    const r = length * t;
    canvas.gaussian(
      x + r * Math.cos(angle),
      y + r * Math.sin(angle),
      2 + 4 * t,
      1,
      0,
      amp * (1.2 - t) * rng.uniform(0.7, 1.3),
      colour,
      true,
    );
  }
}

/** Field stars and tiny background galaxies: realistic clutter that carries no label. */
function drawField(canvas: Canvas, m: Morphology, rng: Rng): void {
  const stars = rng.int(1, 8);
  for (let k = 0; k < stars; k++) {
    const amp = 0.002 * Math.pow(rng.next(), -1.2); // many faint, a few bright
    canvas.gaussian(
      rng.uniform(0, FRAME),
      rng.uniform(0, FRAME),
      m.psf * rng.uniform(0.9, 1.1),
      1,
      0,
      Math.min(amp, 40),
      STAR_COLOURS[rng.int(0, 4)],
      false,
    );
  }
  const galaxies = rng.int(0, 4);
  for (let k = 0; k < galaxies; k++) {
    const sigma = Math.hypot(rng.uniform(1.5, 4), m.psf);
    canvas.gaussian(
      rng.uniform(0, FRAME),
      rng.uniform(0, FRAME),
      sigma,
      rng.uniform(0.4, 1),
      rng.uniform(0, Math.PI),
      rng.uniform(0.004, 0.03),
      SPHEROID,
      false,
    );
  }
}

function tinted(colour: Colour, tint: number): Colour {
  return [colour[0] * (1 + tint), colour[1], colour[2] * (1 - tint)];
}

/** ln Gamma(x) for x > 0 (Lanczos, g = 7), enough for Sersic flux normalisation. */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}
