// Shared shapes of the record-linkage engine (Fellegi–Sunter, Splink-style).

export const FIELD_NAMES = [
  'given_name',
  'family_name',
  'birth_date',
  'sex',
  'postcode',
  'address',
  'nhs_number',
  'email',
  'phone',
] as const;

export type FieldName = (typeof FIELD_NAMES)[number];

/** A record as an agency holds it: known person fields plus any free-text columns. */
export interface LinkRecord {
  id: string;
  fields: Partial<Record<FieldName, string>>;
  text: Record<string, string>;
}

/** How a field is compared: a known person field, or free text. */
export type FieldKind = FieldName | 'text';

/** One compared field: `key` is the FieldName, or `text:NAME` for free text. */
export interface FieldSpec {
  key: string;
  kind: FieldKind;
}

/**
 * A normalised value with what its comparisons need precomputed once.
 * Every value has every property (same object shape) so the scoring loop stays monomorphic.
 */
export interface PreparedValue {
  value: string;
  /** Double metaphone codes (names), else null. */
  phonetic: readonly [string, string] | null;
  /** Dates: days since 1970-01-01, NaN when not a calendar date (typos) or not a date. */
  dayNumber: number;
  /** Dates: the value with day and month swapped (YYYYDDMM), else empty. */
  swapped: string;
  /** UK postcodes: "RV3 2" and "RV3". Empty for other postcodes and other fields. */
  sector: string;
  district: string;
  /** NHS numbers: passes the modulus 11 check. */
  valid: boolean;
}

/** A record ready for comparison: values indexed like the model's field specs. */
export interface PreparedRecord {
  id: string;
  values: (PreparedValue | null)[];
}

/** Level index meaning "either side missing": contributes nothing. */
export const NULL_LEVEL = 255;

export interface LevelParameters {
  label: string;
  /** P(level | match). */
  m: number;
  /** P(level | non-match), from random pairs. */
  u: number;
}

export interface FieldModel {
  spec: FieldSpec;
  levels: LevelParameters[];
  /** Exact matches are weighed by how common the value is. */
  termFrequency: boolean;
}

/** One part of a blocking key: a field and how to reduce its value. */
export type KeyTransform =
  | 'value'
  | 'valid'
  | 'year'
  | 'metaphone'
  | 'prefix3'
  | 'initial'
  | 'unordered_day_month'
  /** Birth dates: the month and day without the year (a year mistyped or moved still meets). */
  | 'day_month'
  /** Emails: the part before the @ (a typo in the domain still meets). */
  | 'local_part'
  /** On given_name: the initials of the given and the family name in either order (names written the other way round still meet). */
  | 'unordered_initials'
  /** On given_name: how the given and the family name sound (their metaphones), in that order. */
  | 'names_metaphone';

export interface BlockingRule {
  name: string;
  parts: readonly (readonly [fieldKey: string, transform: KeyTransform])[];
}

export interface LinkageModel {
  fields: FieldModel[];
  /** Probability that two records drawn at random are the same person. */
  priorMatchProbability: number;
  blockingRules: BlockingRule[];
  /** Relative frequency of each normalised value, per field key (term-frequency adjustment). */
  termFrequencies: Record<string, Map<string, number>>;
  /** Blocks bigger than this are ignored: common values would explode the pair count. */
  maxBlockSize: number;
  /** Match probability at or above which records are the same person. */
  linkThreshold: number;
  /** Match probability at or above which a person should review the pair. */
  reviewThreshold: number;
}

export interface ProgressEvent {
  stage: string;
  done: number;
  total: number;
}

export type ProgressCallback = (event: ProgressEvent) => void;
