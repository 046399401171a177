// Bulk agency feeds: CSV (through a saved column mapping), NDJSON of FHIR Patients, or a FHIR
// Bundle. Resumable: each batch of rows commits together with the job's checkpoint (the last
// input line fully processed), so a restart carries on after it, losing and duplicating
// nothing; (source, source_id) is unique besides. Bad rows are recorded with their line number
// and skipped; the good rows go on. People are linked through the person index as it goes.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import { acquireIndexLock, forgetIndexState, indexState, type IndexState } from '../linkage/index-state.ts';
import { isValidNhsNumber } from '../people/nhs-number.ts';
import type { SourceFields } from '../linkage/person-index.ts';
import { planLinks, storeBatch, writeLinkPlan, type IncomingRecord, type LinkPlan } from './link-batch.ts';
import { NHS_NUMBER_SYSTEM, SOURCE_SYSTEM_PREFIX } from '../fhir/resources.ts';

export const mappableFields = ['given_name', 'middle_name', 'family_name', 'birth_date', 'sex', 'nhs_number', 'phone', 'email', 'postcode', 'address'] as const;
export type MappableField = (typeof mappableFields)[number];

export interface ColumnMapping { source: string; name: string; idColumn: string; columns: Partial<Record<MappableField, string>> }

export type ImportFormat = 'csv' | 'ndjson' | 'bundle';

export class ImportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportInputError';
  }
}

export function isSourceCode(value: string): boolean {
  return /^[a-z0-9][a-z0-9_-]{0,62}$/.test(value);
}

export async function saveMapping(db: Kysely<Database>, mapping: ColumnMapping): Promise<void> {
  if (!isSourceCode(mapping.source)) throw new ImportInputError('a source code is lower-case letters, digits, - and _');
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(mapping.name)) throw new ImportInputError('a mapping name is letters, digits, - and _');
  if (!mapping.idColumn) throw new ImportInputError('say which column holds the agency\'s record id');
  for (const field of Object.keys(mapping.columns)) {
    if (!(mappableFields as readonly string[]).includes(field)) throw new ImportInputError(`"${field}" is not a field Joinery takes; use ${mappableFields.join(', ')}`);
  }
  await db.insertInto('import_mappings')
    .values({ source: mapping.source, name: mapping.name, id_column: mapping.idColumn, columns: JSON.stringify(mapping.columns) as never })
    .onConflict((oc) => oc.columns(['source', 'name']).doUpdateSet({ id_column: mapping.idColumn, columns: JSON.stringify(mapping.columns) as never }))
    .execute();
}

export async function loadMapping(db: Kysely<Database>, source: string, name: string): Promise<ColumnMapping | undefined> {
  const row = await db.selectFrom('import_mappings').selectAll().where('source', '=', source).where('name', '=', name).executeTakeFirst();
  return row && { source: row.source, name: row.name, idColumn: row.id_column, columns: (typeof row.columns === 'string' ? JSON.parse(row.columns) : row.columns) as ColumnMapping['columns'] };
}

/** `given_name=Forename,family_name=Surname` → a column map. */
export function parseMapArgument(text: string): Partial<Record<MappableField, string>> {
  const out: Partial<Record<MappableField, string>> = {};
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new ImportInputError(`"${pair}" should be FIELD=Column`);
    const field = pair.slice(0, eq).trim();
    if (!(mappableFields as readonly string[]).includes(field)) throw new ImportInputError(`"${field}" is not a field Joinery takes; use ${mappableFields.join(', ')}`);
    out[field as MappableField] = pair.slice(eq + 1).trim();
  }
  return out;
}

export function formatOf(file: string): ImportFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.json') return 'bundle';
  throw new ImportInputError(`cannot tell the format of ${path.basename(file)}: use .csv, .ndjson or .json (a FHIR Bundle)`);
}

// ---------------------------------------------------------------------------------------------
// Field cleaning: row-level errors for what cannot be taken, normal forms for the rest.

function normaliseDate(raw: string): string | null {
  const value = raw.trim();
  let m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  let iso: string | null = null;
  if (m) iso = `${m[1]}-${m[2]}-${m[3]}`;
  m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
  if (m) iso = `${m[3]}-${m[2]!.padStart(2, '0')}-${m[1]!.padStart(2, '0')}`;
  if (!iso) return null;
  const date = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === iso ? iso : null;
}

