// Insight at city scale: the precompute (refresh), the needs assessment and inequality dashboard
// read from it, and the case-finding rules.
// Usage:
//   node bench/insight-load.ts --people 1000000 --schema bench_insight      (once: several minutes)
//   node bench/insight-dashboard.ts --schema bench_insight [--drop]          (PostgreSQL)
//   node bench/insight-dashboard.ts --engine pglite --people 100000          (PGlite, loads in memory)
// Prints one JSON object. "dashboard" is everything the two dashboard pages compute per request.
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { openPglite, openPostgres, type DatabaseHandle } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { createProgress } from '../src/platform/progress.ts';
import type { Database } from '../src/schema.ts';
import { isPlaceLoaded, loadSyntheticPlace } from '../src/demo/load-place.ts';
import { refreshInsight } from '../src/insight/refresh.ts';
import { demandAndCapacity, headlines, inequality, needsAssessment, overlaps, populationBy } from '../src/insight/queries.ts';
import { runCaseFinding } from '../src/insight/casefind.ts';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'postgres' },
    schema: { type: 'string', default: 'bench_insight' },
    people: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '2026' },
    drop: { type: 'boolean', default: false },
    repeats: { type: 'string', default: '5' },
  },
});
const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';

async function open(): Promise<{ handle: DatabaseHandle; cleanup: () => Promise<void> }> {
  if (values.engine === 'pglite') {
    const handle = await openPglite('memory://');
    return { handle, cleanup: () => handle.close() };
  }
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(values.schema)) throw new Error('bad schema name');
  const handle = await openPostgres(serverUrl, { searchPath: `${values.schema},public`, max: 4 });
  return {
    handle,
    cleanup: async () => {
      await handle.close();
      if (values.drop) {
        const admin = await openPostgres(serverUrl, { max: 1 });
        await sql`drop schema ${sql.id(values.schema)} cascade`.execute(admin.db);
        await admin.close();
      }
    },
  };
}

const time = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await work();
  return [r, (performance.now() - t) / 1000];
};

/** Everything the needs assessment page and the inequality dashboard (with its every-measure headline panel) compute. */
async function dashboard(db: Kysely<Database>) {
  const population = await Promise.all(
    (['quintile', 'decile', 'locality', 'sex', 'ethnicity', 'age_band', 'disability', 'small_area'] as const).map((d) =>
      populationBy(db, d),
    ),
  );
  const [needs, overlap, demand] = await Promise.all([needsAssessment(db), overlaps(db), demandAndCapacity(db)]);
  const all = await headlines(db);
  const splits = await Promise.all(
    (['quintile', 'decile', 'locality', 'sex', 'ethnicity', 'age_band', 'disability'] as const).map((d) =>
      inequality(db, 'outcome:HOME', d),
    ),
  );
  return { population, needs, overlap, demand, all, splits };
}

const { handle, cleanup } = await open();
try {
  const db = handle.db;
  const [, migrateSeconds] = await time(() => migrateToLatest(db));
  let loadSeconds: number | null = null;
  if (!(await isPlaceLoaded(db))) {
    const progress = createProgress('Loading the place', Number(values.people));
    const summary = await loadSyntheticPlace(
      db,
      { seed: Number(values.seed), people: Number(values.people), linking: 'ground_truth' },
      progress,
    );
    progress.stop();
    loadSeconds = summary.seconds;
  }
  const counts = (
    await sql<{ persons: number; events: number; needs: number; referrals: number; links: number }>`
    select (select count(*)::int from persons) as persons, (select count(*)::int from person_events) as events, (select count(*)::int from needs) as needs,
           (select count(*)::int from referrals) as referrals, (select count(*)::int from record_links) as links`.execute(db)
  ).rows[0]!;
  const asOf = new Date(String((await sql<{ d: string }>`select max(at)::text as d from person_events`.execute(db)).rows[0]!.d));
  const [refresh, refreshSeconds] = await time(() => refreshInsight(db, { asOf }));
  const runs: number[] = [];
  let sample: Awaited<ReturnType<typeof dashboard>> | undefined;
  for (let i = 0; i < Number(values.repeats); i++) {
    const [result, seconds] = await time(() => dashboard(db));
    runs.push(seconds);
    sample = result;
  }
  runs.sort((a, b) => a - b);
  const [casefind, casefindSeconds] = await time(() => runCaseFinding(db, { asOf }));
  const home = sample!.all.find((h) => h.measure.id === 'outcome:HOME');
  console.log(
    JSON.stringify(
      {
        engine: handle.kind,
        counts,
        asOf: asOf.toISOString(),
        migrateSeconds,
        loadSeconds,
        precompute: {
          seconds: refreshSeconds,
          steps: refresh.steps,
          cubeRows: refresh.cubeRows,
          people: refresh.people,
          needFacts: refresh.needs,
          referralFacts: refresh.referrals,
        },
        dashboard: {
          repeats: runs.length,
          minSeconds: runs[0],
          medianSeconds: runs[Math.floor(runs.length / 2)],
          maxSeconds: runs[runs.length - 1],
          measures: sample!.all.length,
        },
        casefinding: { seconds: casefindSeconds, rules: casefind.rules, entries: casefind.entries },
        example: {
          homeHeadline: home?.text,
          overlapThreeOrMoreMd: sample!.overlap.threeOrMoreMd,
          housingAndMentalHealth: sample!.overlap.housingAndMentalHealth,
        },
      },
      null,
      1,
    ),
  );
} finally {
  await cleanup();
}
