// Comparison levels per field: each pair of values falls into exactly one level,
// ordered from strongest agreement to "else". NULL_LEVEL when either side is missing.

import { areNicknames } from './nicknames.ts';
import { damerauLevenshtein, jaroWinklerAtLeast, wordJaccard } from './string-metrics.ts';
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

const SWAPPED_GIVEN_LEVEL = GIVEN_NAME_LEVELS.indexOf('swapped_with_family_name');

/** The family name's swapped level is never given now (a swap counts once, on the given name); it stays so stored models' level numbers hold. */
export const FAMILY_NAME_LEVELS = GIVEN_NAME_LEVELS.filter((label) => label !== 'nickname').map((label) =>
  label === 'swapped_with_family_name' ? 'swapped_with_given_name' : label,
);

export const DATE_LEVELS = ['exact', 'swapped_day_month', 'one_digit_typo', 'within_a_year', 'else'] as const;
export const POSTCODE_LEVELS = ['exact', 'sector', 'damerau_levenshtein<=1', 'district', 'else'] as const;
export const NHS_NUMBER_LEVELS = ['both_valid_equal', 'both_valid_different'] as const;
export const SEX_LEVELS = ['exact', 'else'] as const;
export const EMAIL_LEVELS = ['exact', 'damerau_levenshtein<=1', 'same_local_part', 'else'] as const;
export const PHONE_LEVELS = ['exact', 'damerau_levenshtein<=1', 'same_last_6_digits', 'else'] as const;
export const ADDRESS_LEVELS = ['exact', 'damerau_levenshtein<=2', 'shared_words>=0.6', 'jaro_winkler>=0.88', 'else'] as const;
export const TEXT_LEVELS = [
  'exact',
  'damerau_levenshtein<=1',
  'damerau_levenshtein<=2',
  'jaro_winkler>=0.88',
  'jaro_winkler>=0.7',
  'else',
] as const;

/**
 * Levels at which a field says "the same person" rather than "the same household": a
 * household shares a surname, an address, a phone and often an email, but not a given name,
 * a birth date or an NHS number. Only these fields count for the person check (model.ts).
 */
const PERSON_AGREEMENT: Partial<Record<FieldKind, readonly string[]>> = {
  given_name: GIVEN_NAME_LEVELS.filter((label) => label !== 'else' && label !== 'jaro_winkler>=0.7'),
  birth_date: ['exact', 'swapped_day_month', 'one_digit_typo'],
  nhs_number: ['both_valid_equal'],
};

/** What a level says in the person check: nothing, the same person, the same identifier, a different person. */
export const PERSON_NOTHING = 0;
export const PERSON_AGREES = 1;
export const PERSON_IDENTIFIER = 2;
export const PERSON_CONTRADICTS = 3;
/** The same mailbox: enough when nothing else about the person is known, never against what is. */
export const PERSON_SUPPORTS = 4;

/**
 * Per level of a field, what it says in the person check; null for fields that are not about
 * the person. An NHS number, or a free-text column that behaves like an identifier (a
 * reference number, FEBRL's social security number: equal or one typo apart), is an
 * identifier: it outweighs everything else. A birth date wholly different (not a typo, not day
 * and month swapped, over a year apart) contradicts: a father and son of one name at one
 * address differ there. The same email address supports: a mailbox is one person's more
 * often than not, but a household may share one.
 */
export function personLevels(kind: FieldKind, identifier = false): Uint8Array | null {
  const labels = levelLabels(kind);
  if (kind === 'email') return Uint8Array.from(labels, (label) => (label === 'exact' ? PERSON_SUPPORTS : PERSON_NOTHING));
  if (kind === 'text') {
    return identifier
      ? Uint8Array.from(labels, (label) => (label === 'exact' || label === 'damerau_levenshtein<=1' ? PERSON_IDENTIFIER : PERSON_NOTHING))
      : null;
  }
  const agreeing = PERSON_AGREEMENT[kind];
  if (!agreeing) return null;
  return Uint8Array.from(labels, (label) => {
    if (!agreeing.includes(label)) return kind === 'birth_date' && label === 'else' ? PERSON_CONTRADICTS : PERSON_NOTHING;
    return kind === 'nhs_number' ? PERSON_IDENTIFIER : PERSON_AGREES;
  });
}

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
 * Names, given names also through the nickname table. Names written the other way round are
 * found per pair (swappedNames), not here.
 */
