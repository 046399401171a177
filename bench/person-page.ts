// The shared person page and person search at city scale.
// Usage: node bench/person-page.ts [--people 1000000] [--engine postgres|pglite] [--workers N] [--rate 200] [--seconds 30]
//        [--schema NAME --keep] [--cpu-prof DIR]
// Loads a synthetic place (agency records joined by ground truth: see PlaceLinking), serves it,
// drives the person page at a fixed request rate (paced arrivals, then autocannon's bursts; the
// load sent from its own process, as clients are other machines), and times person searches.
// On PostgreSQL the server is `joinery serve` in its own process (`--workers N` gives it N
// processes sharing the port); on PGlite it runs in this process, as the embedded database can
// have only one.
// Prints one JSON object. Server time comes from the server's own request log. CPU per request
// is the server processes' CPU time (from /proc, or process.cpuUsage in-process) and the
// PostgreSQL backends' serving them (found by application_name in pg_stat_activity), divided by
// the requests sent: unlike latency, it hardly moves when other work shares the machine.
// JOINERY_BENCH_SLOWEST=1 also prints the 30 slowest page requests to stderr.
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoadJob, LoadResult } from './support/load-worker.ts';
import pino from 'pino';
import { sql } from 'kysely';
import { openPglite, openPostgres, type DatabaseHandle } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { loadConfig } from '../src/platform/config.ts';
import { createProgress } from '../src/platform/progress.ts';
import { createApp } from '../src/app.ts';
import { isPlaceLoaded, loadSyntheticPlace } from '../src/demo/load-place.ts';
import { createDemoAccounts, DEMO_PASSWORD } from '../src/demo/index.ts';
import { userForSession } from '../src/auth/accounts.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '1000000' },
    engine: { type: 'string', default: 'postgres' },
    workers: { type: 'string', default: '1' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '30' },
    schema: { type: 'string' },
    keep: { type: 'boolean', default: false },
    seed: { type: 'string', default: '2026' },
    'cpu-prof': { type: 'string' },
  },
});
const people = Number(values.people);
const workers = Number(values.workers);
const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';
const WARM_UP_SECONDS = 5;
const CLK_TCK = 100; // Linux's USER_HZ: /proc times are in hundredths of a second
const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : null;
if (values.engine === 'pglite' && workers !== 1)
  throw new Error('--workers needs --engine postgres: the embedded database serves one process');

const schema = values.engine === 'pglite' ? undefined : (values.schema ?? `bench_pp_${randomBytes(4).toString('hex')}`);
// The server's connections name themselves, so their PostgreSQL backends can be told from other work's.
const applicationName = `joinery_bench_${randomBytes(4).toString('hex')}`;

async function openDb(): Promise<{ handle: DatabaseHandle; cleanup: () => Promise<void> }> {
  if (values.engine === 'pglite') {
    const handle = await openPglite(values.schema ? values.schema : 'memory://');
    return { handle, cleanup: () => handle.close() };
  }
  const admin = await openPostgres(serverUrl, { max: 1 });
  await sql`create schema if not exists ${sql.id(schema!)}`.execute(admin.db);
  const handle = await openPostgres(serverUrl, { searchPath: `${schema},public`, max: 10 });
  return {
    handle,
    cleanup: async () => {
      await handle.close();
      if (!values.keep) await sql`drop schema ${sql.id(schema!)} cascade`.execute(admin.db);
      await admin.close();
    },
  };
}

/** CPU seconds (user + system) a process has used so far, or 0 once it is gone. */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** A process and every process below it (a serve command's workers). */
function processTree(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, parent] of parentOf) if (parent === tree[i]) tree.push(pid);
  return tree;
}

/** The server's CPU: its process tree's from /proc, or this process's own when it serves in-process. */
interface Server {
  url: string;
  cpuSeconds(): number;
  /** Lines of the server's request log since the last call. */
  takeLog(): string[];
  close(): Promise<void>;
}

async function startInProcess(handle: DatabaseHandle): Promise<Server> {
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
  return {
    url: `http://127.0.0.1:${port}`,
    cpuSeconds: () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1e6;
    },
    takeLog: () => lines.splice(0, lines.length),
    close: () => app.close(),
  };
}

