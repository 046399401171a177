// Many processes on one PostgreSQL: two `joinery serve` processes and a `joinery import` from the
// command line register the same people at the same moment, and each real person must end up as
// one person on the index, whichever process saw them first. Two processes deciding the same
// review item at once: one decision wins, the other is told it was decided already.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openPostgres, type DatabaseHandle } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { createDemoAccounts } from '../src/demo/accounts.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { decideReview, ReviewError } from '../src/linkage/review.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { isValidNhsNumber } from '../src/platform/nhs-number.ts';

const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';
// The CLI itself, not the bin/joinery.mjs shim: the shim hands over to a child process, and a
// kill must reach the process that serves.
const cli = path.resolve(import.meta.dirname, '..', 'src', 'cli.ts');
const postgresHere = (await testDatabaseTargets()).some((t) => t.kind === 'postgres');

const schema = `jt_mp_${randomBytes(5).toString('hex')}`;
let admin: DatabaseHandle;
let handle: DatabaseHandle;
let other: DatabaseHandle;
let token: string;
const children: ChildProcess[] = [];
/** What the servers logged (errors only), shown when a request fails. */
const serverLog: string[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-mp-'));

function databaseUrl(): string {
  const url = new URL(serverUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function startServer(): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, [cli, 'serve', '--no-migrate'], {
    env: {
      ...process.env,
      JOINERY_AUDIT_CHECKPOINT_FILE: path.join(tmp, 'audit-checkpoints.log'),
      DATABASE_URL: databaseUrl(),
      PORT: String(port),
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  child.stdout!.on('data', (chunk) => serverLog.push(String(chunk)));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) throw new Error(`the server stopped: ${stderr}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return url;
    } catch {
      /* not listening yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the server did not start: ${stderr}`);
}

function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: {
        ...process.env,
        JOINERY_AUDIT_CHECKPOINT_FILE: path.join(tmp, 'audit-checkpoints.log'),
        DATABASE_URL: databaseUrl(),
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += String(chunk)));
    child.stderr!.on('data', (chunk) => (output += String(chunk)));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** A valid NHS number not in the place: 10 digits whose last is the modulus-11 check digit. */
function nhsNumber(seed: number): string {
  for (let n = 9_000_000_000 + seed * 97; ; n++) if (isValidNhsNumber(String(n))) return String(n);
}

const newcomers = Array.from({ length: 6 }, (_, i) => ({
  given: ['Orla', 'Tobias', 'Nkechi', 'Radek', 'Sunniva', 'Idris'][i]!,
  family: ['Quennell', 'Marchbank', 'Adeyemi-Lowe', 'Przybylski', 'Haraldsen', 'Faircloth'][i]!,
  birthDate: `19${60 + i * 5}-0${(i % 9) + 1}-1${i}`,
  gender: i % 2 ? 'male' : 'female',
  nhs: nhsNumber(i + 11),
}));
const patient = (p: (typeof newcomers)[number], sourceId: string) => ({
  resourceType: 'Patient',
  identifier: [
    { system: 'https://fhir.nhs.uk/Id/nhs-number', value: p.nhs },
    { system: 'urn:joinery:source:mp-feed', value: sourceId },
  ],
  name: [{ family: p.family, given: [p.given] }],
  birthDate: p.birthDate,
  gender: p.gender,
});

before(async () => {
  if (!postgresHere) return;
  admin = await openPostgres(serverUrl, { max: 1 });
  await sql`create schema ${sql.id(schema)}`.execute(admin.db);
  handle = await openPostgres(serverUrl, { searchPath: schema, max: 4 });
  await migrateToLatest(handle.db);
  await loadSyntheticPlace(handle.db, { seed: 5, people: 400 });
  await createDemoAccounts(handle.db);
  token = (await createApiTokenForUsername(handle.db, 'practitioner', 'multi-process test')).token;
  // A second pool stands for a second process's in-memory index and locks.
  other = await openPostgres(serverUrl, { searchPath: schema, max: 4 });
});

after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await other?.close();
  await handle?.close();
  if (admin) {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin.db);
    await admin.close();
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test(
  'two servers and a command-line import register the same people at once: one person each',
  { skip: !postgresHere && 'needs a PostgreSQL server' },
  async () => {
    const [a, b] = await Promise.all([startServer(), startServer()]);
    const feed = path.join(tmp, 'feed.ndjson');
    fs.writeFileSync(feed, newcomers.map((p, i) => JSON.stringify(patient(p, `feed-${i}`))).join('\n') + '\n');
    const register = (url: string, p: (typeof newcomers)[number], n: number) =>
      fetch(`${url}/fhir/Patient`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ ...patient(p, `api-${n}`), identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: p.nhs }] }),
      }).then(async (response) => ({ status: response.status, body: await response.text() }));
    // Each server loads its person index on first use (seconds of work on a loaded machine): warm
    // both with someone else first, as a load balancer's health checks would, so the burst below
    // tests who wins, not how long a cold start takes.
    const warmUp = { given: 'Wendell', family: 'Warmington', birthDate: '1944-04-04', gender: 'male', nhs: nhsNumber(3) };
    for (const url of [a, b]) assert.ok([200, 201].includes((await register(url, warmUp, 999)).status), 'the server answers');
    const [imported, ...answers] = await Promise.all([
      runCli(['import', '--source', 'mp-feed', feed]),
      ...newcomers.flatMap((p, i) => [register(a, p, i), register(b, p, i), register(b, p, i + 100), register(a, p, i + 100)]),
    ]);
    assert.equal(imported.code, 0, imported.output);
    for (const answer of answers)
      assert.ok(
        answer.status === 200 || answer.status === 201,
        `${answer.status}: ${answer.body.slice(0, 300)}\n${serverLog.join('').slice(0, 3000)}`,
      );
    for (const p of newcomers) {
      const live = await sql<{ id: string }>`
      select distinct l.person_id as id from record_links l join source_records s on s.id = l.source_record_id
      join persons p on p.id = l.person_id
      where l.superseded_at is null and p.merged_into is null and (s.fields->>'nhs_number' = ${p.nhs})`.execute(handle.db);
      assert.equal(live.rows.length, 1, `${p.given} ${p.family} is one person, not ${live.rows.length}`);
      const records = await sql<{
        n: number;
      }>`select count(*)::int as n from source_records where fields->>'nhs_number' = ${p.nhs}`.execute(handle.db);
      assert.ok(records.rows[0]!.n >= 2, 'every registration was stored');
    }
  },
);

