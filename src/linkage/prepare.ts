// Turns raw records into prepared records: normalised values with what the
// comparisons and blocking keys need (phonetic codes, date parts, postcode sectors).

import { doubleMetaphone } from 'double-metaphone';
import { FIELD_NAMES } from './types.ts';
import type { FieldName, FieldSpec, LinkRecord, PreparedRecord, PreparedValue } from './types.ts';
import {
  dayNumber,
  isValidNhsNumber,
  normaliseAddress,
  normaliseBirthDate,
  normaliseEmail,
  normaliseName,
  normaliseNhsNumber,
  normalisePhone,
  normalisePostcode,
  normaliseSex,
  normaliseText,
} from './normalise.ts';

const phoneticCache = new Map<string, readonly [string, string]>();
const PHONETIC_CACHE_LIMIT = 500_000;

/** Double metaphone codes, cached: names repeat a lot. */
export function phoneticCodes(name: string): readonly [string, string] {
  let codes = phoneticCache.get(name);
  if (!codes) {
    codes = doubleMetaphone(name);
    if (phoneticCache.size >= PHONETIC_CACHE_LIMIT) phoneticCache.clear();
    phoneticCache.set(name, codes);
  }
  return codes;
}

const TEXT_PREFIX = 'text:';

/** Parses "given_name" or "text:NAME" into a field spec, or null when unknown. */
export function parseFieldKey(key: string): FieldSpec | null {
  if ((FIELD_NAMES as readonly string[]).includes(key)) return { key, kind: key as FieldName };
  if (key.startsWith(TEXT_PREFIX) && key.length > TEXT_PREFIX.length) return { key, kind: 'text' };
  return null;
}

/** The fields to compare: every field that some record carries, in a stable order. */
export function fieldSpecsFor(records: readonly LinkRecord[]): FieldSpec[] {
  const known = new Set<FieldName>();
  const text = new Set<string>();
  for (const record of records) {
    for (const name of Object.keys(record.fields) as FieldName[]) known.add(name);
    for (const name of Object.keys(record.text)) text.add(name);
  }
  const specs: FieldSpec[] = FIELD_NAMES.filter((name) => known.has(name)).map((name) => ({ key: name, kind: name }));
  for (const name of [...text].sort()) specs.push({ key: TEXT_PREFIX + name, kind: 'text' });
  return specs;
}

function rawValue(record: LinkRecord, spec: FieldSpec): string | undefined {
  return spec.kind === 'text' ? record.text[spec.key.slice(TEXT_PREFIX.length)] : record.fields[spec.kind];
}

/** A prepared value with every property set, defaults for what does not apply. */
export function preparedValue(value: string, details: Partial<Omit<PreparedValue, 'value'>> = {}): PreparedValue {
  return {
    value,
    phonetic: details.phonetic ?? null,
    dayNumber: details.dayNumber ?? Number.NaN,
    swapped: details.swapped ?? '',
    sector: details.sector ?? '',
    district: details.district ?? '',
    valid: details.valid ?? false,
  };
}

/** Normalises one raw value for its field kind; null when there is nothing to compare. */
export function prepareValue(spec: FieldSpec, raw: string | undefined): PreparedValue | null {
  if (raw === undefined || raw.trim() === '') return null;
  switch (spec.kind) {
    case 'given_name':
    case 'family_name': {
      const value = normaliseName(raw);
      return value === '' ? null : preparedValue(value, { phonetic: phoneticCodes(value) });
    }
    case 'birth_date': {
      const value = normaliseBirthDate(raw);
      if (value === null) return null;
      const swapped = value.slice(0, 4) + value.slice(6, 8) + value.slice(4, 6);
      return preparedValue(value, { dayNumber: dayNumber(value), swapped });
    }
    case 'postcode': {
      const postcode = normalisePostcode(raw);
      return postcode && preparedValue(postcode.value, { sector: postcode.sector, district: postcode.district });
    }
    case 'nhs_number': {
      const value = normaliseNhsNumber(raw);
      return value === null ? null : preparedValue(value, { valid: isValidNhsNumber(value) });
    }
    case 'sex': {
      const value = normaliseSex(raw);
      return value === null ? null : preparedValue(value);
    }
    case 'email': {
      const value = normaliseEmail(raw);
      return value === null ? null : preparedValue(value);
    }
    case 'phone': {
      const value = normalisePhone(raw);
      return value === null ? null : preparedValue(value);
    }
    case 'address': {
      const value = normaliseAddress(raw);
      return value === '' ? null : preparedValue(value);
    }
    case 'text': {
      const value = normaliseText(raw);
      return value === '' ? null : preparedValue(value);
    }
  }
}

