// Reading persons, households, needs and events for other modules, batched by ids (one query for
// a whole list, never one per row), so no other module queries the people tables itself. These
// only fetch: callers hold the access decision for each person first.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';

export interface PersonRef {
  id: string;
  givenName: string;
  familyName: string;
  birthDate: string | null;
  householdId: string | null;
}

const toRef = (r: {
  id: string;
  given_name: string;
  family_name: string;
  birth_date: string | null;
  household_id: string | null;
}): PersonRef => ({ id: r.id, givenName: r.given_name, familyName: r.family_name, birthDate: r.birth_date, householdId: r.household_id });

/** The persons with these ids (unknown ids are left out), oldest first. */
export async function peopleByIds(db: Kysely<Database>, ids: ReadonlyArray<string | null | undefined>): Promise<PersonRef[]> {
  const wanted = [...new Set(ids.filter((id): id is string => typeof id === 'string'))];
  if (wanted.length === 0) return [];
  const rows = await db
    .selectFrom('persons')
    .select(['id', 'given_name', 'family_name', 'birth_date', 'household_id'])
    .where('id', 'in', wanted)
    .orderBy('birth_date')
    .orderBy('id')
    .execute();
  return rows.map(toRef);
}

/** Of these people, the live records (not merged into another), by family then given name, at most `limit`. */
export async function livePeopleByName(db: Kysely<Database>, ids: readonly string[], limit: number): Promise<PersonRef[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('persons')
    .select(['id', 'given_name', 'family_name', 'birth_date', 'household_id'])
    .where('id', 'in', [...new Set(ids)])
    .where(sql<boolean>`merged_into is null`)
    .orderBy('family_name')
    .orderBy('given_name')
    .limit(limit)
    .execute();
  return rows.map(toRef);
}

/** One person, or undefined if there is no such person record. */
export async function personById(db: Kysely<Database>, id: string): Promise<PersonRef | undefined> {
  return (await peopleByIds(db, [id]))[0];
}

/** The other people in the person's household, oldest first (none if they have no household). */
export async function otherHouseholdMembers(db: Kysely<Database>, personId: string): Promise<PersonRef[]> {
  const person = await db.selectFrom('persons').select('household_id').where('id', '=', personId).executeTakeFirst();
  if (!person?.household_id) return [];
  const rows = await db
    .selectFrom('persons')
    .select(['id', 'given_name', 'family_name', 'birth_date', 'household_id'])
    .where('household_id', '=', person.household_id)
    .where('id', '!=', personId)
    .orderBy('birth_date')
    .execute();
  return rows.map(toRef);
}

/** Where these people live: each known person's household and its small area (null when unknown). */
export async function homesOfPeople(
  db: Kysely<Database>,
  ids: readonly string[],
): Promise<Map<string, { householdId: string | null; smallAreaId: string | null }>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('persons as p')
    .leftJoin('households as h', 'h.id', 'p.household_id')
    .select(['p.id', 'p.household_id', 'h.small_area_id'])
    .where('p.id', 'in', [...new Set(ids)])
    .execute();
  return new Map(rows.map((r) => [r.id, { householdId: r.household_id, smallAreaId: r.small_area_id }]));
}

/** Everyone recorded in these households (merged records too): id, household and date of birth, oldest first. */
export async function membersOfHouseholds(
  db: Kysely<Database>,
  householdIds: readonly string[],
): Promise<Array<{ id: string; household_id: string | null; birth_date: string | null }>> {
  if (householdIds.length === 0) return [];
  return db
    .selectFrom('persons')
    .select(['id', 'household_id', 'birth_date'])
    .where('household_id', 'in', [...householdIds])
    .orderBy('birth_date')
    .execute();
}

/** The person's birth date and their household's tenure and make-up, for prefilling a form. */
export async function personHouseholdFacts(
  db: Kysely<Database>,
  personId: string,
): Promise<{ birthDate: string | null; tenure: string | null; composition: string | null } | undefined> {
  const row = await db
    .selectFrom('persons as p')
    .leftJoin('households as h', 'h.id', 'p.household_id')
    .select(['p.birth_date', 'h.tenure', 'h.composition'])
    .where('p.id', '=', personId)
    .executeTakeFirst();
  return row ? { birthDate: row.birth_date, tenure: row.tenure, composition: row.composition } : undefined;
}

