// Match weights: Fellegi–Sunter log2(m/u) per field plus the prior, with
// term-frequency adjustment of exact matches (a shared "smith" says less than a shared "okonkwo").

import { PERSON_AGREES, PERSON_CONTRADICTS, PERSON_IDENTIFIER, PERSON_SUPPORTS, personLevels } from './comparisons.ts';
import { NULL_LEVEL } from './types.ts';
import type { FieldKind, LinkageModel, PreparedRecord } from './types.ts';

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
  person: PersonCheck;
}

/**
 * The person check's caps, in bits: even odds (a review at the default review threshold of
 * 0.5), and below it. Fixed rather than drawn from the thresholds, so a pair weighs the same
 * whatever thresholds a caller matches with.
 */
export const DOUBTFUL_CAP_BITS = 0;
export const OTHER_PERSON_CAP_BITS = -1;

/** The person check's tables (see personCap). */
export interface PersonCheck {
  /** Slots of the fields about the person. */
  slots: Int32Array;
  /** Per slot and level, what the level says (comparisons.ts personLevels). */
  levels: (Uint8Array | null)[];
  kinds: readonly FieldKind[];
  /** Most a pair may weigh when it is doubtful (DOUBTFUL_CAP_BITS) / when everything about the person disagrees (OTHER_PERSON_CAP_BITS). */
  doubtfulCap: number;
  otherPersonCap: number;
}

export function createScorer(model: LinkageModel): Scorer {
  const frequencies = model.fields.map((field) => (field.termFrequency ? model.termFrequencies[field.spec.key] : undefined));
  // Free-text columns that block on their own whole value were found to behave like identifiers (blocking.ts).
  const identifiers = new Set(
    model.blockingRules.filter((rule) => rule.parts.length === 1 && rule.parts[0]![1] === 'value').map((rule) => rule.parts[0]![0]),
  );
  const levels = model.fields.map((field) => personLevels(field.spec.kind, identifiers.has(field.spec.key)));
  return {
    person: {
      slots: Int32Array.from(levels.flatMap((codes, slot) => (codes ? [slot] : []))),
      levels,
      kinds: model.fields.map((field) => field.spec.kind),
      doubtfulCap: DOUBTFUL_CAP_BITS,
      otherPersonCap: OTHER_PERSON_CAP_BITS,
    },
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
export function matchWeight(scorer: Scorer, levels: Uint8Array, offset: number, a: PreparedRecord, b: PreparedRecord): number {
  let weight = scorer.priorWeight;
  const fieldCount = scorer.weights.length;
  for (let slot = 0; slot < fieldCount; slot++) weight += fieldWeight(scorer, slot, levels[offset + slot]!, a, b);
  return Math.min(
    weight,
    personCap(scorer.person, (slot) => levels[offset + slot]!),
  );
}

/**
 * The person check, precision first: the most a pair may weigh given what the fields about the
 * person say (comparisons.ts personLevels), Infinity when nothing holds it back. A household
 * shares surname, address, phone and town, which together can outweigh a different given name
 * and birth date under the model's independence assumption; two people of one household must
 * not join. So: an agreeing identifier (NHS number, reference number) settles it; else a
 * wholly different birth date is at most a review (a father and son of one name); else one
 * agreeing given name or birth date is enough; everything known disagreeing is not even a
 * review; nothing known is at most a review, unless the email address is the same. Models
 * without such fields are not checked.
 */
export function personCap(check: PersonCheck, levelOf: (slot: number) => number): number {
  const slots = check.slots;
  if (slots.length === 0) return Number.POSITIVE_INFINITY;
  let known = false;
  let agrees = false;
  let contradicted = false;
  let supported = false;
  for (let k = 0; k < slots.length; k++) {
    const slot = slots[k]!;
    const level = levelOf(slot);
    if (level === NULL_LEVEL) continue;
    const says = check.levels[slot]![level];
    if (says === PERSON_IDENTIFIER) return Number.POSITIVE_INFINITY;
    if (says === PERSON_SUPPORTS) {
      supported = true;
      continue;
    }
    if (check.kinds[slot] === 'email') continue; // a different mailbox says nothing about the person
    known = true;
    if (says === PERSON_AGREES) agrees = true;
    else if (says === PERSON_CONTRADICTS) contradicted = true;
  }
  if (contradicted) return check.doubtfulCap;
  if (agrees) return Number.POSITIVE_INFINITY;
  if (known) return check.otherPersonCap;
  return supported ? Number.POSITIVE_INFINITY : check.doubtfulCap;
}

/** JSON-friendly form of a model (maps become arrays of [value, frequency]). */
export function modelToJson(model: LinkageModel): unknown {
  return {
    ...model,
    termFrequencies: Object.fromEntries(Object.entries(model.termFrequencies).map(([key, table]) => [key, [...table.entries()]])),
  };
}

export function modelFromJson(json: unknown): LinkageModel {
  const raw = json as Omit<LinkageModel, 'termFrequencies'> & { termFrequencies: Record<string, [string, number][]> };
  return {
    ...raw,
    termFrequencies: Object.fromEntries(Object.entries(raw.termFrequencies).map(([key, entries]) => [key, new Map(entries)])),
  };
}
