// Comparison levels per field: each pair of values falls into exactly one level,
// ordered from strongest agreement to "else". NULL_LEVEL when either side is missing.

import { areNicknames } from './nicknames.ts';
import { damerauLevenshtein, jaroWinklerAtLeast, tokenJaccard } from './string-metrics.ts';
import { NULL_LEVEL } from './types.ts';
import type { FieldKind, FieldSpec, PreparedRecord, PreparedValue } from './types.ts';

export const GIVEN_NAME_LEVELS = [
  'exact',
  'nickname',
  'damerau_levenshtein<=1',
  'jaro_winkler>=0.95',
  'damerau_levenshtein<=2',
  'jaro_winkler>=0.88',
  'double_metaphone',
  'swapped_with_family_name',
  'jaro_winkler>=0.7',
  'else',
] as const;

export const FAMILY_NAME_LEVELS = GIVEN_NAME_LEVELS.filter((label) => label !== 'nickname').map((label) =>
  label === 'swapped_with_family_name' ? 'swapped_with_given_name' : label,
);

export const DATE_LEVELS = ['exact', 'swapped_day_month', 'one_digit_typo', 'within_a_year', 'else'] as const;
export const POSTCODE_LEVELS = ['exact', 'sector', 'damerau_levenshtein<=1', 'district', 'else'] as const;
export const NHS_NUMBER_LEVELS = ['both_valid_equal', 'both_valid_different'] as const;
export const SEX_LEVELS = ['exact', 'else'] as const;
export const EMAIL_LEVELS = ['exact', 'damerau_levenshtein<=1', 'same_local_part', 'else'] as const;
export const PHONE_LEVELS = ['exact', 'damerau_levenshtein<=1', 'same_last_6_digits', 'else'] as const;
export const ADDRESS_LEVELS = [
  'exact',
  'damerau_levenshtein<=2',
  'shared_words>=0.6',
  'jaro_winkler>=0.88',
  'else',
] as const;
export const TEXT_LEVELS = [
  'exact',
  'damerau_levenshtein<=1',
  'damerau_levenshtein<=2',
  'jaro_winkler>=0.88',
  'jaro_winkler>=0.7',
  'else',
] as const;

export function levelLabels(kind: FieldKind): readonly string[] {
  switch (kind) {
    case 'given_name':
      return GIVEN_NAME_LEVELS;
    case 'family_name':
      return FAMILY_NAME_LEVELS;
    case 'birth_date':
      return DATE_LEVELS;
    case 'postcode':
      return POSTCODE_LEVELS;
    case 'nhs_number':
      return NHS_NUMBER_LEVELS;
    case 'sex':
      return SEX_LEVELS;
    case 'email':
      return EMAIL_LEVELS;
    case 'phone':
      return PHONE_LEVELS;
    case 'address':
      return ADDRESS_LEVELS;
    case 'text':
      return TEXT_LEVELS;
  }
}

function phoneticMatch(a: PreparedValue, b: PreparedValue): boolean {
  const [a1, a2] = a.phonetic ?? ['', ''];
  const [b1, b2] = b.phonetic ?? ['', ''];
  if (a1 === '' || b1 === '') return false;
  return a1 === b1 || a1 === b2 || a2 === b1 || a2 === b2;
}

/**
 * Names. `swapped` says the given and family names were written the other way round.
 * Given names also match through the nickname table.
 */
export function compareName(a: PreparedValue, b: PreparedValue, isGivenName: boolean, swapped: boolean): number {
  const x = a.value;
  const y = b.value;
  const shift = isGivenName ? 0 : 1; // family names have no nickname level
  if (x === y) return 0;
  if (isGivenName && areNicknames(x, y)) return 1;
  const edits = damerauLevenshtein(x, y, 2);
  if (edits <= 1) return 2 - shift;
  const similarity = jaroWinklerAtLeast(x, y, 0.7);
  if (similarity >= 0.95) return 3 - shift;
  if (edits <= 2) return 4 - shift;
  if (similarity >= 0.88) return 5 - shift;
  if (phoneticMatch(a, b)) return 6 - shift;
  if (swapped) return 7 - shift;
  if (similarity >= 0.7) return 8 - shift;
  return 9 - shift;
}

/** Dates as YYYYMMDD: exact, day and month swapped, one digit wrong, within a year. */
export function compareDate(a: PreparedValue, b: PreparedValue): number {
  if (a.value === b.value) return 0;
  if (a.swapped === b.value) return 1;
  if (a.value.length === b.value.length && damerauLevenshtein(a.value, b.value, 1) <= 1) return 2;
  const days = Math.abs(a.dayNumber - b.dayNumber);
  if (days <= 366) return 3;
  return 4;
}

/** Postcodes: same unit, same sector (UK), one typo, same district (UK). */
export function comparePostcode(a: PreparedValue, b: PreparedValue): number {
  if (a.value === b.value) return 0;
  if (a.sector && a.sector === b.sector) return 1;
  if (damerauLevenshtein(a.value, b.value, 1) <= 1) return 2;
  if (a.district && a.district === b.district) return 3;
  return 4;
}

/** NHS numbers only count when both pass the check digit: then equal is very strong, different is strong against. */
export function compareNhsNumber(a: PreparedValue, b: PreparedValue): number {
  if (!a.valid || !b.valid) return NULL_LEVEL;
  return a.value === b.value ? 0 : 1;
}