export interface NeedRow {
  code: string;
  severity: number;
  organisationId: string;
  recordedAt: string;
}

/** The person's current needs as each agency recorded them (no organisation names: see the network module). */
export async function currentNeedRows(db: Kysely<Database>, personId: string): Promise<NeedRow[]> {
  const rows = await db
    .selectFrom('needs')
    .select(['code', 'severity', 'organisation_id', 'recorded_at'])
    .where('person_id', '=', personId)
    .where('current', '=', true)
    .execute();
  return rows.map((r) => ({ code: r.code, severity: r.severity, organisationId: r.organisation_id, recordedAt: r.recorded_at }));
}

export interface EventRow {
  type: string;
  at: Date;
  value: number | null;
  organisationId: string;
}

/** The person's events since a moment, as each agency recorded them. */
export async function personEventsSince(db: Kysely<Database>, personId: string, since: Date): Promise<EventRow[]> {
  const rows = await db
    .selectFrom('person_events')
    .select(['type', 'at', 'value', 'organisation_id'])
    .where('person_id', '=', personId)
    .where('at', '>=', since)
    .execute();
  return rows.map((r) => ({ type: r.type, at: r.at, value: r.value, organisationId: r.organisation_id }));
}

/** How many person records a household has (merged records included, as a count of rows). */
export async function householdMemberCount(db: Kysely<Database>, householdId: string): Promise<number> {
  const row = await db
    .selectFrom('persons')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('household_id', '=', householdId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export interface DatedEvent {
  personId: string;
  type: string;
  value: number | null;
  organisationId: string;
  /** The day it happened in the UK, YYYY-MM-DD. */ on: string;
}

/** The events of these types for these people (one query for the whole list). */
export async function eventsOfPeople(db: Kysely<Database>, personIds: readonly string[], types: readonly string[]): Promise<DatedEvent[]> {
  if (personIds.length === 0 || types.length === 0) return [];
  const rows = await db
    .selectFrom('person_events')
    .select(['person_id', 'type', 'value', 'organisation_id', sql<string>`(at at time zone 'Europe/London')::date::text`.as('on')])
    .where('person_id', 'in', [...new Set(personIds)])
    .where('type', 'in', [...types])
    .execute();
  return rows.map((r) => ({ personId: r.person_id, type: r.type, value: r.value, organisationId: r.organisation_id, on: r.on }));
}

/**
 * Kysely: every person record (merged ones too) with their date of birth and home, as a table to
 * join: person_id, birth_date, household_id, and the household's small_area_id (where it lives),
 * tenure and composition (all three null without a household). The demo budgets date, age and
 * place each event and child with it; the demo plans choose people by age and home with it.
 */
export const personsWithBirthAndHome = sql<{
  person_id: string;
  birth_date: string | null;
  household_id: string | null;
  small_area_id: string | null;
  tenure: string | null;
  composition: string | null;
}>`(select p.id as person_id, p.birth_date, p.household_id, h.small_area_id, h.tenure, h.composition
  from persons p left join households h on h.id = p.household_id)`;

/** Kysely: the events of these types from the day `since` ('YYYY-MM-DD') on, as a table to join: id, person_id, type, at, organisation_id. */
export function eventsOfTypesSince(
  types: readonly string[],
  since: string,
): RawBuilder<{ id: number; person_id: string; type: string; at: Date; organisation_id: string }> {
  return sql`(select id, person_id, type, at, organisation_id from person_events where at >= ${since}::date and type = any(${types}::text[]))`;
}

/**
 * Kysely: every current need, as a table to join: person_id, code, severity, organisation_id (who
 * recorded it) and recorded_at. The demo seeds choose whom to give care networks, referrals and
 * plans from it, each choice one statement.
 */
export const currentNeedsTable = sql<{
  person_id: string;
  code: string;
  severity: number;
  organisation_id: string;
  recorded_at: string;
}>`(select person_id, code, severity, organisation_id, recorded_at from needs where current)`;

/** SQL to embed in an aggregate: each (person_id, code) of a current need, once. */
export const currentNeedPairs = sql<{ person_id: string; code: string }>`select distinct person_id, code from needs where current`;

/** Kysely: how many current needs the person whose id is in column `ref` has, for an aggregate. */
export function currentNeedCountOf(ref: string): RawBuilder<number> {
  return sql<number>`(select count(*) from needs n where n.person_id = ${sql.ref(ref)} and n.current)`;
}

/** Kysely: whether the person whose id is in column `ref` has a current need (a condition). */
export function hasCurrentNeedOf(ref: string): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from needs n where n.person_id = ${sql.ref(ref)} and n.current)`;
}

/** Kysely: how many events of these types the person whose id is in column `ref` has had, for an aggregate. */
export function eventCountOf(ref: string, types: readonly string[]): RawBuilder<number> {
  return sql<number>`(select count(*) from person_events e where e.person_id = ${sql.ref(ref)} and e.type in (${sql.join([...types])}))`;
}

/** Kysely: how many households the place holds. */
export const householdCount = sql<number>`(select count(*) from households)`;

/** Kysely: how many person records there are (merged ones too), and how many events anyone has had (the administrator's home). */
export const personCount = sql<number>`(select count(*) from persons)`;
export const personEventCount = sql<number>`(select count(*) from person_events)`;

/** When the latest event of anyone's happened (null when none): demo seeds anchor their own dates on it. */
export async function latestEventAt(db: Kysely<Database>): Promise<Date | null> {
  const at = (await sql<{ at: Date | null }>`select max(at) as at from person_events`.execute(db)).rows[0]?.at;
  return at ? new Date(at) : null;
}

/** The UK day (YYYY-MM-DD) of the latest event of anyone's, or null when none. */
export async function latestEventDay(db: Kysely<Database>): Promise<string | null> {
  return (
    (await sql<{ d: string | null }>`select (max(at) at time zone 'Europe/London')::date::text as d from person_events`.execute(db)).rows[0]
      ?.d ?? null
  );
}

/** Everyone with a current need, by id (the demo seeds choose among them). */
export async function peopleWithCurrentNeed(db: Kysely<Database>): Promise<string[]> {
  return (await sql<{ person_id: string }>`select distinct person_id from needs where current order by person_id`.execute(db)).rows.map(
    (r) => r.person_id,
  );
}

/** Each person's first event of this type, by person (the demo seeds date lawful bases from it). */
export async function firstEventOfType(db: Kysely<Database>, type: string): Promise<Array<{ personId: string; at: Date }>> {
  const rows = (
    await sql<{ person_id: string; at: Date }>`
    select distinct on (e.person_id) e.person_id, e.at from person_events e where e.type = ${type} order by e.person_id, e.at`.execute(db)
  ).rows;
  return rows.map((r) => ({ personId: r.person_id, at: r.at }));
}

/**
 * Current carers, and parents of children under 16, as the relationships say (whom the demo
 * makes proxies): the person cared for or the child, the carer or parent, and the person's
 * date of birth, by person then related person.
 */
export async function carersAndParentsOfChildren(
  db: Kysely<Database>,
): Promise<Array<{ personId: string; relatedPersonId: string; type: 'parent' | 'carer'; birthDate: string | null }>> {
  const rows = (
    await sql<{ person_id: string; related_person_id: string; type: 'parent' | 'carer'; birth_date: string | null }>`
      select r.person_id, r.related_person_id, r.type, c.birth_date::text as birth_date
      from relationships r join persons c on c.id = r.person_id
      where r.ended_at is null and (r.type = 'carer' or (r.type = 'parent' and c.birth_date > (current_date - interval '16 years')))
      order by r.person_id, r.related_person_id`.execute(db)
  ).rows;
  return rows.map((r) => ({ personId: r.person_id, relatedPersonId: r.related_person_id, type: r.type, birthDate: r.birth_date }));
}
