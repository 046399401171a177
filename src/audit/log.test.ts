import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testDatabaseTargets } from '../testing.ts';
import { openPostgres, type DatabaseHandle } from '../platform/db.ts';
import { appendAudit, verifyAuditChain, type AuditEntry } from './log.ts';

const entry = (personId: string, decision: AuditEntry['decision'] = 'allow'): AuditEntry => ({
  actorUserId: 'u1',
  actorRole: 'practitioner',
  actorOrganisationId: null,
  action: 'read',
  personId,
  category: 'demographics',
  purpose: 'direct_care',
  decision,
  reason: 'test',
});

for (const target of await testDatabaseTargets()) {
  describe(`audit log on ${target.kind}`, () => {
    let database: DatabaseHandle;
    before(async () => {
      database = await target.open();
    });
    after(async () => {
      await database.close();
    });

    test('an intact chain verifies, including concurrent appends', async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => appendAudit(database.db, entry(`p${i}`))));
      await appendAudit(database.db, entry('p1', 'deny'), entry('p2'));
      const result = await verifyAuditChain(database.db);
      assert.deepEqual([result.ok, result.eventsChecked, result.problem], [true, 22, null]);
    });

    test("appends inside a write's transaction and grouped appends interleave without forking the chain", async () => {
      await appendAudit(database.db, entry('p30'));
      await database.db.transaction().execute((trx) => appendAudit(trx, entry('p31'), entry('p32')));
      await Promise.all([appendAudit(database.db, entry('p33')), appendAudit(database.db, entry('p34'))]);
      const result = await verifyAuditChain(database.db);
      assert.deepEqual([result.ok, result.eventsChecked, result.problem], [true, 27, null]);
    });

    // serve --workers: each process keeps its own idea of the chain head, and a stale one chains onto
    // the head its refused append saw. Two pools on one schema stand in for two processes.
    test(
      'two processes appending at once on PostgreSQL: every event kept once, the chain unbroken',
      { skip: target.kind !== 'postgres' },
      async () => {
        const before = await verifyAuditChain(database.db);
        const schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(database.db)).rows[0]!.schema;
        const second = await openPostgres(process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test', {
          searchPath: schema,
          max: 4,
        });
        try {
          await Promise.all(
            Array.from({ length: 40 }, (_, i) =>
              appendAudit((i % 2 === 0 ? database : second).db, entry(`two-processes-${i}`), entry(`two-processes-${i}b`)),
            ),
          );
        } finally {
          await second.close();
        }
        const result = await verifyAuditChain(database.db);
        assert.deepEqual([result.ok, result.eventsChecked, result.problem], [true, before.eventsChecked + 80, null]);
        const kept = await sql<{
          n: number;
        }>`select count(distinct person_id)::int as n from audit_events where person_id like 'two-processes-%'`.execute(database.db);
        assert.equal(kept.rows[0]!.n, 80, 'each event once');
      },
    );

    test('the database refuses to edit, delete or truncate audit events', async () => {
      await assert.rejects(sql`update audit_events set reason = 'nothing to see' where seq = 3`.execute(database.db), /append-only/);
      await assert.rejects(sql`delete from audit_events where seq = 3`.execute(database.db), /append-only/);
      await assert.rejects(sql`truncate audit_events`.execute(database.db), /append-only/);
    });

    test("an edit made behind the trigger's back is detected", async () => {
      await sql`alter table audit_events disable trigger audit_events_no_update`.execute(database.db);
      await sql`update audit_events set decision = 'allow' where seq = 21`.execute(database.db);
      const edited = await verifyAuditChain(database.db);
      assert.equal(edited.ok, false);
      assert.equal(edited.problem, 'event 21 was edited');
      await sql`update audit_events set decision = 'deny' where seq = 21`.execute(database.db);
      assert.equal((await verifyAuditChain(database.db)).ok, true);
      await sql`delete from audit_events where seq = 7`.execute(database.db);
      const deleted = await verifyAuditChain(database.db);
      assert.equal(deleted.problem, 'event 7 is missing (deleted)');
      await sql`delete from audit_events where seq > 20`.execute(database.db);
      await sql`alter table audit_events enable trigger audit_events_no_update`.execute(database.db);
    });
  });
}
