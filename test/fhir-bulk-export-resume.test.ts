// An export survives its worker: a job stopped part way (its process gone, its lease still held)
// is not taken by another worker until the lease runs out, then carries on from the last chunk
// committed, and the files hold each resource once, as an export run straight through does. With
// two processes' connections asking at once, one worker takes a job. On PGlite and PostgreSQL.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabaseTargets } from '../src/testing.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { createDemoAccounts } from '../src/demo/accounts.ts';
import { openPostgres } from '../src/platform/db.ts';
import { createApiTokenForUsername, userForApiToken } from '../src/interop/tokens.ts';
import { createExportWorker, exportFile, exportStatus, startExport } from '../src/fhir/bulk-export.ts';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../src/schema.ts';

async function lines(db: Kysely<Database>, id: string, token: string): Promise<Map<string, string[]>> {
  const status = await exportStatus(db, id, token, 'http://test/fhir');
  assert.equal(status.state, 'done');
  const manifest = (status as unknown as { manifest: { output: Array<{ type: string; url: string }> } }).manifest;
  const out = new Map<string, string[]>();
  for (const file of manifest.output) {
    const fileNo = Number(/\/(\d+)\.ndjson$/.exec(file.url)![1]);
    let text = '';
    for await (const chunk of await exportFile(db, id, fileNo, token)) text += String(chunk);
    out.set(file.type, [...(out.get(file.type) ?? []), ...text.split('\n').filter((l) => l !== '')]);
  }
  return out;
}

for (const target of await testDatabaseTargets()) {
  describe(`bulk export jobs on ${target.kind}`, () => {
    test('a job resumes after its worker stops part way, with nothing written twice; one worker takes a job', async () => {
      const database = await target.open();
      const db = database.db;
      try {
        await loadSyntheticPlace(db, { seed: 5, people: 300 });
        await createDemoAccounts(db);
        const { token } = await createApiTokenForUsername(db, 'practitioner', 'resume test');
        const actor = (await userForApiToken(db, token))!;
        const request = {
          level: 'system' as const,
          query: { _type: 'Patient,EpisodeOfCare,Organization' },
          requestUrl: 'http://test/fhir/$export',
        };
        const start = new Date();

        // Straight through, for comparison.
        const straight = await startExport(db, actor, token, request, start);
        const steady = createExportWorker(db, { chunkRows: 10, fileRows: 25 });
        while ((await steady.runOnce()) > 0);
        const expected = await lines(db, straight, token);
        assert.ok((expected.get('EpisodeOfCare') ?? []).length > 25, 'more than one chunk and one file');

        // Stopped part way: the first worker runs three chunks and is gone, its lease still held.
        const id = await startExport(db, actor, token, request, start);
        const first = createExportWorker(db, { chunkRows: 10, fileRows: 25, stepsPerClaim: 3, leaseMs: 60_000, name: 'first' });
        const now = new Date();
        assert.equal(await first.runOnce(now), 3, 'three chunks, then it lets go');
        const part = await db
          .selectFrom('fhir_export_jobs')
          .select(['status', 'resources_done', 'cursor_id'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        assert.equal(part.status, 'running');
        assert.ok(Number(part.resources_done) > 0 && part.cursor_id !== null, 'part written, its place kept');
        // ...and as if it had died holding its lease: claimed again, a minute to run.
        await sql`update fhir_export_jobs set leased_by = 'first', leased_until = ${new Date(now.getTime() + 60_000).toISOString()}::timestamptz where id = ${id}`.execute(
          db,
        );

        const second = createExportWorker(db, { chunkRows: 10, fileRows: 25, name: 'second' });
        assert.equal(await second.runOnce(now), 0, 'another worker waits while the lease is held');
        const later = new Date(now.getTime() + 61_000);
        while ((await second.runOnce(later)) > 0);
        const resumed = await lines(db, id, token);
        for (const [type, expectedLines] of expected) {
          const got = resumed.get(type) ?? [];
          const ids = got.map((l) => (JSON.parse(l) as { id: string }).id);
          assert.equal(new Set(ids).size, ids.length, `${type}: nothing twice`);
          assert.deepEqual(
            ids.sort(),
            expectedLines.map((l) => (JSON.parse(l) as { id: string }).id).sort(),
            `${type}: the same resources as straight through`,
          );
        }

        // Two processes' workers asking at once: one takes the job and runs it to the end.
        const third = await startExport(db, actor, token, request);
        const otherProcess =
          target.kind === 'postgres'
            ? await openPostgres(process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test', {
                searchPath: await currentSchema(db),
                max: 2,
              })
            : undefined;
        try {
          const a = createExportWorker(db, { chunkRows: 10, stepsPerClaim: 10_000, name: 'a' });
          const b = createExportWorker(otherProcess?.db ?? db, { chunkRows: 10, stepsPerClaim: 10_000, name: 'b' });
          const job = await db.selectFrom('fhir_export_jobs').select('status').where('id', '=', third).executeTakeFirstOrThrow();
          assert.equal(job.status, 'queued');
          const leaseHolders = new Set<string>();
          const [ra, rb] = await Promise.all([
            (async () => {
              const n = await a.runOnce();
              if (n > 0) leaseHolders.add('a');
              return n;
            })(),
            (async () => {
              const n = await b.runOnce();
              if (n > 0) leaseHolders.add('b');
              return n;
            })(),
          ]);
          assert.ok(ra + rb > 1, 'the job was run');
          assert.equal(leaseHolders.size, 1, 'by one worker only');
        } finally {
          await otherProcess?.close();
        }
      } finally {
        await database.close();
      }
    });

    test('a job that fails on the server tells the operator why, and the client only that it failed', async () => {
      const database = await target.open();
      const db = database.db;
      try {
        await loadSyntheticPlace(db, { seed: 5, people: 120 });
        await createDemoAccounts(db);
        const { token } = await createApiTokenForUsername(db, 'practitioner', 'failure test');
        const actor = (await userForApiToken(db, token))!;
        const id = await startExport(db, actor, token, {
          level: 'system',
          query: { _type: 'Patient,Group' },
          requestUrl: 'http://test/fhir/$export',
        });
        // The store for the export's files is gone: every chunk's write fails in the database.
        await sql`alter table fhir_export_chunks rename to fhir_export_chunks_gone`.execute(db);
        const told: Array<{ error: unknown; jobId: string }> = [];
        const worker = createExportWorker(db, { onFailure: (error, jobId) => told.push({ error, jobId }) });
        await worker.runOnce();
        assert.equal(told.length, 1, 'the operator is told once');
        assert.equal(told[0]!.jobId, id);
        assert.match(String((told[0]!.error as Error).message), /fhir_export_chunks/, 'with the cause');
        const job = await db.selectFrom('fhir_export_jobs').select(['status', 'failure']).where('id', '=', id).executeTakeFirstOrThrow();
        assert.deepEqual(job, { status: 'failed', failure: 'the export failed on the server' }, 'the client sees no internals');
      } finally {
        await database.close();
      }
    });
  });
}

async function currentSchema(db: Kysely<Database>): Promise<string> {
  return (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]!.s;
}
