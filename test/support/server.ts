// Starts Joinery in-process for tests: a fresh embedded database, a small synthetic place,
// the demo accounts, listening on a free port. Building a place (migrations, thousands of people,
// argon2 hashes for the accounts) took most of a test file's set-up, so each place is built once
// per day and version of the code, kept as a snapshot of the embedded database, and every test
// server opens its own fresh copy of it: the same data a test would have generated, in a second.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../../src/platform/config.ts';
import { openPglite, type DatabaseHandle } from '../../src/platform/db.ts';
import { migrateToLatest } from '../../src/schema.ts';
import { createApp } from '../../src/app.ts';
import { loadSyntheticPlace } from '../../src/demo/load-place.ts';
import { createDemoAccounts, DEMO_PASSWORD } from '../../src/demo/accounts.ts';
import { createAccount } from '../../src/auth/accounts.ts';
import { createApiTokenForUsername } from '../../src/interop/tokens.ts';

type DemoAccountInfo = Awaited<ReturnType<typeof createDemoAccounts>>[number];

export interface TestServer {
  app: FastifyInstance;
  url: string;
  database: DatabaseHandle;
  /** Every log line the server wrote, for checking that no personal data leaks into logs. */
  logs: string[];
  close(): Promise<void>;
}

export { DEMO_PASSWORD };

