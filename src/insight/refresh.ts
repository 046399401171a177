// Precomputing the dashboards' figures. A refresh (after a load or an import, from the CLI, or
// from the dashboard's button) rebuilds, in the database:
//   1. insight_person_facts / insight_need_facts / insight_referral_facts: one row per resident
//      (as place/residents.ts defines them, the same count as the manager's home page),
//      per resident and need, per referral, keyed by an HMAC pseudonym: no names, no person ids;
//   2. insight_cube: the aggregates every dashboard reads (population by each dimension, needs
//      and outcomes, overlaps between services, outcomes and access measures by quarter and group).
// The dashboards then read only the cube (a few thousand rows) and the referrals per service.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import { silentProgress, type Progress } from '../platform/progress.ts';
import { activeFramework } from '../plans/index.ts';
import { groupSources, needCodes } from './groups.ts';
import { pseudonymKey, pseudonymSql } from './pseudonym.ts';
import { residentsWithArea } from '../place/index.ts';
import { latestReferralSent, referralOutcomes } from '../referrals/index.ts';
import { peopleHeldByOrganisationKinds } from '../linkage/index.ts';
import { eventsOfTypes, latestNeedRecorded, needsByPersonAndCode, needsWithCodes, personProfiles } from '../people/index.ts';
import { refreshFelt } from './felt.ts';

/** The dimensions every measure is split by; 'all' is everyone. */
export const dimensions = ['all', 'quintile', 'decile', 'locality', 'sex', 'ethnicity', 'age_band', 'disability'] as const;
export type Dimension = (typeof dimensions)[number];

export const ageBands = ['0-15', '16-24', '25-44', '45-64', '65-74', '75+'];

const dimensionValues = sql`(values ('all', 'all'), ('quintile', f.quintile::text), ('decile', f.decile::text), ('locality', f.locality_id), ('sex', f.sex),
  ('ethnicity', f.ethnicity_group), ('age_band', f.age_band), ('disability', case when f.disability then 'yes' else 'no' end)) as dv(dimension, value)`;

const quarterOf = (column: RawBuilder<unknown>) => sql<string>`to_char(${column}, 'YYYY') || '-Q' || to_char(${column}, 'Q')`;

export interface RefreshSummary {
  people: number;
  needs: number;
  referrals: number;
  cubeRows: number;
  seconds: number;
  steps: Record<string, number>;
}

