// A household as another module shows it (the records module's household page): the household,
// its members now (merged records aside, oldest first) and its address history in one call, and
// the current relationships among some people. These only fetch: the caller decides, person by
// person, what the reader may see.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface HouseholdDetails {
  id: string;
  composition: string;
  tenure: string;
  addressLine: string;
  postcode: string;
  members: Array<{ id: string; givenName: string; familyName: string; birthDate: string | null }>;
  addresses: Array<{ addressLine: string; postcode: string; from: string | null; to: string | null }>;
}

/** The household, its members and its addresses (latest first), or undefined when there is no such household. */
export async function householdDetails(db: Kysely<Database>, householdId: string): Promise<HouseholdDetails | undefined> {
  const [household, people, addresses] = await Promise.all([
    db.selectFrom('households').selectAll().where('id', '=', householdId).executeTakeFirst(),
    db
      .selectFrom('persons')
      .select(['id', 'given_name', 'family_name', 'birth_date'])
      .where('household_id', '=', householdId)
      .where(sql<boolean>`merged_into is null`)
      .orderBy('birth_date')
      .execute(),
    db
      .selectFrom('household_addresses')
      .select(['address_line', 'postcode', 'from_date', 'to_date'])
      .where('household_id', '=', householdId)
      .orderBy('from_date', 'desc')
      .execute(),
  ]);
  if (!household) return undefined;
  return {
    id: household.id,
    composition: household.composition,
    tenure: household.tenure,
    addressLine: household.address_line,
    postcode: household.postcode,
    members: people.map((p) => ({ id: p.id, givenName: p.given_name, familyName: p.family_name, birthDate: p.birth_date })),
    addresses: addresses.map((a) => ({ addressLine: a.address_line, postcode: a.postcode, from: a.from_date, to: a.to_date })),
  };
}

/** The relationships in force between any two of these people. */
export async function relationshipsAmong(
  db: Kysely<Database>,
  personIds: readonly string[],
): Promise<Array<{ personId: string; relatedPersonId: string; type: string }>> {
  if (personIds.length === 0) return [];
  const rows = await db
    .selectFrom('relationships')
    .select(['person_id', 'related_person_id', 'type'])
    .where('person_id', 'in', [...personIds])
    .where('related_person_id', 'in', [...personIds])
    .where('ended_at', 'is', null)
    .execute();
  return rows.map((r) => ({ personId: r.person_id, relatedPersonId: r.related_person_id, type: r.type }));
}