export async function startTestServer(
  options: { people?: number; seed?: number; database?: DatabaseHandle; env?: Record<string, string> } = {},
): Promise<TestServer> {
  const place = { seed: options.seed ?? 7, people: options.people ?? 3000 };
  let database: DatabaseHandle;
  let accounts: DemoAccountInfo[];
  if (options.database) {
    database = options.database;
    await migrateToLatest(database.db);
    await loadSyntheticPlace(database.db, place);
    accounts = await createDemoAccounts(database.db);
  } else {
    const snapshot = await placeSnapshot(place, options.env);
    database = await openPglite('memory://', { from: snapshot.tarball });
    accounts = snapshot.accounts;
  }
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  // Each test server's audit checkpoints go to a file of its own: its throwaway database's
  // checkpoints must never land beside the demo's, where `audit verify` would rightly object.
  const checkpoints = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-test-audit-')), 'audit-checkpoints.log');
  const config = { ...loadConfig({ PORT: '0', JOINERY_AUDIT_CHECKPOINT_FILE: checkpoints, ...options.env }), port: 0 };
  const app = await createApp({ config, database, logger, demo: { password: DEMO_PASSWORD, accounts } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  assert.ok(typeof address === 'object' && address && address.port > 0, 'the test server is listening on a port');
  const port = address.port;
  // Links in the APIs are built on PUBLIC_URL: unless a test chose one, it is where this server listens.
  if (!options.env?.PUBLIC_URL) config.publicUrl = `http://127.0.0.1:${port}`;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    database,
    logs,
    async close() {
      await app.close();
      await database.close();
    },
  };
}

/** Signs in through the real form (CSRF and all) with inject; returns the session cookie header. */
export async function signIn(app: FastifyInstance, username: string, password = DEMO_PASSWORD): Promise<string> {
  const page = await app.inject({ method: 'GET', url: '/sign-in' });
  const csrfCookie = page.cookies.find((c) => c.name === 'joinery_csrf');
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(csrfCookie && token, 'the sign-in page sets a CSRF cookie and carries its token');
  const response = await app.inject({
    method: 'POST',
    url: '/sign-in',
    headers: { cookie: `joinery_csrf=${csrfCookie.value}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ username, password, _csrf: token }).toString(),
  });
  const session = response.cookies.find((c) => c.name === 'joinery_session');
  assert.equal(response.statusCode, 302, `sign-in as ${username} failed with ${response.statusCode}`);
  assert.ok(session, `sign-in as ${username} failed: no session cookie`);
  return `joinery_session=${session.value}; joinery_csrf=${csrfCookie.value}`;
}

/** Fetches a page as a signed-in user and returns a CSRF token usable for that user's forms. */
export async function csrfTokenFor(app: FastifyInstance, cookie: string, url = '/home'): Promise<string> {
  const page = await app.inject({ method: 'GET', url, headers: { cookie } });
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(token, `${url} carries a CSRF token`);
  return token;
}

/** What the code that builds a place is: every source file's bytes and the locked dependencies (a change anywhere makes new snapshots). */
let codeVersion: string | undefined;
function versionOfCode(): string {
  if (codeVersion) return codeVersion;
  const hash = createHash('sha256');
  const src = path.resolve(import.meta.dirname, '..', '..', 'src');
  const files = fs
    .readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((f) => !f.endsWith('.test.ts'))
    .sort();
  for (const file of files) {
    const full = path.join(src, file);
    if (fs.statSync(full).isFile()) hash.update(file).update(fs.readFileSync(full));
  }
  // And the libraries' versions: a newer embedded database may not read an older one's folder.
  hash.update(fs.readFileSync(path.resolve(src, '..', 'package-lock.json')));
  codeVersion = hash.digest('hex').slice(0, 16);
  return codeVersion;
}

/**
 * Which audit key the servers of this checkout sign the audit chain with (the key itself, or its
 * file's contents, hashed): a snapshot's chain was written with one key, and a server holding
 * another answers every audited request with a 500. Another checkout on the same machine (CI's
 * clone beside a working copy) has its own key file, so it must never open this one's snapshots.
 */
function auditKeyIdentity(env: Record<string, string>): string {
  const audit = loadConfig({ PORT: '0', ...env }).audit;
  const hash = createHash('sha256');
  if (audit.key) hash.update('key:').update(audit.key);
  else if (fs.existsSync(audit.keyFile)) hash.update('file:').update(fs.readFileSync(audit.keyFile));
  else hash.update('path:').update(audit.keyFile);
  return hash.digest('hex').slice(0, 12);
}

interface PlaceSnapshot {
  tarball: Blob;
  accounts: DemoAccountInfo[];
}
const snapshots = new Map<string, Promise<PlaceSnapshot>>();

/**
 * A migrated database holding the synthetic place and the demo accounts, built once and kept in
 * the temporary folder. The day is part of its name because the place is generated around today
 * (ages, review dates), exactly as a server started from scratch today would be.
 */
function placeSnapshot(place: { seed: number; people: number }, env: Record<string, string> = {}): Promise<PlaceSnapshot> {
  const day = new Date().toISOString().slice(0, 10);
  const key = `${versionOfCode()}-${auditKeyIdentity(env)}-${day}-seed${place.seed}-people${place.people}`;
  let snapshot = snapshots.get(key);
  if (!snapshot) {
    snapshot = buildOrReadSnapshot(key, place);
    snapshots.set(key, snapshot);
    snapshot.catch(() => snapshots.delete(key));
  }
  return snapshot;
}

async function buildOrReadSnapshot(key: string, place: { seed: number; people: number }): Promise<PlaceSnapshot> {
  const folder = path.join(os.tmpdir(), 'joinery-test-places');
  const tarballFile = path.join(folder, `${key}.tar.gz`);
  const accountsFile = path.join(folder, `${key}.accounts.json`);
  if (fs.existsSync(tarballFile) && fs.existsSync(accountsFile)) {
    return {
      tarball: new Blob([fs.readFileSync(tarballFile)]),
      accounts: JSON.parse(fs.readFileSync(accountsFile, 'utf8')) as DemoAccountInfo[],
    };
  }
  const database = await openPglite('memory://');
  try {
    await migrateToLatest(database.db);
    await loadSyntheticPlace(database.db, place);
    const accounts = await createDemoAccounts(database.db);
    const tarball = await database.snapshot!();
    // Snapshots of older code or earlier days are never read again.
    fs.mkdirSync(folder, { recursive: true });
    // (Another checkout's snapshots of this code, under its own audit key, are left alone.)
    const current = `${versionOfCode()}-`;
    const today = `-${new Date().toISOString().slice(0, 10)}-`;
    for (const old of fs.readdirSync(folder))
      if (!old.startsWith(current) || !old.includes(today)) fs.rmSync(path.join(folder, old), { force: true });
    // Written beside, then renamed: another test process never reads half a file.
    const partial = `.${process.pid}.partial`;
    fs.writeFileSync(tarballFile + partial, Buffer.from(await tarball.arrayBuffer()));
    fs.writeFileSync(accountsFile + partial, JSON.stringify(accounts));
    fs.renameSync(tarballFile + partial, tarballFile);
    fs.renameSync(accountsFile + partial, accountsFile);
    return { tarball, accounts };
  } finally {
    await database.close();
  }
}

/**
 * An API token for a new practitioner account at this organisation, held by one of its
 * practitioners who has no account yet: how a partner agency's engineer would call the APIs.
 */
export async function apiTokenForNewPractitioner(
  server: TestServer,
  username: string,
  organisationId: string,
  label: string,
): Promise<string> {
  const db = server.database.db;
  const worker = await db
    .selectFrom('practitioners')
    .select('id')
    .where('organisation_id', '=', organisationId)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('users').select('users.id').whereRef('users.practitioner_id', '=', 'practitioners.id'))),
    )
    .orderBy('id')
    .executeTakeFirstOrThrow();
  await createAccount(db, {
    username,
    displayName: username,
    role: 'practitioner',
    password: 'a long passphrase for tests',
    practitionerId: worker.id,
    organisationId,
  });
  return (await createApiTokenForUsername(db, username, label)).token;
}
