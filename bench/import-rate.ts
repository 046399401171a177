// Bulk import rate into PGlite and PostgreSQL, printing JSON.
//
//   node bench/import-rate.ts [--people 20000] [--copies 5] [--batch 10000] [--skip-pglite] [--skip-postgres] [--linked-only] [--place-cache]
//
// A synthetic place of --people residents is loaded (spine, agency records, trained linkage
// model). The feed is every agency record of that place (realistic typos, missing fields), sent
// --copies times under different record ids, as if several more systems held the same people.
// Two runs per database: the raw store rate (CSV parse, validation, idempotent upsert into
// source_records, checkpoint; no linking) and the rate with online linking through the person
// index (every record matched against the in-process index, then links, new persons and review
// items written in the same batch transaction). Last, the bulk path: the stored-only feed linked
// afterwards in one batch pass (`joinery index`). --linked-only measures the linked run alone.
// --place-cache (PostgreSQL) keeps the loaded place as a template database and measures on a
// copy of it, so a second run at city scale skips the place load (12 minutes at a million).
// --cpu-profile FILE writes a V8 CPU profile of this thread during the linked run.
// --place-only (with --place-cache) only makes the cached place, ahead of the runs that use it.
// --feed messy sends instead --people × --copies records of people new to the place, written by
// the independent corruptor in bench/foreign-data.ts (shape A: names, birth date, town, email;
// no NHS numbers; names swapped, day and month transposed, typos, blanks, common names): the
// hard case for linking as it goes, where every record must be matched and few stop early.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { PerformanceObserver } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { sql } from 'kysely';
import { openPglite, openPostgres, type DatabaseHandle } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { writePlaceCsv } from '../src/synth/write-csv.ts';
import { indexState } from '../src/linkage/index-state.ts';
import { indexPlaceRecords } from '../src/linkage/person-index.ts';
import { DEFAULT_BATCH_SIZE, canonicalSource, runImport, saveMapping, type ColumnMapping } from '../src/interop/import.ts';
import { ensureHeapLimit } from '../bin/heap-limit.mjs';
import { evaluateClusters } from '../src/linkage/evaluate.ts';
import { foreignData, type ErrorKind } from './foreign-data.ts';

// With the heap limit `joinery` itself runs with (the index of a city is several GB).
await ensureHeapLimit(import.meta.filename);

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '20000' },
    copies: { type: 'string', default: '5' },
    batch: { type: 'string', default: String(DEFAULT_BATCH_SIZE) },
    seed: { type: 'string', default: '2026' },
    'skip-pglite': { type: 'boolean', default: false },
    'skip-postgres': { type: 'boolean', default: false },
    'linked-only': { type: 'boolean', default: false },
    'place-cache': { type: 'boolean', default: false },
    'cpu-profile': { type: 'string' },
    'place-only': { type: 'boolean', default: false },
    feed: { type: 'string', default: 'copies' },
  },
});
const people = Number(values.people);
const copies = Number(values.copies);
const batchSize = Number(values.batch);
const seed = Number(values.seed);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-import-bench-'));
const placeDir = path.join(work, 'place');
await writePlaceCsv({ outDir: placeDir, people, seed });
const feed = path.join(work, 'feed.csv');
if (values.feed !== 'copies' && values.feed !== 'messy') throw new Error(`--feed must be copies or messy, got '${values.feed}'`);
const messy = values.feed === 'messy';
let records = 0;
/** The messy feed's truth: record id → who it is, and what errors it went through. */
let truth: Map<string, { cluster: string; errors: ErrorKind[] }> | undefined;
if (messy) {
  // Seeded apart from the place, so these are people the place does not hold.
  const data = foreignData({ records: people * copies, seed: seed + 1, shape: 'A' });
  fs.writeFileSync(feed, `${data.header.join(',')}\n${data.lines.join('\n')}\n`);
  records = data.lines.length;
  truth = new Map(data.truth.map(([id, cluster], i) => [id, { cluster: String(cluster), errors: data.errorsOf[i]! }]));
} else {
  const header = 'source,source_id,given_name,family_name,birth_date,sex,postcode,address,nhs_number,phone,email,recorded_at';
  const out = fs.createWriteStream(feed);
  out.write(`${header}\n`);
  const recordFiles = fs
    .readdirSync(placeDir)
    .filter((f) => f.startsWith('records_'))
    .sort();
  for (let copy = 0; copy < copies; copy++) {
    for (const file of recordFiles) {
      const lines = fs
        .readFileSync(path.join(placeDir, file), 'utf8')
        .split('\n')
        .slice(1)
        .filter((l) => l !== '');
      for (const line of lines) {
        const comma = line.indexOf(',', line.indexOf(',') + 1);
        const id = line.slice(line.indexOf(',') + 1, comma);
        out.write(`${line.slice(0, line.indexOf(','))},${id}-c${copy}${line.slice(comma)}\n`);
        records++;
      }
    }
  }
  await new Promise<void>((resolve) => out.end(resolve));
}

