// Why two records do or do not match: each field's level and weight, for the review waterfall.

import { compareField, createComparator } from './comparisons.ts';
import { createScorer, fieldWeight, probabilityFromWeight, termFrequencyU } from './model.ts';
import { prepareRecord } from './prepare.ts';
import { NULL_LEVEL } from './types.ts';
import type { LinkageModel, LinkRecord } from './types.ts';

export interface FieldExplanation {
  field: string;
  /** Normalised values compared (null when missing). */
  valueA: string | null;
  valueB: string | null;
  /** Comparison level label, or "null" when either side is missing. */
  level: string;
  /** Contribution to the match weight in bits (log2 m/u); 0 for null. */
  weight: number;
  m: number | null;
  u: number | null;
  /** True when the exact-match u came from how common this value is. */
  termFrequencyAdjusted: boolean;
}

export interface PairExplanation {
  fields: FieldExplanation[];
  /** log2 prior odds that two random records match. */
  prior: number;
  /** prior + sum of field weights. */
  total: number;
  probability: number;
}

export function explainPair(a: LinkRecord, b: LinkRecord, model: LinkageModel): PairExplanation {
  const specs = model.fields.map((field) => field.spec);
  const comparator = createComparator(specs);
  const scorer = createScorer(model);
  const preparedA = prepareRecord(specs, a);
  const preparedB = prepareRecord(specs, b);
  const fields = model.fields.map((field, slot): FieldExplanation => {
    const level = compareField(comparator, slot, preparedA, preparedB);
    const valueA = preparedA.values[slot]?.value ?? null;
    const valueB = preparedB.values[slot]?.value ?? null;
    if (level === NULL_LEVEL) {
      return { field: field.spec.key, valueA, valueB, level: 'null', weight: 0, m: null, u: null, termFrequencyAdjusted: false };
    }
    const adjusted = level === 0 && scorer.frequencies[slot] !== undefined;
    const parameters = field.levels[level]!;
    return {
      field: field.spec.key,
      valueA,
      valueB,
      level: parameters.label,
      weight: fieldWeight(scorer, slot, level, preparedA, preparedB),
      m: parameters.m,
      u: adjusted ? termFrequencyU(scorer, slot, valueA ?? '') : parameters.u,
      termFrequencyAdjusted: adjusted,
    };
  });
  const total = fields.reduce((sum, field) => sum + field.weight, scorer.priorWeight);
  return { fields, prior: scorer.priorWeight, total, probability: probabilityFromWeight(total) };
}
