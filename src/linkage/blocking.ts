// Blocking: only pairs that share at least one blocking key are compared.
// Several rules are unioned so a typo in one field does not lose the pair;
// rules adapt to the fields that are mapped, and oversized blocks are skipped.

import type { BlockingRule, FieldSpec, KeyTransform, PreparedRecord, PreparedValue } from './types.ts';

/** Every rule the engine knows; a rule is used when all of its fields are mapped. */
const STANDARD_RULES: readonly BlockingRule[] = [
  { name: 'nhs_number', parts: [['nhs_number', 'valid']] },
  { name: 'email', parts: [['email', 'value']] },
  { name: 'phone', parts: [['phone', 'value']] },
  { name: 'postcode+birth_year', parts: [['postcode', 'value'], ['birth_date', 'year']] },
  { name: 'family_metaphone+birth_date', parts: [['family_name', 'metaphone'], ['birth_date', 'value']] },
  { name: 'given_prefix+family_prefix', parts: [['given_name', 'prefix3'], ['family_name', 'prefix3']] },
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
  const rules = STANDARD_RULES.filter((rule) => rule.parts.every(([field]) => mapped.has(field)));
  specs.forEach((spec, slot) => {
    if (spec.kind === 'text' && looksLikeIdentifier(slot, records)) {
      rules.push({ name: spec.key, parts: [[spec.key, 'value']] });
    }
  });
  return rules;
}

function transformValue(value: PreparedValue, transform: KeyTransform): string | null {
  switch (transform) {
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
  slots: readonly (readonly number[])[];
}

export function compileRules(rules: readonly BlockingRule[], specs: readonly FieldSpec[]): CompiledRules {
  const slotOf = new Map(specs.map((spec, slot) => [spec.key, slot]));
  return { rules, slots: rules.map((rule) => rule.parts.map(([field]) => slotOf.get(field) ?? -1)) };
}

/** The blocking keys of one record, each prefixed by its rule number so rules never collide. */
export function blockingKeys(compiled: CompiledRules, record: PreparedRecord): string[] {
  const keys: string[] = [];
  compiled.rules.forEach((rule, ruleNumber) => {
    let key = String(ruleNumber);
    const slots = compiled.slots[ruleNumber]!;
    for (let part = 0; part < slots.length; part++) {
      const value = slots[part]! < 0 ? null : record.values[slots[part]!];
      const reduced = value ? transformValue(value, rule.parts[part]![1]) : null;
      if (!reduced) return;
      key += '\u0001' + reduced;
    }
    keys.push(key);
  });
  return keys;
}

/** Growable list of numbers without per-element boxing. */
class NumberList {
  values = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
}

export interface CandidatePairs {
  left: Uint32Array;
  right: Uint32Array;
  /** Blocks left out because they were larger than the cap. */
  skippedBlocks: number;
}

/** Groups record numbers by blocking key. */
export function buildBlocks(compiled: CompiledRules, records: readonly PreparedRecord[]): Map<string, number[]> {
  const blocks = new Map<string, number[]>();
  records.forEach((record, index) => {
    for (const key of blockingKeys(compiled, record)) {
      const members = blocks.get(key);
      if (members) members.push(index);
      else blocks.set(key, [index]);
    }
  });
  return blocks;
}

/**
 * All distinct pairs (i < j) of records sharing a block no bigger than `maxBlockSize`.
 * Pairs are encoded as i * n + j, sorted and deduplicated: cheaper than a Set at scale.
 */
export function candidatePairs(
  compiled: CompiledRules,
  records: readonly PreparedRecord[],
  maxBlockSize: number,
): CandidatePairs {
  const n = records.length;
  const encoded = new NumberList();
  let skippedBlocks = 0;
  for (const members of buildBlocks(compiled, records).values()) {
    if (members.length < 2) continue;
    if (members.length > maxBlockSize) {
      skippedBlocks++;
      continue;
    }
    for (let x = 0; x < members.length; x++) {
      for (let y = x + 1; y < members.length; y++) {
        const i = members[x]!;
        const j = members[y]!;
        encoded.push(i < j ? i * n + j : j * n + i);
      }
    }
  }
  const sorted = encoded.values.subarray(0, encoded.length).sort();
  let unique = 0;
  for (let k = 0; k < sorted.length; k++) if (k === 0 || sorted[k] !== sorted[k - 1]) sorted[unique++] = sorted[k]!;
  const left = new Uint32Array(unique);
  const right = new Uint32Array(unique);
  for (let k = 0; k < unique; k++) {
    left[k] = Math.floor(sorted[k]! / n);
    right[k] = sorted[k]! - left[k]! * n;
  }
  return { left, right, skippedBlocks };
}
