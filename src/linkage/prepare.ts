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
    tokens: details.tokens ?? null,
  };
}

function words(text: string): string[] {
  return [...new Set(text.split(' ').filter((word) => word !== ''))];
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
      return value === '' ? null : preparedValue(value, { tokens: words(value) });
    }
    case 'text': {
      const value = normaliseText(raw);
      return value === '' ? null : preparedValue(value, { tokens: words(value) });
    }
  }
}

export function prepareRecord(specs: readonly FieldSpec[], record: LinkRecord): PreparedRecord {
  return { id: record.id, values: specs.map((spec) => prepareValue(spec, rawValue(record, spec))) };
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
  records: PreparedRecord[];
}

export function prepareTable(specs: readonly FieldSpec[], records: readonly LinkRecord[], shared = false): PreparedTable {
  const n = records.length;
  const fieldCount = specs.length;
  const length = n * fieldCount;
  const ids = shared ? new Int32Array(new SharedArrayBuffer(Math.max(1, length) * 4)).subarray(0, length) : new Int32Array(length);
  const dictionaries: PreparedValue[][] = specs.map(() => []);
  const idOfRaw = specs.map(() => new Map<string, number>());
  const idOfValue = specs.map(() => new Map<string, number>());
  const prepared: PreparedRecord[] = new Array<PreparedRecord>(n);
  for (let index = 0; index < n; index++) {
    const record = records[index]!;
    const values: (PreparedValue | null)[] = new Array<PreparedValue | null>(fieldCount);
    for (let slot = 0; slot < fieldCount; slot++) {
      const spec = specs[slot]!;
      const raw = rawValue(record, spec);
      let id = -1;
      if (raw !== undefined) {
        const known = idOfRaw[slot]!.get(raw);
        if (known !== undefined) id = known;
        else {
          const value = prepareValue(spec, raw);
          if (value) {
            const same = idOfValue[slot]!.get(value.value);
            if (same !== undefined) id = same;
            else {
              id = dictionaries[slot]!.length;
              dictionaries[slot]!.push(value);
              idOfValue[slot]!.set(value.value, id);
            }
          }
          idOfRaw[slot]!.set(raw, id);
        }
      }
      ids[index * fieldCount + slot] = id;
      values[slot] = id < 0 ? null : dictionaries[slot]![id]!;
    }
    prepared[index] = { id: record.id, values };
  }
  return { records: prepared, fieldCount, ids, dictionaries };
}
