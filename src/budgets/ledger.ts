// The double-entry ledger: integer pence, debits positive and credits negative, every
// transaction's postings summing to zero. Append-only: this module has no update or delete
// path, and the database refuses both (see schema.ts). Corrections are reversing transactions.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { financialYearOf } from './goals.ts';
import { RefusedInput } from '../platform/refused.ts';
import { inTransaction } from '../platform/db.ts';

/** A transaction the ledger will not post (unbalanced, malformed): 422. */
export class LedgerError extends RefusedInput {
  constructor(message: string) {
    super(422, message);
  }
}

export interface PostingInput {
  accountId: string;
  amountPence: number;
  personId?: string | null;
  householdId?: string | null;
  serviceId?: string | null;
  localityId?: string | null;
  pathwayCode?: string | null;
  goalCode?: string | null;
}

export interface TransactionInput {
  /** Deterministic for generated entries (the idempotency key); random for one-off entries. */
  id: string;
  kind: string;
  occurredOn: string;
  description: string;
  recordedBy: string;
  reversesTransactionId?: string | null;
  evidence?: unknown;
  postings: PostingInput[];
}

export interface AccountInput {
  id: string;
  kind:
    | 'fund'
    | 'partner_contribution'
    | 'allocation'
    | 'service_commitment'
    | 'commitment_reserve'
    | 'spend'
    | 'personal_budget'
    | 'outcome_payment';
  name: string;
  fundId?: string | null;
  financialYear?: number | null;
  partnerId?: string | null;
  targetKind?: string | null;
  targetId?: string | null;
  serviceId?: string | null;
  personId?: string | null;
}

/** Refuses anything that is not a balanced transaction of whole, non-zero pence. */
export function validateTransaction(t: TransactionInput): void {
  if (!t.id || t.id.length > 200) throw new LedgerError('a transaction needs an id of at most 200 characters');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(t.occurredOn)) throw new LedgerError('a transaction needs a date (YYYY-MM-DD)');
  if (t.postings.length < 2) throw new LedgerError('a transaction needs at least two postings');
  let sum = 0;
  for (const p of t.postings) {
    if (!Number.isSafeInteger(p.amountPence) || p.amountPence === 0)
      throw new LedgerError('every posting is a whole, non-zero number of pence');
    if (Math.abs(p.amountPence) > 1e13) throw new LedgerError('a posting is larger than any budget');
    sum += p.amountPence;
  }
  if (sum !== 0) throw new LedgerError(`postings must sum to zero (they sum to ${sum} pence)`);
}

/** The reversing entry for a transaction: every posting negated, same dimensions. */
export function reversalOf(
  original: { id: string; postings: PostingInput[] },
  options: { id?: string; occurredOn: string; recordedBy: string; reason: string },
): TransactionInput {
  return {
    id: options.id ?? `reversal:${original.id}`,
    kind: 'reversal',
    occurredOn: options.occurredOn,
    description: `Reversal: ${options.reason}`,
    recordedBy: options.recordedBy,
    reversesTransactionId: original.id,
    postings: original.postings.map((p) => ({ ...p, amountPence: -p.amountPence })),
  };
}

/** Balance per account over a set of transactions (pure; the database computes the same). */
export function balancesOf(transactions: readonly { postings: readonly PostingInput[] }[]): Map<string, number> {
  const balances = new Map<string, number>();
  for (const t of transactions) for (const p of t.postings) balances.set(p.accountId, (balances.get(p.accountId) ?? 0) + p.amountPence);
  for (const [k, v] of balances) if (v === 0) balances.delete(k);
  return balances;
}

export async function ensureAccounts(db: Kysely<Database>, accounts: readonly AccountInput[]): Promise<void> {
  const unique = [...new Map(accounts.map((a) => [a.id, a])).values()];
  for (let start = 0; start < unique.length; start += 5000) {
    const batch = unique.slice(start, start + 5000);
    const col = <T>(f: (a: AccountInput) => T) => batch.map(f);
    await sql`insert into ledger_accounts (id, kind, name, fund_id, financial_year, partner_id, target_kind, target_id, service_id, person_id)
      select * from unnest(${col((a) => a.id)}::text[], ${col((a) => a.kind)}::text[], ${col((a) => a.name)}::text[], ${col((a) => a.fundId ?? null)}::text[],
        ${col((a) => a.financialYear ?? null)}::int[], ${col((a) => a.partnerId ?? null)}::text[], ${col((a) => a.targetKind ?? null)}::text[],
        ${col((a) => a.targetId ?? null)}::text[], ${col((a) => a.serviceId ?? null)}::text[], ${col((a) => a.personId ?? null)}::text[])
      on conflict (id) do nothing`.execute(db);
  }
}

/**
 * Posts balanced transactions. Idempotent: a transaction whose id is already in the ledger is
 * skipped (with its postings), so re-running a generated schedule posts nothing twice.
 * Returns the ids actually posted.
 */
