// Blocking: only pairs that share at least one blocking key are compared.
// Several rules are unioned so a typo in one field does not lose the pair;
// rules adapt to the fields that are mapped, and oversized blocks are skipped.

import type { PreparedColumns } from './prepare.ts';
import type { BlockingRule, FieldSpec, KeyTransform, PreparedRecord, PreparedValue } from './types.ts';

/** Every rule the engine knows; a rule is used when all of its fields are mapped. */
const STANDARD_RULES: readonly BlockingRule[] = [
  { name: 'nhs_number', parts: [['nhs_number', 'valid']] },
  { name: 'email', parts: [['email', 'value']] },
  { name: 'phone', parts: [['phone', 'value']] },
  { name: 'postcode+birth_year', parts: [['postcode', 'value'], ['birth_date', 'year']] },
  { name: 'family_metaphone+birth_date', parts: [['family_name', 'metaphone'], ['birth_date', 'value']] },
  { name: 'given_prefix+family_prefix', parts: [['given_name', 'prefix3'], ['family_name', 'prefix3']] },
  // Given and family names written the other way round still meet. With both names mapped it
  // stands in for birth date + given initial, whose pairs the unordered day and month rule below
  // also holds (an index pays for each rule on every record it adds).
  { name: 'birth_date+name_initials_unordered', parts: [['birth_date', 'value'], ['given_name', 'unordered_initials']] },
  { name: 'birth_date+given_initial', parts: [['birth_date', 'value'], ['given_name', 'initial']] },
  // Day and month written the wrong way round still share this key.
  {
    name: 'birth_day_month_unordered+family_initial',
    parts: [['birth_date', 'unordered_day_month'], ['family_name', 'initial']],
  },
  {
    name: 'birth_day_month_unordered+given_initial',
    parts: [['birth_date', 'unordered_day_month'], ['given_name', 'initial']],
  },
  { name: 'given_metaphone+family_metaphone', parts: [['given_name', 'metaphone'], ['family_name', 'metaphone']] },
  // A typo in an email's domain still meets.
  { name: 'email_local_part', parts: [['email', 'local_part']] },
  { name: 'postcode+family_metaphone', parts: [['postcode', 'value'], ['family_name', 'metaphone']] },
  { name: 'postcode+given_metaphone', parts: [['postcode', 'value'], ['given_name', 'metaphone']] },
  { name: 'address+family_initial', parts: [['address', 'value'], ['family_name', 'initial']] },
];

/**
 * Free text is a blocking key only when its blocks are small: on average each
 * record would meet at most this many others (identifier-like columns, not "state").
 */
const MAX_AVERAGE_BLOCK_PARTNERS = 4;

function looksLikeIdentifier(slot: number, records: readonly PreparedRecord[]): boolean {
  const counts = new Map<string, number>();
  let present = 0;
  for (const record of records) {
    const value = record.values[slot];
    if (!value) continue;
    present++;
    counts.set(value.value, (counts.get(value.value) ?? 0) + 1);
  }
  let partners = 0;
  for (const count of counts.values()) partners += count * (count - 1);
  return present > 0 && partners / present <= MAX_AVERAGE_BLOCK_PARTNERS;
}

/** The blocking rules for these fields, plus one per free-text field that behaves like an identifier. */
export function blockingRulesFor(specs: readonly FieldSpec[], records: readonly PreparedRecord[]): BlockingRule[] {
  const mapped = new Set(specs.map((spec) => spec.key));
  const usable = STANDARD_RULES.filter((rule) => rule.parts.every(([field, transform]) =>
    mapped.has(field) && (!PAIRED_TRANSFORMS.has(transform) || mapped.has('family_name'))));
  const unordered = usable.some((rule) => rule.name === 'birth_date+name_initials_unordered');
  const rules = usable.filter((rule) => !(unordered && rule.name === 'birth_date+given_initial'));
  specs.forEach((spec, slot) => {
    if (spec.kind === 'text' && looksLikeIdentifier(slot, records)) {
      rules.push({ name: spec.key, parts: [[spec.key, 'value']] });
    }
  });
  return rules;
}

