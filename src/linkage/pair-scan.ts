// The inner loops of batch linking, run over ranges of blocks on worker threads (or inline
// for small inputs): compare candidate pairs through the shared columns, either to learn
// (comparison patterns of a sample of pairs) or to score (keeping only pairs that may match).

import { BlockCursor, pairsInBlocks } from './blocking.ts';
import type { BlockIndex } from './blocking.ts';
import {
  compareAddressText,
  compareDate,
  compareDateNumbers,
  compareEmailText,
  compareName,
  comparePhoneText,
  compareTextValues,
  crossName,
  emailLevelGivenNamesText,
  slotsByCost,
  swappedNameLevel,
} from './comparisons.ts';
import { damerauLevenshtein } from './string-metrics.ts';
import { PatternTally } from './estimate.ts';
import { bestWeightsBelowExact, personCap } from './model.ts';
import type { PersonCheck } from './model.ts';
import { NULL_LEVEL } from './types.ts';
import type { FieldKind, PreparedValue } from './types.ts';
import type { PreparedColumns } from './prepare.ts';
import { addWeight, createWeightHistogram, firstBinCeiling } from './weight-histogram.ts';
import type { WeightHistogram } from './weight-histogram.ts';

/** Birth dates as numbers (all YYYYMMDD): the value, day and month swapped, days since 1970 (NaN: no calendar date). */
export interface DateNumbers {
  value: Int32Array;
  swapped: Int32Array;
  day: Float64Array;
}

/** Postcodes' sector and district as numbers (-1: none), for equality without strings. */
export interface PostcodeNumbers {
  sector: Int32Array;
  district: Int32Array;
}

/**
 * What the pair scans read, shared with worker threads: the table of value numbers and block
 * index (SharedArrayBuffers), and of each field's values only what its comparison needs, so
 * that each thread holds a lean copy: prepared values for names (nicknames, sounds), numbers for
 * dates, the normalised strings for postcodes, emails, phones, addresses and free text (a
 * million records have about as many of each), only the check-digit flags for NHS numbers and
 * nothing for sex (equal value numbers are equal values). Numbers in typed arrays also keep the
 * comparisons that most pairs reach (dates, postcodes) within a few cache lines.
 */
export interface ScanData {
  fieldCount: number;
  ids: Int32Array;
  kinds: readonly FieldKind[];
  /** Per slot: its kind as a number (KIND_CODES), for the comparisons' switch. */
  kindCodes: Uint8Array;
  index: BlockIndex;
  /** Per slot: prepared values (names; dates that are not all YYYYMMDD), else null. */
  details: (PreparedValue[] | null)[];
  /** Per slot: normalised values (postcodes, emails, phones, addresses, free text), else null. */
  texts: (string[] | null)[];
  /** Per slot: NHS numbers' check digits pass, by value number, else null. */
  valid: (Uint8Array | null)[];
  dates: (DateNumbers | null)[];
  postcodes: (PostcodeNumbers | null)[];
  /** Per slot: remembered levels of pairs of values (names, small dictionaries of text), else null. */
  memos: (LevelMemo | null)[];
  /** Remembered crossName of a given name (by value number) and a family name, for the swap check. */
  crossMemo: LevelMemo | null;
}

/**
 * Levels of pairs of values remembered, for comparisons that cost string metrics and whose
 * values repeat (names, towns): a direct-mapped cache, the pair last seen in a slot kept.
 * Typed arrays only, so each worker thread gets its own copy.
 */
export interface LevelMemo {
  /** Slot s holds the pair numbered keys[s] (first * stride + second; -1: empty) at levels[s]. */
  keys: Float64Array;
  levels: Uint8Array;
  stride: number;
}

const MEMO_SLOTS = 1 << 18;
/** Text and address fields with at most this many distinct values remember their levels. */
const MEMO_DICTIONARY_LIMIT = 1 << 17;

function levelMemo(stride: number): LevelMemo {
  return { keys: new Float64Array(MEMO_SLOTS).fill(-1), levels: new Uint8Array(MEMO_SLOTS), stride };
}

function memoSlot(key: number): number {
  const low = key >>> 0;
  const high = Math.floor(key / 4294967296) >>> 0;
  let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  return (h ^ (h >>> 16)) & (MEMO_SLOTS - 1);
}

