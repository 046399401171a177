// Aggregate figures about the place. Only counts leave here, with small numbers suppressed.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import { suppressSmall } from '../web/charts.ts';

export interface PlaceSummary {
  name: string;
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
    select (select count(*) from persons) as people,
           (select count(*) from households) as households,
           (select count(*) from localities) as localities,
           (select count(*) from small_areas) as "smallAreas",
           (select count(*) from organisations) as organisations`.execute(db);
  return { name: place.name, ...result.rows[0]! };
}

export interface LocalityRow { locality: string; people: number | null; households: number | null; peopleWithNeeds: number | null; mostDeprivedShare: number }

export async function populationByLocality(db: Kysely<Database>): Promise<LocalityRow[]> {
  const result = await sql<{ locality: string; people: number; households: number; people_with_needs: number; most_deprived_people: number }>`
    select l.name as locality,
           count(p.id) as people,
           count(distinct h.id) as households,
           count(p.id) filter (where exists (select 1 from needs n where n.person_id = p.id and n.current)) as people_with_needs,
           count(p.id) filter (where a.deprivation_decile <= 2) as most_deprived_people
    from localities l
    join small_areas a on a.locality_id = l.id
    join households h on h.small_area_id = a.id
    join persons p on p.household_id = h.id
    group by l.name
    order by l.name`.execute(db);
  return result.rows.map((r) => ({
    locality: r.locality,
    people: suppressSmall(r.people),
    households: suppressSmall(r.households),
    peopleWithNeeds: suppressSmall(r.people_with_needs),
    mostDeprivedShare: r.people > 0 ? Math.round((r.most_deprived_people / r.people) * 1000) / 10 : 0,
  }));
}

export interface DecileRow { decile: number; people: number | null; needsPer1000: number | null; crisisEventsPer1000: number | null }

/** Current needs and crisis events per 1,000 residents by deprivation decile: the gradient. */
export async function needsByDeprivation(db: Kysely<Database>): Promise<DecileRow[]> {
  const result = await sql<{ decile: number; people: number; needs: number; crisis: number }>`
    with residents as (
      select p.id, a.deprivation_decile as decile
      from persons p join households h on h.id = p.household_id join small_areas a on a.id = h.small_area_id
    )
    select r.decile,
           count(*) as people,
           coalesce(sum((select count(*) from needs n where n.person_id = r.id and n.current)), 0) as needs,
           coalesce(sum((select count(*) from person_events e where e.person_id = r.id
               and e.type in ('ae_attendance', 'hospital_admission', 'homeless_presentation', 'mental_health_crisis', 'safeguarding_concern'))), 0) as crisis
    from residents r
    group by r.decile
    order by r.decile`.execute(db);
  return result.rows.map((r) => ({
    decile: r.decile,
    people: suppressSmall(r.people),
    needsPer1000: r.people >= 5 ? Math.round((r.needs / r.people) * 10000) / 10 : null,
    crisisEventsPer1000: r.people >= 5 ? Math.round((r.crisis / r.people) * 10000) / 10 : null,
  }));
}
