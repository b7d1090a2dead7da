/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) and the distributions the
 * generator draws from. Every galaxy gets its own generators keyed by (seed, index, stream), so a
 * galaxy never depends on the order, concurrency or count of the run that produced it.
 *
 * @module
 */

/** splitmix32 step: a good 32-bit mixer, used to turn keys into well-spread state words. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Folds a non-negative integer up to 2^53 (or any finite number, by its bits) into a 32-bit hash. */
function foldKey(hash: number, key: number): number {
  const low = key >>> 0;
  const high = Math.floor(key / 4294967296) >>> 0;
  hash = splitmix32(hash ^ low);
  return splitmix32(hash ^ high ^ 0x5bd1e995);
}

/** Seeded pseudo-random generator; same keys, same sequence, on every platform. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** Keys are integers such as (seed, galaxy index, stream id); their order matters. */
  constructor(...keys: number[]) {
    let hash = 0x2545f491;
    for (const key of keys) {
      if (!Number.isFinite(key)) {
        throw new Error(`Rng key must be a finite number, got ${key}`);
      }
      hash = foldKey(hash, key);
    }
    this.#a = hash = splitmix32(hash);
    this.#b = hash = splitmix32(hash);
    this.#c = hash = splitmix32(hash);
    this.#d = splitmix32(hash) | 1; // xoshiro must not start from an all-zero state
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const b = this.#b;
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    this.#c ^= this.#a;
    this.#d ^= b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Log-uniform in [low, high): for scales such as sizes and brightnesses. */
  logUniform(low: number, high: number): number {
    return low * Math.exp(Math.log(high / low) * this.next());
  }

  /** Integer in [low, high], both inclusive. */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** Standard normal (Box-Muller; no cached second value, so the stream stays simple). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Gamma(shape, 1) by Marsaglia-Tsang, with the usual boost for shape < 1. */
  gamma(shape: number): number {
    if (shape < 1) {
      return this.gamma(shape + 1) * Math.pow(1 - this.next(), 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.next();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }

  /** Dirichlet draw with the given concentration parameters (all > 0). */
  dirichlet(alpha: readonly number[]): number[] {
    const draws = alpha.map((a) => this.gamma(a));
    const total = draws.reduce((sum, value) => sum + value, 0);
    return total > 0 ? draws.map((value) => value / total) : alpha.map(() => 1 / alpha.length);
  }

  /** Index drawn with probability proportional to `weights` (non-negative, not all zero). */
  pick(weights: readonly number[]): number {
    let total = 0;
    for (const weight of weights) total += weight;
    let target = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      target -= weights[i];
      if (target < 0) return i;
    }
    // Rounding can leave target at ~0 after the last subtraction: fall back to the last non-zero.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return weights.length - 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
