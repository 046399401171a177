// Review items for tests: records that arrive late, with only a first initial and a rough birth
// year, for people the place already holds, are what the person index cannot settle alone, so
// they reach the data-quality officer's review queue.
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../src/schema.ts';
import { receiveSourceRecord } from '../../src/linkage/index.ts';

export interface ReviewFixture {
  reviewId: number;
  sourceRecordId: number;
  personId: string;
  fields: Record<string, string>;
}

/** Sends late records from housing (HA01) until `count` of them open a review item. */
export async function lateRecordsInReview(db: Kysely<Database>, count: number, idPrefix: string): Promise<ReviewFixture[]> {
  const people = await sql<{ given_name: string; family_name: string; birth_date: string; postcode: string; address_line: string }>`
    select p.given_name, p.family_name, p.birth_date::text as birth_date, h.postcode, h.address_line
    from persons p join households h on h.id = p.household_id order by p.id limit 200`.execute(db);
  const items: ReviewFixture[] = [];
  let serial = 0;
  for (const person of people.rows) {
    const fields = {
      given_name: person.given_name.slice(0, 1),
      family_name: person.family_name,
      postcode: person.postcode,
      address: person.address_line,
      birth_date: `${person.birth_date.slice(0, 4)}-01-01`,
    };
    const result = await receiveSourceRecord(db, 'HA01', `${idPrefix}-${serial++}`, fields);
    if (result.outcome === 'review' && result.reviewIds.length > 0)
      items.push({ reviewId: result.reviewIds[0]!, sourceRecordId: result.sourceRecordId, personId: result.personId, fields });
    if (items.length >= count) break;
  }
  assert.equal(items.length, count, `${count} records reach the review queue`);
  return items;
}
