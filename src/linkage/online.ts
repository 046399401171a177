// Online matching: an in-memory index of blocking keys over all known records,
// so one incoming record is scored only against the records sharing a key.

import { addToBlock, blockSize, createBlockTable, findBlock, newestRecord, previousRecord, type BlockTable } from './block-table.ts';
import { compileRules, transformValue } from './blocking.ts';
import type { CompiledRules } from './blocking.ts';
import { compareDateNumbers, compareField, createComparator, slotsByCost, swappedNameLevel } from './comparisons.ts';
import type { Comparator } from './comparisons.ts';
import { bestWeightsBelowExact, createScorer, fieldWeight, log2Odds, personCap, probabilityFromWeight } from './model.ts';
import type { Scorer } from './model.ts';
import { prepareRecord, prepareValue } from './prepare.ts';
import { NULL_LEVEL } from './types.ts';
import type { LinkageModel, LinkRecord, PreparedRecord, PreparedValue } from './types.ts';

/** Records scanned per match, beyond blocks of at most SMALL_BLOCK records (always scanned). */
const CANDIDATE_BUDGET = 2000;
const SMALL_BLOCK = 64;
/** Blocks scanned as soon as they are found (a person's own few records under a near-unique key). */
const TINY_BLOCK = 4;

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
  /** Per blocking rule, its blocks keyed by number: each key part's reduced value is numbered once (far smaller than string keys at scale). */
  blocksByRule: BlockTable[];
  /** partNumbers[rule][part]: reduced value → number. */
  partNumbers: Map<string, number>[][];
  /** partOfValue[rule][part][value number]: the part number of that value of the part's field (NOT_COMPUTED, -1: no key). */
  partOfValue: Int32Array[][];
  /** Per field slot, one number and one prepared value object per distinct normalised value. */
  valueNumbers: Map<string, number>[];
  /** Per field slot, raw value as received → value number (MISSING: nothing to compare): a raw value seen before is not normalised again. */
  rawNumbers: Map<string, number>[];
  values: PreparedValue[][];
  /**
   * Record-major rows of `stride` integers: the record's value numbers per field, then its
   * person number, then the match call that last saw it. Everything a candidate is first
   * bounded on sits in one cache line, so the many candidates that only share a block cost
   * one memory read each.
   */
  rows: Int32Array;
  stride: number;
  /** Per field slot and value number, the weight of an exact match under the index's model (NaN: not computed). */
  exactWeights: Float64Array[];
  /**
   * Per field slot and value number, how many indexed records hold it, and per slot how many
   * hold any value: how common a value is here, for values the model's term frequencies never
   * saw (a town in a column the model learned as house addresses; see exactWeight).
   */
  valueCounts: Int32Array[];
  presentCounts: Float64Array;
  /**
   * Per indexed record, its id. Its values are not kept as objects: the row's value numbers
   * name them (see candidateRecord), which spares the garbage collector two objects a record.
   */
  recordIds: string[];
  /** Per record, its person ('' once the record no longer votes); change with setEntryPerson. */
  readonly personIds: readonly string[];
  /** Person id ↔ person number (the number is kept in each record's row). */
  personNumberOf: Map<string, number>;
  personIdOf: string[];
  /** Per person number, within the current match call: its best weight so far and that record. */
  personCall: Int32Array;
  personBest: Float64Array;
  personBestEntry: Int32Array;
  /** Per value number of the NHS number field: whether it passes the check digit. */
  nhsValid: Uint8Array;
  nhsSlot: number;
  /**
   * Per value number of the birth date field: the date as the number YYYYMMDD (-1: not eight
   * digits), the same with day and month swapped, and its day number. Most candidates that
   * get past the first bound are then ruled out on the date: compared on these numbers, they
   * never read a value object (a cache miss each, at millions of values).
   */
  dates: { value: Int32Array; swapped: Int32Array; day: Float64Array };
  dateSlot: number;
  /** Per-field work arrays for the record being scored (reused: small Float64Arrays are costly to allocate per record). */
  scratch: { exact: Float64Array; best: Float64Array; settled: Uint8Array; other: PreparedRecord };
  matchCalls: number;
  /** The best candidate's person number in the last match (-1: none): usually the person the record then joins, found without a lookup. */
  lastBestPerson: number;
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
    blocksByRule: model.blockingRules.map(() => createBlockTable()),
    partNumbers: model.blockingRules.map((rule) => {
      if (rule.parts.length > 2) throw new Error(`Blocking rule ${rule.name} has more than two parts`);
      return rule.parts.map(() => new Map<string, number>());
    }),
    partOfValue: model.blockingRules.map((rule) => rule.parts.map(() => new Int32Array(0))),
    valueNumbers: specs.map(() => new Map<string, number>()),
    rawNumbers: specs.map(() => new Map<string, number>()),
    values: specs.map(() => []),
    rows: new Int32Array(1024 * (specs.length + 2)),
    stride: specs.length + 2,
    exactWeights: specs.map(() => new Float64Array(0)),
    valueCounts: specs.map(() => new Int32Array(0)),
    presentCounts: new Float64Array(specs.length),
    recordIds: [],
    personIds: [],
    personNumberOf: new Map(),
    personIdOf: [],
    personCall: new Int32Array(1024),
    personBest: new Float64Array(1024),
    personBestEntry: new Int32Array(1024),
    nhsValid: new Uint8Array(1024),
    nhsSlot: specs.findIndex((spec) => spec.kind === 'nhs_number'),
    dates: { value: new Int32Array(1024), swapped: new Int32Array(1024), day: new Float64Array(1024) },
    dateSlot: specs.findIndex((spec) => spec.kind === 'birth_date'),
    scratch: {
      exact: new Float64Array(specs.length),
      best: new Float64Array(specs.length),
      settled: new Uint8Array(specs.length),
      other: { id: '', values: specs.map((): PreparedValue | null => null) },
    },
    matchCalls: 0,
    lastBestPerson: -1,
  };
}

