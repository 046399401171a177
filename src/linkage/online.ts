// Online matching: an in-memory index of blocking keys over all known records,
// so one incoming record is scored only against the records sharing a key.

import { compileRules, transformValue } from './blocking.ts';
import type { CompiledRules } from './blocking.ts';
import { compareField, createComparator, slotsByCost } from './comparisons.ts';
import type { Comparator } from './comparisons.ts';
import { bestWeightsBelowExact, createScorer, fieldWeight, log2Odds, probabilityFromWeight } from './model.ts';
import type { Scorer } from './model.ts';
import { prepareRecord } from './prepare.ts';
import type { LinkageModel, LinkRecord, PreparedRecord, PreparedValue } from './types.ts';

/** Records scanned per match, beyond blocks of at most SMALL_BLOCK records (always scanned). */
const CANDIDATE_BUDGET = 2000;
const SMALL_BLOCK = 64;

/** One map per blocking rule (keeps each map small); a block is one record number or a list. */
type Block = number | number[];

/** Part numbers are below this, so a two-part key packs into one exact double. */
const PART_RANGE = 2 ** 26;

/** Value numbers in a record's row: the field is missing / present but not among the index's values. */
const MISSING = -1;
const UNKNOWN = -2;
/** Part numbers per value not worked out yet. */
const NOT_COMPUTED = -2;

export interface LinkageIndex {
  model: LinkageModel;
  comparator: Comparator;
  scorer: Scorer;
  rules: CompiledRules;
  /** Blocks keyed by number: each key part's reduced value is numbered once (far smaller than string keys at scale). */
  blocksByRule: Map<number, Block>[];
  /** partNumbers[rule][part]: reduced value → number. */
  partNumbers: Map<string, number>[][];
  /** partOfValue[rule][part][value number]: the part number of that value of the part's field (NOT_COMPUTED, -1: no key). */
  partOfValue: Int32Array[][];
  /** Per field slot, one number and one prepared value object per distinct normalised value. */
  valueNumbers: Map<string, number>[];
  values: PreparedValue[][];
  /** Record-major value numbers (records × fields): candidates are first bounded on these integers. */
  rows: Int32Array;
  /** Per field slot and value number, the weight of an exact match under the index's model (NaN: not computed). */
  exactWeights: Float64Array[];
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
    partOfValue: model.blockingRules.map((rule) => rule.parts.map(() => new Int32Array(0))),
    valueNumbers: specs.map(() => new Map<string, number>()),
    values: specs.map(() => []),
    rows: new Int32Array(1024 * Math.max(1, specs.length)),
    exactWeights: specs.map(() => new Float64Array(0)),
    records: [],
    personIds: [],
    lastSeen: new Uint32Array(1024),
    matchCalls: 0,
  };
}

interface EarlyExitPlan {
  /** Field slots, cheapest to compare first. */
  order: Int32Array;
  /** Most weight each field can add below its exact level (at least 0: it may be missing). */
  bestBelowExact: Float64Array;
  nhsSlot: number;
  sexSlot: number;
}

function earlyExitPlan(scorer: Scorer): EarlyExitPlan {
  const fields = scorer.model.fields;
  return {
    order: slotsByCost(fields.map((field) => field.spec.kind)),
    bestBelowExact: bestWeightsBelowExact(scorer.weights),
    nhsSlot: fields.findIndex((field) => field.spec.kind === 'nhs_number'),
    sexSlot: fields.findIndex((field) => field.spec.kind === 'sex'),
  };
}

function grown<T extends Int32Array | Float64Array>(array: T, length: number, fill: number): T {
  if (array.length >= length) return array;
  const bigger = new (array.constructor as new (size: number) => T)(Math.max(length, array.length * 2, 64));
  bigger.fill(fill);
  bigger.set(array);
  return bigger;
}

