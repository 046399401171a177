// The shared person page and person search at city scale.
// Usage: node bench/person-page.ts [--people 1000000] [--engine postgres|pglite] [--rate 200] [--seconds 30] [--schema NAME --keep]
// Loads a synthetic place (agency records joined by ground truth: see PlaceLinking), serves it,
// drives the person page at a fixed request rate with autocannon (in its own process, as clients
// are other machines), and times person searches.
// Prints one JSON object; server time comes from the server's own request log.
// JOINERY_BENCH_SLOWEST=1 also prints the 30 slowest page requests to stderr.
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadJob, LoadResult } from './support/load-worker.ts';
import pino from 'pino';
import { sql } from 'kysely';
import { openPglite, openPostgres, type DatabaseHandle } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { loadConfig } from '../src/platform/config.ts';
import { createProgress } from '../src/platform/progress.ts';
import { createApp } from '../src/app.ts';
import { isPlaceLoaded, loadSyntheticPlace } from '../src/demo/load-place.ts';
import { createDemoAccounts } from '../src/demo/accounts.ts';
import { userForSession } from '../src/auth/accounts.ts';
import { parsePersonQuery } from '../src/records/search-query.ts';
import { searchPeople } from '../src/records/search.ts';
import { signIn } from '../test/support/server.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '1000000' },
    engine: { type: 'string', default: 'postgres' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '30' },
    schema: { type: 'string' },
    keep: { type: 'boolean', default: false },
    seed: { type: 'string', default: '2026' },
  },
});
const people = Number(values.people);
const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';
const WARM_UP_SECONDS = 5;
const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : null;

async function openDb(): Promise<{ handle: DatabaseHandle; cleanup: () => Promise<void> }> {
  if (values.engine === 'pglite') {
    const handle = await openPglite(values.schema ? values.schema : 'memory://');
    return { handle, cleanup: () => handle.close() };
  }
  const schema = values.schema ?? `bench_pp_${randomBytes(4).toString('hex')}`;
  const admin = await openPostgres(serverUrl, { max: 1 });
  await sql`create schema if not exists ${sql.id(schema)}`.execute(admin.db);
  const handle = await openPostgres(serverUrl, { searchPath: `${schema},public`, max: 10 });
  return {
    handle,
    cleanup: async () => {
      await handle.close();
      if (!values.keep) await sql`drop schema ${sql.id(schema)} cascade`.execute(admin.db);
      await admin.close();
    },
  };
}

const { handle, cleanup } = await openDb();
try {
  const db = handle.db;
  await migrateToLatest(db);
  let loadSeconds: number | null = null;
  if (!(await isPlaceLoaded(db))) {
    const progress = createProgress('Loading the place', people);
    const summary = await loadSyntheticPlace(db, { seed: Number(values.seed), people, linking: 'ground_truth' }, progress);
    progress.stop();
    loadSeconds = summary.seconds;
  }
  await createDemoAccounts(db);
  const counts = (
    await sql<{ persons: number; events: number; records: number; directives: number }>`
    select (select count(*) from persons) as persons, (select count(*) from person_events) as events,
           (select count(*) from source_records) as records, (select count(*) from consent_directives) as directives`.execute(db)
  ).rows[0]!;

  const lines: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const config = { ...loadConfig({ PORT: '0' }), port: 0 };
  const app = await createApp({ config, database: handle, logger });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const cookie = await signIn(app, 'practitioner');
  const user = (await userForSession(db, /joinery_session=([^;]+)/.exec(cookie)![1]!))!;

  // People the practitioner's organisation knows: the pages a real caseload opens.
  const ids = (
    await sql<{ person_id: string }>`
    select distinct l.person_id from record_links l join source_records s on s.id = l.source_record_id
    join organisations o on o.source_code = s.source where o.id = ${user.organisationId} and l.superseded_at is null
    order by l.person_id limit 5000`.execute(db)
  ).rows.map((r) => r.person_id);
  // The same pages driven two ways (see support/load-worker.ts): paced arrivals, then autocannon's bursts.
  const drive = async (mode: LoadJob['mode'], seconds = Number(values.seconds)) => {
    lines.length = 0;
    const job: LoadJob = {
      mode,
      url: `http://127.0.0.1:${port}`,
      cookie,
      paths: ids.map((id) => `/people/${id}`),
      connections: 20,
      rate: Number(values.rate),
      seconds,
    };
    const result = await new Promise<LoadResult>((resolve, reject) => {
      const child = fork(fileURLToPath(new URL('./support/load-worker.ts', import.meta.url)));
      child.once('message', (message) => resolve(message as LoadResult));
      child.once('error', reject);
      child.send(job);
    });
    if (process.env.JOINERY_BENCH_SLOWEST) {
      const slow = lines
        .map((l) => JSON.parse(l) as { path?: string; ms?: number })
        .filter((l) => l.path?.startsWith('/people/'))
        .sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0))
        .slice(0, 30);
      console.error(JSON.stringify(slow));
    }
    const serverMs = lines
      .map((l) => JSON.parse(l) as { msg?: string; path?: string; ms?: number })
      .filter((l) => l.msg === 'request' && l.path?.startsWith('/people/') && typeof l.ms === 'number')
      .map((l) => l.ms!)
      .sort((a, b) => a - b);
    return {
      targetRate: Number(values.rate),
      seconds: Number(values.seconds),
      requests: result.requests.total,
      achievedRate: result.requests.average,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      serverMs: { p50: percentile(serverMs, 50), p99: percentile(serverMs, 99), max: serverMs.at(-1) ?? null, samples: serverMs.length },
      clientMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    };
  };
  // Warm-up, not counted: every pooled connection prepares its statements and PostgreSQL reads
  // the pages into its cache (the first second's requests otherwise set the p99).
  await drive('paced', WARM_UP_SECONDS);
  const pacedPage = await drive('paced');
  const burstPage = await drive('autocannon');

  // Person search: misspelt names, names with dates of birth, NHS numbers.
  const sample = (
    await sql<{ given_name: string; family_name: string; birth_date: string; nhs_number: string | null }>`
    select given_name, family_name, birth_date, nhs_number from persons where id = any(${ids.slice(0, 300)})`.execute(db)
  ).rows;
  const queries = sample.flatMap((p) => [
    `${p.given_name} ${p.family_name.slice(0, -1)}`,
    `${p.family_name} ${p.birth_date.split('-').reverse().join('/')}`,
    ...(p.nhs_number ? [p.nhs_number] : []),
  ]);
  const searchMs: number[] = [];
  let found = 0;
  for (const q of queries) {
    const started = process.hrtime.bigint();
    const hits = await searchPeople(db, user, parsePersonQuery(q));
    searchMs.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (hits.length > 0) found += 1;
  }
  searchMs.sort((a, b) => a - b);
  await app.close();
  console.log(
    JSON.stringify({
      benchmark: 'person-page-and-search',
      engine: handle.kind,
      ...counts,
      loadSeconds,
      personPage: pacedPage,
      personPageAutocannonBursts: burstPage,
      search: {
        queries: queries.length,
        foundShare: found / Math.max(1, queries.length),
        ms: { p50: percentile(searchMs, 50), p99: percentile(searchMs, 99), max: searchMs.at(-1) ?? null },
      },
    }),
  );
} finally {
  await cleanup();
}