function compareEmail(a: PreparedValue, b: PreparedValue): number {
  if (a.value === b.value) return 0;
  if (damerauLevenshtein(a.value, b.value, 1) <= 1) return 1;
  const localA = a.value.split('@')[0];
  return localA !== '' && localA === b.value.split('@')[0] ? 2 : 3;
}

function comparePhone(a: PreparedValue, b: PreparedValue): number {
  if (a.value === b.value) return 0;
  if (damerauLevenshtein(a.value, b.value, 1) <= 1) return 1;
  return a.value.length >= 6 && a.value.slice(-6) === b.value.slice(-6) ? 2 : 3;
}

function compareAddress(a: PreparedValue, b: PreparedValue): number {
  if (a.value === b.value) return 0;
  if (damerauLevenshtein(a.value, b.value, 2) <= 2) return 1;
  if (tokenJaccard(a.tokens ?? [], b.tokens ?? []) >= 0.6) return 2;
  if (jaroWinklerAtLeast(a.value, b.value, 0.88) >= 0.88) return 3;
  return 4;
}

function compareText(a: PreparedValue, b: PreparedValue): number {
  if (a.value === b.value) return 0;
  const edits = damerauLevenshtein(a.value, b.value, 2);
  if (edits <= 1) return 1;
  if (edits <= 2) return 2;
  const similarity = jaroWinklerAtLeast(a.value, b.value, 0.7);
  if (similarity >= 0.88) return 3;
  if (similarity >= 0.7) return 4;
  return 5;
}

/** Field specs compiled for fast pair comparison. */
export interface Comparator {
  specs: readonly FieldSpec[];
  kinds: readonly FieldKind[];
  givenSlot: number;
  familySlot: number;
}

export function createComparator(specs: readonly FieldSpec[]): Comparator {
  return {
    specs,
    kinds: specs.map((spec) => spec.kind),
    givenSlot: specs.findIndex((spec) => spec.kind === 'given_name'),
    familySlot: specs.findIndex((spec) => spec.kind === 'family_name'),
  };
}

function namesSwapped(comparator: Comparator, a: PreparedRecord, b: PreparedRecord): boolean {
  if (comparator.givenSlot < 0 || comparator.familySlot < 0) return false;
  return swappedNames(
    a.values[comparator.givenSlot], a.values[comparator.familySlot],
    b.values[comparator.givenSlot], b.values[comparator.familySlot],
  );
}

/**
 * The comparison level of two present values of one field kind. `namesSwapped` (names
 * only) says the pair's given and family names were written the other way round.
 */
export function compareValues(kind: FieldKind, valueA: PreparedValue, valueB: PreparedValue, namesSwapped: boolean): number {
  switch (kind) {
    case 'given_name':
      return compareName(valueA, valueB, true, namesSwapped);
    case 'family_name':
      return compareName(valueA, valueB, false, namesSwapped);
    case 'birth_date':
      return compareDate(valueA, valueB);
    case 'postcode':
      return comparePostcode(valueA, valueB);
    case 'nhs_number':
      return compareNhsNumber(valueA, valueB);
    case 'sex':
      return valueA.value === valueB.value ? 0 : 1;
    case 'email':
      return compareEmail(valueA, valueB);
    case 'phone':
      return comparePhone(valueA, valueB);
    case 'address':
      return compareAddress(valueA, valueB);
    case 'text':
      return compareText(valueA, valueB);
  }
}

/** Given and family names written the other way round (either side's given name is the other's family name). */
export function swappedNames(
  givenA: PreparedValue | null | undefined,
  familyA: PreparedValue | null | undefined,
  givenB: PreparedValue | null | undefined,
  familyB: PreparedValue | null | undefined,
): boolean {
  return (!!givenA && !!familyB && givenA.value === familyB.value) || (!!familyA && !!givenB && familyA.value === givenB.value);
}

/** The comparison level of one field for a pair of records. */
export function compareField(comparator: Comparator, slot: number, a: PreparedRecord, b: PreparedRecord): number {
  const valueA = a.values[slot];
  const valueB = b.values[slot];
  if (!valueA || !valueB) return NULL_LEVEL;
  const kind = comparator.kinds[slot]!;
  const isName = kind === 'given_name' || kind === 'family_name';
  return compareValues(kind, valueA, valueB, isName && valueA.value !== valueB.value && namesSwapped(comparator, a, b));
}

/** Writes the comparison vector of a pair into `out` starting at `offset`. */
export function comparePair(
  comparator: Comparator,
  a: PreparedRecord,
  b: PreparedRecord,
  out: Uint8Array,
  offset: number,
): void {
  for (let slot = 0; slot < comparator.kinds.length; slot++) out[offset + slot] = compareField(comparator, slot, a, b);
}

/** Cheap comparisons first, so scoring can stop early on pairs that cannot match. */
const COST_ORDER: readonly FieldKind[] = [
  'nhs_number', 'sex', 'birth_date', 'postcode', 'phone', 'email', 'family_name', 'given_name', 'text', 'address',
];

/** Field slots in the order they are cheapest to compare. */
export function slotsByCost(kinds: readonly FieldKind[]): Int32Array {
  const slots = kinds.map((_, slot) => slot);
  slots.sort((x, y) => COST_ORDER.indexOf(kinds[x]!) - COST_ORDER.indexOf(kinds[y]!) || x - y);
  return Int32Array.from(slots);
}