export async function refreshInsight(db: Kysely<Database>, options: { asOf?: Date; progress?: Progress } = {}): Promise<RefreshSummary> {
  const started = new Date();
  const progress = options.progress ?? silentProgress;
  const asOf = options.asOf ?? new Date();
  const key = await pseudonymKey(db);
  const framework = await activeFramework(db);
  const steps: Record<string, number> = {};
  const step = async (name: string, work: () => Promise<unknown>) => {
    const t = Date.now();
    progress.update(Object.keys(steps).length, name);
    await work();
    steps[name] = (Date.now() - t) / 1000;
  };
  progress.setTotal(7);
  const groups = groupSources();
  const needBits = needCodes;
  await db.transaction().execute(async (trx) => {
    await sql`set local jit = off`.execute(trx);
    await step('people', async () => {
      await sql`delete from insight_person_facts`.execute(trx);
      await sql`
        insert into insight_person_facts (pkey, small_area_id, locality_id, decile, quintile, age_band, sex, ethnicity_group, disability, groups_mask, needs_mask)
        select ${pseudonymSql(key, sql`p.person_id`)}, r.small_area_id, r.locality_id, r.deprivation_decile, (r.deprivation_decile + 1) / 2,
          case when p.birth_date is null then 'unknown'
               when p.birth_date > ${asOf}::date - interval '16 years' then '0-15'
               when p.birth_date > ${asOf}::date - interval '25 years' then '16-24'
               when p.birth_date > ${asOf}::date - interval '45 years' then '25-44'
               when p.birth_date > ${asOf}::date - interval '65 years' then '45-64'
               when p.birth_date > ${asOf}::date - interval '75 years' then '65-74'
               else '75+' end,
          coalesce(p.sex, 'unknown'), coalesce(p.ethnicity_group, 'unknown'), p.disability, coalesce(g.mask, 0), coalesce(n.mask, 0)
        from ${residentsWithArea} r
        join ${personProfiles} p on p.person_id = r.person_id
        left join (
          select k.person_id, bit_or(k.bit) as mask from (
            select o.person_id, g.bit from ${peopleHeldByOrganisationKinds(groups.kinds.map((k) => k.value))} o
              join unnest(${groups.kinds.map((k) => k.value)}::text[], ${groups.kinds.map((k) => k.bit)}::int[]) as g(kind, bit) on g.kind = o.kind
            union all
            select e.person_id, g.bit from ${eventsOfTypes(groups.events.map((k) => k.value))} e
              join unnest(${groups.events.map((k) => k.value)}::text[], ${groups.events.map((k) => k.bit)}::int[]) as g(type, bit) on g.type = e.type
            union all
            select nn.person_id, g.bit from ${needsWithCodes(groups.needs.map((k) => k.value))} nn
              join unnest(${groups.needs.map((k) => k.value)}::text[], ${groups.needs.map((k) => k.bit)}::int[]) as g(code, bit) on g.code = nn.code
          ) k group by k.person_id
        ) g on g.person_id = p.person_id
        left join (
          select nn.person_id, bit_or(1 << (array_position(${needBits}::text[], nn.code) - 1)) as mask
          from ${needsWithCodes(needBits, { current: true })} nn group by nn.person_id
        ) n on n.person_id = p.person_id`.execute(trx);
    });
    await step('needs', async () => {
      await sql`delete from insight_need_facts`.execute(trx);
      await sql`
        insert into insight_need_facts (pkey, need_code, first_quarter, current)
        select ${pseudonymSql(key, sql`nn.person_id`)}, nn.code, ${quarterOf(sql`nn.first_recorded`)}, nn.current
        from ${needsByPersonAndCode} nn`.execute(trx);
    });
    await step('referrals', async () => {
      await sql`delete from insight_referral_facts`.execute(trx);
      await sql`
        insert into insight_referral_facts (pkey, service_id, quarter, decided, accepted, first_contact_days)
        select ${pseudonymSql(key, sql`r.person_id`)}, r.service_id, ${quarterOf(sql`r.sent_at`)}, r.decided, r.accepted, r.first_contact_days
        from ${referralOutcomes} r`.execute(trx);
    });
    await sql`delete from insight_cube`.execute(trx);
    await step('population and needs', async () => {
      // Population, current needs by code and by outcome, for every dimension value.
      const needCols = needBits.map(
        (_, i) => sql`count(*) filter (where f.needs_mask & ${1 << i}::int <> 0)::int as ${sql.ref(`need_${i}`)}`,
      );
      const outcomeMasks = framework.outcomes.map((o) =>
        needBits.reduce((m, code, i) => ((framework.needs[code] ?? []).includes(o.code) ? m | (1 << i) : m), 0),
      );
      const outcomeCols = outcomeMasks.map(
        (m, i) => sql`count(*) filter (where f.needs_mask & ${m}::int <> 0)::int as ${sql.ref(`outcome_${i}`)}`,
      );
      const rows = (
        await sql<Record<string, string | number>>`
        select dv.dimension, dv.value, count(*)::int as residents, count(*) filter (where f.needs_mask <> 0)::int as any_need,
          ${sql.join([...needCols, ...outcomeCols], sql`, `)}
        from insight_person_facts f cross join lateral ${dimensionValues}
        group by dv.dimension, dv.value`.execute(trx)
      ).rows;
      const cube: Array<Database['insight_cube']> = [];
      for (const r of rows) {
        const base = { dimension: String(r.dimension), value: String(r.value), period: 'now', s: 0, ss: 0 };
        const residents = Number(r.residents);
        cube.push({ ...base, section: 'population', measure: 'residents', n: residents, d: residents });
        cube.push({ ...base, section: 'needs', measure: 'any', n: Number(r.any_need), d: residents });
        needBits.forEach((code, i) => cube.push({ ...base, section: 'needs', measure: code, n: Number(r[`need_${i}`]), d: residents }));
        framework.outcomes.forEach((o, i) =>
          cube.push({ ...base, section: 'outcome_now', measure: o.code, n: Number(r[`outcome_${i}`]), d: residents }),
        );
      }
      const sa = (
        await sql<{
          small_area_id: string;
          residents: number;
        }>`select small_area_id, count(*)::int as residents from insight_person_facts group by small_area_id`.execute(trx)
      ).rows;
      for (const r of sa)
        cube.push({
          section: 'population',
          measure: 'residents',
          dimension: 'small_area',
          value: r.small_area_id,
          period: 'now',
          n: Number(r.residents),
          d: Number(r.residents),
          s: 0,
          ss: 0,
        });
      // Overlaps between services: people by the exact combination of services that know them.
      const overlaps = (
        await sql<{
          mask: number;
          people: number;
        }>`select groups_mask as mask, count(*)::int as people from insight_person_facts where groups_mask <> 0 group by groups_mask`.execute(
          trx,
        )
      ).rows;
      for (const r of overlaps)
        cube.push({
          section: 'overlap',
          measure: 'people',
          dimension: 'mask',
          value: String(r.mask),
          period: 'now',
          n: Number(r.people),
          d: 0,
          s: 0,
          ss: 0,
        });
      await insertCube(trx, cube);
    });
    await step('outcomes over time', async () => {
      // People with a need mapped to each outcome first recorded in each quarter, by group.
      const pairs = framework.outcomes.flatMap((o) =>
        needBits.filter((code) => (framework.needs[code] ?? []).includes(o.code)).map((code) => ({ outcome: o.code, need: code })),
      );
      await sql`
        insert into insight_cube (section, measure, dimension, value, period, n, d, s, ss)
        select 'outcome_quarter', x.outcome, dv.dimension, dv.value, x.quarter, count(*), 0, 0, 0
        from (
          select nf.pkey, m.outcome, min(nf.first_quarter) as quarter
          from insight_need_facts nf join unnest(${pairs.map((p) => p.outcome)}::text[], ${pairs.map((p) => p.need)}::text[]) as m(outcome, need) on m.need = nf.need_code
          group by nf.pkey, m.outcome
        ) x join insight_person_facts f on f.pkey = x.pkey cross join lateral ${dimensionValues}
        group by x.outcome, dv.dimension, dv.value, x.quarter`.execute(trx);
    });
    await step('access measures', async () => {
      await sql`
        insert into insight_cube (section, measure, dimension, value, period, n, d, s, ss)
        select 'access', 'acceptance', dv.dimension, dv.value, rf.quarter, count(*) filter (where rf.accepted), count(*) filter (where rf.decided), 0, 0
        from insight_referral_facts rf join insight_person_facts f on f.pkey = rf.pkey cross join lateral ${dimensionValues}
        group by dv.dimension, dv.value, rf.quarter
        union all
        select 'access', 'first_contact_days', dv.dimension, dv.value, rf.quarter, count(*), count(*), sum(rf.first_contact_days), sum(rf.first_contact_days * rf.first_contact_days)
        from insight_referral_facts rf join insight_person_facts f on f.pkey = rf.pkey cross join lateral ${dimensionValues}
        where rf.first_contact_days is not null
        group by dv.dimension, dv.value, rf.quarter`.execute(trx);
    });
    // Outcomes people feel: score change, goal attainment and each model's cohort (felt.ts).
    await step('outcomes people feel', () => refreshFelt(trx, key));
    const latest =
      (
        await sql<{
          latest: string | null;
        }>`select greatest(${latestNeedRecorded}, ${latestReferralSent}::date)::text as latest`.execute(trx)
      ).rows[0]?.latest ?? null;
    const people = Number((await sql<{ n: number }>`select count(*)::int as n from insight_person_facts`.execute(trx)).rows[0]!.n);
    await trx
      .insertInto('insight_refreshes')
      .values({
        started_at: started,
        finished_at: new Date(),
        people,
        seconds: (Date.now() - started.getTime()) / 1000,
        latest_date: latest,
      })
      .execute();
  });
  progress.update(7, 'done');
  const counts = (
    await sql<{ needs: number; referrals: number; cube: number }>`
    select (select count(*)::int from insight_need_facts) as needs, (select count(*)::int from insight_referral_facts) as referrals, (select count(*)::int from insight_cube) as cube`.execute(
      db,
    )
  ).rows[0]!;
  const people = Number((await sql<{ n: number }>`select count(*)::int as n from insight_person_facts`.execute(db)).rows[0]!.n);
  await sql`analyze insight_cube`.execute(db);
  return {
    people,
    needs: Number(counts.needs),
    referrals: Number(counts.referrals),
    cubeRows: Number(counts.cube),
    seconds: (Date.now() - started.getTime()) / 1000,
    steps,
  };
}

async function insertCube(db: Kysely<Database>, rows: Array<Database['insight_cube']>): Promise<void> {
  for (let i = 0; i < rows.length; i += 2000)
    await db
      .insertInto('insight_cube')
      .values(rows.slice(i, i + 2000))
      .execute();
}

/** The last refresh, or undefined when the figures have never been computed. */
export async function lastRefresh(
  db: Kysely<Database>,
): Promise<{ finishedAt: Date; people: number; seconds: number; latestDate: string | null } | undefined> {
  const row = await db
    .selectFrom('insight_refreshes')
    .select(['finished_at', 'people', 'seconds', 'latest_date'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row
    ? {
        finishedAt: new Date(row.finished_at),
        people: Number(row.people),
        seconds: Number(row.seconds),
        latestDate: row.latest_date ? String(row.latest_date).slice(0, 10) : null,
      }
    : undefined;
}

/** Refreshes when the figures have never been computed (first visit to a dashboard). */
export async function ensureInsight(db: Kysely<Database>): Promise<void> {
  if (!(await lastRefresh(db))) await refreshInsight(db);
}
