// The person index's writes: new persons made from their records' best values, links from
// records to persons (superseding the old link), and items for a reviewer. Shared by the batch
// re-clustering (person-index.ts) and the one-record-at-a-time decisions (receive.ts), so a
// person is made, and a link or review item written, the same way whichever path decided it.

import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { bulkInsert } from '../platform/bulk.ts';
import { createIndexPersons } from '../people/index.ts';
import { EARLIEST_BIRTH_DATE, isCalendarDate, isValidNhsNumber, normaliseNhsNumber, normaliseSex } from './normalise.ts';

const DASH = 45;

/** The number written by the ASCII digits value[from..to), or -1 if any is not a digit. */
function digits(value: string, from: number, to: number): number {
  let number = 0;
  for (let i = from; i < to; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    number = number * 10 + digit;
  }
  return number;
}

/** An agency record's fields as received, by Joinery field name. */
export type SourceFields = Record<string, string>;

/** A new person's values: per field the most common non-empty value among its records. */
export function bestValues(records: readonly SourceFields[]): {
  given_name: string;
  family_name: string;
  birth_date: string | null;
  sex: string | null;
  nhs_number: string | null;
  phone: string | null;
  email: string | null;
  postcode: string | null;
  address: string | null;
} {
  const mode = (field: string, accept: (value: string) => string | null = (v) => v): string | null => {
    if (records.length === 1) {
      // One record (a new person made from the record that arrived): its own value, without a count.
      const raw = records[0]![field];
      return typeof raw === 'string' && raw.trim() !== '' ? accept(raw.trim()) : null;
    }
    const counts = new Map<string, number>();
    for (const record of records) {
      const raw = record[field];
      const value = typeof raw === 'string' && raw.trim() !== '' ? accept(raw.trim()) : null;
      if (value !== null) counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestCount = 0;
    for (const [value, count] of counts) if (count > bestCount) [best, bestCount] = [value, count];
    return best;
  };
  const isoDate = (value: string): string | null => {
    // A year such as 0000 parses in JavaScript but PostgreSQL refuses it, and would fail the batch.
    // Checked by arithmetic: a RegExp and a Date per new person were a noticeable share of an import.
    if (value.length !== 10 || value < EARLIEST_BIRTH_DATE || value.charCodeAt(4) !== DASH || value.charCodeAt(7) !== DASH) return null;
    const year = digits(value, 0, 4);
    const month = digits(value, 5, 7);
    const day = digits(value, 8, 10);
    return year >= 0 && month >= 0 && day >= 0 && isCalendarDate(year, month, day) ? value : null;
  };
  const sex = (value: string): string | null => {
    const normal = normaliseSex(value);
    return normal === 'f' ? 'female' : normal === 'm' ? 'male' : null;
  };
  const nhs = (value: string): string | null => {
    const normal = normaliseNhsNumber(value);
    return normal !== null && isValidNhsNumber(normal) ? normal : null;
  };
  return {
    given_name: mode('given_name') ?? '',
    family_name: mode('family_name') ?? '',
    birth_date: mode('birth_date', isoDate),
    sex: mode('sex', sex),
    nhs_number: mode('nhs_number', nhs),
    phone: mode('phone'),
    email: mode('email'),
    postcode: mode('postcode'),
    address: mode('address'),
  };
}

export function newPersonId(): string {
  return `lp-${randomUUID()}`;
}

/** A person's values as bestValues gives them. */
export type BestValues = ReturnType<typeof bestValues>;

/** New persons, each from its records (or its values, when the caller has already worked them out from those records). */
export async function insertNewPersons(
  db: Kysely<Database>,
  persons: { id: string; records: SourceFields[]; values?: BestValues }[],
): Promise<void> {
  await createIndexPersons(
    db,
    persons.map((person) => ({ id: person.id, ...(person.values ?? bestValues(person.records)) })),
  );
}

export interface NewLink {
  sourceRecordId: number;
  personId: string;
  method: string;
  probability: number | null;
}

export async function insertLinks(db: Kysely<Database>, links: readonly NewLink[], supersede: boolean): Promise<void> {
  if (supersede) {
    for (let start = 0; start < links.length; start += 5000) {
      const ids = links.slice(start, start + 5000).map((link) => link.sourceRecordId);
      await sql`update record_links set superseded_at = now() where superseded_at is null and source_record_id = any(${ids}::bigint[])`.execute(
        db,
      );
    }
  }
  await bulkInsert(
    db,
    'record_links',
    [
      { name: 'source_record_id', type: 'bigint', value: (l) => l.sourceRecordId },
      { name: 'person_id', type: 'text', value: (l) => l.personId },
      { name: 'method', type: 'text', value: (l) => l.method },
      { name: 'match_probability', type: 'float8', value: (l) => l.probability },
    ],
    links as NewLink[],
  );
}

export interface NewReview {
  sourceRecordId: number;
  candidatePersonId: string;
  comparedRecordId: number | null;
  probability: number;
  reason: string;
}

export async function insertReviews(db: Kysely<Database>, reviews: readonly NewReview[]): Promise<number[]> {
  const ids: number[] = [];
  for (let start = 0; start < reviews.length; start += 5000) {
    const batch = reviews.slice(start, start + 5000);
    const result = await sql<{ id: number }>`
      insert into linkage_reviews (source_record_id, candidate_person_id, compared_record_id, probability, reason)
      select * from unnest(${batch.map((r) => r.sourceRecordId)}::bigint[], ${batch.map((r) => r.candidatePersonId)}::text[],
        ${batch.map((r) => r.comparedRecordId)}::bigint[], ${batch.map((r) => r.probability)}::float8[], ${batch.map((r) => r.reason)}::text[])
      on conflict (source_record_id, candidate_person_id) where status = 'open' do nothing
      returning id`.execute(db);
    ids.push(...result.rows.map((row) => row.id));
  }
  return ids;
}

/**
 * Links received records to the persons they are known to be of (a synthetic place's ground
 * truth, for city-scale benchmarks of other features), found by source and source id: certain
 * links, method 'synthetic_truth'. Records not held are skipped.
 */
export async function linkRecordsToKnownPersons(
  db: Kysely<Database>,
  records: ReadonlyArray<{ source: string; sourceId: string; personId: string }>,
): Promise<void> {
  for (let start = 0; start < records.length; start += 10_000) {
    const batch = records.slice(start, start + 10_000);
    await sql`
      insert into record_links (source_record_id, person_id, method, match_probability)
      select s.id, m.person_id, 'synthetic_truth', 1
      from unnest(${batch.map((r) => r.source)}::text[], ${batch.map((r) => r.sourceId)}::text[], ${batch.map((r) => r.personId)}::text[]) as m(source, source_id, person_id)
      join source_records s on s.source = m.source and s.source_id = m.source_id`.execute(db);
  }
}