/** Transforms of the given name that read the family name too (names written either way round). */
const PAIRED_TRANSFORMS: ReadonlySet<KeyTransform> = new Set(['unordered_initials']);

/** The key part of a value; `paired` is the family name, for PAIRED_TRANSFORMS only. */
export function transformValue(value: PreparedValue, transform: KeyTransform, paired?: PreparedValue | null): string | null {
  switch (transform) {
    case 'local_part': {
      const at = value.value.indexOf('@');
      return at < 0 ? value.value : at === 0 ? null : value.value.slice(0, at);
    }
    case 'unordered_initials': {
      if (!paired) return null;
      const x = value.value[0]!;
      const y = paired.value[0]!;
      return x < y ? x + y : y + x;
    }
    case 'value':
      return value.value;
    case 'valid':
      return value.valid ? value.value : null;
    case 'year':
      return value.value.slice(0, 4);
    case 'metaphone':
      return value.phonetic?.[0] || null;
    case 'prefix3':
      return value.value.slice(0, 3);
    case 'initial':
      return value.value.slice(0, 1);
    case 'unordered_day_month': {
      const month = value.value.slice(4, 6);
      const day = value.value.slice(6, 8);
      return value.value.slice(0, 4) + (month < day ? month + day : day + month);
    }
  }
}

/** Rules compiled against field slots. */
export interface CompiledRules {
  rules: readonly BlockingRule[];
  /** Per rule, per part: the slot of its field (-1: not mapped). */
  slots: readonly (readonly number[])[];
  /** Per rule, per part: the second field a part reads (PAIRED_TRANSFORMS: the family name), else -1. */
  paired: readonly (readonly number[])[];
  /** Per rule, every slot it keys on (a record outside its block differs on one of them). */
  fieldSlots: readonly (readonly number[])[];
}

export function compileRules(rules: readonly BlockingRule[], specs: readonly FieldSpec[]): CompiledRules {
  const slotOf = new Map(specs.map((spec, slot) => [spec.key, slot]));
  const slots = rules.map((rule) => rule.parts.map(([field]) => slotOf.get(field) ?? -1));
  const paired = rules.map((rule) => rule.parts.map(([, transform]) => (PAIRED_TRANSFORMS.has(transform) ? slotOf.get('family_name') ?? -1 : -1)));
  const fieldSlots = rules.map((_, rule) => [...slots[rule]!, ...paired[rule]!.filter((slot) => slot >= 0)]);
  return { rules, slots, paired, fieldSlots };
}

/**
 * Every record's blocks under every rule, in typed arrays that worker threads share.
 * Blocks are numbered across rules, so two records are in the same block of rule r
 * exactly when `blockOf[a * ruleCount + r] === blockOf[b * ruleCount + r] >= 0` (record-major).
 */
export interface BlockIndex {
  recordCount: number;
  ruleCount: number;
  /** blockOf[record * ruleCount + rule]: the record's block under the rule, -1 without a key. */
  blockOf: Int32Array;
  /** Members of block b are members[blockStart[b]] .. members[blockStart[b + 1] - 1]. */
  blockStart: Int32Array;
  members: Int32Array;
  /** Blocks with at least two and at most maxBlockSize members, in rule order: the ones compared. */
  usableBlocks: Int32Array;
  maxBlockSize: number;
  /** Blocks left out because they were larger than the cap. */
  skippedBlocks: number;
}

function sharedInt32(length: number, shared: boolean): Int32Array {
  return shared ? new Int32Array(new SharedArrayBuffer(Math.max(1, length) * 4)).subarray(0, length) : new Int32Array(length);
}

