// Pooled funds: partners' contributions per financial year and the fund's allocation to
// services, pathways and localities. A change is proposed by one person and takes effect (is
// posted to the ledger) only when a second person approves it; both are kept for good.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { accountBalances, ensureAccounts, postTransactions, type AccountInput, type TransactionInput } from './ledger.ts';
import { allocationAccount, contributionAccount, fundAccount, type TargetKind } from './accounts.ts';
import { formatPounds } from '../ui/index.ts';
import { financialYearLabel } from './goals.ts';
import { RefusedInput } from '../platform/refused.ts';

/** A change to a fund that breaks its rules (422). */
export class FundChangeError extends RefusedInput {
  constructor(message: string) {
    super(422, message);
  }
}

export interface ChangeInput {
  fundId: string;
  financialYear: number;
  kind: 'contribution' | 'allocation';
  partnerId?: string | null;
  targetKind?: TargetKind | null;
  targetId?: string | null;
  amountPence: number;
  reason: string;
}

export interface Person {
  id: string;
  name: string;
}

function checkChange(c: ChangeInput): void {
  if (!Number.isSafeInteger(c.amountPence) || c.amountPence === 0)
    throw new FundChangeError('Enter an amount in whole pounds and pence, not zero');
  if (!Number.isInteger(c.financialYear) || c.financialYear < 2000 || c.financialYear > 2100)
    throw new FundChangeError('Choose a financial year');
  if (c.reason.trim().length < 5) throw new FundChangeError('Say why the change is needed');
  if (c.kind === 'contribution' && !c.partnerId) throw new FundChangeError('Choose the contributing partner');
  if (c.kind === 'allocation' && (!c.targetKind || !c.targetId)) throw new FundChangeError('Choose what the money is allocated to');
}

function ledgerEntryFor(
  changeId: number,
  c: ChangeInput,
  decidedOn: string,
  recordedBy: string,
): { accounts: AccountInput[]; transaction: TransactionInput } {
  const pool = fundAccount(c.fundId, c.financialYear);
  const other =
    c.kind === 'contribution'
      ? contributionAccount(c.fundId, c.financialYear, c.partnerId as string)
      : allocationAccount(c.fundId, c.financialYear, c.targetKind as TargetKind, c.targetId as string);
  // Contribution: the pool is debited, the partner's contribution credited. Allocation: the
  // allocation is debited from the pool. A negative change simply flips the signs.
  const postings =
    c.kind === 'contribution'
      ? [
          { accountId: pool.id, amountPence: c.amountPence },
          { accountId: other.id, amountPence: -c.amountPence },
        ]
      : [
          {
            accountId: other.id,
            amountPence: c.amountPence,
            serviceId: c.targetKind === 'service' ? c.targetId : null,
            localityId: c.targetKind === 'locality' ? c.targetId : null,
            pathwayCode: c.targetKind === 'pathway' ? c.targetId : null,
          },
          { accountId: pool.id, amountPence: -c.amountPence },
        ];
  return {
    accounts: [pool, other],
    transaction: {
      id: `fund_change:${changeId}`,
      kind: c.kind,
      occurredOn: decidedOn,
      recordedBy,
      description: `${c.kind === 'contribution' ? 'Contribution' : 'Allocation'} ${financialYearLabel(c.financialYear)}: ${c.reason}`,
      postings,
    },
  };
}

