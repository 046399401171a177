// The embedded database (PGlite) belongs to one process: a second process that opens the same
// folder while a server holds it is refused in one line naming the folder and the holder, and
// writes nothing; commands with an HTTP equivalent say where it is. A holder that was killed
// leaves a stale lock that the next process takes over.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openPglite } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { createAccount } from '../src/auth/accounts.ts';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'src', 'cli.ts');
const launcher = path.join(root, 'bin', 'joinery.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-single-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

/** `joinery serve` in its own process; resolves once it says it is serving. */
async function serve(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cli, 'serve'], {
    env: { ...process.env, DATABASE_URL: '', PORT: String(port), JOINERY_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('serving')) resolve();
    });
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${out} ${err}`)));
  });
  return child;
}

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** The joinery command as an operator runs it: through the bin/joinery.mjs launcher. */
function joinery(args: string[], dataDir: string) {
  const result = spawnSync(process.execPath, [launcher, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '', JOINERY_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function counts(dataDir: string): Promise<{ tokens: number; records: number }> {
  const database = await openPglite(dataDir);
  try {
    const tokens = await database.db
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const records = await database.db
      .selectFrom('source_records')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return { tokens: Number(tokens.n), records: Number(records.n) };
  } finally {
    await database.close();
  }
}

test('a second process is refused while a server holds the embedded database, and nothing is written', { timeout: 600_000 }, async () => {
  const dataDir = path.join(tmp, 'data');
  {
    const setup = await openPglite(dataDir);
    await migrateToLatest(setup.db);
    await createAccount(setup.db, { username: 'integrator', displayName: 'Ida Integrator', role: 'admin', password: 'a long passphrase' });
    await setup.close();
  }
  const feed = path.join(tmp, 'feed.csv');
  fs.writeFileSync(feed, 'RecordId,Forename,Surname\nA1,Ann,Lee\n');

  const port = await freePort();
  const server = await serve(dataDir, port);
  try {
    const inUse = new RegExp(
      `^joinery[a-z ]*: the embedded database in ${dataDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is in use by another process \\(pid ${server.pid}\\b`,
    );

    const token = joinery(['token', 'create', '--user', 'integrator'], dataDir);
    assert.notEqual(token.code, 0, 'token create refuses');
    assert.equal(token.stdout, '', 'no token is printed');
    assert.match(token.stderr, inUse);
    assert.equal(token.stderr.trim().split('\n').length, 1, `one line: ${token.stderr}`);
    assert.match(token.stderr, /stop it/);

    const imported = joinery(['import', '--source', 'gp', '--mapping', 'standard', feed], dataDir);
    assert.notEqual(imported.code, 0, 'import refuses');
    assert.match(imported.stderr, inUse);
    assert.match(
      imported.stderr,
      new RegExp(`POST http://localhost:${port}/api/imports\\?source=gp&mapping=standard`),
      'the import says where to send the file instead',
    );
    assert.doesNotMatch(imported.stdout, /stored/);

    for (const command of [['migrate'], ['index'], ['audit', 'verify']]) {
      const refused = joinery(command, dataDir);
      assert.notEqual(refused.code, 0, `${command.join(' ')} refuses`);
      assert.match(refused.stderr, inUse);
      assert.doesNotMatch(refused.stderr, /\n\s+at /, `${command.join(' ')}: no stack trace`);
    }

    assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200, 'the server carries on');
  } finally {
    await stop(server, 'SIGTERM');
  }
  assert.deepEqual(await counts(dataDir), { tokens: 0, records: 0 }, 'the refused commands wrote nothing');

  // Stopped: the command works, and its token is accepted by the next server.
  const created = joinery(['token', 'create', '--user', 'integrator'], dataDir);
  assert.equal(created.code, 0, created.stderr);
  const bearer = created.stdout.trim();
  assert.match(bearer, /^jnt_/);
  const port2 = await freePort();
  const again = await serve(dataDir, port2);
  try {
    const jobs = await fetch(`http://127.0.0.1:${port2}/api/imports`, { headers: { authorization: `Bearer ${bearer}` } });
    assert.equal(jobs.status, 200, 'the token created at the command line works on the server');
  } finally {
    // A holder that dies without closing leaves its lock behind: the next process takes it over.
    await stop(again, 'SIGKILL');
  }
  const afterKill = joinery(['token', 'create', '--user', 'integrator', '--name', 'after a crash'], dataDir);
  assert.equal(afterKill.code, 0, afterKill.stderr);
  assert.equal((await counts(dataDir)).tokens, 2);
});