interface EarlyExitPlan {
  /** Field slots, cheapest to compare first. */
  order: Int32Array;
  /** Where in `order` the first field that can be left unsettled by the bound is (the NHS number and sex are always settled). */
  firstCompared: number;
  /** Field slots, widest spread of weight first: the bound falls fastest in this order. */
  boundOrder: Int32Array;
  /** Most weight each field can add below its exact level (at least 0: it may be missing). */
  bestBelowExact: Float64Array;
  sexSlot: number;
  /** The given name's swapped level, and whether both names are compared (1) or not (0). */
  swappedGivenLevel: number;
  nameSlots: number;
  /** Per blocking rule, a bit per field slot it keys on (0: a field the model lacks, or too many slots to say). */
  ruleFields: Int32Array;
}

function earlyExitPlan(scorer: Scorer, rules: CompiledRules): EarlyExitPlan {
  const fields = scorer.model.fields;
  const order = slotsByCost(fields.map((field) => field.spec.kind));
  return {
    ruleFields: Int32Array.from(rules.fieldSlots, (slots) =>
      slots.every((slot) => slot >= 0 && slot < 31) ? slots.reduce((bits, slot) => bits | (1 << slot), 0) : 0,
    ),
    order,
    firstCompared: [...order].findIndex((slot) => fields[slot]!.spec.kind !== 'nhs_number' && fields[slot]!.spec.kind !== 'sex'),
    boundOrder: Int32Array.from(fields.map((_, slot) => slot)).sort((x, y) => spread(scorer, y) - spread(scorer, x) || x - y),
    bestBelowExact: bestWeightsBelowExact(scorer.weights),
    sexSlot: fields.findIndex((field) => field.spec.kind === 'sex'),
    swappedGivenLevel: swappedNameLevel('given_name'),
    nameSlots:
      fields.some((field) => field.spec.kind === 'given_name') && fields.some((field) => field.spec.kind === 'family_name') ? 1 : 0,
  };
}

/** How far apart a field's best and worst weights are. */
function spread(scorer: Scorer, slot: number): number {
  const levels = [...scorer.weights[slot]!, 0];
  return Math.max(...levels) - Math.min(...levels);
}

function grown<T extends Uint8Array | Int32Array | Float64Array>(array: T, length: number, fill: number): T {
  if (array.length >= length) return array;
  const bigger = new (array.constructor as new (size: number) => T)(Math.max(length, array.length * 2, 64));
  bigger.fill(fill);
  bigger.set(array);
  return bigger;
}

/**
 * Records that must hold a value before the index's own count of it is trusted as its
 * frequency: a person's own handful of records never makes a value common.
 */
