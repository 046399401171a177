// Issue 20, finding "cannot recover a locked account", over HTTP: "Forgotten your password or
// locked out?" sends a link to the account's own email address (read back from a real SMTP server)
// that works once, for an hour, and only if it is the newest; choosing a new password with it
// clears the lock and ends the account's sessions. An attacker's view: the answer is the same
// for an address with an account, one without and a disabled account's; a disabled account, a
// practitioner who has left and a single sign-on account get no link; a form without its CSRF
// token changes nothing; one connection and one account can only ask so often.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { DEMO_PASSWORD, signIn, startTestServer, type TestServer } from './support/server.ts';
import { linkIn, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { createAccount, disableAccount } from '../src/auth/accounts.ts';
import { authPorts } from '../src/app.ts';

const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
const ANSWER = 'If an account uses this address, we have sent a link. It works once, for 1 hour.';
const NEW_PASSWORD = 'a brand new passphrase';
// The demo citizen may also be told of a plan review falling due, depending on the day tests run.
const RESET_SUBJECT = 'Reset your Joinery password';

for (const target of await testDatabaseTargets()) {
  describe(`account recovery on ${target.kind}`, () => {
    let server: TestServer;
    let mailbox: TestSmtpServer;
    let connection = 0;
    const db = () => server.database.db;

    before(async () => {
      mailbox = await startSmtpServer();
      server = await startTestServer({
        people: 600,
        database: await target.open(),
        env: { SMTP_URL: mailbox.url, SIGN_IN_MAX_ATTEMPTS: '3' },
      });
      await db().updateTable('users').set({ email: 'Resident.One@example.org' }).where('username', '=', 'citizen').execute();
    });
    after(async () => {
      await server?.close();
      await mailbox?.close();
    });

    /** A page's form and its CSRF cookie, fetched without a session (as someone locked out is). */
    async function formOf(url: string, address: string) {
      const page = await server.app.inject({ method: 'GET', url, remoteAddress: address });
      const csrf = page.cookies.find((c) => c.name === 'joinery_csrf');
      const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
      return { page, cookie: csrf ? `joinery_csrf=${csrf.value}` : '', token: token ?? '' };
    }
    async function postForm(url: string, fields: Record<string, string>, options: { address?: string; csrf?: boolean } = {}) {
      const address = options.address ?? `198.51.100.${++connection}`;
      // A signed-out form's token from any page works for any other (it is bound to no session).
      const { cookie, token } = await formOf('/account/recover', address);
      return server.app.inject({
        method: 'POST',
        url,
        remoteAddress: address,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...fields, ...(options.csrf === false ? {} : { _csrf: token }) }).toString(),
      });
    }
    const recover = (identifier: string, address?: string) => postForm('/account/recover', { identifier }, { address });
    /** The path of the link in an email (on PUBLIC_URL, which is this server). */
    const pathOf = (url: string) => new URL(url).pathname;
    async function trySignIn(username: string, password: string) {
      const { cookie, token } = await formOf('/sign-in', '192.0.2.1');
      return server.app.inject({
        method: 'POST',
        url: '/sign-in',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ username, password, _csrf: token }).toString(),
      });
    }
    async function staffAccount(username: string, email: string, extra: Partial<Parameters<typeof createAccount>[1]> = {}) {
      const id = await createAccount(db(), {
        username,
        displayName: `Staff ${username}`,
        role: 'manager',
        password: DEMO_PASSWORD,
        ...extra,
      });
      await db().updateTable('users').set({ email }).where('id', '=', id).execute();
      return id;
    }
    const linksOf = async (userId: string) =>
      Number((await sql<{ n: number }>`select count(*)::int as n from password_links where user_id = ${userId}`.execute(db())).rows[0]!.n);
    const idOf = async (username: string) =>
      (await db().selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;
    const auditReasons = async (action: string) =>
      (await db().selectFrom('audit_events').select('reason').where('action', '=', action).orderBy('seq').execute()).map(
        (r) => r.reason ?? '',
      );

    test('the sign-in page leads to recovery, and a blank or malformed request is shown again with the GOV.UK error', async () => {
      const signInPage = await server.app.inject({ method: 'GET', url: '/sign-in' });
      assert.match(signInPage.body, /<a class="govuk-link" href="\/account\/recover">Forgotten your password or locked out\?<\/a>/);
      const form = await server.app.inject({ method: 'GET', url: '/account/recover' });
      assert.equal(form.statusCode, 200);
      assert.match(textOf(form.body), /Email address or username/);
      const blank = await recover('   ');
      assert.equal(blank.statusCode, 400);
      assert.match(blank.body, /govuk-error-summary/);
      assert.match(blank.body, /href="#identifier">Enter your email address or username</);
      assert.match(blank.body, /<title>Error: /);
      const spaced = await recover('two words');
      assert.equal(spaced.statusCode, 400);
      assert.match(spaced.body, /<input[^>]*id="identifier"[^>]*value="two words"/, 'what was typed is kept');
    });

    test('a Welsh speaker gets the recovery and reset pages in Welsh', async () => {
      const form = await server.app.inject({ method: 'GET', url: '/account/recover?lang=cy' });
      assert.match(form.body, /<html lang="cy"/);
      assert.match(textOf(form.body), /Wedi anghofio eich cyfrinair neu wedi’ch cloi allan\?/);
      const cookie = 'joinery_lang=cy';
      const page = await server.app.inject({ method: 'GET', url: '/account/recover', headers: { cookie } });
      const csrf = page.cookies.find((c) => c.name === 'joinery_csrf')!;
      const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const post = (identifier: string) =>
        server.app.inject({
          method: 'POST',
          url: '/account/recover',
          remoteAddress: '198.51.100.250',
          headers: { cookie: `${cookie}; joinery_csrf=${csrf.value}`, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ identifier, _csrf: token }).toString(),
        });
      const blank = await post('');
      assert.equal(blank.statusCode, 400);
      assert.match(textOf(blank.body), /Rhowch eich cyfeiriad e-bost neu eich enw defnyddiwr/);
      const sent = await post('nobody.in.wales@example.org');
      assert.match(
        textOf(sent.body),
        /Os oes cyfrif yn defnyddio’r cyfeiriad hwn, rydym wedi anfon dolen\. Mae’n gweithio unwaith, am 1 awr\./,
      );
      const expired = await server.app.inject({ method: 'GET', url: '/account/reset/not-a-real-token-at-all-0000', headers: { cookie } });
      assert.equal(expired.statusCode, 410);
      assert.match(textOf(expired.body), /Mae’r ddolen hon wedi dod i ben/);
    });

    test("the answer is the same, word for word, whether or not an account uses the address; only the account's own address gets a link", async () => {
      const disabledId = await staffAccount('gone.manager', 'gone@example.org');
      await disableAccount(db(), authPorts, null, disabledId, 'left the partnership');
      const strip = (html: string) => textOf(html.replace(/name="_csrf" value="[^"]+"/g, ''));
      const unknown = await recover('nobody@example.org');
      const disabled = await recover('gone@example.org');
      const known = await recover('resident.one@EXAMPLE.org');
      for (const response of [unknown, disabled, known]) {
        assert.equal(response.statusCode, 200);
        assert.ok(textOf(response.body).includes(ANSWER), 'the page says what always happens');
      }
      assert.equal(strip(unknown.body), strip(known.body), 'an unknown address gets the very same page');
      assert.equal(strip(disabled.body), strip(known.body), 'a disabled account gets the very same page');
      const [email] = await mailbox.waitFor('resident.one@example.org', 1, RESET_SUBJECT);
      assert.equal(email!.subject, 'Reset your Joinery password');
      assert.match(email!.text, /Your username is: citizen/);
      assert.match(email!.text, /works once, for 60 minutes/);
      const link = linkIn(email!, '/account/reset/');
      assert.ok(link.startsWith(server.url), 'the link is on this service');
      assert.equal(mailbox.to('nobody@example.org').length, 0);
      assert.equal(mailbox.to('gone@example.org').length, 0, 'a disabled account is sent nothing');
      assert.equal(await linksOf(disabledId), 0);
      // What the email holds is never kept: only the token's hash is.
      const token = link.split('/account/reset/')[1]!;
      const stored = await sql<{
        token_hash: string;
      }>`select token_hash from password_links where user_id = ${await idOf('citizen')}`.execute(db());
      assert.ok(stored.rows.every((r) => r.token_hash !== token && /^[0-9a-f]{64}$/.test(r.token_hash)));
      assert.ok(!server.logs.join('\n').includes(token), 'the link is not in the logs');
      assert.ok(!server.logs.join('\n').toLowerCase().includes('resident.one@example.org'), 'the address typed is not in the logs');
      assert.ok(
        (await auditReasons('request_password_reset')).some((r) => r.includes(`account ${disabledId}`) && r.includes('none sent')),
        'the refusal is audited',
      );
    });

    test('a locked-out resident resets their password with the link once: unlocked, signed out elsewhere, and the link is then spent', async () => {
      const elsewhere = await signIn(server.app, 'citizen');
      assert.equal((await server.app.inject({ method: 'GET', url: '/home', headers: { cookie: elsewhere } })).statusCode, 200);
      for (let i = 0; i < 3; i++) assert.equal((await trySignIn('citizen', 'not my password')).statusCode, 401);
      assert.equal((await trySignIn('citizen', DEMO_PASSWORD)).statusCode, 401, 'locked: even the right password is refused');

      const before = mailbox.to('resident.one@example.org').filter((mail) => mail.subject === RESET_SUBJECT).length;
      assert.equal((await recover('citizen')).statusCode, 200, 'a username works as well as an address');
      const emails = await mailbox.waitFor('resident.one@example.org', before + 1, RESET_SUBJECT);
      const path = pathOf(linkIn(emails.at(-1)!, '/account/reset/'));

      const form = await server.app.inject({ method: 'GET', url: path });
      assert.equal(form.statusCode, 200);
      assert.equal(form.headers['cache-control'], 'no-store');
      assert.match(textOf(form.body), /Choose a new password For the account citizen/);
      const mismatch = await postForm(path, { password: NEW_PASSWORD, confirm: 'something else entirely' });
      assert.equal(mismatch.statusCode, 400);
      assert.match(mismatch.body, /href="#confirm">The passwords do not match/);
      assert.ok(!mismatch.body.includes(NEW_PASSWORD), 'a password is never sent back');
      const short = await postForm(path, { password: 'short', confirm: 'short' });
      assert.equal(short.statusCode, 400);
      assert.match(short.body, /href="#password">Your password must be at least 12 characters/);

      const done = await postForm(path, { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
      assert.equal(done.statusCode, 200);
      assert.match(textOf(done.body), /Your password is saved/);
      assert.match(textOf(done.body), /Your account is unlocked/);

      const stale = await server.app.inject({ method: 'GET', url: '/home', headers: { cookie: elsewhere } });
      assert.equal(stale.statusCode, 302, 'the session elsewhere has ended');
      assert.match(String(stale.headers.location), /^\/sign-in/);
      assert.equal((await trySignIn('citizen', DEMO_PASSWORD)).statusCode, 401, 'the old password no longer works');
      assert.equal((await trySignIn('citizen', NEW_PASSWORD)).statusCode, 302, 'the new password signs in at once: the lock is cleared');

      const again = await server.app.inject({ method: 'GET', url: path });
      assert.equal(again.statusCode, 410);
      assert.match(textOf(again.body), /This link has expired .* works once, for 1 hour/);
      assert.match(again.body, /href="\/account\/recover">Ask for a new link/);
      const reuse = await postForm(path, { password: 'yet another passphrase', confirm: 'yet another passphrase' });
      assert.equal(reuse.statusCode, 410);
      assert.equal((await trySignIn('citizen', NEW_PASSWORD)).statusCode, 302, 'a spent link changed nothing');
      const citizenId = await idOf('citizen');
      assert.ok(
        (await auditReasons('reset_password')).some(
          (r) =>
            r.includes(`account ${citizenId} reset its password`) && r.includes('its lock was cleared') && r.includes('1 sessions ended'),
        ),
      );
    });

    test('an expired link and a link replaced by a newer one get the "link has expired" page; the newest works', async () => {
      await staffAccount('ops.manager', 'ops@example.org');
      assert.equal((await recover('ops@example.org')).statusCode, 200);
      const [first] = await mailbox.waitFor('ops@example.org', 1);
      assert.equal((await recover('ops.manager')).statusCode, 200);
      const [, second] = await mailbox.waitFor('ops@example.org', 2);
      const older = pathOf(linkIn(first!, '/account/reset/'));
      const newer = pathOf(linkIn(second!, '/account/reset/'));
      assert.notEqual(older, newer);
      assert.equal((await server.app.inject({ method: 'GET', url: older })).statusCode, 410, 'the older link was replaced');
      assert.equal((await postForm(older, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })).statusCode, 410);
      assert.equal((await server.app.inject({ method: 'GET', url: newer })).statusCode, 200);
      // The hour passes.
      await sql`update password_links set expires_at = now() - interval '1 minute' where user_id = ${await idOf('ops.manager')} and used_at is null`.execute(
        db(),
      );
      const expired = await server.app.inject({ method: 'GET', url: newer });
      assert.equal(expired.statusCode, 410);
      assert.match(textOf(expired.body), /This link has expired/);
      assert.equal((await postForm(newer, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })).statusCode, 410);
      assert.equal((await trySignIn('ops.manager', DEMO_PASSWORD)).statusCode, 302, 'the password is unchanged');
      assert.equal((await server.app.inject({ method: 'GET', url: '/account/reset/not-a-real-token-at-all-0000' })).statusCode, 410);
    });

    test("a link sent before the account was disabled stops working, and recovery never re-opens a disabled account, a leaver's or a single sign-on one", async () => {
      const id = await staffAccount('soon.gone', 'soon@example.org');
      await recover('soon@example.org');
      const [email] = await mailbox.waitFor('soon@example.org');
      await disableAccount(db(), authPorts, null, id, 'left');
      const path = pathOf(linkIn(email!, '/account/reset/'));
      assert.equal((await server.app.inject({ method: 'GET', url: path })).statusCode, 410);
      assert.equal((await postForm(path, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })).statusCode, 410);
      const stillDisabled = await trySignIn('soon.gone', DEMO_PASSWORD);
      assert.equal(stillDisabled.statusCode, 403, 'still disabled');

      // A practitioner who has left, and an account that signs in only through its organisation.
      const leaver = await db()
        .selectFrom('practitioners')
        .select(['id', 'organisation_id'])
        .where('active', '=', true)
        .orderBy('id')
        .executeTakeFirstOrThrow();
      const leaverId = await staffAccount('left.practitioner', 'left@example.org', {
        role: 'practitioner',
        practitionerId: leaver.id,
        organisationId: leaver.organisation_id,
      });
      await db().updateTable('practitioners').set({ active: false }).where('id', '=', leaver.id).execute();
      const ssoId = await staffAccount('sso.only', 'sso@example.org', { password: undefined, oidcSubject: 'sso-subject-1' });
      assert.equal((await recover('left@example.org')).statusCode, 200);
      assert.equal((await recover('sso@example.org')).statusCode, 200);
      // Wait on something that is sent, asked for after them.
      await staffAccount('marker.one', 'marker1@example.org');
      await recover('marker1@example.org');
      await mailbox.waitFor('marker1@example.org');
      assert.equal(mailbox.to('soon@example.org').length, 1, 'no second link for the disabled account');
      assert.equal(mailbox.to('left@example.org').length, 0);
      assert.equal(mailbox.to('sso@example.org').length, 0);
      assert.equal(await linksOf(leaverId), 0);
      assert.equal(await linksOf(ssoId), 0);
    });

    test('practitioners recover their accounts the same way', async () => {
      const practitioner = await db().selectFrom('users').select('id').where('username', '=', 'practitioner').executeTakeFirstOrThrow();
      await db().updateTable('users').set({ email: 'worker@council.example' }).where('id', '=', practitioner.id).execute();
      await recover('worker@council.example');
      const [email] = await mailbox.waitFor('worker@council.example');
      const path = pathOf(linkIn(email!, '/account/reset/'));
      assert.equal((await postForm(path, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })).statusCode, 200);
      assert.equal((await trySignIn('practitioner', NEW_PASSWORD)).statusCode, 302);
    });

    test('forms without their CSRF token change nothing', async () => {
      const id = await staffAccount('csrf.manager', 'csrf@example.org');
      const noToken = await postForm('/account/recover', { identifier: 'csrf@example.org' }, { csrf: false });
      assert.equal(noToken.statusCode, 403);
      assert.equal(await linksOf(id), 0, 'no link was made');
      await recover('csrf@example.org');
      const [email] = await mailbox.waitFor('csrf@example.org');
      const path = pathOf(linkIn(email!, '/account/reset/'));
      const forged = await postForm(path, { password: NEW_PASSWORD, confirm: NEW_PASSWORD }, { csrf: false });
      assert.equal(forged.statusCode, 403);
      assert.equal((await server.app.inject({ method: 'GET', url: path })).statusCode, 200, 'the link still works');
      assert.equal((await trySignIn('csrf.manager', DEMO_PASSWORD)).statusCode, 302, 'the password is unchanged');
    });

    test('one account is sent at most 3 links an hour, and one connection may ask 10 times in 15 minutes', async () => {
      const id = await staffAccount('busy.manager', 'busy@example.org');
      for (let i = 0; i < 4; i++) assert.equal((await recover('busy@example.org')).statusCode, 200, 'the answer never changes');
      await staffAccount('marker.two', 'marker2@example.org');
      await recover('marker2@example.org');
      await mailbox.waitFor('marker2@example.org');
      await mailbox.waitFor('busy@example.org', 3);
      assert.equal(await linksOf(id), 3, 'the fourth request made no link');
      assert.ok(
        (await auditReasons('request_password_reset')).some(
          (r) => r.includes(`account ${id}`) && r.includes('more than 3 times in an hour'),
        ),
      );

      const address = '203.0.113.7';
      for (let i = 0; i < 10; i++) assert.equal((await recover(`someone${i}@example.org`, address)).statusCode, 200);
      const limited = await recover('someone-else@example.org', address);
      assert.equal(limited.statusCode, 429);
      assert.match(textOf(limited.body), /You have asked for too many links from this connection\. Try again in 15 minutes\./);
      assert.equal((await recover('someone-else@example.org', '203.0.113.8')).statusCode, 200, 'another connection is not affected');
    });
  });
}
