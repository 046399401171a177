// Appending to and verifying the audit log: a hash chain keyed with a secret held outside the
// database (HMAC-SHA256), with signed checkpoints of its head written outside it too.
import { createHash, createHmac, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { preparedQuery } from '../platform/db.ts';
import { ConfigError } from '../platform/config.ts';
import { auditKey, auditKeyConfirmed, confirmAuditKey } from './key.ts';
import { appendCheckpointLine, checkpointLine, readCheckpoints, type AuditCheckpoint, type CheckpointLine } from './checkpoint.ts';

export interface AuditEntry {
  actorUserId: string | null;
  actorRole: string | null;
  actorOrganisationId: string | null;
  /** What was attempted: 'read', 'write', 'export', 'search', 'sign_in', 'sign_out'... */
  action: string;
  personId: string | null;
  category: string | null;
  purpose: string | null;
  decision: 'allow' | 'deny' | 'success' | 'failure';
  /** Plain-English reason, free of personal data. */
  reason: string;
}

interface ChainedFields extends AuditEntry {
  seq: number;
  at: string;
  prevHash: string;
}

/**
 * The hash covers every field, in a fixed order, plus the previous hash. With a key it is an
 * HMAC, which nobody without the key can recompute after changing the log; without one it is the
 * plain SHA-256 the events written before the keyed chain started carry.
 */
export function hashAuditEvent(e: ChainedFields, key: KeyObject | null): string {
  const canonical = JSON.stringify([
    e.seq,
    e.at,
    e.actorUserId,
    e.actorRole,
    e.actorOrganisationId,
    e.action,
    e.personId,
    e.category,
    e.purpose,
    e.decision,
    e.reason,
    e.prevHash,
  ]);
  return (key ? createHmac('sha256', key) : createHash('sha256')).update(canonical).digest('hex');
}

type EventRow = Selectable<Database['audit_events']>;

function hashRow(row: EventRow, key: KeyObject | null): string {
  return hashAuditEvent(
    {
      seq: Number(row.seq),
      at: new Date(row.at).toISOString(),
      actorUserId: row.actor_user_id,
      actorRole: row.actor_role,
      actorOrganisationId: row.actor_organisation_id,
      action: row.action,
      personId: row.person_id,
      category: row.category,
      purpose: row.purpose,
      decision: row.decision as AuditEntry['decision'],
      reason: row.reason,
      prevHash: row.prev_hash,
    },
    key,
  );
}

interface ChainHead {
  seq: number;
  hash: string;
}

/** Chains entries onto a head: sequence numbers, times and keyed hashes, ready to insert. */
function chainRows(head: ChainHead, entries: AuditEntry[]) {
  const key = auditKey();
  let seq = head.seq;
  let prevHash = head.hash;
  const rows = entries.map((entry) => {
    seq += 1;
    const at = new Date().toISOString();
    const hash = hashAuditEvent({ ...entry, seq, at, prevHash }, key);
    const row = {
      seq,
      at,
      actor_user_id: entry.actorUserId,
      actor_role: entry.actorRole,
      actor_organisation_id: entry.actorOrganisationId,
      action: entry.action,
      person_id: entry.personId,
      category: entry.category,
      purpose: entry.purpose,
      decision: entry.decision,
      reason: entry.reason,
      prev_hash: prevHash,
      hash,
    };
    prevHash = hash;
    return row;
  });
  return { rows, head: { seq, hash: prevHash } };
}

/** The head row and the event it points at, read in one statement (a consistent snapshot). */
async function readHeadWithEvent(db: Kysely<Database> | Transaction<Database>) {
  const rows = await sql<{ last_seq: number; last_hash: string; keyed_from: number; log_id: string } & Partial<EventRow>>`
    select h.last_seq, h.last_hash, h.keyed_from, h.log_id, e.*
    from audit_chain_head h left join audit_events e on e.seq = h.last_seq
    where h.id = 1`.execute(db);
  const row = rows.rows[0]!;
  return {
    head: { seq: Number(row.last_seq), hash: row.last_hash, keyedFrom: Number(row.keyed_from), logId: row.log_id },
    event: row.seq === null || row.seq === undefined ? undefined : (row as EventRow),
  };
}

/** Whether the head event carries the hash `key` gives it (or the plain one, before the keyed chain). */
function headMatchesKey(head: AuditHead, event: EventRow | undefined, key: KeyObject): boolean {
  if (head.seq === 0) return true;
  if (!event || event.hash !== head.hash) return false;
  return hashRow(event, Number(event.seq) >= head.keyedFrom ? key : null) === event.hash;
}

/**
 * Once per process, before its first append: a process holding another key (a server started
 * without JOINERY_AUDIT_KEY on another machine, a CLI run from another folder) would chain on
 * events nobody can verify, so it refuses instead. One query, then never again.
 */
async function confirmKeyMatchesChain(db: Kysely<Database> | Transaction<Database>): Promise<void> {
  if (auditKeyConfirmed()) return;
  const { head, event } = await readHeadWithEvent(db);
  if (!headMatchesKey(head, event, auditKey())) {
    throw new ConfigError(
      'the audit key is not the one this audit log was written with (check JOINERY_AUDIT_KEY or JOINERY_AUDIT_KEY_FILE), or its last event was altered: run joinery audit verify',
    );
  }
  confirmAuditKey();
}

async function appendInTransaction(trx: Transaction<Database>, entries: AuditEntry[]): Promise<void> {
  await confirmKeyMatchesChain(trx);
  // Locking the chain head serialises writers, so the chain never forks.
  const locked = await trx
    .selectFrom('audit_chain_head')
    .select(['last_seq', 'last_hash'])
    .where('id', '=', 1)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const { rows, head } = chainRows({ seq: Number(locked.last_seq), hash: locked.last_hash }, entries);
  await trx
    .insertInto('audit_events')
    .values(rows.map((r) => ({ ...r, at: new Date(r.at) })))
    .execute();
  await trx.updateTable('audit_chain_head').set({ last_seq: head.seq, last_hash: head.hash }).where('id', '=', 1).execute();
}

// One statement appends a batch: it moves the chain head on only if the head is still the one
// the batch was chained onto (the row lock makes a concurrent writer wait and then re-check),
// and inserts the events only if it did. Atomic as one statement, so the chain never forks,
// and one round trip instead of a transaction of five. It answers how many events went in and,
// for when none did, the head as its snapshot saw it: where another process (serve --workers)
// moved the head since this one last wrote, the retry chains onto that without reading it first.
const APPEND_SQL = `
  with moved as (
    update audit_chain_head set last_seq = $3, last_hash = $4
    where id = 1 and last_seq = $1 and last_hash = $2
    returning 1
  ), inserted as (
    insert into audit_events (seq, at, actor_user_id, actor_role, actor_organisation_id, action, person_id, category, purpose, decision, reason, prev_hash, hash)
    select e.seq, e.at, e.actor_user_id, e.actor_role, e.actor_organisation_id, e.action, e.person_id, e.category, e.purpose, e.decision, e.reason, e.prev_hash, e.hash
    from jsonb_to_recordset($5::jsonb) as e(seq bigint, at timestamptz, actor_user_id text, actor_role text, actor_organisation_id text, action text,
         person_id text, category text, purpose text, decision text, reason text, prev_hash text, hash text)
    where exists (select 1 from moved)
    returning 1
  )
  select (select count(*) from inserted) as inserted, h.last_seq, h.last_hash from audit_chain_head h where h.id = 1`;

async function readHead(db: Kysely<Database>): Promise<ChainHead> {
  const row = await db.selectFrom('audit_chain_head').select(['last_seq', 'last_hash']).where('id', '=', 1).executeTakeFirstOrThrow();
  return { seq: Number(row.last_seq), hash: row.last_hash };
}

/** Appends a batch outside a transaction, retrying when another writer moved the head first. */
async function appendBatch(db: Kysely<Database>, group: GroupCommit, entries: AuditEntry[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const head = group.head ?? (await readHead(db));
    const chained = chainRows(head, entries);
    const [answer] = await preparedQuery<{ inserted: number; last_seq: number; last_hash: string }>(
      db,
      'joinery_audit_append',
      APPEND_SQL,
      [head.seq, head.hash, chained.head.seq, chained.head.hash, JSON.stringify(chained.rows)],
    );
    if (Number(answer!.inserted) === entries.length) {
      group.head = chained.head;
      return;
    }
    // Someone else appended (another server, or a write's own transaction): chain onto the head
    // the statement saw, unless that is the one just refused (the other writer committed while
    // this statement waited for its lock), when only a fresh read knows where the head is.
    const seen = { seq: Number(answer!.last_seq), hash: answer!.last_hash };
    group.head = seen.seq === head.seq && seen.hash === head.hash ? undefined : seen;
    if (attempt >= 100) throw new Error('could not append to the audit log: the chain head kept moving');
  }
}

interface PendingAppend {
  entries: AuditEntry[];
  resolve: () => void;
  reject: (error: unknown) => void;
}
/** head: where this process last left the chain, so the next batch needs no read (checked on write). */
interface GroupCommit {
  queue: PendingAppend[];
  flushing: boolean;
  head: ChainHead | undefined;
}
const groupCommits = new WeakMap<object, GroupCommit>();

/**
 * Group commit: appends that arrive while a flush is running wait for the next one and are
 * written together in one statement, so concurrent requests share one write to the chain head
 * instead of queueing for it one by one. Every caller still waits until its events are durable.
 */
async function flushGroup(db: Kysely<Database>, group: GroupCommit): Promise<void> {
  group.flushing = true;
  while (group.queue.length > 0) {
    const batch = group.queue.splice(0, group.queue.length);
    try {
      await confirmKeyMatchesChain(db);
      await appendBatch(
        db,
        group,
        batch.flatMap((p) => p.entries),
      );
      for (const p of batch) p.resolve();
    } catch (error) {
      group.head = undefined;
      for (const p of batch) p.reject(error);
    }
  }
  group.flushing = false;
}

/** Appends events atomically. Pass a transaction to make the audit part of the same unit of work. */
export async function appendAudit(db: Kysely<Database> | Transaction<Database>, ...entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  if (db.isTransaction) return appendInTransaction(db as Transaction<Database>, entries);
  let group = groupCommits.get(db);
  if (!group) {
    group = { queue: [], flushing: false, head: undefined };
    groupCommits.set(db, group);
  }
  const done = new Promise<void>((resolve, reject) => group.queue.push({ entries, resolve, reject }));
  if (!group.flushing) void flushGroup(db as Kysely<Database>, group);
  return done;
}

export interface AuditHead {
  seq: number;
  hash: string;
  /** First event hashed with the key; events before it were written before the keyed chain. */
  keyedFrom: number;
  logId: string;
}

/** The chain head as it is now, in one statement: what a check or a checkpoint stands on. */
export async function readAuditHead(db: Kysely<Database>): Promise<AuditHead> {
  const row = await db
    .selectFrom('audit_chain_head')
    .select(['last_seq', 'last_hash', 'keyed_from', 'log_id'])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
  return { seq: Number(row.last_seq), hash: row.last_hash, keyedFrom: Number(row.keyed_from), logId: row.log_id };
}

/**
 * Writes a signed checkpoint of the head to `file`, after checking that the head event carries
 * its keyed hash (so a tampered head is never signed). Returns undefined when there is nothing
 * new to attest: an empty log, or a head not past `after`.
 */
export async function writeAuditCheckpoint(
  db: Kysely<Database>,
  file: string,
  options: { after?: number; key?: KeyObject } = {},
): Promise<AuditCheckpoint | undefined> {
  const key = options.key ?? auditKey();
  const { head, event } = await readHeadWithEvent(db);
  if (head.seq === 0 || head.seq <= (options.after ?? 0)) return undefined;
  if (!headMatchesKey(head, event, key)) {
    throw new ConfigError(
      `the audit log's last event (${head.seq}) does not carry this audit key's hash, so no checkpoint was written: the key is not the one the log was written with (check JOINERY_AUDIT_KEY or JOINERY_AUDIT_KEY_FILE), or the log was altered (run joinery audit verify)`,
    );
  }
  const line = checkpointLine(key, { log: head.logId, seq: head.seq, hash: head.hash, keyedFrom: head.keyedFrom });
  await appendCheckpointLine(file, line);
  return JSON.parse(line) as AuditCheckpoint;
}

/**
 * A server's checkpoints: one at start (which also fails the start when the key does not fit
 * the log), then every `everySeconds` while the log moves on, and a last one on stop. Every
 * server writes its own; the file takes lines from several processes (see checkpoint.ts).
 */
export async function startAuditCheckpoints(
  db: Kysely<Database>,
  options: { file: string; everySeconds: number; onError: (error: unknown) => void },
): Promise<{ stop(): Promise<void> }> {
  let last = (await writeAuditCheckpoint(db, options.file))?.seq ?? 0;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = running
      .then(async () => {
        last = (await writeAuditCheckpoint(db, options.file, { after: last }))?.seq ?? last;
      })
      .catch(options.onError);
    return running;
  };
  const timer = setInterval(tick, options.everySeconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await tick();
    },
  };
}

