// Ledger invariants: every transaction balances; reversals restore balances; nothing can be
// edited or deleted (no code path, and the database refuses on both engines).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { testDatabaseTargets } from '../testing.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import {
  accountBalances,
  balancesOf,
  ensureAccounts,
  LedgerError,
  postTransactions,
  reversalOf,
  reverseTransaction,
  validateTransaction,
  type TransactionInput,
} from './ledger.ts';

const accountIds = ['acc:a', 'acc:b', 'acc:c', 'acc:d', 'acc:e'];

/** A balanced transaction: n-1 random postings and one that brings the sum to zero. */
type Posting = { accountId: string; amountPence: number };
const balancedPostings: fc.Arbitrary<Posting[]> = fc
  .array(
    fc.record({
      accountId: fc.constantFrom(...accountIds),
      amountPence: fc.integer({ min: -5_000_000, max: 5_000_000 }).filter((n) => n !== 0),
    }),
    { minLength: 1, maxLength: 5 },
  )
  .chain((postings): fc.Arbitrary<Posting[]> => {
    const sum = postings.reduce((s, p) => s + p.amountPence, 0);
    if (sum === 0)
      return fc.constant<Posting[]>([...postings, { accountId: 'acc:a', amountPence: 1 }, { accountId: 'acc:b', amountPence: -1 }]);
    return fc.constantFrom(...accountIds).map((accountId): Posting[] => [...postings, { accountId, amountPence: -sum }]);
  });

const transactionsArb = fc.array(balancedPostings, { minLength: 1, maxLength: 12 }).map((list) =>
  list.map((postings, i): TransactionInput => ({
    id: `t${i}`,
    kind: 'spend',
    occurredOn: '2026-05-01',
    description: 'test',
    recordedBy: 'test',
    postings,
  })),
);

describe('ledger invariants (pure)', () => {
  test('every generated transaction balances and passes validation; any change to one amount is refused', () => {
    fc.assert(
      fc.property(balancedPostings, fc.nat(), fc.integer({ min: 1, max: 1000 }), (postings, index, delta) => {
        const t: TransactionInput = { id: 'x', kind: 'spend', occurredOn: '2026-04-01', description: 'd', recordedBy: 'r', postings };
        validateTransaction(t);
        const broken = postings.map((p, i) => (i === index % postings.length ? { ...p, amountPence: p.amountPence + delta } : p));
        if (broken.some((p) => p.amountPence === 0)) return;
        assert.throws(() => validateTransaction({ ...t, postings: broken }), LedgerError);
      }),
    );
  });

  test('one posting, fractions of a penny and zero amounts are refused', () => {
    const base = { id: 'x', kind: 'spend', occurredOn: '2026-04-01', description: 'd', recordedBy: 'r' };
    assert.throws(() => validateTransaction({ ...base, postings: [{ accountId: 'a', amountPence: 0 }] }), LedgerError);
    assert.throws(
      () =>
        validateTransaction({
          ...base,
          postings: [
            { accountId: 'a', amountPence: 10.5 },
            { accountId: 'b', amountPence: -10.5 },
          ],
        }),
      LedgerError,
    );
    assert.throws(
      () =>
        validateTransaction({
          ...base,
          postings: [
            { accountId: 'a', amountPence: 0 },
            { accountId: 'b', amountPence: 0 },
          ],
        }),
      LedgerError,
    );
  });

  test('reversing any subset of transactions leaves the balances of the rest', () => {
    fc.assert(
      fc.property(transactionsArb, fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), (txs, reverse) => {
        const reversals = txs
          .filter((_, i) => reverse[i])
          .map((t) => reversalOf(t, { occurredOn: '2026-06-01', recordedBy: 'r', reason: 'error' }));
        for (const r of reversals) validateTransaction(r);
        const kept = txs.filter((_, i) => !reverse[i]);
        assert.deepEqual(new Map([...balancesOf([...txs, ...reversals])].sort()), new Map([...balancesOf(kept)].sort()));
        // Double entry: the whole ledger always sums to zero.
        assert.equal(
          [...balancesOf([...txs, ...reversals]).values()].reduce((s, v) => s + v, 0),
          0,
        );
      }),
    );
  });

  test('no update or delete path exists in the budgets code', () => {
    const dir = path.dirname(new URL(import.meta.url).pathname);
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'schema.ts')) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      assert.doesNotMatch(
        text,
        /updateTable\(|deleteFrom\(|\bupdate\s+(ledger|fund_|outcome_payment)|delete\s+from|truncate/i,
        `${file} has no update or delete`,
      );
    }
  });
});