/** Weight of an exact match on value `number` of a field, under the index's own model (cached). */
function exactWeight(index: LinkageIndex, slot: number, number: number, record: PreparedRecord): number {
  let cache = index.exactWeights[slot]!;
  if (number >= cache.length) cache = index.exactWeights[slot] = grown(cache, index.values[slot]!.length, Number.NaN);
  let weight = cache[number]!;
  if (Number.isNaN(weight)) cache[number] = weight = fieldWeight(index.scorer, slot, 0, record, record);
  return weight;
}

/**
 * Match weight of the incoming record against indexed record `candidate`, or -Infinity as
 * soon as it cannot reach `cutoff`. First a bound on value numbers alone (fields missing or
 * holding the same value are settled, the rest counted at their best non-exact level), then
 * the unsettled fields cheapest first: the same weight a full comparison gives, for far less
 * work on the many candidates that only share a block.
 */
function weightAtLeast(
  index: LinkageIndex,
  scorer: Scorer,
  plan: EarlyExitPlan,
  incoming: PreparedRecord,
  incomingNumbers: Int32Array,
  candidate: number,
  cutoff: number,
  settled: Uint8Array,
): number {
  const other = index.records[candidate]!;
  const fieldCount = settled.length;
  const row = candidate * fieldCount;
  const rows = index.rows;
  const ownModel = scorer === index.scorer;
  let bound = scorer.priorWeight;
  for (let slot = 0; slot < fieldCount; slot++) {
    const a = incomingNumbers[slot]!;
    const b = rows[row + slot]!;
    settled[slot] = 1;
    if (a === MISSING || b === MISSING) continue;
    if (slot === plan.nhsSlot) {
      // Counts only when both pass the check digit (then equal numbers mean equal values).
      if (incoming.values[slot]!.valid && other.values[slot]!.valid) bound += scorer.weights[slot]![a === b ? 0 : 1]!;
    } else if (slot === plan.sexSlot) {
      bound += scorer.weights[slot]![a === b ? 0 : 1]!;
    } else if (a === b) {
      if (ownModel) {
        const cache = index.exactWeights[slot]!;
        const cached = a < cache.length ? cache[a]! : Number.NaN;
        bound += Number.isNaN(cached) ? exactWeight(index, slot, a, other) : cached;
      } else bound += fieldWeight(scorer, slot, 0, other, other);
    } else {
      settled[slot] = 0;
      bound += plan.bestBelowExact[slot]!;
    }
  }
  if (bound < cutoff) return Number.NEGATIVE_INFINITY;
  for (let k = 0; k < plan.order.length; k++) {
    const slot = plan.order[k]!;
    if (settled[slot] === 1) continue;
    bound += scorer.weights[slot]![compareField(index.comparator, slot, incoming, other)]! - plan.bestBelowExact[slot]!;
    if (bound < cutoff) return Number.NEGATIVE_INFINITY;
  }
  return bound;
}

/**
 * Each field's value number (MISSING, or UNKNOWN for a value the index has never seen; with
 * `create`, unseen values are numbered and the record's values swapped for the shared copies).
 */
function valueNumbersOf(index: LinkageIndex, record: PreparedRecord, create: boolean): Int32Array {
  const numbers = new Int32Array(record.values.length);
  for (let slot = 0; slot < record.values.length; slot++) {
    const value = record.values[slot];
    if (!value) {
      numbers[slot] = MISSING;
      continue;
    }
    let number = index.valueNumbers[slot]!.get(value.value);
    if (number === undefined) {
      if (!create) {
        numbers[slot] = UNKNOWN;
        continue;
      }
      number = index.values[slot]!.length;
      index.values[slot]!.push(value);
      index.valueNumbers[slot]!.set(value.value, number);
    }
    numbers[slot] = number;
  }
  return numbers;
}

/** The part number of a reduced value (undefined: never seen and not created). */
function partNumber(index: LinkageIndex, rule: number, part: number, reduced: string, create: boolean): number | undefined {
  const numbers = index.partNumbers[rule]![part]!;
  let number = numbers.get(reduced);
  if (number === undefined && create && numbers.size < PART_RANGE) numbers.set(reduced, (number = numbers.size));
  return number;
}

