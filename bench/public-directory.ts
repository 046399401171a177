// The public directory under load: the 20,000-person demo place on PGlite (as `joinery demo`
// builds it), served, and driven without signing in at a fixed rate with the mix of requests
// residents make: a need, words, a postcode and a distance, age, cost, opening days, "you can
// refer yourself", combinations of these, later pages, and a service's own page. The goal is
// p99 at or under 100 ms at 100 requests a second.
//
//   node bench/public-directory.ts [--people 20000] [--engine pglite|postgres] [--rate 100] [--seconds 20] [--runs 3]
//
// Each run sends the load from its own process (bench/support/load-worker.ts): paced arrivals
// (one request every 1/rate seconds, as independent residents arrive), then autocannon at the
// same overall rate (its connections send their share in bursts). Server time comes from the
// server's own request log; client time from the load process. Before each run the script notes
// how busy the machine was (load average, and cores' worth of other work over 3 seconds), since
// a figure measured while other work shares two cores is not the server's. Prints one JSON
// object: every run, and the median and the worst of the runs (never the best).
import os from 'node:os';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { sql } from 'kysely';
import type { LoadJob, LoadResult } from './support/load-worker.ts';
import { summarise } from './support/figures.ts';
import { openPglite, openPostgres, type DatabaseHandle } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { loadConfig } from '../src/platform/config.ts';
import { createProgress } from '../src/platform/progress.ts';
import { createApp } from '../src/app.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { createDemoAccounts } from '../src/demo/accounts.ts';
import { NEED_GROUPS, NEED_TERMS } from '../src/directory/index.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '20000' },
    engine: { type: 'string', default: 'pglite' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '2026' },
  },
});
const people = Number(values.people);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';
const WARM_UP_SECONDS = 5;
const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : null;

async function openDb(): Promise<{ handle: DatabaseHandle; cleanup: () => Promise<void> }> {
  if (values.engine !== 'postgres') {
    const handle = await openPglite('memory://');
    return { handle, cleanup: () => handle.close() };
  }
  const schema = `bench_pd_${randomBytes(4).toString('hex')}`;
  const admin = await openPostgres(serverUrl, { max: 1 });
  await sql`create schema ${sql.id(schema)}`.execute(admin.db);
  const handle = await openPostgres(serverUrl, { searchPath: `${schema},public`, max: 10 });
  return {
    handle,
    cleanup: async () => {
      await handle.close();
      await sql`drop schema ${sql.id(schema)} cascade`.execute(admin.db);
      await admin.close();
    },
  };
}

/** CPU busy and total jiffies across all cores, from /proc/stat. */
function cpuTimes(): { busy: number; total: number } | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: fields.reduce((sum, v) => sum + v, 0) - idle, total: fields.reduce((sum, v) => sum + v, 0) };
}

/** How busy the machine is while this process waits: load average and cores' worth of other work. */
async function machine(): Promise<{ loadAverage: number; otherWorkCores: number | null }> {
  const before = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const after = cpuTimes();
  const otherWorkCores =
    before && after && after.total > before.total
      ? Math.round(((after.busy - before.busy) / (after.total - before.total)) * os.cpus().length * 100) / 100
      : null;
  return { loadAverage: Math.round(os.loadavg()[0]! * 100) / 100, otherWorkCores };
}

/** The requests residents make, in a realistic mix, each address used in turn. */
function requestMix(postcodes: string[], serviceIds: string[]): Array<{ kind: string; path: string }> {
  const needs = [...NEED_TERMS.map((t) => t.code), ...NEED_GROUPS.map((g) => g.code)];
  const words = [
    'food',
    'housing',
    'counselling',
    'carers',
    'debt',
    'alcohol',
    'falls',
    'lonely',
    'benefits',
    'youth',
    'crisis',
    'domestic abuse',
  ];
  const distances = ['1', '3', '5', '10', '25'];
  const opens = ['SA', 'SU', 'weekends', 'evenings', 'MO', 'FR'];
  const mix: Array<{ kind: string; path: string }> = [];
  const q = (params: Record<string, string>) => `/services?${new URLSearchParams(params).toString()}`;
  for (let i = 0; i < 2000; i++) {
    const postcode = postcodes[(i * 7919) % postcodes.length]!;
    const need = needs[i % needs.length]!;
    const word = words[i % words.length]!;
    switch (i % 20) {
      case 0:
      case 1:
      case 2:
        mix.push({ kind: 'need', path: q({ need }) });
        break;
      case 3:
      case 4:
        mix.push({ kind: 'words', path: q({ q: word }) });
        break;
      case 5:
      case 6:
      case 7:
        mix.push({ kind: 'need near a postcode', path: q({ need, postcode, distance: distances[i % distances.length]! }) });
        break;
      case 8:
        mix.push({ kind: 'postcode only', path: q({ postcode }) });
        break;
      case 9:
        mix.push({ kind: 'self-referral', path: q({ need, self: 'yes' }) });
        break;
      case 10:
        mix.push({
          kind: 'filters',
          path: q({ need, age: String(5 + (i % 80)), cost: i % 2 ? 'free' : 'paid', open: opens[i % opens.length]! }),
        });
        break;
      case 11:
        mix.push({
          kind: 'everything at once',
          path: q({
            need,
            q: word.split(' ')[0]!,
            postcode,
            distance: '5',
            self: 'yes',
            cost: 'free',
            open: opens[i % opens.length]!,
            age: '40',
          }),
        });
        break;
      case 12:
        mix.push({ kind: 'browse', path: i % 40 === 12 ? '/services' : q({ page: String(2 + (i % 2)) }) });
        break;
      case 13:
        mix.push({ kind: 'bad postcode', path: q({ need, postcode: 'ZZ99 9ZZ' }) });
        break;
      default:
        mix.push({ kind: 'service page', path: `/services/${serviceIds[(i * 31) % serviceIds.length]!}` });
    }
  }
  return mix;
}

