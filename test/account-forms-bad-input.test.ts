// The account forms given what no browser of theirs sends (issue 23): empty bodies, a field sent
// twice, 10,000-character values and broken percent escapes, posted to sign-in, sign-up, "Your
// account", "Set your password", "Choose a new password" and "Forgotten your password". Each is
// answered with a 400-level page whose GOV.UK error summary links the field's message to the
// field, never a 500; a password typed is never sent back, and nothing kept is changed or lost
// (a repeated email address does not clear the account's, a link refused stays usable).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { failedSignInMessage } from '../src/auth/routes.ts';

const LONG = 'a'.repeat(10_000);
/** Typed in every password box below: it must never appear in a page. */
const SECRET = 'typed-secret-0451';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const htmlOf = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Asserts a 400-level page whose error summary links each message to its field. */
function assertRefused(response: { statusCode: number; body: string }, status: number, problems: Record<string, string>, what: string) {
  assert.equal(response.statusCode, status, `${what}: ${response.statusCode} ${response.body.slice(0, 300)}`);
  const summary = /<div class="govuk-error-summary"[\s\S]*?<\/ul>/.exec(response.body)?.[0] ?? '';
  assert.ok(summary, `${what}: an error summary`);
  for (const [field, message] of Object.entries(problems))
    assert.match(summary, new RegExp(`href="#${field}"[^>]*>\\s*${escapeRegExp(htmlOf(message))}\\s*</a>`), `${what}: ${field}`);
  assert.ok(!response.body.includes(SECRET), `${what}: the password typed is not sent back`);
}

