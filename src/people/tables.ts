// Persons, households, relationships and events as tables other modules select from in their own
// single statement (the FHIR API's Patient, RelatedPerson, Group and Observation, searched, paged
// and exported with their version stamps in one query), and a household's members by household.
// Each lists the columns it offers. Imports nothing of the project at run time: the FHIR module's
// resource definitions embed these as their files load.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * Kysely: every person record (merged ones too), as a table: id, given_name, middle_name,
 * family_name, birth_date (text, YYYY-MM-DD), sex, nhs_number, phone, email, merged_into,
 * created_at, and address_line and postcode: their household's, else what the person index last
 * had for them.
 */
export const personRecordsTable = sql`(select p.id, p.given_name, p.middle_name, p.family_name, p.birth_date::text as birth_date, p.sex,
    p.nhs_number, p.phone, p.email, p.merged_into, coalesce(h.address_line, p.linkage_address) as address_line,
    coalesce(h.postcode, p.linkage_postcode) as postcode, p.created_at
  from persons p left join households h on h.id = p.household_id)`;

/**
 * Kysely: every relationship (ended ones too) with the related person's name, sex and birth date,
 * as a table: person_id, related_person_id, type, recorded_at, ended_at, given_name, family_name,
 * sex, birth_date (text).
 */
export const relationshipsWithRelatedTable = sql`(select rel.person_id, rel.related_person_id, rel.type, rel.recorded_at, rel.ended_at,
    q.given_name, q.family_name, q.sex, q.birth_date::text as birth_date
  from relationships rel join persons q on q.id = rel.related_person_id)`;

/** Kysely: every household, as a table: id, composition, tenure. */
export const householdsTable = sql`(select h.id, h.composition, h.tenure from households h)`;

/** Kysely: the household of the person `person` names (a parameter or expression), as a subquery for `in`. */
export function householdIdsOfPerson(person: unknown): RawBuilder<unknown> {
  return sql`(select household_id from persons where id = ${person})`;
}

/** Kysely: every event agencies recorded about a person, as a table: id, person_id, organisation_id, type, at, value. */
export const personEventsTable = sql`(select e.id, e.person_id, e.organisation_id, e.type, e.at, e.value from person_events e)`;

/** The live (not merged) members of these households, by person id. */
export async function liveMembersOfHouseholds(
  db: Kysely<Database>,
  householdIds: readonly string[],
): Promise<Array<{ id: string; household_id: string | null }>> {
  return db
    .selectFrom('persons')
    .select(['id', 'household_id'])
    .where('household_id', 'in', householdIds)
    .where(sql<boolean>`merged_into is null`)
    .orderBy('id')
    .execute();
}
