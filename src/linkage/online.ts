// Online matching: an in-memory index of blocking keys over all known records,
// so one incoming record is scored only against the records sharing a key.

import { compileRules, transformValue } from './blocking.ts';
import type { CompiledRules } from './blocking.ts';
import { compareField, createComparator } from './comparisons.ts';
import type { Comparator } from './comparisons.ts';
import { createScorer, fieldWeight, log2Odds, probabilityFromWeight } from './model.ts';
import type { Scorer } from './model.ts';
import { prepareRecord } from './prepare.ts';
import type { FieldKind, LinkageModel, LinkRecord, PreparedRecord, PreparedValue } from './types.ts';

/** Records scanned per match, beyond blocks of at most SMALL_BLOCK records (always scanned). */
const CANDIDATE_BUDGET = 2000;
const SMALL_BLOCK = 64;

/** One map per blocking rule (keeps each map small); a block is one record number or a list. */
type Block = number | number[];

/** Part numbers are below this, so a two-part key packs into one exact double. */
const PART_RANGE = 2 ** 26;

/** Field kinds whose values repeat a lot: records share one prepared value object each. */
const SHARED_VALUE_KINDS: ReadonlySet<FieldKind> = new Set(['given_name', 'family_name', 'birth_date', 'sex', 'postcode']);

export interface LinkageIndex {
  model: LinkageModel;
  comparator: Comparator;
  scorer: Scorer;
  rules: CompiledRules;
  /** Blocks keyed by number: each key part's reduced value is numbered once (far smaller than string keys at scale). */
  blocksByRule: Map<number, Block>[];
  /** partNumbers[rule][part]: reduced value → number. */
  partNumbers: Map<string, number>[][];
  /** Per field slot of a repeating kind, one prepared value per distinct value. */
  sharedValues: (Map<string, PreparedValue> | null)[];
  records: PreparedRecord[];
  personIds: string[];
  /** Per record, the match call that last saw it (dedupes candidates without a Set). */
  lastSeen: Uint32Array;
  matchCalls: number;
  plan?: EarlyExitPlan;
}

export type MatchDecision = 'link' | 'review' | 'new';

export interface CandidatePerson {
  personId: string;
  /** The person's record that matches best. */
  recordId: string;
  weight: number;
  probability: number;
}

export interface MatchResult {
  decision: MatchDecision;
  /** The person to link to ("link"), or the best candidate ("review"); null for "new". */
  personId: string | null;
  /** Candidate persons, best first. */
  candidates: CandidatePerson[];
}

export function createLinkageIndex(model: LinkageModel): LinkageIndex {
  const specs = model.fields.map((field) => field.spec);
  return {
    model,
    comparator: createComparator(specs),
    scorer: createScorer(model),
    rules: compileRules(model.blockingRules, specs),
    blocksByRule: model.blockingRules.map(() => new Map()),
    partNumbers: model.blockingRules.map((rule) => {
      if (rule.parts.length > 2) throw new Error(`Blocking rule ${rule.name} has more than two parts`);
      return rule.parts.map(() => new Map<string, number>());
    }),
    sharedValues: specs.map((spec) => (SHARED_VALUE_KINDS.has(spec.kind) ? new Map<string, PreparedValue>() : null)),
    records: [],
    personIds: [],
    lastSeen: new Uint32Array(1024),
    matchCalls: 0,
  };
}

/** Cheap comparisons first, so hopeless candidates are dropped before the string metrics. */
const COMPARISON_COST: Record<FieldKind, number> = {
  nhs_number: 0,
  sex: 1,
  birth_date: 2,
  postcode: 3,
  email: 4,
  phone: 5,
  given_name: 6,
  family_name: 7,
  address: 8,
  text: 9,
};

interface EarlyExitPlan {
  order: number[];
  /** Most weight each field can add below its exact level (at least 0: it may be missing). */
  bestBelowExact: Float64Array;
  nhsSlot: number;
  sexSlot: number;
}

function earlyExitPlan(scorer: Scorer): EarlyExitPlan {
  const fields = scorer.model.fields;
  const order = fields.map((_, slot) => slot).sort((x, y) => COMPARISON_COST[fields[x]!.spec.kind] - COMPARISON_COST[fields[y]!.spec.kind]);
  const bestBelowExact = Float64Array.from(scorer.weights, (levels) => Math.max(0, ...levels.subarray(1)));
  return {
    order,
    bestBelowExact,
    nhsSlot: fields.findIndex((field) => field.spec.kind === 'nhs_number'),
    sexSlot: fields.findIndex((field) => field.spec.kind === 'sex'),
  };
}