const TEXT_KINDS: ReadonlySet<FieldKind> = new Set(['postcode', 'email', 'phone', 'address', 'text']);

const GIVEN_NAME = 0;
const FAMILY_NAME = 1;
const BIRTH_DATE = 2;
const SEX = 3;
const POSTCODE = 4;
const ADDRESS = 5;
const NHS_NUMBER = 6;
const EMAIL = 7;
const PHONE = 8;
const TEXT = 9;
const KIND_CODES: Record<FieldKind, number> = {
  given_name: GIVEN_NAME,
  family_name: FAMILY_NAME,
  birth_date: BIRTH_DATE,
  sex: SEX,
  postcode: POSTCODE,
  address: ADDRESS,
  nhs_number: NHS_NUMBER,
  email: EMAIL,
  phone: PHONE,
  text: TEXT,
};
const EIGHT_DIGITS = /^\d{8}$/;

function dateNumbers(dictionary: readonly PreparedValue[]): DateNumbers | null {
  if (!dictionary.every((value) => EIGHT_DIGITS.test(value.value) && EIGHT_DIGITS.test(value.swapped))) return null;
  return {
    value: Int32Array.from(dictionary, (value) => Number(value.value)),
    swapped: Int32Array.from(dictionary, (value) => Number(value.swapped)),
    day: Float64Array.from(dictionary, (value) => value.dayNumber),
  };
}

function numbered(texts: readonly string[]): Int32Array {
  const numberOf = new Map<string, number>();
  return Int32Array.from(texts, (text) => {
    if (text === '') return -1;
    let number = numberOf.get(text);
    if (number === undefined) numberOf.set(text, (number = numberOf.size));
    return number;
  });
}

/** No blocks yet (link-pool useIndex hands the block index over once built). */
const NO_BLOCKS: BlockIndex = {
  recordCount: 0,
  ruleCount: 0,
  blockOf: new Int32Array(0),
  blockStart: new Int32Array(1),
  members: new Int32Array(0),
  ruleStart: new Int32Array(1),
  blockCount: 0,
  maxBlockSize: 0,
  skippedBlocks: 0,
};

/** The scans' view of prepared columns (with the block index when built). */
export function scanDataOf(columns: PreparedColumns, kinds: readonly FieldKind[], index: BlockIndex = NO_BLOCKS): ScanData {
  const given = kinds.indexOf('given_name');
  const family = kinds.indexOf('family_name');
  const dates = kinds.map((kind, slot) => (kind === 'birth_date' ? dateNumbers(columns.dictionaries[slot]!) : null));
  return {
    fieldCount: columns.fieldCount,
    ids: columns.ids,
    kinds,
    kindCodes: Uint8Array.from(kinds, (kind) => KIND_CODES[kind]),
    index,
    details: kinds.map((kind, slot) =>
      kind === 'given_name' || kind === 'family_name' || (kind === 'birth_date' && !dates[slot]) ? columns.dictionaries[slot]! : null,
    ),
    texts: kinds.map((kind, slot) => (TEXT_KINDS.has(kind) ? columns.dictionaries[slot]!.map((value) => value.value) : null)),
    valid: kinds.map((kind, slot) =>
      kind === 'nhs_number' ? Uint8Array.from(columns.dictionaries[slot]!, (value) => (value.valid ? 1 : 0)) : null,
    ),
    dates,
    postcodes: kinds.map((kind, slot) =>
      kind === 'postcode'
        ? {
            sector: numbered(columns.dictionaries[slot]!.map((value) => value.sector)),
            district: numbered(columns.dictionaries[slot]!.map((value) => value.district)),
          }
        : null,
    ),
    memos: kinds.map((kind, slot) => {
      const size = columns.dictionaries[slot]!.length;
      const remembered =
        kind === 'given_name' || kind === 'family_name' || ((kind === 'text' || kind === 'address') && size <= MEMO_DICTIONARY_LIMIT);
      return remembered ? levelMemo(size) : null;
    }),
    crossMemo: given >= 0 && family >= 0 ? levelMemo(columns.dictionaries[family]!.length) : null,
  };
}

const CROSS_CODES = { missing: 0, equal: 1, close: 2, different: 3 } as const;

