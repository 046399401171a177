// Why two records do or do not match: each field's level and weight, for the review waterfall.

import { compareField, createComparator } from './comparisons.ts';
import { createScorer, fieldWeight, OTHER_PERSON_CAP_BITS, personCap, probabilityFromWeight, termFrequencyU } from './model.ts';
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
  /** prior + sum of field weights, held down by the person check (personCap) when it applies. */
  total: number;
  probability: number;
  /** When the person check held the total down: what the fields added up to, and why. */
  personCheck: { uncapped: number; reason: string } | null;
}

/** Why the person check held a pair down, for a person reading the review page. */
function personCheckReason(cap: number): string {
  return cap === OTHER_PERSON_CAP_BITS
    ? "Everything that identifies the person (given name, birth date, NHS number) differs: what they share is a household's."
    : 'Nothing that identifies the person agrees, or the birth dates are wholly different: sent to review at most, never linked.';
}

export function explainPair(a: LinkRecord, b: LinkRecord, model: LinkageModel): PairExplanation {
  const specs = model.fields.map((field) => field.spec);
  const comparator = createComparator(specs);
  const scorer = createScorer(model);
  const preparedA = prepareRecord(specs, a);
  const preparedB = prepareRecord(specs, b);
  const levels = model.fields.map((_, slot) => compareField(comparator, slot, preparedA, preparedB));
  const fields = model.fields.map((field, slot): FieldExplanation => {
    const level = levels[slot]!;
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
  const uncapped = fields.reduce((sum, field) => sum + field.weight, scorer.priorWeight);
  const cap = personCap(scorer.person, (slot) => levels[slot]!);
  const total = Math.min(uncapped, cap);
  const personCheck = total < uncapped ? { uncapped, reason: personCheckReason(cap) } : null;
  return { fields, prior: scorer.priorWeight, total, probability: probabilityFromWeight(total), personCheck };
}