const COMMON_VALUE_RECORDS = 50;

/**
 * Weight of an exact match on value `number` of a field, under the index's own model (cached),
 * term-frequency adjusted by the larger of the model's frequency and the value's share of the
 * index. The model's table holds only values seen in training, and rates any other as the
 * rarest it saw: a feed whose towns arrive in the address column would make "london" as
 * telling as a house address, and two namesakes in London the same person. Agreeing on a value
 * a tenth of the index holds says about as much as its share.
 */
function exactWeight(index: LinkageIndex, slot: number, number: number, record: PreparedRecord): number {
  let cache = index.exactWeights[slot]!;
  if (number >= cache.length) cache = index.exactWeights[slot] = grown(cache, index.values[slot]!.length, Number.NaN);
  let weight = cache[number]!;
  if (Number.isNaN(weight)) cache[number] = weight = fieldWeight(index.scorer, slot, 0, record, record);
  const counts = index.valueCounts[slot]!;
  const count = number < counts.length ? counts[number]! : 0;
  if (count >= COMMON_VALUE_RECORDS && index.scorer.frequencies[slot]) {
    weight = Math.min(weight, index.scorer.logExactM[slot]! - Math.log2(count / index.presentCounts[slot]!));
  }
  return weight;
}

/**
 * Match weight of the incoming record against indexed record `candidate`, or -Infinity as
 * soon as it cannot reach `cutoff`. The bound starts at the incoming record's perfect score
 * and comes down field by field on value numbers alone, the most telling field first (a
 * different valid NHS number rules out a household member at the first field): fields
 * missing or holding the same value are settled, the rest held at their best non-exact
 * level. Then the unsettled fields are compared, cheapest first. The same weight a full
 * comparison gives, for far less work on the many candidates that only share a block.
 */
function weightAtLeast(
  index: LinkageIndex,
  scorer: Scorer,
  plan: EarlyExitPlan,
  incoming: IncomingScore,
  candidate: number,
  cutoff: number,
  settled: Uint8Array,
): number {
  const numbers = incoming.numbers;
  const fieldCount = settled.length;
  const row = candidate * index.stride;
  const rows = index.rows;
  const nhsSlot = index.nhsSlot;
  let bound = incoming.perfect;
  for (let k = 0; k < fieldCount; k++) {
    const slot = plan.boundOrder[k]!;
    const a = numbers[slot]!;
    settled[slot] = 1;
    if (a === MISSING) continue;
    const b = rows[row + slot]!;
    let weight: number;
    if (b === MISSING) weight = 0;
    else if (slot === nhsSlot) {
      // Counts only when both pass the check digit (then equal numbers mean equal values).
      weight = incoming.nhsValid && index.nhsValid[b] === 1 ? scorer.weights[slot]![a === b ? 0 : 1]! : 0;
    } else if (slot === plan.sexSlot) weight = scorer.weights[slot]![a === b ? 0 : 1]!;
    else if (a === b) weight = incoming.exact[slot]!;
    else {
      settled[slot] = 0;
      weight = plan.bestBelowExact[slot]!;
    }
    bound -= incoming.best[slot]! - weight;
    if (bound < cutoff) return Number.NEGATIVE_INFINITY;
  }
  // The birth date is the first field compared below whenever it is unsettled (the NHS number
  // and sex never are): compared here on numbers, with the same arithmetic, it rules most
  // candidates out before their values are read.
  const dateSlot = index.dateSlot;
  if (dateSlot >= 0 && settled[dateSlot] === 0 && plan.order[plan.firstCompared] === dateSlot) {
    const a = numbers[dateSlot]!;
    const b = rows[row + dateSlot]!;
    const dates = index.dates;
    if (a >= 0 && b >= 0 && dates.value[a]! >= 0 && dates.value[b]! >= 0) {
      const level = compareDateNumbers(dates.value[a]!, dates.swapped[a]!, dates.day[a]!, dates.value[b]!, dates.day[b]!);
      settled[dateSlot] = 1;
      bound += scorer.weights[dateSlot]![level]! - plan.bestBelowExact[dateSlot]!;
      if (bound < cutoff) return Number.NEGATIVE_INFINITY;
    }
  }
  let other: PreparedRecord | null = null;
  for (let k = 0; k < plan.order.length; k++) {
    const slot = plan.order[k]!;
    if (settled[slot] === 1) continue;
    other ??= candidateRecord(index, candidate);
    // A present value can still add nothing: a family name when the names are swapped.
    const level = compareField(index.comparator, slot, incoming.record, other);
    // Both names written the other way round, each exactly: each counts as its best agreement
    // short of exact (the most the bound held it at, so the bound stays sound), not the swapped
    // level's little weight, learned where swaps are rare: "smith james" born the same day as
    // "james smith" is the same person.
    const weight =
      (level === plan.swappedGivenLevel || level === NULL_LEVEL) && plan.nameSlots !== 0 && exactlySwapped(index, incoming.record, other)
        ? plan.bestBelowExact[slot]!
        : level === NULL_LEVEL
          ? 0
          : scorer.weights[slot]![level]!;
    bound += weight - plan.bestBelowExact[slot]!;
    if (bound < cutoff) return Number.NEGATIVE_INFINITY;
  }
  // The person check (model.ts), only for the few candidates it could pull down; equal value
  // numbers (the usual case for a record of the same person) settle a field without comparing.
  if (bound > scorer.person.otherPersonCap) {
    bound = Math.min(
      bound,
      personCap(scorer.person, (slot) => {
        const a = numbers[slot]!;
        const b = rows[row + slot]!;
        if (a === MISSING || b === MISSING) return NULL_LEVEL;
        if (a === b && slot !== nhsSlot) return 0;
        other ??= candidateRecord(index, candidate);
        return compareField(index.comparator, slot, incoming.record, other);
      }),
    );
    if (bound < cutoff) return Number.NEGATIVE_INFINITY;
  }
  return bound;
}

