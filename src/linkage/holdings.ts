// The person index's answer to "which agencies hold records of this person", asked by the
// person page, the access decision, corrections, rights requests and caseloads. It was written by
// hand in each of them; now the index (which owns record_links and source_records) answers it,
// naming organisations through the network module. Functions run a query; the *Sql and Kysely
// fragments let a caller that must stay at one round trip (the access decision, the person page)
// embed the answer in its own statement.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import { organisationSourceCodeOf, organisationsOfKinds, withOrganisationOfSource, withOrganisationOfSourceSql } from '../network/index.ts';
import { remainingPersonIdOf } from '../people/index.ts';

/** SQL text: whether the person `personExpr` names has a current record under source `sourceExpr` (a boolean). */
export const personHeldUnderSourceSql = (personExpr: string, sourceExpr: string): string => `exists (
       select 1 from record_links l
       join source_records s on s.id = l.source_record_id
       where l.person_id = ${personExpr} and l.superseded_at is null
         and s.source = ${sourceExpr})`;

/** SQL text: the sources holding current records of the person: source, records, first_recorded. */
export const heldSourcesSql = (personExpr: string): string => `
       select s.source, count(*) as records, min(s.received_at) as first_recorded
       from record_links l
       join source_records s on s.id = l.source_record_id
       where l.person_id = ${personExpr} and l.superseded_at is null
       group by s.source`;

/**
 * SQL text: the agencies holding current records of the person, one row each: organisation_id,
 * organisation (its name), kind, source, records, first_recorded (unordered).
 */
export const agenciesHoldingPersonSql = (personExpr: string): string => withOrganisationOfSourceSql(heldSourcesSql(personExpr));

/** Kysely: whether the person (an id, or a column given as sql.ref) has a current record held by the organisation (likewise). */
export function personHeldByOrganisation(
  person: string | RawBuilder<unknown>,
  organisation: string | RawBuilder<unknown>,
): RawBuilder<boolean> {
  const source = organisationSourceCodeOf(typeof organisation === 'string' ? sql`${organisation}` : organisation);
  return sql<boolean>`exists (select 1 from record_links l join source_records s on s.id = l.source_record_id
    where l.person_id = ${person} and l.superseded_at is null and s.source = ${source})`;
}

/**
 * Kysely: a row for each current record of the person (an expression) under `source` (an SQL
 * expression), as a select to put in a union or probe with LIMIT 1 (person search's reach).
 */
export function currentRecordsUnderSource(person: RawBuilder<unknown>, source: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`select 1 from record_links l join source_records s on s.id = l.source_record_id
      where l.person_id = ${person} and l.superseded_at is null
        and s.source = ${source}`;
}

/**
 * Kysely: the records received under each source, as a table to join (feed health): source,
 * records, last_received (when the latest arrived) and last_day (how many arrived after `since`).
 */
export function recordsReceivedBySource(since: Date): RawBuilder<unknown> {
  return sql`(select source, count(*)::int as records, max(received_at) as last_received, count(*) filter (where received_at > ${since})::int as last_day
    from source_records group by source)`;
}

/** Kysely: how many source records have been received, and how many under each source as a table (source, records). */
export const sourceRecordCount = sql<number>`(select count(*) from source_records)`;
export const recordCountsBySource = sql`(select source, count(*) as records from source_records group by source)`;

/** Kysely: the people held under at least `sources` sources, as a table to join: person_id, first_seen (their first record's arrival). */
export function peopleKnownToSources(sources: number): RawBuilder<{ person_id: string; first_seen: Date }> {
  return sql<{ person_id: string; first_seen: Date }>`(select l.person_id, min(s.received_at) as first_seen
    from record_links l join source_records s on s.id = l.source_record_id
    where l.superseded_at is null group by l.person_id having count(distinct s.source) >= ${sources})`;
}

/** Kysely: the person the record received as `sourceId` under `source` is currently linked to, as a table of at most one row (person_id). */
export function currentLinkOfRecord(source: string, sourceId: string): RawBuilder<{ person_id: string }> {
  return sql<{ person_id: string }>`(select l.person_id from source_records s
    join record_links l on l.source_record_id = s.id and l.superseded_at is null
    where s.source = ${source} and s.source_id = ${sourceId} limit 1)`;
}

/**
 * The person each of these records of `source` is currently linked to, by record id, following a
 * merge to the person that remains (a record not linked is absent). One statement for them all.
 */
export async function currentPeopleOfRecords(db: Kysely<Database>, source: string, sourceIds: string[]): Promise<Map<string, string>> {
  if (sourceIds.length === 0) return new Map();
  const rows = await sql<{
    source_id: string;
    person_id: string | null;
  }>`select s.source_id, ${remainingPersonIdOf('l.person_id')} as person_id
    from source_records s
    join record_links l on l.source_record_id = s.id and l.superseded_at is null
    where s.source = ${source} and s.source_id = any(${sourceIds}::text[])`.execute(db);
  return new Map(rows.rows.flatMap((r) => (r.person_id ? [[r.source_id, r.person_id] as const] : [])));
}

/**
 * Kysely: the people with a current record under `source` (an SQL expression), or under that
 * source with this source id, as a subquery of person_id for `x in (...)`.
 */
export function peopleWithRecordUnder(source: RawBuilder<string>, sourceId?: string): RawBuilder<unknown> {
  return sql`(select l.person_id from source_records s join record_links l on l.source_record_id = s.id and l.superseded_at is null
    where s.source = ${source} ${sourceId === undefined ? sql`` : sql`and s.source_id = ${sourceId}`})`;
}