async function startServeCommand(): Promise<Server> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const url = new URL(serverUrl);
  url.searchParams.set('options', `-c search_path=${schema},public`);
  url.searchParams.set('application_name', applicationName);
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-bench-'));
  const nodeArgs = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(values['cpu-prof'])] : [];
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, cli, 'serve', '--no-migrate', ...(workers > 1 ? ['--workers', String(workers)] : [])],
    {
      env: {
        ...process.env,
        DATABASE_URL: url.toString(),
        PORT: String(port),
        LOG_LEVEL: 'info',
        JOINERY_AUDIT_CHECKPOINT_FILE: path.join(tmp, 'audit-checkpoints.log'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk) => {
    const text = partial + String(chunk);
    const cut = text.lastIndexOf('\n');
    partial = text.slice(cut + 1);
    if (cut >= 0) for (const line of text.slice(0, cut).split('\n')) if (line.startsWith('{')) lines.push(line);
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const base = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null || attempt > 600) throw new Error(`the server did not start: ${stderr}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Every worker listening: one /health answer proves only one of them.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  return {
    url: base,
    cpuSeconds: () => processTree(child.pid!).reduce((sum, pid) => sum + cpuSecondsOf(pid), 0),
    takeLog: () => lines.splice(0, lines.length),
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** CPU seconds of the PostgreSQL backends serving the server, each counted from when it was first seen. */
function postgresCpu(db: DatabaseHandle['db']) {
  const seen = new Map<number, { first: number; last: number }>();
  const sample = async () => {
    if (values.engine === 'pglite') return;
    const pids = (
      await sql<{ pid: number }>`select pid from pg_stat_activity where application_name = ${applicationName}`.execute(db)
    ).rows.map((r) => Number(r.pid));
    for (const pid of pids) {
      const cpu = cpuSecondsOf(pid);
      const entry = seen.get(pid);
      if (!entry) seen.set(pid, { first: cpu, last: cpu });
      else if (cpu > 0) entry.last = cpu;
    }
  };
  return {
    sample,
    /** CPU seconds used since `mark` was taken. */
    mark: () => new Map([...seen].map(([pid, e]) => [pid, e.last])),
    since(mark: Map<number, number>): number {
      let sum = 0;
      for (const [pid, e] of seen) sum += e.last - (mark.get(pid) ?? e.first);
      return sum;
    },
  };
}

async function signInOverHttp(base: string, username: string): Promise<string> {
  const page = await fetch(`${base}/sign-in`);
  const csrfCookie = /joinery_csrf=([^;]+)/.exec(page.headers.getSetCookie().join('\n'))?.[1];
  const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!csrfCookie || !token) throw new Error('the sign-in page carries no CSRF token');
  const response = await fetch(`${base}/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: `joinery_csrf=${csrfCookie}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password: DEMO_PASSWORD, _csrf: token }).toString(),
  });
  const session = /joinery_session=([^;]+)/.exec(response.headers.getSetCookie().join('\n'))?.[1];
  if (response.status !== 302 || !session) throw new Error(`sign-in as ${username} failed with ${response.status}`);
  return `joinery_session=${session}; joinery_csrf=${csrfCookie}`;
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

  const server = values.engine === 'pglite' ? await startInProcess(handle) : await startServeCommand();
  const cookie = await signInOverHttp(server.url, 'practitioner');
  const user = (await userForSession(db, /joinery_session=([^;]+)/.exec(cookie)![1]!))!;
  const backends = postgresCpu(db);

  // People the practitioner's organisation knows: the pages a real caseload opens.
  const ids = (
    await sql<{ person_id: string }>`
    select distinct l.person_id from record_links l join source_records s on s.id = l.source_record_id
    join organisations o on o.source_code = s.source where o.id = ${user.organisationId} and l.superseded_at is null
    order by l.person_id limit 5000`.execute(db)
  ).rows.map((r) => r.person_id);

  /** Runs `work`, returning its result and the server's and its backends' CPU per request in µs. */
  const metered = async <T>(requests: () => number, work: () => Promise<T>) => {
    await backends.sample();
    const mark = backends.mark();
    const serverBefore = server.cpuSeconds();
    const poll = setInterval(() => void backends.sample(), 500);
    const result = await work();
    clearInterval(poll);
    await backends.sample();
    const n = Math.max(1, requests());
    const serverUs = Math.round(((server.cpuSeconds() - serverBefore) * 1e6) / n);
    const postgresUs = values.engine === 'pglite' ? null : Math.round((backends.since(mark) * 1e6) / n);
    return { result, cpuUsPerRequest: { server: serverUs, postgres: postgresUs, total: serverUs + (postgresUs ?? 0) } };
  };

  // The same pages driven two ways (see support/load-worker.ts): paced arrivals, then autocannon's bursts.
  const drive = async (mode: LoadJob['mode'], seconds = Number(values.seconds)) => {
    server.takeLog();
    const job: LoadJob = {
      mode,
      url: server.url,
      cookie,
      paths: ids.map((id) => `/people/${id}`),
      connections: 20,
      rate: Number(values.rate),
      seconds,
    };
    let sent = 0;
    const { result, cpuUsPerRequest } = await metered(
      () => sent,
      () =>
        new Promise<LoadResult>((resolve, reject) => {
          const child = fork(fileURLToPath(new URL('./support/load-worker.ts', import.meta.url)));
          child.once('message', (message) => {
            sent = (message as LoadResult).requests.total;
            resolve(message as LoadResult);
          });
          child.once('error', reject);
          child.send(job);
        }),
    );
    // The last requests' log lines may still be on their way through the pipe.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = server.takeLog().map((l) => JSON.parse(l) as { msg?: string; path?: string; ms?: number });
    if (process.env.JOINERY_BENCH_SLOWEST) {
      const slow = lines
        .filter((l) => l.path?.startsWith('/people/'))
        .sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0))
        .slice(0, 30);
      console.error(JSON.stringify(slow));
    }
    const serverMs = lines
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
      cpuUsPerRequest,
    };
  };
  const loadAverage = () => os.loadavg().map((l) => Math.round(l * 100) / 100);
  const loadBefore = loadAverage();
  // Warm-up, not counted: every pooled connection prepares its statements and PostgreSQL reads
  // the pages into its cache (the first second's requests otherwise set the p99).
  await drive('paced', WARM_UP_SECONDS);
  const pacedPage = await drive('paced');
  const burstPage = await drive('autocannon');

  // Person search through the search page, one query at a time: misspelt names, names with dates
  // of birth, NHS numbers, and the place's commonest family names (misspelt, and with a date of
  // birth), each sent looking for one person, who must be among the people found.
  const sample = (
    await sql<{ id: string; given_name: string; family_name: string; birth_date: string; nhs_number: string | null }>`
    select id, given_name, family_name, birth_date, nhs_number from persons where id = any(${ids.slice(0, 300)})`.execute(db)
  ).rows;
  const commonest = (
    await sql<{ id: string; given_name: string; family_name: string; birth_date: string }>`
    with top as (select family_name from persons where merged_into is null group by family_name order by count(*) desc limit 10)
    select p.id, p.given_name, p.family_name, p.birth_date from persons p join top using (family_name)
    where p.id = any(${ids}) order by p.id limit 100`.execute(db)
  ).rows;
  /** A typo inside a word: two letters after the first swapped (Smith → Simth). */
  const swapped = (word: string) => (word.length < 4 ? word : word[0] + word[2] + word[1] + word.slice(3));
  const dmy = (date: string) => date.split('-').reverse().join('/');
  const queries: Array<{ q: string; personId: string; kind: string }> = [
    ...sample.flatMap((p) => [
      { q: `${p.given_name} ${p.family_name.slice(0, -1)}`, personId: p.id, kind: 'misspelt name' },
      { q: `${p.family_name} ${dmy(p.birth_date)}`, personId: p.id, kind: 'family name and date of birth' },
      ...(p.nhs_number ? [{ q: p.nhs_number, personId: p.id, kind: 'NHS number' }] : []),
    ]),
    ...commonest.flatMap((p) => [
      { q: `${p.given_name} ${p.family_name}`, personId: p.id, kind: 'common name' },
      { q: `${p.given_name} ${swapped(p.family_name)}`, personId: p.id, kind: 'common name misspelt' },
      { q: `${swapped(p.family_name)} ${dmy(p.birth_date)}`, personId: p.id, kind: 'common name misspelt and date of birth' },
    ]),
  ];
  const searchMs: number[] = [];
  const byKind = new Map<string, { queries: number; found: number; ms: number[] }>();
  let found = 0;
  let foundOnFirstPage = 0;
  const search = await metered(
    () => queries.length,
    async () => {
      for (const { q, personId, kind } of queries) {
        const started = process.hrtime.bigint();
        let body = await (await fetch(`${server.url}/search?q=${encodeURIComponent(q)}`, { headers: { cookie } })).text();
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        searchMs.push(ms);
        const here = (html: string) => html.includes(`href="/people/${personId}"`);
        let hit = here(body);
        if (hit) foundOnFirstPage += 1;
        // Not on the first page of 25: the later pages (at most four) are what the searcher would read on.
        for (let page = 2; !hit && page <= 4 && body.includes(`page=${page}`); page++) {
          body = await (await fetch(`${server.url}/search?q=${encodeURIComponent(q)}&page=${page}`, { headers: { cookie } })).text();
          hit = here(body);
        }
        if (hit) found += 1;
        const entry = byKind.get(kind) ?? { queries: 0, found: 0, ms: [] };
        entry.queries += 1;
        entry.found += hit ? 1 : 0;
        entry.ms.push(ms);
        byKind.set(kind, entry);
      }
    },
  );
  searchMs.sort((a, b) => a - b);
  await server.close();
  console.log(
    JSON.stringify({
      benchmark: 'person-page-and-search',
      engine: handle.kind,
      workers,
      ...counts,
      loadSeconds,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAverage(),
      personPage: pacedPage,
      personPageAutocannonBursts: burstPage,
      search: {
        queries: queries.length,
        foundShare: found / Math.max(1, queries.length),
        foundOnFirstPageShare: foundOnFirstPage / Math.max(1, queries.length),
        ms: { p50: percentile(searchMs, 50), p99: percentile(searchMs, 99), max: searchMs.at(-1) ?? null },
        cpuUsPerQuery: search.cpuUsPerRequest,
        byKind: Object.fromEntries(
          [...byKind].map(([kind, e]) => {
            const sorted = e.ms.sort((a, b) => a - b);
            return [
              kind,
              { queries: e.queries, found: e.found, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) },
            ];
          }),
        ),
      },
    }),
  );
} finally {
  await cleanup();
}
