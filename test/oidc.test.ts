// Signing in with NHS login (or an organisation's single sign-on), end to end against a local
// OpenID provider the test starts (oidc-provider, with NHS login's claims): authorisation code
// with PKCE, the state and nonce checked, the code spent once. Whose account it is follows one
// rule (README, "Signing in with NHS login or another OpenID provider"): the provider's subject;
// a staff username only when the provider vouches for it; a resident's existing account tied once,
// at proofing level P9, by NHS number and date of birth. Anything else gets a page saying what to
// do, and no account is ever made.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from './support/server.ts';
import { startLocalProvider, type LocalProvider, type NhsLoginIdentity } from './support/oidc-provider.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { createAccount, disableAccount } from '../src/auth/accounts.ts';
import { authPorts } from '../src/app.ts';
import { isValidNhsNumber } from '../src/platform/nhs-number.ts';

const PUBLIC_URL = 'http://joinery.test';
const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

for (const target of await testDatabaseTargets()) {
  describe(`signing in with an OpenID provider on ${target.kind}`, () => {
    let server: TestServer;
    let provider: LocalProvider;
    const db = () => server.database.db;
    /** People in the place with an NHS number and a date of birth, none sharing them. */
    let people: Array<{ id: string; nhs_number: string; birth_date: string }>;

    before(async () => {
      provider = await startLocalProvider(`${PUBLIC_URL}/auth/oidc/callback`);
      server = await startTestServer({
        people: 600,
        database: await target.open(),
        env: {
          PUBLIC_URL,
          OIDC_ISSUER: provider.issuer,
          OIDC_CLIENT_ID: provider.clientId,
          OIDC_CLIENT_SECRET: provider.clientSecret,
          OIDC_PROVIDER_NAME: 'NHS login',
          OIDC_VTR: '["P9.Cp.Cd","P9.Cp.Ck","P9.Cm"]',
        },
      });
      people = (
        await sql<{ id: string; nhs_number: string; birth_date: string }>`
        select p.id, p.nhs_number, p.birth_date::text as birth_date from persons p
        where p.nhs_number is not null and p.birth_date is not null and p.merged_into is null
          and not exists (select 1 from persons q where q.nhs_number = p.nhs_number and q.id <> p.id)
        order by p.id limit 40`.execute(db())
      ).rows.filter((p) => isValidNhsNumber(p.nhs_number));
      assert.ok(people.length >= 10, 'the place has people with NHS numbers');
    });
    after(async () => {
      await server?.close();
      await provider?.close();
    });

    interface Flow {
      login: { statusCode: number; location: string };
      callback: URL;
      flowCookie: string;
    }

    /** Starts a sign-in at Joinery and goes through the provider as `identity`, up to the redirect back. */
    async function throughProvider(identity: NhsLoginIdentity): Promise<Flow> {
      const login = await server.app.inject({ method: 'GET', url: '/auth/oidc/login' });
      assert.equal(login.statusCode, 302, login.body);
      const location = String(login.headers.location);
      const flowCookie = login.cookies.find((c) => c.name === 'joinery_oidc')!.value;
      provider.signInAs(identity);
      return { login: { statusCode: login.statusCode, location }, callback: await provider.authorise(location), flowCookie };
    }
    function callback(flow: Flow, options: { url?: URL; cookie?: string | null } = {}) {
      const url = options.url ?? flow.callback;
      const cookie = options.cookie === null ? undefined : `joinery_oidc=${encodeURIComponent(options.cookie ?? flow.flowCookie)}`;
      return server.app.inject({ method: 'GET', url: `${url.pathname}${url.search}`, headers: cookie ? { cookie } : {} });
    }
    async function signInWith(identity: NhsLoginIdentity) {
      const response = await callback(await throughProvider(identity));
      const session = response.cookies.find((c) => c.name === 'joinery_session');
      return { response, cookie: session ? `joinery_session=${session.value}` : undefined };
    }
    const userCount = async () => Number((await sql<{ n: number }>`select count(*)::int as n from users`.execute(db())).rows[0]!.n);
    const subjectOf = async (userId: string) =>
      (await db().selectFrom('users').select('oidc_subject').where('id', '=', userId).executeTakeFirstOrThrow()).oidc_subject;
    const auditReasons = async (action: string) =>
      await db().selectFrom('audit_events').select(['reason', 'decision']).where('action', '=', action).orderBy('seq').execute();
    async function residentAccount(username: string, person: { id: string }) {
      return createAccount(db(), {
        username,
        displayName: username,
        role: 'citizen',
        password: 'a resident passphrase',
        personId: person.id,
      });
    }
    const nhsIdentity = (sub: string, person: { nhs_number: string; birth_date: string }, level: 'P5' | 'P9' = 'P9'): NhsLoginIdentity => ({
      sub,
      nhs_number: person.nhs_number,
      birthdate: person.birth_date,
      identity_proofing_level: level,
      email: `${sub}@example.org`,
      email_verified: true,
    });

    test('the sign-in page offers NHS login, and the provider is asked for a code with PKCE, state, nonce and the vector of trust', async () => {
      const page = await server.app.inject({ method: 'GET', url: '/sign-in' });
      assert.match(page.body, /<a class="govuk-link" href="\/auth\/oidc\/login">Sign in with NHS login<\/a>/);
      const login = await server.app.inject({ method: 'GET', url: '/auth/oidc/login' });
      const asked = new URL(String(login.headers.location));
      assert.equal(asked.origin, provider.issuer);
      assert.equal(asked.searchParams.get('response_type'), 'code');
      assert.equal(asked.searchParams.get('code_challenge_method'), 'S256');
      assert.ok(asked.searchParams.get('code_challenge') && asked.searchParams.get('state') && asked.searchParams.get('nonce'));
      assert.equal(asked.searchParams.get('scope'), 'openid email profile');
      assert.equal(asked.searchParams.get('vtr'), '["P9.Cp.Cd","P9.Cp.Ck","P9.Cm"]');
      assert.equal(asked.searchParams.get('redirect_uri'), `${PUBLIC_URL}/auth/oidc/callback`);
      const cookie = login.cookies.find((c) => c.name === 'joinery_oidc')!;
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.path, '/auth/oidc');
    });

    test("a staff account with the provider's subject signs in", async () => {
      const id = await createAccount(db(), {
        username: 'sso.manager',
        displayName: 'Sam Manager',
        role: 'manager',
        oidcSubject: 'staff-subject-1',
      });
      const { response, cookie } = await signInWith({ sub: 'staff-subject-1', email: 'sam@council.example', email_verified: true });
      assert.equal(response.statusCode, 302);
      assert.equal(response.headers.location, '/home');
      assert.ok(cookie);
      const home = await server.app.inject({ method: 'GET', url: '/home', headers: { cookie } });
      assert.equal(home.statusCode, 200);
      assert.match(home.body, /Sam Manager/);
      assert.ok(
        (await auditReasons('sign_in')).some((r) => r.decision === 'success' && r.reason === 'signed in with OpenID Connect'),
        'audited',
      );
      assert.equal(await subjectOf(id), 'staff-subject-1');
    });

    test('a wrong state, a forged nonce, a lost flow cookie and a replayed code are all refused, and nobody is signed in', async () => {
      await createAccount(db(), { username: 'sso.two', displayName: 'Second Manager', role: 'manager', oidcSubject: 'staff-subject-2' });
      const who = { sub: 'staff-subject-2' };

      const forgedState = await throughProvider(who);
      const wrongState = new URL(forgedState.callback);
      wrongState.searchParams.set('state', 'a-state-an-attacker-chose');
      const refusedState = await callback(forgedState, { url: wrongState });
      assert.equal(refusedState.statusCode, 400);
      assert.match(textOf(refusedState.body), /Signing in did not complete\. Start again\./);
      assert.equal(
        refusedState.cookies.find((c) => c.name === 'joinery_session'),
        undefined,
      );
      // The flow is spent: the right state does not work after a wrong one.
      assert.equal((await callback(forgedState, { cookie: null })).statusCode, 400);

      const forgedNonce = await throughProvider(who);
      const saved = JSON.parse(forgedNonce.flowCookie) as { nonce: string };
      const refusedNonce = await callback(forgedNonce, { cookie: JSON.stringify({ ...saved, nonce: 'a-nonce-from-another-flow' }) });
      assert.equal(refusedNonce.statusCode, 400, 'an ID token for another sign-in is refused');
      assert.equal(
        refusedNonce.cookies.find((c) => c.name === 'joinery_session'),
        undefined,
      );

      const noCookie = await throughProvider(who);
      const lost = await callback(noCookie, { cookie: null });
      assert.equal(lost.statusCode, 400);
      assert.match(textOf(lost.body), /Your sign-in took too long or was started elsewhere\. Start again\./);

      const replayed = await throughProvider(who);
      assert.equal((await callback(replayed)).statusCode, 302, 'the first use signs in');
      const again = await callback(replayed);
      assert.equal(again.statusCode, 400, 'the same code and flow do not sign in twice');
      assert.equal(
        again.cookies.find((c) => c.name === 'joinery_session'),
        undefined,
      );
    });

    test('someone the provider knows but Joinery does not is refused with a page saying what to do; no account is made', async () => {
      const before = await userCount();
      const { response, cookie } = await signInWith({ sub: 'stranger-1', email: 'stranger@example.org', email_verified: true });
      assert.equal(response.statusCode, 403);
      assert.equal(cookie, undefined);
      assert.match(textOf(response.body), /Your account is not set up in Joinery .* Ask your administrator/);
      assert.match(response.body, /href="\/sign-in"/);
      assert.equal(await userCount(), before, 'no account was created');
    });

    test("an email claim names a staff account only when verified, and never a resident's", async () => {
      await createAccount(db(), { username: 'ann@council.example', displayName: 'Ann Staff', role: 'manager' });
      const unverified = await signInWith({ sub: 'ann-subject', email: 'ann@council.example', email_verified: false });
      assert.equal(unverified.response.statusCode, 403, 'an unverified address names nobody');
      const verified = await signInWith({ sub: 'ann-subject', email: 'ann@council.example', email_verified: true });
      assert.equal(verified.response.statusCode, 302);

      await residentAccount('resident@example.org', people[0]!);
      const resident = await signInWith({ sub: 'not-the-resident', email: 'resident@example.org', email_verified: true });
      assert.equal(resident.response.statusCode, 403, "a resident's account is never found by an email claim");
      assert.equal(resident.cookie, undefined);
    });

    test("at P9, a resident's NHS number and date of birth tie their existing account to NHS login once; later sign-ins use the subject", async () => {
      const citizen = await db()
        .selectFrom('users')
        .select(['id', 'person_id', 'display_name'])
        .where('username', '=', 'citizen')
        .executeTakeFirstOrThrow();
      const person = (
        await sql<{
          nhs_number: string | null;
          birth_date: string;
        }>`select nhs_number, birth_date::text as birth_date from persons where id = ${citizen.person_id}`.execute(db())
      ).rows[0]!;
      // The demo resident's record carries an NHS number (set here when the synthetic place gave none).
      const identity = { nhs_number: person.nhs_number ?? '9434765919', birth_date: person.birth_date };
      if (!person.nhs_number)
        await db().updateTable('persons').set({ nhs_number: identity.nhs_number }).where('id', '=', citizen.person_id!).execute();
      const before = await userCount();

      const first = await signInWith(nhsIdentity('nhs-login-citizen', identity));
      assert.equal(first.response.statusCode, 302, first.response.body.slice(0, 200));
      assert.equal(first.response.headers.location, '/home');
      assert.equal(await subjectOf(citizen.id), 'nhs-login-citizen');
      assert.equal(await userCount(), before, 'no account was created');
      const record = await server.app.inject({ method: 'GET', url: `/people/${citizen.person_id}`, headers: { cookie: first.cookie! } });
      assert.equal(record.statusCode, 200, 'they see their own record');
      assert.match(record.body, new RegExp(citizen.display_name));
      const linking = await auditReasons('link_oidc_subject');
      assert.ok(
        linking.some((r) => r.decision === 'success' && r.reason?.includes(`account ${citizen.id} tied`) && r.reason.includes('P9')),
      );
      assert.ok((await auditReasons('sign_in')).some((r) => r.reason === 'signed in with OpenID Connect for the first time'));

      const later = await signInWith({ sub: 'nhs-login-citizen', identity_proofing_level: 'P9' });
      assert.equal(later.response.statusCode, 302, 'the subject alone signs them in from now on');

      // Another NHS login presenting the same NHS number and date of birth cannot take the account over.
      const impostor = await signInWith(nhsIdentity('another-nhs-login', identity));
      assert.equal(impostor.response.statusCode, 403);
      assert.match(textOf(impostor.response.body), /We could not match your NHS login to one account/);
      assert.equal(await subjectOf(citizen.id), 'nhs-login-citizen');
      assert.ok((await auditReasons('link_oidc_subject')).some((r) => r.decision === 'failure' && r.reason?.includes('already tied')));
    });

    test('below P9, with a date of birth that does not match, or with no account, a resident is told what to do and nothing is tied or made', async () => {
      const [low, mismatched, unknown] = [people[1]!, people[2]!, people[3]!];
      const lowId = await residentAccount('low.proofing', low);
      const mismatchedId = await residentAccount('wrong.birthday', mismatched);
      const before = await userCount();

      const p5 = await signInWith(nhsIdentity('p5-subject', low, 'P5'));
      assert.equal(p5.response.statusCode, 403);
      assert.match(textOf(p5.response.body), /Prove who you are to use Joinery.*P9.*NHS App/);
      assert.equal(await subjectOf(lowId), null);

      const wrongBirthday = await signInWith(nhsIdentity('dob-subject', { ...mismatched, birth_date: '1901-01-01' }));
      assert.equal(wrongBirthday.response.statusCode, 403);
      assert.match(textOf(wrongBirthday.response.body), /There is no Joinery account for you yet/);
      assert.equal(await subjectOf(mismatchedId), null);

      const noAccount = await signInWith(nhsIdentity('new-resident', unknown));
      assert.equal(noAccount.response.statusCode, 403);
      assert.match(textOf(noAccount.response.body), /There is no Joinery account for you yet .* no account has been made/);
      assert.equal(noAccount.cookie, undefined);
      assert.equal(await userCount(), before, 'no account was created');
    });

    test("a disabled resident's account is not tied or signed in", async () => {
      const person = people[4]!;
      const id = await residentAccount('disabled.resident', person);
      await disableAccount(db(), authPorts, null, id, 'at their request');
      const refused = await signInWith(nhsIdentity('disabled-subject', person));
      assert.equal(refused.response.statusCode, 403);
      assert.match(textOf(refused.response.body), /This account is disabled\. Contact your administrator\./);
      assert.equal(refused.cookie, undefined);
      assert.equal(await subjectOf(id), null);
    });
  });
}

