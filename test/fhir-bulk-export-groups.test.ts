// Attack view of a Group (household) bulk export, which reads only the households where someone in
// the actor's reach lives. Whatever the narrowing, the export must hold exactly what the access
// decision allows: every household with a member the actor may see, listing only those members,
// for a practitioner, a practitioner of another organisation and a citizen with a proxy. A proxy
// ended takes that person out of every household, also from a job asked for before it ended and
// run by another process's worker. Small chunks, so every job spans several. On
// PGlite and PostgreSQL (there with the second process's own connections).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { testDatabaseTargets } from '../src/testing.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { createDemoAccounts } from '../src/demo/accounts.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { openPostgres } from '../src/platform/db.ts';
import type { SignedInUser } from '../src/auth/index.ts';
import { createApiTokenForUsername, userForApiToken } from '../src/interop/tokens.ts';
import { decideRecordAccessForMany, endProxy, grantProxy } from '../src/consent/index.ts';
import { createExportWorker, exportFile, exportStatus, startExport } from '../src/fhir/bulk-export.ts';
import { purposeOf } from '../src/fhir/engine.ts';
import type { Database } from '../src/schema.ts';

type Households = Map<string, string[]>;

/** The Groups a finished export wrote: household id → its members' ids, sorted. */
async function groupsOf(db: Kysely<Database>, id: string, token: string): Promise<Households> {
  const status = (await exportStatus(db, id, token, 'http://test/fhir')) as unknown as {
    state: string;
    manifest: { output: Array<{ url: string }> };
  };
  assert.equal(status.state, 'done');
  const out: Households = new Map();
  for (const file of status.manifest.output) {
    let text = '';
    for await (const chunk of await exportFile(db, id, Number(/\/(\d+)\.ndjson$/.exec(file.url)![1]), token)) text += String(chunk);
    for (const line of text.split('\n').filter((l) => l !== '')) {
      const group = JSON.parse(line) as { id: string; member?: Array<{ entity: { reference: string } }> };
      assert.ok(!out.has(group.id), `Group/${group.id} once`);
      out.set(group.id, (group.member ?? []).map((m) => m.entity.reference.replace('Patient/', '')).sort());
    }
  }
  return out;
}

async function exportGroups(db: Kysely<Database>, actor: SignedInUser, token: string, worker = createExportWorker(db, { chunkRows: 5 })) {
  const id = await startExport(db, actor, token, { level: 'system', query: { _type: 'Group' }, requestUrl: 'http://test/fhir/$export' });
  while ((await worker.runOnce()) > 0);
  return groupsOf(db, id, token);
}

/** What the decision allows: every household with a live member the actor may see the demographics of, with those members. */
async function allowedGroups(db: Kysely<Database>, actor: SignedInUser): Promise<Households> {
  const residents = (
    await sql<{
      id: string;
      household_id: string;
    }>`select id, household_id from persons where merged_into is null and household_id is not null`.execute(db)
  ).rows;
  const decided = await decideRecordAccessForMany(db, {
    actor,
    personIds: residents.map((r) => r.id),
    categories: ['demographics'],
    purpose: purposeOf(actor),
    action: 'export',
  });
  const out: Households = new Map();
  for (const r of residents) {
    const access = decided.get(r.id);
    if (!access?.allowed || access.byCategory.demographics.scope === 'none') continue;
    out.set(r.household_id, [...(out.get(r.household_id) ?? []), r.id].sort());
  }
  return out;
}

const sorted = (households: Households) => [...households].sort(([a], [b]) => a.localeCompare(b));

async function tokenFor(db: Kysely<Database>, username: string): Promise<{ actor: SignedInUser; token: string }> {
  const { token } = await createApiTokenForUsername(db, username, 'groups attack test');
  return { actor: (await userForApiToken(db, token))!, token };
}

