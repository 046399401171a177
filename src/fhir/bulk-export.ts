// FHIR Bulk Data $export (HL7 Bulk Data Access IG v2): kick-off at /fhir/$export (system),
// /fhir/Patient/$export (every Patient compartment) and /fhir/Group/<household>/$export (the
// household's members), by GET or by POST with a Parameters body, with _type, _since and
// _typeFilter (searches each exported row must match one of); status polling, the manifest,
// NDJSON downloads and cancellation. A SMART app's export is narrowed to the types its scopes
// read, and to the launch patient under a patient/ scope (smart-guard.ts).
//
// The rule for bulk: an export is a read of every resource in it by the account that asked, for
// the same purpose, through the same access decision (action 'export', each person decided and
// audited once per chunk). A practitioner's token therefore yields only the people and parts the
// practitioner may see (a person who withdrew their consent drops out with their consent), a
// citizen's token their own record (and those they are proxy for). Roles that see aggregate
// figures only (manager, admin, data quality, privacy officer) are refused at kick-off: Joinery
// has no role with a lawful basis for a population extract of identifiable records; the joint
// needs assessment reads the insight module's pseudonymised, small-number-suppressed figures.
//
// A job lives in the database (bulk-schema.ts): a worker claims it with a lease (FOR UPDATE SKIP
// LOCKED, as the webhook dispatcher claims deliveries), so with several processes one worker runs
// a job; each chunk (rows after the last id written, in id order: keyset paging, which holds one
// chunk in memory and, unlike a server-side cursor, survives a restart) is read, decided, written
// as NDJSON and the job's position moved on in one transaction. A worker that dies leaves its
// lease to run out; the next one carries on from the last chunk committed, with nothing written twice.
//
// Reading at place scale: most rows are about people the actor can never see. So a type whose rows
// name their person is read person by person: the people in the actor's reach (consent's
// peopleInReach: those with any fact the decision starts from; a superset, granting nothing) are
// listed once per claim, sorted, and each chunk is every row of the next `chunkRows` of them (the
// person's index, not a scan of the type), its place kept as the last person done. A household is
// read only if someone in reach lives in it. Only what is read is decided, so people out of reach
// are neither read nor audited; everything written has passed the decision, as before.
import { createHash, randomUUID } from 'node:crypto';
import os from 'node:os';
import { Readable } from 'node:stream';
import { sql, type Kysely } from 'kysely';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Resource } from '@medplum/fhirtypes';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { authorise, defFor, plainSearchCondition, readRow, type FhirContext } from './engine.ts';
import { resourceDefs, type ResourceDef, type Row } from './resources.ts';
import { withStoredCopies } from './stored.ts';
import { FhirError, invalid, operationOutcome } from './outcome.ts';
import type { Cond } from './params.ts';
import { registerBulkImportRoutes } from './bulk-import.ts';
import { peopleInReach } from '../consent/index.ts';
import { householdsOfPeople, personColumnOf, type PersonColumn } from './reach.ts';
import { smartExportLimits } from './smart-guard.ts';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const NDJSON = 'application/fhir+ndjson';

/** Types never exported: the audit trail is shown to the person and privacy officers one event at a time. */
const NOT_EXPORTED = new Set(['AuditEvent']);

/** Every type a system-level export offers. */
export function exportableTypes(): string[] {
  return Object.keys(resourceDefs).filter((t) => !NOT_EXPORTED.has(t));
}

/** Types in the Patient compartment as Joinery models it: Patient itself and those searchable by patient. */
export function compartmentTypes(): string[] {
  return exportableTypes().filter((t) => t === 'Patient' || (resourceDefs[t]!.params.patient && resourceDefs[t]!.access?.personOf));
}

/** Roles whose access decision never shows identifiable records: no population extract for them. */
const AGGREGATE_ONLY = new Set(['manager', 'admin', 'data_quality', 'privacy_officer']);

export const hashToken = (token: string): string => createHash('sha256').update(`joinery-bulk-export:${token}`).digest('hex');

export interface ExportRequest {
  level: 'system' | 'patient' | 'group';
  groupId?: string;
  query: Record<string, unknown>;
  /** _typeFilter, one search each (`Observation?code=...`): a GET's split at its commas, a POST's one per parameter. */
  typeFilters?: string[];
  /** The request's URL as the client sent it (the manifest repeats it). */
  requestUrl: string;
  /** A SMART app's token: the types its scopes let it read, and the launch patient a patient/ scope confines it to. */
  smart?: { readable(type: string): boolean; confinedTo?: string };
}