export function prepareRecord(specs: readonly FieldSpec[], record: LinkRecord): PreparedRecord {
  return { id: record.id, values: specs.map((spec) => prepareValue(spec, rawValue(record, spec))) };
}

/** Record ids by position: a list of strings, or packed bytes (files of millions of records). */
export interface RecordIds {
  readonly count: number;
  get(record: number): string;
}

/**
 * Records as columns of raw values, as batch linking takes them in: each distinct raw value of a
 * field once (`raw[column]`), and per record the number of its value in each column
 * (`rawIds[record * keys.length + column]`, -1 when blank). A file of millions of records then
 * costs a few typed arrays and its distinct values, not an object and a string per cell.
 */
export interface RawColumns {
  count: number;
  /** Field keys of the columns: a FieldName or `text:NAME`. */
  keys: readonly string[];
  rawIds: Int32Array;
  raw: readonly (readonly string[])[];
  recordIds: RecordIds;
  /** The fields to compare, when the source says (link records: every field a record has); else fieldSpecsForColumns. */
  specs?: FieldSpec[];
}

/** Builds raw columns record by record, numbering each distinct value of a column once. */
export class RawColumnsBuilder {
  readonly keys: readonly string[];
  private readonly numberOf: Map<string, number>[];
  private readonly raw: string[][];
  private rawIds: Int32Array;
  private count = 0;

  constructor(keys: readonly string[]) {
    this.keys = keys;
    this.numberOf = keys.map(() => new Map<string, number>());
    this.raw = keys.map(() => []);
    this.rawIds = new Int32Array(Math.max(1, keys.length) * 1024).fill(-1);
  }

  /** Starts the next record, every column blank. */
  beginRecord(): void {
    const width = this.keys.length;
    if ((this.count + 1) * width > this.rawIds.length) {
      // Room is blank (-1) until set: filled once as it is made, not record by record.
      const grown = new Int32Array(this.rawIds.length * 2).fill(-1, this.rawIds.length);
      grown.set(this.rawIds);
      this.rawIds = grown;
    }
    this.count++;
  }

  /** Sets a column of the record begun last; '' leaves it blank. */
  setValue(column: number, text: string): void {
    if (text === '') return;
    const numbers = this.numberOf[column]!;
    let number = numbers.get(text);
    if (number === undefined) {
      number = this.raw[column]!.length;
      numbers.set(text, number);
      this.raw[column]!.push(text);
    }
    this.rawIds[(this.count - 1) * this.keys.length + column] = number;
  }

  /**
   * For a caller that numbers values itself (instead of setValue): adds a value not seen before
   * in the column and returns its number...
   */
  addDistinct(column: number, text: string): number {
    this.raw[column]!.push(text);
    return this.raw[column]!.length - 1;
  }

  /** ...and sets a column of the record begun last to a value's number. */
  setNumber(column: number, number: number): void {
    this.rawIds[(this.count - 1) * this.keys.length + column] = number;
  }

  build(recordIds: RecordIds): RawColumns {
    if (recordIds.count !== this.count) throw new Error(`${recordIds.count} record ids for ${this.count} records`);
    for (const numbers of this.numberOf) numbers.clear();
    return { count: this.count, keys: this.keys, rawIds: this.rawIds.slice(0, this.count * this.keys.length), raw: this.raw, recordIds };
  }
}

/** Link records as raw columns (their ids as given). */
export function rawColumnsFromRecords(records: readonly LinkRecord[]): RawColumns {
  const specs = fieldSpecsFor(records);
  const width = specs.length;
  const rawIds = new Int32Array(records.length * width).fill(-1);
  // Column by column: one column's table of values is looked up at a time, and stays in cache.
  const raw = specs.map((spec, column) => {
    const values: string[] = [];
    const numberOf = new Map<string, number>();
    const name = spec.kind === 'text' ? spec.key.slice(TEXT_PREFIX.length) : spec.kind;
    const text = spec.kind === 'text';
    for (let record = 0; record < records.length; record++) {
      const { fields, text: texts } = records[record]!;
      const value = text ? texts[name] : fields[name as FieldName];
      if (value === undefined || value === '') continue;
      let number = numberOf.get(value);
      if (number === undefined) {
        number = values.length;
        numberOf.set(value, number);
        values.push(value);
      }
      rawIds[record * width + column] = number;
    }
    return values;
  });
  return {
    count: records.length,
    keys: specs.map((spec) => spec.key),
    rawIds,
    raw,
    recordIds: { count: records.length, get: (record) => records[record]!.id },
    specs,
  };
}

