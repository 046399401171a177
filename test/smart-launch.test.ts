// SMART App Launch, played by a test that acts as a SMART app would: discovery, an EHR launch
// from Joinery for a person (the practitioner signed in through the real sign-in), authorise with
// PKCE, approve, exchange the code, and call /fhir with the token; a standalone launch with a
// person picked and a refresh token; and the refusals: a redirect URI not registered, a wrong or
// missing PKCE verifier, a code used twice, a launch used twice or for someone the user may not
// see, a patient/ scope used for another patient, a type not granted, an expired or revoked
// token, a practitioner of another agency, a resident asking for user/ scopes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Bundle, CapabilityStatement } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { registerSmartClient } from '../src/fhir/smart/clients.ts';

const APP = 'http://127.0.0.1:9/app';
const REDIRECT = `${APP}/callback`;

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

for (const target of await testDatabaseTargets()) {
  describe(`SMART App Launch, as an app plays it, on ${target.kind}`, () => {
    let server: TestServer;
    let clientId: string;
    let confidentialId: string;
    let confidentialSecret: string;
    let practitionerCookie: string;
    let apiToken: string;
    let patient: string;
    let otherVisible: string;
    let hidden: string;
    let seenIds: string[];

    const form = (values: Record<string, string>) => new URLSearchParams(values).toString();

    async function fhir(token: string, path: string) {
      const response = await server.app.inject({
        method: 'GET',
        url: path,
        headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
      });
      return { status: response.statusCode, body: response.json() as Record<string, unknown> };
    }

    async function mintLaunchFor(person: string, token = apiToken, client = clientId) {
      return server.app.inject({
        method: 'POST',
        url: '/api/smart/launches',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: { person, client },
      });
    }

    /** The app sends the browser to authorise; the signed-in user sees the approval page. */
    async function authorizePage(cookie: string, params: Record<string, string>) {
      return server.app.inject({ method: 'GET', url: `/smart/authorize?${form(params)}`, headers: { cookie } });
    }

    function authParams(challenge: string, extra: Record<string, string> = {}): Record<string, string> {
      return {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        scope: 'launch patient/Patient.rs patient/Observation.rs',
        state: 'state-' + randomBytes(6).toString('hex'),
        aud: `${server.url}/fhir`,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      };
    }

    /** Approves on the page as the user would (its hidden fields, the CSRF token, Allow): where the browser is sent. */
    async function approve(cookie: string, page: string, extra: Record<string, string> = {}, decision = 'allow'): Promise<URL> {
      const fields: Record<string, string> = {};
      const formHtml = page.slice(page.indexOf('method="post" action="/smart/authorize"'));
      for (const m of formHtml.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
        fields[m[1]!] = m[2]!
          .replace(/&amp;/g, '&')
          .replace(/&#39;/g, "'")
          .replace(/&quot;/g, '"');
      const response = await server.app.inject({
        method: 'POST',
        url: '/smart/authorize',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ ...fields, ...extra, decision }),
      });
      assert.equal(response.statusCode, 303, `approval answers with a redirect: ${response.body.slice(0, 300)}`);
      return new URL(String(response.headers.location));
    }

    async function exchange(values: Record<string, string>, headers: Record<string, string> = {}) {
      const response = await server.app.inject({
        method: 'POST',
        url: '/smart/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: form(values),
      });
      return { status: response.statusCode, body: response.json() as Record<string, string | number>, headers: response.headers };
    }

    /** The whole EHR launch: mint, authorise, approve, exchange. */
    async function ehrLaunch(person: string, scope?: string) {
      const minted = await mintLaunchFor(person);
      assert.equal(minted.statusCode, 201, minted.body);
      const { launch } = minted.json() as { launch: string };
      const { verifier, challenge } = pkce();
      const params = authParams(challenge, { launch, ...(scope ? { scope } : {}) });
      const page = await authorizePage(practitionerCookie, params);
      assert.equal(page.statusCode, 200, page.body.slice(0, 500));
      const back = await approve(practitionerCookie, page.body);
      const code = back.searchParams.get('code')!;
      const tokens = await exchange({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
        client_id: clientId,
      });
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      return { tokens: tokens.body, code, verifier, launch };
    }

    before(async () => {
      server = await startTestServer({ people: 600, database: await target.open() });
      const db = server.database.db;
      clientId = (
        await registerSmartClient(db, {
          name: 'Test GP app',
          redirectUris: [REDIRECT],
          launchUri: `${APP}/launch`,
          scope: 'launch launch/patient offline_access online_access patient/*.cruds user/*.rs',
        })
      ).clientId;
      const confidential = await registerSmartClient(db, { name: 'Hospital server app', redirectUris: [REDIRECT], confidential: true });
      confidentialId = confidential.clientId;
      confidentialSecret = confidential.clientSecret!;
      practitionerCookie = await signIn(server.app, 'practitioner');
      apiToken = (await createApiTokenForUsername(db, 'practitioner', 'gp system')).token;
      const citizen = await sql<{ person_id: string }>`select person_id from users where username = 'citizen'`.execute(db);
      patient = citizen.rows[0]!.person_id;
      // Someone else the practitioner may see (through the API, their rights), and someone they may not.
      const seen = (await fhir(apiToken, '/fhir/Patient?_count=20')).body as unknown as Bundle;
      seenIds = (seen.entry ?? []).map((e) => e.resource!.id!);
      otherVisible = seenIds.find((id) => id !== patient)!;
      assert.ok(otherVisible, 'the practitioner sees someone besides the launch patient');
      const people = await sql<{ id: string }>`select id from persons order by id limit 200`.execute(db);
      for (const { id } of people.rows) {
        if ((await fhir(apiToken, `/fhir/Patient/${id}`)).status === 404) {
          hidden = id;
          break;
        }
      }
      assert.ok(hidden, 'someone the practitioner may not see');
    });
    after(() => server?.close());

    test('discovery: smart-configuration and the CapabilityStatement name the endpoints, PKCE S256 and the capabilities', async () => {
      const response = await server.app.inject({ method: 'GET', url: '/fhir/.well-known/smart-configuration' });
      assert.equal(response.statusCode, 200);
      const config = response.json() as Record<string, unknown>;
      assert.equal(config.authorization_endpoint, `${server.url}/smart/authorize`);
      assert.equal(config.token_endpoint, `${server.url}/smart/token`);
      assert.deepEqual(config.code_challenge_methods_supported, ['S256']);
      for (const c of [
        'launch-ehr',
        'launch-standalone',
        'client-public',
        'client-confidential-symmetric',
        'context-ehr-patient',
        'context-standalone-patient',
        'permission-v2',
      ])
        assert.ok((config.capabilities as string[]).includes(c), c);
      assert.ok((config.scopes_supported as string[]).includes('launch/patient'));
      const metadata = (await server.app.inject({ method: 'GET', url: '/fhir/metadata' })).json() as CapabilityStatement;
      const uris = metadata.rest![0]!.security!.extension!.find((e) => e.url.endsWith('oauth-uris'))!;
      assert.equal(uris.extension!.find((e) => e.url === 'authorize')!.valueUri, `${server.url}/smart/authorize`);
    });

    test('EHR launch: the token carries the patient, reads them and searches their Observations, and nobody else', async () => {
      const { tokens } = await ehrLaunch(patient);
      assert.equal(tokens.patient, patient);
      assert.equal(tokens.token_type, 'Bearer');
      assert.equal(tokens.expires_in, 3600);
      assert.equal(tokens.scope, 'launch patient/Patient.rs patient/Observation.rs');
      assert.equal(tokens.refresh_token, undefined, 'no refresh token without offline_access or online_access');
      const token = String(tokens.access_token);
      const read = await fhir(token, `/fhir/Patient/${patient}`);
      assert.equal(read.status, 200);
      assert.equal(read.body.id, patient);
      const search = (await fhir(token, `/fhir/Observation?patient=${patient}&_count=50`)).body as unknown as Bundle;
      assert.equal(search.resourceType, 'Bundle');
      assert.ok((search.entry ?? []).length > 0, 'the launch patient has Observations the user may see');
      for (const e of search.entry ?? [])
        assert.equal((e.resource as { subject?: { reference?: string } }).subject?.reference, `Patient/${patient}`);
      // Searching without naming the patient finds the launch patient's only.
      const all = (await fhir(token, '/fhir/Observation?_count=50')).body as unknown as Bundle;
      for (const e of all.entry ?? [])
        assert.equal((e.resource as { subject?: { reference?: string } }).subject?.reference, `Patient/${patient}`);
      const patients = (await fhir(token, '/fhir/Patient?_count=50')).body as unknown as Bundle;
      assert.deepEqual(
        (patients.entry ?? []).map((e) => e.resource!.id),
        [patient],
      );

      // patient/ scope used for another patient the user may see: not found, and nothing of theirs in searches.
      assert.equal((await fhir(apiToken, `/fhir/Patient/${otherVisible}`)).status, 200, 'the user may see them');
      assert.equal((await fhir(token, `/fhir/Patient/${otherVisible}`)).status, 404);
      const theirs = (await fhir(token, `/fhir/Observation?patient=${otherVisible}`)).body as unknown as Bundle;
      assert.equal((theirs.entry ?? []).length, 0);

      // A type, or an interaction, not granted.
      const carePlans = await fhir(token, `/fhir/CarePlan?patient=${patient}`);
      assert.equal(carePlans.status, 403);
      assert.match(String(JSON.stringify(carePlans.body)), /scopes/);
      const write = await server.app.inject({
        method: 'POST',
        url: '/fhir/Observation',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patient}` } },
      });
      assert.equal(write.statusCode, 403);
      const batch = await server.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        payload: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Patient/${otherVisible}` } }] },
      });
      assert.equal(batch.statusCode, 403, 'a batch cannot carry a patient/ scope past its patient');

      // The audit names the app.
      const audited = await sql<{
        reason: string;
      }>`select reason from audit_events where action = 'smart_api' order by seq desc limit 20`.execute(server.database.db);
      assert.ok(audited.rows.some((r) => r.reason.includes('Test GP app')));
    });

    test('patient/ scopes write only about the launch patient; a compartment search, $everything and history are about the launch patient only; PATCH is refused under patient/ scopes', async () => {
      const { tokens } = await ehrLaunch(patient, 'launch patient/*.cruds');
      const token = String(tokens.access_token);
      const aboutOther = await server.app.inject({
        method: 'POST',
        url: '/fhir/Observation',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        payload: {
          resourceType: 'Observation',
          status: 'final',
          code: { text: 'blood pressure' },
          subject: { reference: `Patient/${otherVisible}` },
        },
      });
      assert.equal(aboutOther.statusCode, 403);
      const update = await server.app.inject({
        method: 'PUT',
        url: `/fhir/Patient/${otherVisible}`,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        payload: { resourceType: 'Patient', id: otherVisible },
      });
      assert.equal(update.statusCode, 403);
      assert.equal(
        (await fhir(token, `/fhir/Patient/${otherVisible}/_history/1`)).status,
        404,
        'an earlier version of another patient is not found',
      );
      // A compartment search is a search about the launch patient, and only them.
      const compartment = (await fhir(token, `/fhir/Patient/${patient}/Observation?_count=5`)).body as unknown as Bundle;
      assert.ok((compartment.entry ?? []).length > 0);
      for (const e of compartment.entry ?? [])
        assert.equal((e.resource as { subject?: { reference?: string } }).subject?.reference, `Patient/${patient}`);
      assert.equal((await fhir(token, `/fhir/Patient/${otherVisible}/Observation`)).status, 403);
      // $everything and history reach the launch patient only (test/fhir-client.test.ts: a narrower scope's types only).
      const everything = (await fhir(token, `/fhir/Patient/${patient}/$everything?_count=500`)).body as unknown as Bundle;
      assert.ok((everything.entry ?? []).some((e) => e.resource?.resourceType === 'Patient' && e.resource.id === patient));
      assert.equal((await fhir(token, `/fhir/Patient/${otherVisible}/$everything`)).status, 403);
      assert.equal((await fhir(token, `/fhir/Patient/${otherVisible}/_history`)).status, 404);
      const patients = (await fhir(token, '/fhir/Patient/_history?_count=500')).body as unknown as Bundle;
      assert.deepEqual([...new Set((patients.entry ?? []).map((e) => e.resource!.id))], [patient], 'type history: the launch patient only');
      const all = (await fhir(token, '/fhir/_history?_type=Patient,Observation&_count=500')).body as unknown as Bundle;
      for (const e of all.entry ?? [])
        assert.ok(
          e.resource!.id === patient || (e.resource as { subject?: { reference?: string } }).subject?.reference === `Patient/${patient}`,
          'system history: the launch patient only',
        );
      const patch = await server.app.inject({
        method: 'PATCH',
        url: `/fhir/Patient/${patient}`,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json-patch+json' },
        payload: [{ op: 'replace', path: '/gender', value: 'other' }],
      });
      assert.equal(patch.statusCode, 403);
    });

    test('resources an _include would bring of a type outside the scopes are left out', async () => {
      const { tokens } = await ehrLaunch(patient, 'launch patient/Observation.rs');
      const token = String(tokens.access_token);
      const bundle = (await fhir(token, `/fhir/Observation?patient=${patient}&_include=Observation:patient&_count=5`))
        .body as unknown as Bundle;
      assert.ok((bundle.entry ?? []).length > 0);
      assert.deepEqual([...new Set((bundle.entry ?? []).map((e) => e.resource!.resourceType))], ['Observation']);
      assert.equal((await fhir(token, `/fhir/Patient/${patient}`)).status, 403, 'nor read directly');
    });

    test('the "Open in an app" page mints a launch for the person and sends the browser to the app', async () => {
      const page = await server.app.inject({
        method: 'GET',
        url: `/smart/open?person=${patient}`,
        headers: { cookie: practitionerCookie },
      });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Open in Test GP app/);
      const csrf = await csrfTokenFor(server.app, practitionerCookie, `/smart/open?person=${patient}`);
      const opened = await server.app.inject({
        method: 'POST',
        url: '/smart/open',
        headers: { cookie: practitionerCookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ _csrf: csrf, person: patient, client: clientId }),
      });
      assert.equal(opened.statusCode, 303);
      const location = new URL(String(opened.headers.location));
      assert.equal(`${location.origin}${location.pathname}`, `${APP}/launch`);
      assert.equal(location.searchParams.get('iss'), `${server.url}/fhir`);
      assert.ok(location.searchParams.get('launch'));
      const refused = await server.app.inject({
        method: 'GET',
        url: `/smart/open?person=${hidden}`,
        headers: { cookie: practitionerCookie },
      });
      assert.equal(refused.statusCode, 403);
    });

    test('refused: a redirect URI not registered is answered on a page, never redirected', async () => {
      const { challenge } = pkce();
      const response = await authorizePage(practitionerCookie, authParams(challenge, { redirect_uri: 'https://evil.example/callback' }));
      assert.equal(response.statusCode, 400);
      assert.equal(response.headers.location, undefined);
      const noPkce = await authorizePage(practitionerCookie, { ...authParams(challenge), code_challenge_method: 'plain' });
      assert.equal(noPkce.statusCode, 302);
      assert.equal(new URL(String(noPkce.headers.location)).searchParams.get('error'), 'invalid_request');
    });

    test('refused: a wrong or missing PKCE verifier, a wrong redirect_uri at the token endpoint, and a code used twice (whose tokens are then revoked)', async () => {
      const minted = (await mintLaunchFor(patient)).json() as { launch: string };
      const { verifier, challenge } = pkce();
      const page = await authorizePage(practitionerCookie, authParams(challenge, { launch: minted.launch }));
      const code = (await approve(practitionerCookie, page.body)).searchParams.get('code')!;
      const base = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId };
      const wrong = await exchange({ ...base, code_verifier: pkce().verifier });
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.error, 'invalid_grant');
      assert.equal((await exchange(base)).body.error, 'invalid_grant');
      assert.equal((await exchange({ ...base, code_verifier: verifier, redirect_uri: `${APP}/other` })).body.error, 'invalid_grant');
      const good = await exchange({ ...base, code_verifier: verifier });
      assert.equal(good.status, 200);
      assert.equal((await fhir(String(good.body.access_token), `/fhir/Patient/${patient}`)).status, 200);
      const again = await exchange({ ...base, code_verifier: verifier });
      assert.equal(again.body.error, 'invalid_grant');
      assert.equal(
        (await fhir(String(good.body.access_token), `/fhir/Patient/${patient}`)).status,
        401,
        'the tokens of a reused code are revoked',
      );
    });

    test('refused: a launch used twice, minted for someone the user may not see, or brought by another user', async () => {
      const { launch } = await ehrLaunch(patient);
      const { challenge } = pkce();
      const reused = await authorizePage(practitionerCookie, authParams(challenge, { launch }));
      assert.equal(reused.statusCode, 302);
      assert.equal(new URL(String(reused.headers.location)).searchParams.get('error'), 'invalid_request');
      const forHidden = await mintLaunchFor(hidden);
      assert.equal(forHidden.statusCode, 403);
      // A practitioner of another agency may not open the person, nor use this practitioner's launch.
      let outsider: string | undefined;
      let outsiderToken = '';
      let notTheirs = '';
      search: for (const username of ['housing', 'gp', 'teammember', 'nhsfunding']) {
        outsiderToken = (await createApiTokenForUsername(server.database.db, username, 'agency system')).token;
        for (const id of seenIds) {
          if ((await fhir(outsiderToken, `/fhir/Patient/${id}`)).status === 404) {
            outsider = username;
            notTheirs = id;
            break search;
          }
        }
      }
      assert.ok(outsider, 'a practitioner of another agency who may not see someone the practitioner sees');
      assert.equal((await mintLaunchFor(notTheirs, outsiderToken)).statusCode, 403);
      assert.equal((await mintLaunchFor(notTheirs)).statusCode, 201, 'while the practitioner may open them');
      const fresh = (await mintLaunchFor(patient)).json() as { launch: string };
      const housingCookie = await signIn(server.app, outsider);
      const stolen = await authorizePage(housingCookie, authParams(challenge, { launch: fresh.launch }));
      assert.equal(stolen.statusCode, 302);
      assert.equal(new URL(String(stolen.headers.location)).searchParams.get('error'), 'invalid_request');
      const unsigned = await authorizePage('', authParams(challenge, { launch: fresh.launch }));
      assert.equal(unsigned.statusCode, 302);
      assert.match(String(unsigned.headers.location), /^\/sign-in\?next=/);
    });

    test('refused: an expired token, and a revoked one', async () => {
      const first = await ehrLaunch(patient);
      const token = String(first.tokens.access_token);
      assert.equal((await fhir(token, `/fhir/Patient/${patient}`)).status, 200);
      await sql`update smart_tokens set expires_at = now() - interval '1 second' where kind = 'access'`.execute(server.database.db);
      assert.equal((await fhir(token, `/fhir/Patient/${patient}`)).status, 401);
      const second = String((await ehrLaunch(patient)).tokens.access_token);
      assert.equal((await fhir(second, `/fhir/Patient/${patient}`)).status, 200);
      const revoked = await exchange({ token: second, client_id: clientId }).then(() =>
        server.app.inject({
          method: 'POST',
          url: '/smart/revoke',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ token: second, client_id: clientId }),
        }),
      );
      assert.equal(revoked.statusCode, 200);
      assert.equal((await fhir(second, `/fhir/Patient/${patient}`)).status, 401);
    });

    test('standalone launch: the user picks a person they may see; offline_access brings a refresh token, used once', async () => {
      const { verifier, challenge } = pkce();
      const params = authParams(challenge, { scope: 'launch/patient patient/Patient.rs user/Practitioner.rs offline_access' });
      const page = await authorizePage(practitionerCookie, params);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Whose record may the app open/);
      // Someone they may not see, sent instead of a choice from the page: refused.
      const refused = await approve(practitionerCookie, page.body, { person: hidden });
      assert.equal(refused.searchParams.get('error'), 'access_denied');
      const back = await approve(practitionerCookie, page.body, { person: patient });
      assert.equal(back.searchParams.get('state'), params.state);
      const tokens = await exchange({
        grant_type: 'authorization_code',
        code: back.searchParams.get('code')!,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
        client_id: clientId,
      });
      assert.equal(tokens.status, 200);
      assert.equal(tokens.body.patient, patient);
      assert.ok(tokens.body.refresh_token);
      const token = String(tokens.body.access_token);
      assert.equal((await fhir(token, `/fhir/Patient/${patient}`)).status, 200);
      assert.equal((await fhir(token, '/fhir/Practitioner?_count=2')).status, 200, 'user/ scopes reach what the user may see');
      const refreshed = await exchange({
        grant_type: 'refresh_token',
        refresh_token: String(tokens.body.refresh_token),
        client_id: clientId,
      });
      assert.equal(refreshed.status, 200);
      assert.equal(refreshed.body.patient, patient);
      const reused = await exchange({ grant_type: 'refresh_token', refresh_token: String(tokens.body.refresh_token), client_id: clientId });
      assert.equal(reused.body.error, 'invalid_grant');
      assert.equal(
        (await fhir(String(refreshed.body.access_token), `/fhir/Patient/${patient}`)).status,
        401,
        'a refresh token used twice ends the grant',
      );
    });

    test('the user sees the apps they allowed and stops one: its tokens stop working at once', async () => {
      const { tokens } = await ehrLaunch(patient, 'launch patient/Patient.rs online_access');
      assert.ok(tokens.refresh_token, 'online_access brings a refresh token');
      const token = String(tokens.access_token);
      const page = await server.app.inject({ method: 'GET', url: '/account/apps', headers: { cookie: practitionerCookie } });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Test GP app/);
      const grantIds = [...page.body.matchAll(/action="\/account\/apps\/([^/]+)\/stop"/g)].map((m) => m[1]!);
      assert.ok(grantIds.length > 0);
      // Another user cannot stop it (nor learn it exists).
      const citizenCookie = await signIn(server.app, 'citizen');
      const csrfCitizen = await csrfTokenFor(server.app, citizenCookie, '/account/apps');
      for (const id of grantIds) {
        const refused = await server.app.inject({
          method: 'POST',
          url: `/account/apps/${id}/stop`,
          headers: { cookie: citizenCookie, 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ _csrf: csrfCitizen }),
        });
        assert.equal(refused.statusCode, 404);
      }
      assert.equal((await fhir(token, `/fhir/Patient/${patient}`)).status, 200);
      const csrf = await csrfTokenFor(server.app, practitionerCookie, '/account/apps');
      for (const id of grantIds) {
        const stopped = await server.app.inject({
          method: 'POST',
          url: `/account/apps/${id}/stop`,
          headers: { cookie: practitionerCookie, 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ _csrf: csrf }),
        });
        assert.equal(stopped.statusCode, 303);
      }
      assert.equal((await fhir(token, `/fhir/Patient/${patient}`)).status, 401);
      const refresh = await exchange({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token), client_id: clientId });
      assert.equal(refresh.body.error, 'invalid_grant');
      const after = await server.app.inject({ method: 'GET', url: '/account/apps', headers: { cookie: practitionerCookie } });
      assert.match(after.body, /No app can use Joinery as you now/);
    });

    test('a confidential app must prove its secret; a resident is granted patient/ scopes only, about themselves', async () => {
      const { verifier, challenge } = pkce();
      const citizenCookie = await signIn(server.app, 'citizen');
      const params = {
        ...authParams(challenge, { scope: 'launch/patient patient/Patient.rs user/Patient.rs' }),
        client_id: confidentialId,
      };
      const page = await authorizePage(citizenCookie, params);
      assert.equal(page.statusCode, 200);
      const back = await approve(citizenCookie, page.body, { person: patient });
      const code = back.searchParams.get('code')!;
      const base = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier };
      const noSecret = await exchange({ ...base, client_id: confidentialId });
      assert.equal(noSecret.status, 401);
      assert.equal(noSecret.body.error, 'invalid_client');
      const basic = `Basic ${Buffer.from(`${confidentialId}:${confidentialSecret}`).toString('base64')}`;
      const tokens = await exchange(base, { authorization: basic });
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      assert.equal(tokens.body.scope, 'launch/patient patient/Patient.rs', 'no user/ scopes for a resident');
      assert.equal(tokens.body.patient, patient);
      const token = String(tokens.body.access_token);
      assert.equal((await fhir(token, `/fhir/Patient/${patient}`)).status, 200);
      assert.equal((await fhir(token, `/fhir/Patient/${otherVisible}`)).status, 404);
    });
  });
}