const mapping = (source: string): ColumnMapping =>
  messy
    ? {
        source,
        name: 'bench',
        idColumn: 'id',
        columns: { given_name: 'first_name', family_name: 'last_name', birth_date: 'dob', address: 'city', email: 'email' },
      }
    : {
        source,
        name: 'bench',
        idColumn: 'source_id',
        columns: {
          given_name: 'given_name',
          family_name: 'family_name',
          birth_date: 'birth_date',
          sex: 'sex',
          postcode: 'postcode',
          address: 'address',
          nhs_number: 'nhs_number',
          phone: 'phone',
          email: 'email',
        },
      };

/** CPU seconds used so far by this machine's PostgreSQL server processes (Linux /proc; 0 elsewhere). */
function postgresCpuSeconds(): number {
  let ticks = 0;
  try {
    for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (!stat.includes('(postgres)')) continue;
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        /* the process ended */
      }
    }
  } catch {
    return 0;
  }
  return ticks / 100;
}

/**
 * CPU seconds used by the server processes serving one database (a backend's title names its
 * database), sampled every half second while the run goes on, so a connection the pool closes
 * mid-run keeps what it used up to its last sample. Unlike postgresCpuSeconds this leaves out
 * other work on a shared server (but also the server's own background writers).
 */
function databaseCpuSampler(database: string): { stop(): number } {
  // Per process (pid and start time, so a reused pid is another process): its ticks when first
  // seen (0 for one started during the run) and at its last sample.
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  const others = new Set<string>();
  let initial = true;
  const sample = () => {
    try {
      for (const pid of fs.readdirSync('/proc')) {
        // Processes found not to serve the database are not read again (this runs on the importing thread).
        if (others.has(pid) || !/^\d+$/.test(pid)) continue;
        try {
          const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
          if (!stat.includes('(postgres)')) {
            others.add(pid);
            continue;
          }
          const title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          if (!title.includes(` ${database} `)) {
            // A backend just forked has not yet taken its title (naming its database): read it again.
            if (title.startsWith('postgres: ')) others.add(pid);
            continue;
          }
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          const ticks = Number(fields[11]) + Number(fields[12]);
          const key = `${pid}/${fields[19]}`;
          if (!first.has(key)) first.set(key, initial ? ticks : 0);
          last.set(key, ticks);
        } catch {
          /* the process ended */
        }
      }
    } catch {
      /* no /proc */
    }
    initial = false;
  };
  sample();
  const timer = setInterval(sample, 500);
  return {
    stop() {
      clearInterval(timer);
      sample();
      let ticks = 0;
      for (const [key, ticksThen] of first) ticks += last.get(key)! - ticksThen;
      return ticks / 100;
    },
  };
}

/** The server's current write-ahead log position. */
async function walPosition(db: DatabaseHandle['db']): Promise<string> {
  return (await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(db)).rows[0]!.lsn;
}

/** Megabytes of write-ahead log the server has written since `position`. */
async function walMegabytesSince(db: DatabaseHandle['db'], position: string): Promise<number> {
  return (
    Number(
      (await sql<{ bytes: string }>`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${position}::pg_lsn)::text as bytes`.execute(db)).rows[0]!
        .bytes,
    ) / 1e6
  );
}

/**
 * How right linking the messy feed was, against the corruptor's truth: pairwise and cluster
 * precision and recall over the records stored (rows set aside are not linked at all), feed
 * records joined to a resident of the place (every one is a false join: the feed's people are
 * new), and the review queue read against the truth (an item whose candidate person holds a
 * record of the same true person is a missed link waiting for a reviewer; the rest are
 * rightly doubted), with the errors of the records a reviewer would see.
 */
