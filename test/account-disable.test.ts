// Ending an account. A practitioner who leaves the network (their Practitioner record made
// inactive) or whose account an administrator disables can no longer sign in, and what they
// already held stops working on their next request: the session cookie signs them out, the bearer
// token is refused, and they can neither read a record nor change a network. Administrators
// disable and enable accounts on a page of their own (never their own account); every change is
// on the audit trail, without personal data.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { sql } from 'kysely';
import type { Practitioner } from '@medplum/fhirtypes';
import { csrfTokenFor, DEMO_PASSWORD, signIn, startTestServer, type TestServer } from './support/server.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { openPglite } from '../src/platform/db.ts';
import { migrateToLatest } from '../src/schema.ts';
import { createAccount, signInWithPassword } from '../src/auth/accounts.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';

const DISABLED_MESSAGE = /This account is disabled\. Contact your administrator\./;

for (const target of await testDatabaseTargets()) {
  describe(`ending accounts on ${target.kind}`, () => {
    let server: TestServer;
    let adminCookie: string;
    let adminToken: string;
    let adminId: string;
    let citizenId: string;
    let citizenName: string;
    let practitioner: { id: string; practitionerId: string; displayName: string };

    before(async () => {
      server = await startTestServer({ people: 600, database: await target.open() });
      const db = server.database.db;
      const citizen = await db
        .selectFrom('users')
        .innerJoin('persons', 'persons.id', 'users.person_id')
        .select(['persons.id', 'persons.family_name'])
        .where('users.username', '=', 'citizen')
        .executeTakeFirstOrThrow();
      citizenId = citizen.id;
      citizenName = citizen.family_name;
      const row = await db
        .selectFrom('users')
        .select(['id', 'practitioner_id', 'display_name'])
        .where('username', '=', 'practitioner')
        .executeTakeFirstOrThrow();
      practitioner = { id: row.id, practitionerId: row.practitioner_id!, displayName: row.display_name };
      adminId = (await db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow()).id;
      adminCookie = await signIn(server.app, 'admin');
      adminToken = (await createApiTokenForUsername(db, 'admin', 'account test')).token;
    });
    after(async () => server?.close());

    /** A sign-in through the real form that may fail: the response, not a cookie. */
    async function trySignIn(username: string) {
      const page = await server.app.inject({ method: 'GET', url: '/sign-in' });
      const csrf = page.cookies.find((c) => c.name === 'joinery_csrf')!;
      const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      return server.app.inject({
        method: 'POST',
        url: '/sign-in',
        headers: { cookie: `joinery_csrf=${csrf.value}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ username, password: DEMO_PASSWORD, _csrf: token }).toString(),
      });
    }
    const get = (url: string, cookie: string) => server.app.inject({ method: 'GET', url, headers: { cookie } });
    const post = (url: string, cookie: string, form: Record<string, string>) =>
      server.app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(form).toString(),
      });
    const fhir = (method: string, url: string, token: string, body?: unknown) =>
      server.app.inject({
        method: method as 'GET' | 'PUT',
        url: `/fhir/${url}`,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        ...(body ? { payload: JSON.stringify(body) } : {}),
      });
    async function setPractitionerActive(active: boolean): Promise<void> {
      const current = (await fhir('GET', `Practitioner/${practitioner.practitionerId}`, adminToken)).json() as Practitioner;
      const response = await fhir('PUT', `Practitioner/${practitioner.practitionerId}`, adminToken, { ...current, active });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal((response.json() as Practitioner).active, active);
    }
    /** Someone not yet in the citizen's network, to add to it. */
    async function outsider(): Promise<string> {
      const row = await sql<{ id: string }>`
        select id from practitioners p where not exists (
          select 1 from care_relationships r where r.person_id = ${citizenId} and r.practitioner_id = p.id and r.ended_at is null)
        order by id limit 1`.execute(server.database.db);
      return row.rows[0]!.id;
    }
    const networkAddsBy = async (userId: string) =>
      Number(
        (
          await server.database.db
            .selectFrom('care_relationships')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('person_id', '=', citizenId)
            .where('recorded_by', '=', userId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const addToNetwork = async (cookie: string, csrf: string) =>
      post(`/people/${citizenId}/network`, cookie, {
        practitioner: await outsider(),
        role: 'housing support',
        reason: 'Needs help with rent arrears',
        _csrf: csrf,
      });

    /** What someone who can work sees before their account ends: the record, a network change, the API. */
    async function assertWorking(cookie: string, token: string, csrf: string): Promise<void> {
      const page = await get(`/people/${citizenId}`, cookie);
      assert.equal(page.statusCode, 200, "the practitioner reads the citizen's record");
      assert.match(page.body, new RegExp(citizenName));
      const before = await networkAddsBy(practitioner.id);
      assert.equal((await addToNetwork(cookie, csrf)).statusCode, 302);
      assert.equal(await networkAddsBy(practitioner.id), before + 1, "the practitioner changes the citizen's network");
      assert.equal((await fhir('GET', `Patient/${citizenId}`, token)).statusCode, 200, 'their bearer token reads through the FHIR API');
    }

    /** After the account ends: signed out on the next request, nothing read or changed, token refused, no new sign-in. */
    async function assertEnded(cookie: string, token: string, csrf: string): Promise<void> {
      const page = await get(`/people/${citizenId}`, cookie);
      assert.equal(page.statusCode, 302, 'the old session no longer reads the record');
      assert.match(String(page.headers.location), /^\/sign-in/);
      assert.doesNotMatch(page.body, new RegExp(citizenName));
      assert.match(String((await get('/home', cookie)).headers.location), /^\/sign-in/, 'the old session is signed out');
      const before = await networkAddsBy(practitioner.id);
      const change = await addToNetwork(cookie, csrf);
      // Refused either way: sent to sign in, or (CSRF tokens are bound to the session, which has ended) told the form expired.
      assert.ok(
        /^\/sign-in/.test(String(change.headers.location)) || change.statusCode === 403,
        `a network change is refused (${change.statusCode})`,
      );
      assert.equal(await networkAddsBy(practitioner.id), before, 'the network is not changed');
      const api = await fhir('GET', `Patient/${citizenId}`, token);
      assert.equal(api.statusCode, 401, 'the bearer token is refused');
      assert.doesNotMatch(api.body, new RegExp(citizenName));
      const again = await trySignIn('practitioner');
      assert.equal(again.statusCode, 403, 'they cannot sign in');
      assert.equal(
        again.cookies.find((c) => c.name === 'joinery_session'),
        undefined,
      );
      assert.match(again.body, DISABLED_MESSAGE);
    }

    test('a practitioner made inactive through FHIR is signed out at once, their token refused, and cannot sign in', async () => {
      const cookie = await signIn(server.app, 'practitioner');
      const token = (await createApiTokenForUsername(server.database.db, 'practitioner', 'their client')).token;
      const csrf = await csrfTokenFor(server.app, cookie, `/people/${citizenId}/network`);
      await assertWorking(cookie, token, csrf);

      await setPractitionerActive(false);
      await assertEnded(cookie, token, csrf);
      // A wrong password still says only that, so the page does not tell strangers which accounts are disabled.
      const page = await server.app.inject({ method: 'GET', url: '/sign-in' });
      const csrfCookie = page.cookies.find((c) => c.name === 'joinery_csrf')!;
      const wrong = await server.app.inject({
        method: 'POST',
        url: '/sign-in',
        headers: { cookie: `joinery_csrf=${csrfCookie.value}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          username: 'practitioner',
          password: 'not the password',
          _csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!,
        }).toString(),
      });
      assert.equal(wrong.statusCode, 401);
      assert.doesNotMatch(wrong.body, /disabled/);

      // Back in the network: a fresh sign-in works; what they held before stays ended.
      await setPractitionerActive(true);
      const fresh = await signIn(server.app, 'practitioner');
      assert.equal((await get(`/people/${citizenId}`, fresh)).statusCode, 200);
      assert.match(String((await get('/home', cookie)).headers.location), /^\/sign-in/, 'the old session stays ended');
      assert.equal((await fhir('GET', `Patient/${citizenId}`, token)).statusCode, 401, 'the old token stays revoked');
    });

    test('made inactive by another process (straight in the database), the next request is already refused', async () => {
      const cookie = await signIn(server.app, 'practitioner');
      const token = (await createApiTokenForUsername(server.database.db, 'practitioner', 'their client')).token;
      assert.equal((await get(`/people/${citizenId}`, cookie)).statusCode, 200);
      await server.database.db.updateTable('practitioners').set({ active: false }).where('id', '=', practitioner.practitionerId).execute();
      try {
        assert.match(String((await get(`/people/${citizenId}`, cookie)).headers.location), /^\/sign-in/);
        assert.equal((await fhir('GET', `Patient/${citizenId}`, token)).statusCode, 401);
      } finally {
        await server.database.db.updateTable('practitioners').set({ active: true }).where('id', '=', practitioner.practitionerId).execute();
      }
    });

    test('an administrator disables an account on the accounts page (a reason is required); enabling lets them sign in afresh', async () => {
      const cookie = await signIn(server.app, 'practitioner');
      const token = (await createApiTokenForUsername(server.database.db, 'practitioner', 'their client')).token;
      const csrf = await csrfTokenFor(server.app, cookie, `/people/${citizenId}/network`);
      await assertWorking(cookie, token, csrf);

      const list = await get('/admin/accounts', adminCookie);
      assert.equal(list.statusCode, 200);
      assert.match(list.body, /<h1[^>]*>Accounts<\/h1>/);
      assert.match(list.body, new RegExp(practitioner.displayName));
      assert.match(list.body, new RegExp(`href="/admin/accounts/${practitioner.id}/disable"`), 'each account has a way to disable it');
      assert.doesNotMatch(list.body, new RegExp(`href="/admin/accounts/${adminId}/disable"`), "but not the administrator's own");
      const form = await get(`/admin/accounts/${practitioner.id}/disable`, adminCookie);
      assert.equal(form.statusCode, 200);
      assert.match(form.body, /<label[^>]*for="reason"/, 'the reason has a label');
      const adminCsrf = await csrfTokenFor(server.app, adminCookie, `/admin/accounts/${practitioner.id}/disable`);

      // Without its CSRF token, or without a reason, nothing happens.
      const forged = await post(`/admin/accounts/${practitioner.id}/disable`, adminCookie, { reason: 'Left the council' });
      assert.equal(forged.statusCode, 403);
      const noReason = await post(`/admin/accounts/${practitioner.id}/disable`, adminCookie, { reason: '  ', _csrf: adminCsrf });
      assert.equal(noReason.statusCode, 400);
      assert.match(noReason.body, /govuk-error-summary/);
      assert.match(noReason.body, /Enter why you are disabling this account/);
      assert.match(noReason.body, /href="#reason"/, 'the error links to the field');
      assert.equal((await get(`/people/${citizenId}`, cookie)).statusCode, 200, 'the account still works');

      const done = await post(`/admin/accounts/${practitioner.id}/disable`, adminCookie, { reason: 'Left the council', _csrf: adminCsrf });
      assert.equal(done.statusCode, 302);
      assert.equal(done.headers.location, '/admin/accounts?done=disabled');
      const after = await get(String(done.headers.location), adminCookie);
      assert.match(after.body, /The account is disabled/, 'the administrator is told it is done');
      assert.match(after.body, /Disabled/);
      assert.match(after.body, /Left the council/, 'the administrators see why');
      await assertEnded(cookie, token, csrf);

      const enabled = await post(`/admin/accounts/${practitioner.id}/enable`, adminCookie, { _csrf: adminCsrf });
      assert.equal(enabled.statusCode, 302);
      const fresh = await signIn(server.app, 'practitioner');
      assert.equal((await get(`/people/${citizenId}`, fresh)).statusCode, 200, 'enabled again, a fresh sign-in works');
      assert.match(String((await get('/home', cookie)).headers.location), /^\/sign-in/, 'the old session stays ended');
      assert.equal((await fhir('GET', `Patient/${citizenId}`, token)).statusCode, 401, 'the old token stays revoked');
    });

    test('administrators cannot disable their own account; other roles cannot disable anyone', async () => {
      const adminCsrf = await csrfTokenFor(server.app, adminCookie, '/admin/accounts');
      const own = await post(`/admin/accounts/${adminId}/disable`, adminCookie, { reason: 'Testing the rule', _csrf: adminCsrf });
      assert.equal(own.statusCode, 409);
      assert.match(own.body, /You cannot disable your own account/);
      assert.equal((await get('/admin/accounts', adminCookie)).statusCode, 200, 'the administrator is still signed in');

      const housingId = (
        await server.database.db.selectFrom('users').select('id').where('username', '=', 'housing').executeTakeFirstOrThrow()
      ).id;
      for (const username of ['manager', 'gp']) {
        const cookie = await signIn(server.app, username);
        assert.equal((await get('/admin/accounts', cookie)).statusCode, 403, `${username} does not see the accounts page`);
        const csrf = await csrfTokenFor(server.app, cookie);
        const attempt = await post(`/admin/accounts/${housingId}/disable`, cookie, { reason: 'Not allowed to', _csrf: csrf });
        assert.equal(attempt.statusCode, 403, `${username} cannot disable an account`);
      }
      const housing = await trySignIn('housing');
      assert.equal(housing.statusCode, 302, 'the account they tried to disable still signs in');
    });

    test('every disable and enable is on the audit trail, naming the administrator and no personal data', async () => {
      const events = await server.database.db
        .selectFrom('audit_events')
        .select(['action', 'actor_user_id', 'actor_role', 'person_id', 'decision', 'reason'])
        .where('action', 'in', ['disable_account', 'enable_account'])
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        events.map((e) => [e.action, e.actor_user_id, e.actor_role, e.person_id, e.decision]),
        [
          ['disable_account', adminId, 'admin', null, 'success'],
          ['enable_account', adminId, 'admin', null, 'success'],
        ],
      );
      for (const e of events) {
        assert.match(e.reason, new RegExp(practitioner.id), 'the entry says which account');
        assert.doesNotMatch(e.reason, new RegExp(`${practitioner.displayName}|Left the council`), 'but not their name or the reason typed');
      }
      // Leaving the network through FHIR ended their sign-in, and that is on the trail too.
      const ended = await server.database.db
        .selectFrom('audit_events')
        .select(['actor_role', 'reason'])
        .where('action', '=', 'end_sessions')
        .execute();
      assert.ok(ended.some((e) => e.actor_role === 'admin' && e.reason.includes(`Practitioner/${practitioner.practitionerId}`)));
    });
  });
}

