// Issue 21, finding 11, over HTTP: administrators list and search accounts a page at a time,
// create an account (role, organisation, team) with a one-time link for the person to set their
// own password (only a hash kept, the link shown once), give a new link, unlock a locked
// account, list and revoke API tokens, and see each feed's health; every change is audited
// without names. An attacker's view of each route: a practitioner, a form without its CSRF
// token, a disabled administrator and a bearer token are all refused, and nothing changes.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { createApiToken } from '../src/interop/tokens.ts';

const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
const titleOf = (html: string) => /<title>([^<]*)<\/title>/.exec(html)?.[1]?.trim() ?? '';

describe('administrators manage accounts, tokens and feeds (issue 21, finding 11)', () => {
  let server: TestServer;
  let admin: string;
  const db = () => server.database.db;
  before(async () => {
    server = await startTestServer({ people: 600 });
    for (let i = 1; i <= 55; i++)
      await createAccount(db(), {
        username: `staff${String(i).padStart(3, '0')}`,
        displayName: `Staff Member ${i}`,
        role: 'manager',
        password: DEMO_PASSWORD,
      });
    admin = await signIn(server.app, 'admin');
  });
  after(async () => {
    await server?.close();
  });

  const get = (cookie: string, url: string) => server.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
  async function post(cookie: string, url: string, form: Record<string, string>, csrf = true) {
    const token = csrf ? await csrfTokenFor(server.app, cookie) : undefined;
    return server.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ ...form, ...(token ? { _csrf: token } : {}) }).toString(),
    });
  }
  const idOf = async (username: string) =>
    (await db().selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;
  const auditOf = async (action: string) =>
    db().selectFrom('audit_events').select(['actor_user_id', 'reason']).where('action', '=', action).orderBy('seq').execute();

  test('every administration page is in the navigation, notifications included, and each one opens', async () => {
    const home = await server.app.inject({ method: 'GET', url: '/home', headers: { cookie: admin } });
    const navigation = home.body.slice(
      home.body.indexOf('govuk-service-navigation'),
      home.body.indexOf('</nav>', home.body.indexOf('govuk-service-navigation')),
    );
    for (const href of ['/admin/accounts', '/admin/tokens', '/admin/feeds', '/admin/notifications']) {
      assert.match(navigation, new RegExp(`href="${href}"`), `the navigation links to ${href}`);
      assert.equal((await server.app.inject({ method: 'GET', url: href, headers: { cookie: admin } })).statusCode, 200, href);
    }
  });

  test("accounts are listed a page at a time and searched by username or staff name, never a resident's name", async () => {
    const total = Number((await sql<{ n: number }>`select count(*)::int as n from users`.execute(db())).rows[0]!.n);
    const first = await get(admin, '/admin/accounts');
    assert.equal(first.statusCode, 200);
    assert.match(textOf(first.body), new RegExp(`Showing 1 to 50 of ${total} accounts`));
    assert.match(first.body, /href="\/admin\/accounts\?page=2"/);
    const second = await get(admin, '/admin/accounts?page=2');
    assert.match(textOf(second.body), new RegExp(`Showing 51 to ${total} of ${total} accounts`));
    const found = await get(admin, '/admin/accounts?q=staff%20member%2017');
    assert.match(textOf(found.body), /Showing 1 to 1 of 1 account matching/);
    assert.ok(found.body.includes('staff017'));
    assert.match(found.body, /name="q"[^>]*value="staff member 17"/, 'the search box keeps what was typed');
    const byRole = await get(admin, '/admin/accounts?role=data_quality');
    assert.match(textOf(byRole.body), /Showing 1 to 1 of 1 account matching/);
    const citizen = await db().selectFrom('users').select(['display_name']).where('username', '=', 'citizen').executeTakeFirstOrThrow();
    const byName = await get(admin, `/admin/accounts?q=${encodeURIComponent(citizen.display_name)}`);
    assert.ok(!byName.body.includes('<code>citizen</code>'), 'a resident is not found by their name');
  });

  test('creating an account: errors keep what was typed; the person gets a one-time link and sets their own password', async () => {
    const form = await get(admin, '/admin/accounts/new');
    assert.equal(form.statusCode, 200);
    const team = await db().selectFrom('teams').select(['id', 'organisation_id']).orderBy('id').executeTakeFirstOrThrow();
    const bad = await post(admin, '/admin/accounts/new', {
      givenName: 'Sam',
      familyName: '',
      username: 'Sam Jones!',
      role: 'practitioner',
      organisationId: team.organisation_id,
      teamId: '',
    });
    assert.equal(bad.statusCode, 400);
    assert.match(titleOf(bad.body), /^Error: Create an account/);
    assert.match(bad.body, /govuk-error-summary/);
    for (const message of ['Enter their last name', 'A username is 3 to 64', 'Choose the team they work in'])
      assert.ok(textOf(bad.body).includes(message), message);
    assert.match(bad.body, /name="givenName"[^>]*value="Sam"/, 'what was typed is kept');
    assert.equal(await db().selectFrom('users').select('id').where('display_name', '=', 'Sam ').executeTakeFirst(), undefined);

    const created = await post(admin, '/admin/accounts/new', {
      givenName: 'Sam',
      familyName: 'Jones',
      username: 'sam.jones',
      role: 'practitioner',
      organisationId: team.organisation_id,
      teamId: team.id,
      jobRole: 'support worker',
      email: 'sam.jones@example.org',
    });
    assert.equal(created.statusCode, 201, created.body.slice(0, 300));
    assert.equal(created.headers['cache-control'], 'no-store');
    const url = /<code id="password-link">([^<]+)<\/code>/.exec(created.body)?.[1];
    assert.ok(url, 'the link is shown');
    const token = url!.split('/set-password/')[1]!;
    const account = await db()
      .selectFrom('users')
      .leftJoin('practitioners', 'practitioners.id', 'users.practitioner_id')
      .select(['users.id', 'users.password_hash', 'users.role', 'practitioners.team_id', 'practitioners.role as job'])
      .where('username', '=', 'sam.jones')
      .executeTakeFirstOrThrow();
    assert.equal(account.password_hash, null, 'no password until they set one');
    assert.equal(account.team_id, team.id);
    assert.equal(account.job, 'support_worker');
    const links = await db().selectFrom('password_links').selectAll().where('user_id', '=', account.id).execute();
    assert.equal(links.length, 1);
    assert.notEqual(links[0]!.token_hash, token, 'only a hash of the link is kept');
    const dump = JSON.stringify(
      (await sql<Record<string, unknown>>`select token_hash, user_id, created_by from password_links`.execute(db())).rows,
    );
    assert.ok(!dump.includes(token), 'the token is nowhere in the database');
    assert.ok(!(await get(admin, '/admin/accounts?q=sam.jones')).body.includes(token), 'the link is not shown again');
    const audit = (await auditOf('create_account')).at(-1)!;
    assert.equal(audit.actor_user_id, await idOf('admin'));
    assert.ok(audit.reason.includes(account.id) && !audit.reason.includes('Sam') && !audit.reason.includes('Jones'), audit.reason);

    // The person opens the link (signed out), is refused a short password, then sets one.
    const page = await server.app.inject({ method: 'GET', url: `/set-password/${token}` });
    assert.equal(page.statusCode, 200);
    assert.ok(textOf(page.body).includes('sam.jones'));
    const csrfCookie = page.cookies.find((c) => c.name === 'joinery_csrf')!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const setPassword = (password: string, confirm = password) =>
      server.app.inject({
        method: 'POST',
        url: `/set-password/${token}`,
        headers: { cookie: `joinery_csrf=${csrfCookie.value}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ password, confirm, _csrf: csrf }).toString(),
      });
    const short = await setPassword('short');
    assert.equal(short.statusCode, 400);
    assert.match(titleOf(short.body), /^Error: /);
    assert.ok(textOf(short.body).includes('at least 12 characters'));
    const mismatch = await setPassword('correct horse battery', 'correct horse batterY');
    assert.ok(textOf(mismatch.body).includes('The passwords do not match'));
    const done = await setPassword('correct horse battery staple');
    assert.equal(done.statusCode, 200);
    assert.ok(textOf(done.body).includes('Your password is set'));
    const again = await setPassword('another long password here');
    assert.equal(again.statusCode, 410, 'a link works once');
    assert.equal((await server.app.inject({ method: 'GET', url: `/set-password/${token}` })).statusCode, 410);
    const home = await get(await signIn(server.app, 'sam.jones', 'correct horse battery staple'), '/home');
    assert.equal(home.statusCode, 200, 'they sign in with the password they chose');
    assert.ok((await auditOf('set_password')).some((e) => e.actor_user_id === account.id));
  });

  test('account forms with problems link each to its field and keep what was typed, writing nothing; a practitioner sending them is refused without the account', async () => {
    const team = await db().selectFrom('teams').select(['id', 'organisation_id']).orderBy('id').executeTakeFirstOrThrow();
    const counts = async () => [
      (await db().selectFrom('users').select('id').execute()).length,
      (await db().selectFrom('practitioners').select('id').execute()).length,
    ];
    const before = await counts();
    const email = `${'long'.repeat(64)}@example.org`;
    const bad = await post(admin, '/admin/accounts/new', {
      givenName: 'Robin',
      familyName: 'Hood',
      username: 'Robin Hood!',
      role: 'practitioner',
      organisationId: team.organisation_id,
      teamId: '',
      email,
    });
    assert.equal(bad.statusCode, 400);
    const summary = /govuk-error-summary__list">([\s\S]*?)<\/ul>/.exec(bad.body)?.[1] ?? '';
    assert.deepEqual(
      [...summary.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]),
      ['username', 'teamId', 'email'],
      'every problem, in the order of the form',
    );
    assert.ok(textOf(bad.body).includes('Email address must be 254 characters or fewer'));
    assert.match(bad.body, /name="username"[^>]*value="Robin Hood!"/, 'the username as typed');
    assert.ok(bad.body.includes(`value="${email}"`), 'the email in full');
    const taken = await post(admin, '/admin/accounts/new', {
      givenName: 'Robin',
      familyName: 'Hood',
      username: 'Practitioner',
      role: 'manager',
      organisationId: team.organisation_id,
    });
    assert.equal(taken.statusCode, 400);
    assert.ok(taken.body.includes('href="#username"') && textOf(taken.body).includes('There is already an account with that username'));
    assert.match(taken.body, /name="username"[^>]*value="Practitioner"/);
    assert.deepEqual(await counts(), before, 'no account and no practitioner made');

    const target = await db()
      .selectFrom('users')
      .select(['id', 'username', 'display_name'])
      .where('username', '=', 'housing')
      .executeTakeFirstOrThrow();
    const why = `${'Moved to another council. '.repeat(20)}The end.`;
    for (const [reason, message] of [
      ['  ', 'Enter why you are disabling this account'],
      [why, 'The reason must be 500 characters or fewer'],
    ]) {
      const refused = await post(admin, `/admin/accounts/${target.id}/disable`, { reason });
      assert.equal(refused.statusCode, 400);
      assert.ok(refused.body.includes('href="#reason"') && textOf(refused.body).includes(message), message);
    }
    assert.ok(
      (await post(admin, `/admin/accounts/${target.id}/disable`, { reason: why })).body.includes(`${why}</textarea>`),
      'the reason as typed',
    );
    const state = async () =>
      (await db().selectFrom('users').select('disabled_at').where('id', '=', target.id).executeTakeFirstOrThrow()).disabled_at;
    assert.equal(await state(), null, 'not disabled');

    const practitioner = await signIn(server.app, 'practitioner');
    const newAccount = await post(practitioner, '/admin/accounts/new', { givenName: 'Eve', username: 'Eve!', role: 'admin' });
    assert.equal(newAccount.statusCode, 403);
    const disable = await post(practitioner, `/admin/accounts/${target.id}/disable`, { reason: '' });
    assert.equal(disable.statusCode, 403);
    assert.ok(
      !disable.body.includes(target.display_name) && !disable.body.includes(`account ${target.username}`),
      'the account is not shown',
    );
    assert.deepEqual(await counts(), before);
    assert.equal(await state(), null);
  });

  test('a new link for a forgotten password replaces the old one; none for a resident', async () => {
    const gp = await idOf('gp');
    const first = await post(admin, `/admin/accounts/${gp}/password-link`, {});
    assert.equal(first.statusCode, 200);
    const second = await post(admin, `/admin/accounts/${gp}/password-link`, {});
    const [a, b] = [first, second].map((r) => /<code id="password-link">[^<]*\/set-password\/([^<]+)<\/code>/.exec(r.body)![1]!);
    assert.equal((await server.app.inject({ method: 'GET', url: `/set-password/${a}` })).statusCode, 410, 'the older link no longer works');
    assert.equal((await server.app.inject({ method: 'GET', url: `/set-password/${b}` })).statusCode, 200);
    await signIn(server.app, 'gp');
    const citizen = await idOf('citizen');
    const refused = await post(admin, `/admin/accounts/${citizen}/password-link`, {});
    assert.equal(refused.statusCode, 422);
    assert.equal((await db().selectFrom('password_links').select('user_id').where('user_id', '=', citizen).execute()).length, 0);
    assert.equal((await auditOf('issue_password_link')).filter((e) => e.reason.includes(gp)).length, 2);
  });

  test('a locked account is shown as locked and can be unlocked', async () => {
    const housing = await idOf('housing');
    await db()
      .updateTable('users')
      .set({ locked_until: new Date(Date.now() + 3_600_000), failed_sign_ins: 0 })
      .where('id', '=', housing)
      .execute();
    const list = await get(admin, '/admin/accounts?state=locked');
    assert.match(textOf(list.body), /Showing 1 to 1 of 1 account matching/);
    assert.match(list.body, new RegExp(`action="/admin/accounts/${housing}/unlock"`));
    const unlocked = await post(admin, `/admin/accounts/${housing}/unlock`, {});
    assert.equal(unlocked.statusCode, 302);
    assert.equal(unlocked.headers.location, '/admin/accounts?done=unlocked');
    assert.ok(textOf((await get(admin, '/admin/accounts?done=unlocked')).body).includes('The account is unlocked'));
    assert.equal(
      (await db().selectFrom('users').select('locked_until').where('id', '=', housing).executeTakeFirstOrThrow()).locked_until,
      null,
    );
    await signIn(server.app, 'housing');
    assert.ok((await auditOf('unlock_account')).some((e) => e.reason.includes(housing)));
  });

  test('API tokens are listed (never the token) and revoked, and a revoked token is refused', async () => {
    const gp = await idOf('gp');
    const made = await createApiToken(db(), gp, 'gp practice system');
    const page = await get(admin, '/admin/tokens');
    assert.equal(page.statusCode, 200);
    assert.ok(textOf(page.body).includes('gp practice system'));
    assert.ok(!page.body.includes(made.token) && !page.body.includes(made.token.slice(4, 20)), 'the token itself is never shown');
    assert.equal(
      (await server.app.inject({ method: 'GET', url: '/api/imports/1', headers: { authorization: `Bearer ${made.token}` } })).statusCode !==
        401,
      true,
    );
    const revoked = await post(admin, `/admin/tokens/${made.id}/revoke`, {});
    assert.equal(revoked.headers.location, '/admin/tokens?done=revoked');
    assert.equal(
      (await server.app.inject({ method: 'GET', url: '/api/imports/1', headers: { authorization: `Bearer ${made.token}` } })).statusCode,
      401,
    );
    assert.ok(textOf((await get(admin, '/admin/tokens?state=revoked')).body).includes('gp practice system'));
    const audit = (await auditOf('revoke_token')).at(-1)!;
    assert.ok(audit.reason.includes(made.id) && audit.reason.includes(gp));
  });

  test('feed health: per source, last received, records in the last day, rows set aside and failed imports, never a row', async () => {
    const org = await db()
      .selectFrom('organisations')
      .select(['name', 'source_code'])
      .where('kind', '=', 'council_housing')
      .executeTakeFirstOrThrow();
    const job = await db()
      .insertInto('import_jobs')
      .values({
        source: org.source_code,
        format: 'csv',
        mapping_name: 'm',
        file_name: 'housing.csv',
        file_hash: 'h1',
        status: 'failed',
        failure: 'the file has no column "DOB" that mapping m needs',
        errors: 2,
        owner_host: null,
        owner_pid: null,
        owner_started: null,
        lines_total: 10,
        finished_at: null,
        created_by: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db()
      .insertInto('import_quarantine')
      .values([
        { job_id: Number(job.id), line: 3, reason: 'NUL byte', row_text: 'SECRET-ROW-Alice,Smith,1980-01-01' },
        { job_id: Number(job.id), line: 7, reason: 'duplicate', row_text: 'SECRET-ROW-Bob,Jones,1970-02-02' },
      ])
      .execute();
    await sql`update source_records set received_at = now() - interval '2 hours' where id in (select id from source_records where source = ${org.source_code} order by id limit 3)`.execute(
      db(),
    );
    const page = await get(admin, '/admin/feeds');
    assert.equal(page.statusCode, 200);
    const row = textOf(page.body.slice(page.body.indexOf(`<code>${org.source_code}</code>`) - 400)).split('Joinery:')[0]!;
    assert.ok(row.includes(org.name));
    assert.ok(row.includes('Import failed'));
    assert.ok(row.includes('the file has no column "DOB"'));
    assert.match(row, /2 rows set aside/);
    assert.match(
      row,
      new RegExp(`${org.source_code} Import failed \\d+ \\w+ 2026, \\d\\d:\\d\\d 3 `),
      `last received and 3 in the last day: ${row.slice(0, 200)}`,
    );
    assert.ok(!page.body.includes('SECRET-ROW'), 'no row is ever shown');
  });

  test('attackers: a practitioner, a form without its token, a disabled administrator and a bearer token change nothing', async () => {
    const practitioner = await signIn(server.app, 'practitioner');
    const gp = await idOf('gp');
    await db()
      .updateTable('users')
      .set({ locked_until: new Date(Date.now() + 3_600_000) })
      .where('id', '=', gp)
      .execute();
    const token = await createApiToken(db(), gp, 'target token');
    const team = await db().selectFrom('teams').select(['id', 'organisation_id']).orderBy('id').executeTakeFirstOrThrow();
    const newAccount = {
      givenName: 'Eve',
      familyName: 'Attacker',
      username: 'eve',
      role: 'admin',
      organisationId: team.organisation_id,
      teamId: team.id,
    };
    const writes: Array<[string, Record<string, string>]> = [
      ['/admin/accounts/new', newAccount],
      [`/admin/accounts/${gp}/unlock`, {}],
      [`/admin/accounts/${gp}/password-link`, {}],
      [`/admin/tokens/${token.id}/revoke`, {}],
      [`/admin/accounts/${gp}/disable`, { reason: 'because' }],
    ];
    const before = { links: (await db().selectFrom('password_links').select('token_hash').execute()).length };
    for (const url of ['/admin/accounts', '/admin/accounts/new', '/admin/tokens', '/admin/feeds'])
      assert.equal((await get(practitioner, url)).statusCode, 403, `GET ${url} as a practitioner`);
    for (const [url, form] of writes) assert.equal((await post(practitioner, url, form)).statusCode, 403, `POST ${url} as a practitioner`);
    for (const [url, form] of writes)
      assert.equal((await post(admin, url, form, false)).statusCode, 403, `POST ${url} without its CSRF token`);
    for (const [url, form] of writes) {
      const r = await server.app.inject({
        method: 'POST',
        url,
        headers: {
          authorization: `Bearer ${(await createApiToken(db(), await idOf('admin'), 'bearer')).token}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload: new URLSearchParams(form).toString(),
      });
      assert.ok(r.statusCode === 302 || r.statusCode === 401 || r.statusCode === 403, `POST ${url} with a bearer token: ${r.statusCode}`);
      assert.notEqual(r.headers.location, '/admin/accounts?done=unlocked');
    }
    // A second administrator, disabled, keeps their cookie but it no longer works.
    await createAccount(db(), { username: 'admin2', displayName: 'Second Admin', role: 'admin', password: DEMO_PASSWORD });
    const admin2 = await signIn(server.app, 'admin2');
    assert.equal((await post(admin, `/admin/accounts/${await idOf('admin2')}/disable`, { reason: 'left' })).statusCode, 302);
    for (const [url, form] of writes) {
      const r = await server.app.inject({
        method: 'POST',
        url,
        headers: { cookie: admin2, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(form).toString(),
      });
      assert.ok(
        (r.statusCode === 302 && String(r.headers.location).startsWith('/sign-in')) || r.statusCode === 403,
        `POST ${url} as a disabled administrator: ${r.statusCode} ${r.headers.location}`,
      );
    }
    // Nothing changed.
    assert.equal(await db().selectFrom('users').select('id').where('username', '=', 'eve').executeTakeFirst(), undefined);
    const target = await db().selectFrom('users').select(['locked_until', 'disabled_at']).where('id', '=', gp).executeTakeFirstOrThrow();
    assert.ok(target.locked_until && target.locked_until > new Date(), 'still locked');
    assert.equal(target.disabled_at, null);
    assert.equal(
      (await db().selectFrom('api_tokens').select('revoked_at').where('id', '=', token.id).executeTakeFirstOrThrow()).revoked_at,
      null,
    );
    assert.equal((await db().selectFrom('password_links').select('token_hash').execute()).length, before.links);
  });
});
