// Appending to and verifying the hash-chained audit log.
import { createHash } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../platform/schema.ts';
import { preparedQuery } from '../platform/db.ts';

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

/** The hash covers every field, in a fixed order, plus the previous hash. */
export function hashAuditEvent(e: ChainedFields): string {
  const canonical = JSON.stringify([
    e.seq, e.at, e.actorUserId, e.actorRole, e.actorOrganisationId, e.action,
    e.personId, e.category, e.purpose, e.decision, e.reason, e.prevHash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

interface ChainHead { seq: number; hash: string }

/** Chains entries onto a head: sequence numbers, times and hashes, ready to insert. */
function chainRows(head: ChainHead, entries: AuditEntry[]) {
  let seq = head.seq;
  let prevHash = head.hash;
  const rows = entries.map((entry) => {
    seq += 1;
    const at = new Date().toISOString();
    const hash = hashAuditEvent({ ...entry, seq, at, prevHash });
    const row = {
      seq, at, actor_user_id: entry.actorUserId, actor_role: entry.actorRole,
      actor_organisation_id: entry.actorOrganisationId, action: entry.action, person_id: entry.personId,
      category: entry.category, purpose: entry.purpose, decision: entry.decision, reason: entry.reason,
      prev_hash: prevHash, hash,
    };
    prevHash = hash;
    return row;
  });
  return { rows, head: { seq, hash: prevHash } };
}

async function appendInTransaction(trx: Transaction<Database>, entries: AuditEntry[]): Promise<void> {
  // Locking the chain head serialises writers, so the chain never forks.
  const locked = await trx
    .selectFrom('audit_chain_head')
    .select(['last_seq', 'last_hash'])
    .where('id', '=', 1)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const { rows, head } = chainRows({ seq: Number(locked.last_seq), hash: locked.last_hash }, entries);
  await trx.insertInto('audit_events').values(rows.map((r) => ({ ...r, at: new Date(r.at) }))).execute();
  await trx.updateTable('audit_chain_head').set({ last_seq: head.seq, last_hash: head.hash }).where('id', '=', 1).execute();
}

// One statement appends a batch: it moves the chain head on only if the head is still the one
// the batch was chained onto (the row lock makes a concurrent writer wait and then re-check),
// and inserts the events only if it did. Atomic as one statement, so the chain never forks,
// and one round trip instead of a transaction of five.
const APPEND_SQL = `
  with moved as (
    update audit_chain_head set last_seq = $3, last_hash = $4
    where id = 1 and last_seq = $1 and last_hash = $2
    returning 1
  )
  insert into audit_events (seq, at, actor_user_id, actor_role, actor_organisation_id, action, person_id, category, purpose, decision, reason, prev_hash, hash)
  select e.seq, e.at, e.actor_user_id, e.actor_role, e.actor_organisation_id, e.action, e.person_id, e.category, e.purpose, e.decision, e.reason, e.prev_hash, e.hash
  from jsonb_to_recordset($5::jsonb) as e(seq bigint, at timestamptz, actor_user_id text, actor_role text, actor_organisation_id text, action text,
       person_id text, category text, purpose text, decision text, reason text, prev_hash text, hash text)
  where exists (select 1 from moved)
  returning 1`;

async function readHead(db: Kysely<Database>): Promise<ChainHead> {
  const row = await db.selectFrom('audit_chain_head').select(['last_seq', 'last_hash']).where('id', '=', 1).executeTakeFirstOrThrow();
  return { seq: Number(row.last_seq), hash: row.last_hash };
}

/** Appends a batch outside a transaction, retrying when another writer moved the head first. */
async function appendBatch(db: Kysely<Database>, group: GroupCommit, entries: AuditEntry[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const head = group.head ?? (await readHead(db));
    const chained = chainRows(head, entries);
    const inserted = await preparedQuery<{ '?column?': number }>(db, 'joinery_audit_append', APPEND_SQL,
      [head.seq, head.hash, chained.head.seq, chained.head.hash, JSON.stringify(chained.rows)]);
    if (inserted.length === entries.length) {
      group.head = chained.head;
      return;
    }
    // Someone else appended (another server, or a write's own transaction): start from the real head.
    group.head = undefined;
    if (attempt >= 100) throw new Error('could not append to the audit log: the chain head kept moving');
  }
}

interface PendingAppend { entries: AuditEntry[]; resolve: () => void; reject: (error: unknown) => void }
/** head: where this process last left the chain, so the next batch needs no read (checked on write). */
interface GroupCommit { queue: PendingAppend[]; flushing: boolean; head: ChainHead | undefined }
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
      await appendBatch(db, group, batch.flatMap((p) => p.entries));
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

export interface AuditVerification {
  ok: boolean;
  eventsChecked: number;
  /** First problem found, in words, e.g. "event 42 was edited". */
  problem: string | null;
}

/** Walks the chain in pages and checks every hash and link, and that nothing is missing. */
export async function verifyAuditChain(db: Kysely<Database>, onProgress?: (done: number, total: number) => void): Promise<AuditVerification> {
  const head = await db.selectFrom('audit_chain_head').select(['last_seq', 'last_hash']).executeTakeFirstOrThrow();
  const total = Number(head.last_seq);
  let prevHash = '0'.repeat(64);
  let expectedSeq = 1;
  const pageSize = 5000;
  for (;;) {
    const page = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const row of page) {
      const seq = Number(row.seq);
      if (seq !== expectedSeq) return { ok: false, eventsChecked: expectedSeq - 1, problem: `event ${expectedSeq} is missing (deleted)` };
      if (row.prev_hash !== prevHash) return { ok: false, eventsChecked: seq - 1, problem: `event ${seq} does not follow event ${seq - 1}` };
      const recomputed = hashAuditEvent({
        seq, at: new Date(row.at).toISOString(), actorUserId: row.actor_user_id, actorRole: row.actor_role,
        actorOrganisationId: row.actor_organisation_id, action: row.action, personId: row.person_id,
        category: row.category, purpose: row.purpose, decision: row.decision as AuditEntry['decision'],
        reason: row.reason, prevHash: row.prev_hash,
      });
      if (recomputed !== row.hash) return { ok: false, eventsChecked: seq - 1, problem: `event ${seq} was edited` };
      prevHash = row.hash;
      expectedSeq = seq + 1;
    }
    onProgress?.(expectedSeq - 1, total);
    if (page.length < pageSize) break;
  }
  if (expectedSeq - 1 !== total) return { ok: false, eventsChecked: expectedSeq - 1, problem: `events ${expectedSeq} to ${total} are missing (deleted)` };
  if (prevHash !== head.last_hash && total > 0) return { ok: false, eventsChecked: total, problem: 'the last event does not match the chain head' };
  return { ok: true, eventsChecked: total, problem: null };
}

/** Counts audit events, e.g. for the admin page. */
export async function countAuditEvents(db: Kysely<Database>): Promise<number> {
  const row = await sql<{ n: number }>`select last_seq as n from audit_chain_head where id = 1`.execute(db);
  return Number(row.rows[0]?.n ?? 0);
}