/** Whether a pair's given and family names are each other's, exactly (and differ from each other). */
function exactlySwapped(index: LinkageIndex, a: PreparedRecord, b: PreparedRecord): boolean {
  const { givenSlot, familySlot } = index.comparator;
  const givenA = a.values[givenSlot];
  const familyA = a.values[familySlot];
  const givenB = b.values[givenSlot];
  const familyB = b.values[familySlot];
  return (
    givenA != null &&
    familyA != null &&
    givenB != null &&
    familyB != null &&
    givenA.value !== givenB.value &&
    givenA.value === familyB.value &&
    familyA.value === givenB.value
  );
}

/**
 * An indexed record's values in the index's one scratch record, for comparing it within one
 * weightAtLeast call (which keeps nothing of it): a fresh object per candidate compared made a
 * tenth of a feed's matching time garbage collection.
 */
function candidateRecord(index: LinkageIndex, entry: number): PreparedRecord {
  const other = index.scratch.other;
  const row = entry * index.stride;
  const values = other.values;
  for (let slot = 0; slot < values.length; slot++) {
    const number = index.rows[row + slot]!;
    values[slot] = number >= 0 ? index.values[slot]![number]! : null;
  }
  return other;
}

/** What is worked out once per incoming record before its candidates are scored. */
interface IncomingScore {
  record: PreparedRecord;
  /** Value numbers in the index (MISSING, UNKNOWN). */
  numbers: Int32Array;
  /** Per field, the weight of an exact match on this record's value (the index's scratch). */
  exact: Float64Array;
  /** Per field, the most it can add against any record (0 when missing). */
  best: Float64Array;
  /** The most any indexed record can score: the prior plus every field's best. */
  perfect: number;
  nhsValid: boolean;
}

/** A field missing on the other side adds 0, so no field's best is below 0. */
function incomingScore(
  index: LinkageIndex,
  scorer: Scorer,
  plan: EarlyExitPlan,
  record: PreparedRecord,
  numbers: Int32Array,
): IncomingScore {
  // The index's scratch arrays: an IncomingScore lives only while one record is scored.
  const { exact, best } = index.scratch;
  exact.fill(0);
  best.fill(0);
  let perfect = scorer.priorWeight;
  for (let slot = 0; slot < numbers.length; slot++) {
    const number = numbers[slot]!;
    if (number === MISSING) continue;
    const levels = scorer.weights[slot]!;
    let most = Math.max(0, plan.bestBelowExact[slot]!);
    if (slot === index.nhsSlot) most = record.values[slot]!.valid ? Math.max(most, levels[0]!, levels[1]!) : 0;
    else if (slot === plan.sexSlot) most = Math.max(most, levels[0]!, levels[1]!);
    else if (number >= 0) {
      // Term-frequency adjusted: the same for the candidate's copy of this value.
      exact[slot] = scorer === index.scorer ? exactWeight(index, slot, number, record) : fieldWeight(scorer, slot, 0, record, record);
      most = Math.max(most, exact[slot]!);
    }
    best[slot] = most;
    perfect += most;
  }
  const nhsValid = index.nhsSlot >= 0 && record.values[index.nhsSlot]?.valid === true;
  return { record, numbers, exact, best, perfect, nhsValid };
}