/** crossName of a given name and a family name by value numbers (-1: missing), remembered. */
function crossCode(data: ScanData, givenSlot: number, familySlot: number, given: number, family: number): number {
  if (given < 0 || family < 0) return CROSS_CODES.missing;
  const memo = data.crossMemo!;
  const key = given * memo.stride + family;
  const slot = memoSlot(key);
  if (memo.keys[slot] === key) return memo.levels[slot]!;
  const code = CROSS_CODES[crossName(data.details[givenSlot]![given]!, data.details[familySlot]![family]!)];
  memo.keys[slot] = key;
  memo.levels[slot] = code;
  return code;
}

/** comparisons.ts swappedNames on value numbers. */
function swappedInRows(data: ScanData, givenSlot: number, familySlot: number, rows: Int32Array, rowA: number, rowB: number): boolean {
  const first = crossCode(data, givenSlot, familySlot, rows[rowA + givenSlot]!, rows[rowB + familySlot]!);
  if (first === CROSS_CODES.different || first === CROSS_CODES.missing) return false;
  const second = crossCode(data, givenSlot, familySlot, rows[rowB + givenSlot]!, rows[rowA + familySlot]!);
  if (second === CROSS_CODES.different || second === CROSS_CODES.missing) return false;
  return first === CROSS_CODES.equal || second === CROSS_CODES.equal;
}

/** A comparison's level for values idA and idB, remembered in `memo`. */
function remembered(memo: LevelMemo, idA: number, idB: number, compare: () => number): number {
  const key = idA * memo.stride + idB;
  const slot = memoSlot(key);
  if (memo.keys[slot] === key) return memo.levels[slot]!;
  const level = compare();
  memo.keys[slot] = key;
  memo.levels[slot] = level;
  return level;
}

/** Where a comparison finds the two records' value numbers: rows of `rows` at offsets a and b. */
function valueIn(data: ScanData, slot: number, rows: Int32Array, offset: number): PreparedValue | null {
  const id = rows[offset + slot]!;
  return id < 0 ? null : data.details[slot]![id]!;
}

/**
 * Comparison level of one field for the records whose value numbers are at `rowA` and `rowB` in
 * `rows` (the table itself, or a block's rows copied side by side); NULL_LEVEL when either lacks it.
 * The same levels as comparisons.ts compareField on the prepared records.
 */
export function compareInRows(
  data: ScanData,
  givenSlot: number,
  familySlot: number,
  slot: number,
  rows: Int32Array,
  rowA: number,
  rowB: number,
): number {
  const idA = rows[rowA + slot]!;
  const idB = rows[rowB + slot]!;
  if (idA < 0 || idB < 0) return NULL_LEVEL;
  const kind = data.kindCodes[slot]!;
  switch (kind) {
    case GIVEN_NAME:
    case FAMILY_NAME: {
      if (idA === idB) return 0;
      if (givenSlot >= 0 && familySlot >= 0 && swappedInRows(data, givenSlot, familySlot, rows, rowA, rowB))
        return swappedNameLevel(data.kinds[slot]!);
      const details = data.details[slot]!;
      return remembered(data.memos[slot]!, idA, idB, () => compareName(details[idA]!, details[idB]!, kind === GIVEN_NAME));
    }
    case BIRTH_DATE: {
      if (idA === idB) return 0;
      const dates = data.dates[slot];
      if (!dates) return compareDate(data.details[slot]![idA]!, data.details[slot]![idB]!);
      return compareDateNumbers(dates.value[idA]!, dates.swapped[idA]!, dates.day[idA]!, dates.value[idB]!, dates.day[idB]!);
    }
    case POSTCODE: {
      if (idA === idB) return 0;
      const { sector, district } = data.postcodes[slot]!;
      if (sector[idA]! >= 0 && sector[idA] === sector[idB]) return 1;
      const texts = data.texts[slot]!;
      if (damerauLevenshtein(texts[idA]!, texts[idB]!, 1) <= 1) return 2;
      return district[idA]! >= 0 && district[idA] === district[idB] ? 3 : 4;
    }
    case NHS_NUMBER: {
      const valid = data.valid[slot]!;
      if (valid[idA] === 0 || valid[idB] === 0) return NULL_LEVEL;
      return idA === idB ? 0 : 1;
    }
    case SEX:
      return idA === idB ? 0 : 1;
    case EMAIL: {
      const texts = data.texts[slot]!;
      const email = texts[idA]!;
      const level = compareEmailText(email, texts[idB]!);
      if (familySlot < 0) return level;
      const familyA = valueIn(data, familySlot, rows, rowA);
      const familyB = valueIn(data, familySlot, rows, rowB);
      return emailLevelGivenNamesText(
        emailLevelGivenNamesText(level, email, familyA ? familyA.value : null),
        email,
        familyB ? familyB.value : null,
      );
    }
    case PHONE:
      return comparePhoneText(data.texts[slot]![idA]!, data.texts[slot]![idB]!);
    case ADDRESS: {
      const texts = data.texts[slot]!;
      const memo = data.memos[slot];
      return memo
        ? remembered(memo, idA, idB, () => compareAddressText(texts[idA]!, texts[idB]!))
        : compareAddressText(texts[idA]!, texts[idB]!);
    }
    case TEXT: {
      const texts = data.texts[slot]!;
      const memo = data.memos[slot];
      return memo
        ? remembered(memo, idA, idB, () => compareTextValues(texts[idA]!, texts[idB]!))
        : compareTextValues(texts[idA]!, texts[idB]!);
    }
    default:
      throw new Error(`no comparison for field kind ${data.kinds[slot]}`);
  }
}

