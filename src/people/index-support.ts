// What the person index (linkage) reads and writes of persons: the persons it matches arriving
// records against, which person records are merged into which, a merge's lock and mark, a person
// record it creates for a record that matches nobody, and where a person record came from. The
// index owns links and merges; the persons table is this module's, so the index goes through here.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { bulkInsert } from '../platform/bulk.ts';

/** A live person as the index matches records against them (household address first, else the one the index kept). */
export interface PersonToMatch {
  id: string;
  given_name: string;
  family_name: string;
  birth_date: string | null;
  sex: string | null;
  nhs_number: string | null;
  phone: string | null;
  email: string | null;
  postcode: string | null;
  address_line: string | null;
}

/** Every live (not merged) person to match against, or only those named, by id. */
export async function personsToMatch(db: Kysely<Database>, personIds?: readonly string[]): Promise<PersonToMatch[]> {
  const only = personIds ? sql`and p.id = any(${[...personIds]}::text[])` : sql``;
  const result = await sql<PersonToMatch>`
    select p.id, p.given_name, p.family_name, p.birth_date::text as birth_date, p.sex, p.nhs_number, p.phone, p.email,
           coalesce(h.postcode, p.linkage_postcode) as postcode, coalesce(h.address_line, p.linkage_address) as address_line
    from persons p left join households h on h.id = p.household_id
    where p.merged_into is null ${only}
    order by p.id`.execute(db);
  return result.rows;
}

/** Every merged person record and the person it was merged into. */
export async function mergedPersons(db: Kysely<Database>): Promise<Map<string, string>> {
  const rows = await sql<{ id: string; merged_into: string }>`select id, merged_into from persons where merged_into is not null`.execute(
    db,
  );
  return new Map(rows.rows.map((row) => [row.id, row.merged_into]));
}

/** Locks a person record for a merge or un-merge in the caller's transaction; undefined when there is none. */
export async function lockPersonForMerge(
  trx: Transaction<Database>,
  id: string,
): Promise<{ id: string; merged_into: string | null } | undefined> {
  const result = await sql<{
    id: string;
    merged_into: string | null;
  }>`select id, merged_into from persons where id = ${id} for update`.execute(trx);
  return result.rows[0];
}

/** Marks a person record as merged into the survivor, or (null) as its own person again. */
export async function setMergedInto(trx: Transaction<Database>, id: string, survivorId: string | null): Promise<void> {
  await sql`update persons set merged_into = ${survivorId} where id = ${id}`.execute(trx);
}

/** Where a person record came from ('linkage' when the index made it for a record that matched nobody), or undefined. */
export async function personOrigin(db: Kysely<Database>, id: string): Promise<string | undefined> {
  const row = await sql<{ origin: string }>`select origin from persons where id = ${id}`.execute(db);
  return row.rows[0]?.origin;
}

export interface IndexPerson {
  id: string;
  given_name: string;
  family_name: string;
  birth_date: string | null;
  sex: string | null;
  nhs_number: string | null;
  phone: string | null;
  email: string | null;
  postcode: string | null;
  address: string | null;
}

/** Person records the index makes for records that match nobody, from the records' best values: one bulk insert. */
export async function createIndexPersons(db: Kysely<Database>, persons: readonly IndexPerson[]): Promise<void> {
  await bulkInsert(
    db,
    'persons',
    [
      { name: 'id', type: 'text', value: (p) => p.id },
      { name: 'given_name', type: 'text', value: (p) => p.given_name },
      { name: 'family_name', type: 'text', value: (p) => p.family_name },
      { name: 'birth_date', type: 'date', value: (p) => p.birth_date },
      { name: 'sex', type: 'text', value: (p) => p.sex },
      { name: 'nhs_number', type: 'text', value: (p) => p.nhs_number },
      { name: 'phone', type: 'text', value: (p) => p.phone },
      { name: 'email', type: 'text', value: (p) => p.email },
      { name: 'origin', type: 'text', value: () => 'linkage' },
      { name: 'linkage_postcode', type: 'text', value: (p) => p.postcode },
      { name: 'linkage_address', type: 'text', value: (p) => p.address },
    ],
    persons as IndexPerson[],
  );
}
