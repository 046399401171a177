// A resident makes their own account from an emailed link (issue 20: after referring themselves,
// a resident signs up). The module that knows who the person is calls inviteResidentToSignUp; the
// resident reads the link from the email (a real SMTP server), chooses a username and password
// and is signed in to an account tied to that person, and no one else. An attacker's view: the
// link works once, only while newest and unexpired, never makes a second account for a person,
// never without the form's CSRF token, and the new account reads no one else's record.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from './support/server.ts';
import { linkIn, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { inviteResidentToSignUp } from '../src/auth/index.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { authPorts } from '../src/app.ts';

const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
const PASSWORD = 'my own new passphrase';

for (const target of await testDatabaseTargets()) {
  describe(`resident sign-up on ${target.kind}`, () => {
    let server: TestServer;
    let mailbox: TestSmtpServer;
    let people: Array<{ id: string; given_name: string; family_name: string }>;
    const db = () => server.database.db;

    before(async () => {
      mailbox = await startSmtpServer();
      server = await startTestServer({ people: 600, database: await target.open(), env: { SMTP_URL: mailbox.url } });
      people = (
        await sql<{ id: string; given_name: string; family_name: string }>`
        select p.id, p.given_name, p.family_name from persons p
        where p.merged_into is null and not exists (select 1 from users u where u.person_id = p.id)
        order by p.id limit 10`.execute(db())
      ).rows;
    });
    after(async () => {
      await server?.close();
      await mailbox?.close();
    });

    async function invite(personId: string, email: string) {
      return db()
        .transaction()
        .execute((trx) => inviteResidentToSignUp(trx, authPorts, { personId, email, invitedBy: null }, server.url));
    }
    async function linkFor(personId: string, email: string, nth = 1): Promise<string> {
      assert.equal((await invite(personId, email)).outcome, 'invited');
      const emails = await mailbox.waitFor(email, nth);
      return new URL(linkIn(emails[nth - 1]!, '/account/create/')).pathname;
    }
    async function post(path: string, form: Record<string, string>, csrf = true) {
      const page = await server.app.inject({ method: 'GET', url: '/sign-in' });
      const cookie = page.cookies.find((c) => c.name === 'joinery_csrf')!;
      const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      return server.app.inject({
        method: 'POST',
        url: path,
        headers: { cookie: `joinery_csrf=${cookie.value}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...form, ...(csrf ? { _csrf: token } : {}) }).toString(),
      });
    }
    const accountsOf = async (personId: string) =>
      db().selectFrom('users').select(['id', 'username', 'role', 'email', 'display_name']).where('person_id', '=', personId).execute();

    test('the resident follows the emailed link, fixes what the form says, and is signed in to their own account', async () => {
      const person = people[0]!;
      const path = await linkFor(person.id, 'new.resident@example.org');
      const [email] = mailbox.to('new.resident@example.org');
      assert.equal(email!.subject, 'Make your Joinery account');
      assert.match(email!.text, /works once, for 72 hours/);
      assert.ok(!email!.text.includes(person.family_name), 'the email names nobody');

      const form = await server.app.inject({ method: 'GET', url: path });
      assert.equal(form.statusCode, 200);
      assert.equal(form.headers['cache-control'], 'no-store');
      assert.ok(!form.body.includes(person.family_name), 'the page shows nothing of the record to whoever holds the link');

      const bad = await post(path, { username: 'citizen', email: 'not an address', password: 'short', confirm: 'short' });
      assert.equal(bad.statusCode, 400);
      const summary = textOf(/<div class="govuk-error-summary"[\s\S]*?<\/ul>/.exec(bad.body)?.[0] ?? '');
      assert.match(summary, /That username is taken: choose another/);
      assert.match(summary, /Enter an email address in the correct format/);
      assert.match(summary, /Your password must be at least 12 characters/);
      assert.match(bad.body, /<input[^>]*id="username"[^>]*value="citizen"/, 'the username typed is kept');
      assert.match(bad.body, /<input[^>]*id="email"[^>]*value="not an address"/, 'the email address typed is kept');
      assert.ok(!bad.body.includes('value="short"'), 'a password is never sent back');
      assert.equal((await accountsOf(person.id)).length, 0);

      const made = await post(path, { username: 'New.Resident', email: 'new.resident@example.org', password: PASSWORD, confirm: PASSWORD });
      assert.equal(made.statusCode, 302);
      assert.equal(made.headers.location, '/home');
      const session = made.cookies.find((c) => c.name === 'joinery_session');
      assert.ok(session, 'they are signed in');
      const [account] = await accountsOf(person.id);
      assert.deepEqual(
        { username: account!.username, role: account!.role, email: account!.email, name: account!.display_name },
        {
          username: 'new.resident',
          role: 'citizen',
          email: 'new.resident@example.org',
          name: `${person.given_name} ${person.family_name}`,
        },
      );
      const cookie = `joinery_session=${session.value}`;
      assert.equal((await server.app.inject({ method: 'GET', url: '/home', headers: { cookie } })).statusCode, 200);
      const own = await server.app.inject({ method: 'GET', url: `/people/${person.id}`, headers: { cookie } });
      assert.equal(own.statusCode, 200, 'they see their own record');
      const other = await server.app.inject({ method: 'GET', url: `/people/${people[1]!.id}`, headers: { cookie } });
      assert.ok(other.statusCode === 403 || other.statusCode === 404, `someone else's record is refused (${other.statusCode})`);
      assert.ok(!other.body.includes(people[1]!.family_name));
      const audit = await db()
        .selectFrom('audit_events')
        .select(['reason', 'person_id'])
        .where('action', '=', 'create_account')
        .where('actor_user_id', '=', account!.id)
        .execute();
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.person_id, person.id);

      const again = await server.app.inject({ method: 'GET', url: path });
      assert.equal(again.statusCode, 410, 'the link is spent');
      assert.match(textOf(again.body), /This link has expired/);
      assert.equal((await post(path, { username: 'second.try', email: '', password: PASSWORD, confirm: PASSWORD })).statusCode, 410);
      assert.equal(
        (await invite(person.id, 'new.resident@example.org')).outcome,
        'has_account',
        'a person with an account is not invited again',
      );
      assert.equal(mailbox.to('new.resident@example.org').length, 1);
    });

    test('an older link, an expired one, and one whose person has an account by now are refused; so is a form without its CSRF token', async () => {
      const [a, b, c] = [people[2]!, people[3]!, people[4]!];
      const older = await linkFor(a.id, 'a@example.org', 1);
      const newer = await linkFor(a.id, 'a@example.org', 2);
      assert.equal((await server.app.inject({ method: 'GET', url: older })).statusCode, 410, 'a newer link replaced it');
      assert.equal((await post(older, { username: 'person.a', email: '', password: PASSWORD, confirm: PASSWORD })).statusCode, 410);
      const forged = await post(newer, { username: 'person.a', email: '', password: PASSWORD, confirm: PASSWORD }, false);
      assert.equal(forged.statusCode, 403);
      assert.equal((await accountsOf(a.id)).length, 0, 'no account without the CSRF token');
      assert.equal((await post(newer, { username: 'person.a', email: '', password: PASSWORD, confirm: PASSWORD })).statusCode, 302);

      const expiring = await linkFor(b.id, 'b@example.org');
      await sql`update password_links set expires_at = now() - interval '1 minute' where person_id = ${b.id}`.execute(db());
      assert.equal((await server.app.inject({ method: 'GET', url: expiring })).statusCode, 410);
      assert.equal((await post(expiring, { username: 'person.b', email: '', password: PASSWORD, confirm: PASSWORD })).statusCode, 410);
      assert.equal((await accountsOf(b.id)).length, 0);

      const overtaken = await linkFor(c.id, 'c@example.org');
      await createAccount(db(), { username: 'made.elsewhere', displayName: 'C', role: 'citizen', password: PASSWORD, personId: c.id });
      assert.equal((await server.app.inject({ method: 'GET', url: overtaken })).statusCode, 410);
      assert.equal((await post(overtaken, { username: 'person.c', email: '', password: PASSWORD, confirm: PASSWORD })).statusCode, 410);
      assert.equal((await accountsOf(c.id)).length, 1, 'a person never gets a second account');
    });

    test('one link used twice at once makes one account', async () => {
      const person = people[5]!;
      const path = await linkFor(person.id, 'twice@example.org');
      const results = await Promise.all([
        post(path, { username: 'twice.one', email: '', password: PASSWORD, confirm: PASSWORD }),
        post(path, { username: 'twice.two', email: '', password: PASSWORD, confirm: PASSWORD }),
      ]);
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [302, 410]);
      assert.equal((await accountsOf(person.id)).length, 1);
    });

    test('a Welsh speaker makes their account in Welsh', async () => {
      const path = await linkFor(people[7]!.id, 'cymraeg@example.org');
      const cookie = 'joinery_lang=cy';
      const form = await server.app.inject({ method: 'GET', url: path, headers: { cookie } });
      assert.equal(form.statusCode, 200);
      assert.match(form.body, /<html lang="cy"/);
      assert.match(textOf(form.body), /Creu eich cyfrif Joinery/);
      const page = await server.app.inject({ method: 'GET', url: '/sign-in', headers: { cookie } });
      const csrf = page.cookies.find((c) => c.name === 'joinery_csrf')!;
      const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const bad = await server.app.inject({
        method: 'POST',
        url: path,
        headers: { cookie: `${cookie}; joinery_csrf=${csrf.value}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ username: '', email: '', password: PASSWORD, confirm: PASSWORD, _csrf: token }).toString(),
      });
      assert.equal(bad.statusCode, 400);
      assert.match(textOf(bad.body), /Rhowch enw defnyddiwr/);
    });

    test('an invitation needs a real email address', async () => {
      await assert.rejects(invite(people[6]!.id, 'not an address'), /Enter an email address in the correct format/);
    });
  });
}
