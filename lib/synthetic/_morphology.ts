/**
 * The latent morphology of one synthetic galaxy: what it "really" is. The renderer draws pixels
 * from it and the label model derives volunteer votes from it, so labels are learnable from images.
 * Proportions are tuned so the simulated vote fractions land near the real Kaggle means.
 *
 * @module
 */

import type { Rng } from "./_rng.ts";

/** What the volunteer should answer to question 1, before any confusion. */
export type Kind = "smooth" | "disk" | "edgeOn" | "irregular" | "star";

/** Galaxy Zoo question 8 answers, in column order (Class8.1 ... Class8.7). */
export const ODD_FEATURES = [
  "ring",
  "lens",
  "disturbed",
  "irregular",
  "other",
  "merger",
  "dustLane",
] as const;
export type OddFeature = typeof ODD_FEATURES[number];

/** Star or artifact look: a bright star with spikes, a satellite trail, a coloured ghost blob. */
export type Artifact = "star" | "trail" | "ghost";

/** Question 9 answers in column order: rounded, boxy, no bulge. */
export const EDGE_BULGES = ["rounded", "boxy", "none"] as const;
export type EdgeBulge = typeof EDGE_BULGES[number];

/** Everything the renderer and the label model need to know about one galaxy. */
export interface Morphology {
  kind: Kind;
  /** Offset of the galaxy centre from the frame centre, in pixels of the 424 frame. */
  dx: number;
  dy: number;
  /** Position angle of the major axis, radians. */
  angle: number;
  /** Radius (px) out to which the galaxy is clearly visible above the sky. */
  extent: number;
  /** Central surface brightness of a disk (flux units; 1 saturates the stretch, 0.0025 is faint). */
  brightness: number;
  /** Observed minor/major axis ratio of the main body (disk inclination for disks). */
  axisRatio: number;
  /** Sersic index of the spheroid (smooth galaxies, bulges). */
  sersicN: number;
  /** Bulge-to-total flux ratio (disks); 1 for smooth galaxies. */
  bulgeFraction: number;
  /** Question 5 truth: 0 no bulge, 1 just noticeable, 2 obvious, 3 dominant. */
  bulgeClass: number;
  /** Bar strength, 0 when there is no bar. */
  bar: number;
  /** Number of spiral arms (0 none); 5+ are drawn as they are, labelled "more than four". */
  arms: number;
  /** Patchy arms whose number nobody can count (Class11.6 truth). */
  flocculent: boolean;
  /** Log-spiral pitch angle in degrees: small is tightly wound. */
  pitch: number;
  /** 0..1 how strongly the arms stand out from the disk. */
  armContrast: number;
  edgeBulge: EdgeBulge;
  odd: OddFeature | null;
  artifact: Artifact | null;
  /** PSF Gaussian sigma in px: small, distant galaxies are zoomed more, so they look blurrier. */
  psf: number;
  /** 0..1 how easy the galaxy is to judge (size and brightness); drives vote confusion. */
  clarity: number;
}

/** Frame size of Kaggle images. */
export const FRAME = 424;

/** Draws the latent morphology of one galaxy. */
export function sampleMorphology(rng: Rng): Morphology {
  const kindIndex = rng.pick([0.355, 0.47, 0.13, 0.03, 0.015]);
  const kind = (["smooth", "disk", "edgeOn", "irregular", "star"] as const)[kindIndex];

  // Radius (px) where the light sinks into the sky: the bright half spans 12-45% of the frame.
  const extent = Math.min(100, Math.max(28, 68 * Math.exp(0.22 * rng.normal())));
  const brightness = rng.logUniform(0.06, 0.5);
  const sizeTerm = (extent - 28) / (100 - 28);
  const brightTerm = Math.log(brightness / 0.06) / Math.log(0.5 / 0.06);
  const clarity = clamp(0.15 + 0.55 * sizeTerm + 0.35 * brightTerm, 0, 1);

  const morphology: Morphology = {
    kind,
    dx: 3 * rng.normal(),
    dy: 3 * rng.normal(),
    angle: rng.uniform(0, Math.PI),
    extent,
    brightness,
    axisRatio: 1,
    sersicN: 4,
    bulgeFraction: 0,
    bulgeClass: 0,
    bar: 0,
    arms: 0,
    flocculent: false,
    pitch: 15,
    armContrast: 0,
    edgeBulge: "none",
    odd: null,
    artifact: null,
    psf: 1.6 + 1.8 * (1 - clarity) * rng.uniform(0.6, 1.2),
    clarity,
  };

  switch (kind) {
    case "smooth":
      sampleSmooth(rng, morphology);
      break;
    case "disk":
      sampleDisk(rng, morphology);
      break;
    case "edgeOn":
      sampleEdgeOn(rng, morphology);
      break;
    case "irregular":
      morphology.axisRatio = rng.uniform(0.4, 0.9);
      morphology.odd = "irregular";
      break;
    case "star":
      morphology.artifact = (["star", "trail", "ghost"] as const)[rng.pick([0.6, 0.25, 0.15])];
      break;
  }
  if (kind !== "star" && kind !== "irregular") {
    morphology.odd = sampleOdd(rng, morphology);
  }
  return morphology;
}

