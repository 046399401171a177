// Times the demo referral and pathway seed on the 20,000-person demo place, and the inbox and
// waiting-list queries on it. Prints JSON. Usage: node bench/referrals-seed.ts [--people N]
import { sql } from 'kysely';
import { openPglite } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { seedDemoReferrals } from '../src/referrals/seed.ts';
import { listReferrals, waitingLists } from '../src/referrals/queries.ts';
import { pathwayFlow } from '../src/referrals/pathways.ts';

const arg = process.argv.indexOf('--people');
const people = arg > 0 ? Number(process.argv[arg + 1]) : 20_000;
const handle = await openPglite('memory://');
await migrateToLatest(handle.db);
const db = handle.db;
const load = await loadSyntheticPlace(db, { seed: 2026, people });
// Re-run the seed alone (TRUNCATE does not fire the append-only row trigger).
await sql`truncate referral_events, pathway_journey_steps, pathway_journeys, referrals`.execute(db);
await sql`delete from care_relationships where kind = 'referral'`.execute(db);
await sql`delete from consent_directives where note = 'agreed when referred'`.execute(db);
const t0 = performance.now();
const seeded = await seedDemoReferrals(db, 2026);
const seedMs = performance.now() - t0;
const org = (
  await sql<{
    organisation_id: string;
  }>`select organisation_id from referrals group by organisation_id order by count(*) desc limit 1`.execute(db)
).rows[0]!.organisation_id;
const timeIt = async (fn: () => Promise<unknown>, runs = 20) => {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { medianMs: Math.round(times[Math.floor(runs / 2)]! * 10) / 10, maxMs: Math.round(times[runs - 1]! * 10) / 10 };
};
const services = (await db.selectFrom('services').select('id').execute()).map((s) => s.id);
const statuses = (
  await sql<{ status: string; n: number }>`select status, count(*) as n from referrals group by status order by status`.execute(db)
).rows;
console.log(
  JSON.stringify(
    {
      people,
      placeLoadSeconds: load.seconds,
      referrals: seeded.referrals,
      journeys: seeded.journeys,
      seedSeconds: Math.round(seedMs) / 1000,
      statuses: Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)])),
      inboxOverdueQuery: await timeIt(() => listReferrals(db, 'to', org, { overdue: true })),
      waitingListsAllServices: await timeIt(() => waitingLists(db, services)),
      pathwayFlow: await timeIt(() => pathwayFlow(db)),
    },
    null,
    2,
  ),
);
await handle.close();
