// A pooled fund never has less than nothing unallocated: an approval that would overdraw it is
// refused with a clear reason, two approvals at once cannot overdraw it between them, and the
// database refuses an overdrawing posting whatever code writes it (PGlite and PostgreSQL).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import { testDatabaseTargets } from '../testing.ts';
import { accountBalances, ensureAccounts, postTransactions } from './ledger.ts';
import { allocationAccount, fundAccount } from './accounts.ts';
import { decideChange, FundChangeError, proposeChange, type ChangeInput } from './funds.ts';

const ann = { id: 'u-ann', name: 'Ann Proposer' };
const bo = { id: 'u-bo', name: 'Bo Approver' };
const YEAR = 2026;
const pool = fundAccount('f1', YEAR).id;

for (const target of await testDatabaseTargets()) {
  describe(`a pooled fund's unallocated balance on ${target.kind}`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    const unallocated = async () => (await accountBalances(db, [pool])).get(pool) ?? 0;
    const approved = async (change: Omit<ChangeInput, 'fundId' | 'financialYear' | 'reason'>) => {
      const id = await proposeChange(db, ann, { fundId: 'f1', financialYear: YEAR, reason: 'a test change', ...change });
      await db.transaction().execute((trx) => decideChange(trx, bo, id, 'approved', '2026-06-01'));
    };
    const allocation = (pence: number): Omit<ChangeInput, 'fundId' | 'financialYear' | 'reason'> => ({
      kind: 'allocation',
      targetKind: 'pathway',
      targetId: 'housing',
      amountPence: pence,
    });

    before(async () => {
      handle = await target.open();
      db = handle.db;
      await db.insertInto('budget_partners').values({ id: 'p1', name: 'Council', kind: 'council', organisation_id: null }).execute();
      await db.insertInto('funds').values({ id: 'f1', name: 'Better Lives', description: 'test', host_partner_id: 'p1' }).execute();
      await approved({ kind: 'contribution', partnerId: 'p1', amountPence: 28_200_000 });
    });
    after(async () => handle?.close());

    test('an allocation larger than what is unallocated is refused on approval, saying by how much; the balance is unchanged', async () => {
      assert.equal(await unallocated(), 28_200_000);
      await assert.rejects(
        approved(allocation(1_000_000_000)),
        (error: unknown) =>
          error instanceof FundChangeError &&
          /is £9,718,000(\.00)? more than the fund has unallocated for 2026\/27 \(£282,000(\.00)?\)/.test(error.message),
      );
      await assert.rejects(
        approved({ kind: 'contribution', partnerId: 'p1', amountPence: -30_000_000 }),
        FundChangeError,
        'taking back more than is unallocated too',
      );
      assert.equal(await unallocated(), 28_200_000);
      await approved(allocation(28_200_000));
      assert.equal(await unallocated(), 0, 'all of it may be allocated');
      await approved(allocation(-200_000));
      assert.equal(await unallocated(), 200_000, 'and some handed back');
    });

    test('two approvals at once, each affordable alone, cannot overdraw the fund between them', async () => {
      const start = await unallocated();
      const [first, second] = await Promise.all(
        [1, 2].map(() => proposeChange(db, ann, { fundId: 'f1', financialYear: YEAR, reason: 'at the same time', ...allocation(150_000) })),
      );
      const results = await Promise.allSettled(
        [first!, second!].map((id) => db.transaction().execute((trx) => decideChange(trx, bo, id, 'approved', '2026-06-02'))),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one is approved');
      const refused = results.find((r) => r.status === 'rejected');
      assert.ok(refused && refused.reason instanceof FundChangeError, 'the other is refused with a reason');
      assert.equal(await unallocated(), start - 150_000);
    });

    test('the database itself refuses a posting that overdraws a pool, but lets money in and spends elsewhere', async () => {
      const before = await unallocated();
      const allocated = allocationAccount('f1', YEAR, 'pathway', 'housing');
      await ensureAccounts(db, [allocated]);
      await assert.rejects(
        postTransactions(db, [
          {
            id: 'raw-overdraw',
            kind: 'allocation',
            occurredOn: '2026-06-03',
            description: 'bypassing the approval',
            recordedBy: 'raw',
            postings: [
              { accountId: allocated.id, amountPence: before + 1 },
              { accountId: pool, amountPence: -(before + 1) },
            ],
          },
        ]),
        /less than nothing unallocated/,
      );
      assert.equal(await unallocated(), before);
      // Two such postings at once, each within the balance alone: while the first one's transaction
      // is still open, the second is posted; the database lets only one in.
      const share = Math.floor(before * 0.6);
      const posting = (id: string) => [
        {
          id,
          kind: 'allocation',
          occurredOn: '2026-06-03',
          description: 'at the same time',
          recordedBy: 'raw',
          postings: [
            { accountId: allocated.id, amountPence: share },
            { accountId: pool, amountPence: -share },
          ],
        },
      ];
      let second: Promise<string[]> | undefined;
      const first = db.transaction().execute(async (trx) => {
        await postTransactions(trx, posting('raw-a'));
        second = postTransactions(db, posting('raw-b'));
        second.catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 300));
      });
      const raw = await Promise.allSettled([
        first,
        (async () => {
          await first.catch(() => {});
          return second!;
        })(),
      ]);
      assert.equal(raw.filter((r) => r.status === 'fulfilled').length, 1, 'one of the two is posted');
      assert.equal(await unallocated(), before - share);
      await ensureAccounts(db, [{ id: 'spend:f1:x', kind: 'spend', name: 'Spend', fundId: 'f1' }]);
      await postTransactions(db, [
        {
          id: 'raw-spend',
          kind: 'spend',
          occurredOn: '2026-06-03',
          description: 'spend from an allocation',
          recordedBy: 'raw',
          postings: [
            { accountId: 'spend:f1:x', amountPence: 5_000_000 },
            { accountId: allocated.id, amountPence: -5_000_000 },
          ],
        },
      ]);
      assert.equal(await unallocated(), before - share, "spending an allocation is not the pool's business");
    });
  });
}
