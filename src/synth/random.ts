// A small, fast, seeded pseudo-random generator (mulberry32) with the helpers the synthetic
// place generator needs. Deterministic: the same seed always yields the same sequence.

/** Mixes two 32-bit integers into one well-scrambled 32-bit integer (a murmur3-style finaliser). */
export function hash32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A precomputed cumulative table so weighted picks cost one binary search. */
export interface WeightedTable<T> {
  items: readonly T[];
  cumulative: Float64Array;
  total: number;
}

export function weightedTable<T>(items: readonly T[], weights: readonly number[]): WeightedTable<T> {
  if (items.length === 0 || items.length !== weights.length) {
    throw new Error('weightedTable needs the same, non-zero number of items and weights');
  }
  const cumulative = new Float64Array(items.length);
  let total = 0;
  for (let i = 0; i < items.length; i++) {
    const w = weights[i];
    if (!(w >= 0)) throw new Error(`weight ${i} must be a non-negative number`);
    total += w;
    cumulative[i] = total;
  }
  if (total <= 0) throw new Error('weightedTable needs at least one positive weight');
  return { items, cumulative, total };
}

export class Rng {
  private state: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(arr: readonly T[]): T {
    return arr[Math.floor(this.next() * arr.length)];
  }

  /** Weighted choice from a precomputed table (build it once with weightedTable). */
  weightedPick<T>(table: WeightedTable<T>): T {
    const target = this.next() * table.total;
    const cum = table.cumulative;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid] > target) hi = mid;
      else lo = mid + 1;
    }
    return table.items[lo];
  }

  /** Standard normal deviate (Box–Muller, keeping the spare value). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Poisson-distributed count (Knuth for small means, normal approximation for large ones). */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** A child stream, independent of this one's future output. */
  fork(label: number): Rng {
    return new Rng(hash32(this.state, label));
  }
}

/** An independent stream per (seed, index): households are generated reproducibly in isolation. */
export function streamFor(seed: number, index: number): Rng {
  return new Rng(hash32(hash32(seed >>> 0, 0x5eed), index >>> 0));
}