async function seedAccounts(db: Kysely<Database>): Promise<void> {
  await db.insertInto('budget_partners').values({ id: 'p1', name: 'Partner', kind: 'nhs', organisation_id: null }).execute();
  await db.insertInto('funds').values({ id: 'f1', name: 'Fund', description: 'test', host_partner_id: 'p1' }).execute();
  await ensureAccounts(
    db,
    accountIds.map((id) => ({ id, kind: 'spend' as const, name: id, fundId: 'f1' })),
  );
}

for (const target of await testDatabaseTargets()) {
  describe(`ledger in the database (${target.kind})`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    before(async () => {
      handle = await target.open();
      db = handle.db;
      await seedAccounts(db);
    });
    after(async () => handle?.close());

    test('posted transactions balance, balances match, reversals restore them, re-posting is idempotent', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(transactionsArb, fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), async (generated, reverse) => {
          run += 1;
          const txs = generated.map((t) => ({ ...t, id: `r${run}:${t.id}` }));
          const before = await accountBalances(db);
          assert.deepEqual((await postTransactions(db, txs)).sort(), txs.map((t) => t.id).sort());
          assert.deepEqual(await postTransactions(db, txs), [], 'posting the same ids again posts nothing');
          const unbalanced = await sql<{
            n: number;
          }>`select count(*)::int as n from (select transaction_id from ledger_postings group by transaction_id having sum(amount_pence) <> 0) x`.execute(
            db,
          );
          assert.equal(unbalanced.rows[0]?.n, 0);
          const expectAfter = new Map(before);
          for (const [k, v] of balancesOf(txs)) expectAfter.set(k, (expectAfter.get(k) ?? 0) + v);
          for (const [k, v] of expectAfter) if (v === 0) expectAfter.delete(k);
          assert.deepEqual(new Map([...(await accountBalances(db))].sort()), new Map([...expectAfter].sort()));
          for (const [i, t] of txs.entries())
            if (reverse[i]) await reverseTransaction(db, t.id, { recordedBy: 'test', reason: 'keyed in error', occurredOn: '2026-07-01' });
          const expectReversed = new Map(before);
          for (const [k, v] of balancesOf(txs.filter((_, i) => !reverse[i]))) expectReversed.set(k, (expectReversed.get(k) ?? 0) + v);
          for (const [k, v] of expectReversed) if (v === 0) expectReversed.delete(k);
          assert.deepEqual(new Map([...(await accountBalances(db))].sort()), new Map([...expectReversed].sort()));
        }),
        { numRuns: target.kind === 'pglite' ? 25 : 15 },
      );
    });

    test('a transaction can be reversed once only, and a reversal is not itself reversible', async () => {
      await postTransactions(db, [
        {
          id: 'once',
          kind: 'spend',
          occurredOn: '2026-05-01',
          description: 'd',
          recordedBy: 'r',
          postings: [
            { accountId: 'acc:a', amountPence: 500 },
            { accountId: 'acc:b', amountPence: -500 },
          ],
        },
      ]);
      const reversalId = await reverseTransaction(db, 'once', { recordedBy: 'r', reason: 'wrong person', occurredOn: '2026-05-02' });
      await assert.rejects(
        reverseTransaction(db, 'once', { recordedBy: 'r', reason: 'again', occurredOn: '2026-05-03' }),
        /already been reversed/,
      );
      await assert.rejects(
        reverseTransaction(db, reversalId, { recordedBy: 'r', reason: 'again', occurredOn: '2026-05-03' }),
        /cannot itself be reversed/,
      );
    });

    test('the database refuses unbalanced, single-posting and late-added postings, even bypassing the code', async () => {
      await db
        .insertInto('ledger_transactions')
        .values({
          id: 'raw1',
          kind: 'spend',
          occurred_on: '2026-05-01',
          financial_year: 2026,
          description: 'raw',
          reverses_transaction_id: null,
          evidence: null,
          recorded_by: 'raw',
        })
        .execute();
      await assert.rejects(
        sql`insert into ledger_postings (transaction_id, account_id, amount_pence) values ('raw1', 'acc:a', 100), ('raw1', 'acc:b', -99)`.execute(
          db,
        ),
        /sum to zero/,
      );
      await assert.rejects(
        sql`insert into ledger_postings (transaction_id, account_id, amount_pence) values ('raw1', 'acc:a', 100)`.execute(db),
        /at least two postings/,
      );
      await sql`insert into ledger_postings (transaction_id, account_id, amount_pence) values ('raw1', 'acc:a', 100), ('raw1', 'acc:b', -100)`.execute(
        db,
      );
      await assert.rejects(
        sql`insert into ledger_postings (transaction_id, account_id, amount_pence) values ('raw1', 'acc:a', 7), ('raw1', 'acc:b', -7)`.execute(
          db,
        ),
        /already posted/,
      );
    });

    test('the database refuses every update, delete and truncate of ledger and approval tables', async () => {
      await postTransactions(db, [
        {
          id: 'locked',
          kind: 'spend',
          occurredOn: '2026-05-01',
          description: 'd',
          recordedBy: 'r',
          postings: [
            { accountId: 'acc:a', amountPence: 900 },
            { accountId: 'acc:c', amountPence: -900 },
          ],
        },
      ]);
      const change = await db
        .insertInto('fund_changes')
        .values({
          fund_id: 'f1',
          financial_year: 2026,
          kind: 'contribution',
          partner_id: 'p1',
          target_kind: null,
          target_id: null,
          amount_pence: 100,
          reason: 'r',
          proposed_by: 'u1',
          proposed_by_name: 'U One',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await assert.rejects(
        db
          .insertInto('fund_change_decisions')
          .values({ change_id: change.id, decision: 'approved', decided_by: 'u1', decided_by_name: 'U One', transaction_id: null })
          .execute(),
        /someone other than/,
      );
      await db
        .insertInto('fund_change_decisions')
        .values({ change_id: change.id, decision: 'approved', decided_by: 'u2', decided_by_name: 'U Two', transaction_id: null })
        .execute();
      const attempts = [
        sql`update ledger_postings set amount_pence = amount_pence * 2 where transaction_id = 'locked'`,
        sql`delete from ledger_postings where transaction_id = 'locked'`,
        sql`update ledger_transactions set description = 'changed' where id = 'locked'`,
        sql`delete from ledger_transactions where id = 'locked'`,
        sql`update ledger_accounts set name = 'x' where id = 'acc:a'`,
        sql`delete from ledger_accounts where id = 'acc:e'`,
        sql`update fund_changes set amount_pence = 1`,
        sql`delete from fund_change_decisions`,
        sql`truncate ledger_postings`,
        sql`truncate outcome_payment_lines cascade`,
      ];
      for (const attempt of attempts) await assert.rejects(attempt.execute(db), /append-only/);
      const kept = await db
        .selectFrom('ledger_postings')
        .select(['amount_pence'])
        .where('transaction_id', '=', 'locked')
        .orderBy('amount_pence')
        .execute();
      assert.deepEqual(
        kept.map((r) => Number(r.amount_pence)),
        [-900, 900],
      );
    });
  });
}
