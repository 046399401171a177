import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabaseTargets } from '../testing.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import {
  createAccount,
  disableAccount,
  enableAccount,
  endSession,
  findUserForOidc,
  hashPassword,
  signInWithPassword,
  startSession,
  userForSession,
} from './accounts.ts';
import { authPorts } from '../app.ts';

const policy = { maxAttempts: 3, lockMinutes: 15 };

test('passwords are stored as argon2id hashes, never as given', async () => {
  const hash = await hashPassword('correct horse battery staple');
  assert.match(hash, /^\$argon2id\$/);
  assert.doesNotMatch(hash, /correct horse/);
});

for (const target of await testDatabaseTargets()) {
  describe(`accounts on ${target.kind}`, () => {
    let database: DatabaseHandle;
    before(async () => {
      database = await target.open();
      await createAccount(database.db, { username: 'Ana.Admin', displayName: 'Ana', role: 'admin', password: 'a long passphrase' });
    });
    after(async () => {
      await database.close();
    });
    const idOf = async (username: string) =>
      (await database.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;

    test('right password signs in (username is case-insensitive); wrong password does not', async () => {
      const ok = await signInWithPassword(database.db, 'ana.admin', 'a long passphrase', policy);
      assert.equal(ok.outcome, 'signed_in');
      assert.equal((await signInWithPassword(database.db, 'ana.admin', 'wrong', policy)).outcome, 'wrong_credentials');
      assert.equal((await signInWithPassword(database.db, 'nobody', 'wrong', policy)).outcome, 'wrong_credentials');
    });

    test('repeated failures lock the account, even against the right password, until the lock ends', async () => {
      await createAccount(database.db, { username: 'locky', displayName: 'L', role: 'practitioner', password: 'right password' });
      const now = new Date('2026-11-23T10:00:00Z');
      assert.equal((await signInWithPassword(database.db, 'locky', 'x', policy, now)).outcome, 'wrong_credentials');
      assert.equal((await signInWithPassword(database.db, 'locky', 'x', policy, now)).outcome, 'wrong_credentials');
      const third = await signInWithPassword(database.db, 'locky', 'x', policy, now);
      assert.equal(third.outcome, 'locked');
      assert.equal(third.outcome === 'locked' && third.justLocked, true);
      assert.equal((await signInWithPassword(database.db, 'locky', 'right password', policy, now)).outcome, 'locked');
      const later = new Date(now.getTime() + 16 * 60_000);
      assert.equal((await signInWithPassword(database.db, 'locky', 'right password', policy, later)).outcome, 'signed_in');
    });

    test('40 wrong passwords at once lock the account after the limit: the right one is then refused, and only the limit is checked', async () => {
      await createAccount(database.db, { username: 'besieged', displayName: 'B', role: 'practitioner', password: 'right password' });
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => signInWithPassword(database.db, 'besieged', `guess ${i}`, policy)),
      );
      assert.ok(results.every((r) => r.outcome === 'wrong_credentials' || r.outcome === 'locked'));
      assert.equal(
        results.filter((r) => r.outcome === 'wrong_credentials').length,
        policy.maxAttempts - 1,
        'the attempts before the limit were checked',
      );
      assert.equal(
        results.filter((r) => r.outcome === 'locked' && r.justLocked).length,
        1,
        'one attempt reached the limit and locked the account',
      );
      assert.equal((await signInWithPassword(database.db, 'besieged', 'right password', policy)).outcome, 'locked');
    });

    test('a session token finds its user until it is ended; the token itself is not stored', async () => {
      const result = await signInWithPassword(database.db, 'ana.admin', 'a long passphrase', policy);
      assert.equal(result.outcome, 'signed_in');
      if (result.outcome !== 'signed_in') return;
      const { token } = await startSession(database.db, result.user.id, 8);
      assert.equal((await userForSession(database.db, token))?.username, 'ana.admin');
      const stored = await database.db.selectFrom('sessions').select('token_hash').execute();
      assert.ok(stored.every((s) => s.token_hash !== token));
      await endSession(database.db, token);
      assert.equal(await userForSession(database.db, token), undefined);
      assert.equal(await userForSession(database.db, 'made-up-token'), undefined);
    });

    test('the only enabled administrator cannot be disabled, even at the command line; with another, they can', async () => {
      await assert.rejects(
        disableAccount(database.db, authPorts, null, await idOf('ana.admin'), 'testing'),
        /only administrator account that is enabled/,
      );
      assert.equal((await signInWithPassword(database.db, 'ana.admin', 'a long passphrase', policy)).outcome, 'signed_in');
      await createAccount(database.db, { username: 'bo.admin', displayName: 'Bo', role: 'admin', password: 'another passphrase' });
      assert.equal(await disableAccount(database.db, authPorts, null, await idOf('bo.admin'), 'testing'), true);
      assert.equal((await signInWithPassword(database.db, 'bo.admin', 'another passphrase', policy)).outcome, 'disabled');
      // Bo disabled, Ana is the only one left again.
      await assert.rejects(disableAccount(database.db, authPorts, null, await idOf('ana.admin'), 'testing'), /only administrator/);
      assert.equal(await enableAccount(database.db, null, await idOf('bo.admin')), true);
      assert.equal((await signInWithPassword(database.db, 'bo.admin', 'another passphrase', policy)).outcome, 'signed_in');
    });

    test('single sign-on refuses a disabled account and a practitioner who has left', async () => {
      await createAccount(database.db, { username: 'sso.user', displayName: 'S', role: 'manager', oidcSubject: 'sub-1' });
      assert.equal((await findUserForOidc(database.db, 'sub-1', undefined)).outcome, 'signed_in');
      await disableAccount(database.db, authPorts, null, await idOf('sso.user'), 'left');
      assert.equal((await findUserForOidc(database.db, 'sub-1', undefined)).outcome, 'disabled');
      assert.equal((await findUserForOidc(database.db, 'sub-unknown', undefined)).outcome, 'unknown');

      await database.db
        .insertInto('organisations')
        .values({
          id: 'o1',
          name: 'Org',
          kind: 'charity',
          source_code: 'O1',
          locality_id: null,
          postcode: '',
          phone: '',
          email: '',
          website: '',
        })
        .execute();
      await database.db.insertInto('teams').values({ id: 't1', organisation_id: 'o1', name: 'Team' }).execute();
      await database.db
        .insertInto('practitioners')
        .values({
          id: 'pr1',
          organisation_id: 'o1',
          team_id: 't1',
          given_name: 'P',
          family_name: 'Q',
          role: 'link_worker',
          email: '',
          active: false,
        })
        .execute();
      await createAccount(database.db, {
        username: 'leaver',
        displayName: 'P Q',
        role: 'practitioner',
        oidcSubject: 'sub-2',
        practitionerId: 'pr1',
        organisationId: 'o1',
      });
      assert.equal((await findUserForOidc(database.db, 'sub-2', undefined)).outcome, 'disabled');
    });
  });
}
