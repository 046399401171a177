// Loads the demo place (default 20,000 people) into in-memory PGlite and reports the budgets
// seed (part of the load) and the main budget queries' times as JSON.
import { openPglite } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { budgetOverview, cohortCosts, personCost } from '../src/budgets/queries.ts';

const people = Number(process.argv[process.argv.indexOf('--people') + 1] || 20_000) || 20_000;
const handle = await openPglite('memory://');
await migrateToLatest(handle.db);
const load = await loadSyntheticPlace(handle.db, { seed: 2026, people });
const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const result = await work();
  return [result, Math.round(performance.now() - t)];
};
const [overview, overviewMs] = await timed(() => budgetOverview(handle.db, 'better-lives'));
const [, cohortMs] = await timed(() => cohortCosts(handle.db));
const someone =
  (await handle.db.selectFrom('ledger_postings').select('person_id').where('person_id', 'is not', null).limit(1).executeTakeFirst())
    ?.person_id ?? '';
const [, personMs] = await timed(() => personCost(handle.db, someone, 'all'));
console.log(
  JSON.stringify(
    {
      people: load.people,
      loadSeconds: load.seconds,
      budgets: load.budgets,
      currentYear: overview?.year,
      budgetPence: overview?.totals.budgetPence,
      spentPence: overview?.totals.spentPence,
      forecastPence: overview?.totals.forecastPence,
      queryMs: { overview: overviewMs, cohorts: cohortMs, person: personMs },
    },
    null,
    2,
  ),
);
await handle.close();
