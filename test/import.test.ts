// Bulk imports: CSV through a saved mapping, NDJSON and Bundles of FHIR Patients. Row-level
// errors keep their line numbers and do not stop the good rows; people are linked through the
// person index as the import goes; a run stopped mid-way resumes losing and duplicating nothing,
// both in-process and when the `joinery import` command is killed (SIGKILL) and run again.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { testDatabaseTargets } from '../src/testing.ts';
import { openPglite, openPostgres, withDefaultUser } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import type { Database } from '../src/schema.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { forgetIndexState } from '../src/linkage/index-state.ts';
import { runImport, saveMapping, importErrors, type ColumnMapping } from '../src/interop/import.ts';
import { clinicalEntries } from '../src/fhir/index.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-import-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const HEADER = 'RecordId,Forename,Surname,DOB,Gender,NHS,Postcode';
const mappingFor = (source: string): ColumnMapping => ({
  source,
  name: 'standard',
  idColumn: 'RecordId',
  columns: { given_name: 'Forename', family_name: 'Surname', birth_date: 'DOB', sex: 'Gender', nhs_number: 'NHS', postcode: 'Postcode' },
});

interface Feed {
  file: string;
  good: number;
  badLines: number[];
  lines: number;
}

/**
 * A feed of `count` rows: most are people on the spine (written the way an agency would), some
 * are new people, and every 97th row is bad in one of four ways (line numbers remembered).
 */