function one(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.map(String).join(',');
  return String(v);
}

const UNSUPPORTED_PARAMS = ['_elements', 'patient', 'includeAssociatedData', '_until'];
const MAX_JOBS_IN_PROGRESS = 3;
const KEEP_HOURS = 24;

/**
 * Kick-off: checks the request and who asks, and records the job (queued). The job's resources are
 * decided later, chunk by chunk, as the actor; a Group's members are those the actor sees now.
 */
export async function startExport(
  db: Kysely<Database>,
  actor: SignedInUser,
  token: string,
  request: ExportRequest,
  now: Date = new Date(),
): Promise<string> {
  if (AGGREGATE_ONLY.has(actor.role))
    throw new FhirError(
      403,
      'forbidden',
      `the ${actor.role.replace(/_/g, ' ')} role sees aggregate figures only, so it cannot export people's records; population figures are in the insight pages`,
    );
  for (const name of UNSUPPORTED_PARAMS)
    if (request.query[name] !== undefined) throw new FhirError(400, 'not-supported', `${name} is not supported by this server's $export`);
  const format = one(request.query, '_outputFormat');
  if (format !== undefined && !['application/fhir+ndjson', 'application/ndjson', 'ndjson'].includes(format))
    throw new FhirError(400, 'not-supported', `_outputFormat=${format} is not offered: only application/fhir+ndjson`);
  const offered = request.level === 'system' ? exportableTypes() : compartmentTypes();
  const typeParam = one(request.query, '_type');
  // A SMART app exports only the types its scopes let it read: all of them unless it names some,
  // and naming one outside its scopes is refused, as a read of that type would be.
  let types = request.smart ? offered.filter((t) => request.smart!.readable(t)) : offered;
  if (typeParam !== undefined) {
    types = [...new Set(typeParam.split(',').map((t) => t.trim()))].filter((t) => t !== '');
    for (const t of types)
      if (!offered.includes(t))
        throw new FhirError(
          400,
          'not-supported',
          `_type ${t} cannot be exported at ${request.level} level here; offered: ${offered.join(', ')}`,
        );
    const outside = types.filter((t) => request.smart && !request.smart.readable(t));
    if (outside.length > 0) throw new FhirError(403, 'forbidden', `this app's scopes do not allow it to read ${outside.join(', ')}`);
    if (types.length === 0) throw invalid('_type names no type');
  }
  if (types.length === 0) throw new FhirError(403, 'forbidden', "this app's scopes allow it to read none of the types exported here");
  // _typeFilter: each a search of one exported type; a type's filters are alternatives (any may match).
  const typeFilters: Record<string, string[]> = {};
  for (const filter of request.typeFilters ?? []) {
    const m = /^([A-Z][A-Za-z]{1,63})\?(.+)$/s.exec(filter.trim());
    if (!m) throw invalid(`_typeFilter ${filter} is not a search (Type?parameter=value)`);
    const [, type, queryString] = m as unknown as [string, string, string];
    if (!types.includes(type)) throw invalid(`_typeFilter ${filter} is for ${type}, which this export does not include`);
    plainSearchCondition(defFor(type), queryString);
    typeFilters[type] = [...(typeFilters[type] ?? []), queryString];
  }
  const sinceRaw = one(request.query, '_since');
  let since: Date | null = null;
  if (sinceRaw !== undefined) {
    since = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(sinceRaw) ? new Date(sinceRaw) : null;
    if (!since || Number.isNaN(since.getTime())) throw invalid('_since must be a FHIR instant, e.g. 2026-01-01T00:00:00Z');
  }
  let members: string[] | null = null;
  if (request.level === 'group') {
    const ctx: FhirContext = { db, actor, base: '' };
    // The Group as the actor may read it (a 404 otherwise): its members are those they may see.
    const row = await readRow(ctx, 'Group', request.groupId!);
    members = (row.members as string[] | undefined) ?? [];
  }
  const inProgress = await db
    .selectFrom('fhir_export_jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('owner_user_id', '=', actor.id)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirstOrThrow();
  if (Number(inProgress.n) >= MAX_JOBS_IN_PROGRESS)
    throw new FhirError(429, 'throttled', `you have ${MAX_JOBS_IN_PROGRESS} exports in progress; wait for one to finish or cancel it`);
  const id = randomUUID();
  await db
    .insertInto('fhir_export_jobs')
    .values({
      id,
      owner_user_id: actor.id,
      token_hash: hashToken(token),
      actor: JSON.stringify(actor),
      level: request.level,
      group_id: request.groupId ?? null,
      members,
      types,
      since,
      request: request.requestUrl,
      status: 'queued',
      transaction_time: now,
      type_index: 0,
      cursor_id: null,
      current_file: null,
      current_count: 0,
      files_made: 0,
      resources_done: 0,
      leased_by: null,
      leased_until: null,
      failure: null,
      created_at: now,
      updated_at: now,
      finished_at: null,
      expires_at: new Date(now.getTime() + KEEP_HOURS * 3600_000),
    })
    .execute();
  if (Object.keys(typeFilters).length > 0 || request.smart?.confinedTo)
    await db
      .insertInto('fhir_export_job_filters')
      .values({ job_id: id, type_filters: JSON.stringify(typeFilters), confined_to: request.smart?.confinedTo ?? null })
      .execute();
  return id;
}

type Job = Database['fhir_export_jobs'] extends infer J ? { [K in keyof J]: J[K] } : never;

/** The job, only for the token that asked for it (anyone else: not found, as if it did not exist). */
async function jobForToken(db: Kysely<Database>, id: string, token: string): Promise<Job> {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new FhirError(404, 'not-found', 'there is no such export');
  const job = await db.selectFrom('fhir_export_jobs').selectAll().where('id', '=', id).executeTakeFirst();
  if (!job || job.token_hash !== hashToken(token) || job.status === 'cancelled')
    throw new FhirError(404, 'not-found', 'there is no such export (an export is seen only with the token that asked for it)');
  return job as Job;
}

export type ExportStatus =
  | { state: 'in-progress'; progress: string }
  | { state: 'failed'; failure: string }
  | { state: 'done'; manifest: Record<string, unknown>; expires: Date };

export async function exportStatus(db: Kysely<Database>, id: string, token: string, base: string): Promise<ExportStatus> {
  const job = await jobForToken(db, id, token);
  if (job.status === 'queued' || job.status === 'running') {
    const type = job.types[job.type_index];
    return {
      state: 'in-progress',
      progress:
        job.status === 'queued'
          ? 'queued'
          : `${type ?? 'finishing'} (type ${Math.min(job.type_index + 1, job.types.length)} of ${job.types.length}), ${Number(job.resources_done).toLocaleString('en-GB')} resources written`,
    };
  }
  if (job.status === 'failed') return { state: 'failed', failure: job.failure ?? 'the export failed' };
  const files = await db
    .selectFrom('fhir_export_files')
    .select(['file_no', 'resource_type', 'kind', 'count'])
    .where('job_id', '=', id)
    .orderBy('file_no')
    .execute();
  const url = (n: number) => `${base}/bulk-files/${id}/${n}.ndjson`;
  return {
    state: 'done',
    expires: new Date(job.expires_at),
    manifest: {
      transactionTime: new Date(job.transaction_time).toISOString(),
      request: job.request,
      requiresAccessToken: true,
      output: files.filter((f) => f.kind === 'output').map((f) => ({ type: f.resource_type, url: url(f.file_no), count: f.count })),
      error: files.filter((f) => f.kind === 'error').map((f) => ({ type: 'OperationOutcome', url: url(f.file_no), count: f.count })),
    },
  };
}

/** Cancels a job (queued, running or done) and deletes its files. */
export async function cancelExport(db: Kysely<Database>, id: string, token: string): Promise<void> {
  await jobForToken(db, id, token);
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('fhir_export_jobs')
      .set({ status: 'cancelled', leased_by: null, leased_until: null, updated_at: new Date(), finished_at: new Date() })
      .where('id', '=', id)
      .execute();
    await trx.deleteFrom('fhir_export_files').where('job_id', '=', id).execute();
  });
}

