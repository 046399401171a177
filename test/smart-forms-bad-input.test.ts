// The SMART pages' forms (the approval page, POST /smart/authorize, and "Open in an app", POST
// /smart/open) given what no browser of theirs sends (issue 23): empty bodies, a field sent twice,
// 10,000-character values and broken percent escapes. An unknown app or redirect URI is answered
// on a page and never redirected to; the rest of a bad authorisation request goes back to the app
// as the OAuth error RFC 6749 asks for, with its state; what the person chose on the page is
// refused on the page with its message. Never a 500, and no code, launch or audit event is made.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { registerSmartClient } from '../src/fhir/smart/clients.ts';

const LONG = 'a'.repeat(10_000);
const BROKEN = '%FF%FE%';
const APP = 'http://127.0.0.1:9/app';
const REDIRECT = `${APP}/callback`;

for (const target of await testDatabaseTargets()) {
  describe(`SMART forms given bad input on ${target.kind}`, () => {
    let server: TestServer;
    let clientId: string;
    let practitioner: string;
    let manager: string;
    let patient: string;
    const db = () => server.database.db;

    before(async () => {
      server = await startTestServer({ people: 300, seed: 23, database: await target.open() });
      clientId = (
        await registerSmartClient(db(), {
          name: 'Test GP app',
          redirectUris: [REDIRECT],
          launchUri: `${APP}/launch`,
          scope: 'launch launch/patient offline_access patient/*.cruds user/*.rs',
        })
      ).clientId;
      practitioner = await signIn(server.app, 'practitioner');
      manager = await signIn(server.app, 'manager');
      patient = (await sql<{ person_id: string }>`select person_id from users where username = 'citizen'`.execute(db())).rows[0]!.person_id;
    });
    after(async () => {
      await server?.close();
    });

    /** Posts a raw urlencoded body (so fields can repeat and escapes can break) with a good CSRF token. */
    async function post(url: string, raw: string, cookie = practitioner) {
      const token = await csrfTokenFor(server.app, cookie, '/account');
      return server.app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `${raw}${raw ? '&' : ''}_csrf=${encodeURIComponent(token)}`,
      });
    }

    /** The approval form's hidden fields as the page fills them in, less those named in `without`, then `raw`. */
    function approval(raw: string, { scope = 'launch/patient patient/Patient.rs', without = [] as string[] } = {}) {
      const fields: Record<string, string> = {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        scope,
        state: 'state-123',
        aud: `${server.url}/fhir`,
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
      };
      for (const name of without) delete fields[name];
      const sent = new URLSearchParams(fields).toString();
      return [sent, raw].filter(Boolean).join('&');
    }

    /** Nothing was issued: no grant, no launch, no audit event of either. */
    async function assertNothingIssued(what: string) {
      const count = async (query: ReturnType<typeof sql<{ n: number }>>) => (await query.execute(db())).rows[0]!.n;
      assert.equal(await count(sql<{ n: number }>`select count(*)::int as n from smart_grants`), 0, `${what}: no grant`);
      assert.equal(await count(sql<{ n: number }>`select count(*)::int as n from smart_launches`), 0, `${what}: no launch`);
      assert.equal(
        await count(sql<{ n: number }>`select count(*)::int as n from audit_events where action in ('smart_authorise', 'smart_launch')`),
        0,
        `${what}: no audit event of one`,
      );
    }

    /** A page (never a redirect) saying the app cannot be given access. */
    function assertPage(response: { statusCode: number; body: string; headers: Record<string, unknown> }, what: string) {
      assert.equal(response.statusCode, 400, `${what}: ${response.statusCode} ${response.body.slice(0, 300)}`);
      assert.equal(response.headers.location, undefined, `${what}: never redirected`);
      assert.match(response.body, /This app cannot be given access/, what);
    }

    /** The app is told `error` at its registered redirect URI, with its state. */
    function assertToldApp(response: { statusCode: number; body: string; headers: Record<string, unknown> }, error: string, what: string) {
      assert.equal(response.statusCode, 303, `${what}: ${response.statusCode} ${response.body.slice(0, 300)}`);
      const back = new URL(String(response.headers.location));
      assert.equal(`${back.origin}${back.pathname}`, REDIRECT, `${what}: to the registered redirect URI`);
      assert.equal(back.searchParams.get('error'), error, what);
      assert.equal(back.searchParams.get('code'), null, `${what}: no code`);
    }

    /** The approval page again, 400, its error summary linking "Choose whose record…" to the radios. */
    function assertPickAgain(response: { statusCode: number; body: string; headers: Record<string, unknown> }, what: string) {
      assert.equal(response.statusCode, 400, `${what}: ${response.statusCode} ${response.body.slice(0, 300)}`);
      assert.equal(response.headers.location, undefined, `${what}: not redirected`);
      const summary = /<div class="govuk-error-summary"[\s\S]*?<\/ul>/.exec(response.body)?.[0] ?? '';
      assert.match(summary, /href="#person"[^>]*>\s*Choose whose record the app may open\s*<\/a>/, what);
    }

    test('the approval form: an unknown app or redirect URI, however it comes, is answered on a page and never redirected to', async () => {
      assertPage(await post('/smart/authorize', ''), 'empty');
      assertPage(await post('/smart/authorize', approval(`client_id=${clientId}&decision=allow`)), 'client_id twice');
      assertPage(
        await post('/smart/authorize', approval(`client_id=${LONG}&decision=allow`, { without: ['client_id'] })),
        'huge client_id',
      );
      assertPage(await post('/smart/authorize', approval(`client_id=${BROKEN}&decision=allow`, { without: ['client_id'] })), 'garbled');
      assertPage(await post('/smart/authorize', approval('decision=allow', { without: ['redirect_uri'] })), 'no redirect_uri');
      assertPage(
        await post('/smart/authorize', approval(`redirect_uri=${encodeURIComponent(REDIRECT)}&decision=allow`)),
        'redirect_uri twice',
      );
      assertPage(
        await post('/smart/authorize', approval(`redirect_uri=${REDIRECT}${LONG}&decision=allow`, { without: ['redirect_uri'] })),
        'huge redirect_uri',
      );
      assertPage(
        await post('/smart/authorize', approval(`redirect_uri=${REDIRECT}${BROKEN}&decision=allow`, { without: ['redirect_uri'] })),
        'garbled redirect_uri',
      );
      await assertNothingIssued('unknown app or redirect URI');
    });

    test('the approval form: the rest of a bad request goes back to the app as the OAuth error, with its state', async () => {
      const twice = await post('/smart/authorize', approval('state=other&decision=allow'));
      assertToldApp(twice, 'invalid_request', 'state twice');
      assert.equal(new URL(String(twice.headers.location)).searchParams.get('error_description'), 'state is given more than once');
      assertToldApp(await post('/smart/authorize', approval('scope=user/Patient.rs&decision=allow')), 'invalid_request', 'scope twice');
      assertToldApp(await post('/smart/authorize', approval('launch=a&launch=b&decision=allow')), 'invalid_request', 'launch twice');
      assertToldApp(
        await post('/smart/authorize', approval(`state=${LONG}&decision=allow`, { without: ['state'] })),
        'invalid_request',
        'huge state',
      );
      assertToldApp(
        await post('/smart/authorize', approval(`scope=${LONG}&decision=allow`, { without: ['scope'] })),
        'invalid_scope',
        'huge scope',
      );
      assertToldApp(await post('/smart/authorize', approval(`launch=${LONG}&decision=allow`)), 'invalid_request', 'huge launch');
      assertToldApp(
        await post('/smart/authorize', approval(`code_challenge=${BROKEN}&decision=allow`, { without: ['code_challenge'] })),
        'invalid_request',
        'garbled code_challenge',
      );
      assertToldApp(
        await post('/smart/authorize', approval('decision=allow', { without: ['response_type'] })),
        'unsupported_response_type',
        'no response_type',
      );
      await assertNothingIssued('bad request');
    });

    test('the approval form: whose record missing, sent twice, huge or garbled is asked again on the page; a muddled button is no', async () => {
      assertPickAgain(await post('/smart/authorize', approval('decision=allow')), 'no person');
      assertPickAgain(await post('/smart/authorize', approval(`decision=allow&person=${patient}&person=${patient}`)), 'person twice');
      assertPickAgain(await post('/smart/authorize', approval(`decision=allow&person=${LONG}`)), 'huge person');
      assertPickAgain(await post('/smart/authorize', approval(`decision=allow&person=${BROKEN}`)), 'garbled person');
      // Where no one is to be picked, a person sent twice was once dropped and the app allowed: now refused.
      assertPickAgain(
        await post('/smart/authorize', approval(`decision=allow&person=${patient}&person=${patient}`, { scope: 'user/Practitioner.rs' })),
        'person twice, no pick needed',
      );
      assertToldApp(await post('/smart/authorize', approval(`decision=allow&decision=deny&person=${patient}`)), 'access_denied', 'both');
      assertToldApp(await post('/smart/authorize', approval(`decision=${LONG}&person=${patient}`)), 'access_denied', 'huge decision');
      assertToldApp(await post('/smart/authorize', approval(`person=${LONG}`)), 'access_denied', 'no decision, huge person');
      await assertNothingIssued('bad choice');
    });

    test('"Open in an app": an app or person missing, sent twice, huge or garbled gets its message on a 400 page', async () => {
      const app = 'Choose the app to open the record in, from the person’s “Open in an app” page';
      const person = 'Choose whose record to open, from their “Open in an app” page';
      const cases: [string, string, string][] = [
        ['', app, 'empty'],
        [`person=${patient}`, app, 'no app'],
        [`client=${clientId}&client=${clientId}&person=${patient}`, app, 'app twice'],
        [`client=${LONG}&person=${patient}`, app, 'huge app'],
        [`client=${BROKEN}&person=${patient}`, app, 'garbled app'],
        [`client=${clientId}`, person, 'no person'],
        [`client=${clientId}&person=${patient}&person=${patient}`, person, 'person twice'],
        [`client=${clientId}&person=${LONG}`, person, 'huge person'],
        [`client=${clientId}&person=${BROKEN}`, person, 'garbled person'],
      ];
      for (const [raw, message, what] of cases) {
        const response = await post('/smart/open', raw);
        assert.equal(response.statusCode, 400, `${what}: ${response.statusCode} ${response.body.slice(0, 300)}`);
        assert.equal(response.headers.location, undefined, `${what}: not sent to the app`);
        assert.ok(response.body.includes(message), `${what}: ${message}`);
      }
      // Well formed, the refusals are as they were: no such app, a role that opens no apps.
      assert.equal((await post('/smart/open', `client=app_none&person=${patient}`)).statusCode, 404, 'no such app');
      assert.equal((await post('/smart/open', `client=${BROKEN}`, manager)).statusCode, 403, 'a manager, before the form');
      await assertNothingIssued('"Open in an app"');
    });

    // Last, as it issues what the tests above count on not being there.
    test('the same forms well formed still issue: a code for the person picked, a launch for the app', async () => {
      const allowed = await post('/smart/authorize', approval(`decision=allow&person=${patient}`));
      assert.equal(allowed.statusCode, 303, allowed.body.slice(0, 300));
      const back = new URL(String(allowed.headers.location));
      assert.ok(back.searchParams.get('code'), 'a code');
      assert.equal(back.searchParams.get('state'), 'state-123');
      const opened = await post('/smart/open', `client=${clientId}&person=${patient}`);
      assert.equal(opened.statusCode, 303, opened.body.slice(0, 300));
      assert.ok(new URL(String(opened.headers.location)).searchParams.get('launch'), 'a launch');
      const audited = await sql<{ action: string }>`select action from audit_events
        where action in ('smart_authorise', 'smart_launch') order by action`.execute(db());
      assert.deepEqual(
        audited.rows.map((r) => r.action),
        ['smart_authorise', 'smart_launch'],
      );
    });
  });
}