/** Checks and normalises one record's fields; a string is the row's error. */
export function cleanFields(sourceId: string | undefined, raw: Partial<Record<string, string>>): { sourceId: string; fields: SourceFields } | string {
  if (!sourceId || sourceId.trim() === '') return 'the record id is missing';
  if (sourceId.length > 200) return 'the record id is longer than 200 characters';
  const fields: SourceFields = {};
  for (const field of mappableFields) {
    const value = raw[field];
    if (typeof value === 'string' && value.trim() !== '') fields[field] = value.trim();
  }
  if (!fields.given_name && !fields.family_name) return 'there is no name (given or family)';
  if (fields.birth_date) {
    const iso = normaliseDate(fields.birth_date);
    if (!iso) return `the date of birth "${fields.birth_date}" is not a date (use YYYY-MM-DD or DD/MM/YYYY)`;
    if (iso > new Date().toISOString().slice(0, 10)) return `the date of birth ${iso} is in the future`;
    fields.birth_date = iso;
  }
  if (fields.nhs_number) {
    const digits = fields.nhs_number.replace(/[\s-]/g, '');
    if (!/^\d{10}$/.test(digits)) return `the NHS number "${fields.nhs_number}" is not 10 digits`;
    // A wrong check digit is kept as received (agencies mistype): the index weighs it, never trusts it.
    fields.nhs_number = isValidNhsNumber(digits) ? digits : fields.nhs_number;
  }
  return { sourceId: sourceId.trim(), fields };
}

/** A FHIR Patient as source fields; the record id is the identifier for this source, else the resource id. */
export function fieldsFromPatient(source: string, resource: unknown): { sourceId: string; fields: SourceFields } | string {
  if (!resource || typeof resource !== 'object') return 'not a JSON object';
  const r = resource as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (r.resourceType !== 'Patient') return `a ${String(r.resourceType ?? 'resource without resourceType')} is not a Patient (only Patient records are imported)`;
  const identifiers = Array.isArray(r.identifier) ? r.identifier as Array<{ system?: string; value?: string }> : [];
  const own = identifiers.find((i) => i.system === SOURCE_SYSTEM_PREFIX + source)?.value ?? (typeof r.id === 'string' ? r.id : undefined);
  const name = Array.isArray(r.name) ? r.name[0] as { given?: string[]; family?: string } | undefined : undefined;
  const telecom = Array.isArray(r.telecom) ? r.telecom as Array<{ system?: string; value?: string }> : [];
  const address = Array.isArray(r.address) ? r.address[0] as { line?: string[]; postalCode?: string } | undefined : undefined;
  return cleanFields(own, {
    given_name: name?.given?.[0],
    middle_name: name?.given?.slice(1).join(' '),
    family_name: name?.family,
    birth_date: typeof r.birthDate === 'string' ? r.birthDate : undefined,
    sex: r.gender === 'female' || r.gender === 'male' ? r.gender : undefined,
    nhs_number: identifiers.find((i) => i.system === NHS_NUMBER_SYSTEM)?.value,
    phone: telecom.find((t) => t.system === 'phone')?.value,
    email: telecom.find((t) => t.system === 'email')?.value,
    postcode: address?.postalCode,
    address: address?.line?.join(', '),
  });
}

// ---------------------------------------------------------------------------------------------
// Reading input: items with the input line they came from, or a line's error.

export type InputItem = { line: number; record: IncomingRecord } | { line: number; error: string };

async function* csvItems(file: string, mapping: ColumnMapping, skipThrough: number): AsyncGenerator<InputItem> {
  // Lines csv-parse could not read at all (e.g. a broken quote); the parser reads ahead, so each
  // is held back until the records before it have gone: items come out in line order.
  const unreadable: InputItem[] = [];
  const parser = fs.createReadStream(file).pipe(parse({
    columns: false, info: true, bom: true, skip_empty_lines: true, relax_column_count: true, skip_records_with_error: true, trim: true,
  }));
  parser.on('skip', (error: Error & { lines?: number }) => {
    unreadable.push({ line: error.lines ?? 0, error: 'this line could not be read as CSV (check its quotes)' });
  });
  let header: string[] | undefined;
  let index = new Map<string, number>();
  for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    const line = item.info.lines;
    unreadable.sort((a, b) => a.line - b.line);
    while (unreadable.length > 0 && unreadable[0]!.line < line) {
      const held = unreadable.shift()!;
      if (held.line > skipThrough) yield held;
    }
    if (!header) {
      header = item.record;
      index = new Map(header.map((name, i) => [name, i]));
      const missing = [mapping.idColumn, ...Object.values(mapping.columns)].filter((c) => c && !index.has(c));
      if (missing.length > 0) throw new ImportInputError(`the file has no column ${missing.map((m) => `"${m}"`).join(', ')} that mapping ${mapping.name} needs`);
      continue;
    }
    if (line <= skipThrough) continue;
    if (item.record.length !== header.length) {
      yield { line, error: `this line has ${item.record.length} fields; the header has ${header.length}` };
      continue;
    }
    const raw: Partial<Record<string, string>> = {};
    for (const [field, column] of Object.entries(mapping.columns)) raw[field] = item.record[index.get(column!)!];
    const cleaned = cleanFields(item.record[index.get(mapping.idColumn)!], raw);
    yield typeof cleaned === 'string' ? { line, error: cleaned } : { line, record: cleaned };
  }
  for (const held of unreadable.sort((a, b) => a.line - b.line)) if (held.line > skipThrough) yield held;
}