/** A file's NDJSON, chunk by chunk from the database (a few chunks in memory at a time). */
export async function exportFile(db: Kysely<Database>, id: string, fileNo: number, token: string): Promise<Readable> {
  const job = await jobForToken(db, id, token);
  if (job.status !== 'done') throw new FhirError(404, 'not-found', 'the export has not finished');
  const file = await db
    .selectFrom('fhir_export_files')
    .select('file_no')
    .where('job_id', '=', id)
    .where('file_no', '=', fileNo)
    .executeTakeFirst();
  if (!file) throw new FhirError(404, 'not-found', 'the export has no such file');
  async function* chunks(): AsyncGenerator<string> {
    let after = -1;
    for (;;) {
      const rows = await db
        .selectFrom('fhir_export_chunks')
        .select(['seq', 'ndjson'])
        .where('job_id', '=', id)
        .where('file_no', '=', fileNo)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(4)
        .execute();
      for (const row of rows) yield row.ndjson;
      if (rows.length < 4) return;
      after = rows.at(-1)!.seq;
    }
  }
  return Readable.from(chunks());
}

// ---------------------------------------------------------------------------------------------
// The worker

export interface ExportWorkerOptions {
  /** Rows read, decided and written per transaction; for a type whose rows name their person, every row of this many people. */
  chunkRows?: number;
  /** Resources per NDJSON file before another is begun. */
  fileRows?: number;
  leaseMs?: number;
  /** Chunks one claim runs before letting go (another job may be waiting). */
  stepsPerClaim?: number;
  intervalMs?: number;
  /** Names this worker in leases (host, process and a random part by default). */
  name?: string;
  /** Told why a job failed when the cause is not a refusal the client is shown (the client sees only that it failed). */
  onFailure?: (error: unknown, jobId: string) => void;
}

