// A database superuser against the audit log: what they can do behind the triggers' back
// (delete the tail, truncate, rewrite and rehash the chain) and what `audit verify` then says.
import { describe, test, beforeEach, afterEach, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { testDatabaseTargets } from '../testing.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import type { Database } from '../schema.ts';
import { appendAudit, verifyAuditChain, writeAuditCheckpoint, type AuditEntry } from './log.ts';
import { auditMigrations } from './schema.ts';
import { setAuditKey } from './key.ts';

const entry = (personId: string, n = 0): AuditEntry => ({
  actorUserId: 'u1',
  actorRole: 'practitioner',
  actorOrganisationId: 'org-1',
  action: 'read',
  personId,
  category: 'health',
  purpose: 'direct_care',
  decision: n % 3 === 0 ? 'deny' : 'allow',
  reason: `test ${n}`,
});

/** Appends `count` events about five people, in groups, as pages do. */
async function appendEvents(db: Kysely<Database>, count: number): Promise<void> {
  for (let i = 0; i < count; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, j) => appendAudit(db, entry(`p${(i + j) % 5}`, i + j))));
  }
}

/** What a superuser runs: the append-only triggers are theirs to switch off. */
async function asSuperuser(db: Kysely<Database>, statements: string): Promise<void> {
  await sql.raw(`alter table audit_events disable trigger user; ${statements}; alter table audit_events enable trigger user;`).execute(db);
}

interface Row {
  seq: number;
  at: Date;
  actor_user_id: string | null;
  actor_role: string | null;
  actor_organisation_id: string | null;
  action: string;
  person_id: string | null;
  category: string | null;
  purpose: string | null;
  decision: string;
  reason: string;
  prev_hash: string;
  hash: string;
}

/** The unkeyed hash anyone can compute: SHA-256 over the fields, as the log used before its key. */
function plainHash(r: Row, prevHash: string): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        r.seq,
        new Date(r.at).toISOString(),
        r.actor_user_id,
        r.actor_role,
        r.actor_organisation_id,
        r.action,
        r.person_id,
        r.category,
        r.purpose,
        r.decision,
        r.reason,
        prevHash,
      ]),
    )
    .digest('hex');
}

/** Rewrites the events as a consistent plain-hashed chain numbered from 1, and moves the head to its end. */
async function rehashPlain(db: Kysely<Database>, rows: Row[]): Promise<void> {
  let prev = '0'.repeat(64);
  const rewritten = rows.map((r, i) => {
    const row = { ...r, seq: i + 1, prev_hash: prev };
    row.hash = plainHash(row, prev);
    prev = row.hash;
    return row;
  });
  await asSuperuser(db, 'delete from audit_events');
  if (rewritten.length > 0) await db.insertInto('audit_events').values(rewritten).execute();
  await db.updateTable('audit_chain_head').set({ last_seq: rewritten.length, last_hash: prev }).execute();
}

const allRows = (db: Kysely<Database>) => db.selectFrom('audit_events').selectAll().orderBy('seq').execute() as Promise<Row[]>;

const testKey = randomBytes(32).toString('hex');
before(() => setAuditKey(testKey));

