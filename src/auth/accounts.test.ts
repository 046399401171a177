import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabaseTargets } from '../platform/testing.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import { createAccount, endSession, hashPassword, signInWithPassword, startSession, userForSession } from './accounts.ts';

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
    after(async () => { await database.close(); });

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
  });
}
