// Referrals in the database, on PGlite and on PostgreSQL: the demo seed's invariants, the life
// of a referral through the module's functions, relationships opening and closing, pathway
// steps following their referrals, and the flow figures.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testDatabaseTargets } from '../testing.ts';
import { loadSyntheticPlace } from '../demo/index.ts';
import type { SignedInUser } from '../auth/index.ts';
import { applyReferralAction, bulkReferralAction, ReferralInputError, sendReferral } from './referrals.ts';
import { startJourney, journeysOf, pathwayFlow } from './pathways.ts';
import { listReferrals, waitingLists } from './queries.ts';
import { ukDate } from './working-days.ts';
import { referralRelationshipsToOrganisation } from '../consent/index.ts';

for (const target of await testDatabaseTargets()) {
  describe(`referrals on ${target.kind}`, () => {
    test('seed invariants, the referral life cycle, relationships and pathway steps', async () => {
      const handle = await target.open();
      try {
        const db = handle.db;
        await loadSyntheticPlace(db, { seed: 7, people: 2000 });
        const counts = (await sql<{ status: string; n: number }>`select status, count(*) as n from referrals group by status`.execute(db))
          .rows;
        assert.ok(counts.reduce((s, c) => s + Number(c.n), 0) >= 200);
        const openWithoutRelationship = await sql<{
          n: number;
        }>`select count(*) as n from referrals r join care_relationships c on c.id = r.relationship_id
          where (r.status in ('sent','received','accepted','in_progress')) <> (c.ended_at is null)`.execute(db);
        assert.equal(Number(openWithoutRelationship.rows[0]!.n), 0, 'relationships are open exactly while referrals are');
        const teamOnly = await sql<{
          n: number;
        }>`select count(*) as n from referrals r join care_relationships c on c.id = r.relationship_id where c.team_id is not null`.execute(
          db,
        );
        assert.equal(Number(teamOnly.rows[0]!.n), 0, "a referral's relationship is the receiving organisation's, not one team's");
        // A database from before migration 0042 held team-only relationships: the open ones are widened, ended ones kept as they were.
        const sample = (
          await sql<{
            id: number;
            ended: boolean;
          }>`(select c.id, false as ended from referrals r join care_relationships c on c.id = r.relationship_id where c.ended_at is null order by c.id limit 3)
          union all (select c.id, true as ended from referrals r join care_relationships c on c.id = r.relationship_id where c.ended_at is not null order by c.id limit 3)`.execute(
            db,
          )
        ).rows;
        assert.deepEqual(
          sample.map((x) => x.ended),
          [false, false, false, true, true, true],
        );
        await sql`update care_relationships c set team_id = r.team_id from referrals r where r.relationship_id = c.id and c.id = any(${sample.map((x) => x.id)}::bigint[])`.execute(
          db,
        );
        assert.equal(await referralRelationshipsToOrganisation(db), sample.filter((x) => !x.ended).length);
        const after = await db
          .selectFrom('care_relationships')
          .select(['id', 'team_id'])
          .where(
            'id',
            'in',
            sample.map((x) => x.id),
          )
          .execute();
        for (const x of sample)
          assert.equal(
            after.find((a) => Number(a.id) === Number(x.id))!.team_id === null,
            !x.ended,
            `relationship ${x.id} (${x.ended ? 'ended' : 'open'})`,
          );

        // A person known to an organisation, and a service elsewhere.
        const pair = (
          await sql<{ person_id: string; organisation_id: string; practitioner_id: string; team_id: string }>`
          select l.person_id, o.id as organisation_id, p.id as practitioner_id, p.team_id from record_links l
          join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
          join practitioners p on p.organisation_id = o.id where l.superseded_at is null and o.kind = 'gp_practice' order by l.person_id, p.id limit 1`.execute(
            db,
          )
        ).rows[0]!;
        const sender: SignedInUser = {
          id: 'u-sender',
          username: 's',
          displayName: 'Sam Sender',
          role: 'practitioner',
          personId: null,
          practitionerId: pair.practitioner_id,
          organisationId: pair.organisation_id,
          teamId: pair.team_id,
        };
        const svc = (
          await sql<{ id: string; organisation_id: string; team_id: string; practitioner_id: string }>`
          select s.id, s.organisation_id, s.team_id, p.id as practitioner_id from services s join practitioners p on p.team_id = s.team_id
          join organisations o on o.id = s.organisation_id where o.kind = 'charity' order by s.id, p.id limit 1`.execute(db)
        ).rows[0]!;
        const receiver: SignedInUser = {
          id: 'u-receiver',
          username: 'r',
          displayName: 'Rae Receiver',
          role: 'practitioner',
          personId: null,
          practitionerId: svc.practitioner_id,
          organisationId: svc.organisation_id,
          teamId: svc.team_id,
        };
        const other = (
          await sql<{
            id: string;
          }>`select id from services where organisation_id <> ${svc.organisation_id} and organisation_id <> ${pair.organisation_id} order by id limit 1`.execute(
            db,
          )
        ).rows[0]!;

        const journeyId = await db.transaction().execute((trx) => startJourney(trx, pair.person_id, 'multiple-disadvantage', sender.id));
        const id = await sendReferral(db, sender, {
          personId: pair.person_id,
          serviceId: svc.id,
          reason: 'Sleeping rough',
          personWords: null,
          urgency: 'urgent',
          consent: 'given',
          categories: ['demographics', 'housing'],
          onwardConsent: false,
          journeyStep: { journeyId, stepCode: 'coordinator' },
        });
        const relationship = async (orgId: string) =>
          (
            await db
              .selectFrom('care_relationships')
              .select('id')
              .where('person_id', '=', pair.person_id)
              .where('organisation_id', '=', orgId)
              .where('kind', '=', 'referral')
              .where('ended_at', 'is', null)
              .execute()
          ).length;
        assert.equal(await relationship(svc.organisation_id), 1);
        await assert.rejects(
          applyReferralAction(db, sender, id, { kind: 'acknowledge' }),
          ReferralInputError,
          'the referrer cannot acknowledge',
        );
        const bulk = await bulkReferralAction(db, receiver, [id, 'ref-missing'], { kind: 'acknowledge' });
        assert.deepEqual([bulk.done, bulk.refused.length], [1, 1]);
        await assert.rejects(
          applyReferralAction(db, receiver, id, { kind: 'decline', reason: 'Full', onwardServiceId: null }),
          /hand this referral on/,
        );
        const declined = await applyReferralAction(db, receiver, id, {
          kind: 'decline',
          reason: 'Full this month',
          onwardServiceId: other.id,
        });
        assert.ok(declined.onwardReferralId);
        assert.equal(await relationship(svc.organisation_id), 0, "the declining team's relationship ended");
        const onward = await db.selectFrom('referrals').selectAll().where('id', '=', declined.onwardReferralId).executeTakeFirstOrThrow();
        assert.deepEqual(
          [onward.status, onward.onward_from_id, onward.sharing_basis, onward.journey_id],
          ['sent', id, 'identification', journeyId],
          'without onward consent, the onward referral shares identity only, and serves the same pathway step',
        );
        const step = await db
          .selectFrom('pathway_journey_steps')
          .select(['referral_id', 'status'])
          .where('journey_id', '=', journeyId)
          .where('step_code', '=', 'coordinator')
          .executeTakeFirstOrThrow();
        assert.deepEqual(step, { referral_id: onward.id, status: 'waiting' });

        const onwardReceiver: SignedInUser = {
          ...receiver,
          id: 'u-onward',
          organisationId: onward.organisation_id,
          practitionerId: null,
          teamId: onward.team_id,
        };
        for (const kind of ['acknowledge', 'accept'] as const) await applyReferralAction(db, onwardReceiver, onward.id, { kind });
        await applyReferralAction(db, onwardReceiver, onward.id, { kind: 'start', contact: { on: ukDate(new Date()), method: 'phone' } });
        await applyReferralAction(db, onwardReceiver, onward.id, { kind: 'complete', note: 'done' });
        const journey = (await journeysOf(db, pair.person_id)).find((j) => j.id === journeyId)!;
        assert.equal(journey.steps.find((s) => s.code === 'coordinator')!.status, 'done');
        assert.deepEqual(
          journey.steps.filter((s) => s.stage === 2).map((s) => s.status),
          ['waiting', 'waiting', 'waiting'],
          'the parallel stage opened',
        );

        const inbox = await listReferrals(db, 'to', onward.organisation_id, { status: 'completed', serviceId: onward.service_id }, 1, 1000);
        assert.ok(inbox.rows.some((r) => r.id === onward.id));
        const waits = await waitingLists(db, [onward.service_id]);
        assert.ok(waits.get(onward.service_id)!.measuredOn >= 1);
        const flow = await pathwayFlow(db);
        assert.equal(flow.length, 13, 'a row for every step of the three pathways');
        assert.ok(flow.some((f) => f.medianWaitDays !== null && f.p90WaitDays !== null && f.p90WaitDays >= f.medianWaitDays));
        await assert.rejects(sql`delete from referral_events`.execute(db), /append-only/);
      } finally {
        await handle.close();
      }
    });
  });
}
