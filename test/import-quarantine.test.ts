// Imports quarantine bad rows instead of blocking on them: a row with a NUL byte, a repeated
// record id or a broken character is set aside with its line number, its reason and the row as
// sent (downloadable), and the rest load. A file that is not UTF-8 is read line by line as
// Windows-1252 with a warning, not stored as mojibake; UTF-16 and spreadsheets are refused. A job
// whose process died is marked failed (at server start or by the next import) and resumes when
// the file is sent again; its upload copy is removed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { sql, type Kysely } from 'kysely';
import { testDatabaseTargets } from '../src/testing.ts';
import { openPglite } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import type { Database } from '../src/schema.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { importJob, reapLostImports, rejectedRows, runImport, saveMapping, type ColumnMapping } from '../src/interop/import.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-quarantine-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const mapping = (source: string): ColumnMapping => ({
  source,
  name: 'std',
  idColumn: 'Id',
  columns: { given_name: 'First', family_name: 'Last', birth_date: 'Born' },
});

/** 40 rows; line 11 carries a NUL byte in the surname and line 21 repeats line 6's record id. */
function feedWithBadRows(): { text: string; good: number } {
  const lines = ['Id,First,Last,Born'];
  for (let i = 1; i <= 40; i++) {
    if (i === 10) lines.push(`R10,Nora,Nul\u0000ington,1980-01-10`);
    else if (i === 20) lines.push(`R5,Dora,Duplicate,1981-02-20`);
    else lines.push(`R${i},Person${i},Family${i},19${50 + i}-03-0${1 + (i % 9)}`);
  }
  return { text: `${lines.join('\n')}\n`, good: 38 };
}

const windows1252 = (text: string) =>
  Buffer.from([...text].map((c) => (({ ë: 0xeb, á: 0xe1, Ó: 0xd3, '’': 0x92, é: 0xe9 }) as Record<string, number>)[c] ?? c.charCodeAt(0)));

async function fieldsOf(db: Kysely<Database>, source: string, sourceId: string): Promise<Record<string, string>> {
  const row = await db
    .selectFrom('source_records')
    .select('fields')
    .where('source', '=', source)
    .where('source_id', '=', sourceId)
    .executeTakeFirstOrThrow();
  return (typeof row.fields === 'string' ? JSON.parse(row.fields) : row.fields) as Record<string, string>;
}

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

