// Loads a synthetic place into a kept PostgreSQL schema for the insight benchmarks.
// Usage: node bench/insight-load.ts [--people 1000000] [--schema bench_insight] [--seed 2026]
// Prints JSON with the load summary. Drop the schema afterwards (bench/insight-dashboard.ts --drop).
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { openPostgres } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { createProgress } from '../src/platform/progress.ts';
import { isPlaceLoaded, loadSyntheticPlace } from '../src/demo/load-place.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '1000000' },
    schema: { type: 'string', default: 'bench_insight' },
    seed: { type: 'string', default: '2026' },
  },
});
const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';
const schema = values.schema;
if (!/^[a-z_][a-z0-9_]{0,40}$/.test(schema)) throw new Error('bad schema name');
const admin = await openPostgres(serverUrl, { max: 1 });
await sql`create schema if not exists ${sql.id(schema)}`.execute(admin.db);
await admin.close();
const handle = await openPostgres(serverUrl, { searchPath: `${schema},public`, max: 4 });
try {
  await migrateToLatest(handle.db);
  if (await isPlaceLoaded(handle.db)) {
    console.log(JSON.stringify({ schema, alreadyLoaded: true }));
  } else {
    const people = Number(values.people);
    const progress = createProgress('Loading the place', people);
    const summary = await loadSyntheticPlace(handle.db, { seed: Number(values.seed), people, linking: 'ground_truth' }, progress);
    progress.stop();
    console.log(JSON.stringify({ schema, ...summary, linkage: undefined }));
  }
} finally {
  await handle.close();
}