test(
  'two processes decide the same review item at once: one decision stands, the other is told',
  { skip: !postgresHere && 'needs a PostgreSQL server' },
  async () => {
    const item = await sql<{ id: number }>`select id from linkage_reviews where status = 'open' order by id limit 1`.execute(handle.db);
    let reviewId = item.rows[0]?.id;
    if (reviewId === undefined) {
      const record = await sql<{
        id: number;
        person_id: string;
      }>`select l.source_record_id as id, l.person_id from record_links l where l.superseded_at is null order by l.id limit 1`.execute(
        handle.db,
      );
      const candidate = await sql<{
        id: string;
      }>`select id from persons where merged_into is null and id <> ${record.rows[0]!.person_id} order by id limit 1`.execute(handle.db);
      reviewId = (
        await handle.db
          .insertInto('linkage_reviews')
          .values({
            source_record_id: record.rows[0]!.id,
            candidate_person_id: candidate.rows[0]!.id,
            compared_record_id: null,
            probability: 0.6,
            reason: 'uncertain',
            decided_by: null,
            decided_at: null,
            decision_reason: null,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
    }
    const reviewer = { id: 'reviewer', role: 'data_quality', organisationId: null };
    const outcomes = await Promise.allSettled([
      decideReview(handle.db, Number(reviewId), 'same', reviewer, 'same date of birth and address'),
      decideReview(other.db, Number(reviewId), 'different', reviewer, 'different middle names'),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.equal(won.length, 1, 'exactly one decision stands');
    assert.ok(
      lost[0]!.reason instanceof ReviewError && lost[0]!.reason.status === 409,
      `the other is told it was decided: ${String(lost[0]!.reason)}`,
    );
    const decisions = await sql<{ n: number }>`select count(*)::int as n from linkage_decisions where review_id = ${reviewId}`.execute(
      handle.db,
    );
    assert.equal(decisions.rows[0]!.n, 1, 'one decision on record, never both must-link and cannot-link');
    await assert.rejects(
      decideReview(handle.db, Number(reviewId), 'same', reviewer, 'again'),
      (error: unknown) => error instanceof ReviewError && error.status === 409,
    );
  },
);
