// Bulk $export reads only the people in the actor's reach (consent's peopleInReach) before the
// access decision runs. That is safe only if the reach holds everyone the decision would let the
// actor see any part of: checked here person by person, over a synthetic place, for the demo
// practitioner, practitioners of other organisations, a practitioner using break-glass on someone
// outside their reach, and the demo citizen (their own record and those they are proxy for). On
// PGlite and PostgreSQL.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testDatabaseTargets } from '../src/testing.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { createDemoAccounts } from '../src/demo/accounts.ts';
import { createAccount } from '../src/auth/accounts.ts';
import type { SignedInUser } from '../src/auth/index.ts';
import { createApiTokenForUsername, userForApiToken } from '../src/interop/tokens.ts';
import { categories, decideRecordAccessForMany, peopleInReach, startBreakGlass } from '../src/consent/index.ts';
import { purposeOf } from '../src/fhir/engine.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../src/schema.ts';

async function reachOf(db: Kysely<Database>, actor: SignedInUser): Promise<Set<string>> {
  const reach = peopleInReach(actor, new Date());
  assert.ok(reach, `${actor.username} is narrowed`);
  return new Set((await sql<{ person_id: string }>`select s.person_id from ${reach} s`.execute(db)).rows.map((r) => r.person_id));
}

/** The people the decision lets the actor see any category of, as an export would ask. */
async function allowedTo(db: Kysely<Database>, actor: SignedInUser, people: string[]): Promise<Set<string>> {
  const decided = await decideRecordAccessForMany(db, {
    actor,
    personIds: people,
    categories,
    purpose: purposeOf(actor),
    action: 'export',
  });
  return new Set([...decided].filter(([, access]) => access.allowed).map(([id]) => id));
}

async function userNamed(db: Kysely<Database>, username: string): Promise<SignedInUser> {
  return (await userForApiToken(db, (await createApiTokenForUsername(db, username, 'reach test')).token))!;
}

for (const target of await testDatabaseTargets()) {
  describe(`the people in reach on ${target.kind}`, () => {
    test('hold everyone the access decision lets the actor see anything of', async () => {
      const database = await target.open();
      const db = database.db;
      try {
        await loadSyntheticPlace(db, { seed: 7, people: 300 });
        await createDemoAccounts(db);
        const people = (await db.selectFrom('persons').select('id').execute()).map((p) => p.id);
        const actors = [await userNamed(db, 'practitioner'), await userNamed(db, 'citizen')];
        // A practitioner of each of a few other organisations, with their team.
        const others = await db
          .selectFrom('practitioners')
          .select(['id', 'organisation_id', 'team_id'])
          .distinctOn('organisation_id')
          .where('active', '=', true)
          .where('organisation_id', '<>', actors[0]!.organisationId!)
          .orderBy('organisation_id')
          .orderBy('id')
          .limit(6)
          .execute();
        for (const [i, p] of others.entries()) {
          const username = `reach-${i}`;
          await createAccount(db, {
            username,
            displayName: username,
            role: 'practitioner',
            password: 'not-used-here-2026',
            practitionerId: p.id,
            organisationId: p.organisation_id,
          });
          actors.push(await userNamed(db, username));
        }
        let narrowed = 0;
        for (const actor of actors) {
          const reach = await reachOf(db, actor);
          const allowed = await allowedTo(db, actor, people);
          for (const id of allowed) assert.ok(reach.has(id), `${actor.username} may see ${id}, who is in reach`);
          if (reach.size < people.length) narrowed++;
        }
        assert.ok(narrowed >= 2, 'the reach leaves people out');
        const demo = actors[0]!;
        assert.ok((await allowedTo(db, demo, people)).size > 0, 'the demo practitioner sees someone');

        // Break-glass on someone outside the practitioner's reach brings them in while it lasts.
        const reach = await reachOf(db, demo);
        const stranger = people.find((id) => !reach.has(id))!;
        assert.ok(!(await allowedTo(db, demo, [stranger])).has(stranger));
        await db.transaction().execute((trx) => startBreakGlass(trx, demo, stranger, 'reach test: emergency'));
        assert.ok((await allowedTo(db, demo, [stranger])).has(stranger), 'break-glass allows them');
        assert.ok((await reachOf(db, demo)).has(stranger), 'and they are in reach');
      } finally {
        await database.close();
      }
    });
  });
}