export interface AuditVerification {
  ok: boolean;
  /** Events checked: every event up to the head as it was when the check began, unless a problem stopped the walk. */
  eventsChecked: number;
  /** The head's event number when the check began. */
  headSeq: number;
  /** First event hashed with the key (those before it have plain hashes). */
  keyedFrom: number;
  /** The checkpoint file read, or null when none was given or it does not exist. */
  checkpointFile: string | null;
  /** Signed checkpoints of this log compared with it. */
  checkpointsChecked: number;
  latestCheckpoint: { seq: number; at: string } | null;
  /** Every problem found, in words, e.g. "event 42 was edited"; the first also as `problem`. */
  problems: string[];
  problem: string | null;
}

interface Checkpoints {
  /** Checkpoints at or before the head, by event. */
  bySeq: Map<number, AuditCheckpoint>;
  /** The furthest checkpoint beyond the head, if any: events after the head were deleted. */
  beyondHead: AuditCheckpoint | undefined;
  problems: string[];
}

/** "line 7 of FILE", or "line 7 of FILE (and 3 more lines)": one problem however many lines share it. */
function linesOf(file: string, lines: number[]): string {
  return `line ${lines[0]} of ${file}${lines.length > 1 ? ` (and ${lines.length - 1} more line(s))` : ''}`;
}