export interface ExportWorker {
  /** Claims one job and runs up to stepsPerClaim chunks of it; the chunks run (0: nothing to do). */
  runOnce(now?: Date): Promise<number>;
  stop(): Promise<void>;
}

interface JobFilters {
  typeFilters: Record<string, string[]>;
  confinedTo: string | null;
}

async function filtersOf(db: Kysely<Database>, jobId: string): Promise<JobFilters> {
  const row = await db.selectFrom('fhir_export_job_filters').selectAll().where('job_id', '=', jobId).executeTakeFirst();
  const raw = row?.type_filters;
  const typeFilters = (typeof raw === 'string' ? JSON.parse(raw) : (raw ?? {})) as Record<string, string[]>;
  return { typeFilters, confinedTo: row?.confined_to ?? null };
}

/** The rows of one type this job asks for, after `cursor`, in id order. */
function conditionsFor(def: ResourceDef, job: Job, filters: JobFilters, actor: SignedInUser): Cond[] | null {
  const conditions: Cond[] = [];
  // A rule beyond the decision (Consent: the person, their proxy and privacy officers) is put in
  // the read, as a search does; the decision applies it again.
  const gate = def.access?.gateSql?.(actor);
  if (gate) conditions.push(gate);
  const wanted = filters.typeFilters[def.type];
  if (wanted && wanted.length > 0) {
    const alternatives = wanted.map((q) => plainSearchCondition(def, q));
    conditions.push(alternatives.length === 1 ? alternatives[0]! : sql`(${sql.join(alternatives, sql` or `)})`);
  }
  if (filters.confinedTo !== null && def.access) {
    // A patient/ scope: the launch patient's rows only (the access decision confines them again).
    const restrict = def.type === 'Patient' ? def.params._id : def.params.patient;
    if (restrict) conditions.push(restrict(def.type === 'Patient' ? filters.confinedTo : `Patient/${filters.confinedTo}`));
  }
  if (job.since) {
    const lastUpdated = def.params._lastUpdated;
    if (lastUpdated) conditions.push(lastUpdated(`gt${new Date(job.since).toISOString()}`));
  }
  if (job.level === 'group') {
    const members = job.members ?? [];
    if (members.length === 0) return null;
    const restrict = def.type === 'Patient' ? def.params._id : def.params.patient;
    if (!restrict) return null;
    conditions.push(restrict(members.map((m) => (def.type === 'Patient' ? m : `Patient/${m}`)).join(',')));
  }
  return conditions;
}

async function readChunk(db: Kysely<Database>, def: ResourceDef, conditions: Cond[], after: string | null, limit: number): Promise<Row[]> {
  const all = after === null ? conditions : [...conditions, sql`r.id > ${after}`];
  const where = all.length > 0 ? sql`where ${sql.join(all, sql` and `)}` : sql``;
  const rows = (await sql<Row>`select * from (${def.base}) r ${where} order by r.id limit ${limit}`.execute(db)).rows;
  await def.hydrate?.(db, rows);
  return rows;
}