const { handle, cleanup } = await openDb();
try {
  const db = handle.db;
  await migrateToLatest(db);
  const progress = createProgress('Loading the demo place', people);
  const load = await loadSyntheticPlace(db, { seed: Number(values.seed), people }, progress);
  progress.stop();
  await createDemoAccounts(db);
  const counts = (
    await sql<{ persons: number; services: number; referrals: number }>`
    select (select count(*) from persons)::int as persons, (select count(*) from services)::int as services, (select count(*) from referrals)::int as referrals`.execute(
      db,
    )
  ).rows[0]!;
  const postcodes = (await sql<{ postcode: string }>`select postcode from postcodes order by postcode`.execute(db)).rows.map(
    (r) => r.postcode,
  );
  const serviceIds = (await sql<{ id: string }>`select id from services order by id`.execute(db)).rows.map((r) => r.id);
  const mix = requestMix(postcodes, serviceIds);

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

  const drive = async (mode: LoadJob['mode'], forSeconds: number) => {
    lines.length = 0;
    const job: LoadJob = {
      mode,
      url: `http://127.0.0.1:${port}`,
      cookie: '',
      paths: mix.map((m) => m.path),
      connections: 10,
      rate,
      seconds: forSeconds,
    };
    const result = await new Promise<LoadResult>((resolve, reject) => {
      const child = fork(fileURLToPath(new URL('./support/load-worker.ts', import.meta.url)));
      child.once('message', (message) => resolve(message as LoadResult));
      child.once('error', reject);
      child.send(job);
    });
    const logged = lines
      .map((l) => JSON.parse(l) as { msg?: string; path?: string; ms?: number; status?: number })
      .filter((l) => l.msg === 'request' && typeof l.ms === 'number' && l.path?.startsWith('/services'));
    const serverMs = logged.map((l) => l.ms!).sort((a, b) => a - b);
    const byKind: Record<string, number[]> = {};
    // The log names the route, not the address: service pages are /services/:id, the rest searches.
    for (const l of logged) (byKind[l.path === '/services/:id' ? 'service page' : 'search'] ??= []).push(l.ms!);
    return {
      mode,
      requests: result.requests.total,
      achievedRate: result.requests.average,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      serverMs: { p50: percentile(serverMs, 50), p99: percentile(serverMs, 99), max: serverMs.at(-1) ?? null, samples: serverMs.length },
      serverMsByRoute: Object.fromEntries(
        Object.entries(byKind).map(([k, v]) => {
          v.sort((a, b) => a - b);
          return [k, { p50: percentile(v, 50), p99: percentile(v, 99), samples: v.length }];
        }),
      ),
      clientMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    };
  };

  // Warm-up, not counted: statements prepared, pages in the cache, templates compiled.
  await drive('paced', WARM_UP_SECONDS);
  const results: Array<{
    machine: Awaited<ReturnType<typeof machine>>;
    paced: Awaited<ReturnType<typeof drive>>;
    autocannon: Awaited<ReturnType<typeof drive>>;
  }> = [];
  for (let run = 0; run < runs; run++) {
    const before = await machine();
    const paced = await drive('paced', seconds);
    const burst = await drive('autocannon', seconds);
    results.push({ machine: before, paced, autocannon: burst });
    console.error(
      `run ${run + 1}/${runs}: load ${before.loadAverage}, other work ${before.otherWorkCores} cores; paced p50 ${paced.serverMs.p50} p99 ${paced.serverMs.p99} ms (client p99 ${paced.clientMs.p99.toFixed(1)}), autocannon p99 ${burst.serverMs.p99} ms; errors ${paced.errors + paced.non2xx + burst.errors + burst.non2xx}`,
    );
  }
  await app.close();
  const figure = (pick: (r: (typeof results)[number]) => number | null) => {
    const numbers = results.map(pick).filter((n): n is number => n !== null);
    return numbers.length ? summarise('lower', numbers) : null;
  };
  console.log(
    JSON.stringify({
      benchmark: 'public-directory',
      engine: handle.kind,
      ...counts,
      loadSeconds: load.seconds,
      targetRate: rate,
      seconds,
      runs,
      goal: { p99ms: 100, rate: 100 },
      mix: Object.fromEntries([...new Set(mix.map((m) => m.kind))].map((k) => [k, mix.filter((m) => m.kind === k).length / mix.length])),
      pacedServerP99: figure((r) => r.paced.serverMs.p99),
      pacedServerP50: figure((r) => r.paced.serverMs.p50),
      pacedClientP99: figure((r) => r.paced.clientMs.p99),
      autocannonServerP99: figure((r) => r.autocannon.serverMs.p99),
      autocannonClientP99: figure((r) => r.autocannon.clientMs.p99),
      errors: results.reduce(
        (sum, r) =>
          sum + r.paced.errors + r.paced.non2xx + r.paced.timeouts + r.autocannon.errors + r.autocannon.non2xx + r.autocannon.timeouts,
        0,
      ),
      runsDetail: results,
    }),
  );
} finally {
  await cleanup();
}
