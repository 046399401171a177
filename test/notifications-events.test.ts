// The events that tell residents something, read back from a real SMTP server: a service
// acknowledging a referral about them (the referrals module's transaction writes the
// notification), and a review of their plan coming within the fortnight (told once per plan and
// review date, however often the check runs). Neither email names the person, the service or
// the plan.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from './support/server.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import type { SignedInUser } from '../src/auth/index.ts';
import { applyReferralAction } from '../src/referrals/referrals.ts';
import { noticeReviewsDue, ukToday } from '../src/plans/reviews-due.ts';

describe('events that notify residents', () => {
  let server: TestServer;
  let smtp: TestSmtpServer;

  before(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({ people: 1500, seed: 9, env: { SMTP_URL: smtp.url } });
  });
  after(async () => {
    await server?.close();
    await smtp?.close();
  });

  /** A resident's account, with an email address, for a person of the demo place. */
  async function residentAccount(personId: string, email: string): Promise<string> {
    const id = `u-resident-${personId}`;
    await server.database.db
      .insertInto('users')
      .values({
        id,
        username: email,
        display_name: 'Resident',
        role: 'citizen',
        password_hash: null,
        oidc_subject: null,
        person_id: personId,
        practitioner_id: null,
        organisation_id: null,
        email,
      } as never)
      .execute();
    return id;
  }

  test('a service acknowledges a referral: the person gets "news about a referral", linking to their referrals', async () => {
    const db = server.database.db;
    const referral = (
      await sql<{
        id: string;
        person_id: string;
        organisation_id: string;
        practitioner_id: string;
        team_id: string;
        service: string;
        given_name: string;
        family_name: string;
      }>`
      select r.id, r.person_id, r.organisation_id, p.id as practitioner_id, p.team_id, s.name as service, x.given_name, x.family_name
      from referrals r join services s on s.id = r.service_id join practitioners p on p.organisation_id = r.organisation_id join persons x on x.id = r.person_id
      where r.status = 'sent' and not exists (select 1 from users u where u.person_id = r.person_id)
      order by r.id, p.id limit 1`.execute(db)
    ).rows[0];
    assert.ok(referral, 'the demo place has a referral waiting to be acknowledged');
    await residentAccount(referral.person_id, 'referred.person@example.org');
    await db
      .insertInto('users')
      .values({
        id: 'u-receiver',
        username: 'receiver',
        display_name: 'Rae Receiver',
        role: 'practitioner',
        password_hash: null,
        oidc_subject: null,
        person_id: null,
        practitioner_id: referral.practitioner_id,
        organisation_id: referral.organisation_id,
      } as never)
      .execute();
    const receiver: SignedInUser = {
      id: 'u-receiver',
      username: 'receiver',
      displayName: 'Rae Receiver',
      role: 'practitioner',
      personId: null,
      practitionerId: referral.practitioner_id,
      organisationId: referral.organisation_id,
      teamId: referral.team_id,
    };

    const before = smtp.mails.length;
    await applyReferralAction(db, receiver, referral.id, { kind: 'assign', practitionerId: referral.practitioner_id });
    await applyReferralAction(db, receiver, referral.id, { kind: 'acknowledge' });
    const mail = await smtp.waitForMail((m) => m.to.includes('referred.person@example.org'), before);
    assert.equal(mail.subject, 'News about a referral in Joinery');
    assert.ok(mail.text.includes(`Sign in to read it: ${server.url}/my-referrals`), mail.text);
    for (const secret of [referral.given_name, referral.family_name, referral.service, 'Rae Receiver', referral.id])
      assert.ok(!mail.raw.includes(secret), `the email does not say "${secret}"`);
    const rows = await db
      .selectFrom('notification_outbox')
      .select('kind')
      .where('user_id', '=', `u-resident-${referral.person_id}`)
      .execute();
    assert.deepEqual(
      rows.map((r) => r.kind),
      ['referral_step'],
      'assigning inside the service is not news to the person; acknowledging is',
    );
  });

  test('a plan review coming up: told once per plan and review date, linking to their plan', async () => {
    const db = server.database.db;
    const plan = (
      await sql<{ id: string; person_id: string; title: string; given_name: string }>`
      select pl.id, pl.person_id, pl.title, x.given_name from plans pl join persons x on x.id = pl.person_id
      where pl.status = 'active' and pl.subject_kind = 'person' and not exists (select 1 from users u where u.person_id = pl.person_id)
      order by pl.id limit 1`.execute(db)
    ).rows[0];
    assert.ok(plan, 'the demo place has an active plan');
    const userId = await residentAccount(plan.person_id, 'planned.person@example.org');
    const today = ukToday();
    const inFiveDays = new Date(Date.parse(`${today}T12:00:00Z`) + 5 * 86_400_000).toISOString().slice(0, 10);
    const inFiveWeeks = new Date(Date.parse(`${today}T12:00:00Z`) + 35 * 86_400_000).toISOString().slice(0, 10);
    const notices = async () =>
      (
        await db
          .selectFrom('notification_outbox')
          .select('id')
          .where('user_id', '=', userId)
          .where('kind', '=', 'plan_review_due')
          .execute()
      ).length;

    await db.updateTable('plans').set({ next_review_on: inFiveWeeks }).where('id', '=', plan.id).execute();
    await noticeReviewsDue(db, today);
    assert.equal(await notices(), 0, 'a review five weeks away is not news yet');

    await db.updateTable('plans').set({ next_review_on: inFiveDays }).where('id', '=', plan.id).execute();
    const before = smtp.mails.length;
    await noticeReviewsDue(db, today);
    await noticeReviewsDue(db, today);
    assert.equal(await notices(), 1, 'told once, however often the check runs');
    const mail = await smtp.waitForMail((m) => m.to.includes('planned.person@example.org'), before);
    assert.equal(mail.subject, 'A plan review is coming up in Joinery');
    assert.ok(mail.text.includes(`${server.url}/my-plan`));
    for (const secret of [plan.title, plan.given_name, inFiveDays])
      assert.ok(!mail.raw.includes(secret), `the email does not say "${secret}"`);
  });
});
