// Bulk agency feeds: CSV (through a saved column mapping), NDJSON of FHIR Patients, or a FHIR
// Bundle. Resumable: each batch of rows commits together with the job's checkpoint (the last
// input line fully processed), so a restart carries on after it, losing and duplicating
// nothing; (source, source_id) is unique besides. Bad rows are quarantined, never block: each
// is set aside with its line number, reason and the row as sent (import_quarantine), and the
// good rows go on. People are linked through the person index as it goes.
// The file is read and checked on a worker thread (read-items.ts); this thread matches, and
// the database stores, batches that overlap (see runImport).
//
// A job records the process running it and beats a heartbeat (updated_at), so a job whose
// process died is marked failed (reapLostImports: at server start, now and then while serving,
// and before every import) and resumes when the same file is sent again.
import fs from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { z } from 'zod';
import { RefusedInput } from '../platform/refused.ts';
import { safeCsv } from '../platform/csv.ts';
import { hasStopped, isThisProcess, thisProcess, type ProcessOwner } from '../platform/process-owner.ts';
import {
  acquireIndexLock,
  forgetIndexState,
  indexState,
  planLinks,
  storeBatch,
  writeLinkPlan,
  type IncomingRecord,
  type IndexState,
  type LinkPlan,
} from '../linkage/index.ts';
import { registeredSourceCode } from '../network/index.ts';
import {
  bundleEntries,
  formatOf,
  ImportInputError,
  mappableFields,
  scanFile,
  type ColumnMapping,
  receivedPatients,
  type FileScan,
  type ImportFormat,
  type MappableField,
} from './read-input.ts';
import { readItems } from './read-items.ts';
import { fieldsFromPatient } from './read-input.ts';
import type { ClinicalEntries, PatientNotKept } from './clinical-entries.ts';

export {
  cleanFields,
  fieldsFromPatient,
  formatOf,
  ImportInputError,
  mappableFields,
  type ColumnMapping,
  type ImportFormat,
  type InputItem,
  type MappableField,
} from './read-input.ts';

/** A source code as written: letters (either case), digits, - and _. */
export function isSourceCode(value: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(value);
}

export const SOURCE_CODE_RULE = "a source code is letters, digits, - and _ (the organisation's code, in either case)";

/**
 * The one form of a source code that is stored: the member organisation's code as registered
 * (ASC, GP01), whatever case the feed was named in, because the access rules compare
 * source_records.source with organisations.source_code exactly (an index lookup); otherwise a
 * feed already imported under the same code in another case; otherwise lower case.
 */
export async function canonicalSource(db: Kysely<Database>, value: string): Promise<string> {
  if (!isSourceCode(value)) throw new ImportInputError(SOURCE_CODE_RULE);
  const registered = await registeredSourceCode(db, value);
  if (registered !== undefined) return registered;
  const earlier = await db
    .selectFrom('import_jobs')
    .select('source')
    .where(sql<boolean>`lower(source) = ${value.toLowerCase()}`)
    .orderBy('id')
    .executeTakeFirst();
  return earlier?.source ?? value.toLowerCase();
}

const MAPPING_SHAPE = `send {"idColumn": "...", "columns": {"given_name": "Column", ...}} with fields from ${mappableFields.join(', ')}`;

/** What PUT /api/import-mappings/{source}/{name} takes: the id column, and the column each field is read from; /openapi.json shows this schema. */
export const columnMappingRequest = z.object(
  {
    idColumn: z
      .string({ error: `say which column holds the agency's record id: ${MAPPING_SHAPE}` })
      .min(1, "say which column holds the agency's record id"),
    columns: z.strictObject(
      Object.fromEntries(mappableFields.map((field) => [field, z.string('name each column with a string').optional()])),
      {
        error: (issue) =>
          issue.code === 'unrecognized_keys'
            ? `"${issue.keys[0]}" is not a field Joinery takes; use ${mappableFields.join(', ')}`
            : MAPPING_SHAPE,
      },
    ),
  },
  { error: MAPPING_SHAPE },
);