describe('a client that proves itself with a signed JWT (private_key_jwt, as NHS login requires)', () => {
  const keys = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
  const registered = keys();
  const stranger = keys();
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'joinery-oidc-key-'));
  const keyFile = (name: string, key: ReturnType<typeof keys>['privateKey']) => {
    const file = path.join(folder, name);
    fs.writeFileSync(file, key.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    return file;
  };
  let provider: LocalProvider;
  const servers: TestServer[] = [];

  before(async () => {
    provider = await startLocalProvider(`${PUBLIC_URL}/auth/oidc/callback`, {
      clientJwks: { keys: [{ ...registered.publicKey.export({ format: 'jwk' }), kid: 'joinery-2026', use: 'sig', alg: 'RS512' }] },
    });
  });
  after(async () => {
    for (const server of servers) await server.close();
    await provider?.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  async function serverWithKey(file: string): Promise<TestServer> {
    const server = await startTestServer({
      people: 300,
      env: {
        PUBLIC_URL,
        OIDC_ISSUER: provider.issuer,
        OIDC_CLIENT_ID: provider.clientId,
        OIDC_CLIENT_PRIVATE_KEY_FILE: file,
        OIDC_CLIENT_KEY_ID: 'joinery-2026',
      },
    });
    servers.push(server);
    await createAccount(server.database.db, {
      username: 'jwt.manager',
      displayName: 'Jo Manager',
      role: 'manager',
      oidcSubject: 'jwt-subject',
    });
    return server;
  }
  async function signIn(server: TestServer) {
    const login = await server.app.inject({ method: 'GET', url: '/auth/oidc/login' });
    const flowCookie = login.cookies.find((c) => c.name === 'joinery_oidc')!.value;
    provider.signInAs({ sub: 'jwt-subject' });
    const back = await provider.authorise(String(login.headers.location));
    return server.app.inject({
      method: 'GET',
      url: `${back.pathname}${back.search}`,
      headers: { cookie: `joinery_oidc=${encodeURIComponent(flowCookie)}` },
    });
  }

  test('the registered key signs in; a key the provider does not know is refused at the token endpoint', async () => {
    const good = await signIn(await serverWithKey(keyFile('registered.pem', registered.privateKey)));
    assert.equal(good.statusCode, 302);
    assert.equal(good.headers.location, '/home');
    assert.ok(good.cookies.find((c) => c.name === 'joinery_session'));

    const bad = await signIn(await serverWithKey(keyFile('stranger.pem', stranger.privateKey)));
    assert.equal(bad.statusCode, 400);
    assert.match(textOf(bad.body), /Signing in did not complete\. Start again\./);
    assert.equal(
      bad.cookies.find((c) => c.name === 'joinery_session'),
      undefined,
    );
  });
});
