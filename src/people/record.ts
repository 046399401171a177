// Reading a person's shared record. Callers must hold an allow decision from platform/access
// for the person first; these functions only fetch.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';

export interface PersonSummary {
  id: string;
  givenName: string;
  familyName: string;
  birthDate: string | null;
  sex: string | null;
  nhsNumber: string | null;
  phone: string | null;
  email: string | null;
  addressLine: string | null;
  postcode: string | null;
  householdSize: number;
  householdComposition: string | null;
}

export async function personSummary(db: Kysely<Database>, personId: string): Promise<PersonSummary | undefined> {
  const row = await db
    .selectFrom('persons as p')
    .leftJoin('households as h', 'h.id', 'p.household_id')
    .select([
      'p.id', 'p.given_name', 'p.family_name', 'p.birth_date', 'p.sex', 'p.nhs_number', 'p.phone', 'p.email',
      'h.address_line', 'h.postcode', 'h.composition',
      (eb) => eb.selectFrom('persons as m').select((e) => e.fn.countAll<number>().as('n')).whereRef('m.household_id', '=', 'p.household_id').as('household_size'),
    ])
    .where('p.id', '=', personId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id, givenName: row.given_name, familyName: row.family_name, birthDate: row.birth_date, sex: row.sex,
    nhsNumber: row.nhs_number, phone: row.phone, email: row.email, addressLine: row.address_line, postcode: row.postcode,
    householdSize: Number(row.household_size ?? 1), householdComposition: row.composition,
  };
}

export interface AgencyHolding { organisation: string; kind: string; records: number; firstRecorded: Date }

/** Which agencies hold records of the person: transparency for the person, context for practitioners. */
export async function agenciesHolding(db: Kysely<Database>, personId: string): Promise<AgencyHolding[]> {
  const result = await sql<{ organisation: string; kind: string; records: number; first_recorded: Date }>`
    select o.name as organisation, o.kind, count(*) as records, min(s.received_at) as first_recorded
    from record_links l
    join source_records s on s.id = l.source_record_id
    join organisations o on o.source_code = s.source
    where l.person_id = ${personId} and l.superseded_at is null
    group by o.name, o.kind
    order by min(s.received_at)`.execute(db);
  return result.rows.map((r) => ({ organisation: r.organisation, kind: r.kind, records: r.records, firstRecorded: r.first_recorded }));
}

export interface TimelineItem { at: Date; type: string; organisation: string; value: number | null }

export async function personTimeline(db: Kysely<Database>, personId: string, visibleOrganisationIds: string[] | 'all', limit = 30): Promise<TimelineItem[]> {
  if (visibleOrganisationIds !== 'all' && visibleOrganisationIds.length === 0) return [];
  let query = db
    .selectFrom('person_events as e')
    .innerJoin('organisations as o', 'o.id', 'e.organisation_id')
    .select(['e.at', 'e.type', 'o.name as organisation', 'e.value'])
    .where('e.person_id', '=', personId);
  if (visibleOrganisationIds !== 'all') query = query.where('e.organisation_id', 'in', visibleOrganisationIds);
  return query.orderBy('e.at', 'desc').limit(limit).execute();
}

export interface NeedItem { code: string; organisation: string; recordedAt: string; severity: number }

export async function currentNeeds(db: Kysely<Database>, personId: string, visibleOrganisationIds: string[] | 'all'): Promise<NeedItem[]> {
  if (visibleOrganisationIds !== 'all' && visibleOrganisationIds.length === 0) return [];
  let query = db
    .selectFrom('needs as n')
    .innerJoin('organisations as o', 'o.id', 'n.organisation_id')
    .select(['n.code', 'o.name as organisation', 'n.recorded_at as recordedAt', 'n.severity'])
    .where('n.person_id', '=', personId)
    .where('n.current', '=', true);
  if (visibleOrganisationIds !== 'all') query = query.where('n.organisation_id', 'in', visibleOrganisationIds);
  return query.orderBy('n.recorded_at', 'desc').execute();
}

export interface LookEntry { at: Date; who: string; action: string; purpose: string | null; decision: string; reason: string }

/** Who looked at the person's record and why, in words the person understands. */
export async function whoLooked(db: Kysely<Database>, personId: string, limit = 20): Promise<LookEntry[]> {
  const result = await sql<{ at: Date; display_name: string | null; role: string | null; organisation: string | null; action: string; purpose: string | null; decision: string; reason: string }>`
    select a.at, u.display_name, a.actor_role as role, o.name as organisation, a.action, a.purpose, a.decision, a.reason
    from audit_events a
    left join users u on u.id = a.actor_user_id
    left join organisations o on o.id = a.actor_organisation_id
    where a.person_id = ${personId} and (u.person_id is distinct from ${personId})
    order by a.seq desc
    limit ${limit}`.execute(db);
  return result.rows.map((r) => ({
    at: r.at,
    who: [r.display_name ?? 'Someone', r.role ? `(${r.role})` : '', r.organisation ? `at ${r.organisation}` : ''].filter(Boolean).join(' '),
    action: r.action,
    purpose: r.purpose,
    decision: r.decision,
    reason: r.reason,
  }));
}

export interface CaseloadRow { personId: string; name: string; birthDate: string | null; needs: string[]; lastContact: Date | null }

/** People the organisation knows who have current needs it recorded, most recent contact first. */
export async function organisationCaseload(db: Kysely<Database>, organisationId: string, limit = 25): Promise<{ rows: CaseloadRow[]; knownPeople: number; withCurrentNeeds: number }> {
  const known = await sql<{ n: number }>`
    select count(distinct l.person_id) as n
    from record_links l join source_records s on s.id = l.source_record_id
    join organisations o on o.source_code = s.source
    where o.id = ${organisationId} and l.superseded_at is null`.execute(db);
  const result = await sql<{ person_id: string; given_name: string; family_name: string; birth_date: string | null; needs: string[]; last_contact: Date | null }>`
    select p.id as person_id, p.given_name, p.family_name, p.birth_date,
           array_agg(distinct n.code order by n.code) as needs,
           (select max(e.at) from person_events e where e.person_id = p.id and e.organisation_id = ${organisationId}) as last_contact
    from needs n
    join persons p on p.id = n.person_id
    where n.organisation_id = ${organisationId} and n.current
    group by p.id
    order by last_contact desc nulls last, p.id
    limit ${limit}`.execute(db);
  const withNeeds = await sql<{ n: number }>`
    select count(distinct person_id) as n from needs where organisation_id = ${organisationId} and current`.execute(db);
  return {
    knownPeople: Number(known.rows[0]?.n ?? 0),
    withCurrentNeeds: Number(withNeeds.rows[0]?.n ?? 0),
    rows: result.rows.map((r) => ({ personId: r.person_id, name: `${r.given_name} ${r.family_name}`, birthDate: r.birth_date, needs: r.needs, lastContact: r.last_contact })),
  };
}
