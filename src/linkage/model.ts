// Match weights: Fellegi–Sunter log2(m/u) per field plus the prior, with
// term-frequency adjustment of exact matches (a shared "smith" says less than a shared "okonkwo").

import { NULL_LEVEL } from './types.ts';
import type { LinkageModel, PreparedRecord } from './types.ts';

export function log2Odds(probability: number): number {
  return Math.log2(probability / (1 - probability));
}

export function probabilityFromWeight(weight: number): number {
  return 1 / (1 + 2 ** -weight);
}

/** Weights precomputed from a model for the scoring loop. */
export interface Scorer {
  model: LinkageModel;
  priorWeight: number;
  /** weights[field][level] = log2(m / u). */
  weights: Float64Array[];
  /** log2(m) of the exact level, for fields with term-frequency adjustment. */
  logExactM: Float64Array;
  /** Term frequencies per field slot (undefined: no adjustment). */
  frequencies: (Map<string, number> | undefined)[];
  /** Lowest frequency used, for values never seen in training. */
  minimumFrequency: Float64Array;
}

export function createScorer(model: LinkageModel): Scorer {
  const frequencies = model.fields.map((field) => (field.termFrequency ? model.termFrequencies[field.spec.key] : undefined));
  return {
    model,
    priorWeight: log2Odds(model.priorMatchProbability),
    weights: model.fields.map((field) => Float64Array.from(field.levels, (level) => Math.log2(level.m / level.u))),
    logExactM: Float64Array.from(model.fields, (field) => Math.log2(field.levels[0]!.m)),
    frequencies,
    minimumFrequency: Float64Array.from(frequencies, (table) => {
      if (!table || table.size === 0) return 1;
      let minimum = 1;
      for (const frequency of table.values()) if (frequency < minimum) minimum = frequency;
      return minimum;
    }),
  };
}

/** The largest weight each field can add at a level below exact (never below 0: a missing value adds 0). */
export function bestWeightsBelowExact(weights: readonly Float64Array[]): Float64Array {
  return Float64Array.from(weights, (levels) => {
    let most = 0;
    for (let level = 1; level < levels.length; level++) most = Math.max(most, levels[level]!);
    return most;
  });
}

/** u of an exact match on this value: how often random records share it. */
export function termFrequencyU(scorer: Scorer, slot: number, value: string): number {
  const table = scorer.frequencies[slot];
  const frequency = table?.get(value) ?? scorer.minimumFrequency[slot]!;
  return Math.max(frequency, scorer.minimumFrequency[slot]!);
}

/** Weight of one field at a level, term-frequency adjusted for exact matches. */
export function fieldWeight(scorer: Scorer, slot: number, level: number, a: PreparedRecord, b: PreparedRecord): number {
  if (level === NULL_LEVEL) return 0;
  if (level === 0 && scorer.frequencies[slot]) {
    const value = a.values[slot]?.value ?? b.values[slot]?.value ?? '';
    return scorer.logExactM[slot]! - Math.log2(termFrequencyU(scorer, slot, value));
  }
  return scorer.weights[slot]![level]!;
}

/** Total match weight (log2 odds) of a pair from its comparison vector at `offset`. */
export function matchWeight(
  scorer: Scorer,
  levels: Uint8Array,
  offset: number,
  a: PreparedRecord,
  b: PreparedRecord,
): number {
  let weight = scorer.priorWeight;
  const fieldCount = scorer.weights.length;
  for (let slot = 0; slot < fieldCount; slot++) weight += fieldWeight(scorer, slot, levels[offset + slot]!, a, b);
  return weight;
}

/** JSON-friendly form of a model (maps become arrays of [value, frequency]). */
export function modelToJson(model: LinkageModel): unknown {
  return {
    ...model,
    termFrequencies: Object.fromEntries(
      Object.entries(model.termFrequencies).map(([key, table]) => [key, [...table.entries()]]),
    ),
  };
}

export function modelFromJson(json: unknown): LinkageModel {
  const raw = json as Omit<LinkageModel, 'termFrequencies'> & { termFrequencies: Record<string, [string, number][]> };
  return {
    ...raw,
    termFrequencies: Object.fromEntries(
      Object.entries(raw.termFrequencies).map(([key, entries]) => [key, new Map(entries)]),
    ),
  };
}