export function compareName(a: PreparedValue, b: PreparedValue, isGivenName: boolean): number {
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
  // Level 7 - shift is the swapped level (swappedNameLevel).
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

/**
 * compareDate on dates held as numbers: two different YYYYMMDD values `x` and `y`, x with day and
 * month swapped, and each one's days since 1970 (NaN when not a calendar date).
 */
export function compareDateNumbers(x: number, swappedX: number, dayX: number, y: number, dayY: number): number {
  if (x === y) return 0;
  if (swappedX === y) return 1;
  if (oneDigitEdit(x, y)) return 2;
  return Math.abs(dayX - dayY) <= 366 ? 3 : 4;
}

/** Two different eight-digit numbers one digit apart, or with two adjacent digits swapped (Damerau–Levenshtein 1). */
function oneDigitEdit(x: number, y: number): boolean {
  let first = -1;
  let firstX = 0;
  let firstY = 0;
  for (let k = 0; k < 8; k++) {
    const digitX = x % 10;
    const digitY = y % 10;
    x = (x - digitX) / 10;
    y = (y - digitY) / 10;
    if (digitX === digitY) continue;
    if (first < 0) {
      first = k;
      firstX = digitX;
      firstY = digitY;
      continue;
    }
    // A second difference: only the first one's neighbour swapped with it, the rest equal.
    return k === first + 1 && digitX === firstY && digitY === firstX && x === y;
  }
  return first >= 0;
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

/** Same length, one position differing, a digit in both: "smith12" and "smith13" are two people's numbered accounts, not a typo. */
function oneDigitChanged(x: string, y: string): boolean {
  if (x.length !== y.length) return false;
  let at = -1;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === y[i]) continue;
    if (at >= 0) return false;
    at = i;
  }
  return at >= 0 && x[at]! >= '0' && x[at]! <= '9' && y[at]! >= '0' && y[at]! <= '9';
}

/** Emails: exact, a typo (letters swapped or mistyped, not another number), the same mailbox name elsewhere. */
export function compareEmailText(x: string, y: string): number {
  if (x === y) return 0;
  if (damerauLevenshtein(x, y, 1) <= 1 && !oneDigitChanged(x, y)) return 1;
  // The mailbox names (before the first @, or the whole address) compared in place.
  const atX = x.indexOf('@');
  const atY = y.indexOf('@');
  const length = atX < 0 ? x.length : atX;
  if (length === 0 || length !== (atY < 0 ? y.length : atY)) return 3;
  for (let i = 0; i < length; i++) if (x.charCodeAt(i) !== y.charCodeAt(i)) return 3;
  return SAME_LOCAL_PART_LEVEL;
}

const SAME_LOCAL_PART_LEVEL = EMAIL_LEVELS.indexOf('same_local_part');

/**
 * The same mailbox name at another domain says nothing beyond the names when it is made of
 * them: namesakes choose "james.cooper" at every provider. Such a pair's email is no evidence
 * (its names are weighed already); a mailbox name that is not the person's name still counts.
 */
export function emailLevelGivenNames(level: number, email: PreparedValue, family: PreparedValue | null | undefined): number {
  return emailLevelGivenNamesText(level, email.value, family ? family.value : null);
}

/** emailLevelGivenNames on the normalised email and family name. */
export function emailLevelGivenNamesText(level: number, email: string, family: string | null): number {
  if (level !== SAME_LOCAL_PART_LEVEL || family === null || family.length < 3) return level;
  const at = email.indexOf('@');
  return email
    .slice(0, at)
    .replace(/[^a-z]/g, '')
    .includes(family.replace(/[^a-z]/g, ''))
    ? NULL_LEVEL
    : level;
}

/** Phone numbers (digits): exact, a typo, the same last six digits. */
export function comparePhoneText(x: string, y: string): number {
  if (x === y) return 0;
  if (damerauLevenshtein(x, y, 1) <= 1) return 1;
  if (x.length < 6 || y.length < 6) return 3;
  for (let k = 1; k <= 6; k++) if (x.charCodeAt(x.length - k) !== y.charCodeAt(y.length - k)) return 3;
  return 2;
}

/** Addresses (normalised): exact, two typos, most words shared, similar. */
export function compareAddressText(x: string, y: string): number {
  if (x === y) return 0;
  if (damerauLevenshtein(x, y, 2) <= 2) return 1;
  if (wordJaccard(x, y) >= 0.6) return 2;
  if (jaroWinklerAtLeast(x, y, 0.88) >= 0.88) return 3;
  return 4;
}

/** Free text (normalised). */
export function compareTextValues(x: string, y: string): number {
  if (x === y) return 0;
  const edits = damerauLevenshtein(x, y, 2);
  if (edits <= 1) return 1;
  if (edits <= 2) return 2;
  const similarity = jaroWinklerAtLeast(x, y, 0.7);
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
    a.values[comparator.givenSlot],
    a.values[comparator.familySlot],
    b.values[comparator.givenSlot],
    b.values[comparator.familySlot],
  );
}