/** Comparison level of one field for records a and b (NULL_LEVEL when either lacks it). */
export function compareSlot(data: ScanData, givenSlot: number, familySlot: number, slot: number, a: number, b: number): number {
  return compareInRows(data, givenSlot, familySlot, slot, data.ids, a * data.fieldCount, b * data.fieldCount);
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
  /**
   * One bit per pair of members of each block in the range, in scan order (block by block, then
   * x < y): set when the pair is a candidate here (no earlier rule put it in one block). Scoring
   * the range then needs neither the earlier rules' blocks nor the check.
   */
  firstMeetings: Uint8Array;
  /** Comparison patterns of the sampled pairs (patterns × fields) and how many pairs had each. */
  patterns: Uint8Array;
  counts: Float64Array;
}

/**
 * A block's members' rows of value numbers copied side by side (member x's at x * fieldCount).
 * An NHS number that fails its check digit is copied as missing: it compares as missing
 * (compareInRows gives NULL_LEVEL either way), and the pair loops then read no flags per pair.
 */
function loadRows(data: ScanData, cursor: BlockCursor, rows: Int32Array, nhsSlot: number): void {
  const { fieldCount, ids } = data;
  const valid = nhsSlot < 0 ? null : data.valid[nhsSlot]!;
  for (let x = 0; x < cursor.size; x++) {
    const from = cursor.members[x]! * fieldCount;
    for (let slot = 0; slot < fieldCount; slot++) rows[x * fieldCount + slot] = ids[from + slot]!;
    if (valid && rows[x * fieldCount + nhsSlot]! >= 0 && valid[rows[x * fieldCount + nhsSlot]!] === 0) rows[x * fieldCount + nhsSlot] = -1;
  }
}

