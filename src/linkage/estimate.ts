// Parameter estimation without labels: u from random pairs (and exact value
// frequencies), m and the match prior by Expectation–Maximisation on the
// blocked pairs' comparison vectors, aggregated so EM runs over distinct patterns.

import { NULL_LEVEL } from './types.ts';

/** Small deterministic PRNG (mulberry32): the same data always learns the same model. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` random pairs of distinct records (with replacement across pairs). */
export function randomPairs(recordCount: number, count: number, seed = 1): { left: Uint32Array; right: Uint32Array } {
  const random = seededRandom(seed);
  const left = new Uint32Array(count);
  const right = new Uint32Array(count);
  for (let k = 0; k < count; k++) {
    const i = Math.floor(random() * recordCount);
    let j = Math.floor(random() * (recordCount - 1));
    if (j >= i) j++;
    left[k] = i;
    right[k] = j;
  }
  return { left, right };
}

export interface Patterns {
  fieldCount: number;
  /** Distinct comparison vectors, patterns × fields. */
  levels: Uint8Array;
  /** How many pairs share each pattern. */
  counts: Float64Array;
  /** For each input pair, its pattern number. */
  patternOfPair: Uint32Array;
}

/**
 * Counts distinct comparison vectors: EM's cost then depends on distinct patterns, not pairs.
 * A pattern of up to 13 fields is keyed by one number (four bits a level, NULL_LEVEL as 15) in an
 * open-addressing table of typed arrays, so counting a pair allocates nothing; longer patterns
 * are keyed by a string.
 */
export class PatternTally {
  private readonly numberOf = new Map<string, number>();
  private keys = new Float64Array(1024).fill(-1);
  private numbers = new Int32Array(1024);
  private levels = new Uint8Array(1024);
  private counts = new Float64Array(64);
  private size = 0;
  readonly fieldCount: number;
  private readonly numeric: boolean;
  constructor(fieldCount: number) {
    this.fieldCount = fieldCount;
    this.numeric = fieldCount <= 13;
  }

  /** Counts `pattern` (fieldCount levels) `count` times; returns its pattern number. */
  add(pattern: Uint8Array, count = 1): number {
    const number = this.numeric ? this.numberByKey(pattern) : this.numberByText(pattern);
    this.counts[number]! += count;
    return number;
  }

  private numberByText(pattern: Uint8Array): number {
    const key = String.fromCharCode(...pattern);
    let number = this.numberOf.get(key);
    if (number === undefined) {
      number = this.append(pattern);
      this.numberOf.set(key, number);
    }
    return number;
  }

