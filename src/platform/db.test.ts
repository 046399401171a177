import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testDatabaseTargets } from '../testing.ts';
import { migrateToLatest, pendingMigrations } from '../schema.ts';
import { openPglite, openPostgres, redactDatabaseUrl, withStartupOptions, DatabaseOpenError, type DatabaseHandle } from './db.ts';
import { allMigrations } from '../schema.ts';

for (const target of await testDatabaseTargets()) {
  describe(`database on ${target.kind}`, () => {
    let database: DatabaseHandle;
    before(async () => {
      database = await target.open();
    });
    after(async () => {
      await database.close();
    });

    test('every migration is applied and a second run applies nothing', async () => {
      assert.deepEqual(await pendingMigrations(database.db), []);
      assert.deepEqual(await migrateToLatest(database.db), []);
      const tables = await sql<{
        n: number;
      }>`select count(*) as n from information_schema.tables where table_name in ('persons', 'households', 'source_records', 'users', 'sessions', 'audit_events')
        and table_schema = current_schema()`.execute(database.db);
      assert.equal(tables.rows[0]?.n, 6);
      assert.equal(Object.keys(allMigrations).length > 0, true);
    });

    test('dates come back as the same calendar day and counts as numbers, on both engines', async () => {
      const row = (
        await sql<{ d: string; n: number }>`select date '1985-03-31' as d, count(*) as n from generate_series(1, 3)`.execute(database.db)
      ).rows[0];
      assert.deepEqual(row, { d: '1985-03-31', n: 3 });
    });

    if (target.kind === 'postgres')
      test('a PostgreSQL connection plans for data in memory or on SSD, whoever opened it', async () => {
        const row = (await sql<{ random_page_cost: string }>`show random_page_cost`.execute(database.db)).rows[0];
        assert.equal(row?.random_page_cost, '1.1');
      });

    test('an invalid NHS number shape is refused by the database itself', async () => {
      await assert.rejects(
        sql`insert into persons (id, given_name, family_name, nhs_number) values ('x', 'A', 'B', '12345')`.execute(database.db),
      );
    });
  });
}

test('a data folder that cannot be written gives one clear error', async () => {
  // A path under a plain file can never be a folder.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-')), 'a-file');
  fs.writeFileSync(file, 'not a folder');
  await assert.rejects(openPglite(path.join(file, 'data')), (error: unknown) => {
    assert.ok(error instanceof DatabaseOpenError);
    assert.match(error.message, /^cannot use data folder .*a-file\/data \(ENOTDIR\); set JOINERY_DATA_DIR/);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
});

test('an unreachable database server gives one clear error without the password', async () => {
  await assert.rejects(openPostgres('postgres://someone:secret@127.0.0.1:1/nowhere'), (error: unknown) => {
    assert.ok(error instanceof DatabaseOpenError);
    assert.match(error.message, /^cannot connect to postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/nowhere: /);
    assert.doesNotMatch(error.message, /secret/);
    return true;
  });
});

test("a connection's start-up options keep the URL's own, then the search path, then the planner's settings", () => {
  const options = (url: string, searchPath?: string) => new URL(withStartupOptions(url, searchPath)).searchParams.get('options');
  assert.equal(options('postgres://127.0.0.1:5432/test'), '-c random_page_cost=1.1');
  assert.equal(options('postgres://127.0.0.1:5432/test', 'jt_1,public'), '-c search_path=jt_1,public -c random_page_cost=1.1');
  const given = 'postgres://me:p%40ss@db.example/joinery?options=-c%20statement_timeout%3D5000&application_name=serve';
  const url = new URL(withStartupOptions(given));
  assert.equal(url.searchParams.get('options'), '-c statement_timeout=5000 -c random_page_cost=1.1');
  assert.equal(url.searchParams.get('application_name'), 'serve');
  assert.equal(decodeURIComponent(url.password), 'p@ss');
});

test('redactDatabaseUrl hides the password only', () => {
  assert.equal(redactDatabaseUrl('postgres://u:pw@db.example:5432/joinery'), 'postgres://u:***@db.example:5432/joinery');
  assert.equal(redactDatabaseUrl('postgres://db.example/joinery'), 'postgres://db.example/joinery');
});

test("the embedded database is opened by one holder at a time; a dead holder's lock is taken over", { timeout: 60_000 }, async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-lock-')), 'data');
  const first = await openPglite(dir);
  try {
    await assert.rejects(openPglite(dir), (error: unknown) => {
      assert.ok(error instanceof DatabaseOpenError);
      assert.match(
        error.message,
        new RegExp(
          `^the embedded database in ${dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is in use by another process \\(pid ${process.pid}\\b`,
        ),
      );
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  } finally {
    await first.close();
  }
  assert.equal(fs.existsSync(path.join(dir, 'joinery.lock')), false, 'closing gives the folder back');
  // A lock left by a process that has gone is stale. (Another folder: PGlite opened twice on one
  // folder in one process keeps the process alive.)
  const other = path.join(path.dirname(dir), 'other');
  fs.mkdirSync(other);
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  fs.writeFileSync(path.join(other, 'joinery.lock'), JSON.stringify({ pid: Number(gone.stdout), host: os.hostname(), started: null }));
  const second = await openPglite(other);
  await second.close();
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});