/** The fields to compare for raw columns: as the source says, else every column some record has a value in, in a stable order. */
export function fieldSpecsForColumns(input: RawColumns): FieldSpec[] {
  if (input.specs) return input.specs;
  const keys = input.keys.filter((_, column) => input.raw[column]!.length > 0);
  const specs: FieldSpec[] = FIELD_NAMES.filter((name) => keys.includes(name)).map((name) => ({ key: name, kind: name }));
  for (const key of keys.filter((key) => key.startsWith(TEXT_PREFIX)).sort()) specs.push({ key, kind: 'text' });
  return specs;
}

/**
 * Records prepared as a table of value numbers: each distinct raw value is normalised
 * once (names, dates and postcodes repeat a lot) and each distinct normalised value gets
 * one number, so equal numbers mean equal values. `ids[record * fieldCount + slot]`
 * indexes `dictionaries[slot]`, -1 when the record has nothing to compare in that field.
 * Record-major, so one record's numbers share a cache line; typed, so worker threads can
 * share the table without copying every record.
 */
export interface PreparedColumns {
  fieldCount: number;
  ids: Int32Array;
  dictionaries: PreparedValue[][];
}

export interface PreparedTable extends PreparedColumns {
  recordCount: number;
  /** counts[slot][id]: records holding the value. */
  counts: Int32Array[];
  /** Records with a value in the slot. */
  present: number[];
}

/**
 * Prepares raw columns for the given fields: every distinct raw value normalised once, every
 * record's raw numbers turned into value numbers (in a SharedArrayBuffer when `shared`).
 * Values are numbered in order of the first record holding them.
 */
export function prepareColumns(specs: readonly FieldSpec[], input: RawColumns, shared = false): PreparedTable {
  const n = input.count;
  const fieldCount = specs.length;
  const width = input.keys.length;
  const length = n * fieldCount;
  const ids = shared ? new Int32Array(new SharedArrayBuffer(Math.max(1, length) * 4)).subarray(0, length) : new Int32Array(length);
  const dictionaries: PreparedValue[][] = [];
  const valueOfRaw: Int32Array[] = [];
  const columns = new Int32Array(fieldCount);
  specs.forEach((spec, slot) => {
    const column = input.keys.indexOf(spec.key);
    columns[slot] = column;
    const raw = input.raw[column]!;
    // Equal normalised values share a number. A value that normalising left as it was can only
    // equal one that normalising changed (raw values are distinct), so only the changed ones are
    // looked up in a table: an NHS number or an email address usually needs no lookup at all.
    const values = raw.map((text) => prepareValue(spec, text));
    const idOfChanged = new Map<string, number>();
    values.forEach((value, number) => {
      if (value && value.value !== raw[number]) idOfChanged.set(value.value, -1);
    });
    const dictionary: PreparedValue[] = [];
    const valueOf = new Int32Array(raw.length);
    for (let number = 0; number < raw.length; number++) {
      const value = values[number];
      let id = -1;
      if (value) {
        const known = idOfChanged.size === 0 ? undefined : idOfChanged.get(value.value);
        if (known !== undefined && known >= 0) id = known;
        else {
          id = dictionary.length;
          dictionary.push(value);
          if (known !== undefined) idOfChanged.set(value.value, id);
        }
      }
      valueOf[number] = id;
    }
    dictionaries.push(dictionary);
    valueOfRaw.push(valueOf);
  });
  // Record by record, so the raw and the prepared table are each read and written once in order.
  const counts = dictionaries.map((dictionary) => new Int32Array(dictionary.length));
  const present = new Array<number>(fieldCount).fill(0);
  for (let record = 0; record < n; record++) {
    for (let slot = 0; slot < fieldCount; slot++) {
      const number = input.rawIds[record * width + columns[slot]!]!;
      const id = number < 0 ? -1 : valueOfRaw[slot]![number]!;
      ids[record * fieldCount + slot] = id;
      if (id >= 0) {
        counts[slot]![id]!++;
        present[slot]!++;
      }
    }
  }
  return { recordCount: n, fieldCount, ids, dictionaries, counts, present };
}

/** Record `record` of a prepared table as a PreparedRecord (made on demand: a table keeps no object per record). */
export function preparedRecordAt(table: PreparedColumns, record: number, id: string): PreparedRecord {
  const values = new Array<PreparedValue | null>(table.fieldCount);
  for (let slot = 0; slot < table.fieldCount; slot++) {
    const value = table.ids[record * table.fieldCount + slot]!;
    values[slot] = value < 0 ? null : table.dictionaries[slot]![value]!;
  }
  return { id, values };
}