  private numberByKey(pattern: Uint8Array): number {
    let key = 0;
    for (let f = 0; f < this.fieldCount; f++) {
      const level = pattern[f]!;
      // (Fields have at most ten levels; any other level keeps its pattern keyed by text.)
      if (level >= 15 && level !== NULL_LEVEL) return this.numberByText(pattern);
      key = key * 16 + (level === NULL_LEVEL ? 15 : level);
    }
    const mask = this.keys.length - 1;
    let h = Math.imul((key >>> 0) ^ Math.imul(Math.floor(key / 4294967296) >>> 0, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    let slot = h & mask;
    while (this.keys[slot] !== -1) {
      if (this.keys[slot] === key) return this.numbers[slot]!;
      slot = (slot + 1) & mask;
    }
    const number = this.append(pattern);
    this.keys[slot] = key;
    this.numbers[slot] = number;
    if (this.size * 2 > mask) this.rehash();
    return number;
  }

  private append(pattern: Uint8Array): number {
    const number = this.size++;
    if (this.size * this.fieldCount > this.levels.length) {
      const grown = new Uint8Array(this.levels.length * 2 + this.fieldCount);
      grown.set(this.levels);
      this.levels = grown;
    }
    if (this.size > this.counts.length) {
      const grown = new Float64Array(this.counts.length * 2);
      grown.set(this.counts);
      this.counts = grown;
    }
    this.levels.set(pattern.subarray(0, this.fieldCount), number * this.fieldCount);
    return number;
  }

  private rehash(): void {
    const { keys, numbers } = this;
    this.keys = new Float64Array(keys.length * 2).fill(-1);
    this.numbers = new Int32Array(keys.length * 2);
    const mask = this.keys.length - 1;
    for (let old = 0; old < keys.length; old++) {
      const key = keys[old]!;
      if (key === -1) continue;
      let h = Math.imul((key >>> 0) ^ Math.imul(Math.floor(key / 4294967296) >>> 0, 0x9e3779b1), 0x85ebca6b);
      h ^= h >>> 15;
      let slot = h & mask;
      while (this.keys[slot] !== -1) slot = (slot + 1) & mask;
      this.keys[slot] = key;
      this.numbers[slot] = numbers[old]!;
    }
  }

  /** Distinct patterns (patterns × fields) and how many pairs had each. */
  result(): { levels: Uint8Array; counts: Float64Array } {
    return { levels: this.levels.slice(0, this.size * this.fieldCount), counts: this.counts.slice(0, this.size) };
  }
}

/** Collapses identical comparison vectors of pairs (pairs × fields), remembering each pair's pattern. */
export function aggregatePatterns(levels: Uint8Array, fieldCount: number): Patterns {
  const pairCount = fieldCount === 0 ? 0 : levels.length / fieldCount;
  const tally = new PatternTally(fieldCount);
  const patternOfPair = new Uint32Array(pairCount);
  for (let pair = 0; pair < pairCount; pair++) {
    patternOfPair[pair] = tally.add(levels.subarray(pair * fieldCount, (pair + 1) * fieldCount));
  }
  return { fieldCount, ...tally.result(), patternOfPair };
}

export interface MixtureParameters {
  /** m[field][level] = P(level | match). */
  m: number[][];
  /** u[field][level] = P(level | non-match) among the pairs EM sees. */
  u: number[][];
  /** Share of the pairs that are matches. */
  lambda: number;
}

export interface EmResult extends MixtureParameters {
  iterations: number;
  converged: boolean;
}

function normalised(counts: number[]): number[] {
  const total = counts.reduce((sum, count) => sum + count, 0);
  return counts.map((count) => count / total);
}

/** Starting point: agreement levels likely among matches, u as given. */
export function initialMixture(levelCounts: readonly number[], u: readonly (readonly number[])[]): MixtureParameters {
  return {
    m: levelCounts.map((count) => normalised(Array.from({ length: count }, (_, level) => 0.5 ** level * (level === 0 ? 8 : 1)))),
    u: u.map((levels) => [...levels]),
    lambda: 0.1,
  };
}

/**
 * Two-class mixture fitted by EM (fastLink / Splink style) under conditional
 * independence. Missing levels are skipped. A pseudo-count per level keeps
 * unseen levels from reaching probability 0.
 */
export function expectationMaximisation(
  patterns: Patterns,
  levelCounts: readonly number[],
  start: MixtureParameters,
  options: {
    maxIterations?: number;
    tolerance?: number;
    pseudoCount?: number;
    fixU?: boolean;
    /** Fields whose m is known (e.g. from anchor pairs) and kept as started. */
    fixedM?: readonly boolean[];
  } = {},
): EmResult {
  const { maxIterations = 200, tolerance = 1e-6, pseudoCount = 0.5, fixU = false, fixedM = [] } = options;
  const fieldCount = patterns.fieldCount;
  const patternCount = patterns.counts.length;
  let m = start.m.map((levels) => [...levels]);
  let u = start.u.map((levels) => [...levels]);
  let lambda = start.lambda;
  const posterior = new Float64Array(patternCount);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations++;
    const logM = m.map((levels) => levels.map(Math.log));
    const logU = u.map((levels) => levels.map(Math.log));
    const logPrior = Math.log(lambda) - Math.log(1 - lambda);
    for (let p = 0; p < patternCount; p++) {
      let logOdds = logPrior;
      for (let f = 0; f < fieldCount; f++) {
        const level = patterns.levels[p * fieldCount + f]!;
        if (level !== NULL_LEVEL) logOdds += logM[f]![level]! - logU[f]![level]!;
      }
      posterior[p] = 1 / (1 + Math.exp(-logOdds));
    }
    const matchCounts = levelCounts.map((count) => new Array<number>(count).fill(pseudoCount));
    const nonMatchCounts = levelCounts.map((count) => new Array<number>(count).fill(pseudoCount));
    let matchTotal = 0;
    let pairTotal = 0;
    for (let p = 0; p < patternCount; p++) {
      const count = patterns.counts[p]!;
      const matchWeight = count * posterior[p]!;
      const nonMatchWeight = count - matchWeight;
      matchTotal += matchWeight;
      pairTotal += count;
      for (let f = 0; f < fieldCount; f++) {
        const level = patterns.levels[p * fieldCount + f]!;
        if (level === NULL_LEVEL) continue;
        matchCounts[f]![level]! += matchWeight;
        nonMatchCounts[f]![level]! += nonMatchWeight;
      }
    }
    const nextM = matchCounts.map((counts, f) => (fixedM[f] ? m[f]! : normalised(counts)));
    const nextU = fixU ? u : nonMatchCounts.map(normalised);
    const nextLambda = Math.min(1 - 1e-9, Math.max(1e-9, matchTotal / pairTotal));
    let change = Math.abs(nextLambda - lambda);
    for (let f = 0; f < fieldCount; f++) {
      for (let level = 0; level < levelCounts[f]!; level++) {
        change = Math.max(change, Math.abs(nextM[f]![level]! - m[f]![level]!), Math.abs(nextU[f]![level]! - u[f]![level]!));
      }
    }
    m = nextM;
    u = nextU;
    lambda = nextLambda;
    converged = change < tolerance;
  }
  return { m, u, lambda, iterations, converged };
}

/** Level frequencies of one field over sampled pairs (missing levels skipped), with a pseudo-count. */
export function levelDistribution(levels: Uint8Array, fieldCount: number, field: number, levelCount: number, pseudoCount = 0.5): number[] {
  const counts = new Array<number>(levelCount).fill(pseudoCount);
  for (let offset = field; offset < levels.length; offset += fieldCount) {
    const level = levels[offset]!;
    if (level !== NULL_LEVEL) counts[level]!++;
  }
  return normalised(counts);
}

/** Exact probability that two distinct random records (both with the field) agree exactly. */
export function exactAgreementShare(counts: ArrayLike<number>, present: number): number {
  if (present < 2) return 0;
  let agreeing = 0;
  for (let value = 0; value < counts.length; value++) agreeing += counts[value]! * (counts[value]! - 1);
  return agreeing / (present * (present - 1));
}

/**
 * u for one field: the exact level from value frequencies (exact, and precise for
 * rare values such as identifiers), the other levels from sampled random pairs.
 */
export function combineU(sampled: readonly number[], exactShare: number, floor: number): number[] {
  const exact = Math.max(exactShare, floor);
  const rest = sampled.slice(1);
  const restTotal = rest.reduce((sum, value) => sum + value, 0);
  return [exact, ...rest.map((value) => (restTotal > 0 ? ((1 - exact) * value) / restTotal : (1 - exact) / rest.length))];
}

/**
 * m from anchor pairs: pairs that agree on an identifier (both NHS numbers valid and
 * equal) are the same person, so how often their other fields agree at each level is m
 * for those fields. EM left alone can settle on "same household" as its match class
 * (shared surname, address, phone), which under-weighs a different date of birth or
 * given name; anchoring m on identity avoids that. Null when there are too few anchors.
 */
export function mFromAnchors(
  patterns: Pick<Patterns, 'fieldCount' | 'levels' | 'counts'>,
  anchorField: number,
  levelCounts: readonly number[],
  minimumAnchors: number,
  pseudoCount = 0.5,
): number[][] | null {
  const counts = levelCounts.map((count) => new Array<number>(count).fill(pseudoCount));
  let anchors = 0;
  for (let p = 0; p < patterns.counts.length; p++) {
    if (patterns.levels[p * patterns.fieldCount + anchorField] !== 0) continue;
    anchors += patterns.counts[p]!;
    for (let f = 0; f < patterns.fieldCount; f++) {
      const level = patterns.levels[p * patterns.fieldCount + f]!;
      if (level !== NULL_LEVEL) counts[f]![level]! += patterns.counts[p]!;
    }
  }
  return anchors >= minimumAnchors ? counts.map(normalised) : null;
}

export interface IdentitySession {
  /** The identity field whose m this session learns (the others are held agreeing). */
  field: number;
  /** Pairs in the session and the share EM put in the match class. */
  pairs: number;
  lambda: number;
}

/**
 * m without an identifier, as Splink does it: one EM per identity field (given name, family
 * name, birth date), each over the candidate pairs that agree on the other identity fields (a
 * blocking rule that does not involve the field being learnt), with u fixed from random pairs.
 * Pairs agreeing on a person's name and birth date are mostly that person, whatever else they
 * share, so EM cannot settle on "same household" (shared surname, address, phone) as its
 * match class, which it does over all candidate pairs. The held fields are left out of their
 * session; every other field's m is the average over the sessions, weighted by their matches.
 * `agrees(field, level)` says which levels hold a field as agreeing (e.g. exact, names
 * swapped); a held field may also be missing, so long as one agrees. Null when no session had
 * enough pairs.
 */
export function mFromIdentitySessions(
  patterns: Pick<Patterns, 'fieldCount' | 'levels' | 'counts'>,
  levelCounts: readonly number[],
  u: readonly (readonly number[])[],
  identityFields: readonly number[],
  agrees: (field: number, level: number) => boolean,
  minimumPairs: number,
): { m: number[][]; sessions: IdentitySession[] } | null {
  const { fieldCount } = patterns;
  const sums = levelCounts.map((count) => new Array<number>(count).fill(0));
  const weights = new Array<number>(fieldCount).fill(0);
  const sessions: IdentitySession[] = [];
  for (const field of identityFields) {
    const held = identityFields.filter((other) => other !== field);
    if (held.length === 0) continue;
    const tally = new PatternTally(fieldCount);
    const pattern = new Uint8Array(fieldCount);
    let pairs = 0;
    for (let p = 0; p < patterns.counts.length; p++) {
      const offset = p * fieldCount;
      // Held fields agree or are missing (a swapped pair's family name adds nothing), one at least agreeing.
      let agreeing = 0;
      let contradicted = false;
      for (const h of held) {
        const level = patterns.levels[offset + h]!;
        if (level === NULL_LEVEL) continue;
        if (agrees(h, level)) agreeing++;
        else contradicted = true;
      }
      if (contradicted || agreeing === 0) continue;
      pattern.set(patterns.levels.subarray(offset, offset + fieldCount));
      for (const h of held) pattern[h] = NULL_LEVEL;
      tally.add(pattern, patterns.counts[p]!);
      pairs += patterns.counts[p]!;
    }
    if (pairs < minimumPairs) continue;
    const session = { fieldCount, ...tally.result(), patternOfPair: new Uint32Array(0) };
    const start = initialMixture(levelCounts, u);
    const em = expectationMaximisation(session, levelCounts, { ...start, lambda: 0.5 });
    const matches = em.lambda * pairs;
    if (matches < 1) continue;
    sessions.push({ field, pairs, lambda: em.lambda });
    for (let f = 0; f < fieldCount; f++) {
      if (held.includes(f)) continue;
      weights[f]! += matches;
      for (let level = 0; level < levelCounts[f]!; level++) sums[f]![level]! += matches * em.m[f]![level]!;
    }
  }
  if (sessions.length === 0 || weights.some((weight) => weight === 0)) return null;
  return { m: sums.map((levels, f) => levels.map((sum) => sum / weights[f]!)), sessions };
}