/** Rounding between two sums of the same weights in a different order. */
const PERFECT_SLACK = 1e-9;

/**
 * Each field's value number: MISSING, or UNKNOWN for a value the index has never seen (with
 * `create`, unseen values are numbered instead).
 */
function valueNumbersOf(index: LinkageIndex, record: PreparedRecord, create: boolean): Int32Array {
  const numbers = new Int32Array(record.values.length);
  for (let slot = 0; slot < record.values.length; slot++) {
    const value = record.values[slot];
    if (!value) {
      numbers[slot] = MISSING;
      continue;
    }
    numbers[slot] = create ? numberValue(index, slot, value) : (index.valueNumbers[slot]!.get(value.value) ?? UNKNOWN);
  }
  return numbers;
}

/** The value's number in its field, numbering it if the index has not seen it. */
function numberValue(index: LinkageIndex, slot: number, value: PreparedValue): number {
  let number = index.valueNumbers[slot]!.get(value.value);
  if (number !== undefined) return number;
  number = index.values[slot]!.length;
  index.values[slot]!.push(value);
  index.valueNumbers[slot]!.set(value.value, number);
  if (slot === index.nhsSlot) {
    index.nhsValid = grown(index.nhsValid, number + 1, 0);
    index.nhsValid[number] = value.valid ? 1 : 0;
  }
  if (slot === index.dateSlot) {
    const dates = index.dates;
    dates.value = grown(dates.value, number + 1, -1);
    dates.swapped = grown(dates.swapped, number + 1, -1);
    dates.day = grown(dates.day, number + 1, Number.NaN);
    const eightDigits = EIGHT_DIGITS.test(value.value) && EIGHT_DIGITS.test(value.swapped);
    dates.value[number] = eightDigits ? Number(value.value) : -1;
    dates.swapped[number] = eightDigits ? Number(value.swapped) : -1;
    dates.day[number] = value.dayNumber;
  }
  return number;
}

const EIGHT_DIGITS = /^\d{8}$/;

