// Match weights of every candidate pair, counted in one-bit bins while the pairs are scored,
// for the model report: how many pairs sit at each weight and how many true matches the model
// expects among them. Memory stays a few hundred numbers however many pairs a run has.

import { probabilityFromWeight } from './model.ts';

/** Width of a bin in bits: the report's threshold table moves the threshold a bit at a time. */
export const HISTOGRAM_BIN_BITS = 1;
/**
 * Bins below and above the origin; the first and last also hold every pair beyond them. Below,
 * 24 bits under the link threshold is odds of about 1 in 800,000 at the default threshold: a
 * pair there is counted in the first bin as soon as its weight is known to be that low, without
 * comparing the rest of its fields. Above, a pair agreeing on every field of a rich file can
 * weigh 60 bits or more.
 */
const BINS_BELOW = 24;
const BINS_ABOVE = 72;

export interface WeightHistogram {
  /**
   * A bin edge, in bits: the link threshold's weight, so that "pairs at or above the threshold
   * moved by k bits" is a sum of whole bins.
   */
  origin: number;
  binBits: number;
  /** Bin i holds weights in [lowerEdge(i), lowerEdge(i) + binBits); the first and last are open-ended. */
  counts: Float64Array;
  /**
   * Sum of the pairs' match probabilities per bin: the true matches the model expects there. In
   * the first bin a pair may be counted at a bound above its weight (scanning stopped early), so
   * that bin's figure is at most what it would be, and tiny. Pairs the person check held down
   * add nothing: their capped weight is a verdict (review at most, or a household's), not a
   * probability, and counting a capped pair at even odds would invent true matches.
   */
  expectedMatches: Float64Array;
  /** Of each bin's pairs, those the person check held down (model.ts personCap). */
  heldDown: Float64Array;
}

export function createWeightHistogram(origin: number): WeightHistogram {
  return {
    origin,
    binBits: HISTOGRAM_BIN_BITS,
    counts: new Float64Array(BINS_BELOW + BINS_ABOVE),
    expectedMatches: new Float64Array(BINS_BELOW + BINS_ABOVE),
    heldDown: new Float64Array(BINS_BELOW + BINS_ABOVE),
  };
}

/** Lower edge in bits of bin `bin` (the first bin also holds everything below it). */
export function lowerEdge(histogram: WeightHistogram, bin: number): number {
  return histogram.origin + (bin - BINS_BELOW) * histogram.binBits;
}

/** Below this weight a pair lands in the open-ended first bin, whatever its exact weight. */
export function firstBinCeiling(histogram: WeightHistogram): number {
  return lowerEdge(histogram, 1);
}

/** The bin whose lower edge is the origin (the link threshold). */
export function originBin(): number {
  return BINS_BELOW;
}

export function binOf(histogram: WeightHistogram, weight: number): number {
  const bin = Math.floor((weight - histogram.origin) / histogram.binBits) + BINS_BELOW;
  return Math.min(histogram.counts.length - 1, Math.max(0, bin));
}

export function addWeight(histogram: WeightHistogram, weight: number, heldDown = false): void {
  const bin = binOf(histogram, weight);
  histogram.counts[bin]! += 1;
  if (heldDown) histogram.heldDown[bin]! += 1;
  else histogram.expectedMatches[bin]! += probabilityFromWeight(weight);
}

/** Adds `part` (counted over another range of blocks with the same origin) into `into`. */
export function mergeWeightHistogram(into: WeightHistogram, part: WeightHistogram): void {
  for (let bin = 0; bin < into.counts.length; bin++) {
    into.counts[bin]! += part.counts[bin]!;
    into.expectedMatches[bin]! += part.expectedMatches[bin]!;
    into.heldDown[bin]! += part.heldDown[bin]!;
  }
}

/** Pairs, true matches the model expects among them, and those held down, at or above `origin + steps` bin widths. */
export function atOrAbove(histogram: WeightHistogram, steps: number): { pairs: number; expectedMatches: number; heldDown: number } {
  const from = Math.max(0, BINS_BELOW + steps);
  let pairs = 0;
  let expectedMatches = 0;
  let heldDown = 0;
  for (let bin = from; bin < histogram.counts.length; bin++) {
    pairs += histogram.counts[bin]!;
    expectedMatches += histogram.expectedMatches[bin]!;
    heldDown += histogram.heldDown[bin]!;
  }
  return { pairs, expectedMatches, heldDown };
}