/** Every row of these people, by the column naming the person (in the people's order, then id). */
async function readPeople(
  db: Kysely<Database>,
  def: ResourceDef,
  conditions: Cond[],
  column: PersonColumn,
  people: string[],
): Promise<Row[]> {
  const personCol = sql.ref(`r.${column}`);
  const all = [...conditions, sql`${personCol} = any(${people}::text[])`];
  const rows = (await sql<Row>`select * from (${def.base}) r where ${sql.join(all, sql` and `)} order by ${personCol}, r.id`.execute(db))
    .rows;
  await def.hydrate?.(db, rows);
  return rows;
}

/** A cursor naming the last person done (a row id cursor, from a job begun before people were read this way, has no mark). */
const PERSON_CURSOR = 'person:';

/** The first index in the sorted list after `after` (every one when null). */
function after(sorted: string[], cursor: string | null): number {
  if (cursor === null) return 0;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= cursor) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The people in the actor's reach, sorted (undefined: the actor's reads are not narrowed). */
async function reachOf(db: Kysely<Database>, actor: SignedInUser): Promise<string[] | undefined> {
  const reach = peopleInReach(actor, new Date());
  if (!reach) return undefined;
  const rows = (await sql<{ person_id: string }>`select distinct s.person_id from ${reach} s where s.person_id is not null`.execute(db))
    .rows;
  return rows.map((r) => r.person_id).sort();
}