interface ReducedNumbers {
  /** Per dictionary value, its part number (-1: no key). */
  numbers: Int32Array;
  /** Part numbers are below this. */
  count: number;
  /** Parts reduced per record: the number of a reduced text. */
  number?: (text: string) => number;
}

/** The reduced value of every dictionary entry under one transform, numbered (-1: no key). */
function reducedNumbers(dictionary: readonly PreparedValue[], transform: KeyTransform): ReducedNumbers {
  const numberOf = new Map<string, number>();
  const numbers = new Int32Array(dictionary.length);
  dictionary.forEach((value, id) => {
    const reduced = transformValue(value, transform);
    if (!reduced) {
      numbers[id] = -1;
      return;
    }
    let number = numberOf.get(reduced);
    if (number === undefined) numberOf.set(reduced, (number = numberOf.size));
    numbers[id] = number;
  });
  return { numbers, count: numberOf.size };
}

/** Numbers for a part reduced per record: numbered as they come, within a fixed range. */
function pairedNumbers(): ReducedNumbers {
  const numberOf = new Map<string, number>();
  // Fixed up front (the part is numbered as records come); beyond it, distinct keys would only
  // share blocks, which costs pairs, never a pair. 2^24 keeps keys of two parts exact doubles.
  const count = 1 << 24;
  return {
    numbers: new Int32Array(0),
    count,
    number(text) {
      let number = numberOf.get(text);
      if (number === undefined) numberOf.set(text, (number = numberOf.size % count));
      return number;
    },
  };
}

/**
 * Groups records by blocking key, rule by rule. Keys are computed once per distinct
 * value and combined as numbers, and blocks are laid out by counting sort (no per-block arrays).
 */
export function buildBlockIndex(
  compiled: CompiledRules,
  columns: PreparedColumns,
  maxBlockSize: number,
  shared = false,
): BlockIndex {
  const { fieldCount, ids, dictionaries } = columns;
  const n = fieldCount === 0 ? 0 : ids.length / fieldCount;
  const ruleCount = compiled.rules.length;
  const blockOf = sharedInt32(n * ruleCount, shared);
  const sizes: number[] = [];
  for (let rule = 0; rule < ruleCount; rule++) {
    const slots = compiled.slots[rule]!;
    const paired = compiled.paired[rule]!;
    const parts = slots.map((slot, part) =>
      slot < 0 ? null : paired[part]! >= 0 ? pairedNumbers() : reducedNumbers(dictionaries[slot]!, compiled.rules[rule]!.parts[part]![1]),
    );
    const blockOfKey = new Map<number, number>();
    for (let record = 0; record < n; record++) {
      let key = 0;
      for (let part = 0; part < slots.length; part++) {
        const reduced = parts[part];
        const id = reduced ? ids[record * fieldCount + slots[part]!]! : -1;
        let number = id < 0 || paired[part]! >= 0 ? -1 : reduced!.numbers[id]!;
        if (id >= 0 && paired[part]! >= 0) {
          // A part reading two fields is reduced per record, not per value.
          const other = ids[record * fieldCount + paired[part]!]!;
          const text = other < 0 ? null : transformValue(dictionaries[slots[part]!]![id]!, compiled.rules[rule]!.parts[part]![1], dictionaries[paired[part]!]![other]!);
          number = text === null ? -1 : reduced!.number!(text);
        }
        if (number < 0) {
          key = -1;
          break;
        }
        key = key * reduced!.count + number;
      }
      if (key < 0) {
        blockOf[record * ruleCount + rule] = -1;
        continue;
      }
      let block = blockOfKey.get(key);
      if (block === undefined) {
        block = sizes.length;
        blockOfKey.set(key, block);
        sizes.push(0);
      }
      sizes[block]!++;
      blockOf[record * ruleCount + rule] = block;
    }
  }
  const blockStart = sharedInt32(sizes.length + 1, shared);
  for (let block = 0; block < sizes.length; block++) blockStart[block + 1] = blockStart[block]! + sizes[block]!;
  const members = sharedInt32(blockStart[sizes.length]!, shared);
  const filled = new Int32Array(sizes.length);
  for (let record = 0; record < n; record++) {
    for (let rule = 0; rule < ruleCount; rule++) {
      const block = blockOf[record * ruleCount + rule]!;
      if (block >= 0) members[blockStart[block]! + filled[block]!++] = record;
    }
  }
  let usableCount = 0;
  let skippedBlocks = 0;
  for (const size of sizes) {
    if (size > maxBlockSize) skippedBlocks++;
    else if (size >= 2) usableCount++;
  }
  const usableBlocks = sharedInt32(usableCount, shared);
  let next = 0;
  sizes.forEach((size, block) => {
    if (size >= 2 && size <= maxBlockSize) usableBlocks[next++] = block;
  });
  return { recordCount: n, ruleCount, blockOf, blockStart, members, usableBlocks, maxBlockSize, skippedBlocks };
}

