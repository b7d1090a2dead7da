/**
 * Vote fractions from a latent morphology, the way Galaxy Zoo produced them: a crowd of 25-60
 * volunteers of unequal weight walks the decision tree, each answering from what they perceive.
 * Perception mixes the true answer with a confused prior, more so for small or faint galaxies,
 * and a per-galaxy Dirichlet draw gives crowds their own disagreements. Because every volunteer
 * answers exactly one child of each answer they gave, the tree sums hold by construction; the
 * rounding to 6 decimals then keeps them exact (largest remainder, parents first).
 *
 * @module
 */

import { NUM_CLASSES, QUESTIONS } from "../classes.ts";
import { clamp, EDGE_BULGES, type Morphology, ODD_FEATURES } from "./_morphology.ts";
import type { Rng } from "./_rng.ts";

/** Fixed-point scale of the CSV values: 6 decimals. */
export const MICRO = 1_000_000;

/** What a thoroughly confused crowd answers, per question (question order, answer order). */
const PRIORS: readonly (readonly number[])[] = [
  [0.42, 0.5, 0.08],
  [0.2, 0.8],
  [0.25, 0.75],
  [0.45, 0.55],
  [0.08, 0.42, 0.44, 0.06],
  [0.35, 0.65],
  [0.42, 0.5, 0.08],
  [0.12, 0.07, 0.17, 0.17, 0.3, 0.15, 0.02],
  [0.55, 0.12, 0.33],
  [0.4, 0.4, 0.2],
  [0.06, 0.4, 0.08, 0.04, 0.04, 0.38],
];

/** Confusion of a perfectly clear galaxy, and how much more a murky one adds, per question. */
const CONFUSION_BASE = [0.08, 0.06, 0.12, 0.15, 0.25, 0.25, 0.15, 0.3, 0.2, 0.25, 0.3];
const CONFUSION_MURK = [0.3, 0.15, 0.3, 0.35, 0.3, 0.25, 0.2, 0.3, 0.3, 0.35, 0.4];

/** Per-question answer probabilities a typical volunteer would have for this galaxy. */
export function perceivedAnswers(m: Morphology): number[][] {
  const truth = trueAnswers(m);
  return truth.map((answer, q) => {
    const confusion = clamp(
      CONFUSION_BASE[q] + CONFUSION_MURK[q] * (1 - m.clarity),
      0,
      0.95,
    );
    return answer.map((p, a) => (1 - confusion) * p + confusion * PRIORS[q][a]);
  });
}

/** Soft "true" answers per question: what a careful expert would say, with honest ambiguity. */
function trueAnswers(m: Morphology): number[][] {
  const isStar = m.kind === "star";
  // Plain disks with no arms or bar look smooth to most volunteers; arms, bars, rings and edge-on
  // thin disks are what "features or disk" means.
  const structure = m.kind === "edgeOn" || m.kind === "irregular" ? 1 : Math.max(
    m.armContrast * (m.arms > 0 || m.flocculent ? 1 : 0),
    m.bar * 0.9,
    m.odd === "ring" ? 0.8 : 0,
  );
  const featured = m.kind === "smooth"
    ? 0.06
    : clamp(0.45 + 0.55 * structure * (0.6 + 0.4 * m.clarity), 0, 1);
  const q1 = isStar ? [0.03, 0.03, 0.94] : [1 - featured, featured, 0];

  const edgeOn = m.kind === "edgeOn"
    ? 1
    : smoothStep(0.45, 0.2, m.axisRatio) * (m.kind === "disk" ? 0.6 : 0.2);
  const q2 = [edgeOn, 1 - edgeOn];
  const q3 = [
    m.bar * (0.6 + 0.4 * m.axisRatio),
    1 - m.bar * (0.6 + 0.4 * m.axisRatio),
  ];
  const spiral = m.arms > 0 || m.flocculent ? clamp(0.45 + 0.75 * m.armContrast, 0, 1) : 0.04;
  const q4 = [spiral, 1 - spiral];
  const q5 = ordinal(
    4,
    m.kind === "disk" ? m.bulgeClass : m.kind === "smooth" ? 2 : 1,
    0.6,
  );

  const odd = m.odd === null ? 0.02 : m.odd === "other" ? 0.7 : 0.9;
  const q6 = [odd, 1 - odd];
  const round = m.axisRatio > 0.8 ? 0 : m.axisRatio > 0.45 ? 1 : 2;
  // Near a class boundary the vote splits: blend with the neighbour class.
  const q7 = ordinal(3, round, 0.75);
  const boundary = round === 0
    ? m.axisRatio - 0.8
    : round === 1
    ? Math.min(0.8 - m.axisRatio, m.axisRatio - 0.45)
    : 0.45 - m.axisRatio;
  if (boundary < 0.05) {
    const neighbour = round === 1 ? (m.axisRatio > 0.625 ? 0 : 2) : 1;
    const share = 0.35 * (1 - boundary / 0.05);
    q7[round] -= share;
    q7[neighbour] += share;
  }
  const q8 = m.odd === null ? [...PRIORS[7]] : oneHot(7, ODD_FEATURES.indexOf(m.odd), 0.75, PRIORS[7]);
  const q9 = oneHot(3, EDGE_BULGES.indexOf(m.edgeBulge), 0.7, PRIORS[8]);
  const winding = m.pitch < 14.5 ? 0 : m.pitch < 25 ? 1 : 2;
  const q10 = ordinal(3, winding, 0.6);
  const armIndex = m.flocculent ? 5 : clamp(m.arms, 1, 5) - 1;
  const countable = m.flocculent ? 0.1 : clamp(0.2 + 0.7 * m.armContrast * m.clarity, 0, 1);
  const q11 = oneHot(6, armIndex, countable, [0.06, 0.4, 0.08, 0.04, 0.04, 0.38]);
  return [q1, q2, q3, q4, q5, q6, q7, q8, q9, q10, q11];
}

