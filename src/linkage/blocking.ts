// Blocking: only pairs that share at least one blocking key are compared.
// Several rules are unioned so a typo in one field does not lose the pair;
// rules adapt to the fields that are mapped, and oversized blocks are skipped.

import type { PreparedColumns } from './prepare.ts';
import type { BlockingRule, FieldSpec, KeyTransform, PreparedValue } from './types.ts';

/** Every rule the engine knows; a rule is used when all of its fields are mapped. */
const STANDARD_RULES: readonly BlockingRule[] = [
  { name: 'nhs_number', parts: [['nhs_number', 'valid']] },
  { name: 'email', parts: [['email', 'value']] },
  { name: 'phone', parts: [['phone', 'value']] },
  {
    name: 'postcode+birth_year',
    parts: [
      ['postcode', 'value'],
      ['birth_date', 'year'],
    ],
  },
  {
    name: 'family_metaphone+birth_date',
    parts: [
      ['family_name', 'metaphone'],
      ['birth_date', 'value'],
    ],
  },
  {
    name: 'given_prefix+family_prefix',
    parts: [
      ['given_name', 'prefix3'],
      ['family_name', 'prefix3'],
    ],
  },
  // Given and family names written the other way round still meet. With both names mapped it
  // stands in for birth date + given initial, whose pairs the unordered day and month rule below
  // also holds (an index pays for each rule on every record it adds).
  {
    name: 'birth_date+name_initials_unordered',
    parts: [
      ['birth_date', 'value'],
      ['given_name', 'unordered_initials'],
    ],
  },
  {
    name: 'birth_date+given_initial',
    parts: [
      ['birth_date', 'value'],
      ['given_name', 'initial'],
    ],
  },
  // Day and month written the wrong way round still share this key.
  {
    name: 'birth_day_month_unordered+family_initial',
    parts: [
      ['birth_date', 'unordered_day_month'],
      ['family_name', 'initial'],
    ],
  },
  {
    name: 'birth_day_month_unordered+given_initial',
    parts: [
      ['birth_date', 'unordered_day_month'],
      ['given_name', 'initial'],
    ],
  },
  {
    name: 'given_metaphone+family_metaphone',
    parts: [
      ['given_name', 'metaphone'],
      ['family_name', 'metaphone'],
    ],
  },
  // Common names form blocks too big to compare whole (skipped); the year splits them, so
  // copies of a person with a common name whose birth dates were moved within the year still
  // meet. Only without NHS numbers (WITHOUT_NHS_NUMBERS).
  {
    name: 'names_metaphone+birth_year',
    parts: [
      ['given_name', 'names_metaphone'],
      ['birth_date', 'year'],
    ],
  },
  // A year mistyped or moved (with the given name blank or different) still meets. Only without
  // NHS numbers (WITHOUT_NHS_NUMBERS).
  {
    name: 'family_metaphone+birth_day_month',
    parts: [
      ['family_name', 'metaphone'],
      ['birth_date', 'day_month'],
    ],
  },
  // One name blank or changed (a nickname, a title taken for a name), the other with the year:
  // blocks too big for common names are skipped, the rest meet. Only without NHS numbers.
  {
    name: 'family_metaphone+birth_year',
    parts: [
      ['family_name', 'metaphone'],
      ['birth_date', 'year'],
    ],
  },
  {
    name: 'given_metaphone+birth_year',
    parts: [
      ['given_name', 'metaphone'],
      ['birth_date', 'year'],
    ],
  },
  // A typo in an email's domain still meets.
  { name: 'email_local_part', parts: [['email', 'local_part']] },
  {
    name: 'postcode+family_metaphone',
    parts: [
      ['postcode', 'value'],
      ['family_name', 'metaphone'],
    ],
  },
  {
    name: 'postcode+given_metaphone',
    parts: [
      ['postcode', 'value'],
      ['given_name', 'metaphone'],
    ],
  },
  {
    name: 'address+family_initial',
    parts: [
      ['address', 'value'],
      ['family_name', 'initial'],
    ],
  },
];

/**
 * Rules for files without NHS numbers only: with them, copies whose names and dates drift meet on
 * the number, and on the generated place (which has them) these rules made the online index a
 * third to a half slower to build and bulk matching a third slower, for no links gained.
 */
const WITHOUT_NHS_NUMBERS: ReadonlySet<string> = new Set([
  'names_metaphone+birth_year',
  'family_metaphone+birth_day_month',
  'family_metaphone+birth_year',
  'given_metaphone+birth_year',
]);