export async function saveMapping(db: Kysely<Database>, given: ColumnMapping): Promise<void> {
  const mapping = { ...given, source: await canonicalSource(db, given.source) };
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(mapping.name)) throw new ImportInputError('a mapping name is letters, digits, - and _');
  if (!mapping.idColumn) throw new ImportInputError("say which column holds the agency's record id");
  for (const field of Object.keys(mapping.columns)) {
    if (!(mappableFields as readonly string[]).includes(field))
      throw new ImportInputError(`"${field}" is not a field Joinery takes; use ${mappableFields.join(', ')}`);
  }
  await db
    .insertInto('import_mappings')
    .values({ source: mapping.source, name: mapping.name, id_column: mapping.idColumn, columns: JSON.stringify(mapping.columns) as never })
    .onConflict((oc) =>
      oc.columns(['source', 'name']).doUpdateSet({ id_column: mapping.idColumn, columns: JSON.stringify(mapping.columns) as never }),
    )
    .execute();
}

export async function loadMapping(db: Kysely<Database>, given: string, name: string): Promise<ColumnMapping | undefined> {
  const source = await canonicalSource(db, given);
  const row = await db.selectFrom('import_mappings').selectAll().where('source', '=', source).where('name', '=', name).executeTakeFirst();
  return (
    row && {
      source: row.source,
      name: row.name,
      idColumn: row.id_column,
      columns: (typeof row.columns === 'string' ? JSON.parse(row.columns) : row.columns) as ColumnMapping['columns'],
    }
  );
}