async function linkQuality(db: DatabaseHandle['db'], source: string, labels: NonNullable<typeof truth>) {
  const links = (
    await sql<{ id: string; source_id: string; person_id: string }>`
    select s.id::text, s.source_id, l.person_id from source_records s
    join record_links l on l.source_record_id = s.id and l.superseded_at is null where s.source = ${source}`.execute(db)
  ).rows;
  const residents = new Set(
    (
      await sql<{ person_id: string }>`
    select distinct l.person_id from record_links l join source_records s on s.id = l.source_record_id
    where s.source <> ${source} and l.superseded_at is null`.execute(db)
    ).rows.map((row) => row.person_id),
  );
  const evaluation = evaluateClusters(
    links.map((link) => ({ recordId: link.source_id, clusterId: link.person_id })),
    new Map([...labels].map(([id, label]) => [id, label.cluster])),
  );
  const clustersOfPerson = new Map<string, Set<string>>();
  for (const link of links) {
    const label = labels.get(link.source_id);
    if (!label) continue;
    const set = clustersOfPerson.get(link.person_id) ?? new Set<string>();
    set.add(label.cluster);
    clustersOfPerson.set(link.person_id, set);
  }
  const reviews = (
    await sql<{ source_id: string; candidate_person_id: string }>`
    select s.source_id, r.candidate_person_id from linkage_reviews r join source_records s on s.id = r.source_record_id
    where s.source = ${source}`.execute(db)
  ).rows;
  let sameInTruth = 0;
  const reviewedRecords = new Set<string>();
  const errorsOfSame = new Map<string, number>();
  for (const review of reviews) {
    reviewedRecords.add(review.source_id);
    const label = labels.get(review.source_id);
    if (label && clustersOfPerson.get(review.candidate_person_id)?.has(label.cluster)) {
      sameInTruth++;
      const key = label.errors.length === 0 ? '(none on this record)' : label.errors.join('+');
      errorsOfSame.set(key, (errorsOfSame.get(key) ?? 0) + 1);
    }
  }
  const round = (value: number) => Math.round(value * 10000) / 10000;
  return {
    recordsLinked: links.length,
    joinedToResidents: links.filter((link) => residents.has(link.person_id)).length,
    pairs: {
      precision: round(evaluation.pairs.precision),
      recall: round(evaluation.pairs.recall),
      f1: round(evaluation.pairs.f1),
      falsePositives: evaluation.pairs.falsePositives,
      falseNegatives: evaluation.pairs.falseNegatives,
    },
    clusters: { precision: round(evaluation.clusters.precision), recall: round(evaluation.clusters.recall) },
    review: {
      items: reviews.length,
      records: reviewedRecords.size,
      shareOfRecords: round(reviewedRecords.size / links.length),
      itemsSameInTruth: sameInTruth,
      itemsDifferentInTruth: reviews.length - sameInTruth,
      errorsWhereSame: Object.fromEntries([...errorsOfSame].sort((x, y) => y[1] - x[1]).slice(0, 12)),
    },
  };
}

/** Milliseconds this process has spent in garbage collection pauses so far. */
let gcMilliseconds = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMilliseconds += entry.duration;
}).observe({ entryTypes: ['gc'] });