for (const target of await testDatabaseTargets()) {
  describe(`a Group export holds what the decision allows, no more, on ${target.kind}`, () => {
    test('for practitioners of two organisations and a citizen acting for someone; an ended proxy takes the person out', async () => {
      const database = await target.open();
      const db = database.db;
      const otherProcess =
        target.kind === 'postgres'
          ? await openPostgres(process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test', {
              searchPath: (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]!.s,
              max: 2,
            })
          : undefined;
      try {
        await loadSyntheticPlace(db, { seed: 11, people: 300 });
        await createDemoAccounts(db);
        const practitioner = await tokenFor(db, 'practitioner');
        // A practitioner of another organisation, with an account of their own.
        const colleague = await db
          .selectFrom('practitioners')
          .select(['id', 'organisation_id'])
          .where('active', '=', true)
          .where('organisation_id', '<>', practitioner.actor.organisationId!)
          .orderBy('id')
          .executeTakeFirstOrThrow();
        await createAccount(db, {
          username: 'elsewhere',
          displayName: 'Elsewhere',
          role: 'practitioner',
          password: 'not-used-here-2026',
          practitionerId: colleague.id,
          organisationId: colleague.organisation_id,
        });
        const other = await tokenFor(db, 'elsewhere');
        for (const { actor, token } of [practitioner, other]) {
          const exported = await exportGroups(db, actor, token);
          assert.ok(exported.size > 5, `${actor.username}: several chunks of households`);
          assert.deepEqual(sorted(exported), sorted(await allowedGroups(db, actor)), `${actor.username}: exactly what the decision allows`);
        }

        // The citizen acts for someone in another household.
        const citizen = await tokenFor(db, 'citizen');
        const home = (
          await db.selectFrom('persons').select('household_id').where('id', '=', citizen.actor.personId!).executeTakeFirstOrThrow()
        ).household_id!;
        const elsewhere = await db
          .selectFrom('persons')
          .select(['id', 'household_id'])
          .where('household_id', '<>', home)
          .where(sql<boolean>`merged_into is null`)
          .where('birth_date', '<', '1990-01-01')
          .orderBy('id')
          .executeTakeFirstOrThrow();
        const proxyId = await db.transaction().execute((trx) =>
          grantProxy(trx, null, {
            personId: elsewhere.id,
            proxyPersonId: citizen.actor.personId!,
            kind: 'carer',
            permittedBy: 'the person, in writing',
          }),
        );
        const withProxy = await exportGroups(db, citizen.actor, citizen.token);
        assert.deepEqual(
          sorted(withProxy),
          sorted(await allowedGroups(db, citizen.actor)),
          'the citizen: exactly what the decision allows',
        );
        assert.ok(withProxy.get(elsewhere.household_id!)?.includes(elsewhere.id), 'the person they act for is there');
        const before = await allowedGroups(db, citizen.actor);
        // A job asked for while the proxy stood and run after it ended, by a worker on another
        // process's connections where there are some: what it writes is decided when it runs.
        const job = await startExport(db, citizen.actor, citizen.token, {
          level: 'system',
          query: { _type: 'Group' },
          requestUrl: 'http://test/fhir/$export',
        });
        const worker = createExportWorker(otherProcess?.db ?? db, { chunkRows: 1, stepsPerClaim: 1_000 });
        await db.transaction().execute((trx) => endProxy(trx, citizen.actor, proxyId, 'no longer caring'));
        while ((await worker.runOnce()) > 0);
        const afterEnd = await groupsOf(db, job, citizen.token);
        assert.deepEqual(
          sorted(afterEnd),
          sorted(await allowedGroups(db, citizen.actor)),
          'after the proxy ended: what the decision allows',
        );
        for (const members of afterEnd.values()) assert.ok(!members.includes(elsewhere.id), 'the person is in no household any more');
        assert.deepEqual(
          sorted(afterEnd),
          sorted(new Map([...before].map(([h, m]) => [h, m.filter((id) => id !== elsewhere.id)] as const).filter(([, m]) => m.length > 0))),
          'everything else as it was',
        );
      } finally {
        await otherProcess?.close();
        await database.close();
      }
    });
  });
}
