// The data-access layer: Kysely over either embedded PGlite (the zero-setup default) or a
// PostgreSQL server (DATABASE_URL). Same SQL, same migrations, same code paths.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { fuzzystrmatch } from '@electric-sql/pglite/contrib/fuzzystrmatch';
import pg from 'pg';
import {
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  PostgresIntrospector,
  PostgresQueryCompiler,
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type Transaction,
} from 'kysely';
import type { Database } from '../schema.ts';
import { FolderInUse, lockFolder, type FolderHolder } from './data-lock.ts';

export type DatabaseKind = 'pglite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** Where the data lives, safe to show (no credentials). */
  location: string;
  /**
   * A hot-path query as a named prepared statement (planned once per connection on a server);
   * for the few queries where Kysely's per-call planning cost matters, e.g. access decisions.
   */
  prepared<R>(name: string, text: string, values: unknown[]): Promise<R[]>;
  /** The embedded database's whole data folder as a gzipped tarball, to open again with `openPglite(…, { from })`. */
  snapshot?(): Promise<Blob>;
  close(): Promise<void>;
}

const preparedByDb = new WeakMap<object, DatabaseHandle['prepared']>();
const kindByDb = new WeakMap<object, DatabaseKind>();

function register(handle: DatabaseHandle): DatabaseHandle {
  preparedByDb.set(handle.db, handle.prepared);
  kindByDb.set(handle.db, handle.kind);
  return handle;
}

/**
 * Runs `work` in `db` when `db` is already a transaction, otherwise in a transaction of its own.
 * Use cases take the transaction they run in and never open one: the caller owning the unit of
 * work opens it. This is for the two callers that are both. A FHIR write is its own unit of work
 * when sent alone (and must then keep a refusal's audited access decision, taken before any
 * transaction, on the record) and one entry of a transaction Bundle's when sent in one (all or
 * nothing). The budget ledger's posting runs in a use case's transaction, or, for a generated
 * schedule of many thousands, one transaction per batch so none grows unbounded. Anywhere else,
 * open the transaction where the unit of work starts.
 */
export function inTransaction<T>(db: Kysely<Database>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work);
}

/**
 * Which engine a handle's Kysely instance runs on (undefined for a transaction): a server can be
 * shared by many processes, the embedded database by one, and some locking differs between them.
 */
export function databaseKindOf(db: object): DatabaseKind | undefined {
  return kindByDb.get(db);
}

/**
 * Runs a hot-path query as a named prepared statement when `db` is a handle's Kysely instance
 * on a server, and as an ordinary parameterised query otherwise (PGlite, transactions).
 */
export async function preparedQuery<R>(db: Kysely<Database>, name: string, text: string, values: unknown[]): Promise<R[]> {
  const prepared = preparedByDb.get(db);
  if (prepared) return prepared<R>(name, text, values);
  return (await db.executeQuery<R>(CompiledQuery.raw(text, values))).rows;
}

/**
 * A column one module's statement carries for another, so two reads share one round trip: SQL
 * text whose parameters are numbered from `firstParameter`, their values in order, and a name
 * that tells its prepared statement apart (the same name must always give the same text).
 */
export interface BesideColumn {
  name: string;
  sql(firstParameter: number): string;
  values: readonly unknown[];
}

export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
}

/**
 * The embedded database's folder is held by another process (see data-lock.ts). One line naming
 * the folder and the holder; `advice` says what to do instead (a command with an HTTP
 * equivalent names it).
 */
export class DatabaseInUseError extends DatabaseOpenError {
  override name = 'DatabaseInUseError';
  readonly folder: string;
  readonly holder: FolderHolder;
  constructor(
    folder: string,
    holder: FolderHolder,
    advice = 'stop it first, or run Joinery on PostgreSQL (DATABASE_URL), where commands can run beside servers',
  ) {
    const who = `pid ${holder.pid}${holder.host === os.hostname() ? '' : ` on ${holder.host}`}${holder.serving ? `, serving ${holder.serving}` : ''}`;
    super(`the embedded database in ${folder} is in use by another process (${who}); ${advice}`);
    this.folder = folder;
    this.holder = holder;
  }

  withAdvice(advice: string): DatabaseInUseError {
    return new DatabaseInUseError(this.folder, this.holder, advice);
  }
}

// Dates stay 'YYYY-MM-DD' strings (no time-zone shifts); counts come back as numbers.
const OID_INT8 = 20;
const OID_DATE = 1082;
const OID_NUMERIC = 1700;
const sharedParsers = {
  [OID_INT8]: (value: string) => Number(value),
  [OID_DATE]: (value: string) => value,
  [OID_NUMERIC]: (value: string) => Number(value),
};

/** A promise-chain mutex: PGlite has one connection, so queries and transactions take turns. */
function createMutex() {
  let tail: Promise<void> = Promise.resolve();
  return async function lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = tail;
    tail = previous.then(() => next);
    await previous;
    return release;
  };
}

class PGliteConnection implements DatabaseConnection {
  readonly #client: PGlite;
  constructor(client: PGlite) {
    this.#client = client;
  }
  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // Without parameters use the simple protocol, as node-postgres does, so a migration can
    // hold several statements.
    const result =
      query.parameters.length === 0
        ? (((await this.#client.exec(query.sql)).at(-1) ?? { rows: [], affectedRows: 0 }) as { rows: R[]; affectedRows?: number })
        : await this.#client.query<R>(query.sql, query.parameters as unknown[], { rowMode: 'object' });
    const affected = result.affectedRows;
    return {
      rows: result.rows,
      numAffectedRows: affected === undefined ? undefined : BigInt(affected),
    };
  }
  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('Streaming queries are not supported on PGlite; page with LIMIT/OFFSET or keyset instead.');
  }
}

class PGliteDriver implements Driver {
  readonly #client: PGlite;
  readonly #connection: PGliteConnection;
  readonly #lock = createMutex();
  #release: (() => void) | undefined;
  constructor(client: PGlite) {
    this.#client = client;
    this.#connection = new PGliteConnection(client);
  }
  async init(): Promise<void> {
    await this.#client.waitReady;
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    this.#release = await this.#lock();
    return this.#connection;
  }
  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }
  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }
  async destroy(): Promise<void> {
    await this.#client.close();
  }
}