/**
 * Match weight of a pair, or -Infinity as soon as it cannot reach `cutoff`. First a bound
 * without string metrics (fields missing or exactly equal are settled, the rest counted at
 * their best non-exact level), then the unsettled fields cheapest first: the same weight a
 * full comparison gives, for far less work on the many candidates that share only a block.
 */
function weightAtLeast(
  index: LinkageIndex,
  scorer: Scorer,
  plan: EarlyExitPlan,
  a: PreparedRecord,
  b: PreparedRecord,
  cutoff: number,
  settled: Uint8Array,
): number {
  let bound = scorer.priorWeight;
  for (let slot = 0; slot < settled.length; slot++) {
    const valueA = a.values[slot];
    const valueB = b.values[slot];
    settled[slot] = 1;
    if (!valueA || !valueB) continue;
    if (slot === plan.nhsSlot || slot === plan.sexSlot) {
      bound += fieldWeight(scorer, slot, compareField(index.comparator, slot, a, b), a, b);
    } else if (valueA.value === valueB.value) {
      bound += fieldWeight(scorer, slot, 0, a, b);
    } else {
      settled[slot] = 0;
      bound += plan.bestBelowExact[slot]!;
    }
  }
  if (bound < cutoff) return Number.NEGATIVE_INFINITY;
  for (let k = 0; k < plan.order.length; k++) {
    const slot = plan.order[k]!;
    if (settled[slot] === 1) continue;
    bound += scorer.weights[slot]![compareField(index.comparator, slot, a, b)]! - plan.bestBelowExact[slot]!;
    if (bound < cutoff) return Number.NEGATIVE_INFINITY;
  }
  return bound;
}

/**
 * The record's block key under each rule (NaN: no key). With `create`, unseen part values
 * are numbered; without, a value the index has never seen means no block can match.
 */
function blockKeysOf(index: LinkageIndex, record: PreparedRecord, create: boolean): Float64Array {
  const keys = new Float64Array(index.rules.rules.length).fill(Number.NaN);
  index.rules.rules.forEach((rule, ruleNumber) => {
    const slots = index.rules.slots[ruleNumber]!;
    let key = 0;
    for (let part = 0; part < slots.length; part++) {
      const value = slots[part]! < 0 ? null : record.values[slots[part]!];
      const reduced = value ? transformValue(value, rule.parts[part]![1]) : null;
      if (!reduced) return;
      const numbers = index.partNumbers[ruleNumber]![part]!;
      let number = numbers.get(reduced);
      if (number === undefined) {
        if (!create || numbers.size >= PART_RANGE) return;
        numbers.set(reduced, (number = numbers.size));
      }
      key = key * PART_RANGE + number;
    }
    keys[ruleNumber] = key;
  });
  return keys;
}

/** The record with repeating values swapped for the index's shared copies. */
function withSharedValues(index: LinkageIndex, record: PreparedRecord): PreparedRecord {
  const values = record.values.map((value, slot) => {
    const shared = index.sharedValues[slot];
    if (!value || !shared) return value;
    const known = shared.get(value.value);
    if (known) return known;
    shared.set(value.value, value);
    return value;
  });
  return { id: record.id, values };
}

/** Adds a record (belonging to `personId`) to the index. */
export function addRecord(index: LinkageIndex, record: LinkRecord, personId: string): void {
  addPreparedRecord(index, prepareRecord(index.comparator.specs, record), personId);
}

/** Adds an already prepared record (fields in the model's order). */
export function addPreparedRecord(index: LinkageIndex, record: PreparedRecord, personId: string): void {
  const prepared = withSharedValues(index, record);
  const number = index.records.length;
  index.records.push(prepared);
  index.personIds.push(personId);
  if (number >= index.lastSeen.length) {
    const grown = new Uint32Array(index.lastSeen.length * 2);
    grown.set(index.lastSeen);
    index.lastSeen = grown;
  }
  const keys = blockKeysOf(index, prepared, true);
  for (let rule = 0; rule < keys.length; rule++) {
    const key = keys[rule]!;
    if (Number.isNaN(key)) continue;
    const blocks = index.blocksByRule[rule]!;
    const block = blocks.get(key);
    if (block === undefined) blocks.set(key, number);
    else if (typeof block === 'number') blocks.set(key, [block, number]);
    else block.push(number);
  }
}

