// The inner loops of batch linking, run over ranges of blocks on worker threads (or inline
// for small inputs): compare candidate pairs through the shared columns, either to learn
// (comparison patterns of a sample of pairs) or to score (keeping only pairs that may match).

import { forEachCandidatePair } from './blocking.ts';
import type { BlockIndex } from './blocking.ts';
import { compareValues, emailLevelGivenNames, slotsByCost, swappedNameLevel, swappedNames } from './comparisons.ts';
import { PatternTally } from './estimate.ts';
import { bestWeightsBelowExact, personCap } from './model.ts';
import type { PersonCheck } from './model.ts';
import { NULL_LEVEL } from './types.ts';
import type { FieldKind, PreparedValue } from './types.ts';
import type { PreparedColumns } from './prepare.ts';
import { addWeight, createWeightHistogram, firstBinCeiling } from './weight-histogram.ts';
import type { WeightHistogram } from './weight-histogram.ts';

export interface ScanData extends PreparedColumns {
  kinds: readonly FieldKind[];
  index: BlockIndex;
}

function valueAt(data: ScanData, slot: number, record: number): PreparedValue | null {
  const id = data.ids[record * data.fieldCount + slot]!;
  return id < 0 ? null : data.dictionaries[slot]![id]!;
}

/** Comparison level of one field for records a and b (NULL_LEVEL when either lacks it). */
export function compareSlot(data: ScanData, givenSlot: number, familySlot: number, slot: number, a: number, b: number): number {
  const valueA = valueAt(data, slot, a);
  const valueB = valueAt(data, slot, b);
  if (!valueA || !valueB) return NULL_LEVEL;
  const kind = data.kinds[slot]!;
  if ((kind === 'given_name' || kind === 'family_name') && valueA.value !== valueB.value && givenSlot >= 0 && familySlot >= 0
    && swappedNames(valueAt(data, givenSlot, a), valueAt(data, familySlot, a), valueAt(data, givenSlot, b), valueAt(data, familySlot, b))) {
    return swappedNameLevel(kind);
  }
  const level = compareValues(kind, valueA, valueB);
  if (kind !== 'email' || familySlot < 0) return level;
  return emailLevelGivenNames(emailLevelGivenNames(level, valueA, valueAt(data, familySlot, a)), valueA, valueAt(data, familySlot, b));
}

/** Deterministic pseudo-random number in [0, 1) for a pair: the training sample is reproducible. */
export function pairHash(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 4294967296;
}

export interface TrainingScan {
  /** Distinct candidate pairs in the range. */
  pairCount: number;
  /** Comparison patterns of the sampled pairs (patterns × fields) and how many pairs had each. */
  patterns: Uint8Array;
  counts: Float64Array;
}

/** Counts the range's candidate pairs and aggregates the comparison patterns of a `sampleRate` share of them. */
export function scanForTraining(data: ScanData, from: number, to: number, sampleRate: number): TrainingScan {
  const fieldCount = data.kinds.length;
  const givenSlot = data.kinds.indexOf('given_name');
  const familySlot = data.kinds.indexOf('family_name');
  const vector = new Uint8Array(fieldCount);
  const tally = new PatternTally(fieldCount);
  let pairCount = 0;
  forEachCandidatePair(data.index, from, to, (a, b) => {
    pairCount++;
    if (sampleRate < 1 && pairHash(a, b) >= sampleRate) return;
    for (let slot = 0; slot < fieldCount; slot++) vector[slot] = compareSlot(data, givenSlot, familySlot, slot, a, b);
    tally.add(vector);
  });
  const { levels, counts } = tally.result();
  return { pairCount, patterns: levels, counts };
}

/** A model's weights laid out for the scoring loop. */
export interface ScoringTables {
  priorWeight: number;
  /** weights[slot][level] = log2(m / u). */
  weights: Float64Array[];
  /** Term-frequency adjusted weight of an exact match per dictionary value, or null for fields without. */
  exactWeightById: (Float64Array | null)[];
  /** Pairs below this weight are dropped. */
  minimumWeight: number;
  /** The person check (model.ts personCap). */
  person: PersonCheck;
  /**
   * When set, every candidate pair's weight is counted into a histogram with this origin (the
   * model report's distribution), kept or not: a pair is scored until it is known to fall in the
   * histogram's open-ended first bin, far below any threshold, rather than until it cannot be kept.
   */
  histogramOrigin?: number;
}

export interface ScoredPairs {
  left: Uint32Array;
  right: Uint32Array;
  weights: Float64Array;
  /** Candidate pairs scanned. */
  scanned: number;
  /** With `histogramOrigin`: the weights of every candidate pair scanned, in bins. */
  histogram: WeightHistogram | null;
}