/** `given_name=Forename,family_name=Surname` → a column map. */
export function parseMapArgument(text: string): Partial<Record<MappableField, string>> {
  const out: Partial<Record<MappableField, string>> = {};
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new ImportInputError(`"${pair}" should be FIELD=Column`);
    const field = pair.slice(0, eq).trim();
    if (!(mappableFields as readonly string[]).includes(field))
      throw new ImportInputError(`"${field}" is not a field Joinery takes; use ${mappableFields.join(', ')}`);
    out[field as MappableField] = pair.slice(eq + 1).trim();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// Running an import

export interface ImportOptions {
  source: string;
  file: string;
  /** The display name of the file (uploads are stored under a temporary name). */
  fileName?: string;
  mapping?: ColumnMapping;
  format?: ImportFormat;
  batchSize?: number;
  link?: boolean;
  createdBy?: string | null;
  /**
   * The fhir module's part of an import of FHIR resources: each Patient kept as sent, and a
   * Bundle's clinical entries. A Bundle is not imported without it; NDJSON is, with a warning that
   * only the fields Joinery reads were kept.
   */
  clinical?: ClinicalEntries;
  onProgress?(progress: ImportProgress): void;
  /** Called after each committed batch (tests use it to stop mid-way). */
  afterBatch?(progress: ImportProgress): void | Promise<void>;
}

export interface ImportProgress {
  jobId: number;
  status: string;
  linesDone: number;
  linesTotal: number | null;
  stored: number;
  unchanged: number;
  linked: number;
  newPerson: number;
  review: number;
  /** Rows set aside (quarantined), repeated record ids included. */
  errors: number;
  /** Rows set aside because their record id came earlier in the file. */
  duplicates: number;
  /** utf-8, or windows-1252 when some lines were not UTF-8 (see scanFile). */
  encoding: string;
  warnings: string[];
  /** Why the job stopped, while it is failed. */
  failure: string | null;
  /** True when this run resumed a job a previous run had started. */
  resumed: boolean;
  /** Records of which something sent was not kept (each named, with the elements, by importNotKept). */
  notKept: number;
  /** A Bundle's clinical entries (Condition, Encounter, ...) kept against the people linked, by type (this run only). */
  clinical?: Record<string, number>;
}

type JobRow = {
  id: number;
  status: string;
  lines_done: number;
  lines_total: number | null;
  records_stored: number;
  records_unchanged: number;
  records_linked: number;
  records_new_person: number;
  records_review: number;
  errors: number;
  duplicates: number;
  records_not_kept: number;
  encoding: string;
  warnings: string[] | string;
  failure: string | null;
  owner_host: string | null;
  owner_pid: number | null;
  owner_started: string | null;
  updated_at: Date;
};

function progressOf(job: JobRow, resumed: boolean): ImportProgress {
  return {
    jobId: Number(job.id),
    status: job.status,
    linesDone: Number(job.lines_done),
    linesTotal: job.lines_total === null ? null : Number(job.lines_total),
    stored: Number(job.records_stored),
    unchanged: Number(job.records_unchanged),
    linked: Number(job.records_linked),
    newPerson: Number(job.records_new_person),
    review: Number(job.records_review),
    errors: Number(job.errors),
    duplicates: Number(job.duplicates),
    notKept: Number(job.records_not_kept),
    encoding: job.encoding,
    warnings: typeof job.warnings === 'string' ? (JSON.parse(job.warnings) as string[]) : job.warnings,
    failure: job.failure,
    resumed,
  };
}

/** The same file sent while its import is still running (here or in another live process). */
export class ImportBusy extends RefusedInput {
  readonly jobId: number;
  constructor(jobId: number, owner: ProcessOwner | null) {
    super(
      409,
      `this file is already being imported as job ${jobId}${owner ? ` (by process ${owner.pid} on ${owner.host})` : ''}; watch GET /api/imports/${jobId}, or send it again once that run stops`,
    );
    this.jobId = jobId;
  }
}

/** Jobs this process is running now (a job owned by this process but not here was lost). */
const activeJobs = new Set<number>();

/** How often a running job says it is alive, and how long without word before it counts as lost. */
const HEARTBEAT_MS = 30_000;
export const LOST_AFTER_MINUTES = 10;

function ownerOf(job: JobRow): ProcessOwner | null {
  return job.owner_host === null || job.owner_pid === null
    ? null
    : { host: job.owner_host, pid: Number(job.owner_pid), started: job.owner_started };
}

/** Why a running job is lost, or null while its process may still be running it. */
function lostBecause(job: JobRow, now: number): string | null {
  const owner = ownerOf(job);
  const after = `(after line ${Number(job.lines_done).toLocaleString('en-GB')}); send the same file again to resume`;
  if (owner && isThisProcess(owner))
    return activeJobs.has(Number(job.id)) ? null : `this process stopped running it before it finished ${after}`;
  if (owner && hasStopped(owner)) return `process ${owner.pid} on ${owner.host} stopped before it finished ${after}`;
  if (now - new Date(job.updated_at).getTime() > LOST_AFTER_MINUTES * 60_000) {
    return `${owner ? `process ${owner.pid} on ${owner.host}` : 'the process running it'} sent no word for ${LOST_AFTER_MINUTES} minutes, so it stopped before it finished ${after}`;
  }
  return null;
}

/**
 * Marks failed every running job whose process has stopped (or has been silent for
 * LOST_AFTER_MINUTES), saying why; the same file sent again resumes it. Returns how many.
 */
export async function reapLostImports(db: Kysely<Database>): Promise<number> {
  const running = (await db.selectFrom('import_jobs').selectAll().where('status', '=', 'running').execute()) as unknown as JobRow[];
  const now = Date.now();
  let reaped = 0;
  for (const job of running) {
    const reason = lostBecause(job, now);
    if (reason === null) continue;
    // Only if nobody has taken it up meanwhile (same owner, no newer heartbeat; a JavaScript
    // date keeps milliseconds, the column microseconds).
    const result = await db
      .updateTable('import_jobs')
      .set({ status: 'failed', failure: reason })
      .where('id', '=', job.id)
      .where('status', '=', 'running')
      .where(
        sql<boolean>`owner_pid is not distinct from ${job.owner_pid} and owner_host is not distinct from ${job.owner_host}
        and updated_at < ${new Date(job.updated_at)}::timestamptz + interval '1 millisecond'`,
      )
      .executeTakeFirst();
    reaped += Number(result.numUpdatedRows);
  }
  return reaped;
}

function encodingOf(scan: FileScan): { encoding: string; warnings: string[] } {
  if (scan.nonUtf8Lines === 0) return { encoding: 'utf-8', warnings: [] };
  const n = scan.nonUtf8Lines.toLocaleString('en-GB');
  const lines = scan.nonUtf8Lines === 1 ? `${n} line is` : `${n} lines are`;
  return {
    encoding: 'windows-1252',
    warnings: [
      `${lines} not UTF-8 and ${scan.nonUtf8Lines === 1 ? 'was' : 'were'} read as Windows-1252 (Latin-1), first on line ${scan.firstNonUtf8Line}${scan.utf8Beyond ? ' (the other lines are UTF-8)' : ''}: check that names with accents look right, and send UTF-8 next time`,
    ],
  };
}

/** Text PostgreSQL will store: NUL shown as \u2400, broken characters replaced; cut to 2,000 characters. */
function storableRow(row: string): string {
  return row.replaceAll('\u0000', '\u2400').toWellFormed().slice(0, 2000);
}

/** A batch not committed because an earlier one failed (the earlier error is the one reported). */
class BatchAbandoned extends Error {}

/** Records an import matches under one hold of the index lock before letting other writers in. */
const RECORDS_PER_WINDOW = 50_000;

/** Records per committed batch unless told: larger batches cost less per record (fewer statements and commits); a restart redoes at most one. */
export const DEFAULT_BATCH_SIZE = 10_000;

/** Batches between reading and committing at once (see runImport). */
const MAX_IN_FLIGHT = 3;

/**
 * The import's hold on the person index lock: taken when a batch is to be linked, kept across
 * batches in flight, and given up (after they commit) once a window's worth has gone through.
 */
class ImportWindow {
  private release: (() => Promise<void>) | null = null;
  private records = 0;
  private readonly db: Kysely<Database>;
  private readonly link: boolean;
  constructor(db: Kysely<Database>, link: boolean) {
    this.db = db;
    this.link = link;
  }

  /** Opens the window if need be and returns the index to link with (loaded before any transaction). */
  async enter(records: number, drain: () => Promise<unknown>): Promise<IndexState | undefined> {
    if (!this.link) return undefined;
    if (this.release && this.records >= RECORDS_PER_WINDOW) {
      await drain();
      await this.close();
    }
    if (!this.release) {
      this.release = await acquireIndexLock(this.db);
      this.records = 0;
    }
    this.records += records;
    // On PGlite a transaction holds the only connection: the index must be loaded before one opens.
    return indexState(this.db);
  }

  /** Lets other writers in, in this process and (on PostgreSQL) every other. */
  async close(): Promise<void> {
    const release = this.release;
    this.release = null;
    await release?.();
  }
}

export async function runImport(db: Kysely<Database>, options: ImportOptions): Promise<ImportProgress> {
  const source = await canonicalSource(db, options.source);
  options = { ...options, source };
  const { file } = options;
  if (!fs.existsSync(file)) throw new ImportInputError(`there is no file ${file}`);
  const format = options.format ?? formatOf(file);
  if (format === 'csv' && !options.mapping) throw new ImportInputError('a CSV import needs a column mapping (--mapping NAME)');
  // Never a Bundle without its clinical entries' keeper: they would be passed over and lost.
  if (format === 'bundle' && !options.clinical)
    throw new Error("a Bundle import needs the fhir module's clinical entries (options.clinical)");
  const scan = await scanFile(file);
  const { hash, lines } = scan;
  const fileName = options.fileName ?? path.basename(file);
  // A job of this file whose process died is failed first, so it can be taken up below.
  await reapLostImports(db);
  const me = thisProcess();
  const mine = { owner_host: me.host, owner_pid: me.pid, owner_started: me.started };
  const existing = (await db
    .selectFrom('import_jobs')
    .selectAll()
    .where('source', '=', source)
    .where('file_hash', '=', hash)
    .executeTakeFirst()) as JobRow | undefined;
  let job: JobRow | undefined;
  if (!existing) {
    const total = format === 'bundle' ? await bundleEntries(file) : lines;
    const { encoding, warnings } = encodingOf(scan);
    job = (await db
      .insertInto('import_jobs')
      .values({
        source,
        format,
        mapping_name: options.mapping?.name ?? null,
        file_name: fileName,
        file_hash: hash,
        lines_total: total,
        created_by: options.createdBy ?? null,
        finished_at: null,
        encoding,
        warnings: JSON.stringify(warnings) as never,
        failure: null,
        ...mine,
      })
      .onConflict((oc) => oc.columns(['source', 'file_hash']).doNothing())
      .returningAll()
      .executeTakeFirst()) as JobRow | undefined;
  }
  const resumed = job === undefined;
  if (!job) {
    // Another run's job: finished, failed (take it up), or running (refused: two runs of one job would race).
    const found =
      existing ??
      ((await db
        .selectFrom('import_jobs')
        .selectAll()
        .where('source', '=', source)
        .where('file_hash', '=', hash)
        .executeTakeFirstOrThrow()) as JobRow);
    if (found.status === 'done') return progressOf(found, true);
    job = (await db
      .updateTable('import_jobs')
      .set({ status: 'running', failure: null, updated_at: new Date(), ...mine })
      .where('id', '=', found.id)
      .where('status', '=', 'failed')
      .returningAll()
      .executeTakeFirst()) as JobRow | undefined;
    if (!job) {
      const now = (await db.selectFrom('import_jobs').selectAll().where('id', '=', found.id).executeTakeFirstOrThrow()) as JobRow;
      if (now.status === 'done') return progressOf(now, true);
      throw new ImportBusy(Number(now.id), ownerOf(now));
    }
  }
  const jobId = Number(job.id);
  activeJobs.add(jobId);
  const heartbeat = setInterval(() => {
    void db
      .updateTable('import_jobs')
      .set({ updated_at: new Date() })
      .where('id', '=', jobId)
      .where('status', '=', 'running')
      .where('owner_pid', '=', me.pid)
      .where('owner_host', '=', me.host)
      .execute()
      .catch(() => {});
  }, HEARTBEAT_MS);
  heartbeat.unref();
  try {
    return await runClaimedImport(db, options, job, resumed, format, scan);
  } catch (error) {
    // Failed, saying why, and resumable: the next run of the file carries on from the checkpoint.
    const code = (error as { code?: unknown }).code;
    const failure =
      error instanceof ImportInputError
        ? error.message
        : `the import stopped on an error${typeof code === 'string' ? ` (${code})` : ''}; send the same file again to resume`;
    await db
      .updateTable('import_jobs')
      .set({ status: 'failed', failure, updated_at: new Date() })
      .where('id', '=', jobId)
      .where('status', '=', 'running')
      .execute()
      .catch(() => {});
    throw error;
  } finally {
    clearInterval(heartbeat);
    activeJobs.delete(jobId);
  }
}

async function runClaimedImport(
  db: Kysely<Database>,
  options: ImportOptions,
  job: JobRow,
  resumed: boolean,
  format: ImportFormat,
  scan: FileScan,
): Promise<ImportProgress> {
  const { source, file } = options;

  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const skipThrough = Number(job.lines_done);
  const items = readItems({
    file,
    format,
    mapping: options.mapping,
    source,
    skipThrough,
    mixed: scan.nonUtf8Lines > 0,
    clinicalTypes: options.clinical?.types ?? [],
  });
  let current = job;
  options.onProgress?.(progressOf(current, resumed));
  let records: IncomingRecord[] = [];
  let errors: SetAside[] = [];
  let lastLine = skipThrough;

  interface SetAside {
    line: number;
    reason: string;
    row: string;
    duplicate: boolean;
  }
  interface Batch {
    records: IncomingRecord[];
    errors: SetAside[];
    last: number;
    expected: number;
  }

  // Two batches are in flight at once: while the database writes one batch's links, it stores
  // the next, which this thread then matches (on PostgreSQL the two run on separate cores).
  // Each batch commits in its own transaction with its checkpoint, and both matching and
  // commits go in file order. The index lock is held across a window of batches, so no other
  // writer sees index entries whose batch has not committed; the window closes now and then to
  // let other writers (a registration, a review decision) take their turn.
  const window = new ImportWindow(db, options.link !== false);
  let linkTurn: Promise<void> = Promise.resolve();
  let commitTurn: Promise<void> = Promise.resolve();
  // Set by the first batch that fails (assigned inside callbacks, so typed by assertion).
  let failure = null as { error: unknown } | null;
  const inflight = new Set<Promise<void>>();

  const commit = (batch: Batch, state: IndexState | undefined): Promise<void> => {
    const afterLinks = linkTurn;
    const afterCommits = commitTurn;
    let linksDone!: () => void;
    let committed!: () => void;
    linkTurn = new Promise((resolve) => (linksDone = resolve));
    commitTurn = new Promise((resolve) => (committed = resolve));
    const stopIfFailed = () => {
      if (failure) throw new BatchAbandoned();
    };
    return (async () => {
      try {
        current = await db.transaction().execute(async (trx) => {
          const stored = await storeBatch(trx, source, batch.records, { outcomes: false });
          await afterLinks;
          stopIfFailed();
          let plan: LinkPlan;
          try {
            plan = planLinks(state, stored);
          } finally {
            linksDone();
          }
          // Links may name persons the previous batch created: they must be committed first.
          await afterCommits;
          stopIfFailed();
          await writeLinkPlan(trx, plan);
          if (batch.errors.length > 0) {
            await sql`insert into import_quarantine (job_id, line, reason, row_text)
              select ${current.id}, * from unnest(${batch.errors.map((e) => e.line)}::bigint[], ${batch.errors.map((e) => e.reason)}::text[],
                ${batch.errors.map((e) => storableRow(e.row))}::text[])`.execute(trx);
          }
          const { result } = stored;
          const updated = (await trx
            .updateTable('import_jobs')
            .set({
              lines_done: batch.last,
              records_stored: sql`records_stored + ${result.stored}`,
              records_unchanged: sql`records_unchanged + ${result.unchanged}`,
              records_linked: sql`records_linked + ${result.linked}`,
              records_new_person: sql`records_new_person + ${result.newPerson}`,
              records_review: sql`records_review + ${result.review}`,
              errors: sql`errors + ${batch.errors.length}`,
              duplicates: sql`duplicates + ${batch.errors.filter((e) => e.duplicate).length}`,
              updated_at: new Date(),
            } as never)
            .where('id', '=', current.id)
            .where('lines_done', '=', batch.expected)
            .returningAll()
            .executeTakeFirst()) as JobRow | undefined;
          if (!updated) throw new Error('another run is importing this file at the same time');
          return updated;
        });
        committed();
        const progress = progressOf(current, resumed);
        options.onProgress?.(progress);
        await options.afterBatch?.(progress);
      } catch (error) {
        // The in-process index may hold records the rolled-back batch added: rebuild it on next use.
        forgetIndexState(db);
        if (!(error instanceof BatchAbandoned)) failure ??= { error };
      } finally {
        linksDone();
        committed();
      }
    })();
  };

  let expected = Number(current.lines_done);
  const flush = async () => {
    const batch: Batch = { records, errors, last: lastLine, expected };
    records = [];
    errors = [];
    if (batch.last === batch.expected) return;
    expected = batch.last;
    while (inflight.size >= MAX_IN_FLIGHT) await Promise.race(inflight);
    if (failure) return;
    const state = await window.enter(batch.records.length, () => Promise.all(inflight));
    const running = commit(batch, state);
    inflight.add(running);
    void running.then(() => inflight.delete(running));
  };
  const drain = async () => {
    await Promise.all(inflight);
    await window.close();
    if (failure) throw failure.error;
  };

  try {
    for await (const item of items) {
      if ('error' in item) errors.push({ line: item.line, reason: item.error, row: item.row, duplicate: item.duplicate === true });
      else records.push(item.record);
      lastLine = Math.max(lastLine, item.line);
      if (records.length + errors.length >= batchSize) await flush();
      if (failure) break;
    }
    if (!failure && records.length + errors.length > 0) await flush();
    await drain();
  } catch (error) {
    await Promise.all(inflight);
    await window.close();
    throw failure ? failure.error : error;
  }
  // Each Patient as sent, once linked, kept beside the person as the FHIR API keeps it; what of it
  // a read does not return is named per record, never dropped silently.
  if (format !== 'csv') await keepPatientsAsSent(db, options, current.id, format, scan.nonUtf8Lines > 0);
  // A Bundle's clinical entries, once its Patients are linked: kept against the people they are
  // about, under this feed's organisation; those about no linked Patient are set aside, saying why.
  let clinical: Record<string, number> | undefined;
  if (format === 'bundle' && options.clinical) {
    const kept = await options.clinical.keep(db, file, source, (entry) => {
      const cleaned = fieldsFromPatient(source, entry.resource, entry.fullUrl);
      return typeof cleaned === 'string' ? undefined : cleaned.sourceId;
    });
    clinical = kept.kept;
    if (kept.setAside.length > 0) {
      await db.transaction().execute(async (trx) => {
        await sql`delete from import_quarantine where job_id = ${current.id} and line = any(${kept.setAside.map((e) => e.line)}::bigint[])`.execute(
          trx,
        );
        await sql`insert into import_quarantine (job_id, line, reason, row_text)
          select ${current.id}, * from unnest(${kept.setAside.map((e) => e.line)}::bigint[], ${kept.setAside.map((e) => e.reason)}::text[],
            ${kept.setAside.map((e) => storableRow(e.row))}::text[])`.execute(trx);
        await trx
          .updateTable('import_jobs')
          .set({ errors: sql`(select count(*) from import_quarantine q where q.job_id = ${current.id})` } as never)
          .where('id', '=', current.id)
          .execute();
      });
    }
  }
  current = (await db
    .updateTable('import_jobs')
    .set({
      status: 'done',
      failure: null,
      finished_at: new Date(),
      updated_at: new Date(),
      // A Bundle's clinical entries are read after its Patients: every entry has now been through.
      ...(format === 'bundle' ? { lines_done: sql`greatest(lines_done, coalesce(lines_total, 0))` } : {}),
    } as never)
    .where('id', '=', current.id)
    .returningAll()
    .executeTakeFirstOrThrow()) as JobRow;
  const done = { ...progressOf(current, resumed), ...(clinical ? { clinical } : {}) };
  options.onProgress?.(done);
  return done;
}

/**
 * Hands the file's Patients to the fhir module to keep as sent, and records each record of which
 * something was not kept (job's import_not_kept, replaced when a resumed run does this again).
 * Without the fhir module's part nothing can be kept: the job says so.
 */
async function keepPatientsAsSent(
  db: Kysely<Database>,
  options: ImportOptions,
  jobId: number,
  format: Exclude<ImportFormat, 'csv'>,
  mixed: boolean,
): Promise<void> {
  if (!options.clinical) {
    const warning =
      'only the fields Joinery reads were kept: this import was run without the FHIR module, so the Patients as sent were not kept beside them';
    await sql`update import_jobs set warnings = warnings || ${JSON.stringify([warning])}::jsonb
      where id = ${jobId} and not warnings @> ${JSON.stringify([warning])}::jsonb`.execute(db);
    return;
  }
  await sql`delete from import_not_kept where job_id = ${jobId}`.execute(db);
  let pending: PatientNotKept[] = [];
  const write = async () => {
    if (pending.length === 0) return;
    const rows = pending;
    pending = [];
    await db
      .insertInto('import_not_kept')
      .values(
        rows.map((r) => ({
          job_id: jobId,
          line: r.line,
          record_id: r.sourceId.slice(0, 200),
          elements: r.elements.slice(0, 200),
          reason: r.reason,
        })),
      )
      .execute();
  };
  const patients = receivedPatients(options.file, format, options.source, options.clinical.types, mixed);
  for await (const notKept of options.clinical.keepPatients(db, options.source, patients)) {
    pending.push(notKept);
    if (pending.length >= 500) await write();
  }
  await write();
  await sql`update import_jobs set records_not_kept = (select count(*) from import_not_kept where job_id = ${jobId}) where id = ${jobId}`.execute(
    db,
  );
}

/** The records of a job of which something sent was not kept: line, record id, the elements' paths and why. */
export async function importNotKept(
  db: Kysely<Database>,
  jobId: number,
  limit = 100,
): Promise<Array<{ line: number; recordId: string; elements: string[]; reason: string | null }>> {
  const rows = await db
    .selectFrom('import_not_kept')
    .select(['line', 'record_id', 'elements', 'reason'])
    .where('job_id', '=', jobId)
    .orderBy('line')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ line: Number(r.line), recordId: r.record_id, elements: r.elements, reason: r.reason }));
}