test('joinery account disable and enable, at the command line', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-account-'));
  const setup = await openPglite(dir);
  await migrateToLatest(setup.db);
  await createAccount(setup.db, { username: 'leaver', displayName: 'Lee Leaver', role: 'manager', password: 'a long passphrase' });
  await setup.close();
  const cli = path.resolve(import.meta.dirname, '..', 'src', 'cli.ts');
  const run = (args: string[]) =>
    spawnSync(process.execPath, [cli, ...args], {
      encoding: 'utf8',
      env: { ...process.env, LOG_LEVEL: 'silent', JOINERY_DATA_DIR: dir },
      timeout: 120_000,
    });

  const missing = run(['account', 'disable', '--user', 'leaver']);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /--reason/);
  const unknown = run(['account', 'disable', '--user', 'nobody', '--reason', 'gone']);
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, /^joinery: there is no account called nobody\n$/);
  const disabled = run(['account', 'disable', '--user', 'leaver', '--reason', 'Left in March']);
  assert.equal(disabled.status, 0, disabled.stderr);
  assert.match(disabled.stdout, /^Disabled leaver/);

  const signsIn = async () => {
    const check = await openPglite(dir);
    try {
      return (await signInWithPassword(check.db, 'leaver', 'a long passphrase', { maxAttempts: 5, lockMinutes: 15 })).outcome;
    } finally {
      await check.close();
    }
  };
  assert.equal(await signsIn(), 'disabled');
  const enabled = run(['account', 'enable', '--user', 'leaver']);
  assert.equal(enabled.status, 0, enabled.stderr);
  assert.match(enabled.stdout, /^Enabled leaver/);
  assert.equal(await signsIn(), 'signed_in');
});
