// Bulk import rate into PGlite and PostgreSQL, printing JSON.
//
//   node bench/import-rate.ts [--people 20000] [--copies 5] [--batch 5000] [--skip-pglite] [--skip-postgres] [--linked-only]
//
// A synthetic place of --people residents is loaded (spine, agency records, trained linkage
// model). The feed is every agency record of that place (realistic typos, missing fields), sent
// --copies times under different record ids, as if several more systems held the same people.
// Two runs per database: the raw store rate (CSV parse, validation, idempotent upsert into
// source_records, checkpoint; no linking) and the rate with online linking through the person
// index (every record matched against the in-process index, then links, new persons and review
// items written in the same batch transaction). Last, the bulk path: the stored-only feed linked
// afterwards in one batch pass (`joinery index`). --linked-only stops after the linked run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { openPglite, openPostgres, type DatabaseHandle } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/platform/migrate.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { writePlaceCsv } from '../src/synth/write-csv.ts';
import { indexState } from '../src/linkage/index-state.ts';
import { indexPlaceRecords } from '../src/linkage/person-index.ts';
import { runImport, saveMapping, type ColumnMapping } from '../src/interop/import.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '20000' },
    copies: { type: 'string', default: '5' },
    batch: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '2026' },
    'skip-pglite': { type: 'boolean', default: false },
    'skip-postgres': { type: 'boolean', default: false },
    'linked-only': { type: 'boolean', default: false },
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
const header = 'source,source_id,given_name,family_name,birth_date,sex,postcode,address,nhs_number,phone,email,recorded_at';
const out = fs.createWriteStream(feed);
out.write(`${header}\n`);
let records = 0;
const recordFiles = fs.readdirSync(placeDir).filter((f) => f.startsWith('records_')).sort();
for (let copy = 0; copy < copies; copy++) {
  for (const file of recordFiles) {
    const lines = fs.readFileSync(path.join(placeDir, file), 'utf8').split('\n').slice(1).filter((l) => l !== '');
    for (const line of lines) {
      const comma = line.indexOf(',', line.indexOf(',') + 1);
      const id = line.slice(line.indexOf(',') + 1, comma);
      out.write(`${line.slice(0, line.indexOf(','))},${id}-c${copy}${line.slice(comma)}\n`);
      records++;
    }
  }
}
await new Promise<void>((resolve) => out.end(resolve));

const mapping = (source: string): ColumnMapping => ({
  source, name: 'bench', idColumn: 'source_id',
  columns: { given_name: 'given_name', family_name: 'family_name', birth_date: 'birth_date', sex: 'sex', postcode: 'postcode', address: 'address', nhs_number: 'nhs_number', phone: 'phone', email: 'email' },
});

async function measure(database: DatabaseHandle) {
  const db = database.db;
  await migrateToLatest(db);
  let started = performance.now();
  await loadSyntheticPlace(db, { seed, people });
  const loadSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  await indexState(db);
  const indexLoadSeconds = (performance.now() - started) / 1000;

  const run = async (source: string, link: boolean) => {
    await saveMapping(db, mapping(source));
    const t0 = performance.now();
    const cpu0 = process.threadCpuUsage();
    const result = await runImport(db, { source, file: feed, mapping: mapping(source), batchSize, link });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.threadCpuUsage(cpu0);
    return {
      records: result.stored, errors: result.errors, seconds: Math.round(seconds * 100) / 100, recordsPerSecond: Math.round(result.stored / seconds),
      // This thread's CPU time: the rest of the wall time it waited on the database and the reader thread.
      mainThreadCpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
      ...(link ? { linked: result.linked, newPersons: result.newPerson, review: result.review } : {}),
    };
  };
  const raw = await run('bench-raw', false);
  const linked = await run('bench-linked', true);
  if (values['linked-only']) {
    console.error(JSON.stringify(linked));
    return { kind: database.kind, withLinking: linked };
  }
  const rerun = performance.now();
  const again = await runImport(db, { source: 'bench-linked', file: feed, mapping: mapping('bench-linked') });
  const againSeconds = (performance.now() - rerun) / 1000;
  // The bulk path: the stored-only feed (bench-raw) linked afterwards in one batch pass.
  const indexStarted = performance.now();
  const indexed = await indexPlaceRecords(db);
  const indexSeconds = (performance.now() - indexStarted) / 1000;
  const size = await sql<{ n: number }>`select count(*)::int as n from source_records`.execute(db);
  return {
    kind: database.kind, placeLoadSeconds: Math.round(loadSeconds * 10) / 10, indexLoadSeconds: Math.round(indexLoadSeconds * 10) / 10,
    rawStore: raw, withLinking: linked,
    storeThenBatchLink: {
      records: indexed.records, linkSeconds: Math.round(indexSeconds * 100) / 100,
      totalSeconds: Math.round((raw.seconds + indexSeconds) * 100) / 100,
      recordsPerSecond: Math.round(raw.records / (raw.seconds + indexSeconds)),
      linked: indexed.linked, newPersons: indexed.newPersons, reviews: indexed.reviews,
    }, sameFileAgainSeconds: Math.round(againSeconds * 100) / 100, sameFileAgainStatus: again.status,
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
if (!values['skip-postgres']) {
  const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || 'postgres://127.0.0.1:5432/test';
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  try {
    const admin = await openPostgres(url, { max: 1 });
    await sql`create schema ${sql.id(schema)}`.execute(admin.db);
    await admin.close();
    const database = await openPostgres(url, { searchPath: schema, max: 4 });
    try {
      results.push(await measure(database));
    } finally {
      await database.close();
      const cleanup = await openPostgres(url, { max: 1 });
      await sql`drop schema ${sql.id(schema)} cascade`.execute(cleanup.db);
      await cleanup.close();
    }
  } catch (error) {
    results.push({ kind: 'postgres', skipped: (error as Error).message.split('\n')[0] });
  }
}
fs.rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify({ benchmark: 'import-rate', people, copies, feedRecords: records, batchSize, cpus: os.cpus().length, results }, null, 2));