function blockSize(index: BlockIndex, block: number): number {
  return index.blockStart[block + 1]! - index.blockStart[block]!;
}

/** Pairs in usable blocks [from, to): the unit of work handed to a thread. */
export function pairsInBlocks(index: BlockIndex, from: number, to: number): number {
  let pairs = 0;
  for (let u = from; u < to; u++) {
    const size = blockSize(index, index.usableBlocks[u]!);
    pairs += (size * (size - 1)) / 2;
  }
  return pairs;
}

/** Splits the usable blocks into ranges of roughly `pairsPerRange` pairs each. */
export function blockRanges(index: BlockIndex, pairsPerRange: number): [number, number][] {
  const ranges: [number, number][] = [];
  let from = 0;
  let pairs = 0;
  for (let u = 0; u < index.usableBlocks.length; u++) {
    const size = blockSize(index, index.usableBlocks[u]!);
    pairs += (size * (size - 1)) / 2;
    if (pairs >= pairsPerRange) {
      ranges.push([from, u + 1]);
      from = u + 1;
      pairs = 0;
    }
  }
  if (from < index.usableBlocks.length) ranges.push([from, index.usableBlocks.length]);
  return ranges;
}

/**
 * Visits each distinct candidate pair (a < b) of the usable blocks [from, to) once: a pair
 * is visited in the first rule that puts both records in one usable block, so no global
 * set or sort of pairs is needed and ranges can be scanned independently.
 */
export function forEachCandidatePair(
  index: BlockIndex,
  from: number,
  to: number,
  visit: (a: number, b: number) => void,
): void {
  const { ruleCount, blockOf, blockStart, members, maxBlockSize } = index;
  for (let u = from; u < to; u++) {
    const block = index.usableBlocks[u]!;
    const start = blockStart[block]!;
    const end = blockStart[block + 1]!;
    const rule = ruleOfBlock(index, block);
    for (let x = start; x < end; x++) {
      for (let y = x + 1; y < end; y++) {
        let a = members[x]!;
        let b = members[y]!;
        if (a > b) [a, b] = [b, a];
        let seenEarlier = false;
        for (let earlier = 0; earlier < rule; earlier++) {
          const shared = blockOf[a * ruleCount + earlier]!;
          if (shared >= 0 && shared === blockOf[b * ruleCount + earlier]) {
            const size = blockStart[shared + 1]! - blockStart[shared]!;
            if (size <= maxBlockSize) {
              seenEarlier = true;
              break;
            }
          }
        }
        if (!seenEarlier) visit(a, b);
      }
    }
  }
}

/** The rule a block belongs to: the rule under which its first member has this block. */
function ruleOfBlock(index: BlockIndex, block: number): number {
  const first = index.members[index.blockStart[block]!]!;
  for (let rule = 0; rule < index.ruleCount; rule++) if (index.blockOf[first * index.ruleCount + rule] === block) return rule;
  return index.ruleCount;
}
