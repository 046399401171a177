// The synthetic place, on PGlite and PostgreSQL, as integrated teams and duty cover need it:
// every open plan action assigned to an organisation can be picked up by any colleague in that
// organisation (issue 22 found 4 of 24 refused with "no legitimate relationship": actions for the
// lead's own organisation opened no relationship for it), and the demo's integrated team has
// members from several organisations and a caseload they reach through the team.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { testDatabaseTargets } from '../src/platform/testing.ts';
import type { Database } from '../src/platform/schema.ts';
import type { DatabaseHandle } from '../src/platform/db.ts';
import type { SignedInUser } from '../src/auth/index.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { decideRecordAccess } from '../src/consent/index.ts';

const practitioner = (practitionerId: string, organisationId: string, teamId: string): SignedInUser => ({
  id: `u-${practitionerId}`, username: `u-${practitionerId}`, displayName: 'Colleague', role: 'practitioner', personId: null, practitionerId, organisationId, teamId,
});

async function addUser(db: Kysely<Database>, user: SignedInUser): Promise<void> {
  await db.insertInto('users').values({ id: user.id, username: user.username, display_name: user.displayName, role: 'practitioner', password_hash: null, oidc_subject: null,
    person_id: null, practitioner_id: user.practitionerId, organisation_id: user.organisationId } as never).onConflict((oc) => oc.column('id').doNothing()).execute();
}

for (const target of await testDatabaseTargets()) {
  describe(`integrated teams in the synthetic place on ${target.kind}`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    before(async () => {
      handle = await target.open();
      db = handle.db;
      await loadSyntheticPlace(db, { seed: 7, people: 600 });
    });
    after(async () => { await handle?.close(); });

    test('a colleague in the organisation an open plan action is assigned to may open the plan to pick it up', async () => {
      const rows = (await sql<{ action_id: string; person_id: string; org: string; colleague: string; team: string }>`
        select a.id as action_id, m.person_id, a.assigned_organisation_id as org, c.id as colleague, c.team_id as team
        from plan_actions a join plans p on p.id = a.plan_id join plan_members m on m.plan_id = p.id
        cross join lateral (
          select pr.id, pr.team_id from practitioners pr
          where pr.organisation_id = a.assigned_organisation_id and pr.active
            and not exists (select 1 from care_relationships r where r.person_id = m.person_id and r.practitioner_id = pr.id and r.ended_at is null)
          order by pr.id limit 1) c
        where a.status = 'open' and a.assigned_practitioner_id is null and p.status = 'active'
        order by a.id, m.person_id`.execute(db)).rows;
      assert.ok(rows.length >= 20, `the place has open plan actions assigned to organisations (${rows.length})`);
      const refused: string[] = [];
      for (const r of rows) {
        const colleague = practitioner(r.colleague, r.org, r.team);
        await addUser(db, colleague);
        const access = await decideRecordAccess(db, { actor: colleague, personId: r.person_id, categories: ['plans'], purpose: 'direct_care', action: 'read' });
        if (!access.allowed) refused.push(`${r.action_id}: ${access.reason}`);
      }
      assert.deepEqual(refused, [], `${refused.length} of ${rows.length} actions refused the colleague who picked them up`);
    });
  });
}