/**
 * Free text is a blocking key only when its blocks are small: on average each
 * record would meet at most this many others (identifier-like columns, not "state").
 */
const MAX_AVERAGE_BLOCK_PARTNERS = 4;

/** How many records hold each value of a field (by value number), and how many hold any. */
export interface ValueCounts {
  counts: ArrayLike<number>;
  present: number;
}

function looksLikeIdentifier({ counts, present }: ValueCounts): boolean {
  let partners = 0;
  for (let id = 0; id < counts.length; id++) partners += counts[id]! * (counts[id]! - 1);
  return present > 0 && partners / present <= MAX_AVERAGE_BLOCK_PARTNERS;
}

/**
 * The blocking rules for these fields, plus one per free-text field that behaves like an
 * identifier; `countsOf(slot)` gives that field's value counts.
 */
export function blockingRulesFor(specs: readonly FieldSpec[], countsOf: (slot: number) => ValueCounts): BlockingRule[] {
  const mapped = new Set(specs.map((spec) => spec.key));
  const usable = STANDARD_RULES.filter((rule) =>
    rule.parts.every(([field, transform]) => mapped.has(field) && (!PAIRED_TRANSFORMS.has(transform) || mapped.has('family_name'))),
  );
  const unordered = usable.some((rule) => rule.name === 'birth_date+name_initials_unordered');
  const rules = usable.filter(
    (rule) => !(unordered && rule.name === 'birth_date+given_initial') && !(mapped.has('nhs_number') && WITHOUT_NHS_NUMBERS.has(rule.name)),
  );
  specs.forEach((spec, slot) => {
    if (spec.kind === 'text' && looksLikeIdentifier(countsOf(slot))) {
      rules.push({ name: spec.key, parts: [[spec.key, 'value']] });
    }
  });
  return rules;
}

/** Transforms of the given name that read the family name too (names written either way round). */
const PAIRED_TRANSFORMS: ReadonlySet<KeyTransform> = new Set(['unordered_initials', 'names_metaphone']);

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
    case 'names_metaphone': {
      const given = value.phonetic?.[0];
      const family = paired?.phonetic?.[0];
      return given && family ? `${given} ${family}` : null;
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
    case 'day_month':
      return value.value.slice(4, 8);
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
  const paired = rules.map((rule) =>
    rule.parts.map(([, transform]) => (PAIRED_TRANSFORMS.has(transform) ? (slotOf.get('family_name') ?? -1) : -1)),
  );
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
  /**
   * blockOf[record * ruleCount + rule]: the record's block under the rule, -1 without one (no
   * key, or a key no other record shares, or one shared by more than maxBlockSize records).
   */
  blockOf: Int32Array;
  /**
   * The blocks compared (at least two and at most maxBlockSize members), numbered in rule order:
   * block b's members, ascending, are members[blockStart[b]] .. members[blockStart[b + 1] - 1].
   */
  blockStart: Int32Array;
  members: Int32Array;
  /** Rule r's blocks are ruleStart[r] .. ruleStart[r + 1] - 1. */
  ruleStart: Int32Array;
  blockCount: number;
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
}