/** Scores `record` against the index and decides link / review / new. Does not add it. */
export function matchRecord(index: LinkageIndex, model: LinkageModel, record: LinkRecord): MatchResult {
  return matchPreparedRecord(index, model, prepareRecord(index.comparator.specs, record));
}

/** As matchRecord, for a record already prepared with the index's field specs. */
export function matchPreparedRecord(index: LinkageIndex, model: LinkageModel, prepared: PreparedRecord): MatchResult {
  const scorer = model === index.model ? index.scorer : createScorer(model);
  const plan = model === index.model ? (index.plan ??= earlyExitPlan(scorer)) : earlyExitPlan(scorer);
  const cutoff = log2Odds(model.reviewThreshold);
  const settled = new Uint8Array(prepared.values.length);
  const call = ++index.matchCalls;
  const bestByPerson = new Map<string, CandidatePerson>();

  const consider = (candidate: number): void => {
    if (index.lastSeen[candidate] === call) return;
    index.lastSeen[candidate] = call;
    const other = index.records[candidate]!;
    const weight = weightAtLeast(index, scorer, plan, prepared, other, cutoff, settled);
    if (weight === Number.NEGATIVE_INFINITY) return;
    const personId = index.personIds[candidate]!;
    const best = bestByPerson.get(personId);
    if (!best || weight > best.weight) {
      bestByPerson.set(personId, { personId, recordId: other.id, weight, probability: probabilityFromWeight(weight) });
    }
  };

  // Smallest (most selective) blocks first; big blocks only while within the budget,
  // so a common name cannot make one match scan thousands of records.
  const blocks: number[][] = [];
  const keys = blockKeysOf(index, prepared, false);
  for (let rule = 0; rule < keys.length; rule++) {
    if (Number.isNaN(keys[rule]!)) continue;
    const block = index.blocksByRule[rule]!.get(keys[rule]!);
    if (block === undefined) continue;
    if (typeof block === 'number') consider(block);
    else if (block.length <= model.maxBlockSize) blocks.push(block);
  }
  blocks.sort((x, y) => x.length - y.length);
  let scanned = 0;
  for (const block of blocks) {
    if (block.length > SMALL_BLOCK && scanned + block.length > CANDIDATE_BUDGET) continue;
    scanned += block.length;
    for (const candidate of block) consider(candidate);
  }

  const candidates = [...bestByPerson.values()]
    .filter((candidate) => candidate.probability >= model.reviewThreshold)
    .sort((x, y) => y.weight - x.weight);
  return { ...decide(candidates, model), candidates };
}

/**
 * Bits by which the best person must beat a runner-up that also clears the link threshold.
 * Household members share an address, a postcode and often a phone, so the runner-up can clear
 * the threshold too; 5 bits is 32 times the odds.
 */
export const AMBIGUITY_MARGIN_BITS = 5;

/** Whether the best candidate (candidates sorted best first) is clear enough to link to. */
export function clearBest(candidates: readonly CandidatePerson[], model: LinkageModel): boolean {
  const best = candidates[0];
  if (!best || best.probability < model.linkThreshold) return false;
  const runnerUp = candidates[1];
  return !(runnerUp && runnerUp.probability >= model.linkThreshold && best.weight - runnerUp.weight < AMBIGUITY_MARGIN_BITS);
}

/** Link when one person clearly clears the link threshold; review when it is ambiguous or uncertain. */
function decide(candidates: readonly CandidatePerson[], model: LinkageModel): Omit<MatchResult, 'candidates'> {
  const best = candidates[0];
  if (!best) return { decision: 'new', personId: null };
  if (clearBest(candidates, model)) return { decision: 'link', personId: best.personId };
  return { decision: 'review', personId: best.personId };
}

/** Matches a record and adds it: to the linked person, or as a new person with `newPersonId`. */
export function matchAndAdd(
  index: LinkageIndex,
  model: LinkageModel,
  record: LinkRecord,
  newPersonId: string,
): MatchResult {
  const result = matchRecord(index, model, record);
  addRecord(index, record, result.decision === 'link' ? result.personId! : newPersonId);
  return result;
}