export function createExportWorker(db: Kysely<Database>, options: ExportWorkerOptions = {}): ExportWorker {
  const chunkRows = options.chunkRows ?? 1000;
  const fileRows = options.fileRows ?? 50_000;
  const leaseMs = options.leaseMs ?? 60_000;
  const stepsPerClaim = options.stepsPerClaim ?? 50;
  const name = options.name ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  async function claim(now: Date): Promise<string | undefined> {
    const until = new Date(now.getTime() + leaseMs);
    const claimed = await db.transaction().execute(
      async (trx) =>
        (
          await sql<{ id: string }>`
        with next as (
          select id from fhir_export_jobs
          where status in ('queued', 'running') and (leased_until is null or leased_until < ${now.toISOString()}::timestamptz)
          order by created_at limit 1 for update skip locked)
        update fhir_export_jobs j set status = 'running', leased_by = ${name}, leased_until = ${until.toISOString()}::timestamptz, updated_at = now()
        from next where j.id = next.id
        returning j.id`.execute(trx)
        ).rows,
    );
    return claimed[0]?.id;
  }

  /**
   * One chunk of the job, in one transaction; false when the job is finished or no longer this
   * worker's. `claim` holds the actor's reach for the claim's chunks (listed at its first).
   */
  async function step(
    id: string,
    now: Date,
    claim: { reach?: string[] | undefined; listed?: boolean; households?: string[] },
  ): Promise<boolean> {
    return db.transaction().execute(async (trx) => {
      // The row stays locked until the chunk commits: a cancel waits for it, and nobody else writes the job meanwhile.
      const job = (await trx
        .selectFrom('fhir_export_jobs')
        .selectAll()
        .where('id', '=', id)
        .where('leased_by', '=', name)
        .where('status', '=', 'running')
        .forUpdate()
        .executeTakeFirst()) as Job | undefined;
      if (!job) return false;
      const lease = { leased_until: new Date(Math.max(now.getTime(), Date.now()) + leaseMs), updated_at: new Date() };
      const type = job.types[job.type_index];
      if (type === undefined) {
        await trx
          .updateTable('fhir_export_jobs')
          .set({ status: 'done', finished_at: new Date(), leased_by: null, leased_until: null, updated_at: new Date() })
          .where('id', '=', id)
          .execute();
        return false;
      }
      const def = defFor(type);
      const filters = await filtersOf(trx, id);
      const actor = (typeof job.actor === 'string' ? JSON.parse(job.actor) : job.actor) as SignedInUser;
      const conditions = conditionsFor(def, job, filters, actor);
      if (!claim.listed) {
        claim.reach = await reachOf(trx, actor);
        claim.listed = true;
      }
      const reach = claim.reach;
      const column = reach && personColumnOf(def);
      // The place after this chunk; none when the type is done.
      let rows: Row[] = [];
      let cursor: string | undefined;
      if (conditions === null) {
        // Nothing of this type is asked for (a Group's type no member is in).
      } else if (reach && column && (job.cursor_id === null || job.cursor_id.startsWith(PERSON_CURSOR))) {
        // Person by person: the next chunkRows people in reach, every row of theirs.
        const from = after(reach, job.cursor_id === null ? null : job.cursor_id.slice(PERSON_CURSOR.length));
        const people = reach.slice(from, from + chunkRows);
        if (people.length > 0) {
          rows = await readPeople(trx, def, conditions, column, people);
          cursor = PERSON_CURSOR + people.at(-1)!;
        }
      } else if (reach && def.access?.membersOf) {
        // Household by household (a Group is one): the next chunkRows of the households where
        // someone in reach lives, listed once a claim as the people are. Their ids are the rows'
        // ids, so the cursor is a row cursor as below (a job begun by that path carries on here).
        claim.households ??= await householdsOfPeople(trx, reach);
        const from = after(claim.households, job.cursor_id);
        const households = claim.households.slice(from, from + chunkRows);
        if (households.length > 0) {
          rows = await readChunk(trx, def, [...conditions, sql`r.id = any(${households}::text[])`], null, households.length);
          cursor = households.at(-1)!;
        }
      } else {
        // Row by row, in id order: types not about people, and every type for actors whose reads are not narrowed.
        rows = await readChunk(trx, def, conditions, job.cursor_id, chunkRows);
        cursor = rows.at(-1)?.id;
      }
      if (cursor === undefined) {
        // This type is done: the next begins with a file of its own.
        await trx
          .updateTable('fhir_export_jobs')
          .set({ ...lease, type_index: job.type_index + 1, cursor_id: null, current_file: null, current_count: 0 })
          .where('id', '=', id)
          .execute();
        return true;
      }
      const ctx: FhirContext = { db: trx, actor, base: '', ...(filters.confinedTo !== null ? { confinedTo: filters.confinedTo } : {}) };
      const visible = await authorise(ctx, def, rows, 'export');
      const lines: string[] = [];
      const problems: string[] = [];
      if (visible.length > 0) {
        let resources: Resource[] = [];
        try {
          resources = await withStoredCopies(ctx, def, visible);
        } catch {
          // One row that cannot be shown should not cost the rest: each is tried alone.
          for (const row of visible) {
            try {
              resources.push(...(await withStoredCopies(ctx, def, [row])));
            } catch {
              problems.push(
                JSON.stringify(operationOutcome('error', 'exception', `${type}/${row.id} could not be written as FHIR and is left out`)),
              );
            }
          }
        }
        for (const r of resources) lines.push(JSON.stringify(r));
      }
      let { current_file: file, current_count: count, files_made: made } = job;
      if (lines.length > 0) {
        if (file === null || count + lines.length > fileRows) {
          file = ++made;
          count = 0;
          await trx
            .insertInto('fhir_export_files')
            .values({ job_id: id, file_no: file, resource_type: type, kind: 'output', count: 0 })
            .execute();
        }
        await trx
          .insertInto('fhir_export_chunks')
          .values({ job_id: id, file_no: file, seq: count, ndjson: lines.join('\n') + '\n' })
          .execute();
        count += lines.length;
        await trx.updateTable('fhir_export_files').set({ count }).where('job_id', '=', id).where('file_no', '=', file).execute();
      }
      if (problems.length > 0) {
        const errorFile = ++made;
        await trx
          .insertInto('fhir_export_files')
          .values({ job_id: id, file_no: errorFile, resource_type: 'OperationOutcome', kind: 'error', count: problems.length })
          .execute();
        await trx
          .insertInto('fhir_export_chunks')
          .values({ job_id: id, file_no: errorFile, seq: 0, ndjson: problems.join('\n') + '\n' })
          .execute();
      }
      await trx
        .updateTable('fhir_export_jobs')
        .set({
          ...lease,
          cursor_id: cursor,
          current_file: file,
          current_count: count,
          files_made: made,
          resources_done: Number(job.resources_done) + lines.length,
        })
        .where('id', '=', id)
        .execute();
      return true;
    });
  }

  async function failJob(id: string, error: unknown): Promise<void> {
    const message = error instanceof FhirError ? error.message : 'the export failed on the server';
    if (!(error instanceof FhirError)) options.onFailure?.(error, id);
    await db
      .updateTable('fhir_export_jobs')
      .set({ status: 'failed', failure: message, finished_at: new Date(), leased_by: null, leased_until: null, updated_at: new Date() })
      .where('id', '=', id)
      .where('leased_by', '=', name)
      .execute();
  }

  /** Jobs past their time are deleted with their files. */
  async function expire(now: Date): Promise<void> {
    await db.deleteFrom('fhir_export_jobs').where('expires_at', '<', now).execute();
    await db
      .deleteFrom('fhir_export_job_filters')
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('fhir_export_jobs').select('id').whereRef('fhir_export_jobs.id', '=', 'fhir_export_job_filters.job_id'))),
      )
      .execute();
  }

  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const worker: ExportWorker = {
    async runOnce(now = new Date()) {
      const id = await claim(now);
      if (!id) return 0;
      let steps = 0;
      const claimed = {};
      try {
        while (steps < stepsPerClaim && !stopped) {
          const more = await step(id, now, claimed);
          steps++;
          if (!more) return steps;
        }
      } catch (error) {
        await failJob(id, error);
        return steps;
      }
      // Let go, so a job waiting behind this one gets its turn (this one is claimed again next).
      await db
        .updateTable('fhir_export_jobs')
        .set({ leased_by: null, leased_until: null })
        .where('id', '=', id)
        .where('leased_by', '=', name)
        .execute();
      return steps;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => {});
    },
  };

  if (options.intervalMs !== undefined) {
    const tick = () => {
      if (stopped) return;
      running = (async () => {
        await expire(new Date());
        while (!stopped && (await worker.runOnce()) > 0);
      })()
        .catch(() => {})
        .finally(() => {
          if (!stopped) timer = setTimeout(tick, options.intervalMs).unref();
        });
    };
    timer = setTimeout(tick, options.intervalMs).unref();
  }
  return worker;
}