/** Counts the range's candidate pairs and aggregates the comparison patterns of a `sampleRate` share of them. */
export function scanForTraining(data: ScanData, from: number, to: number, sampleRate: number): TrainingScan {
  const fieldCount = data.kinds.length;
  const givenSlot = data.kinds.indexOf('given_name');
  const familySlot = data.kinds.indexOf('family_name');
  const nhsSlot = data.kinds.indexOf('nhs_number');
  const vector = new Uint8Array(fieldCount);
  const tally = new PatternTally(fieldCount);
  const cursor = new BlockCursor(data.index);
  const rows = new Int32Array(cursor.members.length * fieldCount);
  const firstMeetings = new Uint8Array(Math.ceil(pairsInBlocks(data.index, from, to) / 8));
  let bit = 0;
  let pairCount = 0;
  for (let block = from; block < to; block++) {
    cursor.load(block);
    let loaded = false;
    const { members, size } = cursor;
    for (let x = 0; x < size; x++) {
      for (let y = x + 1; y < size; y++, bit++) {
        if (!cursor.meetsFirstHere(x, y)) continue;
        firstMeetings[bit >>> 3]! |= 1 << (bit & 7);
        pairCount++;
        if (sampleRate < 1 && pairHash(members[x]!, members[y]!) >= sampleRate) continue;
        if (!loaded) {
          loadRows(data, cursor, rows, nhsSlot);
          loaded = true;
        }
        for (let slot = 0; slot < fieldCount; slot++) {
          vector[slot] = compareInRows(data, givenSlot, familySlot, slot, rows, x * fieldCount, y * fieldCount);
        }
        tally.add(vector);
      }
    }
  }
  const { levels, counts } = tally.result();
  return { pairCount, firstMeetings, patterns: levels, counts };
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
export function scanForScoring(data: ScanData, from: number, to: number, tables: ScoringTables, firstMeetings?: Uint8Array): ScoredPairs {
  const order = slotsByCost(data.kinds);
  const best = bestWeightsBelowExact(tables.weights);
  const fieldCount = data.kinds.length;
  const settled = new Uint8Array(fieldCount);
  const givenSlot = data.kinds.indexOf('given_name');
  const familySlot = data.kinds.indexOf('family_name');
  const nhsSlot = data.kinds.indexOf('nhs_number');
  const sexSlot = data.kinds.indexOf('sex');
  const exactWeightById = tables.exactWeightById;
  // The weights of the exact level and of the second (sex and NHS numbers: different).
  const exactWeight = Float64Array.from(tables.weights, (levels) => levels[0]!);
  const differentWeight = Float64Array.from(tables.weights, (levels) => levels[1] ?? 0);
  const kept = new PairBuffer();
  const histogram = tables.histogramOrigin === undefined ? null : createWeightHistogram(tables.histogramOrigin);
  // A pair is given up only once it cannot be kept and the histogram needs no more of its weight.
  const giveUpBelow = histogram ? Math.min(tables.minimumWeight, firstBinCeiling(histogram)) : tables.minimumWeight;
  const giveUp = histogram ? (bound: number): void => addWeight(histogram, bound) : (): void => {};
  const cursor = new BlockCursor(data.index);
  const rows = new Int32Array(cursor.members.length * fieldCount);
  let scanned = 0;
  let bit = 0;
  for (let block = from; block < to; block++) {
    cursor.load(block, !firstMeetings);
    loadRows(data, cursor, rows, nhsSlot);
    const { members, size } = cursor;
    for (let x = 0; x < size; x++) {
      const rowA = x * fieldCount;
      pairs: for (let y = x + 1; y < size; y++) {
        if (firstMeetings ? (firstMeetings[bit >>> 3]! & (1 << (bit++ & 7))) === 0 : !cursor.meetsFirstHere(x, y)) continue;
        scanned++;
        const rowB = y * fieldCount;
        let bound = tables.priorWeight;
        for (let slot = 0; slot < fieldCount; slot++) {
          const idA = rows[rowA + slot]!;
          const idB = rows[rowB + slot]!;
          settled[slot] = 1;
          if (idA < 0 || idB < 0) continue;
          if (idA === idB) {
            const exact = exactWeightById[slot];
            bound += exact ? exact[idA]! : exactWeight[slot]!;
          } else if (slot === nhsSlot || slot === sexSlot) bound += differentWeight[slot]!;
          else {
            settled[slot] = 0;
            bound += best[slot]!;
          }
        }
        if (bound < giveUpBelow) {
          giveUp(bound);
          continue;
        }
        for (let k = 0; k < order.length; k++) {
          const slot = order[k]!;
          if (settled[slot] === 1) continue;
          const level = compareInRows(data, givenSlot, familySlot, slot, rows, rowA, rowB);
          // A present value can still add nothing: a family name when the names are swapped.
          bound += (level === NULL_LEVEL ? 0 : tables.weights[slot]![level]!) - best[slot]!;
          if (bound < giveUpBelow) {
            giveUp(bound);
            continue pairs;
          }
        }
        // Only pairs the check could hold down pay for it (without a histogram, only those still kept).
        let heldDown = false;
        if (bound > tables.person.otherPersonCap) {
          const cap = personCap(tables.person, (slot) => compareInRows(data, givenSlot, familySlot, slot, rows, rowA, rowB));
          heldDown = cap < bound;
          if (heldDown) bound = cap;
        }
        if (histogram) addWeight(histogram, bound, heldDown);
        if (bound >= tables.minimumWeight) kept.push(members[x]!, members[y]!, bound);
      }
    }
  }
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
