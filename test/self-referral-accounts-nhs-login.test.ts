// An account made from a request for help (tied to no person) becomes the person's own when its
// holder, signed in to it, proves who they are with NHS login at P9, against a local OpenID
// provider the test starts: only for a person with no resident account, never below P9, and a
// person who has an account is signed in to that one, leaving the request's account as it was.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { signIn, startTestServer, type TestServer } from './support/server.ts';
import { startLocalProvider, type LocalProvider, type NhsLoginIdentity } from './support/oidc-provider.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { isValidNhsNumber } from '../src/platform/nhs-number.ts';

const PUBLIC_URL = 'http://joinery.test';
const PASSWORD = 'a resident passphrase';

describe('an account following a request, proved with NHS login', () => {
  let server: TestServer;
  let provider: LocalProvider;
  const db = () => server.database.db;
  let people: Array<{ id: string; nhs_number: string; birth_date: string }>;

  before(async () => {
    provider = await startLocalProvider(`${PUBLIC_URL}/auth/oidc/callback`);
    server = await startTestServer({
      people: 600,
      env: {
        PUBLIC_URL,
        OIDC_ISSUER: provider.issuer,
        OIDC_CLIENT_ID: provider.clientId,
        OIDC_CLIENT_SECRET: provider.clientSecret,
        OIDC_PROVIDER_NAME: 'NHS login',
      },
    });
    // People with an NHS number of their own and no resident account.
    people = (
      await sql<{ id: string; nhs_number: string; birth_date: string }>`
      select p.id, p.nhs_number, p.birth_date::text as birth_date from persons p
      where p.nhs_number is not null and p.birth_date is not null and p.merged_into is null
        and not exists (select 1 from persons q where q.nhs_number = p.nhs_number and q.id <> p.id)
        and not exists (select 1 from users u where u.person_id = p.id)
      order by p.id limit 20`.execute(db())
    ).rows.filter((p) => isValidNhsNumber(p.nhs_number));
    assert.ok(people.length >= 3);
  });
  after(async () => {
    await server?.close();
    await provider?.close();
  });

  const identity = (sub: string, person: { nhs_number: string; birth_date: string }, level: 'P5' | 'P9' = 'P9'): NhsLoginIdentity => ({
    sub,
    nhs_number: person.nhs_number,
    birthdate: person.birth_date,
    identity_proofing_level: level,
    email: `${sub}@example.org`,
    email_verified: true,
  });
  /** An account made from a request for help, signed in. */
  async function follower(username: string) {
    const id = await createAccount(db(), { username, displayName: username, role: 'citizen', password: PASSWORD });
    return { id, cookie: await signIn(server.app, username, PASSWORD) };
  }
  /** Signed in as `cookie`, they go through NHS login as `who` and come back. */
  async function proveWith(cookie: string, who: NhsLoginIdentity) {
    const login = await server.app.inject({ method: 'GET', url: '/auth/oidc/login', headers: { cookie } });
    const flow = login.cookies.find((c) => c.name === 'joinery_oidc')!.value;
    provider.signInAs(who);
    const back = await provider.authorise(String(login.headers.location));
    return server.app.inject({
      method: 'GET',
      url: `${back.pathname}${back.search}`,
      headers: { cookie: `${cookie}; joinery_oidc=${encodeURIComponent(flow)}` },
    });
  }
  const personOf = async (userId: string) =>
    (await db().selectFrom('users').select('person_id').where('id', '=', userId).executeTakeFirstOrThrow()).person_id;

  test('the "confirm who you are" page offers NHS login, and a P9 proof makes the account the person\'s own, audited', async () => {
    const { id, cookie } = await follower('follower-one');
    const page = await server.app.inject({ method: 'GET', url: '/my-record', headers: { cookie } });
    assert.equal(page.statusCode, 403);
    assert.match(page.body, /href="\/auth\/oidc\/login">prove who you are with NHS login/);
    const person = people[0]!;
    const response = await proveWith(cookie, identity('follower-one-sub', person));
    assert.equal(response.statusCode, 302, response.body.slice(0, 300));
    assert.equal(await personOf(id), person.id);
    const audit = await db()
      .selectFrom('audit_events')
      .select('reason')
      .where('action', '=', 'confirm_identity')
      .where('person_id', '=', person.id)
      .executeTakeFirstOrThrow();
    assert.match(audit.reason ?? '', /by NHS login/);
    const session = response.cookies.find((c) => c.name === 'joinery_session')!;
    const record = await server.app.inject({ method: 'GET', url: '/my-record', headers: { cookie: `joinery_session=${session.value}` } });
    assert.equal(record.statusCode, 302);
    assert.equal(record.headers.location, `/people/${person.id}`);
  });

  test("below P9 nothing is tied; and a person who has an account is signed in to that one, never to the request's", async () => {
    const low = await follower('follower-two');
    const refused = await proveWith(low.cookie, identity('follower-two-sub', people[1]!, 'P5'));
    assert.equal(refused.statusCode, 403);
    assert.equal(await personOf(low.id), null);

    const owner = people[2]!;
    const ownAccount = await createAccount(db(), {
      username: 'owner-of-record',
      displayName: 'Owner',
      role: 'citizen',
      password: PASSWORD,
      personId: owner.id,
    });
    const other = await follower('follower-three');
    const response = await proveWith(other.cookie, identity('owner-sub', owner));
    assert.equal(response.statusCode, 302);
    assert.equal(await personOf(other.id), null, "the request's account is not tied to someone who has an account");
    assert.equal(
      (await db().selectFrom('users').select('oidc_subject').where('id', '=', ownAccount).executeTakeFirstOrThrow()).oidc_subject,
      'owner-sub',
      "the proof signed in to the person's own account",
    );
  });
});