// ---------------------------------------------------------------------------------------------
// Routes

function bearer(request: FastifyRequest): string {
  const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (!m || !request.user)
    throw new FhirError(401, 'login', 'send a bearer token: Authorization: Bearer <token> (joinery token create --user NAME)');
  return m[1]!;
}

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** A GET kick-off's parameters: _typeFilter's searches are comma-separated (commas within one are %2C). */
function getParameters(request: FastifyRequest): Pick<ExportRequest, 'query' | 'typeFilters'> {
  const { _typeFilter, ...query } = (request.query ?? {}) as Record<string, unknown>;
  const typeFilters = asList(_typeFilter).flatMap((v) => v.split(',').filter((f) => f.trim() !== ''));
  return { query, typeFilters };
}

const POST_PARAMETERS: Record<string, Array<'valueString' | 'valueInstant' | 'valueDateTime' | 'valueCode'>> = {
  _type: ['valueString', 'valueCode'],
  _since: ['valueInstant', 'valueDateTime', 'valueString'],
  _outputFormat: ['valueString', 'valueCode'],
  _typeFilter: ['valueString'],
};

/**
 * A POST kick-off's parameters (Bulk Data v2): a Parameters resource with _type, _since,
 * _typeFilter and _outputFormat, each _typeFilter one search; parameters not offered are refused
 * as they are on a GET, and parameters in the URL are refused (the body says what is asked).
 */
function postParameters(request: FastifyRequest): Pick<ExportRequest, 'query' | 'typeFilters'> {
  if (Object.keys((request.query ?? {}) as object).length > 0)
    throw invalid('a POST kick-off takes its parameters in the Parameters body, not in the URL');
  const body = request.body as { resourceType?: unknown; parameter?: unknown } | undefined;
  if (body?.resourceType !== 'Parameters') throw invalid('a POST kick-off sends a Parameters resource');
  if (body.parameter !== undefined && !Array.isArray(body.parameter)) throw invalid('Parameters.parameter must be a list');
  const query: Record<string, string[]> = {};
  const typeFilters: string[] = [];
  for (const p of (body.parameter ?? []) as Array<Record<string, unknown>>) {
    const name = typeof p?.name === 'string' ? p.name : '';
    if (UNSUPPORTED_PARAMS.includes(name)) throw new FhirError(400, 'not-supported', `${name} is not supported by this server's $export`);
    const kinds = Object.hasOwn(POST_PARAMETERS, name) ? POST_PARAMETERS[name]! : undefined;
    if (!kinds) throw invalid(`$export takes the parameters ${Object.keys(POST_PARAMETERS).join(', ')}, not ${name || '(no name)'}`);
    const kind = kinds.find((k) => typeof p[k] === 'string');
    if (!kind) throw invalid(`the parameter ${name} needs a ${kinds[0]}`);
    const value = p[kind] as string;
    if (name === '_typeFilter') typeFilters.push(value);
    else query[name] = [...(query[name] ?? []), value];
  }
  for (const name of ['_since', '_outputFormat']) if ((query[name]?.length ?? 0) > 1) throw invalid(`give ${name} once`);
  return { query, typeFilters };
}