/** Distinct raw values remembered per field before the memory is cleared (it is only a shortcut). */
const RAW_CACHE_LIMIT = 1_000_000;

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
function blockKeysOf(index: LinkageIndex, record: PreparedRecord, numbers: Int32Array, create: boolean): number[] {
  // A plain array: a Float64Array this size would get its own off-heap buffer, per record.
  const keys: number[] = new Array<number>(index.rules.rules.length).fill(Number.NaN);
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
      const paired = index.rules.paired[rule]![part]!;
      const transform = parts[part]![1];
      if (transform === 'value') {
        // The part is the value itself: its value number serves as its part number (one number
        // per distinct value either way), so no map of key strings is kept or looked up for it.
        number = valueNumber < 0 || valueNumber >= PART_RANGE ? undefined : record.values[slot]!.value === '' ? -1 : valueNumber;
      } else if (paired >= 0) {
        // A part reading two fields (names in either order) is reduced per record.
        const reduced = transformValue(record.values[slot]!, parts[part]![1], record.values[paired]);
        number = reduced ? partNumber(index, rule, part, reduced, create) : -1;
      } else if (valueNumber >= 0) {
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
  addInternedRecord(index, internRecord(index, record), personId);
}

/**
 * A prepared record numbered into the index once (its values and block key parts), for a
 * record that is matched and then added: the work is not done twice. Its values are swapped
 * for the index's shared copies.
 */
export interface InternedRecord {
  record: PreparedRecord;
  numbers: Int32Array;
  keys: number[];
}

export function internRecord(index: LinkageIndex, prepared: PreparedRecord): InternedRecord {
  const numbers = valueNumbersOf(index, prepared, true);
  const record: PreparedRecord = {
    id: prepared.id,
    values: prepared.values.map((value, slot) => (value ? index.values[slot]![numbers[slot]!]! : null)),
  };
  return { record, numbers, keys: blockKeysOf(index, record, numbers, true) };
}

/**
 * As internRecord, straight from a record's fields as received (the known linkage fields):
 * each raw value is normalised only the first time the index meets it.
 */
export function internFields(index: LinkageIndex, id: string, fields: Readonly<Record<string, unknown>>): InternedRecord {
  const numbers = fieldNumbers(index, fields);
  const values: (PreparedValue | null)[] = [];
  for (let slot = 0; slot < numbers.length; slot++) values.push(numbers[slot] === MISSING ? null : index.values[slot]![numbers[slot]!]!);
  const record: PreparedRecord = { id, values };
  return { record, numbers, keys: blockKeysOf(index, record, numbers, true) };
}

/**
 * Whether `fields` hold, once normalised, exactly the values of an interned record: then
 * indexing them as well would only put a second copy of that record in every block it is in,
 * to be scored again by every later match (a new person's own details, made from its one
 * record, are such a copy).
 */
export function sameValuesAs(index: LinkageIndex, fields: Readonly<Record<string, unknown>>, interned: InternedRecord): boolean {
  const numbers = fieldNumbers(index, fields);
  for (let slot = 0; slot < numbers.length; slot++) if (numbers[slot] !== interned.numbers[slot]) return false;
  return true;
}

/** Each field's value number (MISSING when absent), numbering unseen values; each raw value is normalised once. */
function fieldNumbers(index: LinkageIndex, fields: Readonly<Record<string, unknown>>): Int32Array {
  const specs = index.comparator.specs;
  const numbers = new Int32Array(specs.length);
  for (let slot = 0; slot < specs.length; slot++) {
    const spec = specs[slot]!;
    const raw = spec.kind === 'text' ? undefined : fields[spec.kind];
    let number: number = MISSING;
    if (typeof raw === 'string') {
      const known = index.rawNumbers[slot]!;
      const cached = known.get(raw);
      if (cached !== undefined) number = cached;
      else {
        const value = prepareValue(spec, raw);
        if (value) number = numberValue(index, slot, value);
        if (known.size >= RAW_CACHE_LIMIT) known.clear();
        known.set(raw, number);
      }
    }
    numbers[slot] = number;
  }
  return numbers;
}

export function addInternedRecord(index: LinkageIndex, interned: InternedRecord, personId: string): void {
  const { record: prepared, numbers, keys } = interned;
  const fieldCount = numbers.length;
  const number = index.recordIds.length;
  index.recordIds.push(prepared.id);
  (index.personIds as string[]).push('');
  index.rows = grown(index.rows, (number + 1) * index.stride, MISSING);
  index.rows.set(numbers, number * index.stride);
  index.rows[number * index.stride + fieldCount + 1] = 0;
  for (let slot = 0; slot < fieldCount; slot++) {
    const value = numbers[slot]!;
    if (value < 0) continue;
    let counts = index.valueCounts[slot]!;
    if (value >= counts.length) counts = index.valueCounts[slot] = grown(counts, index.values[slot]!.length, 0);
    counts[value] = counts[value]! + 1;
    index.presentCounts[slot] = index.presentCounts[slot]! + 1;
  }
  setEntryPerson(index, number, personId);
  for (let rule = 0; rule < keys.length; rule++) {
    const key = keys[rule]!;
    if (!Number.isNaN(key)) addToBlock(index.blocksByRule[rule]!, key, number);
  }
}

/** Says which person an indexed record belongs to; '' takes it out of matching (it no longer votes). */
export function setEntryPerson(index: LinkageIndex, entry: number, personId: string): void {
  (index.personIds as string[])[entry] = personId;
  let person = -1;
  const hint = index.lastBestPerson;
  if (hint >= 0 && index.personIdOf[hint] === personId) person = hint;
  else if (personId !== '') {
    const known = index.personNumberOf.get(personId);
    if (known !== undefined) person = known;
    else {
      person = index.personIdOf.length;
      index.personIdOf.push(personId);
      index.personNumberOf.set(personId, person);
      if (person >= index.personCall.length) {
        index.personCall = grown(index.personCall, person + 1, 0);
        index.personBest = grown(index.personBest, person + 1, 0);
        index.personBestEntry = grown(index.personBestEntry, person + 1, 0);
      }
    }
  }
  index.rows[entry * index.stride + index.comparator.specs.length] = person;
}

/** A new match call number (call numbers mark what one match has seen, without clearing). */
function nextMatchCall(index: LinkageIndex): number {
  if (index.matchCalls >= 0x7fffffff) {
    for (let entry = 0; entry < index.recordIds.length; entry++) index.rows[entry * index.stride + index.stride - 1] = 0;
    index.personCall.fill(0);
    index.matchCalls = 0;
  }
  return ++index.matchCalls;
}

/** Scores `record` against the index and decides link / review / new. Does not add it. */
export function matchRecord(index: LinkageIndex, model: LinkageModel, record: LinkRecord): MatchResult {
  return matchPreparedRecord(index, model, prepareRecord(index.comparator.specs, record));
}

export interface MatchOptions {
  /**
   * Only the decision is wanted: once one person clears the link threshold, persons more than
   * AMBIGUITY_MARGIN_BITS below it can neither link nor make the link ambiguous, so they are
   * not scored out. When the decision is not a link, the record is matched again in full, so
   * a review still lists every candidate.
   */
  decisionOnly?: boolean;
}

/** As matchRecord, for a record already prepared with the index's field specs. */
export function matchPreparedRecord(
  index: LinkageIndex,
  model: LinkageModel,
  prepared: PreparedRecord,
  options: MatchOptions = {},
): MatchResult {
  // Looked up without numbering: a value or key part the index has never seen matches nothing.
  const numbers = valueNumbersOf(index, prepared, false);
  return matchNumbered(index, model, prepared, numbers, blockKeysOf(index, prepared, numbers, false), options);
}

/** As matchRecord, for a record interned to be added after it is matched. */
export function matchInternedRecord(
  index: LinkageIndex,
  model: LinkageModel,
  interned: InternedRecord,
  options: MatchOptions = {},
): MatchResult {
  return matchNumbered(index, model, interned.record, interned.numbers, interned.keys, options);
}

function matchNumbered(
  index: LinkageIndex,
  model: LinkageModel,
  prepared: PreparedRecord,
  numbers: Int32Array,
  keys: readonly number[],
  options: MatchOptions,
): MatchResult {
  const result = scoreCandidates(index, model, prepared, numbers, keys, options.decisionOnly === true);
  if (result.match.decision === 'link' || !result.pruned) return result.match;
  return scoreCandidates(index, model, prepared, numbers, keys, false).match;
}

function scoreCandidates(
  index: LinkageIndex,
  model: LinkageModel,
  prepared: PreparedRecord,
  numbers: Int32Array,
  keys: readonly number[],
  prune: boolean,
): { match: MatchResult; pruned: boolean } {
  const scorer = model === index.model ? index.scorer : createScorer(model);
  const plan = model === index.model ? (index.plan ??= earlyExitPlan(scorer, index.rules)) : earlyExitPlan(scorer, index.rules);
  const reviewWeight = log2Odds(model.reviewThreshold);
  const linkWeight = log2Odds(model.linkThreshold);
  let cutoff = reviewWeight;
  const settled = index.scratch.settled;
  const call = nextMatchCall(index);
  const { rows, stride, personCall, personBest, personBestEntry } = index;
  const personColumn = stride - 2;
  const touched: number[] = [];
  // A person's further records need only be scored while they could beat its best so far,
  // and not at all once that best is the most any record can score (a person often holds
  // the same details in several agencies' records).
  const incoming = incomingScore(index, scorer, plan, prepared, numbers);
  const perfect = incoming.perfect - PERFECT_SLACK;
  const consider = (candidate: number): void => {
    const at = candidate * stride;
    if (rows[at + stride - 1] === call) return;
    rows[at + stride - 1] = call;
    const person = rows[at + personColumn]!;
    if (person < 0) return;
    const seen = personCall[person] === call;
    if (seen && personBest[person]! >= perfect) return;
    const weight = weightAtLeast(index, scorer, plan, incoming, candidate, seen ? Math.max(cutoff, personBest[person]!) : cutoff, settled);
    if (weight === Number.NEGATIVE_INFINITY) return;
    if (prune && weight >= linkWeight && weight - AMBIGUITY_MARGIN_BITS > cutoff) cutoff = weight - AMBIGUITY_MARGIN_BITS;
    if (!seen) {
      personCall[person] = call;
      touched.push(person);
    } else if (weight <= personBest[person]!) return;
    personBest[person] = weight;
    personBestEntry[person] = candidate;
  };

  // Smallest (most selective) blocks first; big blocks only while within the budget,
  // so a common name cannot make one match scan thousands of records. A record not yet seen
  // lies outside every block scanned so far (and every empty one), so it differs from the
  // incoming record on at least one field of each of those rules. Rules with no field in
  // common each cost it a field's exact level, so their least losses add up; once the
  // perfect score less that sum is below the cutoff, no unseen record can count and the
  // scan stops (the same result, without reading the large blocks). Tiny blocks are scanned
  // as their rule comes up, so a record settled by its NHS number block never looks up the
  // rest; the others wait and go smallest first.
  const unseen = { loss: 0, fields: 0 };
  const stopped = () => incoming.perfect - unseen.loss < cutoff - PERFECT_SLACK;
  const scan = (rule: number, slot: number) => {
    const table = index.blocksByRule[rule]!;
    for (let candidate = newestRecord(table, slot); candidate >= 0; candidate = previousRecord(table, candidate)) consider(candidate);
    ruleOutUnseen(unseen, index, plan, incoming, rule);
  };
  const waiting: Array<{ rule: number; slot: number; size: number }> = [];
  let scanned = 0;
  for (let rule = 0; rule < keys.length && !stopped(); rule++) {
    if (Number.isNaN(keys[rule]!)) continue;
    const table = index.blocksByRule[rule]!;
    const slot = findBlock(table, keys[rule]!);
    const size = slot < 0 ? 0 : blockSize(table, slot);
    if (size === 0) ruleOutUnseen(unseen, index, plan, incoming, rule);
    else if (size <= TINY_BLOCK) {
      if (size > 1) scanned += size;
      scan(rule, slot);
    } else if (size <= model.maxBlockSize) waiting.push({ rule, slot, size });
  }
  waiting.sort((x, y) => x.size - y.size);
  for (const { rule, slot, size } of waiting) {
    if (stopped()) break;
    if (size > SMALL_BLOCK && scanned + size > CANDIDATE_BUDGET) continue;
    scanned += size;
    scan(rule, slot);
  }

  const candidates: CandidatePerson[] = [];
  index.lastBestPerson = -1;
  for (const person of touched) {
    const weight = personBest[person]!;
    const probability = probabilityFromWeight(weight);
    if (probability < model.reviewThreshold) continue;
    if (index.lastBestPerson < 0 || weight > personBest[index.lastBestPerson]!) index.lastBestPerson = person;
    candidates.push({ personId: index.personIdOf[person]!, recordId: index.recordIds[personBestEntry[person]!]!, weight, probability });
  }
  candidates.sort((x, y) => y.weight - x.weight);
  const match = { ...decide(candidates, model), candidates };
  return { match, pruned: cutoff > reviewWeight };
}

/**
 * Notes that no unseen record shares the incoming record's block of `rule`: it differs on
 * one of the rule's fields, so that field is below its exact level (at most its best
 * non-exact weight, or 0 when missing). The least such loss is added when the rule shares no
 * field with the rules already counted (a lower bound that stays sound).
 */
function ruleOutUnseen(
  unseen: { loss: number; fields: number },
  index: LinkageIndex,
  plan: EarlyExitPlan,
  incoming: IncomingScore,
  rule: number,
): void {
  const fields = plan.ruleFields[rule]!;
  if (fields === 0 || (fields & unseen.fields) !== 0) return;
  let least = Number.POSITIVE_INFINITY;
  for (const slot of index.rules.fieldSlots[rule]!) least = Math.min(least, incoming.best[slot]! - plan.bestBelowExact[slot]!);
  unseen.loss += Math.max(0, least);
  unseen.fields |= fields;
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
export function matchAndAdd(index: LinkageIndex, model: LinkageModel, record: LinkRecord, newPersonId: string): MatchResult {
  const result = matchRecord(index, model, record);
  addRecord(index, record, result.decision === 'link' ? result.personId! : newPersonId);
  return result;
}
