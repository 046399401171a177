// A synthetic place served over HTTP for the API benchmarks, loaded once and kept if asked: at a
// million people loading takes a quarter of an hour, so `--schema NAME --keep` loads it into a
// PostgreSQL schema of that name the first time and later runs find it there and start at once.
// Without a schema the place goes into a fresh schema (PostgreSQL) or memory (PGlite) and is
// dropped with the server.
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { sql } from 'kysely';
import { openPglite, openPostgres, type DatabaseHandle } from '../../src/platform/db.ts';
import { migrateToLatest } from '../../src/schema.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createProgress } from '../../src/platform/progress.ts';
import { createApp } from '../../src/app.ts';
import { isPlaceLoaded, loadSyntheticPlace, type PlaceLinking } from '../../src/demo/load-place.ts';
import { createDemoAccounts, DEMO_PASSWORD } from '../../src/demo/index.ts';

export interface PlaceServerOptions {
  engine: 'postgres' | 'pglite';
  people: number;
  seed: number;
  /** A PostgreSQL schema to load into, or find the place already loaded in. */
  schema?: string;
  /** Leave the schema (and its place) for the next run. */
  keep?: boolean;
  /** How agency records reach persons: the person index (the default), or the generator's truth (faster at a million). */
  linking?: PlaceLinking;
}

export interface PlaceServer {
  url: string;
  database: DatabaseHandle;
  /** Seconds spent loading the place, or null when it was already loaded. */
  loadSeconds: number | null;
  schema: string | undefined;
  close(): Promise<void>;
}

const serverUrl = process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test';

export async function startPlaceServer(options: PlaceServerOptions): Promise<PlaceServer> {
  if (options.engine === 'pglite' && options.schema) throw new Error('--schema needs --engine postgres');
  const schema = options.engine === 'pglite' ? undefined : (options.schema ?? `bench_place_${randomBytes(4).toString('hex')}`);
  const dropSchema = async () => {
    if (!schema || options.keep) return;
    const admin = await openPostgres(serverUrl, { max: 1 });
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin.db);
    await admin.close();
  };
  let database: DatabaseHandle;
  if (schema) {
    const admin = await openPostgres(serverUrl, { max: 1 });
    await sql`create schema if not exists ${sql.id(schema)}`.execute(admin.db);
    await admin.close();
    database = await openPostgres(serverUrl, { searchPath: schema, max: 8 });
  } else database = await openPglite('memory://');
  try {
    await migrateToLatest(database.db);
    let loadSeconds: number | null = null;
    if (!(await isPlaceLoaded(database.db))) {
      const progress = createProgress('Loading the place', options.people);
      const summary = await loadSyntheticPlace(
        database.db,
        { seed: options.seed, people: options.people, linking: options.linking ?? 'person_index' },
        progress,
      );
      progress.stop();
      loadSeconds = summary.seconds;
    }
    const accounts = await createDemoAccounts(database.db);
    const checkpoints = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-bench-audit-')), 'audit-checkpoints.log');
    const config = { ...loadConfig({ PORT: '0', JOINERY_AUDIT_CHECKPOINT_FILE: checkpoints }), port: 0 };
    const logger = pino({ level: 'warn' }, new Writable({ write: (_c, _e, done) => done() }));
    const app = await createApp({ config, database, logger, demo: { password: DEMO_PASSWORD, accounts } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    config.publicUrl = url;
    return {
      url,
      database,
      loadSeconds,
      schema,
      async close() {
        await app.close();
        await database.close();
        await dropSchema();
      },
    };
  } catch (error) {
    await database.close();
    await dropSchema();
    throw error;
  }
}

/** The median and the worst of some figures (lower is better). */
export function medianAndWorst(values: number[]): { median: number; worst: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)]!, worst: sorted.at(-1)! };
}
