// The person page's reads: the person, the agencies that hold them, their current needs, their
// latest events, their "about me" and their spend, in one round trip. It brings people, linkage,
// records and budgets together, so it sits in web, above them; each part is its owner's SQL
// fragment, and this file names no table. Callers must hold an allow decision first.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { preparedQuery, type BesideColumn } from '../platform/db.ts';
import { costOrganisations, personCostRowsSql, summarisePersonCost, type PersonCost, type PersonCostRow } from '../budgets/index.ts';
import { agenciesHoldingPersonSql, type AgencyHolding } from '../linkage/index.ts';
import {
  currentNeedsJsonSql,
  personCardJsonSql,
  personTimelineJsonSql,
  type NeedItem,
  type PersonSummary,
  type TimelineItem,
} from '../people/index.ts';
import { latestAboutMeSql } from '../records/index.ts';

export interface PersonPage {
  person: PersonSummary;
  householdId: string | null;
  agencies: AgencyHolding[];
  needs: NeedItem[];
  timeline: TimelineItem[];
  aboutMe: { what_matters: string; how_to_support: string; created_at: Date } | undefined;
  /** The person's spend (without the household total), when it was asked for. */
  cost: Omit<PersonCost, 'household'> | null;
  /** The value of the column the caller asked the statement to carry (`beside`), as the database gave it. */
  beside: unknown;
}

// Everything the shared person page shows, fetched in one round trip as a prepared statement:
// the same rows people's personSummary, currentNeeds(all) and personTimeline(all), linkage's
// agenciesHoldingPerson and records' latest "about me" return, and the person's spend rows as
// budgets' personCost reads them, each the owning module's fragment.
// $1 person, $2 timeline length, $3 whether "about me" may be read, $4 whether spend may be read,
// $5 the agencies whose spend counts (null: every agency's).
// Built on first use, as the fragments of other modules (people, linkage, network, records,
// budgets) may still be loading when this module does.
let personPageSql: string | undefined;
const PERSON_PAGE_SQL = (): string =>
  (personPageSql ??= `
  select
    ${personCardJsonSql('$1')} as person,
    (select json_agg(a order by a.first_recorded) from (${agenciesHoldingPersonSql('$1')}) a) as agencies,
    ${currentNeedsJsonSql('$1')} as needs,
    ${personTimelineJsonSql('$1', '$2')} as timeline,
    case when $3::boolean then ${latestAboutMeSql('$1')} end as about_me,
    case when $4::boolean then (select coalesce(json_agg(c), '[]') from (${personCostRowsSql('$1', '$5')}) c) end as cost`);

// The statement with another module's column beside it, by the column's name.
const personPageWith = new Map<string, string>();
const personPageSqlWith = (beside: BesideColumn): string => {
  let text = personPageWith.get(beside.name);
  if (text === undefined) {
    text = `${PERSON_PAGE_SQL()}, ${beside.sql(6)} as beside`;
    personPageWith.set(beside.name, text);
  }
  return text;
};

interface PersonPageRow {
  person: {
    id: string;
    given_name: string;
    family_name: string;
    birth_date: string | null;
    sex: string | null;
    nhs_number: string | null;
    phone: string | null;
    email: string | null;
    household_id: string | null;
    address_line: string | null;
    postcode: string | null;
    composition: string | null;
    household_size: number;
  } | null;
  agencies: Array<{ organisation_id: string; organisation: string; kind: string; records: number; first_recorded: string }> | null;
  needs: Array<{ code: string; organisation_id: string; organisation: string; recorded_at: string; severity: number }> | null;
  timeline: Array<{ at: string; type: string; organisation_id: string; organisation: string; value: number | null }> | null;
  about_me: { what_matters: string; how_to_support: string; created_at: string } | null;
  cost: PersonCostRow[] | null;
  beside?: unknown;
}

/**
 * The person page's reads in one round trip. Like the functions it stands for, it only fetches:
 * callers must hold an allow decision first, and filter what they show by it. `beside` is another
 * module's read the caller holds the same decision for (the practitioner's panels), carried in
 * the same statement so it costs no round trip of its own.
 */
export async function personPage(
  db: Kysely<Database>,
  personId: string,
  options: { timelineLimit: number; aboutMe: boolean; cost: ((row: PersonCostRow) => boolean) | null; beside?: BesideColumn | undefined },
): Promise<PersonPage | undefined> {
  // Every agency's spend rows are read and the caller's rule picks those it may show: what a
  // payment reveals depends on who paid (a probation payment is criminal justice information).
  const values = [personId, options.timelineLimit, options.aboutMe, options.cost !== null, costOrganisations('all')];
  const { beside } = options;
  const rows = beside
    ? await preparedQuery<PersonPageRow>(db, `joinery_person_page_with_${beside.name}`, personPageSqlWith(beside), [
        ...values,
        ...beside.values,
      ])
    : await preparedQuery<PersonPageRow>(db, 'joinery_person_page', PERSON_PAGE_SQL(), values);
  const row = rows[0];
  const p = row?.person;
  if (!row || !p) return undefined;
  return {
    person: {
      id: p.id,
      givenName: p.given_name,
      familyName: p.family_name,
      birthDate: p.birth_date,
      sex: p.sex,
      nhsNumber: p.nhs_number,
      phone: p.phone,
      email: p.email,
      addressLine: p.address_line,
      postcode: p.postcode,
      householdSize: Number(p.household_size ?? 1),
      householdComposition: p.composition,
    },
    householdId: p.household_id,
    agencies: (row.agencies ?? []).map((a) => ({
      organisationId: a.organisation_id,
      organisation: a.organisation,
      kind: a.kind,
      records: Number(a.records),
      firstRecorded: new Date(a.first_recorded),
    })),
    needs: (row.needs ?? []).map((n) => ({
      code: n.code,
      organisationId: n.organisation_id,
      organisation: n.organisation,
      recordedAt: n.recorded_at,
      severity: n.severity,
    })),
    timeline: (row.timeline ?? []).map((e) => ({
      at: new Date(e.at),
      type: e.type,
      organisationId: e.organisation_id,
      organisation: e.organisation,
      value: e.value,
    })),
    aboutMe: row.about_me
      ? {
          what_matters: row.about_me.what_matters,
          how_to_support: row.about_me.how_to_support,
          created_at: new Date(row.about_me.created_at),
        }
      : undefined,
    cost: row.cost && options.cost ? summarisePersonCost(row.cost.filter(options.cost)) : null,
    beside: row.beside ?? null,
  };
}
