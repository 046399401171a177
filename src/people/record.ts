// Reading a person's shared record: their details, current needs and events, an organisation's
// caseload, and an agency's record of them in plain words. Callers must hold an allow decision
// from consent's access decision for the person first; these functions only fetch. The person
// page itself, which puts these beside other modules' reads, is web's (web/person-page.ts).
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { organisationNameOf, organisationNameSql } from '../network/index.ts';
import type { Database } from '../schema.ts';
import { writtenDay } from '../platform/dates.ts';
import { translateText, translatorFor, type Language } from '../platform/i18n/index.ts';

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
      'p.id',
      'p.given_name',
      'p.family_name',
      'p.birth_date',
      'p.sex',
      'p.nhs_number',
      'p.phone',
      'p.email',
      'h.address_line',
      'h.postcode',
      'h.composition',
      (eb) =>
        eb
          .selectFrom('persons as m')
          .select((e) => e.fn.countAll<number>().as('n'))
          .whereRef('m.household_id', '=', 'p.household_id')
          .as('household_size'),
    ])
    .where('p.id', '=', personId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    givenName: row.given_name,
    familyName: row.family_name,
    birthDate: row.birth_date,
    sex: row.sex,
    nhsNumber: row.nhs_number,
    phone: row.phone,
    email: row.email,
    addressLine: row.address_line,
    postcode: row.postcode,
    householdSize: Number(row.household_size ?? 1),
    householdComposition: row.composition,
  };
}

export interface TimelineItem {
  at: Date;
  type: string;
  organisationId: string;
  organisation: string;
  value: number | null;
}

export async function personTimeline(
  db: Kysely<Database>,
  personId: string,
  visibleOrganisationIds: string[] | 'all',
  limit = 30,
): Promise<TimelineItem[]> {
  if (visibleOrganisationIds !== 'all' && visibleOrganisationIds.length === 0) return [];
  let query = db
    .selectFrom('person_events as e')
    // organisation_id is a required reference, so every event has its organisation's name.
    .select([
      'e.at',
      'e.type',
      'e.organisation_id as organisationId',
      organisationNameOf('e.organisation_id').$castTo<string>().as('organisation'),
      'e.value',
    ])
    .where('e.person_id', '=', personId);
  if (visibleOrganisationIds !== 'all') query = query.where('e.organisation_id', 'in', visibleOrganisationIds);
  return query.orderBy('e.at', 'desc').limit(limit).execute();
}

export interface NeedItem {
  code: string;
  organisationId: string;
  organisation: string;
  recordedAt: string;
  severity: number;
}

export async function currentNeeds(db: Kysely<Database>, personId: string, visibleOrganisationIds: string[] | 'all'): Promise<NeedItem[]> {
  if (visibleOrganisationIds !== 'all' && visibleOrganisationIds.length === 0) return [];
  let query = db
    .selectFrom('needs as n')
    .select([
      'n.code',
      'n.organisation_id as organisationId',
      organisationNameOf('n.organisation_id').$castTo<string>().as('organisation'),
      'n.recorded_at as recordedAt',
      'n.severity',
    ])
    .where('n.person_id', '=', personId)
    .where('n.current', '=', true);
  if (visibleOrganisationIds !== 'all') query = query.where('n.organisation_id', 'in', visibleOrganisationIds);
  return query.orderBy('n.recorded_at', 'desc').execute();
}

// The person page's own parts, as SQL text for its one statement (web/person-page.ts puts them
// beside linkage's agencies, records' "about me" and budgets' spend): the person with their
// home, their current needs and their latest events, each as JSON, for a person parameter
// (`personExpr`) and a timeline length (`limitExpr`). They name the organisations through
// network's fragment, so they are built when called, not as this module loads.

/** The person with their home and household size, as one JSON object (null when there is no such person). */
export const personCardJsonSql = (personExpr: string): string => `
    (select json_build_object('id', p.id, 'given_name', p.given_name, 'family_name', p.family_name, 'birth_date', p.birth_date, 'sex', p.sex,
              'nhs_number', p.nhs_number, 'phone', p.phone, 'email', p.email, 'household_id', p.household_id,
              'address_line', h.address_line, 'postcode', h.postcode, 'composition', h.composition,
              'household_size', (select count(*) from persons m where m.household_id = p.household_id))
       from persons p left join households h on h.id = p.household_id where p.id = ${personExpr})`;

/** The person's current needs, newest first, each with its organisation's name, as a JSON array (null when none). */
export const currentNeedsJsonSql = (personExpr: string): string => `
    (select json_agg(n order by n.recorded_at desc) from (
       select n.code, n.organisation_id, ${organisationNameSql('n.organisation_id')} as organisation, n.recorded_at, n.severity
       -- organisation_id is a required reference, so looking the name up per row drops none.
       from needs n where n.person_id = ${personExpr} and n.current) n)`;

/** The person's latest `limitExpr` events, newest first, each with its organisation's name, as a JSON array (null when none). */
export const personTimelineJsonSql = (personExpr: string, limitExpr: string): string => `
    (select json_agg(json_build_object('at', e.at, 'type', e.type, 'organisation_id', e.organisation_id,
              'organisation', ${organisationNameSql('e.organisation_id')}, 'value', e.value) order by e.at desc)
       -- organisation_id is a required reference, so looking the name up per event drops none.
       from (select e.at, e.type, e.organisation_id, e.value from person_events e
             where e.person_id = ${personExpr} order by e.at desc limit ${limitExpr}) e)`;