async function* ndjsonItems(file: string, source: string, skipThrough: number): AsyncGenerator<InputItem> {
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (line <= skipThrough || text.trim() === '') continue;
    let resource: unknown;
    try {
      resource = JSON.parse(text);
    } catch {
      yield { line, error: 'this line is not JSON' };
      continue;
    }
    const cleaned = fieldsFromPatient(source, resource);
    yield typeof cleaned === 'string' ? { line, error: cleaned } : { line, record: cleaned };
  }
}

/** A Bundle's entries, numbered from 1 (the "line" of a bundle import is its entry number). */
async function* bundleItems(file: string, source: string, skipThrough: number): AsyncGenerator<InputItem> {
  let bundle: { resourceType?: string; entry?: Array<{ resource?: unknown }> };
  try {
    bundle = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch {
    throw new ImportInputError('the file is not JSON');
  }
  if (bundle.resourceType !== 'Bundle') throw new ImportInputError('the file is not a FHIR Bundle');
  const entries = bundle.entry ?? [];
  for (let i = skipThrough; i < entries.length; i++) {
    const cleaned = fieldsFromPatient(source, entries[i]?.resource);
    yield typeof cleaned === 'string' ? { line: i + 1, error: cleaned } : { line: i + 1, record: cleaned };
  }
}

async function countLines(file: string, format: ImportFormat): Promise<number> {
  if (format === 'bundle') {
    try {
      return (JSON.parse(await fs.promises.readFile(file, 'utf8')) as { entry?: unknown[] }).entry?.length ?? 0;
    } catch {
      return 0;
    }
  }
  let count = 0;
  let last = 10;
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) count++;
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
  }
  return last === 10 ? count : count + 1;
}

export async function fileHash(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

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
  errors: number;
  /** True when this run resumed a job a previous run had started. */
  resumed: boolean;
}

type JobRow = { id: number; status: string; lines_done: number; lines_total: number | null; records_stored: number; records_unchanged: number; records_linked: number; records_new_person: number; records_review: number; errors: number };

function progressOf(job: JobRow, resumed: boolean): ImportProgress {
  return {
    jobId: Number(job.id), status: job.status, linesDone: Number(job.lines_done), linesTotal: job.lines_total === null ? null : Number(job.lines_total),
    stored: Number(job.records_stored), unchanged: Number(job.records_unchanged), linked: Number(job.records_linked),
    newPerson: Number(job.records_new_person), review: Number(job.records_review), errors: Number(job.errors), resumed,
  };
}

/** A batch not committed because an earlier one failed (the earlier error is the one reported). */
class BatchAbandoned extends Error {}

/** Records an import matches under one hold of the index lock before letting other writers in. */
const RECORDS_PER_WINDOW = 50_000;

/**
 * The import's hold on the person index lock: taken when a batch is to be linked, kept across
 * batches in flight, and given up (after they commit) once a window's worth has gone through.
 */
class ImportWindow {
  private release: (() => void) | null = null;
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
      this.close();
    }
    if (!this.release) {
      this.release = await acquireIndexLock(this.db);
      this.records = 0;
    }
    this.records += records;
    // On PGlite a transaction holds the only connection: the index must be loaded before one opens.
    return indexState(this.db);
  }

  close(): void {
    this.release?.();
    this.release = null;
  }
}