async function writeFeed(db: Kysely<Database>, file: string, count: number, prefix: string): Promise<Feed> {
  const people = (
    await sql<{
      given_name: string;
      family_name: string;
      birth_date: string | null;
      sex: string | null;
      nhs_number: string | null;
      postcode: string | null;
    }>`
    select p.given_name, p.family_name, p.birth_date::text as birth_date, p.sex, p.nhs_number, h.postcode
    from persons p left join households h on h.id = p.household_id where p.merged_into is null order by p.id limit ${count}`.execute(db)
  ).rows;
  const lines = [HEADER];
  const badLines: number[] = [];
  let good = 0;
  for (let i = 0; i < count; i++) {
    const line = i + 2;
    const p = people[i % people.length]!;
    const dob = p.birth_date ? `${p.birth_date.slice(8, 10)}/${p.birth_date.slice(5, 7)}/${p.birth_date.slice(0, 4)}` : '';
    if (i % 97 === 96) {
      badLines.push(line);
      const kind = (i / 97) % 4;
      if (kind < 1)
        lines.push(`,${p.given_name},${p.family_name},${dob},${p.sex ?? ''},,${p.postcode ?? ''}`); // no record id
      else if (kind < 2)
        lines.push(`${prefix}-${i},${p.given_name},${p.family_name},31/02/1990,${p.sex ?? ''},,`); // no such date
      else if (kind < 3)
        lines.push(`${prefix}-${i},,,${dob},,,`); // no name
      else lines.push(`${prefix}-${i},${p.given_name},${p.family_name}`); // too few columns
      continue;
    }
    good++;
    if (i >= people.length) {
      // Someone the spine does not know.
      lines.push(`${prefix}-${i},Zebedee${i},Newcomer${i},0${1 + (i % 9)}/0${1 + (i % 9)}/19${50 + (i % 40)},male,,ZZ${i % 9} 9ZZ`);
    } else {
      lines.push(
        `${prefix}-${i},${p.given_name},${p.family_name},${dob},${p.sex ?? ''},${i % 3 === 0 ? (p.nhs_number ?? '') : ''},${p.postcode ?? ''}`,
      );
    }
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return { file, good, badLines, lines: count + 1 };
}

async function countFor(db: Kysely<Database>, source: string) {
  const row = (
    await sql<{ records: number; distinct_ids: number; linked: number; links: number }>`
    select count(*)::int as records, count(distinct s.source_id)::int as distinct_ids,
      count(l.id)::int as linked,
      (select count(*)::int from record_links l2 join source_records s2 on s2.id = l2.source_record_id where s2.source = ${source}) as links
    from source_records s left join record_links l on l.source_record_id = s.id and l.superseded_at is null
    where s.source = ${source}`.execute(db)
  ).rows[0]!;
  return { records: Number(row.records), distinctIds: Number(row.distinct_ids), linked: Number(row.linked), links: Number(row.links) };
}

for (const target of await testDatabaseTargets()) {
  describe(`imports on ${target.kind}`, () => {
    test('a CSV import stopped mid-way resumes with exact counts; errors keep their line numbers; people link', async () => {
      const database = await target.open();
      const db = database.db;
      try {
        await loadSyntheticPlace(db, { seed: 11, people: 600 });
        await saveMapping(db, mappingFor('test-gp'));
        const feed = await writeFeed(db, path.join(tmp, `feed-${target.kind}.csv`), 1500, 'gp');

        // Stop after the second committed batch, as a crash would.
        let batches = 0;
        await assert.rejects(
          runImport(db, {
            source: 'test-gp',
            file: feed.file,
            mapping: mappingFor('test-gp'),
            batchSize: 200,
            afterBatch: () => {
              if (++batches === 2) throw new Error('simulated crash');
            },
          }),
          /simulated crash/,
        );
        forgetIndexState(db); // a new process starts with a fresh index
        const job = await db.selectFrom('import_jobs').selectAll().where('source', '=', 'test-gp').executeTakeFirstOrThrow();
        assert.equal(job.status, 'failed', 'a run that stops on an error says so (and resumes below)');
        assert.match(job.failure ?? '', /send the same file again to resume/);
        const partial = await countFor(db, 'test-gp');
        assert.ok(Number(job.lines_done) > 1 && Number(job.lines_done) < feed.lines, 'stopped part-way');
        assert.equal(partial.records, Number(job.records_stored), 'exactly the checkpointed rows are stored');

        const done = await runImport(db, { source: 'test-gp', file: feed.file, mapping: mappingFor('test-gp'), batchSize: 200 });
        assert.equal(done.status, 'done');
        assert.equal(done.resumed, true);
        assert.equal(done.linesDone, feed.lines);
        assert.equal(done.stored, feed.good, 'every good row stored once');
        const unexpected = (await importErrors(db, done.jobId, 1000)).filter((e) => !feed.badLines.includes(e.line));
        assert.deepEqual(unexpected, [], 'only the bad rows are refused');
        assert.equal(done.errors, feed.badLines.length);
        assert.equal(
          done.linked + done.newPerson + done.review,
          feed.good,
          'every stored row was linked, made a new person or went for review',
        );
        assert.ok(done.linked > feed.good * 0.6, `most rows matched someone on the spine (${done.linked} of ${feed.good})`);
        const counts = await countFor(db, 'test-gp');
        assert.deepEqual(
          counts,
          { records: feed.good, distinctIds: feed.good, linked: feed.good, links: feed.good },
          'nothing lost, nothing twice',
        );
        assert.deepEqual(
          (await importErrors(db, done.jobId, 1000)).map((e) => e.line),
          feed.badLines,
          'errors carry their line numbers',
        );
        const messages = new Set((await importErrors(db, done.jobId, 1000)).map((e) => e.message.split(' ').slice(0, 3).join(' ')));
        assert.ok(messages.size >= 3, 'different faults are told apart');

        // The same file again: nothing to do. A changed file: only the changed rows move.
        const again = await runImport(db, { source: 'test-gp', file: feed.file, mapping: mappingFor('test-gp') });
        assert.equal(again.jobId, done.jobId);
        assert.deepEqual(await countFor(db, 'test-gp'), counts);
        const edited = fs.readFileSync(feed.file, 'utf8').split('\n');
        edited[2] = edited[2]!.replace(/,[^,]*$/, ',RV9 9ZZ');
        fs.writeFileSync(path.join(tmp, `feed-${target.kind}-2.csv`), edited.join('\n'));
        const second = await runImport(db, {
          source: 'test-gp',
          file: path.join(tmp, `feed-${target.kind}-2.csv`),
          mapping: mappingFor('test-gp'),
        });
        assert.equal(second.stored, 1, 'only the changed row is stored again');
        assert.equal(second.unchanged, feed.good - 1);
        const history = await sql<{
          n: number;
        }>`select count(*)::int as n from source_record_history h join source_records s on s.id = h.source_record_id where s.source = 'test-gp'`.execute(
          db,
        );
        assert.equal(Number(history.rows[0]!.n), 1, 'the old version is kept in history');
      } finally {
        await database.close();
      }
    });

    test('NDJSON and Bundle feeds of FHIR Patients', async () => {
      const database = await target.open();
      const db = database.db;
      try {
        await loadSyntheticPlace(db, { seed: 11, people: 600 });
        const people = await db
          .selectFrom('persons')
          .select(['id', 'given_name', 'family_name', 'birth_date', 'sex'])
          .orderBy('id')
          .limit(50)
          .execute();
        const patients = people.map((p, i) => ({
          resourceType: 'Patient',
          id: `hosp-${i}`,
          name: [{ family: p.family_name, given: [p.given_name] }],
          birthDate: p.birth_date ?? undefined,
          gender: p.sex ?? undefined,
        }));
        const ndjson = path.join(tmp, `patients-${target.kind}.ndjson`);
        fs.writeFileSync(
          ndjson,
          [
            ...patients.slice(0, 40).map((p) => JSON.stringify(p)),
            '{not json',
            JSON.stringify({ resourceType: 'Observation', id: 'o1' }),
          ].join('\n'),
        );
        const result = await runImport(db, { source: 'test-hospital', file: ndjson, batchSize: 16 });
        assert.equal(result.stored, 40);
        assert.deepEqual(
          (await importErrors(db, result.jobId)).map((e) => e.line),
          [41, 42],
        );
        const bundleFile = path.join(tmp, `patients-${target.kind}.json`);
        fs.writeFileSync(
          bundleFile,
          JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: patients.slice(30).map((resource) => ({ resource })) }),
        );
        const fromBundle = await runImport(db, { source: 'test-hospital', file: bundleFile, clinical: clinicalEntries });
        assert.equal(fromBundle.stored, 10, 'the 10 not seen before');
        assert.equal(fromBundle.unchanged, 10, 'the 10 already received are unchanged');
        assert.equal((await countFor(db, 'test-hospital')).records, 50);
      } finally {
        await database.close();
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The real command, killed with SIGKILL part-way and run again.

const cli = path.resolve('src/cli.ts');
const nodeBin = process.execPath;

function runCli(
  args: string[],
  env: Record<string, string>,
  killWhen?: (output: string) => boolean,
): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBin, [cli, ...args], { env: { ...process.env, ...env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let killed = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!killed && killWhen?.(output)) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

interface CliTarget {
  kind: string;
  env: Record<string, string>;
  open(): Promise<{ db: Kysely<Database>; close(): Promise<void> }>;
  cleanup(): Promise<void>;
}

async function cliTargets(): Promise<CliTarget[]> {
  const dir = path.join(tmp, 'pglite-data');
  const targets: CliTarget[] = [
    {
      kind: 'pglite',
      env: { JOINERY_DATA_DIR: dir, DATABASE_URL: '' },
      open: () => openPglite(dir),
      cleanup: async () => {},
    },
  ];
  if ((await testDatabaseTargets()).some((t) => t.kind === 'postgres')) {
    const url = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';
    const schema = `jt_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: withDefaultUser(url) });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    const withSchema = `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    targets.push({
      kind: 'postgres',
      env: { DATABASE_URL: withSchema },
      open: () => openPostgres(url, { searchPath: schema, max: 2 }),
      cleanup: async () => {
        const c = new pg.Client({ connectionString: withDefaultUser(url) });
        await c.connect();
        await c.query(`drop schema ${schema} cascade`);
        await c.end();
      },
    });
  }
  return targets;
}

describe('joinery import killed mid-way', async () => {
  for (const target of await cliTargets()) {
    test(`resumes after SIGKILL with exact counts (${target.kind})`, { timeout: 600_000 }, async () => {
      try {
        let feed: Feed;
        {
          const database = await target.open();
          await migrateToLatest(database.db);
          await loadSyntheticPlace(database.db, { seed: 13, people: 800 });
          feed = await writeFeed(database.db, path.join(tmp, `cli-feed-${target.kind}.csv`), 12_000, 'cli');
          await database.close();
        }
        const mapped = await runCli(
          [
            'import-mapping',
            '--source',
            'cli-gp',
            '--name',
            'standard',
            '--id-column',
            'RecordId',
            '--map',
            'given_name=Forename,family_name=Surname,birth_date=DOB,sex=Gender,nhs_number=NHS,postcode=Postcode',
          ],
          target.env,
        );
        assert.equal(mapped.code, 0, mapped.output);

        // Progress lines come every 10%: kill once one shows rows done but not all.
        const first = await runCli(
          ['import', '--source', 'cli-gp', '--mapping', 'standard', '--batch', '500', feed.file],
          target.env,
          (output) => /: (?:[1-7]\d)% \(/.test(output),
        );
        assert.equal(first.signal, 'SIGKILL', `the import was killed part-way:\n${first.output}`);

        const between = await target.open();
        const job = await between.db.selectFrom('import_jobs').selectAll().where('source', '=', 'cli-gp').executeTakeFirstOrThrow();
        const partial = await countFor(between.db, 'cli-gp');
        await between.close();
        assert.equal(job.status, 'running');
        assert.ok(
          Number(job.lines_done) > 1 && Number(job.lines_done) < feed.lines,
          `stopped part-way (line ${job.lines_done} of ${feed.lines})`,
        );
        assert.equal(partial.records, Number(job.records_stored), 'what is stored is exactly what was checkpointed');

        const second = await runCli(['import', '--source', 'cli-gp', '--mapping', 'standard', '--batch', '500', feed.file], target.env);
        assert.equal(second.code, 0, second.output);
        assert.match(second.output, /Resuming import/);
        assert.match(second.output, new RegExp(`${feed.good.toLocaleString('en-GB')} records stored`));

        const check = await target.open();
        try {
          const counts = await countFor(check.db, 'cli-gp');
          assert.deepEqual(
            counts,
            { records: feed.good, distinctIds: feed.good, linked: feed.good, links: feed.good },
            'nothing lost, nothing twice',
          );
          const finished = await check.db.selectFrom('import_jobs').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow();
          assert.equal(finished.status, 'done');
          assert.equal(Number(finished.records_stored), feed.good);
          assert.equal(Number(finished.errors), feed.badLines.length);
          assert.deepEqual(
            (await importErrors(check.db, Number(job.id), 10_000)).map((e) => e.line),
            feed.badLines,
          );
        } finally {
          await check.close();
        }
        const third = await runCli(['import', '--source', 'cli-gp', '--mapping', 'standard', feed.file], target.env);
        assert.match(third.output, /Already imported/);
      } finally {
        await target.cleanup();
      }
    });
  }
});
