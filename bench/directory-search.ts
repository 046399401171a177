// Directory search at city-region scale: a place frame big enough for ~5,000 services (no
// residents needed), populated into the directory, then searched the ways practitioners search.
// Usage: node bench/directory-search.ts [--people 3000000] [--engine pglite|postgres] [--queries 500]
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { openPglite, openPostgres, type DatabaseHandle } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { createPlaceFrame } from '../src/synth/generate.ts';
import { loadFrame } from '../src/demo/load-place.ts';
import { populateDirectoryFromPlace } from '../src/directory/populate.ts';
import { lookupPostcode, searchServices, type ServiceFilters } from '../src/directory/queries.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '3000000' },
    engine: { type: 'string', default: 'pglite' },
    queries: { type: 'string', default: '500' },
  },
});
const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';

async function open(): Promise<{ handle: DatabaseHandle; cleanup: () => Promise<void> }> {
  if (values.engine !== 'postgres') {
    const handle = await openPglite('memory://');
    return { handle, cleanup: () => handle.close() };
  }
  const schema = `bench_dir_${randomBytes(4).toString('hex')}`;
  const admin = await openPostgres(serverUrl, { max: 1 });
  await sql`create schema ${sql.id(schema)}`.execute(admin.db);
  const handle = await openPostgres(serverUrl, { searchPath: `${schema},public`, max: 4 });
  return {
    handle,
    cleanup: async () => {
      await handle.close();
      await sql`drop schema ${sql.id(schema)} cascade`.execute(admin.db);
      await admin.close();
    },
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const { handle, cleanup } = await open();
try {
  const db = handle.db;
  await migrateToLatest(db);
  const frame = createPlaceFrame({ seed: 2026, people: Number(values.people) });
  await db.transaction().execute((trx) => loadFrame(trx, frame));
  await populateDirectoryFromPlace(db);
  await sql`analyze`.execute(db);
  const services = Number((await sql<{ n: number }>`select count(*) as n from services`.execute(db)).rows[0]!.n);
  const terms = (await sql<{ id: string }>`select id from directory_taxonomy_terms order by id`.execute(db)).rows.map((r) => r.id);
  const postcodes = (await sql<{ postcode: string }>`select postcode from postcodes order by postcode limit 200`.execute(db)).rows.map(
    (r) => r.postcode,
  );
  const words = ['food', 'housing', 'mental health', 'carers', 'drug', 'falls', 'debt advice', 'school', 'domestic abuse', 'crisis'];
  const kinds = ['everything', 'text', 'need', 'age', 'near a postcode', 'combined'] as const;
  const timings: Record<string, number[]> = Object.fromEntries(kinds.map((k) => [k, []]));
  const n = Number(values.queries);
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length]!;
    const origin = kind === 'near a postcode' || kind === 'combined' ? await lookupPostcode(db, postcodes[i % postcodes.length]!) : null;
    const filters: ServiceFilters = {
      ...(kind === 'text' || kind === 'combined' ? { search: words[i % words.length] } : {}),
      ...(kind === 'need' || kind === 'combined' ? { taxonomyTermIds: [terms[i % terms.length]!] } : {}),
      ...(kind === 'age' || kind === 'combined' ? { age: 10 + (i % 70) } : {}),
      ...(origin ? { origin, withinMetres: 5000 } : {}),
    };
    const started = process.hrtime.bigint();
    await searchServices(db, filters, { page: 1, perPage: 20 });
    timings[kind]!.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const all = Object.values(timings)
    .flat()
    .sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      benchmark: 'directory-search',
      engine: handle.kind,
      services,
      queries: n,
      ms: { p50: percentile(all, 50), p99: percentile(all, 99), max: all.at(-1) },
      byKind: Object.fromEntries(
        kinds.map((k) => {
          const t = timings[k]!.sort((a, b) => a - b);
          return [k, { p50: percentile(t, 50), p99: percentile(t, 99) }];
        }),
      ),
    }),
  );
} finally {
  await cleanup();
}