/** The comparison level of two present values of one field kind (names as written: see swappedNames). */
export function compareValues(kind: FieldKind, valueA: PreparedValue, valueB: PreparedValue): number {
  switch (kind) {
    case 'given_name':
      return compareName(valueA, valueB, true);
    case 'family_name':
      return compareName(valueA, valueB, false);
    case 'birth_date':
      return compareDate(valueA, valueB);
    case 'postcode':
      return comparePostcode(valueA, valueB);
    case 'nhs_number':
      return compareNhsNumber(valueA, valueB);
    case 'sex':
      return valueA.value === valueB.value ? 0 : 1;
    case 'email':
      return compareEmailText(valueA.value, valueB.value);
    case 'phone':
      return comparePhoneText(valueA.value, valueB.value);
    case 'address':
      return compareAddressText(valueA.value, valueB.value);
    case 'text':
      return compareTextValues(valueA.value, valueB.value);
  }
}

/** How one name of a record compares with the other kind of name of another: missing, equal, close (a typo or two) or different. */
export function crossName(
  x: PreparedValue | null | undefined,
  y: PreparedValue | null | undefined,
): 'missing' | 'equal' | 'close' | 'different' {
  if (!x || !y) return 'missing';
  if (x.value === y.value) return 'equal';
  return damerauLevenshtein(x.value, y.value, 2) <= 2 && Math.min(x.value.length, y.value.length) > 3 ? 'close' : 'different';
}

/**
 * Given and family names written the other way round: one record's given name is the other's
 * family name, and its family name is the other's given name too (or within a typo or two).
 * One shared name alone ("john thomas" and "thomas smith") is not a swap.
 */
export function swappedNames(
  givenA: PreparedValue | null | undefined,
  familyA: PreparedValue | null | undefined,
  givenB: PreparedValue | null | undefined,
  familyB: PreparedValue | null | undefined,
): boolean {
  const first = crossName(givenA, familyB);
  if (first === 'different' || first === 'missing') return false;
  const second = crossName(familyA, givenB);
  if (second === 'different' || second === 'missing') return false;
  return first === 'equal' || second === 'equal';
}

/**
 * The level of a name when the pair's names are written the other way round: the given name
 * takes the swapped level and the family name adds nothing, so the swap counts once (both at
 * their swapped levels would count one piece of evidence twice).
 */
export function swappedNameLevel(kind: FieldKind): number {
  return kind === 'given_name' ? SWAPPED_GIVEN_LEVEL : NULL_LEVEL;
}

/** The comparison level of one field for a pair of records. */
export function compareField(comparator: Comparator, slot: number, a: PreparedRecord, b: PreparedRecord): number {
  const valueA = a.values[slot];
  const valueB = b.values[slot];
  if (!valueA || !valueB) return NULL_LEVEL;
  const kind = comparator.kinds[slot]!;
  if ((kind === 'given_name' || kind === 'family_name') && valueA.value !== valueB.value && namesSwapped(comparator, a, b)) {
    return swappedNameLevel(kind);
  }
  const level = compareValues(kind, valueA, valueB);
  if (kind !== 'email' || comparator.familySlot < 0) return level;
  const familyA = a.values[comparator.familySlot];
  return emailLevelGivenNames(emailLevelGivenNames(level, valueA, familyA), valueA, b.values[comparator.familySlot]);
}

/** Writes the comparison vector of a pair into `out` starting at `offset`. */
export function comparePair(comparator: Comparator, a: PreparedRecord, b: PreparedRecord, out: Uint8Array, offset: number): void {
  for (let slot = 0; slot < comparator.kinds.length; slot++) out[offset + slot] = compareField(comparator, slot, a, b);
}

/** Cheap comparisons first, so scoring can stop early on pairs that cannot match. */
const COST_ORDER: readonly FieldKind[] = [
  'nhs_number',
  'sex',
  'birth_date',
  'postcode',
  'phone',
  'email',
  'family_name',
  'given_name',
  'text',
  'address',
];

/** Field slots in the order they are cheapest to compare. */
export function slotsByCost(kinds: readonly FieldKind[]): Int32Array {
  const slots = kinds.map((_, slot) => slot);
  slots.sort((x, y) => COST_ORDER.indexOf(kinds[x]!) - COST_ORDER.indexOf(kinds[y]!) || x - y);
  return Int32Array.from(slots);
}