function loadCheckpoints(file: string, head: AuditHead, lines: CheckpointLine[]): Checkpoints {
  const result: Checkpoints = { bySeq: new Map(), beyondHead: undefined, problems: [] };
  const unsigned: number[] = [];
  const otherLog: number[] = [];
  let movedStart: AuditCheckpoint | undefined;
  for (const entry of lines) {
    if (!entry.ok) {
      unsigned.push(entry.line);
      continue;
    }
    const c = entry.checkpoint;
    if (c.log !== head.logId) {
      otherLog.push(entry.line);
      continue;
    }
    if (c.keyedFrom !== head.keyedFrom) movedStart ??= c;
    if (c.seq > head.seq) {
      if (!result.beyondHead || c.seq > result.beyondHead.seq) result.beyondHead = c;
      continue;
    }
    const earlier = result.bySeq.get(c.seq);
    if (earlier && earlier.hash !== c.hash) {
      result.problems.push(
        `the checkpoints written at ${earlier.at} and ${c.at} disagree about event ${c.seq}: the log was rewritten between them`,
      );
    } else {
      result.bySeq.set(c.seq, c);
    }
  }
  if (unsigned.length > 0) result.problems.push(`${linesOf(file, unsigned)} is not a checkpoint signed with the audit key`);
  if (otherLog.length > 0)
    result.problems.push(
      `${linesOf(file, otherLog)} is a checkpoint of another audit log: the log was replaced, or the file belongs to another database (give each its own JOINERY_AUDIT_CHECKPOINT_FILE)`,
    );
  if (movedStart)
    result.problems.push(
      `the keyed chain starts at event ${head.keyedFrom} here, but checkpoints record it starting at event ${movedStart.keyedFrom}: the log was rewritten without the key`,
    );
  if (result.beyondHead) {
    const c = result.beyondHead;
    result.problems.push(
      `${head.seq === 0 ? 'every event was deleted' : `events after ${head.seq} were deleted`}: a checkpoint written at ${c.at} records event ${c.seq}`,
    );
  }
  return result;
}

