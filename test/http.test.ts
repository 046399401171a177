// The HTTP surface as a user and an attacker meet it: health, sign-in, CSRF, access refusals,
// security headers, errors without internals, and logs without personal data.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';

describe('Joinery over HTTP', () => {
  let server: TestServer;
  let citizenPersonId: string;
  let strangerId: string;
  let citizenName: string;
  before(async () => {
    server = await startTestServer();
    const citizen = await server.database.db
      .selectFrom('users')
      .innerJoin('persons', 'persons.id', 'users.person_id')
      .select(['persons.id', 'persons.given_name', 'persons.family_name'])
      .where('users.username', '=', 'citizen')
      .executeTakeFirstOrThrow();
    citizenPersonId = citizen.id;
    citizenName = `${citizen.given_name} ${citizen.family_name}`;
    // Someone the demo practitioner's organisation holds no record of.
    const practitionerOrg = await server.database.db
      .selectFrom('users')
      .select('organisation_id')
      .where('username', '=', 'practitioner')
      .executeTakeFirstOrThrow();
    const stranger = await sql<{ id: string }>`
      select p.id from persons p where not exists (
        select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
        where l.person_id = p.id and l.superseded_at is null and o.id = ${practitionerOrg.organisation_id}) order by p.id limit 1`.execute(
      server.database.db,
    );
    strangerId = stranger.rows[0]!.id;
  });
  after(async () => {
    await server?.close();
  });

  test('GET /health answers 200 with the database status', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/health' });
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.equal(body.status, 'ok');
    assert.equal(body.database.status, 'ok');
    assert.equal(body.database.kind, 'pglite');
  });

  test('pages need a session: signed-out visitors are sent to sign in', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/home' });
    assert.equal(response.statusCode, 302);
    assert.equal(response.headers.location, '/sign-in?next=%2Fhome');
  });

  test('security headers: CSP without unsafe-inline, no framing, no sniffing', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/sign-in' });
    const csp = String(response.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
  });

  test('a form posted without its CSRF token is refused and nothing happens', async () => {
    const response = await server.app.inject({
      method: 'POST',
      url: '/sign-in',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=admin&password=joinery-demo-2026',
    });
    assert.equal(response.statusCode, 403);
    assert.match(response.body, /This form has expired/);
    assert.equal(
      response.cookies.find((c) => c.name === 'joinery_session'),
      undefined,
    );
  });

  test('wrong password: a clear message that does not say which part was wrong', async () => {
    await assert.rejects(signIn(server.app, 'admin', 'not-the-password'), /failed with 401/);
  });

  test('session cookie is HttpOnly and SameSite; sign-out ends the session server-side', async () => {
    const cookie = await signIn(server.app, 'admin');
    const home = await server.app.inject({ method: 'GET', url: '/home', headers: { cookie } });
    assert.equal(home.statusCode, 200);
    const token = await csrfTokenFor(server.app, cookie);
    const out = await server.app.inject({
      method: 'POST',
      url: '/sign-out',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${encodeURIComponent(token)}`,
    });
    assert.equal(out.statusCode, 200);
    const after = await server.app.inject({ method: 'GET', url: '/home', headers: { cookie } });
    assert.equal(after.statusCode, 302, 'the old cookie no longer works');
  });

  test('a practitioner sees a person their organisation knows, and the look is audited for the person', async () => {
    const cookie = await signIn(server.app, 'practitioner');
    const page = await server.app.inject({ method: 'GET', url: `/people/${citizenPersonId}`, headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.ok(page.body.includes(citizenName));
    const audit = await server.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('person_id', '=', citizenPersonId)
      .where('action', '=', 'read')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(audit.decision, 'allow');
    assert.equal(audit.actor_role, 'practitioner');
    // The person sees that look on their own page, in plain words.
    const citizenCookie = await signIn(server.app, 'citizen');
    const own = await server.app.inject({ method: 'GET', url: '/home', headers: { cookie: citizenCookie } });
    const looked = own.body.slice(own.body.indexOf('Who looked at your record'));
    assert.match(looked, /\(practitioner\) at [^<]+<\/strong>, [^<]+: looked at your record to care for you directly: basic details/);
  });

  test('a practitioner with no relationship is refused, without the name, and the refusal is audited', async () => {
    const cookie = await signIn(server.app, 'practitioner');
    const stranger = await server.database.db
      .selectFrom('persons')
      .select(['given_name', 'family_name'])
      .where('id', '=', strangerId)
      .executeTakeFirstOrThrow();
    const page = await server.app.inject({ method: 'GET', url: `/people/${strangerId}`, headers: { cookie } });
    assert.equal(page.statusCode, 403);
    assert.ok(!page.body.includes(`${stranger.given_name} ${stranger.family_name}`));
    const audit = await server.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('person_id', '=', strangerId)
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(audit.decision, 'deny');
    assert.match(audit.reason, /no legitimate relationship/);
    assert.match(page.body, /Emergency access/, 'the practitioner is offered break-glass');
  });

  test('managers and admins never see a person record', async () => {
    for (const role of ['manager', 'admin']) {
      const cookie = await signIn(server.app, role);
      const page = await server.app.inject({ method: 'GET', url: `/people/${citizenPersonId}`, headers: { cookie } });
      assert.equal(page.statusCode, 403, role);
      assert.ok(!page.body.includes(citizenName), role);
    }
  });

  test('a refusal looks the same for a person who does not exist (ids cannot be probed)', async () => {
    const cookie = await signIn(server.app, 'practitioner');
    const missing = await server.app.inject({ method: 'GET', url: '/people/p-9999999', headers: { cookie } });
    const real = await server.app.inject({ method: 'GET', url: `/people/${strangerId}`, headers: { cookie } });
    assert.equal(missing.statusCode, real.statusCode);
  });

  test('odd and hostile input gets a clear 4xx, never a 500 or a stack trace', async () => {
    const cookie = await signIn(server.app, 'practitioner');
    const token = await csrfTokenFor(server.app, cookie);
    const attempts = [
      { method: 'GET' as const, url: '/people/%00%ff' },
      { method: 'GET' as const, url: `/people/${'x'.repeat(5000)}` },
      { method: 'GET' as const, url: "/people/' or 1=1 --" },
      { method: 'GET' as const, url: '/no-such-page' },
      { method: 'POST' as const, url: '/sign-in', payload: '{"username": ["a"]}', type: 'application/json' },
      {
        method: 'POST' as const,
        url: '/sign-in',
        payload: `_csrf=${token}&username[]=a&password=b`,
        type: 'application/x-www-form-urlencoded',
      },
      { method: 'POST' as const, url: '/sign-in', payload: 'x'.repeat(2_000_000), type: 'application/x-www-form-urlencoded' },
      { method: 'POST' as const, url: '/sign-out', payload: '<xml/>', type: 'application/xml' },
    ];
    for (const attempt of attempts) {
      const response = await server.app.inject({
        method: attempt.method,
        url: attempt.url,
        payload: attempt.payload,
        headers: { cookie, ...(attempt.type ? { 'content-type': attempt.type } : {}) },
      });
      assert.ok(
        response.statusCode >= 400 && response.statusCode < 500,
        `${attempt.method} ${attempt.url.slice(0, 40)} gave ${response.statusCode}`,
      );
      assert.doesNotMatch(
        response.body,
        /\.ts:\d+|node_modules|\bat [\w.<>]+ \(/,
        `${attempt.method} ${attempt.url.slice(0, 40)} leaks internals`,
      );
    }
  });

  test('a locked account holds against the right password, answering as any failed sign-in does (which says the lock rule)', async () => {
    for (let i = 0; i < 5; i++) await signIn(server.app, 'manager', 'wrong').catch(() => {});
    await assert.rejects(signIn(server.app, 'manager'), /failed with 401/);
    await server.database.db
      .updateTable('users')
      .set({ locked_until: null, failed_sign_ins: 0 })
      .where('username', '=', 'manager')
      .execute();
  });

  test('server logs carry no names, usernames or search terms', async () => {
    const names = await server.database.db.selectFrom('persons').select(['given_name', 'family_name']).limit(200).execute();
    const logText = server.logs.join('');
    assert.ok(logText.includes('"path":"/people/'), 'request lines are logged');
    assert.ok(!logText.includes(citizenName));
    assert.ok(!/"username"|joinery-demo-2026/.test(logText));
    for (const n of names) assert.ok(!logText.includes(`${n.given_name} ${n.family_name}`));
  });
});
