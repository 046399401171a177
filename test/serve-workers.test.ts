// `joinery serve --workers N`: several processes serve one port on PostgreSQL. A session made on
// one worker is honoured by the others (sessions live in the database), every worker serves,
// and a stop signal ends them all gracefully. On the embedded database the command is refused
// before anything is opened: PGlite can be used by one process only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openPostgres, type DatabaseHandle } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { createDemoAccounts, DEMO_PASSWORD } from '../src/demo/index.ts';
import { testDatabaseTargets } from '../src/testing.ts';

const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';
const cli = path.resolve(import.meta.dirname, '..', 'src', 'cli.ts');
const postgresHere = (await testDatabaseTargets()).some((t) => t.kind === 'postgres');
const schema = `jt_sw_${randomBytes(5).toString('hex')}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-workers-'));
const children: ChildProcess[] = [];
let admin: DatabaseHandle;
let handle: DatabaseHandle;

/** One request on a connection of its own, so the primary hands each to the next worker. */
function request(
  url: string,
  options: { method?: string; cookie?: string; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        agent: false,
        headers: {
          connection: 'close',
          ...(options.cookie ? { cookie: options.cookie } : {}),
          ...(options.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
      },
      (response) => {
        let body = '';
        response.on('data', (chunk) => (body += String(chunk)));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const cookieOf = (headers: http.IncomingHttpHeaders, name: string) =>
  (headers['set-cookie'] ?? []).map((c) => new RegExp(`^${name}=([^;]+)`).exec(c)?.[1]).find(Boolean);

/** Runs `joinery serve` with the given arguments and environment, collecting what it prints. */
function serve(args: string[], env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, [cli, 'serve', ...args], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk) => (out.stdout += String(chunk)));
  child.stderr!.on('data', (chunk) => (out.stderr += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out, exited };
}

before(async () => {
  if (!postgresHere) return;
  admin = await openPostgres(serverUrl, { max: 1 });
  await sql`create schema ${sql.id(schema)}`.execute(admin.db);
  handle = await openPostgres(serverUrl, { searchPath: schema, max: 2 });
  await migrateToLatest(handle.db);
  await loadSyntheticPlace(handle.db, { seed: 7, people: 200 });
  await createDemoAccounts(handle.db);
});

after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await handle?.close();
  if (admin) {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin.db);
    await admin.close();
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test(
  'two workers on PostgreSQL both serve, a session made on one works on the other, and a stop ends both',
  { skip: !postgresHere },
  async () => {
    const url = new URL(serverUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const server = serve(['--workers', '2', '--no-migrate'], {
      ...process.env,
      DATABASE_URL: url.toString(),
      PORT: '0',
      LOG_LEVEL: 'info',
      JOINERY_AUDIT_CHECKPOINT_FILE: path.join(tmp, 'audit-checkpoints.log'),
    });
    let base = '';
    for (let attempt = 0; attempt < 600 && !base; attempt++) {
      assert.equal(server.child.exitCode, null, `the server stopped: ${server.out.stderr}`);
      const port = /serving http:\/\/localhost:(\d+) from 2 worker processes/.exec(server.out.stdout)?.[1];
      if (port) base = `http://127.0.0.1:${port}`;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(base, `the server says where it serves: ${server.out.stdout}${server.out.stderr}`);

    // Sign in on whichever worker takes the connection.
    const page = await request(`${base}/sign-in`);
    const csrf = cookieOf(page.headers, 'joinery_csrf');
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(csrf && token);
    const signedIn = await request(`${base}/sign-in`, {
      method: 'POST',
      cookie: `joinery_csrf=${csrf}`,
      body: new URLSearchParams({ username: 'practitioner', password: DEMO_PASSWORD, _csrf: token }).toString(),
    });
    assert.equal(signedIn.status, 302);
    const session = cookieOf(signedIn.headers, 'joinery_session');
    assert.ok(session);
    const cookie = `joinery_session=${session}; joinery_csrf=${csrf}`;

    // The same session, on new connections the primary deals out in turn: every one is signed in.
    for (let i = 0; i < 12; i++) {
      const home = await request(`${base}/home`, { cookie });
      assert.equal(home.status, 200, 'the session is honoured');
      assert.match(home.body, /Sign out/);
    }
    // Which process served what, from the request log (pino names the process on every line).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const lines = server.out.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; pid?: number; path?: string; method?: string; status?: number });
    const signInPid = lines.find((l) => l.msg === 'request' && l.method === 'POST' && l.path === '/sign-in')?.pid;
    const homePids = new Set(lines.filter((l) => l.msg === 'request' && l.path === '/home' && l.status === 200).map((l) => l.pid));
    assert.ok(signInPid, 'the sign-in was logged');
    assert.equal(homePids.size, 2, 'both workers served the signed-in pages');
    assert.ok(
      [...homePids].some((pid) => pid !== signInPid),
      'a worker that did not sign the user in honoured the session',
    );

    // A stop signal to the primary stops every worker, and the command ends cleanly.
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    for (const pid of homePids) assert.throws(() => process.kill(pid!, 0), 'the worker has stopped');
  },
);

test('--workers on the embedded database is refused in one line, opening nothing', async () => {
  const dataDir = path.join(tmp, 'data');
  const env: Record<string, string | undefined> = { ...process.env, JOINERY_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'error' };
  delete env.DATABASE_URL;
  delete env.JOINERY_WORKERS;
  const byFlag = serve(['--workers', '2'], env);
  assert.equal(await byFlag.exited, 1);
  assert.match(
    byFlag.out.stderr,
    /^joinery: --workers 2 needs PostgreSQL \(DATABASE_URL\): the embedded database in .* can be opened by one process only/,
  );
  assert.equal(byFlag.out.stderr.trim().split('\n').length, 1);
  const byVariable = serve([], { ...env, JOINERY_WORKERS: '3' });
  assert.equal(await byVariable.exited, 1);
  assert.match(byVariable.out.stderr, /--workers 3 needs PostgreSQL/);
  assert.equal(fs.existsSync(path.join(dataDir, 'joinery.lock')), false, 'the embedded database was not opened');
});