export async function proposeChange(db: Kysely<Database>, proposer: Person, change: ChangeInput): Promise<number> {
  checkChange(change);
  const row = await db
    .insertInto('fund_changes')
    .values({
      fund_id: change.fundId,
      financial_year: change.financialYear,
      kind: change.kind,
      partner_id: change.kind === 'contribution' ? (change.partnerId ?? null) : null,
      target_kind: change.kind === 'allocation' ? (change.targetKind ?? null) : null,
      target_id: change.kind === 'allocation' ? (change.targetId ?? null) : null,
      amount_pence: change.amountPence,
      reason: change.reason.trim(),
      proposed_by: proposer.id,
      proposed_by_name: proposer.name,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/**
 * Refuses a change that would leave the fund with less than nothing unallocated for its year (an
 * allocation, or a contribution taken back, larger than what is unallocated). The pool's account
 * is locked first, so approvals at the same moment are checked one after the other; the database
 * checks the same rule (migration 0061) whatever writes the ledger.
 */
async function checkPoolCovers(
  trx: Kysely<Database>,
  c: { fund_id: string; financial_year: number; kind: string; amount_pence: number | string },
): Promise<void> {
  const pool = fundAccount(c.fund_id, c.financial_year);
  const change = c.kind === 'allocation' ? -Number(c.amount_pence) : Number(c.amount_pence);
  if (change >= 0) return;
  await trx.selectFrom('ledger_accounts').select('id').where('id', '=', pool.id).forUpdate().execute();
  const unallocated = (await accountBalances(trx, [pool.id])).get(pool.id) ?? 0;
  if (unallocated + change < 0) {
    throw new FundChangeError(
      `This ${c.kind === 'allocation' ? 'allocation' : 'reduction'} is ${formatPounds(-change - unallocated)} more than the fund has unallocated for ${financialYearLabel(c.financial_year)} (${formatPounds(unallocated)}). Reject it, or propose a smaller change.`,
    );
  }
}

const OVERDRAWN = /would have less than nothing unallocated/;

/** A second person approves (posting the change to the ledger) or rejects it, in the caller's transaction. */
export async function decideChange(
  trx: Transaction<Database>,
  decider: Person,
  changeId: number,
  decision: 'approved' | 'rejected',
  decidedOn: string,
): Promise<void> {
  const c = await trx.selectFrom('fund_changes').selectAll().where('id', '=', changeId).executeTakeFirst();
  if (!c) throw new FundChangeError('There is no such change');
  if (c.proposed_by === decider.id) throw new FundChangeError('Someone other than the person who proposed a change must decide it');
  const decided = await trx.selectFrom('fund_change_decisions').select('change_id').where('change_id', '=', changeId).executeTakeFirst();
  if (decided) throw new FundChangeError('This change has already been decided');
  let transactionId: string | null = null;
  if (decision === 'approved') {
    const entry = ledgerEntryFor(
      changeId,
      {
        fundId: c.fund_id,
        financialYear: c.financial_year,
        kind: c.kind,
        partnerId: c.partner_id,
        targetKind: c.target_kind,
        targetId: c.target_id,
        amountPence: Number(c.amount_pence),
        reason: c.reason,
      },
      decidedOn,
      decider.id,
    );
    await ensureAccounts(trx, entry.accounts);
    await checkPoolCovers(trx, c);
    await postTransactions(trx, [entry.transaction]).catch((error: unknown) => {
      if (error instanceof Error && OVERDRAWN.test(error.message))
        throw new FundChangeError(
          'This change would leave the fund with less than nothing unallocated. Reject it, or propose a smaller change.',
        );
      throw error;
    });
    transactionId = entry.transaction.id;
  }
  await trx
    .insertInto('fund_change_decisions')
    .values({ change_id: changeId, decision, decided_by: decider.id, decided_by_name: decider.name, transaction_id: transactionId })
    .execute();
}

/** Bulk form for loading: changes proposed by one person and approved by another, posted together. */
export async function recordApprovedChanges(
  db: Kysely<Database>,
  changes: readonly ChangeInput[],
  proposer: Person,
  approver: Person,
  decidedOn: string,
): Promise<void> {
  if (proposer.id === approver.id) throw new FundChangeError('Someone other than the person who proposed a change must decide it');
  for (const c of changes) checkChange(c);
  await db.transaction().execute(async (trx) => {
    const inserted = await sql<{
      id: number;
    }>`insert into fund_changes (fund_id, financial_year, kind, partner_id, target_kind, target_id, amount_pence, reason, proposed_by, proposed_by_name)
      select f, y, k, p, tk, ti, a, r, ${proposer.id}, ${proposer.name} from unnest(
        ${changes.map((c) => c.fundId)}::text[], ${changes.map((c) => c.financialYear)}::int[], ${changes.map((c) => c.kind)}::text[],
        ${changes.map((c) => (c.kind === 'contribution' ? (c.partnerId ?? null) : null))}::text[], ${changes.map((c) => (c.kind === 'allocation' ? (c.targetKind ?? null) : null))}::text[],
        ${changes.map((c) => (c.kind === 'allocation' ? (c.targetId ?? null) : null))}::text[], ${changes.map((c) => c.amountPence)}::bigint[],
        ${changes.map((c) => c.reason)}::text[]) with ordinality as u(f, y, k, p, tk, ti, a, r, n)
      order by n returning id`.execute(trx);
    const ids = inserted.rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    const entries = changes.map((c, i) => ledgerEntryFor(ids[i] as number, c, decidedOn, approver.id));
    await ensureAccounts(
      trx,
      entries.flatMap((e) => e.accounts),
    );
    await postTransactions(
      trx,
      entries.map((e) => e.transaction),
    );
    await sql`insert into fund_change_decisions (change_id, decision, decided_by, decided_by_name, transaction_id)
      select c, 'approved', ${approver.id}, ${approver.name}, t from unnest(${ids}::bigint[], ${entries.map((e) => e.transaction.id)}::text[]) as u(c, t)`.execute(
      trx,
    );
  });
}

export interface PendingChange {
  id: number;
  fundId: string;
  fundName: string;
  financialYear: number;
  kind: string;
  partner: string | null;
  targetKind: string | null;
  targetId: string | null;
  amountPence: number;
  reason: string;
  proposedBy: string;
  proposedByName: string;
  proposedAt: Date;
}

export async function pendingChanges(db: Kysely<Database>): Promise<PendingChange[]> {
  const rows = await db
    .selectFrom('fund_changes as c')
    .innerJoin('funds as f', 'f.id', 'c.fund_id')
    .leftJoin('budget_partners as p', 'p.id', 'c.partner_id')
    .leftJoin('fund_change_decisions as d', 'd.change_id', 'c.id')
    .where('d.change_id', 'is', null)
    .select([
      'c.id',
      'c.fund_id',
      'f.name as fund_name',
      'c.financial_year',
      'c.kind',
      'p.name as partner',
      'c.target_kind',
      'c.target_id',
      'c.amount_pence',
      'c.reason',
      'c.proposed_by',
      'c.proposed_by_name',
      'c.proposed_at',
    ])
    .orderBy('c.id')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    fundId: r.fund_id,
    fundName: r.fund_name,
    financialYear: r.financial_year,
    kind: r.kind,
    partner: r.partner,
    targetKind: r.target_kind,
    targetId: r.target_id,
    amountPence: Number(r.amount_pence),
    reason: r.reason,
    proposedBy: r.proposed_by,
    proposedByName: r.proposed_by_name,
    proposedAt: r.proposed_at,
  }));
}

export async function recentDecisions(db: Kysely<Database>, limit = 10) {
  return db
    .selectFrom('fund_change_decisions as d')
    .innerJoin('fund_changes as c', 'c.id', 'd.change_id')
    .select([
      'c.id',
      'c.kind',
      'c.financial_year',
      'c.target_kind',
      'c.target_id',
      'c.amount_pence',
      'c.reason',
      'c.proposed_by_name',
      'd.decision',
      'd.decided_by_name',
      'd.decided_at',
    ])
    .orderBy('d.decided_at', 'desc')
    .orderBy('c.id', 'desc')
    .limit(limit)
    .execute();
}
