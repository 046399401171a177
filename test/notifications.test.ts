// Notifications over HTTP with a real SMTP server: a resident gives an email address on their
// account page, a practitioner opens their record with emergency access and answers their
// correction request, and the resident's mailbox gets emails that say only that something
// happened, with the right link. A mail server that refuses leads to retries and then "failed"
// on the admin's page, which shows no message content or address, and once the mail server
// is mended the admin sends it again. Choosing "do not tell me"
// sends nothing; "once a day" sends one summary. Nobody changes another account's contact
// details or choices, and forms without their CSRF token change nothing.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';
import { createNotificationDispatcher, lastDigestTime, smtpSender, type NotificationDispatcher } from '../src/notify/index.ts';

const RESIDENT_EMAIL = 'resident.one@example.org';
const REASON = 'Unconscious in A&E after a fall, need medication history';

describe('notifications by email', () => {
  let server: TestServer;
  let smtp: TestSmtpServer;
  let personId: string;
  let names: string[];

  before(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({ people: 1500, seed: 5, env: { SMTP_URL: smtp.url } });
    const db = server.database.db;
    const citizen = await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow();
    personId = citizen.person_id!;
    const person = await db
      .selectFrom('persons')
      .select(['given_name', 'family_name'])
      .where('id', '=', personId)
      .executeTakeFirstOrThrow();
    const practitioner = await db
      .selectFrom('users')
      .select('display_name')
      .where('username', '=', 'practitioner')
      .executeTakeFirstOrThrow();
    names = [person.given_name, person.family_name, practitioner.display_name];
  });
  after(async () => {
    await server?.close();
    await smtp?.close();
  });

  async function post(cookie: string, url: string, values: Record<string, string | string[]>, tokenPage = '/account') {
    const token = await csrfTokenFor(server.app, cookie, tokenPage);
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...values, _csrf: token })) for (const item of [v].flat()) params.append(k, item);
    return server.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: params.toString(),
    });
  }

  /** A dispatcher of the test's own over the server's database, to move time on for retries and summaries. */
  function testDispatcher(options: { maxAttempts?: number } = {}): NotificationDispatcher {
    return createNotificationDispatcher(server.database.db, {
      senders: { email: smtpSender(smtp.url, 'Joinery <no-reply@example.org>'), sms: smtpSender(smtp.url, 'x@example.org') },
      publicUrl: () => server.url,
      baseDelayMs: 60_000,
      ...options,
    });
  }

  const breakGlass = async () => {
    const practitioner = await signIn(server.app, 'practitioner');
    const response = await post(practitioner, `/people/${personId}/break-glass`, { reason: REASON }, '/home');
    assert.equal(response.statusCode, 302);
  };

  test('a resident gives an email address on their account page, with GOV.UK errors for a wrong one', async () => {
    const citizen = await signIn(server.app, 'citizen');
    const wrong = await post(citizen, '/account', { email: 'resident.one at example', mobile: '0161 496 0000' });
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.body, /<title>Error: Your account/);
    assert.match(wrong.body, /govuk-error-summary/);
    assert.match(wrong.body, /href="#email">Enter an email address in the correct format/);
    assert.match(wrong.body, /href="#mobile">Enter a UK mobile phone number/);
    assert.match(wrong.body, /value="resident.one at example"/, 'what was typed is kept');
    const saved = await post(citizen, '/account', { email: RESIDENT_EMAIL, mobile: '07700 900 982', currentPassword: DEMO_PASSWORD });
    assert.equal(saved.statusCode, 302);
    const page = await server.app.inject({ method: 'GET', url: '/account?done=saved', headers: { cookie: citizen } });
    assert.match(page.body, /Your contact details are saved/);
    assert.match(page.body, new RegExp(`value="${RESIDENT_EMAIL}"`));
    assert.match(page.body, /value="\+447700900982"/);
    const choices = await server.app.inject({ method: 'GET', url: '/account/notifications', headers: { cookie: citizen } });
    assert.match(choices.body, /Until you do, we email you straight away/);
  });

  test('emergency access to their record: an email with no personal details and a link to sign in', async () => {
    const before = smtp.mails.length;
    await breakGlass();
    const mail = await smtp.waitForMail((m) => m.to.includes(RESIDENT_EMAIL), before);
    assert.equal(mail.subject, 'A record was opened with emergency access in Joinery');
    assert.ok(mail.text.includes(`Sign in to read it: ${server.url}/home`), mail.text);
    for (const secret of [...names, REASON, 'A&E', 'medication', personId])
      assert.ok(!mail.raw.includes(secret), `the email does not say "${secret}"`);
  });

  test('a correction request answered: the resident is told, and the link goes to their corrections', async () => {
    const db = server.database.db;
    const citizen = await signIn(server.app, 'citizen');
    const organisation = (
      await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
    ).organisation_id!;
    const asked = await post(
      citizen,
      '/my-record/corrections',
      { organisation, item: 'My diagnosis of asthma', wrong: 'I have never had asthma', right: 'No asthma' },
      '/my-record/corrections',
    );
    assert.equal(asked.statusCode, 302);
    const request = await db
      .selectFrom('correction_requests')
      .select('id')
      .where('person_id', '=', personId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const before = smtp.mails.length;
    const practitioner = await signIn(server.app, 'practitioner');
    const answered = await post(
      practitioner,
      `/corrections/${request.id}`,
      { outcome: 'declined', note: 'Our records show a diagnosis in 2019' },
      '/corrections',
    );
    assert.equal(answered.statusCode, 302);
    const mail = await smtp.waitForMail((m) => m.to.includes(RESIDENT_EMAIL), before);
    assert.equal(mail.subject, 'Your correction request has an answer in Joinery');
    assert.ok(mail.text.includes(`${server.url}/my-record/corrections`));
    for (const secret of [...names, 'asthma', '2019']) assert.ok(!mail.raw.includes(secret), `the email does not say "${secret}"`);
  });

  test('a mail server that refuses: retried with growing waits, then failed, and the admin sees why but not what or to whom', async () => {
    smtp.mode = 'refuse';
    try {
      const db = server.database.db;
      const user = await db.selectFrom('users').select('id').where('username', '=', 'citizen').executeTakeFirstOrThrow();
      await breakGlass();
      const row = () =>
        db
          .selectFrom('notification_outbox')
          .select(['id', 'status', 'attempts', 'last_error', 'next_attempt_at'])
          .where('user_id', '=', user.id)
          .orderBy('id', 'desc')
          .executeTakeFirstOrThrow();
      const dispatcher = testDispatcher({ maxAttempts: 3 });
      let now = new Date();
      for (let pass = 0; pass < 10 && (await row()).status === 'queued'; pass += 1) {
        await dispatcher.runOnce(now);
        now = new Date(Math.max(now.getTime(), new Date((await row()).next_attempt_at).getTime()) + 1000);
      }
      const failed = await row();
      assert.equal(failed.status, 'failed');
      assert.equal(failed.attempts, 3);
      assert.match(failed.last_error ?? '', /^the mail server answered 450: .*\[address\] is temporarily unavailable/);
      assert.ok(!(failed.last_error ?? '').includes(RESIDENT_EMAIL), 'the error keeps no address');

      const admin = await signIn(server.app, 'admin');
      const page = await server.app.inject({ method: 'GET', url: '/admin/notifications?status=failed', headers: { cookie: admin } });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Emergency access/);
      assert.match(page.body, /Failed/);
      assert.match(page.body, /<code>citizen<\/code>/);
      assert.match(page.body, /is temporarily unavailable/);
      for (const secret of [RESIDENT_EMAIL, REASON, 'Sign in to read it', '+447700900982'])
        assert.ok(!page.body.includes(secret), `the admin page does not show "${secret}"`);
      const counts = /Failed\s*<\/dt>\s*<dd[^>]*>\s*(?:<strong[^>]*>)?\s*(\d+)/.exec(page.body);
      assert.equal(counts?.[1], '1');

      const practitioner = await signIn(server.app, 'practitioner');
      const refused = await server.app.inject({ method: 'GET', url: '/admin/notifications', headers: { cookie: practitioner } });
      assert.equal(refused.statusCode, 403, 'administrators only');
      const notRetried = await post(practitioner, '/admin/notifications/retry', {}, '/home');
      assert.equal(notRetried.statusCode, 403, 'only administrators send failed notifications again');
      assert.equal((await row()).status, 'failed');

      // The mail server is mended: the administrator sends the failed ones again, and it arrives.
      smtp.mode = 'accept';
      const before = smtp.mails.length;
      const retried = await post(admin, '/admin/notifications/retry', {}, '/admin/notifications');
      assert.equal(retried.statusCode, 302);
      assert.equal(retried.headers.location, '/admin/notifications?done=retried');
      const mail = await smtp.waitForMail((m) => m.to.includes(RESIDENT_EMAIL), before);
      assert.equal(mail.subject, 'A record was opened with emergency access in Joinery');
    } finally {
      smtp.mode = 'accept';
    }
  });

  test('"do not tell me" sends nothing; "once a day" sends one summary for several events', async () => {
    const db = server.database.db;
    const citizen = await signIn(server.app, 'citizen');
    const user = await db.selectFrom('users').select('id').where('username', '=', 'citizen').executeTakeFirstOrThrow();
    const count = async () => (await db.selectFrom('notification_outbox').select('id').where('user_id', '=', user.id).execute()).length;

    const none = await post(citizen, '/account/notifications', { channels: 'none', frequency: 'immediate' }, '/account/notifications');
    assert.equal(none.statusCode, 302);
    const written = await count();
    await breakGlass();
    assert.equal(await count(), written, 'no notification is written for someone who chose none');

    const daily = await post(citizen, '/account/notifications', { channels: 'email', frequency: 'daily' }, '/account/notifications');
    assert.equal(daily.statusCode, 302);
    await breakGlass();
    await breakGlass();
    const before = smtp.mails.length;
    const now = new Date();
    const dispatcher = testDispatcher();
    assert.equal(await dispatcher.runOnce(now), 0, 'the summary waits for its time of day');
    assert.equal(await dispatcher.runOnce(new Date(lastDigestTime(now, 8).getTime() + 25 * 3_600_000)), 2);
    const mail = await smtp.waitForMail((m) => m.to.includes(RESIDENT_EMAIL), before);
    assert.equal(mail.subject, 'Your Joinery summary: 2 new updates');
    assert.match(mail.text, /Someone uses emergency access to open a record \(2 times\)/);
    assert.equal(smtp.mails.length, before + 1, 'one email for both');
  });

  test("nobody changes another account's contact details or choices; no form works without its CSRF token", async () => {
    const db = server.database.db;
    const practitioner = await signIn(server.app, 'practitioner');
    const citizenUser = await db.selectFrom('users').select(['id', 'email']).where('username', '=', 'citizen').executeTakeFirstOrThrow();
    const citizenChoices = await db
      .selectFrom('notification_preferences')
      .selectAll()
      .where('user_id', '=', citizenUser.id)
      .executeTakeFirstOrThrow();
    // The forms take no account id: whatever is sent, only the signed-in account changes.
    const mine = await post(practitioner, '/account', {
      email: 'attacker@example.org',
      mobile: '',
      currentPassword: DEMO_PASSWORD,
      userId: citizenUser.id,
      id: citizenUser.id,
    });
    assert.equal(mine.statusCode, 302);
    const chose = await post(
      practitioner,
      '/account/notifications',
      { channels: 'none', frequency: 'immediate', userId: citizenUser.id },
      '/account/notifications',
    );
    assert.equal(chose.statusCode, 302);
    assert.equal(
      (await db.selectFrom('users').select('email').where('id', '=', citizenUser.id).executeTakeFirstOrThrow()).email,
      RESIDENT_EMAIL,
    );
    assert.deepEqual(
      await db.selectFrom('notification_preferences').selectAll().where('user_id', '=', citizenUser.id).executeTakeFirstOrThrow(),
      citizenChoices,
    );
    assert.equal(
      (await db.selectFrom('users').select('email').where('username', '=', 'practitioner').executeTakeFirstOrThrow()).email,
      'attacker@example.org',
    );

    const citizen = await signIn(server.app, 'citizen');
    for (const url of ['/account', '/account/notifications']) {
      const forged = await server.app.inject({
        method: 'POST',
        url,
        headers: { cookie: citizen, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'email=attacker%40example.org&channels=none&frequency=immediate',
      });
      assert.equal(forged.statusCode, 403, `${url} refuses a form without its token`);
      const signedOut = await server.app.inject({ method: 'GET', url });
      assert.equal(signedOut.statusCode, 302);
      assert.match(String(signedOut.headers.location), /^\/sign-in/);
    }
    assert.equal(
      (await db.selectFrom('users').select('email').where('id', '=', citizenUser.id).executeTakeFirstOrThrow()).email,
      RESIDENT_EMAIL,
    );
  });
  test('changing the email address (where reset links go) needs the current password, and the old address is told', async () => {
    const db = server.database.db;
    const citizen = await signIn(server.app, 'citizen');
    const before = (await db.selectFrom('users').select('email').where('username', '=', 'citizen').executeTakeFirstOrThrow()).email;
    assert.ok(before, 'the resident has an email address from the earlier test');
    const mailsBefore = smtp.mails.length;
    const none = await post(citizen, '/account', { email: 'someone.else@example.net', mobile: '' });
    assert.equal(none.statusCode, 400);
    assert.match(none.body, /href="#currentPassword">Enter your current password to change your email address/);
    assert.match(none.body, /value="someone.else@example.net"/, 'what was typed is kept');
    const wrong = await post(citizen, '/account', { email: 'someone.else@example.net', mobile: '', currentPassword: 'not my password' });
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.body, /Your current password is not right/);
    assert.equal(
      (await db.selectFrom('users').select('email').where('username', '=', 'citizen').executeTakeFirstOrThrow()).email,
      before,
      'nothing changed',
    );
    const mobileOnly = await post(citizen, '/account', { email: before!, mobile: '07700 900 123' });
    assert.equal(mobileOnly.statusCode, 302, 'the mobile number alone changes without the password');
    const right = await post(citizen, '/account', { email: 'resident.new@example.net', mobile: '', currentPassword: DEMO_PASSWORD });
    assert.equal(right.statusCode, 302);
    await testDispatcher().runOnce();
    const notice = smtp.mails.slice(mailsBefore).find((mail) => mail.to.includes(before!));
    assert.ok(notice, 'the old address is told of the change');
    assert.match(notice.subject, /email address of your Joinery account was changed/);
    // Put it back for the tests after this one.
    assert.equal(
      (await post(citizen, '/account', { email: before!, mobile: '07700 900 982', currentPassword: DEMO_PASSWORD })).statusCode,
      302,
    );
  });
});
