// FHIR Bulk Data $export at place scale, as a Bulk Data client sees it.
// Usage: node bench/fhir-bulk-export.ts [--people 20000] [--engine postgres|pglite] [--user practitioner] [--type T1,T2]
// Loads a synthetic place into its own PostgreSQL schema (dropped afterwards) or PGlite, serves it
// in this process, and as the user's token kicks off a system-level $export, polls until the
// manifest, and downloads every NDJSON file. Prints one JSON object: rows read by the worker
// (every row of each type passes the access decision), resources written and downloaded (those the
// user may see), the seconds from kick-off to manifest and to the last byte, and records/s. The
// machine's load average before and after is printed too: other work shares it.
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { sql } from 'kysely';
import { openPglite, openPostgres, type DatabaseHandle } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { loadConfig } from '../src/platform/config.ts';
import { createApp } from '../src/app.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { createDemoAccounts, DEMO_PASSWORD } from '../src/demo/index.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { resourceDefs } from '../src/fhir/resources.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '20000' },
    engine: { type: 'string', default: 'postgres' },
    user: { type: 'string', default: 'practitioner' },
    type: { type: 'string' },
    seed: { type: 'string', default: '2026' },
  },
});
const people = Number(values.people);
const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';
const schema = values.engine === 'pglite' ? undefined : `bench_bx_${randomBytes(4).toString('hex')}`;

async function open(): Promise<DatabaseHandle> {
  if (!schema) return openPglite('memory://');
  const admin = await openPostgres(serverUrl, { max: 1 });
  await sql`create schema ${sql.id(schema)}`.execute(admin.db);
  await admin.close();
  return openPostgres(serverUrl, { searchPath: schema, max: 8 });
}

const database = await open();
try {
  await migrateToLatest(database.db);
  const loadStarted = Date.now();
  await loadSyntheticPlace(database.db, { seed: Number(values.seed), people });
  const accounts = await createDemoAccounts(database.db);
  const loadSeconds = (Date.now() - loadStarted) / 1000;
  const checkpoints = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-bench-audit-')), 'audit-checkpoints.log');
  const config = { ...loadConfig({ PORT: '0', JOINERY_AUDIT_CHECKPOINT_FILE: checkpoints }), port: 0 };
  const logger = pino({ level: 'warn' }, new Writable({ write: (_c, _e, done) => done() }));
  const app = await createApp({ config, database, logger, demo: { password: DEMO_PASSWORD, accounts } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  config.publicUrl = base;
  try {
    const { token } = await createApiTokenForUsername(database.db, values.user!, 'bench');
    const headers = { authorization: `Bearer ${token}`, accept: 'application/fhir+json' };
    const loadBefore = os.loadavg();
    const started = Date.now();
    const kick = await fetch(`${base}/fhir/$export${values.type ? `?_type=${values.type}` : ''}`, {
      headers: { ...headers, prefer: 'respond-async' },
    });
    if (kick.status !== 202) throw new Error(`kick-off answered ${kick.status}: ${await kick.text()}`);
    const statusUrl = kick.headers.get('content-location')!;
    let manifest: { output: Array<{ type: string; url: string; count: number }> } | undefined;
    while (!manifest) {
      const polled = await fetch(statusUrl, { headers });
      if (polled.status === 200) manifest = (await polled.json()) as typeof manifest;
      else if (polled.status === 202) await new Promise((resolve) => setTimeout(resolve, 250));
      else throw new Error(`status answered ${polled.status}: ${await polled.text()}`);
    }
    const manifestSeconds = (Date.now() - started) / 1000;
    let downloaded = 0;
    const perType: Record<string, number> = {};
    for (const file of manifest.output) {
      const response = await fetch(file.url, { headers: { authorization: headers.authorization } });
      let rest = '';
      for await (const chunk of response.body!) {
        rest += Buffer.from(chunk as Uint8Array).toString('utf8');
        const parts = rest.split('\n');
        rest = parts.pop()!;
        downloaded += parts.filter((p) => p !== '').length;
      }
      perType[file.type] = (perType[file.type] ?? 0) + file.count;
    }
    const totalSeconds = (Date.now() - started) / 1000;
    const loadAfter = os.loadavg();
    // Rows the worker read and decided: every row of each type exported.
    const types = values.type ? values.type.split(',') : Object.keys(resourceDefs).filter((t) => t !== 'AuditEvent');
    let rowsRead = 0;
    for (const t of types)
      rowsRead += Number(
        (await sql<{ n: number }>`select count(*)::int as n from (${resourceDefs[t]!.base}) r`.execute(database.db)).rows[0]!.n,
      );
    console.log(
      JSON.stringify({
        bench: 'fhir-bulk-export',
        engine: values.engine,
        people,
        user: values.user,
        date: new Date().toISOString(),
        loadSeconds: Math.round(loadSeconds),
        rowsRead,
        resourcesExported: downloaded,
        perType,
        secondsToManifest: manifestSeconds,
        secondsToLastByte: totalSeconds,
        rowsReadPerSecond: Math.round(rowsRead / manifestSeconds),
        resourcesPerSecond: Math.round(downloaded / totalSeconds),
        loadAverageBefore: loadBefore.map((l) => Math.round(l * 100) / 100),
        loadAverageAfter: loadAfter.map((l) => Math.round(l * 100) / 100),
        cpus: os.cpus().length,
      }),
    );
  } finally {
    await app.close();
  }
} finally {
  await database.close();
  if (schema) {
    const admin = await openPostgres(serverUrl, { max: 1 });
    await sql`drop schema ${sql.id(schema)} cascade`.execute(admin.db);
    await admin.close();
  }
}