export async function runImport(db: Kysely<Database>, options: ImportOptions): Promise<ImportProgress> {
  const { source, file } = options;
  if (!isSourceCode(source)) throw new ImportInputError('a source code is lower-case letters, digits, - and _');
  if (!fs.existsSync(file)) throw new ImportInputError(`there is no file ${file}`);
  const format = options.format ?? formatOf(file);
  if (format === 'csv' && !options.mapping) throw new ImportInputError('a CSV import needs a column mapping (--mapping NAME)');
  const hash = await fileHash(file);
  const fileName = options.fileName ?? path.basename(file);
  let job = await db.selectFrom('import_jobs').selectAll().where('source', '=', source).where('file_hash', '=', hash).executeTakeFirst() as JobRow | undefined;
  const resumed = job !== undefined;
  if (!job) {
    const total = await countLines(file, format);
    job = await db.insertInto('import_jobs').values({
      source, format, mapping_name: options.mapping?.name ?? null, file_name: fileName, file_hash: hash, lines_total: total, created_by: options.createdBy ?? null, finished_at: null,
    }).onConflict((oc) => oc.columns(['source', 'file_hash']).doNothing()).returningAll().executeTakeFirst() as JobRow | undefined
      ?? await db.selectFrom('import_jobs').selectAll().where('source', '=', source).where('file_hash', '=', hash).executeTakeFirstOrThrow() as JobRow;
  }
  if (job.status === 'done') return progressOf(job, true);
  if (job.status === 'failed') job = await db.updateTable('import_jobs').set({ status: 'running' }).where('id', '=', job.id).returningAll().executeTakeFirstOrThrow() as JobRow;

  const batchSize = options.batchSize ?? 5000;
  const skipThrough = Number(job.lines_done);
  const items = format === 'csv' ? csvItems(file, options.mapping!, skipThrough)
    : format === 'ndjson' ? ndjsonItems(file, source, skipThrough)
      : bundleItems(file, source, skipThrough);
  let current = job;
  options.onProgress?.(progressOf(current, resumed));
  let records: IncomingRecord[] = [];
  let errors: Array<{ line: number; message: string }> = [];
  let lastLine = skipThrough;

  interface Batch { records: IncomingRecord[]; errors: Array<{ line: number; message: string }>; last: number; expected: number }

  // Two batches are in flight at once: while the database writes one batch's links, it stores
  // the next, which this process then matches (on PostgreSQL the two run on separate cores). Each batch commits in its own transaction with its checkpoint, and both
  // matching and commits go in file order. The index lock is held across a window of batches,
  // so no other writer sees index entries whose batch has not committed; the window closes
  // now and then to let other writers (a registration, a review decision) take their turn.
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
          const stored = await storeBatch(trx, source, batch.records);
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
            await sql`insert into import_errors (job_id, line, message)
              select ${current.id}, * from unnest(${batch.errors.map((e) => e.line)}::bigint[], ${batch.errors.map((e) => e.message)}::text[])`.execute(trx);
          }
          const { result } = stored;
          const updated = await trx.updateTable('import_jobs').set({
            lines_done: batch.last,
            records_stored: sql`records_stored + ${result.stored}`,
            records_unchanged: sql`records_unchanged + ${result.unchanged}`,
            records_linked: sql`records_linked + ${result.linked}`,
            records_new_person: sql`records_new_person + ${result.newPerson}`,
            records_review: sql`records_review + ${result.review}`,
            errors: sql`errors + ${batch.errors.length}`,
            updated_at: new Date(),
          } as never).where('id', '=', current.id).where('lines_done', '=', batch.expected).returningAll().executeTakeFirst() as JobRow | undefined;
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
    while (inflight.size >= 2) await Promise.race(inflight);
    if (failure) return;
    const state = await window.enter(batch.records.length, () => Promise.all(inflight));
    const running = commit(batch, state);
    inflight.add(running);
    void running.then(() => inflight.delete(running));
  };
  const drain = async () => {
    await Promise.all(inflight);
    window.close();
    if (failure) throw failure.error;
  };

  try {
    for await (const item of items) {
      if ('error' in item) errors.push({ line: item.line, message: item.error });
      else records.push(item.record);
      lastLine = Math.max(lastLine, item.line);
      if (records.length + errors.length >= batchSize) await flush();
      if (failure) break;
    }
    // Trailing blank lines count as done.
    if (!failure && records.length + errors.length > 0) await flush();
    await drain();
  } catch (error) {
    await Promise.all(inflight);
    window.close();
    if (error instanceof ImportInputError) {
      await db.updateTable('import_jobs').set({ status: 'failed', updated_at: new Date() }).where('id', '=', current.id).execute();
    }
    throw failure ? failure.error : error;
  }
  current = await db.updateTable('import_jobs').set({ status: 'done', finished_at: new Date(), updated_at: new Date() }).where('id', '=', current.id).returningAll().executeTakeFirstOrThrow() as JobRow;
  const done = progressOf(current, resumed);
  options.onProgress?.(done);
  return done;
}

export async function importErrors(db: Kysely<Database>, jobId: number, limit = 100): Promise<Array<{ line: number; message: string }>> {
  const rows = await db.selectFrom('import_errors').select(['line', 'message']).where('job_id', '=', jobId).orderBy('line').limit(limit).execute();
  return rows.map((r) => ({ line: Number(r.line), message: r.message }));
}

export async function importJob(db: Kysely<Database>, jobId: number): Promise<(ImportProgress & { source: string; fileName: string; format: string; startedAt: Date; finishedAt: Date | null }) | undefined> {
  const row = await db.selectFrom('import_jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
  if (!row) return undefined;
  return { ...progressOf(row as unknown as JobRow, false), source: row.source, fileName: row.file_name, format: row.format, startedAt: row.started_at, finishedAt: row.finished_at };
}
