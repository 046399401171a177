// The person page reads its access facts inside the session look-up's own statement, naming the
// actor from the signed-in account's row instead of from parameters. If those two ways of naming
// the actor ever drifted apart (a role, an organisation, a proxy's own person), a page would be
// decided on someone else's facts. So: for every kind of account and the people whose facts are
// most varied (their own record, people they act for, cared-for, shared, restricted, strangers),
// the facts carried beside the session are exactly those the decision would load itself; and
// facts carried for one account or person are never used for another.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { startTestServer, signIn, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { createAccount, userForSessionWith } from '../src/auth/accounts.ts';
import { actorOf } from '../src/consent/index.ts';
import { accessFactsBesideSession, loadAccessFacts, prefetchedAccessFacts } from '../src/consent/facts.ts';

describe('access facts read beside the session are the facts the decision would load', () => {
  let server: TestServer;
  const sessions = new Map<string, string>();

  before(async () => {
    server = await startTestServer({ people: 1200 });
    const db = server.database.db;
    // A citizen who acts for someone else (a proxy), besides the demo's own accounts.
    const proxy = await db.selectFrom('proxies').select('proxy_person_id').where('revoked_at', 'is', null).executeTakeFirst();
    if (proxy) {
      const taken = await db.selectFrom('users').select('id').where('person_id', '=', proxy.proxy_person_id).executeTakeFirst();
      if (!taken)
        await createAccount(db, {
          username: 'facts-proxy',
          displayName: 'A proxy',
          role: 'citizen',
          password: DEMO_PASSWORD,
          personId: proxy.proxy_person_id,
        });
    }
    const accounts = await db.selectFrom('users').select('username').where('password_hash', 'is not', null).orderBy('username').execute();
    for (const { username } of accounts) {
      const cookie = await signIn(server.app, username);
      sessions.set(username, /joinery_session=([^;]+)/.exec(cookie)![1]!);
    }
  });
  after(async () => server?.close());

  /** People whose facts differ the most: every kind of fact there is, and a few with none. */
  async function variedPeople(): Promise<string[]> {
    const rows = await sql<{ id: string }>`
      (select person_id as id from proxies order by person_id limit 6)
      union (select proxy_person_id from proxies order by proxy_person_id limit 3)
      union (select person_id from care_relationships where ended_at is null order by person_id limit 8)
      union (select person_id from consent_directives order by person_id limit 8)
      union (select person_id from lawful_bases order by person_id limit 4)
      union (select person_id from rights_requests order by person_id limit 3)
      union (select person_id from users where person_id is not null)
      union (select id from persons order by id desc limit 4)`.execute(server.database.db);
    return rows.rows.map((r) => r.id);
  }

  test('for every kind of account and varied people, carried facts equal loaded facts', async () => {
    const db = server.database.db;
    const people = await variedPeople();
    assert.ok(people.length >= 15, `enough varied people to compare (${people.length})`);
    const roles = new Set<string>();
    let compared = 0;
    for (const [username, token] of sessions) {
      for (const personId of people) {
        const found = await userForSessionWith(db, token, accessFactsBesideSession(personId, new Date()));
        assert.ok(found, `${username}'s session is live`);
        roles.add(found.user.role);
        const carried = prefetchedAccessFacts(found.beside, actorOf(found.user), personId);
        assert.ok(carried, `the facts carried for ${username} about ${personId} are used`);
        const loaded = await loadAccessFacts(db, actorOf(found.user), personId, carried.now);
        assert.deepEqual(
          carried.facts,
          loaded,
          `${username} (${found.user.role}) about ${personId}: carried facts differ from loaded ones`,
        );
        compared++;
      }
    }
    assert.ok(roles.has('practitioner') && roles.has('citizen'), 'practitioners and citizens are among the accounts compared');
    assert.ok(compared >= 100, `compared ${compared} pairs`);
  });

  test('facts carried for one account or one person are never used for another', async () => {
    const db = server.database.db;
    const [personA, personB] = await variedPeople();
    const practitioner = await userForSessionWith(db, sessions.get('practitioner')!, accessFactsBesideSession(personA!, new Date()));
    const citizen = await userForSessionWith(db, sessions.get('citizen')!, accessFactsBesideSession(personA!, new Date()));
    assert.ok(practitioner && citizen);
    assert.ok(
      prefetchedAccessFacts(practitioner.beside, actorOf(practitioner.user), personA!),
      'used for the actor and person it was read for',
    );
    assert.equal(prefetchedAccessFacts(practitioner.beside, actorOf(practitioner.user), personB!), undefined, 'not for another person');
    assert.equal(prefetchedAccessFacts(practitioner.beside, actorOf(citizen.user), personA!), undefined, 'not for another account');
    assert.equal(prefetchedAccessFacts(null, actorOf(citizen.user), personA!), undefined, 'nothing carried, nothing used');
    assert.equal(
      prefetchedAccessFacts('forged', actorOf(citizen.user), personA!),
      undefined,
      'a value that is not a facts row is not used',
    );
  });

  test('an ended session carries nothing, whatever person it names', async () => {
    const db = server.database.db;
    const [personA] = await variedPeople();
    const cookie = await signIn(server.app, 'practitioner');
    const token = /joinery_session=([^;]+)/.exec(cookie)![1]!;
    // Ended elsewhere (another process, an administrator): the row is gone.
    await db.deleteFrom('sessions').where('token_hash', '=', createHash('sha256').update(token).digest('hex')).execute();
    const found = await userForSessionWith(db, token, accessFactsBesideSession(personA!, new Date()));
    assert.equal(found, undefined, 'no live session: no account and no facts');
  });
});