async function kickOff(
  request: FastifyRequest,
  reply: FastifyReply,
  level: ExportRequest['level'],
  groupId?: string,
): Promise<FastifyReply> {
  const token = bearer(request);
  if (!/respond-async/i.test(String(request.headers.prefer ?? '')))
    throw new FhirError(400, 'invalid', '$export runs asynchronously: send the header Prefer: respond-async');
  const base = `${request.server.joinery.config.publicUrl}/fhir`;
  const smart = smartExportLimits(request);
  const id = await startExport(request.server.joinery.database.db, request.user!, token, {
    level,
    groupId,
    ...(request.method === 'POST' ? postParameters(request) : getParameters(request)),
    requestUrl: `${request.server.joinery.config.publicUrl}${request.url}`,
    ...(smart ? { smart } : {}),
  });
  return reply
    .code(202)
    .header('content-location', `${base}/bulk-status/${id}`)
    .type(FHIR_JSON)
    .send(operationOutcome('information', 'informational', `the export has begun; poll ${base}/bulk-status/${id}`));
}

/**
 * Kick-off, status and cancel, inside the /fhir plugin (its bearer token, errors and rate
 * limit); the NDJSON files answer from a plugin of their own (registerBulkFileRoutes), since
 * the /fhir plugin answers only FHIR JSON.
 */
export function registerBulkExportRoutes(fhir: FastifyInstance): void {
  fhir.get('/$export', async (request, reply) => kickOff(request, reply, 'system'));
  fhir.get('/Patient/$export', async (request, reply) => kickOff(request, reply, 'patient'));
  fhir.get('/Group/:id/$export', async (request, reply) => kickOff(request, reply, 'group', (request.params as { id: string }).id));
  // POST kick-off (Bulk Data v2): the same, with a Parameters body.
  fhir.post('/$export', { config: { csrf: false } }, async (request, reply) => kickOff(request, reply, 'system'));
  fhir.post('/Patient/$export', { config: { csrf: false } }, async (request, reply) => kickOff(request, reply, 'patient'));
  fhir.post('/Group/:id/$export', { config: { csrf: false } }, async (request, reply) =>
    kickOff(request, reply, 'group', (request.params as { id: string }).id),
  );
  fhir.get('/bulk-status/:id', async (request, reply) => {
    const token = bearer(request);
    const base = `${request.server.joinery.config.publicUrl}/fhir`;
    const status = await exportStatus(request.server.joinery.database.db, (request.params as { id: string }).id, token, base);
    if (status.state === 'in-progress') return reply.code(202).header('x-progress', status.progress).header('retry-after', '2').send();
    if (status.state === 'failed')
      return reply
        .code(500)
        .type(FHIR_JSON)
        .send(operationOutcome('error', 'exception', status.failure));
    return reply.code(200).header('expires', status.expires.toUTCString()).type('application/json').send(status.manifest);
  });
  fhir.delete('/bulk-status/:id', { config: { csrf: false } }, async (request, reply) => {
    const token = bearer(request);
    await cancelExport(request.server.joinery.database.db, (request.params as { id: string }).id, token);
    return reply.code(202).send();
  });
  fhir.get('/bulk-files/:id/:file', async (request, reply) => {
    const token = bearer(request);
    const { id, file } = request.params as { id: string; file: string };
    const m = /^(\d{1,6})\.ndjson$/.exec(file);
    if (!m) throw new FhirError(404, 'not-found', 'the export has no such file');
    const stream = await exportFile(request.server.joinery.database.db, id, Number(m[1]), token);
    return reply.code(200).type(NDJSON).send(stream);
  });

  // The import side of bulk data: the same resumable importer as `joinery import` (bulk-import.ts).
  registerBulkImportRoutes(fhir);

  const worker = createExportWorker(fhir.joinery.database.db, {
    intervalMs: 1000,
    onFailure: (error, jobId) => fhir.log.error({ err: error, exportJob: jobId }, 'a bulk export failed'),
  });
  fhir.addHook('onClose', async () => worker.stop());
}