/** The reduced value of every dictionary entry under one transform, numbered (-1: no key). */
function reducedNumbers(dictionary: readonly PreparedValue[], transform: KeyTransform): ReducedNumbers {
  // Values are numbered once already (equal numbers, equal values): the whole value is its number.
  if (transform === 'value') return { numbers: Int32Array.from(dictionary, (_, id) => id), count: dictionary.length };
  if (transform === 'valid')
    return { numbers: Int32Array.from(dictionary, (value, id) => (value.valid ? id : -1)), count: dictionary.length };
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

/**
 * Numbers for a part reduced per record from two fields (PAIRED_TRANSFORMS: the initials of the
 * given and the family name in either order), numbered as they come. Fixed up front; beyond it,
 * distinct keys would only share blocks, which costs pairs, never a pair. 2^24 keeps keys of two
 * parts exact doubles.
 */
const PAIRED_RANGE = 1 << 24;

/** Two-part keys whose second part has at most this many numbers are grouped by sorting (see buildBlockIndex). */
const SORTED_PART_LIMIT = 1 << 22;

/** First code unit of each dictionary value. */
function initialCodes(dictionary: readonly PreparedValue[]): Int32Array {
  return Int32Array.from(dictionary, (value) => value.value.charCodeAt(0));
}

/**
 * Block numbers by key: an open-addressing hash table of integer keys (below 2^53) in typed
 * arrays, one 16-byte slot per key (the key, then its block number), so that a lookup reads
 * one cache line; it grows with the keys a rule has, so rules with few stay in cache. A Map
 * would hold a heap number per key above 2^31.
 */
class KeyTable {
  private keys = new Float64Array(0);
  private slots = new Int32Array(0);
  private count = 0;
  private mask = 0;

  constructor() {
    this.clear();
  }

  /** Forgets every key. */
  clear(): void {
    this.allocate(1 << 12);
  }

  private allocate(capacity: number): void {
    const buffer = new ArrayBuffer(capacity * 16);
    this.keys = new Float64Array(buffer);
    this.slots = new Int32Array(buffer).fill(-1);
    this.mask = capacity - 1;
    this.count = 0;
  }

  private static hash(key: number): number {
    const low = key >>> 0;
    const high = Math.floor(key / 4294967296) >>> 0;
    let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  /** The value of `key`, adding it with `value` (at least 0) when absent. */
  getOrAdd(key: number, value: number): number {
    const { keys, slots, mask } = this;
    for (let slot = KeyTable.hash(key) & mask; ; slot = (slot + 1) & mask) {
      const held = slots[4 * slot + 2]!;
      if (held < 0) {
        keys[2 * slot] = key;
        slots[4 * slot + 2] = value;
        if (++this.count * 2 > mask) this.grow();
        return value;
      }
      if (keys[2 * slot] === key) return held;
    }
  }

  private grow(): void {
    const { keys, slots } = this;
    const count = this.count;
    this.allocate((this.mask + 1) * 2);
    for (let old = 0; old < keys.length / 2; old++) {
      const value = slots[4 * old + 2]!;
      if (value < 0) continue;
      const key = keys[2 * old]!;
      let slot = KeyTable.hash(key) & this.mask;
      while (this.slots[4 * slot + 2]! >= 0) slot = (slot + 1) & this.mask;
      this.keys[2 * slot] = key;
      this.slots[4 * slot + 2] = value;
    }
    this.count = count;
  }
}

/**
 * How one part of a rule's key is read from a record: numbers per dictionary value, or a code per
 * value of two fields (the names' initials, in either order unless `ordered`; their metaphones in order).
 */
export type KeyPart =
  | { slot: number; numbers: Int32Array; count: number }
  | { slot: number; pairedSlot: number; own: Int32Array; theirs: Int32Array; ordered: boolean };

/** What building one rule's blocks needs besides the table of value numbers: its key parts (null: a field is not mapped). */
export type RulePlan = KeyPart[] | null;

/**
 * Each rule's key parts, from the dictionaries: values reduced once per field and transform
 * (the whole value is its own value number). Rule by rule, blocks can then be built on any
 * thread that shares the table of value numbers (blockRule).
 */
export function blockingPlan(compiled: CompiledRules, columns: PreparedColumns): RulePlan[] {
  const reducedBy = new Map<string, ReducedNumbers>();
  const reduce = (slot: number, transform: KeyTransform): ReducedNumbers => {
    const key = `${slot} ${transform}`;
    let reduced = reducedBy.get(key);
    if (!reduced) reducedBy.set(key, (reduced = reducedNumbers(columns.dictionaries[slot]!, transform)));
    return reduced;
  };
  const initials = new Map<number, Int32Array>();
  const initialsOf = (slot: number): Int32Array => {
    let codes = initials.get(slot);
    if (!codes) initials.set(slot, (codes = initialCodes(columns.dictionaries[slot]!)));
    return codes;
  };
  return compiled.rules.map((rule, r) => {
    const slots = compiled.slots[r]!;
    if (slots.some((slot) => slot < 0)) return null;
    return slots.map((slot, part): KeyPart => {
      const pairedSlot = compiled.paired[r]![part]!;
      if (pairedSlot >= 0) {
        if (rule.parts[part]![1] === 'names_metaphone') {
          return {
            slot,
            pairedSlot,
            own: reduce(slot, 'metaphone').numbers,
            theirs: reduce(pairedSlot, 'metaphone').numbers,
            ordered: true,
          };
        }
        return { slot, pairedSlot, own: initialsOf(slot), theirs: initialsOf(pairedSlot), ordered: false };
      }
      const { numbers, count } = reduce(slot, rule.parts[part]![1]);
      return { slot, numbers, count };
    });
  });
}

/** Arrays of one length per record that blockRule works in, kept from rule to rule (and thread by thread). */
export class BlockScratch {
  private readonly arrays: Int32Array[] = [];

  /** The k-th array, at least `length` long (its contents are left from before). */
  array(k: number, length: number): Int32Array {
    let array = this.arrays[k];
    if (!array || array.length < length) this.arrays[k] = array = new Int32Array(length);
    return array;
  }
}

/**
 * Builds one rule's blocks: writes each record's block under the rule into its column of
 * `blockOf` (record-major, `ruleCount` columns; -1 without a key), blocks numbered from 0 in
 * order of their first record, and returns the blocks' sizes.
 */
export function blockRule(
  plan: RulePlan,
  ids: Int32Array,
  fieldCount: number,
  blockOf: Int32Array,
  ruleCount: number,
  rule: number,
  scratch: BlockScratch = new BlockScratch(),
): Int32Array {
  const n = fieldCount === 0 ? 0 : ids.length / fieldCount;
  const column = (record: number) => record * ruleCount + rule;
  if (!plan) {
    for (let record = 0; record < n; record++) blockOf[column(record)] = -1;
    return new Int32Array(0);
  }
  let sizes = new Int32Array(1024);
  let blockCount = 0;
  /** A new block, numbered next. */
  const newBlock = (): number => {
    if (blockCount === sizes.length) {
      const grown = new Int32Array(sizes.length * 2);
      grown.set(sizes);
      sizes = grown;
    }
    sizes[blockCount] = 0;
    return blockCount++;
  };
  // Each record's number for each part (-1: no key): per dictionary value, or per record for
  // a part reading two fields (the initials of both names in either order, transformValue
  // 'unordered_initials'; how the two names sound, 'names_metaphone'), numbered as they come.
  const partCount = plan.length;
  const partNumbers: Int32Array[] = [];
  const counts: number[] = [];
  for (const part of plan) {
    const out = scratch.array(partNumbers.length, n);
    partNumbers.push(out);
    const slot = part.slot;
    if ('numbers' in part) {
      const numbers = part.numbers;
      for (let record = 0; record < n; record++) {
        const id = ids[record * fieldCount + slot]!;
        out[record] = id < 0 ? -1 : numbers[id]!;
      }
      counts.push(part.count);
      continue;
    }
    const { own, theirs, pairedSlot, ordered } = part;
    const pairedNumber = new Map<number, number>();
    for (let record = 0; record < n; record++) {
      const id = ids[record * fieldCount + slot]!;
      const other = ids[record * fieldCount + pairedSlot]!;
      let number = -1;
      if (id >= 0 && other >= 0 && own[id]! >= 0 && theirs[other]! >= 0) {
        const x = own[id]!;
        const y = theirs[other]!;
        // Codes below 2^31 each, so the pair's code stays an exact integer (below 2^53).
        const code = ordered || x < y ? x * 2 ** 31 + y : y * 2 ** 31 + x;
        const known = pairedNumber.get(code);
        if (known !== undefined) number = known;
        else pairedNumber.set(code, (number = pairedNumber.size % PAIRED_RANGE));
      }
      out[record] = number;
    }
    counts.push(Math.min(PAIRED_RANGE, pairedNumber.size));
  }
  const [first, second] = partNumbers as [Int32Array, Int32Array];
  if (partCount === 1) {
    // One part: its number finds the block directly.
    const direct = new Int32Array(counts[0]!).fill(-1);
    for (let record = 0; record < n; record++) {
      const number = first[record]!;
      if (number < 0) {
        blockOf[column(record)] = -1;
        continue;
      }
      let block = direct[number]!;
      if (block < 0) direct[number] = block = newBlock();
      sizes[block]!++;
      blockOf[column(record)] = block;
    }
  } else if (partCount === 2 && counts[1]! <= SORTED_PART_LIMIT) {
    // Two parts: records sorted by the first (counting sort), then within each first part the
    // second finds the block in a small array. Every step reads or writes arrays in order or
    // small enough for the cache; a hash table of a million keys would miss it on every record.
    const groupStart = new Int32Array(counts[0]! + 1);
    for (let record = 0; record < n; record++) {
      if (first[record]! >= 0 && second[record]! >= 0) groupStart[first[record]! + 1]!++;
    }
    for (let group = 0; group < counts[0]!; group++) groupStart[group + 1]! += groupStart[group]!;
    const filled = groupStart.slice(0, counts[0]!);
    const sortedRecords = scratch.array(partCount, n);
    const sortedSecond = scratch.array(partCount + 1, n);
    for (let record = 0; record < n; record++) {
      const group = first[record]!;
      if (group < 0 || second[record]! < 0) continue;
      const at = filled[group]!++;
      sortedRecords[at] = record;
      sortedSecond[at] = second[record]!;
    }
    const seenIn = new Int32Array(counts[1]!).fill(-1);
    const blockIn = new Int32Array(counts[1]!);
    const provisional = scratch.array(partCount + 2, n);
    let provisionalCount = 0;
    for (let group = 0; group < counts[0]!; group++) {
      for (let at = groupStart[group]!; at < groupStart[group + 1]!; at++) {
        const number = sortedSecond[at]!;
        if (seenIn[number] !== group) {
          seenIn[number] = group;
          blockIn[number] = provisionalCount++;
        }
        provisional[sortedRecords[at]!] = blockIn[number]!;
      }
    }
    // Blocks numbered in order of their first record, as the other rules' are.
    const blockOfProvisional = new Int32Array(provisionalCount).fill(-1);
    for (let record = 0; record < n; record++) {
      if (first[record]! < 0 || second[record]! < 0) {
        blockOf[column(record)] = -1;
        continue;
      }
      let block = blockOfProvisional[provisional[record]!]!;
      if (block < 0) blockOfProvisional[provisional[record]!] = block = newBlock();
      sizes[block]!++;
      blockOf[column(record)] = block;
    }
  } else {
    // Any other key: its parts combined into one number, looked up in a hash table.
    const blockOfKey = new KeyTable();
    for (let record = 0; record < n; record++) {
      let key = 0;
      for (let part = 0; part < partCount && key >= 0; part++) {
        const number = partNumbers[part]![record]!;
        key = number < 0 ? -1 : key * counts[part]! + number;
      }
      if (key < 0) {
        blockOf[column(record)] = -1;
        continue;
      }
      let block = blockOfKey.getOrAdd(key, blockCount);
      if (block === blockCount) block = newBlock();
      sizes[block]!++;
      blockOf[column(record)] = block;
    }
  }
  return sizes.slice(0, blockCount);
}

/**
 * The block index from every rule's blocks (blockRule): only blocks of 2 to maxBlockSize records
 * are kept, numbered rule after rule in order, with their members laid out by counting sort (no
 * per-block arrays); a record outside them has no block under the rule.
 */
export function finishBlockIndex(
  blockOf: Int32Array,
  sizesByRule: readonly Int32Array[],
  recordCount: number,
  maxBlockSize: number,
  shared = false,
): BlockIndex {
  const n = recordCount;
  const ruleCount = sizesByRule.length;
  const usableByRule: Int32Array[] = [];
  const ruleStart = new Int32Array(ruleCount + 1);
  let usableCount = 0;
  let skippedBlocks = 0;
  for (let rule = 0; rule < ruleCount; rule++) {
    ruleStart[rule] = usableCount;
    const sizes = sizesByRule[rule]!;
    const usable = new Int32Array(sizes.length);
    for (let block = 0; block < sizes.length; block++) {
      const size = sizes[block]!;
      if (size > maxBlockSize) skippedBlocks++;
      usable[block] = size >= 2 && size <= maxBlockSize ? usableCount++ : -1;
    }
    usableByRule.push(usable);
  }
  ruleStart[ruleCount] = usableCount;
  const blockStart = sharedInt32(usableCount + 1, shared);
  for (let rule = 0; rule < ruleCount; rule++) {
    const sizes = sizesByRule[rule]!;
    const usable = usableByRule[rule]!;
    for (let block = 0; block < sizes.length; block++) if (usable[block]! >= 0) blockStart[usable[block]! + 1] = sizes[block]!;
  }
  for (let block = 0; block < usableCount; block++) blockStart[block + 1] = blockStart[block]! + blockStart[block + 1]!;
  const members = sharedInt32(blockStart[usableCount]!, shared);
  const filled = new Int32Array(usableCount);
  // Rule by rule, so that the members written fall in one rule's stretch of the array.
  for (let rule = 0; rule < ruleCount; rule++) {
    const usable = usableByRule[rule]!;
    for (let record = 0, at = rule; record < n; record++, at += ruleCount) {
      const local = blockOf[at]!;
      const block = local < 0 ? -1 : usable[local]!;
      blockOf[at] = block;
      if (block >= 0) members[blockStart[block]! + filled[block]!++] = record;
    }
  }
  return { recordCount: n, ruleCount, blockOf, blockStart, members, ruleStart, blockCount: usableCount, maxBlockSize, skippedBlocks };
}

/** Groups records by blocking key, rule by rule, on this thread (link-pool blockRules spreads the rules over threads). */
export function buildBlockIndex(compiled: CompiledRules, columns: PreparedColumns, maxBlockSize: number, shared = false): BlockIndex {
  const { fieldCount, ids } = columns;
  const n = fieldCount === 0 ? 0 : ids.length / fieldCount;
  const ruleCount = compiled.rules.length;
  const blockOf = newBlockOf(n, ruleCount, shared);
  const plans = blockingPlan(compiled, columns);
  const scratch = new BlockScratch();
  const sizes = plans.map((plan, rule) => blockRule(plan, ids, fieldCount, blockOf, ruleCount, rule, scratch));
  return finishBlockIndex(blockOf, sizes, n, maxBlockSize, shared);
}

/** The record-major table of blocks per rule that blockRule fills. */
export function newBlockOf(recordCount: number, ruleCount: number, shared: boolean): Int32Array {
  return sharedInt32(recordCount * ruleCount, shared);
}

function blockSize(index: BlockIndex, block: number): number {
  return index.blockStart[block + 1]! - index.blockStart[block]!;
}

/** Pairs in blocks [from, to): the unit of work handed to a thread. */
export function pairsInBlocks(index: BlockIndex, from: number, to: number): number {
  let pairs = 0;
  for (let block = from; block < to; block++) {
    const size = blockSize(index, block);
    pairs += (size * (size - 1)) / 2;
  }
  return pairs;
}

/** Splits the blocks into ranges of roughly `pairsPerRange` pairs each. */
export function blockRanges(index: BlockIndex, pairsPerRange: number): [number, number][] {
  const ranges: [number, number][] = [];
  let from = 0;
  let pairs = 0;
  for (let block = 0; block < index.blockCount; block++) {
    const size = blockSize(index, block);
    pairs += (size * (size - 1)) / 2;
    if (pairs >= pairsPerRange) {
      ranges.push([from, block + 1]);
      from = block + 1;
      pairs = 0;
    }
  }
  if (from < index.blockCount) ranges.push([from, index.blockCount]);
  return ranges;
}

/**
 * Walks blocks one at a time with their members' block numbers under the earlier rules copied
 * side by side, so that telling whether a pair of members met in an earlier rule reads this
 * block's few cache lines rather than two random rows of a table of millions of records.
 * A candidate pair (a < b) is visited in the first rule that puts both records in one block,
 * so no global set or sort of pairs is needed and ranges of blocks can be scanned independently.
 */
export class BlockCursor {
  readonly index: BlockIndex;
  /** Members of the block loaded last, ascending (the first `size`). */
  readonly members: Int32Array;
  size = 0;
  /** The rule of the block loaded last. */
  rule = 0;
  /** earlier[x * rule + e]: member x's block under rule e < rule. */
  private readonly earlier: Int32Array;

  constructor(index: BlockIndex) {
    this.index = index;
    this.members = new Int32Array(Math.max(2, index.maxBlockSize));
    this.earlier = new Int32Array(Math.max(2, index.maxBlockSize) * Math.max(1, index.ruleCount));
  }

  /** Loads a block: its members, and (unless told not to) their blocks under the earlier rules. */
  load(block: number, withEarlier = true): void {
    const { ruleStart, ruleCount, blockOf, members, blockStart } = this.index;
    let rule = this.rule;
    // Blocks are mostly loaded in order: start from the last block's rule.
    if (rule >= ruleCount || ruleStart[rule]! > block) rule = 0;
    while (ruleStart[rule + 1]! <= block) rule++;
    this.rule = rule;
    const start = blockStart[block]!;
    const size = blockStart[block + 1]! - start;
    this.size = size;
    for (let x = 0; x < size; x++) {
      const record = members[start + x]!;
      this.members[x] = record;
      if (withEarlier) for (let e = 0; e < rule; e++) this.earlier[x * rule + e] = blockOf[record * ruleCount + e]!;
    }
  }

  /** Whether members x < y of the loaded block meet here first: no earlier rule put them in one block. */
  meetsFirstHere(x: number, y: number): boolean {
    const rule = this.rule;
    const earlier = this.earlier;
    for (let e = 0; e < rule; e++) {
      const block = earlier[x * rule + e]!;
      if (block >= 0 && block === earlier[y * rule + e]) return false;
    }
    return true;
  }
}