export interface CaseloadRow {
  personId: string;
  name: string;
  birthDate: string | null;
  needs: string[];
  lastContact: Date | null;
}

export interface CaseloadPage {
  rows: CaseloadRow[];
  knownPeople: number;
  withCurrentNeeds: number;
  /** People matching the search (everyone with current needs when there is none). */
  matching: number;
  page: number;
  perPage: number;
  pages: number;
}

/** Words of a name search, each matched anywhere in the person's full name, LIKE wildcards escaped. */
function nameWords(query: string): string[] {
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 5)
    .map((w) => `%${w.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
}

/**
 * People the organisation knows who have current needs it recorded, most recent contact first, a
 * page at a time, optionally only those whose name holds every word of `query`. The caller
 * decides access to the people on the page before showing their names. `knownPeople` is how many
 * people the organisation knows, as the person index counts them (linkage's
 * peopleHeldByOrganisationCount), carried in the same statement.
 */
export async function organisationCaseload(
  db: Kysely<Database>,
  organisationId: string,
  options: { page?: number; perPage?: number; query?: string; knownPeople: RawBuilder<number> },
): Promise<CaseloadPage> {
  const perPage = Math.max(1, Math.min(100, options.perPage ?? 25));
  const words = nameWords(options.query ?? '');
  const nameMatches =
    words.length === 0
      ? sql`true`
      : sql.join(
          words.map((w) => sql`lower(p.given_name || ' ' || p.family_name) like ${w}`),
          sql` and `,
        );
  const counts = (
    await sql<{ known: number; with_needs: number; matching: number }>`
    select
      ${options.knownPeople}::int as known,
      (select count(distinct person_id) from needs where organisation_id = ${organisationId} and current)::int as with_needs,
      (select count(*) from persons p where ${nameMatches}
         and exists (select 1 from needs n where n.person_id = p.id and n.organisation_id = ${organisationId} and n.current))::int as matching`.execute(
      db,
    )
  ).rows[0]!;
  const matching = Number(counts.matching);
  const pages = Math.max(1, Math.ceil(matching / perPage));
  const page = Math.min(Math.max(1, Math.trunc(options.page ?? 1) || 1), pages);
  const result = await sql<{
    person_id: string;
    given_name: string;
    family_name: string;
    birth_date: string | null;
    needs: string[];
    last_contact: Date | null;
  }>`
    select p.id as person_id, p.given_name, p.family_name, p.birth_date,
           array_agg(distinct n.code order by n.code) as needs,
           (select max(e.at) from person_events e where e.person_id = p.id and e.organisation_id = ${organisationId}) as last_contact
    from needs n
    join persons p on p.id = n.person_id
    where n.organisation_id = ${organisationId} and n.current and ${nameMatches}
    group by p.id
    order by last_contact desc nulls last, p.id
    limit ${perPage} offset ${(page - 1) * perPage}`.execute(db);
  return {
    knownPeople: Number(counts.known),
    withCurrentNeeds: Number(counts.with_needs),
    matching,
    page,
    perPage,
    pages,
    rows: result.rows.map((r) => ({
      personId: r.person_id,
      name: `${r.given_name} ${r.family_name}`,
      birthDate: r.birth_date,
      needs: r.needs,
      lastContact: r.last_contact,
    })),
  };
}

/** Plain labels for the fields agencies send, in the order a person reads them. */
const heldFieldLabels: Record<string, string> = {
  given_name: 'First name',
  middle_name: 'Middle names',
  family_name: 'Last name',
  birth_date: 'Date of birth',
  sex: 'Sex',
  nhs_number: 'NHS number',
  address: 'Address',
  address_line: 'Address',
  postcode: 'Postcode',
  phone: 'Phone',
  email: 'Email',
};
/** The fields an agency's record of a person usually holds, in reading order. */
export const heldFieldOrder = Object.keys(heldFieldLabels).filter((f) => f !== 'address_line' && f !== 'middle_name');

/** A field's plain label: "Date of birth", not birth_date. */
export function heldFieldLabel(field: string): string {
  return heldFieldLabels[field] ?? (field.charAt(0).toUpperCase() + field.slice(1)).replace(/_/g, ' ');
}

/**
 * A value as a person reads it: dates written out ("7 November 1999", in Welsh "7 Tachwedd 1999"),
 * a recorded sex in the reader's language, otherwise as the agency holds it.
 */
export function heldFieldValue(field: string, value: string, language: Language = 'en'): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value.trim())) return writtenDay(value, language);
  if (field !== 'sex') return value;
  const capitalised = value.charAt(0).toUpperCase() + value.slice(1);
  return translatorFor(language)(`sexes.${value.trim().toLowerCase()}`, { defaultValue: capitalised });
}

/**
 * An agency's record as a person reads it: plain labels rather than field names, dates written
 * out, known fields first; the values themselves exactly as the agency holds them. Empty fields
 * are left out.
 */
export function heldFieldRows(
  fields: Record<string, string>,
  language: Language = 'en',
): Array<{ field: string; label: string; value: string }> {
  const order = Object.keys(heldFieldLabels);
  const rank = (field: string) => {
    const i = order.indexOf(field);
    return i < 0 ? order.length : i;
  };
  return Object.entries(fields)
    .filter(([, value]) => typeof value === 'string' && value.trim() !== '')
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([field, value]) => ({
      field,
      label: translateText(language, heldFieldLabel(field)),
      value: heldFieldValue(field, value, language),
    }));
}