for (const target of await testDatabaseTargets()) {
  describe(`import quarantine on ${target.kind}`, () => {
    test('a date of birth in year 0000 (or before 1850) is set aside with its reason; the batch still loads', async () => {
      const database = await target.open();
      try {
        await saveMapping(database.db, mapping('clinic'));
        const file = path.join(tmp, `year-zero-${target.kind}.csv`);
        fs.writeFileSync(file, 'Id,First,Last,Born\nZ1,Ida,Zero,0000-04-27\nZ2,Ivo,Early,1849-12-31\nZ3,Ann,Fine,1962-04-27\n');
        const result = await runImport(database.db, { source: 'clinic', file, mapping: mapping('clinic') });
        assert.equal(result.stored, 1);
        const rejected = await rejectedRows(database.db, result.jobId);
        assert.deepEqual(
          rejected.map((row) => [row.line, row.reason]),
          [
            [2, 'the date of birth 0000-04-27 is before 1850, so it cannot be right'],
            [3, 'the date of birth 1849-12-31 is before 1850, so it cannot be right'],
          ],
        );
      } finally {
        await database.close();
      }
    });

    test('a NUL byte and a repeated record id are set aside with line and reason; the other rows load', async () => {
      const database = await target.open();
      try {
        await saveMapping(database.db, mapping('school'));
        const feed = feedWithBadRows();
        const file = path.join(tmp, `bad-rows-${target.kind}.csv`);
        fs.writeFileSync(file, feed.text);
        const result = await runImport(database.db, { source: 'school', file, mapping: mapping('school'), batchSize: 7 });
        assert.equal(result.status, 'done');
        assert.equal(result.stored, feed.good, 'every good row is stored');
        assert.equal(result.errors, 2, 'two rows set aside');
        assert.equal(result.duplicates, 1, 'the repeated id is reported');
        assert.equal(result.unchanged, 0, 'the repeat is not counted as unchanged');
        const rejected = await rejectedRows(database.db, result.jobId);
        assert.deepEqual(
          rejected.map((r) => r.line),
          [11, 21],
        );
        assert.match(rejected[0]!.reason, /NUL/);
        assert.match(rejected[0]!.row, /^R10,Nora,Nul.ington,1980-01-10$/, 'the row as sent, its NUL made visible');
        assert.match(rejected[1]!.reason, /record id R5 .*line 6/);
        assert.match(rejected[1]!.row, /Dora,Duplicate/);
        assert.equal((await fieldsOf(database.db, 'school', 'R5')).family_name, 'Family5', 'the first row with the id is kept');
      } finally {
        await database.close();
      }
    });

    test('NDJSON: a NUL escape, a broken character and a repeated id are set aside; the rest load', async () => {
      const database = await target.open();
      try {
        const patient = (id: string, family: string) => JSON.stringify({ resourceType: 'Patient', id, name: [{ family, given: ['Ann'] }] });
        const file = path.join(tmp, `bad-${target.kind}.ndjson`);
        fs.writeFileSync(
          file,
          [
            patient('p1', 'Able'),
            patient('p2', 'Nul\u0000l'),
            '{"resourceType":"Patient","id":"p3","name":[{"family":"Broken\\ud800","given":["Ann"]}]}',
            patient('p1', 'Again'),
            patient('p4', 'Baker'),
          ].join('\n'),
        );
        const result = await runImport(database.db, { source: 'hospital', file });
        assert.equal(result.status, 'done');
        assert.equal(result.stored, 2);
        assert.equal(result.duplicates, 1);
        const rejected = await rejectedRows(database.db, result.jobId);
        assert.deepEqual(
          rejected.map((r) => [r.line, /NUL|broken character|already/.exec(r.reason)?.[0]]),
          [
            [2, 'NUL'],
            [3, 'broken character'],
            [4, 'already'],
          ],
        );
      } finally {
        await database.close();
      }
    });

    test('a Windows-1252 (Latin-1) file is read as such, with a warning, never as mojibake; UTF-16 and spreadsheets are refused', async () => {
      const database = await target.open();
      try {
        await saveMapping(database.db, mapping('housing'));
        const latin1 = path.join(tmp, `latin1-${target.kind}.csv`);
        fs.writeFileSync(
          latin1,
          windows1252('Id,First,Last,Born\nL1,Zoë,O’Brien,1990-01-01\nL2,Seán,Ó Briain,1991-01-01\nL3,Ann,Lee,1992-01-01\n'),
        );
        const result = await runImport(database.db, { source: 'housing', file: latin1, mapping: mapping('housing') });
        assert.equal(result.status, 'done');
        assert.equal(result.stored, 3);
        assert.deepEqual(await fieldsOf(database.db, 'housing', 'L1'), {
          given_name: 'Zoë',
          family_name: 'O’Brien',
          birth_date: '1990-01-01',
        });
        assert.equal((await fieldsOf(database.db, 'housing', 'L2')).family_name, 'Ó Briain');
        assert.equal(result.encoding, 'windows-1252');
        assert.equal(result.warnings.length, 1);
        assert.match(result.warnings[0]!, /2 lines are not UTF-8 .*Windows-1252.*first on line 2/);

        // Two systems' exports joined together: each line is read in its own encoding.
        const mixed = path.join(tmp, `mixed-${target.kind}.csv`);
        fs.writeFileSync(
          mixed,
          Buffer.concat([Buffer.from('Id,First,Last,Born\nM1,Zoë,Utf,1990-01-01\n'), windows1252('M2,Renée,Latin,1990-01-01\n')]),
        );
        const both = await runImport(database.db, { source: 'housing', file: mixed, mapping: mapping('housing') });
        assert.equal((await fieldsOf(database.db, 'housing', 'M1')).given_name, 'Zoë');
        assert.equal((await fieldsOf(database.db, 'housing', 'M2')).given_name, 'Renée');
        assert.match(both.warnings[0]!, /1 line is not UTF-8/);

        const utf16 = path.join(tmp, `utf16-${target.kind}.csv`);
        fs.writeFileSync(
          utf16,
          Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Id,First,Last,Born\nU1,Ann,Lee,1990-01-01\n', 'utf16le')]),
        );
        await assert.rejects(
          runImport(database.db, { source: 'housing', file: utf16, mapping: mapping('housing') }),
          /UTF-16.*save it as UTF-8/,
        );
        const xlsx = path.join(tmp, `sheet-${target.kind}.csv`);
        fs.writeFileSync(xlsx, Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(64)]));
        await assert.rejects(runImport(database.db, { source: 'housing', file: xlsx, mapping: mapping('housing') }), /spreadsheet|zip/);
      } finally {
        await database.close();
      }
    });

    test('a job whose process died is marked failed, says why, and resumes when run again', async () => {
      const database = await target.open();
      try {
        await saveMapping(database.db, mapping('council'));
        const file = path.join(tmp, `lost-${target.kind}.csv`);
        fs.writeFileSync(file, 'Id,First,Last,Born\nC1,Ann,Lee,1990-01-01\nC2,Bob,Ray,1991-01-01\n');
        const hash = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
        const pid = deadPid();
        const { id } = await database.db
          .insertInto('import_jobs')
          .values({
            source: 'council',
            format: 'csv',
            mapping_name: 'std',
            file_name: 'lost.csv',
            file_hash: hash,
            lines_total: 3,
            created_by: null,
            finished_at: null,
            owner_host: os.hostname(),
            owner_pid: pid,
            owner_started: 'gone',
          } as never)
          .returning('id')
          .executeTakeFirstOrThrow();
        // Another process on this host that is alive and beating owns a second job: left alone.
        const other = await database.db
          .insertInto('import_jobs')
          .values({
            source: 'council',
            format: 'csv',
            mapping_name: 'std',
            file_name: 'other.csv',
            file_hash: 'f'.repeat(64),
            lines_total: 3,
            created_by: null,
            finished_at: null,
            owner_host: os.hostname(),
            owner_pid: process.ppid,
            owner_started: null,
          } as never)
          .returning('id')
          .executeTakeFirstOrThrow();

        assert.equal(await reapLostImports(database.db), 1);
        const lost = await importJob(database.db, Number(id));
        assert.equal(lost?.status, 'failed');
        assert.match(lost!.failure ?? '', new RegExp(`process ${pid} .*stopped`));
        assert.equal((await importJob(database.db, Number(other.id)))?.status, 'running');

        const resumed = await runImport(database.db, { source: 'council', file, mapping: mapping('council') });
        assert.equal(resumed.jobId, Number(id));
        assert.equal(resumed.resumed, true);
        assert.equal(resumed.status, 'done');
        assert.equal(resumed.stored, 2);
        assert.equal(resumed.failure, null, 'the old failure is cleared once it succeeds');
      } finally {
        await database.close();
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Over HTTP: the summary and the download.

describe('import API quarantine', () => {
  let server: TestServer;
  let admin: string;
  let practitioner: string;
  before(async () => {
    server = await startTestServer({ people: 200 });
    admin = (await createApiTokenForUsername(server.database.db, 'admin', 'quarantine test')).token;
    practitioner = (await createApiTokenForUsername(server.database.db, 'practitioner', 'quarantine test')).token;
  });
  after(async () => server?.close());
  const call = (url: string, token: string | null, init: RequestInit = {}) =>
    fetch(`${server.url}${url}`, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string> | undefined) },
    });

  test('an upload with bad rows finishes; the summary counts them and the rejected rows download as CSV', async () => {
    await saveMapping(server.database.db, mapping('school-api'));
    const feed = feedWithBadRows();
    const upload = await call('/api/imports?source=school-api&mapping=std&name=pupils.csv', admin, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: feed.text,
    });
    assert.equal(upload.status, 202);
    const job = (await upload.json()) as { jobId: number; links: { self: string; rejected: string } };
    assert.equal(job.links.rejected, `/api/imports/${job.jobId}/rejected`);
    let status: { status: string; stored: number; errors: number; duplicates: number; encoding: string } | undefined;
    for (let i = 0; i < 200; i++) {
      status = (await (await call(job.links.self, admin)).json()) as typeof status;
      if (status!.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(
      {
        status: status?.status,
        stored: status?.stored,
        errors: status?.errors,
        duplicates: status?.duplicates,
        encoding: status?.encoding,
      },
      { status: 'done', stored: feed.good, errors: 2, duplicates: 1, encoding: 'utf-8' },
    );

    const download = await call(job.links.rejected, admin);
    assert.equal(download.status, 200);
    assert.match(download.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(download.headers.get('content-disposition') ?? '', /attachment; filename="import-\d+-rejected\.csv"/);
    const lines = (await download.text()).trim().split('\n');
    assert.equal(lines[0], 'line,reason,row');
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, /^11,.*NUL.*R10,Nora/);
    assert.match(lines[2]!, /^21,.*line 6.*R5,Dora,Duplicate/);

    assert.equal((await call(job.links.rejected, null)).status, 401);
    assert.equal((await call(job.links.rejected, practitioner)).status, 403);
    assert.equal((await call('/api/imports/999999/rejected', admin)).status, 404);
  });

  test('the same file sent while its import runs is refused with the job to watch', async () => {
    await saveMapping(server.database.db, mapping('busy'));
    const rows = ['Id,First,Last,Born', ...Array.from({ length: 20_000 }, (_, i) => `B${i},Ann${i},Lee${i},1990-01-01`)].join('\n');
    const first = await call('/api/imports?source=busy&mapping=std', admin, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: rows,
    });
    assert.equal(first.status, 202);
    const { jobId } = (await first.json()) as { jobId: number };
    const second = await call('/api/imports?source=busy&mapping=std', admin, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: rows,
    });
    if (second.status === 202) {
      // Only if it had already finished: then the answer is the finished job, not a second run.
      const body = (await second.json()) as { jobId: number; status: string };
      assert.deepEqual({ jobId: body.jobId, status: body.status }, { jobId, status: 'done' });
    } else {
      assert.equal(second.status, 409);
      assert.match(((await second.json()) as { error: string }).error, new RegExp(`already being imported .*job ${jobId}`));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A real server killed mid-import, then started again; and the command line.

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'src', 'cli.ts');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

async function serve(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cli, 'serve'], { env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'silent', ...env } });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('serving')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${out}`)));
  });
  return child;
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

test(
  'a server killed during an API import: on restart the job is failed, its upload copy gone, and sending the file again resumes it',
  { timeout: 600_000 },
  async () => {
    const dataDir = path.join(tmp, 'crash-data');
    const uploads = fs.mkdtempSync(path.join(tmp, 'uploads-'));
    let token: string;
    {
      const setup = await openPglite(dataDir);
      await migrateToLatest(setup.db);
      await createAccount(setup.db, {
        username: 'integrator',
        displayName: 'Ida Integrator',
        role: 'admin',
        password: 'a long passphrase',
      });
      token = (await createApiTokenForUsername(setup.db, 'integrator', 'crash test')).token;
      await saveMapping(setup.db, mapping('crash'));
      await setup.close();
    }
    const rows = 60_000;
    const csv = ['Id,First,Last,Born', ...Array.from({ length: rows }, (_, i) => `K${i},Ann${i},Lee${i},1990-01-0${1 + (i % 9)}`)].join(
      '\n',
    );
    const env = { JOINERY_DATA_DIR: dataDir, TMPDIR: uploads };
    const port = await freePort();
    const first = await serve({ ...env, PORT: String(port) });
    let jobId: number;
    try {
      const upload = await fetch(`http://127.0.0.1:${port}/api/imports?source=crash&mapping=std`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
        body: csv,
      });
      assert.equal(upload.status, 202);
      jobId = ((await upload.json()) as { jobId: number }).jobId;
      assert.equal(
        fs.readdirSync(uploads).filter((d) => d.startsWith('joinery-import-')).length,
        1,
        'the upload is copied to the temporary folder',
      );
    } finally {
      await killed(first);
    }
    {
      const between = await openPglite(dataDir);
      const job = await between.db
        .selectFrom('import_jobs')
        .select(['status', 'lines_done'])
        .where('id', '=', jobId)
        .executeTakeFirstOrThrow();
      await between.close();
      assert.equal(job.status, 'running', 'killed mid-way (the file is large enough not to finish first)');
    }

    const port2 = await freePort();
    const second = await serve({ ...env, PORT: String(port2) });
    try {
      const api = (url: string, init: RequestInit = {}) =>
        fetch(`http://127.0.0.1:${port2}${url}`, {
          ...init,
          headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
        });
      const after = (await (await api(`/api/imports/${jobId}`)).json()) as { status: string; failure: string | null };
      assert.equal(after.status, 'failed', 'the lost job is failed at start-up');
      assert.match(after.failure ?? '', /stopped before it finished.*send the same file again/);
      assert.deepEqual(
        fs.readdirSync(uploads).filter((d) => d.startsWith('joinery-import-')),
        [],
        'its upload copy is removed',
      );

      const again = await api('/api/imports?source=crash&mapping=std', {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: csv,
      });
      assert.equal(again.status, 202);
      assert.equal(((await again.json()) as { jobId: number }).jobId, jobId, 'the same file resumes the same job');
      let status: { status: string; stored: number; resumed: boolean } | undefined;
      for (let i = 0; i < 1200; i++) {
        status = (await (await api(`/api/imports/${jobId}`)).json()) as typeof status;
        if (status!.status !== 'running') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(status?.status, 'done');
      assert.equal(status?.stored, rows, 'every row stored exactly once');
      // The copy goes as the run returns, just after the job is marked done.
      const leftovers = () => fs.readdirSync(uploads).filter((d) => d.startsWith('joinery-import-'));
      for (let i = 0; i < 100 && leftovers().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(leftovers(), [], 'the finished upload leaves nothing behind');
    } finally {
      await killed(second);
    }
    const check = await openPglite(dataDir);
    try {
      const stored = await sql<{
        n: number;
      }>`select count(*)::int as n, count(distinct source_id)::int as d from source_records where source = 'crash'`.execute(check.db);
      assert.equal(Number(stored.rows[0]!.n), rows);
    } finally {
      await check.close();
    }
  },
);

test('joinery import says how many rows it set aside and writes them where asked', { timeout: 300_000 }, async () => {
  const dataDir = path.join(tmp, 'cli-data');
  {
    const setup = await openPglite(dataDir);
    await migrateToLatest(setup.db);
    await saveMapping(setup.db, mapping('cli-school'));
    await setup.close();
  }
  const file = path.join(tmp, 'cli-feed.csv');
  fs.writeFileSync(file, feedWithBadRows().text);
  const out = path.join(tmp, 'cli-rejected.csv');
  const result = spawnSync(process.execPath, [cli, 'import', '--source', 'cli-school', '--mapping', 'std', '--rejected', out, file], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '', JOINERY_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
    timeout: 240_000,
  });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /38 records stored/);
  assert.match(result.stdout, /2 rows set aside \(1 repeated record id\)/);
  assert.match(result.stdout, /line 11: .*NUL/);
  assert.match(result.stdout, new RegExp(`written to ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  const written = fs.readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(written[0], 'line,reason,row');
  assert.equal(written.length, 3);
});
