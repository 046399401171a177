// One referral for a household: started only by someone involved with every adult, sent only
// once every adult agrees (a referral for each adult, through the ordinary referral rules), and
// shown on each member's record only per the access decision.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, type TestServer } from './support/server.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import type { SignedInUser } from '../src/auth/index.ts';
import { decideRecordAccess } from '../src/consent/index.ts';
import {
  householdReferralsOf,
  recordHouseholdReferralAgreement,
  sendHouseholdReferral,
  startHouseholdReferral,
} from '../src/referrals/index.ts';

for (const target of await testDatabaseTargets()) {
  describe(`household referrals on ${target.kind}`, () => {
    let server: TestServer;
    let citizenId = '';
    let serviceId = '';
    let practitioner: SignedInUser;
    let citizen: SignedInUser;
    let outsider: SignedInUser;
    const userOf = async (username: string): Promise<SignedInUser> => {
      const r = await server.database.db
        .selectFrom('users as u')
        .leftJoin('practitioners as p', 'p.id', 'u.practitioner_id')
        .select(['u.id', 'u.username', 'u.display_name', 'u.role', 'u.person_id', 'u.practitioner_id', 'u.organisation_id', 'p.team_id'])
        .where('u.username', '=', username)
        .executeTakeFirstOrThrow();
      return {
        id: r.id,
        username: r.username,
        displayName: r.display_name,
        role: r.role,
        personId: r.person_id,
        practitionerId: r.practitioner_id,
        organisationId: r.organisation_id,
        teamId: r.team_id ?? null,
      };
    };
    before(async () => {
      server = await startTestServer({ database: await target.open() });
      const db = server.database.db;
      practitioner = await userOf('practitioner');
      citizen = await userOf('citizen');
      citizenId = citizen.personId!;
      serviceId = (
        await db
          .selectFrom('services')
          .select('id')
          .where('name', '=', 'Housing options and homelessness prevention')
          .orderBy('id')
          .executeTakeFirstOrThrow()
      ).id;
      const school = (
        await sql<{ id: string; organisation_id: string; team_id: string }>`
      select pr.id, pr.organisation_id, pr.team_id from practitioners pr join organisations o on o.id = pr.organisation_id
      where o.kind = 'school' and not exists (select 1 from care_relationships r where r.person_id = ${citizenId} and r.organisation_id = o.id)
      order by pr.id limit 1`.execute(db)
      ).rows[0]!;
      outsider = {
        id: 'outsider',
        username: 'outsider',
        displayName: 'Olu Outsider',
        role: 'practitioner',
        personId: null,
        practitionerId: school.id,
        organisationId: school.organisation_id,
        teamId: school.team_id,
      };
    });
    after(async () => server?.close());

    const referralCount = async () =>
      Number((await sql<{ n: number }>`select count(*)::int as n from referrals`.execute(server.database.db)).rows[0]?.n);

    /** The audit events written after `seq`, in order, as [action, person, category, purpose, decision, reason]. */
    const auditSince = async (seq: number) =>
      (
        await sql<{ action: string; person_id: string; category: string; purpose: string; decision: string; reason: string }>`
        select action, person_id, category, purpose, decision, reason from audit_events where seq > ${seq} order by seq`.execute(
          server.database.db,
        )
      ).rows.map((r) => [r.action, r.person_id, r.category, r.purpose, r.decision, r.reason]);
    const lastAuditSeq = async () =>
      Number((await sql<{ n: string }>`select coalesce(max(seq), 0)::text as n from audit_events`.execute(server.database.db)).rows[0]!.n);

    /**
     * Reads the page's list, and checks its audit events are those of deciding each member alone,
     * one by one, as the page once did: one event per member, with the same purpose, decision and reason.
     */
    async function decidedLikeEachAlone<T>(reader: SignedInUser, members: ReadonlyArray<{ person_id: string }>, list: () => Promise<T>) {
      const since = await lastAuditSeq();
      const listed = await list();
      const written = await auditSince(since);
      const alone = await lastAuditSeq();
      for (const m of members)
        await decideRecordAccess(server.database.db, {
          actor: reader,
          personId: m.person_id,
          categories: ['demographics'],
          purpose: reader.role === 'citizen' ? 'self' : 'care_coordination',
          action: 'read',
        });
      const byPerson = (rows: unknown[][]) => rows.toSorted((a, b) => String(a[1]).localeCompare(String(b[1])));
      assert.equal(written.length, members.length, 'one audit event per member');
      assert.deepEqual(byPerson(written), byPerson(await auditSince(alone)), 'the events of deciding each member alone');
      return listed;
    }

    test('started by someone involved with every adult; sent only once every adult agrees; each member sees it per the access decision', async () => {
      const db = server.database.db;
      const input = {
        personId: citizenId,
        serviceId,
        reason: "The family's tenancy ends next month; they want to stay together.",
        urgency: 'soon' as const,
      };
      const started = async () =>
        Number((await sql<{ n: number }>`select count(*)::int as n from household_referrals`.execute(db)).rows[0]?.n);
      const before0 = await started();
      await assert.rejects(
        startHouseholdReferral(db, outsider, input),
        (e: unknown) => e instanceof Error && /not involved with every adult|no legitimate relationship/.test(e.message),
      );
      await assert.rejects(startHouseholdReferral(db, citizen, input), /Only practitioners/);
      assert.equal(await started(), before0, 'refused starts record nothing');

      const id = await startHouseholdReferral(db, practitioner, input);
      const members = await db.selectFrom('household_referral_members').selectAll().where('household_referral_id', '=', id).execute();
      const adults = members.filter((m) => m.adult).map((m) => m.person_id);
      assert.ok(adults.includes(citizenId));
      const before = await referralCount();
      await assert.rejects(sendHouseholdReferral(db, practitioner, id), /Not every adult/);
      await recordHouseholdReferralAgreement(db, citizen, id, { personId: citizenId, agrees: true, evidence: '' });
      for (const other of adults.filter((a) => a !== citizenId)) {
        await assert.rejects(
          recordHouseholdReferralAgreement(db, citizen, id, { personId: other, agrees: true, evidence: 'They agree' }),
          /Only the person/,
        );
        await assert.rejects(
          recordHouseholdReferralAgreement(db, outsider, id, { personId: other, agrees: true, evidence: 'They agree' }),
          /cannot record/,
        );
        await assert.rejects(sendHouseholdReferral(db, practitioner, id), /Not every adult/);
        await recordHouseholdReferralAgreement(db, practitioner, id, {
          personId: other,
          agrees: true,
          evidence: 'Agreed at the home visit',
        });
      }
      assert.equal(await referralCount(), before, 'nothing sent before every adult agreed');
      await assert.rejects(sendHouseholdReferral(db, outsider, id), /not involved with every adult|no legitimate relationship/);
      const sent = await sendHouseholdReferral(db, practitioner, id);
      assert.equal(sent.length, adults.length, 'one referral for each adult');
      assert.equal(await referralCount(), before + adults.length);
      const people = await db.selectFrom('referrals').select('person_id').where('id', 'in', sent).execute();
      assert.deepEqual(people.map((p) => p.person_id).sort(), [...adults].sort());
      await assert.rejects(
        recordHouseholdReferralAgreement(db, citizen, id, { personId: citizenId, agrees: false, evidence: '' }),
        /has been sent/,
      );
      await assert.rejects(sendHouseholdReferral(db, practitioner, id), /already been sent/);

      const [forPractitioner] = await decidedLikeEachAlone(practitioner, members, () => householdReferralsOf(db, practitioner, citizenId));
      assert.deepEqual(
        forPractitioner?.members
          .filter((m) => m.adult)
          .map((m) => m.personId)
          .sort(),
        [...adults].sort(),
        'the practitioner involved with every adult sees each of them',
      );
      assert.ok(
        forPractitioner?.members.every((m) => !m.adult || m.referralId !== null),
        'with the referral sent for each',
      );
      assert.equal(
        (forPractitioner?.members.length ?? 0) + (forPractitioner?.hiddenMembers ?? 0),
        members.length,
        'members the practitioner may not see (children not in their care) are counted, not named',
      );
      assert.ok(forPractitioner?.sent && forPractitioner.allAgree);
      const [forCitizen] = await decidedLikeEachAlone(citizen, members, () => householdReferralsOf(db, citizen, citizenId));
      // The citizen sees themselves, and any other member only as the access decision allows (their children, as their parent).
      const maySee: string[] = [];
      for (const m of members) {
        const access = await decideRecordAccess(db, {
          actor: citizen,
          personId: m.person_id,
          categories: ['demographics'],
          purpose: 'self',
          action: 'read',
        });
        if (access.byCategory.demographics.scope !== 'none') maySee.push(m.person_id);
      }
      assert.ok(maySee.includes(citizenId) && maySee.length < members.length, 'the household has someone the citizen may not see');
      assert.deepEqual(forCitizen?.members.map((m) => m.personId).sort(), maySee.sort());
      assert.equal(forCitizen?.hiddenMembers, members.length - maySee.length);
      await assert.rejects(householdReferralsOf(db, outsider, citizenId), /cannot see/);
    });

    test("sent in one transaction: one adult's part refused leaves nothing (no referral, sharing choice, relationship or outbox event); then each adult's referral with their agreement recorded", async () => {
      const db = server.database.db;
      const count = async (table: string) =>
        Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(db)).rows[0]?.n);
      const id = await startHouseholdReferral(db, practitioner, {
        personId: citizenId,
        serviceId,
        reason: 'The household needs help with rent arrears before the tenancy is at risk.',
        urgency: 'routine',
      });
      const adults = (
        await db
          .selectFrom('household_referral_members')
          .select('person_id')
          .where('household_referral_id', '=', id)
          .where('adult', '=', true)
          .orderBy('person_id')
          .execute()
      ).map((m) => m.person_id);
      assert.ok(adults.length >= 2, 'the demo household has two adults or more');
      for (const adult of adults)
        await recordHouseholdReferralAgreement(db, practitioner, id, {
          personId: adult,
          agrees: true,
          evidence: `Agreed at the home visit (${adult})`,
        });
      // The last adult sent (after the others' parts are written) is outside who the service is for.
      const last = adults.at(-1)!;
      const [birth, limits] = await Promise.all([
        db.selectFrom('persons').select('birth_date').where('id', '=', last).executeTakeFirstOrThrow(),
        db.selectFrom('services').select(['min_age', 'max_age']).where('id', '=', serviceId).executeTakeFirstOrThrow(),
      ]);
      await db.updateTable('persons').set({ birth_date: '1900-01-01' }).where('id', '=', last).execute();
      await db.updateTable('services').set({ max_age: 110 }).where('id', '=', serviceId).execute();
      const tables = ['referrals', 'consent_directives', 'care_relationships', 'outbox', 'household_referral_sends'];
      const before = await Promise.all(tables.map(count));
      try {
        await assert.rejects(sendHouseholdReferral(db, practitioner, id), /is for people aged|Choose a service they can use/);
        assert.deepEqual(await Promise.all(tables.map(count)), before, 'nothing half-sent: every table as it was');
      } finally {
        await db.updateTable('persons').set({ birth_date: birth.birth_date }).where('id', '=', last).execute();
        await db.updateTable('services').set({ max_age: limits.max_age }).where('id', '=', serviceId).execute();
      }
      const [view] = (await householdReferralsOf(db, practitioner, citizenId)).filter((r) => r.id === id);
      assert.equal(view?.sent, false, 'the household referral still waits to be sent');

      const sent = await sendHouseholdReferral(db, practitioner, id);
      assert.equal(sent.length, adults.length, "one send for the household: each adult's referral");
      const rows = await db.selectFrom('referrals').select(['id', 'person_id', 'organisation_id']).where('id', 'in', sent).execute();
      assert.deepEqual(rows.map((r) => r.person_id).sort(), adults);
      for (const adult of adults) {
        const directive = await db
          .selectFrom('consent_directives')
          .select(['evidence', 'recipient_id', 'decision'])
          .where('person_id', '=', adult)
          .where('referral_id', '=', rows.find((r) => r.person_id === adult)!.id)
          .executeTakeFirst();
        assert.equal(directive?.decision, 'permit');
        assert.equal(directive?.recipient_id, rows[0]!.organisation_id);
        assert.match(
          directive?.evidence ?? '',
          new RegExp(`Agreed at the home visit \\(${adult}\\)`),
          "each adult's own agreement is what the sharing rests on",
        );
      }
      await assert.rejects(sendHouseholdReferral(db, practitioner, id), /already been sent/);
      assert.equal(await count('household_referral_sends'), before[4]! + adults.length, 'sent once, not twice');
    });

    test('the demo household referral page: the citizen sees it waiting for the other adults; an outsider is refused', async () => {
      const cookie = await signIn(server.app, 'citizen');
      const page = await server.app.inject({ method: 'GET', url: `/people/${citizenId}/household-referrals`, headers: { cookie } });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /the family want help to stay together in one home/);
      const practitionerCookie = await signIn(server.app, 'practitioner');
      const forPractitioner = await server.app.inject({
        method: 'GET',
        url: `/people/${citizenId}/household-referrals`,
        headers: { cookie: practitionerCookie },
      });
      assert.equal(forPractitioner.statusCode, 200);
      const manager = await signIn(server.app, 'manager');
      assert.equal(
        (await server.app.inject({ method: 'GET', url: `/people/${citizenId}/household-referrals`, headers: { cookie: manager } }))
          .statusCode,
        403,
      );
    });
  });
}