function pgliteDialect(client: PGlite): Dialect {
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new PGliteDriver(client),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
}

function ensureWritableFolder(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new DatabaseOpenError(`cannot use data folder ${dir} (${code}); set JOINERY_DATA_DIR to a folder you can write`);
  }
}

/** Opens embedded PGlite in a folder (or in memory when dataDir is 'memory://'). */
export async function openPglite(dataDir: string, options: { from?: Blob } = {}): Promise<DatabaseHandle> {
  const inMemory = dataDir.startsWith('memory://');
  let release = () => {};
  if (!inMemory) {
    ensureWritableFolder(dataDir);
    // One process per folder: PGlite has no lock of its own, and a second writer loses data.
    try {
      release = await lockFolder(dataDir);
    } catch (error) {
      if (error instanceof FolderInUse) throw new DatabaseInUseError(error.folder, error.holder);
      throw new DatabaseOpenError(`cannot lock the data folder ${dataDir}: ${(error as Error).message}`);
    }
  }
  let client: PGlite;
  try {
    client = await PGlite.create(inMemory ? undefined : dataDir, {
      // A snapshot taken with `snapshot()` (e.g. a test's place, built once and reused).
      ...(options.from ? { loadDataDir: options.from } : {}),
      parsers: sharedParsers,
      extensions: { pg_trgm, fuzzystrmatch },
    });
  } catch (error) {
    release();
    throw new DatabaseOpenError(`cannot open the embedded database in ${dataDir}: ${(error as Error).message}`);
  }
  const db = new Kysely<Database>({ dialect: pgliteDialect(client) });
  return register({
    db,
    kind: 'pglite',
    location: inMemory ? 'in memory' : path.resolve(dataDir),
    // PGlite shares its one connection with Kysely, so go through Kysely's lock.
    prepared: async <R>(_name: string, text: string, values: unknown[]) => (await db.executeQuery<R>(CompiledQuery.raw(text, values))).rows,
    snapshot: () => client.dumpDataDir('gzip'),
    close: async () => {
      try {
        await db.destroy();
      } finally {
        release();
      }
    },
  });
}

/** A URL without its password, safe for logs and pages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable)';
  }
}

/** libpq falls back to the OS user when the URL names none; node-postgres needs telling. */
export function withDefaultUser(url: string): string {
  const parsed = new URL(url);
  if (parsed.username) return url;
  parsed.username = process.env.PGUSER || os.userInfo().username;
  return parsed.toString();
}

let pgParsersInstalled = false;
function installPgParsers(): void {
  if (pgParsersInstalled) return;
  for (const [oid, parse] of Object.entries(sharedParsers)) pg.types.setTypeParser(Number(oid), parse);
  pgParsersInstalled = true;
}

// Each connection plans for data held in memory or on SSD (random_page_cost 1.1, the usual
// figure there), not for PostgreSQL's default of spinning disks (4). With the default, the
// generic plans of the person page and the access facts looked each organisation up by scanning
// the whole table for every event, and joined ledger accounts by scanning them all: measured at
// 200,000 people, the page's statement cost PostgreSQL 1.0–1.3 ms of CPU, and 0.67–0.70 ms at 1.1.
const PLANNER_SETTINGS = ['-c random_page_cost=1.1'];

/**
 * The connection URL with the server settings every connection starts with (its own `options`
 * kept, then the search path, then the planner's): given in the URL, because pg lets a URL's
 * options override the pool's.
 */
export function withStartupOptions(url: string, searchPath?: string): string {
  const parsed = new URL(url);
  const options = [parsed.searchParams.get('options'), searchPath ? `-c search_path=${searchPath}` : null, ...PLANNER_SETTINGS];
  parsed.searchParams.set('options', options.filter((o) => o).join(' '));
  return parsed.toString();
}

/**
 * Opens a pool on a PostgreSQL server and proves it answers, so a bad DATABASE_URL fails
 * at start-up in one line rather than on the first request. `searchPath` isolates tests.
 */
export async function openPostgres(url: string, options: { searchPath?: string; max?: number } = {}): Promise<DatabaseHandle> {
  installPgParsers();
  const pool = new pg.Pool({
    connectionString: withStartupOptions(withDefaultUser(url), options.searchPath),
    max: options.max ?? 10,
    connectionTimeoutMillis: 5000,
  });
  // An idle client losing its server must not crash the process.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => {});
    const reason = (error as Error).message.split('\n')[0];
    throw new DatabaseOpenError(`cannot connect to ${redactDatabaseUrl(url)}: ${reason}`);
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return register({
    db,
    kind: 'postgres',
    location: redactDatabaseUrl(url),
    prepared: async <R>(name: string, text: string, values: unknown[]) => (await pool.query({ name, text, values })).rows as R[],
    close: () => db.destroy(),
  });
}

export function openDatabase(config: { databaseUrl: string | undefined; dataDir: string }): Promise<DatabaseHandle> {
  return config.databaseUrl ? openPostgres(config.databaseUrl) : openPglite(config.dataDir);
}
