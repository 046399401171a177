// Starts Joinery in-process for tests: a fresh embedded database, a small synthetic place,
// the demo accounts, listening on a free port.
import assert from 'node:assert/strict';
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
  const database = options.database ?? (await openPglite('memory://'));
  await migrateToLatest(database.db);
  await loadSyntheticPlace(database.db, { seed: options.seed ?? 7, people: options.people ?? 3000 });
  const accounts = await createDemoAccounts(database.db);
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
