// Aggregate figures about the place. Only counts leave here, through disclosure control: the
// localities add up to the place, so each column is protected with its total.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { isSmall, suppressTable } from '../platform/disclosure.ts';
import { residents } from './residents.ts';
import { currentNeedCountOf, eventCountOf, hasCurrentNeedOf, householdCount } from '../people/index.ts';
import { organisationCount } from '../network/index.ts';

/** The events counted as a crisis in the deprivation gradient. */
const CRISIS_EVENTS = ['ae_attendance', 'hospital_admission', 'homeless_presentation', 'mental_health_crisis', 'safeguarding_concern'];

export interface PlaceSummary {
  name: string;
  /** Residents, as residents.ts defines them. */
  people: number;
  households: number;
  localities: number;
  smallAreas: number;
  organisations: number;
}

export async function placeSummary(db: Kysely<Database>): Promise<PlaceSummary | undefined> {
  const place = await db.selectFrom('places').select('name').executeTakeFirst();
  if (!place) return undefined;
  const result = await sql<Omit<PlaceSummary, 'name'>>`
    select (select count(*) from ${residents} r) as people,
           ${householdCount} as households,
           (select count(*) from localities) as localities,
           (select count(*) from small_areas) as "smallAreas",
           ${organisationCount} as organisations`.execute(db);
  return { name: place.name, ...result.rows[0]! };
}

export interface LocalityRow {
  locality: string;
  people: number | null;
  households: number | null;
  peopleWithNeeds: number | null;
  mostDeprivedShare: number | null;
}

export async function populationByLocality(db: Kysely<Database>): Promise<LocalityRow[]> {
  const result = await sql<{
    locality: string;
    people: number;
    households: number;
    people_with_needs: number;
    most_deprived_people: number;
  }>`
    select l.name as locality,
           count(r.person_id) as people,
           count(distinct r.household_id) as households,
           count(r.person_id) filter (where ${hasCurrentNeedOf('r.person_id')}) as people_with_needs,
           count(r.person_id) filter (where a.deprivation_decile <= 2) as most_deprived_people
    from localities l
    join small_areas a on a.locality_id = l.id
    join ${residents} r on r.small_area_id = a.id
    group by l.name
    order by l.name`.execute(db);
  // Each column adds up to a figure shown elsewhere (residents, households, people with needs,
  // people in the most deprived areas), so each is protected as a table with its total. A share
  // gives its count away, so it shows only when both its counts do.
  const column = (pick: (r: (typeof result.rows)[number]) => number) => suppressTable(result.rows.map((r) => Number(pick(r)))).cells;
  const [people, households, withNeeds, mostDeprived] = [
    column((r) => r.people),
    column((r) => r.households),
    column((r) => r.people_with_needs),
    column((r) => r.most_deprived_people),
  ];
  return result.rows.map((r, i) => {
    const [n, deprived] = [people[i]!, mostDeprived[i]!];
    return {
      locality: r.locality,
      people: n,
      households: households[i]!,
      peopleWithNeeds: withNeeds[i]!,
      mostDeprivedShare: n === null || deprived === null ? null : n > 0 ? Math.round((deprived / n) * 1000) / 10 : 0,
    };
  });
}

export interface DecileRow {
  decile: number;
  people: number | null;
  needsPer1000: number | null;
  crisisEventsPer1000: number | null;
}

/** Current needs and crisis events per 1,000 residents by deprivation decile: the gradient. */
export async function needsByDeprivation(db: Kysely<Database>): Promise<DecileRow[]> {
  const result = await sql<{ decile: number; people: number; needs: number; crisis: number }>`
    with residents as (
      select r.person_id as id, a.deprivation_decile as decile
      from ${residents} r join small_areas a on a.id = r.small_area_id
    )
    select r.decile,
           count(*) as people,
           coalesce(sum(${currentNeedCountOf('r.id')}), 0) as needs,
           coalesce(sum(${eventCountOf('r.id', CRISIS_EVENTS)}), 0) as crisis
    from residents r
    group by r.decile
    order by r.decile`.execute(db);
  // Deciles add up to the residents; a rate gives its count away beside a shown population, so a
  // rate shows only when its decile's population does and its own count is not 1 to 4.
  const people = suppressTable(result.rows.map((r) => Number(r.people))).cells;
  const rate = (n: number, i: number) => {
    const residents = people[i]!;
    return residents === null || residents === 0 || isSmall(Number(n)) ? null : Math.round((Number(n) / residents) * 10000) / 10;
  };
  return result.rows.map((r, i) => ({
    decile: r.decile,
    people: people[i]!,
    needsPer1000: rate(r.needs, i),
    crisisEventsPer1000: rate(r.crisis, i),
  }));
}