/** Tree-weighted vote fractions in micro-units (sum to 1e6 at the root questions). */
export function simulateVotes(m: Morphology, rng: Rng): Int32Array {
  const perceived = perceivedAnswers(m);
  // The crowd's own opinion of this galaxy: a Dirichlet around the typical perception.
  const spread = 8 + 25 * m.clarity;
  const crowd = perceived.map((p) => rng.dirichlet(p.map((value) => Math.max(value * spread, 0.02))));

  const weights = new Float64Array(NUM_CLASSES);
  const volunteers = rng.int(25, 60);
  let total = 0;
  for (let v = 0; v < volunteers; v++) {
    const weight = rng.uniform(0.5, 1.5);
    total += weight;
    const answer = (q: number): number => {
      const a = rng.pick(crowd[q]);
      weights[QUESTIONS[q].answers[a]] += weight;
      return a;
    };
    const first = answer(0);
    if (first === 0) answer(6);
    if (first === 1) {
      if (answer(1) === 0) answer(8);
      else {
        answer(2);
        if (answer(3) === 0) {
          answer(9);
          answer(10);
        }
        answer(4);
      }
    }
    // Everyone answers question 6, star voters included: the Kaggle labels' Class6 sums to 1.
    if (answer(5) === 0) answer(7);
  }
  return roundTree(Array.from(weights, (w) => w / total));
}

/**
 * Rounds fractions to micro-units so each question's answers sum exactly to its parent's rounded
 * value (1e6 at the root): floor, then hand the remaining units to the largest remainders.
 */
export function roundTree(fractions: readonly number[]): Int32Array {
  const micro = new Int32Array(NUM_CLASSES);
  for (const question of QUESTIONS) {
    const target = question.parent === null ? MICRO : micro[question.parent];
    const exact = question.answers.map((i) => fractions[i] * MICRO);
    const exactTotal = exact.reduce((sum, value) => sum + value, 0);
    // Rescale to the parent's rounded value (they differ by < 1 unit) so rounding cannot drift.
    const scaled = exact.map((value) => exactTotal > 0 ? (value * target) / exactTotal : 0);
    const floors = scaled.map(Math.floor);
    let remaining = target - floors.reduce((sum, value) => sum + value, 0);
    const order = scaled.map((_, k) => k).sort((a, b) =>
      (scaled[b] - floors[b]) - (scaled[a] - floors[a]) || a - b
    );
    for (let k = 0; remaining > 0 && k < order.length; k++, remaining--) {
      floors[order[k]]++;
    }
    if (exactTotal === 0 && target > 0) floors[floors.length - 1] = target; // unreachable by the vote walk
    question.answers.forEach((i, k) => (micro[i] = floors[k]));
  }
  return micro;
}

/** Micro-units as a plain decimal string with at most 6 decimals: 0, 1, 0.38315. */
export function formatMicro(value: number): string {
  if (value === 0) return "0";
  if (value === MICRO) return "1";
  return `0.${String(value).padStart(6, "0").replace(/0+$/, "")}`;
}

function ordinal(count: number, index: number, peak: number): number[] {
  const weights = Array.from(
    { length: count },
    (_, k) => k === index ? peak : Math.abs(k - index) === 1 ? (1 - peak) / 2 : 0.02,
  );
  const total = weights.reduce((sum, value) => sum + value, 0);
  return weights.map((value) => value / total);
}

function oneHot(
  count: number,
  index: number,
  peak: number,
  rest: readonly number[],
): number[] {
  const restTotal = rest.reduce(
    (sum, value, k) => (k === index ? sum : sum + value),
    0,
  );
  return Array.from(
    { length: count },
    (_, k) => k === index ? peak : ((1 - peak) * rest[k]) / restTotal,
  );
}

/** 0 at `from`, 1 at `to` (either direction), smooth in between. */
function smoothStep(from: number, to: number, x: number): number {
  const t = clamp((x - from) / (to - from), 0, 1);
  return t * t * (3 - 2 * t);
}