function sampleSmooth(rng: Rng, m: Morphology): void {
  // Question 7 classes by axis ratio: round > 0.8, in between 0.45-0.8, cigar < 0.45.
  const shape = rng.pick([0.44, 0.51, 0.05]);
  m.axisRatio = [
    rng.uniform(0.8, 1),
    rng.uniform(0.45, 0.8),
    rng.uniform(0.2, 0.45),
  ][shape];
  // Low indices: after the asinh stretch real ellipticals fall off almost linearly in counts.
  m.sersicN = rng.uniform(0.7, 1.9);
  m.bulgeFraction = 1;
  m.bulgeClass = 3;
}

function sampleDisk(rng: Rng, m: Morphology): void {
  m.axisRatio = Math.sqrt(rng.uniform(0.12, 1)); // cos(inclination), avoiding the edge-on range
  m.bulgeClass = rng.pick([0.12, 0.45, 0.39, 0.04]);
  m.bulgeFraction = [
    rng.uniform(0, 0.03),
    rng.uniform(0.06, 0.15),
    rng.uniform(0.2, 0.4),
    rng.uniform(0.5, 0.7),
  ][
    m.bulgeClass
  ];
  m.sersicN = rng.uniform(1, 2.5);
  // Some disks are plain lenticular-like disks with no spiral: the ones volunteers call smooth.
  if (rng.chance(0.7)) {
    m.flocculent = rng.chance(0.2);
    m.arms = m.flocculent ? 0 : [1, 2, 3, 4, rng.int(5, 6)][rng.pick([0.06, 0.68, 0.14, 0.06, 0.06])];
    m.armContrast = rng.uniform(0.25, 0.75);
    m.pitch = [
      rng.uniform(7, 14),
      rng.uniform(15, 24),
      rng.uniform(26, 38),
    ][rng.pick([0.42, 0.38, 0.2])];
  }
  if (rng.chance(0.3)) m.bar = rng.uniform(0.5, 1);
}

function sampleEdgeOn(rng: Rng, m: Morphology): void {
  m.axisRatio = rng.uniform(0.08, 0.22);
  m.edgeBulge = EDGE_BULGES[rng.pick([0.6, 0.1, 0.3])];
  m.bulgeFraction = m.edgeBulge === "none" ? 0 : rng.uniform(0.15, 0.45);
  m.sersicN = rng.uniform(1, 2.5);
}

/** Odd feature, ~13% of galaxies overall (irregulars are odd by construction). */
function sampleOdd(rng: Rng, m: Morphology): OddFeature | null {
  if (!rng.chance(0.11)) return null;
  const options: [OddFeature, number][] = m.kind === "smooth"
    ? [["lens", 0.25], ["disturbed", 0.2], ["other", 0.25], ["merger", 0.3]]
    : m.kind === "edgeOn"
    ? [["dustLane", 0.5], ["disturbed", 0.15], ["other", 0.15], ["merger", 0.2]]
    : [["ring", 0.3], ["disturbed", 0.2], ["other", 0.15], ["merger", 0.25], [
      "dustLane",
      0.1,
    ]];
  const feature = options[rng.pick(options.map(([, weight]) => weight))][0];
  if (feature === "dustLane" && m.kind === "disk") {
    m.axisRatio = Math.min(m.axisRatio, rng.uniform(0.35, 0.5));
  }
  return feature;
}

export function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value;
}
