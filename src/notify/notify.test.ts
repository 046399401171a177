// The notifications outbox on PGlite and PostgreSQL: a notification exists exactly when its
// change committed; preferences decide channel and frequency (none: nothing; daily: one summary);
// two dispatchers send each message once; a claim whose sender died is retried after its lease;
// a failing sender is retried with backoff and then marked failed with its reason.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { testDatabaseTargets } from '../testing.ts';
import type { Database } from '../schema.ts';
import { openPostgres, type DatabaseHandle } from '../platform/db.ts';
import type { SignedInUser } from '../auth/index.ts';
import { notify, notifyPeople, preferencesOf, sendTransactional, setOwnPreferences } from './notify.ts';
import { createNotificationDispatcher, lastDigestTime } from './dispatcher.ts';
import { SendFailure, type OutgoingMessage, type Sender, type Senders } from './senders.ts';
import { deliveryCounts, listDeliveries } from './admin.ts';

const PUBLIC_URL = 'https://joinery.example.org';

/** A sender that keeps what it was given, optionally slowly or failing. */
function recordingSender(options: { delayMs?: number; fail?: string } = {}): Sender & { sent: OutgoingMessage[] } {
  const sent: OutgoingMessage[] = [];
  return {
    name: 'recording',
    sent,
    async send(message) {
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      if (options.fail) throw new SendFailure(options.fail);
      sent.push(message);
    },
  };
}

const signedIn = (id: string): SignedInUser => ({
  id,
  username: id,
  displayName: id,
  role: 'citizen',
  personId: `p-${id}`,
  practitionerId: null,
  organisationId: null,
  teamId: null,
});

async function addUser(
  db: Kysely<Database>,
  id: string,
  contact: { email?: string | null; mobile?: string | null; personId?: string | null } = {},
) {
  if (contact.personId) {
    await db
      .insertInto('persons')
      .values({
        id: contact.personId,
        household_id: null,
        given_name: 'Maya',
        middle_name: null,
        family_name: 'Tester',
        birth_family_name: null,
        birth_date: '1990-02-03',
        sex: 'female',
        ethnicity_group: null,
        disability: false,
        nhs_number: null,
        phone: null,
        email: null,
      } as never)
      .execute();
  }
  await db
    .insertInto('users')
    .values({
      id,
      username: id,
      display_name: id,
      role: 'citizen',
      password_hash: null,
      oidc_subject: null,
      person_id: contact.personId ?? null,
      practitioner_id: null,
      organisation_id: null,
      email: contact.email ?? null,
      mobile: contact.mobile ?? null,
    } as never)
    .execute();
}