class PairBuffer {
  left = new Uint32Array(4096);
  right = new Uint32Array(4096);
  weights = new Float64Array(4096);
  length = 0;
  push(a: number, b: number, weight: number): void {
    if (this.length === this.left.length) {
      const size = this.length * 2;
      const left = new Uint32Array(size);
      const right = new Uint32Array(size);
      const weights = new Float64Array(size);
      left.set(this.left);
      right.set(this.right);
      weights.set(this.weights);
      [this.left, this.right, this.weights] = [left, right, weights];
    }
    this.left[this.length] = a;
    this.right[this.length] = b;
    this.weights[this.length++] = weight;
  }
}

/**
 * Scores the range's candidate pairs and keeps those at or above the minimum weight.
 * First an upper bound without any string metric: fields that agree exactly or are
 * missing are settled, the rest counted at their best non-exact level. Then the
 * unsettled fields are compared cheapest first, tightening the bound, and the pair is
 * dropped as soon as it cannot reach the minimum. The kept pairs and their weights are
 * exactly those of a full comparison. With a histogram a pair is given up only below the
 * histogram's first bin, and is counted there at the bound reached.
 */
export function scanForScoring(data: ScanData, from: number, to: number, tables: ScoringTables): ScoredPairs {
  const order = slotsByCost(data.kinds);
  const best = bestWeightsBelowExact(tables.weights);
  const fieldCount = data.kinds.length;
  const settled = new Uint8Array(fieldCount);
  const givenSlot = data.kinds.indexOf('given_name');
  const familySlot = data.kinds.indexOf('family_name');
  const nhsSlot = data.kinds.indexOf('nhs_number');
  const sexSlot = data.kinds.indexOf('sex');
  const kept = new PairBuffer();
  const histogram = tables.histogramOrigin === undefined ? null : createWeightHistogram(tables.histogramOrigin);
  // A pair is given up only once it cannot be kept and the histogram needs no more of its weight.
  const giveUpBelow = histogram ? Math.min(tables.minimumWeight, firstBinCeiling(histogram)) : tables.minimumWeight;
  const giveUp = histogram ? (bound: number): void => addWeight(histogram, bound) : (): void => {};
  let scanned = 0;
  forEachCandidatePair(data.index, from, to, (a, b) => {
    scanned++;
    let bound = tables.priorWeight;
    const rowA = a * fieldCount;
    const rowB = b * fieldCount;
    for (let slot = 0; slot < fieldCount; slot++) {
      const idA = data.ids[rowA + slot]!;
      const idB = data.ids[rowB + slot]!;
      settled[slot] = 1;
      if (idA < 0 || idB < 0) continue;
      if (slot === nhsSlot || slot === sexSlot) {
        const level = compareSlot(data, givenSlot, familySlot, slot, a, b);
        if (level !== NULL_LEVEL) bound += tables.weights[slot]![level]!;
      } else if (idA === idB) {
        const exact = tables.exactWeightById[slot];
        bound += exact ? exact[idA]! : tables.weights[slot]![0]!;
      } else {
        settled[slot] = 0;
        bound += best[slot]!;
      }
    }
    if (bound < giveUpBelow) return giveUp(bound);
    for (let k = 0; k < order.length; k++) {
      const slot = order[k]!;
      if (settled[slot] === 1) continue;
      const level = compareSlot(data, givenSlot, familySlot, slot, a, b);
      // A present value can still add nothing: a family name when the names are swapped.
      bound += (level === NULL_LEVEL ? 0 : tables.weights[slot]![level]!) - best[slot]!;
      if (bound < giveUpBelow) return giveUp(bound);
    }
    // Only pairs the check could hold down pay for it (without a histogram, only those still kept).
    let heldDown = false;
    if (bound > tables.person.otherPersonCap) {
      const cap = personCap(tables.person, (slot) => compareSlot(data, givenSlot, familySlot, slot, a, b));
      heldDown = cap < bound;
      if (heldDown) bound = cap;
    }
    if (histogram) addWeight(histogram, bound, heldDown);
    if (bound >= tables.minimumWeight) kept.push(a, b, bound);
  });
  return {
    left: kept.left.slice(0, kept.length),
    right: kept.right.slice(0, kept.length),
    weights: kept.weights.slice(0, kept.length),
    scanned,
    histogram,
  };
}

/** Comparison vectors (pairs × fields) of the given pairs. */
export function compareListedPairs(data: ScanData, left: Uint32Array, right: Uint32Array): Uint8Array {
  const fieldCount = data.kinds.length;
  const givenSlot = data.kinds.indexOf('given_name');
  const familySlot = data.kinds.indexOf('family_name');
  const levels = new Uint8Array(left.length * fieldCount);
  for (let pair = 0; pair < left.length; pair++) {
    for (let slot = 0; slot < fieldCount; slot++) {
      levels[pair * fieldCount + slot] = compareSlot(data, givenSlot, familySlot, slot, left[pair]!, right[pair]!);
    }
  }
  return levels;
}