for (const target of await testDatabaseTargets()) {
  describe(`a superuser tampering with the audit log on ${target.kind}`, () => {
    let database: DatabaseHandle;
    let folder: string;
    let checkpointFile: string;
    beforeEach(async () => {
      database = await target.open();
      folder = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-audit-'));
      checkpointFile = path.join(folder, 'audit-checkpoints.log');
    });
    afterEach(async () => {
      await database.close();
      fs.rmSync(folder, { recursive: true, force: true });
    });

    test('an untouched log with checkpoints verifies, and says what it checked', async () => {
      await appendEvents(database.db, 30);
      await writeAuditCheckpoint(database.db, checkpointFile);
      await appendEvents(database.db, 10);
      await writeAuditCheckpoint(database.db, checkpointFile);
      const result = await verifyAuditChain(database.db, { checkpointFile });
      assert.equal(result.problem, null);
      assert.equal(result.ok, true);
      assert.equal(result.eventsChecked, 40);
      assert.equal(result.checkpointsChecked, 2);
    });

    test('deleting the last events and moving the chain head back is detected by the checkpoint', async () => {
      await appendEvents(database.db, 120);
      await writeAuditCheckpoint(database.db, checkpointFile);
      await appendEvents(database.db, 10);
      await asSuperuser(
        database.db,
        `
        delete from audit_events where seq > 80;
        update audit_chain_head set last_seq = 80, last_hash = (select hash from audit_events where seq = 80)`,
      );
      const result = await verifyAuditChain(database.db, { checkpointFile });
      assert.equal(result.ok, false);
      assert.match(result.problem ?? '', /^events after 80 were deleted: a checkpoint written .* records event 120$/);
    });

    test('TRUNCATE and resetting the head is detected by the checkpoint', async () => {
      await appendEvents(database.db, 40);
      await writeAuditCheckpoint(database.db, checkpointFile);
      await asSuperuser(database.db, `truncate audit_events; update audit_chain_head set last_seq = 0, last_hash = repeat('0', 64)`);
      const result = await verifyAuditChain(database.db, { checkpointFile });
      assert.equal(result.ok, false);
      assert.match(result.problem ?? '', /^every event was deleted: a checkpoint written .* records event 40$/);
    });

    test('deleting every event about one person and rehashing the chain without the key is detected', async () => {
      await appendEvents(database.db, 50);
      const kept = (await allRows(database.db)).filter((r) => r.person_id !== 'p3');
      await rehashPlain(database.db, kept);
      const result = await verifyAuditChain(database.db);
      assert.equal(result.ok, false);
      assert.equal(result.problem, 'event 1 was rewritten: its hash was not made with the audit key');
    });

    test('rehashing as if the key had never been used is caught by the checkpoints', async () => {
      await appendEvents(database.db, 50);
      await writeAuditCheckpoint(database.db, checkpointFile);
      const kept = (await allRows(database.db)).filter((r) => r.person_id !== 'p3');
      await rehashPlain(database.db, kept);
      await sql`update audit_chain_head set keyed_from = last_seq + 1`.execute(database.db);
      const result = await verifyAuditChain(database.db, { checkpointFile });
      assert.equal(result.ok, false);
      assert.match(result.problems.join('\n'), /the keyed chain starts at event 41 here, but checkpoints record it starting at event 1/);
      assert.match(result.problems.join('\n'), /events after 40 were deleted: a checkpoint written .* records event 50/);
    });

    test('a checkpoint line forged or edited without the key is reported', async () => {
      await appendEvents(database.db, 20);
      await writeAuditCheckpoint(database.db, checkpointFile);
      const line = fs.readFileSync(checkpointFile, 'utf8').trim();
      fs.appendFileSync(checkpointFile, line.replace(/"seq":20/, '"seq":5') + '\n');
      const result = await verifyAuditChain(database.db, { checkpointFile });
      assert.equal(result.ok, false);
      assert.equal(result.problem, `line 2 of ${checkpointFile} is not a checkpoint signed with the audit key`);
    });

    test('verify on a live log, while appends and checkpoints go on, never reports tampering', async () => {
      await appendEvents(database.db, 50);
      let running = true;
      const writer = (async () => {
        for (let i = 0; running; i++) {
          await Promise.all([appendAudit(database.db, entry('p1', i)), appendAudit(database.db, entry('p2', i))]);
          if (i % 3 === 0) await writeAuditCheckpoint(database.db, checkpointFile);
        }
      })();
      const problems: Array<string | null> = [];
      try {
        for (let i = 0; i < 5; i++) problems.push((await verifyAuditChain(database.db, { checkpointFile })).problem);
      } finally {
        running = false;
        await writer;
      }
      assert.deepEqual(problems, [null, null, null, null, null]);
    });

    test('events written before the audit key keep their plain hashes and still verify', async () => {
      // The database as it was before the keyed chain: ten events hashed the old way.
      await sql`alter table audit_chain_head drop column keyed_from; alter table audit_chain_head drop column log_id; drop trigger audit_events_no_truncate on audit_events`.execute(
        database.db,
      );
      const legacy = Array.from({ length: 10 }, (_, i) => ({
        seq: i + 1,
        at: new Date(Date.UTC(2025, 0, 1, 0, i)),
        actor_user_id: 'u1',
        actor_role: 'practitioner',
        actor_organisation_id: null,
        action: 'read',
        person_id: `p${i}`,
        category: 'health',
        purpose: 'direct_care',
        decision: 'allow',
        reason: 'before the key',
        prev_hash: '',
        hash: '',
      }));
      await rehashPlain(database.db, legacy);
      await auditMigrations['0015_audit_keyed_chain']!.up(database.db as Kysely<unknown>);
      await appendEvents(database.db, 5);
      await writeAuditCheckpoint(database.db, checkpointFile);
      const intact = await verifyAuditChain(database.db, { checkpointFile });
      assert.equal(intact.problem, null);
      assert.equal(intact.eventsChecked, 15);
      assert.equal(intact.keyedFrom, 11);
      await asSuperuser(database.db, `update audit_events set reason = 'nothing to see' where seq = 4`);
      assert.equal((await verifyAuditChain(database.db, { checkpointFile })).problem, 'event 4 was edited');
    });

    test('a process holding another key refuses to append rather than break the chain', async () => {
      await appendEvents(database.db, 5);
      setAuditKey(randomBytes(32).toString('hex'));
      try {
        await assert.rejects(appendAudit(database.db, entry('p1')), /the audit key is not the one this audit log was written with/);
      } finally {
        setAuditKey(testKey);
      }
    });
  });
}