async function measure(database: DatabaseHandle, placeLoaded = false) {
  const db = database.db;
  await migrateToLatest(db);
  let started = performance.now();
  if (!placeLoaded) await loadSyntheticPlace(db, { seed, people });
  const loadSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  await indexState(db);
  const indexLoadSeconds = (performance.now() - started) / 1000;

  const run = async (source: string, link: boolean) => {
    await saveMapping(db, mapping(source));
    const t0 = performance.now();
    const cpu0 = process.threadCpuUsage();
    const processCpu0 = process.cpuUsage();
    const postgresCpu0 = postgresCpuSeconds();
    const databaseName =
      database.kind === 'postgres' ? (await sql<{ name: string }>`select current_database() as name`.execute(db)).rows[0]!.name : undefined;
    const databaseCpu = databaseName === undefined ? undefined : databaseCpuSampler(databaseName);
    const wal0 = database.kind === 'postgres' ? await walPosition(db) : undefined;
    const gc0 = gcMilliseconds;
    const profiler = link && values['cpu-profile'] ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const result = await runImport(db, { source, file: feed, mapping: mapping(source), batchSize, link });
    const seconds = (performance.now() - t0) / 1000;
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      fs.writeFileSync(values['cpu-profile']!, JSON.stringify(profile));
      profiler.disconnect();
    }
    const gcSeconds = (gcMilliseconds - gc0) / 1000;
    const cpu = process.threadCpuUsage(cpu0);
    const processCpu = process.cpuUsage(processCpu0);
    const postgresCpu = database.kind === 'postgres' ? postgresCpuSeconds() - postgresCpu0 : undefined;
    const databaseCpuSeconds = databaseCpu?.stop();
    const walMegabytes = wal0 === undefined ? undefined : await walMegabytesSince(db, wal0);
    return {
      records: result.stored,
      errors: result.errors,
      seconds: Math.round(seconds * 100) / 100,
      recordsPerSecond: Math.round(result.stored / seconds),
      // This thread's CPU time: the rest of the wall time it waited on the database and the reader thread.
      mainThreadCpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
      // This process's CPU time (the reader thread and garbage collection besides), and the database server's.
      processCpuSeconds: Math.round((processCpu.user + processCpu.system) / 1e4) / 100,
      gcPauseSeconds: Math.round(gcSeconds * 100) / 100,
      ...(postgresCpu === undefined ? {} : { postgresCpuSeconds: Math.round(postgresCpu * 100) / 100 }),
      // Only the backends serving this run's database (the line above counts every process of the server).
      ...(databaseCpuSeconds === undefined ? {} : { postgresRunCpuSeconds: Math.round(databaseCpuSeconds * 100) / 100 }),
      // Per record stored: this thread, the whole process, and this run's backends.
      microsecondsPerRecord: {
        importingThread: Math.round(((cpu.user + cpu.system) / Math.max(1, result.stored)) * 10) / 10,
        process: Math.round(((processCpu.user + processCpu.system) / Math.max(1, result.stored)) * 10) / 10,
        ...(databaseCpuSeconds === undefined
          ? {}
          : { postgresRun: Math.round((databaseCpuSeconds * 1e6 * 10) / Math.max(1, result.stored)) / 10 }),
      },
      // Write-ahead log the server wrote meanwhile (all of it: other databases' writes count too).
      ...(walMegabytes === undefined ? {} : { postgresWalMegabytes: Math.round(walMegabytes) }),
      ...(link ? { linked: result.linked, newPersons: result.newPerson, review: result.review } : {}),
    };
  };
  if (values['linked-only']) {
    const linked = await run('bench-linked', true);
    console.error(JSON.stringify(linked));
    const quality = truth ? await linkQuality(db, await canonicalSource(db, 'bench-linked'), truth) : undefined;
    return {
      kind: database.kind,
      indexLoadSeconds: Math.round(indexLoadSeconds * 10) / 10,
      withLinking: linked,
      ...(quality ? { quality } : {}),
    };
  }
  const raw = await run('bench-raw', false);
  const linked = await run('bench-linked', true);
  const rerun = performance.now();
  const again = await runImport(db, { source: 'bench-linked', file: feed, mapping: mapping('bench-linked') });
  const againSeconds = (performance.now() - rerun) / 1000;
  // The bulk path: the stored-only feed (bench-raw) linked afterwards in one batch pass.
  const indexStarted = performance.now();
  const indexed = await indexPlaceRecords(db);
  const indexSeconds = (performance.now() - indexStarted) / 1000;
  const size = await sql<{ n: number }>`select count(*)::int as n from source_records`.execute(db);
  return {
    kind: database.kind,
    placeLoadSeconds: Math.round(loadSeconds * 10) / 10,
    indexLoadSeconds: Math.round(indexLoadSeconds * 10) / 10,
    rawStore: raw,
    withLinking: linked,
    storeThenBatchLink: {
      records: indexed.records,
      linkSeconds: Math.round(indexSeconds * 100) / 100,
      totalSeconds: Math.round((raw.seconds + indexSeconds) * 100) / 100,
      recordsPerSecond: Math.round(raw.records / (raw.seconds + indexSeconds)),
      linked: indexed.linked,
      newPersons: indexed.newPersons,
      reviews: indexed.reviews,
    },
    sameFileAgainSeconds: Math.round(againSeconds * 100) / 100,
    sameFileAgainStatus: again.status,
    sourceRecordsAfter: Number(size.rows[0]!.n),
  };
}