/** Kysely: the people held under at least `min` sources, as a table to join: person_id, sources (how many hold them). */
export function sourceCountsOfPeople(min: number): RawBuilder<{ person_id: string; sources: number }> {
  return sql<{ person_id: string; sources: number }>`(select l.person_id, count(distinct s.source) as sources
    from record_links l join source_records s on s.id = l.source_record_id
    where l.superseded_at is null group by l.person_id having count(distinct s.source) >= ${min})`;
}

/**
 * Kysely: people held by organisations of these kinds, as a table to join: person_id, kind; a row
 * for each current record and organisation its source names (insight's service groups).
 */
export function peopleHeldByOrganisationKinds(kinds: readonly string[]): RawBuilder<{ person_id: string; kind: string }> {
  return sql<{ person_id: string; kind: string }>`(select l.person_id, o.kind from record_links l
    join source_records s on s.id = l.source_record_id
    join ${organisationsOfKinds(kinds)} o on o.source = s.source
    where l.superseded_at is null)`;
}

/** Kysely: how many people the organisation holds current records of (a count). */
export function peopleHeldByOrganisationCount(organisationId: string): RawBuilder<number> {
  return sql<number>`(select count(distinct l.person_id) from record_links l join source_records s on s.id = l.source_record_id
    where s.source = ${organisationSourceCodeOf(organisationId)} and l.superseded_at is null)`;
}

export interface AgencyHolding {
  organisationId: string;
  organisation: string;
  kind: string;
  records: number;
  firstRecorded: Date;
}

/** Kysely: the same rows as heldSourcesSql, for one person id. */
function heldSources(personId: string): RawBuilder<unknown> {
  return sql`select s.source, count(*) as records, min(s.received_at) as first_recorded
    from record_links l join source_records s on s.id = l.source_record_id
    where l.person_id = ${personId} and l.superseded_at is null
    group by s.source`;
}

/** Which agencies hold records of the person, the earliest first: transparency for the person, context for practitioners. */
export async function agenciesHoldingPerson(db: Kysely<Database>, personId: string): Promise<AgencyHolding[]> {
  const result = await sql<{ organisation_id: string; organisation: string; kind: string; records: number; first_recorded: Date }>`
    select a.organisation_id, a.organisation, a.kind, a.records, a.first_recorded from (${withOrganisationOfSource(heldSources(personId))}) a
    order by a.first_recorded`.execute(db);
  return result.rows.map((r) => ({
    organisationId: r.organisation_id,
    organisation: r.organisation,
    kind: r.kind,
    records: r.records,
    firstRecorded: r.first_recorded,
  }));
}

/** Whether the organisation holds a current record of the person. */
export async function organisationHoldsPerson(db: Kysely<Database>, organisationId: string, personId: string): Promise<boolean> {
  const row = await sql<{ found: boolean }>`select ${personHeldByOrganisation(personId, organisationId)} as found`.execute(db);
  return Boolean(row.rows[0]?.found);
}

export interface HeldRecord {
  personId: string;
  sourceRecordId: number;
  organisationId: string;
  organisation: string;
  kind: string;
  source: string;
  sourceId: string;
  receivedAt: Date;
  fields: Record<string, string>;
}

/**
 * Each agency's own current record of the person, exactly as that agency holds it, in the order
 * they arrived (or only the records of one organisation, in the order they were stored).
 */
export async function recordsHeldOfPerson(
  db: Kysely<Database>,
  personId: string,
  options: { organisationId?: string } = {},
): Promise<HeldRecord[]> {
  return (await recordsHeldOfPeople(db, [personId], options)).get(personId) ?? [];
}

/** recordsHeldOfPerson for several people in one query (a list's worth), by person. */
export async function recordsHeldOfPeople(
  db: Kysely<Database>,
  personIds: Iterable<string>,
  options: { organisationId?: string } = {},
): Promise<Map<string, HeldRecord[]>> {
  const people = [...new Set(personIds)];
  const byPerson = new Map<string, HeldRecord[]>(people.map((id) => [id, []]));
  if (people.length === 0) return byPerson;
  const own = options.organisationId;
  const records = sql`select l.person_id, s.id as source_record_id, s.source, s.source_id, s.received_at, s.fields
    from record_links l join source_records s on s.id = l.source_record_id
    where l.person_id in (${sql.join(people)}) and l.superseded_at is null`;
  const result = await sql<{
    person_id: string;
    source_record_id: string | number;
    organisation_id: string;
    organisation: string;
    kind: string;
    source: string;
    source_id: string;
    received_at: Date;
    fields: Record<string, string>;
  }>`
    select h.person_id, h.source_record_id, h.organisation_id, h.organisation, h.kind, h.source, h.source_id, h.received_at, h.fields
    from (${withOrganisationOfSource(records)}) h
    ${own === undefined ? sql`order by h.received_at` : sql`where h.organisation_id = ${own} order by h.source_record_id`}`.execute(db);
  for (const r of result.rows) {
    byPerson.get(r.person_id)?.push({
      personId: r.person_id,
      sourceRecordId: Number(r.source_record_id),
      organisationId: r.organisation_id,
      organisation: r.organisation,
      kind: r.kind,
      source: r.source,
      sourceId: r.source_id,
      receivedAt: r.received_at,
      fields: r.fields,
    });
  }
  return byPerson;
}