/**
 * Checks the log against a snapshot of its head taken when the check begins: every hash and
 * link of the events up to it (keyed hashes from `keyedFrom` on), and every signed checkpoint in
 * `checkpointFile`. Events appended meanwhile are left for the next check, so a live log is
 * never reported as tampered. The checkpoint file is read before the head, so a checkpoint
 * written meanwhile is never beyond the snapshot.
 */
export async function verifyAuditChain(
  db: Kysely<Database>,
  options: { checkpointFile?: string; key?: KeyObject | null; onProgress?: (done: number, total: number) => void } = {},
): Promise<AuditVerification> {
  const key = options.key === undefined ? auditKey() : options.key;
  const file = options.checkpointFile;
  const lines = file && key ? await readCheckpoints(file, key) : undefined;
  const head = await readAuditHead(db);
  if (!key && (head.seq >= head.keyedFrom || (file && (await fileExists(file))))) {
    throw new ConfigError(
      'the audit key is needed to check this audit log: set JOINERY_AUDIT_KEY or JOINERY_AUDIT_KEY_FILE to the key it was written with',
    );
  }
  const checkpoints = lines
    ? loadCheckpoints(file!, head, lines)
    : { bySeq: new Map<number, AuditCheckpoint>(), beyondHead: undefined, problems: [] };
  const chainProblems: string[] = [];
  const mismatches: Array<{ seq: number; at: string }> = [];
  let checkpointsChecked = 0;
  let latestCheckpoint: AuditVerification['latestCheckpoint'] = null;
  let prevHash = '0'.repeat(64);
  let expectedSeq = 1;
  const pageSize = 5000;
  walk: while (expectedSeq <= head.seq) {
    const page = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .where('seq', '<=', head.seq)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const row of page) {
      const seq = Number(row.seq);
      if (seq !== expectedSeq) {
        chainProblems.push(`event ${expectedSeq} is missing (deleted)`);
        break walk;
      }
      if (row.prev_hash !== prevHash) {
        chainProblems.push(`event ${seq} does not follow event ${seq - 1}`);
        break walk;
      }
      if (hashRow(row, seq >= head.keyedFrom ? key : null) !== row.hash) {
        // A plain hash where a keyed one belongs: recomputed by someone without the key.
        const rehashed = seq >= head.keyedFrom && hashRow(row, null) === row.hash;
        const firstKeyed = seq === head.keyedFrom ? ', or the audit key is not the one the log was written with' : '';
        chainProblems.push(
          rehashed ? `event ${seq} was rewritten: its hash was not made with the audit key` : `event ${seq} was edited${firstKeyed}`,
        );
        break walk;
      }
      const checkpoint = checkpoints.bySeq.get(seq);
      if (checkpoint) {
        checkpointsChecked += 1;
        if (checkpoint.hash !== row.hash) mismatches.push({ seq, at: checkpoint.at });
        else latestCheckpoint = { seq, at: checkpoint.at };
      }
      prevHash = row.hash;
      expectedSeq = seq + 1;
    }
    options.onProgress?.(expectedSeq - 1, head.seq);
    if (page.length === 0) break;
  }
  if (chainProblems.length === 0) {
    if (expectedSeq - 1 !== head.seq) chainProblems.push(`events ${expectedSeq} to ${head.seq} are missing (deleted)`);
    else if (head.seq > 0 && prevHash !== head.hash) chainProblems.push('the last event does not match the chain head');
  }
  if (mismatches.length > 0) {
    const [first] = mismatches;
    const more = mismatches.length > 1 ? ` (and ${mismatches.length - 1} later checkpoint(s) do not match either)` : '';
    checkpoints.problems.unshift(`event ${first!.seq} is not the event checkpointed at ${first!.at}${more}: the log was rewritten`);
  }
  const problems = [...chainProblems, ...checkpoints.problems];
  return {
    ok: problems.length === 0,
    eventsChecked: expectedSeq - 1,
    headSeq: head.seq,
    keyedFrom: head.keyedFrom,
    checkpointFile: lines ? file! : null,
    checkpointsChecked,
    latestCheckpoint,
    problems,
    problem: problems[0] ?? null,
  };
}

async function fileExists(file: string): Promise<boolean> {
  return fs.promises.access(file).then(
    () => true,
    () => false,
  );
}

/** Counts audit events, e.g. for the admin page. */
export async function countAuditEvents(db: Kysely<Database>): Promise<number> {
  const row = await sql<{ n: number }>`select last_seq as n from audit_chain_head where id = 1`.execute(db);
  return Number(row.rows[0]?.n ?? 0);
}

/**
 * How many emergency searches a user has made since a moment (the hourly limit holds across
 * servers because it is counted here). The action is written out so the partial index applies.
 */
export async function emergencySearchesSince(db: Kysely<Database>, userId: string, since: Date): Promise<number> {
  const row = await sql<{ n: number }>`
    select count(*)::int as n from audit_events
    where action = 'emergency_search' and actor_user_id = ${userId} and at > ${since}`.execute(db);
  return Number(row.rows[0]?.n ?? 0);
}