const results: unknown[] = [];
if (!values['skip-pglite']) {
  const database = await openPglite(path.join(work, 'pglite'));
  try {
    results.push(await measure(database));
  } finally {
    await database.close();
  }
}
const serverUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || 'postgres://127.0.0.1:5432/test';

/** A copy of a database holding the loaded place, made from a template kept between runs. */
async function cachedPlaceDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const cached = `joinery_bench_place_${people}_${seed}`;
  const withDatabase = (name: string) => {
    const u = new URL(url);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const admin = await openPostgres(url, { max: 1 });
  try {
    const exists = await sql<{ n: number }>`select count(*)::int as n from pg_database where datname = ${cached}`.execute(admin.db);
    if (exists.rows[0]!.n === 0) {
      // Loaded under another name and renamed when complete, so a cut-short load is never used.
      const loading = `${cached}_loading`;
      await sql`drop database if exists ${sql.id(loading)}`.execute(admin.db);
      await sql`create database ${sql.id(loading)}`.execute(admin.db);
      const target = await openPostgres(withDatabase(loading), { max: 4 });
      const started = performance.now();
      try {
        await migrateToLatest(target.db);
        await loadSyntheticPlace(target.db, { seed, people });
      } finally {
        await target.close();
      }
      console.error(JSON.stringify({ placeCached: cached, loadSeconds: Math.round((performance.now() - started) / 100) / 10 }));
      await sql`alter database ${sql.id(loading)} rename to ${sql.id(cached)}`.execute(admin.db);
    }
    const run = `joinery_bench_run_${randomBytes(5).toString('hex')}`;
    await sql`create database ${sql.id(run)} template ${sql.id(cached)}`.execute(admin.db);
    return {
      url: withDatabase(run),
      drop: async () => {
        const cleanup = await openPostgres(url, { max: 1 });
        await sql`drop database ${sql.id(run)}`.execute(cleanup.db);
        await cleanup.close();
      },
    };
  } finally {
    await admin.close();
  }
}

if (values['place-only']) {
  // Only the cached place, made ahead of the runs that will use it.
  if (!values['place-cache']) throw new Error('--place-only needs --place-cache');
  const copy = await cachedPlaceDatabase(serverUrl);
  await copy.drop();
  fs.rmSync(work, { recursive: true, force: true });
  process.exit(0);
}
if (!values['skip-postgres'] && values['place-cache']) {
  const copy = await cachedPlaceDatabase(serverUrl);
  try {
    // The import holds one connection for the index lock and runs three batches at once, and a
    // heartbeat besides: with fewer, a batch waits for a connection, and on a busy machine the
    // wait outlasts the pool's 5 s and fails the run.
    const database = await openPostgres(copy.url, { max: 6 });
    try {
      results.push(await measure(database, true));
    } finally {
      await database.close();
    }
  } finally {
    await copy.drop();
  }
} else if (!values['skip-postgres']) {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  try {
    const admin = await openPostgres(serverUrl, { max: 1 });
    await sql`create schema ${sql.id(schema)}`.execute(admin.db);
    await admin.close();
    const database = await openPostgres(serverUrl, { searchPath: schema, max: 6 });
    try {
      results.push(await measure(database));
    } finally {
      await database.close();
      const cleanup = await openPostgres(serverUrl, { max: 1 });
      await sql`drop schema ${sql.id(schema)} cascade`.execute(cleanup.db);
      await cleanup.close();
    }
  } catch (error) {
    results.push({ kind: 'postgres', skipped: (error as Error).message.split('\n')[0] });
  }
}
fs.rmSync(work, { recursive: true, force: true });
console.log(
  JSON.stringify(
    { benchmark: 'import-rate', people, copies, feed: values.feed, feedRecords: records, batchSize, cpus: os.cpus().length, results },
    null,
    2,
  ),
);