for (const target of await testDatabaseTargets()) {
  describe(`account forms given bad input on ${target.kind}`, () => {
    let server: TestServer;
    const db = () => server.database.db;
    let addresses = 0;
    /** A client address of its own per post, so the per-address limits on sign-in and recovery do not bite. */
    const nextAddress = () => `10.23.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

    before(async () => {
      server = await startTestServer({ people: 300, seed: 23, database: await target.open() });
    });
    after(async () => {
      await server?.close();
    });

    /** Posts a raw urlencoded body (so fields can repeat and escapes can break) with a good CSRF token. */
    async function post(url: string, raw: string, session?: string) {
      let cookie: string;
      let token: string;
      if (session) {
        cookie = session;
        token = await csrfTokenFor(server.app, session, '/account');
      } else {
        const page = await server.app.inject({ method: 'GET', url: '/sign-in' });
        cookie = `joinery_csrf=${page.cookies.find((c) => c.name === 'joinery_csrf')!.value}`;
        token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      }
      return server.app.inject({
        method: 'POST',
        url,
        remoteAddress: nextAddress(),
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `${raw}${raw ? '&' : ''}_csrf=${encodeURIComponent(token)}`,
      });
    }

    /** A link of `purpose` as the emails carry it (only its hash is kept). */
    async function linkFor(purpose: 'set_password' | 'reset_password' | 'resident_sign_up', owner: { userId?: string; personId?: string }) {
      const token = randomBytes(32).toString('base64url');
      await db()
        .insertInto('password_links')
        .values({
          token_hash: createHash('sha256').update(token).digest('hex'),
          user_id: owner.userId ?? null,
          person_id: owner.personId ?? null,
          purpose,
          created_by: null,
          created_at: new Date(),
          expires_at: new Date(Date.now() + 3_600_000),
          used_at: null,
        })
        .execute();
      return token;
    }
    const userIdOf = async (username: string) =>
      (await db().selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;

    test('sign-in: an empty or repeated field asks for both; a huge or garbled one is the one failed sign-in answer', async () => {
      const both = { username: 'Enter your username and password' };
      assertRefused(await post('/sign-in', ''), 400, both, 'empty');
      assertRefused(await post('/sign-in', `username=citizen&username=admin&password=${SECRET}`), 400, both, 'username twice');
      assertRefused(await post('/sign-in', `username=citizen&password=${SECRET}&password=${SECRET}`), 400, both, 'password twice');
      const failed = { username: failedSignInMessage({ maxAttempts: 5, lockMinutes: 15 }) };
      const huge = await post('/sign-in', `username=${LONG}&password=${SECRET}${LONG}`);
      assertRefused(huge, 401, failed, '10,000 characters');
      assert.ok(!huge.body.includes('a'.repeat(201)), 'the username is shown back only as far as it was read');
      assertRefused(await post('/sign-in', `username=%FF%FE%&password=%C3%28${SECRET}`), 401, failed, 'broken escapes');
      const next = await post('/sign-in', `username=citizen&next=${encodeURIComponent('//evil.example')}`);
      assertRefused(next, 400, both, 'no password');
      assert.match(next.body, /name="next" value="\/home"/, 'where to go next stays on this site');
      assert.match(next.body, /id="username"[^>]*value="citizen"/, 'the username typed is kept');
      assert.equal(
        (await post('/sign-in', `username=citizen&password=${SECRET}`)).statusCode,
        401,
        'a wrong password is still the one answer (checked by the same code)',
      );
    });

    test('sign-up: every problem of a bad form is listed; a repeated email address is refused; the link stays usable', async () => {
      const person = (
        await sql<{ id: string }>`select p.id from persons p where p.merged_into is null
          and not exists (select 1 from users u where u.person_id = p.id) order by p.id limit 1`.execute(db())
      ).rows[0]!;
      const path = `/account/create/${await linkFor('resident_sign_up', { personId: person.id })}`;
      const format = 'A username is 3 to 64 letters, digits, dots, hyphens or underscores (or your email address), with no spaces';
      assertRefused(await post(path, ''), 400, { username: 'Enter a username', password: 'Enter a password' }, 'empty');
      assertRefused(
        await post(path, `username=one&username=two&password=${SECRET}&confirm=${SECRET}`),
        400,
        { username: 'Enter a username' },
        'username twice',
      );
      const twice = await post(
        path,
        `username=new.resident&email=a%40example.org&email=b%40example.org&password=${SECRET}&confirm=${SECRET}`,
      );
      assertRefused(twice, 400, { email: 'Enter an email address in the correct format, like name@example.com' }, 'email twice');
      assert.match(twice.body, /id="username"[^>]*value="new.resident"/, 'the username typed is kept');
      assertRefused(
        await post(path, `username=${LONG}&email=${LONG}&password=${LONG}&confirm=${LONG}`),
        400,
        {
          username: format,
          email: 'Email address must be 254 characters or fewer',
          password: 'Your password must be 200 characters or fewer',
        },
        '10,000 characters',
      );
      assertRefused(
        await post(path, `username=%FF%FE%&email=%C3%28&password=${SECRET}&confirm=%E2%82`),
        400,
        {
          username: format,
          email: 'Enter an email address in the correct format, like name@example.com',
          confirm: 'The passwords do not match: type the same password twice',
        },
        'broken escapes',
      );
      assert.equal((await db().selectFrom('users').select('id').where('person_id', '=', person.id).execute()).length, 0, 'no account made');
      assert.equal((await server.app.inject({ method: 'GET', url: path })).statusCode, 200, 'the link can still be used');
    });

    test('"Your account": a field sent twice or too long is refused and nothing kept is cleared', async () => {
      const session = await signIn(server.app, 'citizen');
      const citizen = await userIdOf('citizen');
      await db().updateTable('users').set({ email: 'kept@example.org', mobile: '+447700900123' }).where('id', '=', citizen).execute();
      const kept = () => db().selectFrom('users').select(['email', 'mobile']).where('id', '=', citizen).executeTakeFirstOrThrow();
      const format = { email: 'Enter an email address in the correct format, like name@example.com' };
      const mobile = { mobile: 'Enter a mobile phone number, like 07700 900 982 or +44 7700 900 982' };
      const twice = await post(
        '/account',
        `email=a%40example.org&email=b%40example.org&mobile=07700900123&currentPassword=${SECRET}`,
        session,
      );
      assertRefused(twice, 400, format, 'email twice');
      assert.match(twice.body, /id="mobile"[^>]*value="07700900123"/, 'the mobile number typed is kept');
      assertRefused(await post('/account', 'email=kept%40example.org&mobile=1&mobile=2', session), 400, mobile, 'mobile twice');
      assertRefused(await post('/account', `email=kept%40example.org&mobile=${LONG}`, session), 400, mobile, 'a long mobile number');
      assertRefused(
        await post('/account', `email=${LONG}&mobile=&currentPassword=${SECRET}`, session),
        400,
        { email: 'Email address must be 254 characters or fewer' },
        'a long email address',
      );
      assertRefused(await post('/account', `email=%FF%FE%&currentPassword=${SECRET}`, session), 400, format, 'broken escapes');
      assertRefused(
        await post('/account', `email=new%40example.org&mobile=07700900123&currentPassword=${SECRET}&currentPassword=${SECRET}`, session),
        400,
        { currentPassword: 'Enter your current password to change your email address' },
        'password twice',
      );
      assert.deepEqual(await kept(), { email: 'kept@example.org', mobile: '+447700900123' }, 'nothing kept changed');
    });

    for (const { name, purpose, url } of [
      { name: 'Set your password', purpose: 'set_password', url: '/set-password/' },
      { name: 'Choose a new password', purpose: 'reset_password', url: '/account/reset/' },
    ] as const) {
      test(`"${name}": a missing, repeated, huge or garbled password gets its message; the link stays usable`, async () => {
        const path = `${url}${await linkFor(purpose, { userId: await userIdOf('practitioner') })}`;
        assertRefused(await post(path, ''), 400, { password: 'Enter a password' }, 'empty');
        assertRefused(
          await post(path, `password=${SECRET}&password=${SECRET}&confirm=${SECRET}`),
          400,
          { password: 'Enter a password' },
          'twice',
        );
        assertRefused(
          await post(path, `password=${LONG}&confirm=${LONG}`),
          400,
          { password: 'Your password must be 200 characters or fewer' },
          '10,000 characters',
        );
        assertRefused(
          await post(path, `password=%FF%FE%25${SECRET}&confirm=%C3%28${SECRET}`),
          400,
          { confirm: 'The passwords do not match: type the same password twice' },
          'broken escapes',
        );
        assert.equal((await server.app.inject({ method: 'GET', url: path })).statusCode, 200, 'the link can still be used');
      });
    }

    test('"Forgotten your password": an empty, repeated, huge or garbled identifier gets its message, before anything is looked up', async () => {
      const links = async () => (await sql<{ n: number }>`select count(*)::int as n from password_links`.execute(db())).rows[0]!.n;
      const before = await links();
      const empty = { identifier: 'Enter your email address or username' };
      const format = { identifier: 'Enter an email address or username without spaces, 254 characters or fewer' };
      assertRefused(await post('/account/recover', ''), 400, empty, 'empty');
      assertRefused(await post('/account/recover', 'identifier=citizen&identifier=admin'), 400, empty, 'twice');
      const huge = await post('/account/recover', `identifier=${LONG}`);
      assertRefused(huge, 400, format, '10,000 characters');
      assert.ok(!huge.body.includes('a'.repeat(301)), 'what was typed is shown back only as far as it was read');
      assertRefused(await post('/account/recover', 'identifier=a%09b'), 400, format, 'a tab');
      // Escapes the body parser cannot decode are kept as typed: one word, so the one answer.
      const garbled = await post('/account/recover', 'identifier=%FF%FE%');
      assert.equal(garbled.statusCode, 200);
      assert.match(garbled.body, /<title>Check your email/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(await links(), before, 'no link was made');
    });
  });
}