export async function postTransactions(
  db: Kysely<Database>,
  transactions: readonly TransactionInput[],
  batchSize = 10_000,
): Promise<string[]> {
  for (const t of transactions) validateTransaction(t);
  const ids = new Set<string>();
  for (const t of transactions) {
    if (ids.has(t.id)) throw new LedgerError('the same transaction id appears twice in one posting');
    ids.add(t.id);
  }
  const posted: string[] = [];
  for (let start = 0; start < transactions.length; start += batchSize) {
    const batch = transactions.slice(start, start + batchSize);
    await inTransaction(db, async (trx) => {
      const inserted = await sql<{
        id: string;
      }>`insert into ledger_transactions (id, kind, occurred_on, financial_year, description, reverses_transaction_id, evidence, recorded_by)
        select id, kind, occurred_on, financial_year, description, reverses, evidence::jsonb, recorded_by from unnest(
          ${batch.map((t) => t.id)}::text[], ${batch.map((t) => t.kind)}::text[], ${batch.map((t) => t.occurredOn)}::date[],
          ${batch.map((t) => financialYearOf(t.occurredOn))}::int[], ${batch.map((t) => t.description)}::text[],
          ${batch.map((t) => t.reversesTransactionId ?? null)}::text[], ${batch.map((t) => (t.evidence === undefined ? null : JSON.stringify(t.evidence)))}::text[],
          ${batch.map((t) => t.recordedBy)}::text[]) as u(id, kind, occurred_on, financial_year, description, reverses, evidence, recorded_by)
        on conflict (id) do nothing
        returning id`.execute(trx);
      const fresh = new Set(inserted.rows.map((r) => r.id));
      const rows = batch.filter((t) => fresh.has(t.id)).flatMap((t) => t.postings.map((p) => ({ t: t.id, p })));
      if (rows.length === 0) return;
      const col = <T>(f: (r: { t: string; p: PostingInput }) => T) => rows.map(f);
      // One statement per batch: the database checks each transaction balances as a whole.
      await sql`insert into ledger_postings (transaction_id, account_id, amount_pence, person_id, household_id, service_id, locality_id, pathway_code, goal_code)
        select * from unnest(${col((r) => r.t)}::text[], ${col((r) => r.p.accountId)}::text[], ${col((r) => r.p.amountPence)}::bigint[],
          ${col((r) => r.p.personId ?? null)}::text[], ${col((r) => r.p.householdId ?? null)}::text[], ${col((r) => r.p.serviceId ?? null)}::text[],
          ${col((r) => r.p.localityId ?? null)}::text[], ${col((r) => r.p.pathwayCode ?? null)}::text[], ${col((r) => r.p.goalCode ?? null)}::text[])`.execute(
        trx,
      );
      posted.push(...batch.filter((t) => fresh.has(t.id)).map((t) => t.id));
    });
  }
  return posted;
}

export async function loadTransaction(db: Kysely<Database>, id: string): Promise<(TransactionInput & { recordedAt: Date }) | undefined> {
  const t = await db.selectFrom('ledger_transactions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!t) return undefined;
  const postings = await db.selectFrom('ledger_postings').selectAll().where('transaction_id', '=', id).orderBy('id').execute();
  return {
    id: t.id,
    kind: t.kind,
    occurredOn: t.occurred_on,
    description: t.description,
    recordedBy: t.recorded_by,
    recordedAt: t.recorded_at,
    reversesTransactionId: t.reverses_transaction_id,
    evidence: t.evidence,
    postings: postings.map((p) => ({
      accountId: p.account_id,
      amountPence: Number(p.amount_pence),
      personId: p.person_id,
      householdId: p.household_id,
      serviceId: p.service_id,
      localityId: p.locality_id,
      pathwayCode: p.pathway_code,
      goalCode: p.goal_code,
    })),
  };
}

/** Corrects a posted transaction by posting its reversal (once: the database allows one reversal each). */
export async function reverseTransaction(
  db: Kysely<Database>,
  id: string,
  options: { recordedBy: string; reason: string; occurredOn: string },
): Promise<string> {
  const original = await loadTransaction(db, id);
  if (!original) throw new LedgerError('there is no such transaction');
  if (original.kind === 'reversal') throw new LedgerError('a reversal cannot itself be reversed; post a new entry instead');
  const reversal = reversalOf(original, options);
  const posted = await postTransactions(db, [reversal]);
  if (posted.length === 0) throw new LedgerError('this transaction has already been reversed');
  return reversal.id;
}

/** Balances of every account (or those given), from the postings in the database. */
export async function accountBalances(db: Kysely<Database>, accountIds?: readonly string[]): Promise<Map<string, number>> {
  let query = db
    .selectFrom('ledger_postings')
    .select(['account_id', sql<number>`sum(amount_pence)::bigint`.as('balance')])
    .groupBy('account_id');
  if (accountIds) {
    if (accountIds.length === 0) return new Map();
    query = query.where('account_id', 'in', accountIds);
  }
  const rows = await query.execute();
  return new Map(rows.filter((r) => Number(r.balance) !== 0).map((r) => [r.account_id, Number(r.balance)]));
}