export async function importErrors(db: Kysely<Database>, jobId: number, limit = 100): Promise<Array<{ line: number; message: string }>> {
  const rows = await db
    .selectFrom('import_quarantine')
    .select(['line', 'reason'])
    .where('job_id', '=', jobId)
    .orderBy('line')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ line: Number(r.line), message: r.reason }));
}

/** The rows a job set aside: line, reason and the row as sent. */
export async function rejectedRows(
  db: Kysely<Database>,
  jobId: number,
  limit = 1000,
): Promise<Array<{ line: number; reason: string; row: string }>> {
  const rows = await db
    .selectFrom('import_quarantine')
    .select(['line', 'reason', 'row_text'])
    .where('job_id', '=', jobId)
    .orderBy('line')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ line: Number(r.line), reason: r.reason, row: r.row_text }));
}

/** Every row a job set aside as CSV (line, reason, row), a page at a time; formula-safe for spreadsheets. */
export async function* rejectedCsv(db: Kysely<Database>, jobId: number): AsyncGenerator<string> {
  yield safeCsv([['line', 'reason', 'row']]);
  let after = { line: -1, id: -1 };
  for (;;) {
    const page = await db
      .selectFrom('import_quarantine')
      .select(['id', 'line', 'reason', 'row_text'])
      .where('job_id', '=', jobId)
      .where(sql<boolean>`(line, id) > (${after.line}, ${after.id})`)
      .orderBy('line')
      .orderBy('id')
      .limit(5000)
      .execute();
    if (page.length === 0) return;
    yield safeCsv(page.map((r) => [Number(r.line), r.reason, r.row_text]));
    const last = page.at(-1)!;
    after = { line: Number(last.line), id: Number(last.id) };
  }
}

/** The newest import jobs' ids, newest first: what the imports API lists. */
export async function recentImportJobIds(db: Kysely<Database>, limit: number): Promise<number[]> {
  const rows = await db.selectFrom('import_jobs').select('id').orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => Number(r.id));
}

export async function importJob(
  db: Kysely<Database>,
  jobId: number,
): Promise<(ImportProgress & { source: string; fileName: string; format: string; startedAt: Date; finishedAt: Date | null }) | undefined> {
  const row = await db.selectFrom('import_jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
  if (!row) return undefined;
  return {
    ...progressOf(row as unknown as JobRow, false),
    source: row.source,
    fileName: row.file_name,
    format: row.format,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