for (const target of await testDatabaseTargets()) {
  describe(`notifications (${target.kind})`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    before(async () => {
      handle = await target.open();
      db = handle.db;
      await addUser(db, 'u-email', { email: 'maya@example.org', personId: 'p-maya' });
      await addUser(db, 'u-none', { email: 'none@example.org' });
      await addUser(db, 'u-daily', { email: 'daily@example.org' });
      await addUser(db, 'u-sms', { mobile: '+447700900982' });
      await addUser(db, 'u-nothing');
    });
    after(async () => handle.close());

    const dispatcher = (senders: Partial<Senders>, options: { maxAttempts?: number; baseDelayMs?: number; leaseMs?: number } = {}) =>
      createNotificationDispatcher(db, {
        senders: { email: senders.email ?? recordingSender(), sms: senders.sms ?? recordingSender() },
        publicUrl: () => PUBLIC_URL,
        ...options,
      });

    test('by default an account with an email address is emailed straight away; one without is told nothing', async () => {
      assert.deepEqual(await preferencesOf(db, 'u-email'), { channels: ['email'], frequency: 'immediate', chosen: false });
      assert.deepEqual(await preferencesOf(db, 'u-nothing'), { channels: [], frequency: 'immediate', chosen: false });
      assert.equal(await notify(db, { userId: 'u-nothing', event: 'new_message' }), 0);
    });

    test('a notification exists only if the change it tells of committed', async () => {
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await notify(trx, { userId: 'u-email', event: 'new_message', path: '/my-record/messages' });
          throw new Error('the change failed');
        }),
        /the change failed/,
      );
      assert.equal((await listDeliveries(db)).matching, 0);
      await db
        .transaction()
        .execute((trx) => notifyPeople(trx, { personIds: ['p-maya'], event: 'new_message', path: '/my-record/messages' }));
      assert.equal((await deliveryCounts(db)).queued, 1);
    });

    test('the email says there is something new and links to it, with nothing personal', async () => {
      const email = recordingSender();
      assert.equal(await dispatcher({ email }).runOnce(), 1);
      assert.equal(email.sent.length, 1);
      const message = email.sent[0]!;
      assert.equal(message.to, 'maya@example.org');
      assert.equal(message.subject, 'New message in Joinery');
      assert.match(message.text, /^You have a new message in Joinery\./);
      assert.ok(message.text.includes(`Sign in to read it: ${PUBLIC_URL}/my-record/messages`));
      assert.doesNotMatch(message.text, /Maya|Tester|u-email/);
      const counts = await deliveryCounts(db);
      assert.deepEqual(counts, { queued: 0, sent: 1, failed: 0 });
      assert.equal(await dispatcher({ email }).runOnce(), 0, 'nothing is sent twice');
    });

    test('a link must be a path on this site', async () => {
      await assert.rejects(notify(db, { userId: 'u-email', event: 'new_message', path: 'https://evil.example/x' }), /path on this site/);
      await assert.rejects(notify(db, { userId: 'u-email', event: 'new_message', path: '//evil.example/x' }), /path on this site/);
    });

    test('choosing not to be told sends nothing; an account email still goes', async () => {
      const chose = await setOwnPreferences(db, signedIn('u-none'), { channels: ['none'], frequency: '' });
      assert.equal(chose.ok, true);
      assert.equal(await notify(db, { userId: 'u-none', event: 'referral_step' }), 0);
      await sendTransactional(db, {
        userId: 'u-none',
        subject: 'Reset your Joinery password',
        body: 'Use this link: https://joinery.example.org/reset/abc',
      });
      const email = recordingSender();
      assert.equal(await dispatcher({ email }).runOnce(), 1);
      assert.deepEqual(
        email.sent.map((m) => [m.to, m.subject]),
        [['none@example.org', 'Reset your Joinery password']],
      );
      const stored = await db
        .selectFrom('notification_outbox')
        .select(['subject', 'body', 'to_address', 'status'])
        .where('kind', '=', 'account_email')
        .executeTakeFirstOrThrow();
      assert.deepEqual(stored, { subject: null, body: null, to_address: null, status: 'sent' }, 'the reset link is not kept once sent');
    });

    test("preferences refuse what cannot work, and keep the form's errors by field", async () => {
      const noMobile = await setOwnPreferences(db, signedIn('u-email'), { channels: ['sms'], frequency: 'immediate' });
      assert.deepEqual(noMobile, {
        ok: false,
        errors: [{ field: 'channels', message: 'Add a mobile phone number to your account to be told by text message' }],
      });
      const nothing = await setOwnPreferences(db, signedIn('u-email'), { channels: [], frequency: '' });
      assert.equal(nothing.ok, false);
      assert.deepEqual(!nothing.ok && nothing.errors.map((e) => e.field), ['channels', 'frequency']);
      const both = await setOwnPreferences(db, signedIn('u-email'), { channels: ['email', 'none'], frequency: 'immediate' });
      assert.equal(both.ok, false);
    });

    test("a daily summary: several events, one message, sent only after the day's digest time", async () => {
      assert.equal((await setOwnPreferences(db, signedIn('u-daily'), { channels: ['email'], frequency: 'daily' })).ok, true);
      const written = new Date();
      for (const event of ['new_message', 'new_message', 'referral_step', 'emergency_access'] as const)
        await notify(db, { userId: 'u-daily', event }, written);
      const email = recordingSender();
      // Before the next digest time, nothing goes.
      assert.equal(await dispatcher({ email }).runOnce(new Date(lastDigestTime(written, 8).getTime() + 1)), 0);
      const nextDigest = new Date(lastDigestTime(written, 8).getTime() + 25 * 3_600_000);
      assert.equal(await dispatcher({ email }).runOnce(nextDigest), 4);
      assert.equal(email.sent.length, 1, 'one email for four events');
      assert.equal(email.sent[0]!.subject, 'Your Joinery summary: 4 new updates');
      assert.match(email.sent[0]!.text, /A new message \(2 times\)/);
      assert.match(email.sent[0]!.text, /Someone uses emergency access to open a record/);
    });

    test('text messages go to the mobile number, shortened', async () => {
      assert.equal((await setOwnPreferences(db, signedIn('u-sms'), { channels: ['sms'], frequency: 'immediate' })).ok, true);
      await notify(db, { userId: 'u-sms', event: 'correction_answered' });
      const sms = recordingSender();
      await dispatcher({ sms }).runOnce();
      assert.equal(sms.sent.length, 1);
      assert.equal(sms.sent[0]!.to, '+447700900982');
      assert.equal(
        sms.sent[0]!.text,
        `A request to correct a record has been answered in Joinery. Sign in to read it: ${PUBLIC_URL}/my-record/corrections`,
      );
    });

    test('a failing sender is retried with growing waits, then marked failed with its reason', async () => {
      await notify(db, { userId: 'u-email', event: 'plan_review_due' });
      const failing = recordingSender({ fail: 'the mail server answered 451: try later' });
      const d = dispatcher({ email: failing }, { maxAttempts: 3, baseDelayMs: 60_000 });
      let now = new Date();
      assert.equal(await d.runOnce(now), 1);
      assert.equal(await d.runOnce(now), 0, 'not again before its wait is over');
      const row = () =>
        db
          .selectFrom('notification_outbox')
          .select(['status', 'attempts', 'last_error', 'next_attempt_at'])
          .where('kind', '=', 'plan_review_due')
          .executeTakeFirstOrThrow();
      const first = await row();
      assert.equal(first.status, 'queued');
      assert.equal(first.attempts, 1);
      assert.equal(first.last_error, 'the mail server answered 451: try later');
      const firstWait = new Date(first.next_attempt_at).getTime() - now.getTime();
      now = new Date(new Date(first.next_attempt_at).getTime() + 1);
      assert.equal(await d.runOnce(now), 1);
      const second = await row();
      assert.ok(new Date(second.next_attempt_at).getTime() - now.getTime() > firstWait, 'the second wait is longer');
      now = new Date(new Date(second.next_attempt_at).getTime() + 1);
      assert.equal(await d.runOnce(now), 1);
      const last = await row();
      assert.equal(last.status, 'failed');
      assert.equal(last.attempts, 3);
      const listed = (await listDeliveries(db, { status: 'failed' })).deliveries;
      assert.deepEqual(
        listed.map((r) => [r.kind, r.attempts, r.lastError, r.account?.username]),
        [['plan_review_due', 3, 'the mail server answered 451: try later', 'u-email']],
      );
    });

    test('an account disabled after it was notified is told nothing', async () => {
      await addUser(db, 'u-leaver', { email: 'leaver@example.org' });
      await notify(db, { userId: 'u-leaver', event: 'new_message' });
      await db.updateTable('users').set({ disabled_at: new Date() }).where('id', '=', 'u-leaver').execute();
      const email = recordingSender();
      await dispatcher({ email }).runOnce();
      assert.equal(email.sent.length, 0);
      const row = await db
        .selectFrom('notification_outbox')
        .select(['status', 'last_error'])
        .where('user_id', '=', 'u-leaver')
        .executeTakeFirstOrThrow();
      assert.deepEqual(row, { status: 'failed', last_error: 'the account is disabled' }, 'failed at once: no retry could reach them');
      assert.equal(await notify(db, { userId: 'u-leaver', event: 'new_message' }), 0, 'and nothing new is written');
    });

    test('a claim whose sender died is sent again once its lease ends, and only then', async () => {
      await notify(db, { userId: 'u-email', event: 'referral_step' });
      const now = new Date();
      // A dispatcher claims it and dies before sending (its sender never answers).
      const hung: Sender = { name: 'hung', send: () => new Promise(() => {}) };
      void dispatcher({ email: hung }, { leaseMs: 60_000 }).runOnce(now);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const email = recordingSender();
      assert.equal(await dispatcher({ email }).runOnce(now), 0, 'claimed: nobody else sends it');
      assert.equal(await dispatcher({ email }).runOnce(new Date(now.getTime() + 61_000)), 1);
      assert.equal(email.sent.length, 1);
    });

    test('two dispatchers side by side send each notification exactly once', async () => {
      await db.deleteFrom('notification_outbox').execute();
      for (let i = 0; i < 60; i += 1) await notify(db, { userId: 'u-email', event: 'new_message', path: `/my-record/messages?n=${i}` });
      const a = recordingSender({ delayMs: 5 });
      const b = recordingSender({ delayMs: 5 });
      // On PostgreSQL the second dispatcher has a connection pool of its own, as another server would.
      const schema = target.kind === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]!.s : null;
      const other = schema
        ? await openPostgres(process.env.TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/test', { searchPath: schema, max: 2 })
        : null;
      try {
        const da = dispatcher({ email: a });
        const db2 = createNotificationDispatcher(other?.db ?? db, {
          senders: { email: b, sms: recordingSender() },
          publicUrl: () => PUBLIC_URL,
        });
        let claimed = 0;
        for (let round = 0; round < 5; round += 1) {
          const [x, y] = await Promise.all([da.runOnce(), db2.runOnce()]);
          claimed += x + y;
        }
        assert.equal(claimed, 60);
        if (other) assert.ok(a.sent.length > 0 && b.sent.length > 0, 'both servers sent some');
      } finally {
        await other?.close();
      }
      const links = [...a.sent, ...b.sent].map((m) => /n=(\d+)/.exec(m.text)![1]);
      assert.equal(links.length, 60);
      assert.equal(new Set(links).size, 60, 'no notification sent twice');
      assert.deepEqual(await deliveryCounts(db), { queued: 0, sent: 60, failed: 0 });
    });
  });
}

test('the daily summary time is the digest hour in the UK, summer or winter', () => {
  assert.equal(lastDigestTime(new Date('2026-01-15T10:00:00Z'), 8).toISOString(), '2026-01-15T08:00:00.000Z');
  assert.equal(lastDigestTime(new Date('2026-01-15T07:59:00Z'), 8).toISOString(), '2026-01-14T08:00:00.000Z');
  assert.equal(lastDigestTime(new Date('2026-07-15T07:30:00Z'), 8).toISOString(), '2026-07-15T07:00:00.000Z');
  assert.equal(lastDigestTime(new Date('2026-07-15T06:30:00Z'), 8).toISOString(), '2026-07-14T07:00:00.000Z');
});