/**
 * The record's block key under each rule (NaN: no key). Known values' key parts are worked
 * out once per value; with `create`, unseen parts are numbered, without, a part the index has
 * never seen means no block can match.
 */
function blockKeysOf(index: LinkageIndex, record: PreparedRecord, numbers: Int32Array, create: boolean): Float64Array {
  const keys = new Float64Array(index.rules.rules.length).fill(Number.NaN);
  for (let rule = 0; rule < keys.length; rule++) {
    const slots = index.rules.slots[rule]!;
    const parts = index.rules.rules[rule]!.parts;
    let key = 0;
    for (let part = 0; part < slots.length; part++) {
      const slot = slots[part]!;
      const valueNumber = slot < 0 ? MISSING : numbers[slot]!;
      if (valueNumber === MISSING) {
        key = Number.NaN;
        break;
      }
      let number: number | undefined;
      if (valueNumber >= 0) {
        let cache = index.partOfValue[rule]![part]!;
        if (valueNumber >= cache.length) cache = index.partOfValue[rule]![part] = grown(cache, index.values[slot]!.length, NOT_COMPUTED);
        number = cache[valueNumber]!;
        if (number === NOT_COMPUTED) {
          const reduced = transformValue(record.values[slot]!, parts[part]![1]);
          number = reduced ? partNumber(index, rule, part, reduced, create) : -1;
          // Only a settled answer is cached: a part not yet numbered may be numbered later.
          if (number !== undefined) cache[valueNumber] = number;
        }
      } else {
        const reduced = transformValue(record.values[slot]!, parts[part]![1]);
        number = reduced ? partNumber(index, rule, part, reduced, false) : -1;
      }
      if (number === undefined || number < 0) {
        key = Number.NaN;
        break;
      }
      key = key * PART_RANGE + number;
    }
    keys[rule] = key;
  }
  return keys;
}

/** Adds a record (belonging to `personId`) to the index. */
export function addRecord(index: LinkageIndex, record: LinkRecord, personId: string): void {
  addPreparedRecord(index, prepareRecord(index.comparator.specs, record), personId);
}

/** Adds an already prepared record (fields in the model's order). */
export function addPreparedRecord(index: LinkageIndex, record: PreparedRecord, personId: string): void {
  const numbers = valueNumbersOf(index, record, true);
  const fieldCount = numbers.length;
  const prepared: PreparedRecord = {
    id: record.id,
    values: record.values.map((value, slot) => (value ? index.values[slot]![numbers[slot]!]! : null)),
  };
  const number = index.records.length;
  index.records.push(prepared);
  index.personIds.push(personId);
  if (number >= index.lastSeen.length) {
    const bigger = new Uint32Array(index.lastSeen.length * 2);
    bigger.set(index.lastSeen);
    index.lastSeen = bigger;
  }
  index.rows = grown(index.rows, (number + 1) * fieldCount, MISSING);
  index.rows.set(numbers, number * fieldCount);
  const keys = blockKeysOf(index, prepared, numbers, true);
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
  const numbers = valueNumbersOf(index, prepared, false);
  const call = ++index.matchCalls;
  const bestByPerson = new Map<string, CandidatePerson>();

  const consider = (candidate: number): void => {
    if (index.lastSeen[candidate] === call) return;
    index.lastSeen[candidate] = call;
    const weight = weightAtLeast(index, scorer, plan, prepared, numbers, candidate, cutoff, settled);
    if (weight === Number.NEGATIVE_INFINITY) return;
    const personId = index.personIds[candidate]!;
    const best = bestByPerson.get(personId);
    if (!best || weight > best.weight) {
      bestByPerson.set(personId, { personId, recordId: index.records[candidate]!.id, weight, probability: probabilityFromWeight(weight) });
    }
  };

  // Smallest (most selective) blocks first; big blocks only while within the budget,
  // so a common name cannot make one match scan thousands of records.
  const blocks: number[][] = [];
  const keys = blockKeysOf(index, prepared, numbers, false);
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
