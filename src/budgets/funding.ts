// Who pays (issue 22): a case-level funding decision splits one person's care package between
// partners (shares summing to 100%), with the evidence and the decision-maker, and posts the
// commitment to the ledger. A partner may dispute its share; a budget holder of another partner
// resolves it, upholding the decision or changing it. Nothing is edited: a change is a new version
// of the shares, and in the ledger a reversal of the old commitment plus a new posting.
//
// Who may act: budget holders (practitioners of a partner's organisation, appointed), and only
// while the consent module's access decision lets them see the person's money matters. Reading
// follows the same decision: 'all' shows every decision; 'own_organisation' only those the
// reader's organisation is a party to.
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { NotAllowed, RefusedInput } from '../platform/refused.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideAccess, type AccessDecision } from '../consent/index.ts';
import { ensureAccounts, postTransactions, reversalOf, type AccountInput, type TransactionInput } from './ledger.ts';

type Db = Kysely<Database>;

/** Refused input: a malformed value or a rule of funding decisions (shown to the user as it is). */
export class FundingInputError extends RefusedInput {
  override name = 'FundingInputError';
  readonly field: string;
  constructor(field: string, message: string, status: 400 | 404 | 409 | 422 = 422) {
    super(status, message);
    this.field = field;
  }
}

/** The actor may not do this (no access to the person, or not a budget holder of the right partner). */
export class FundingRefused extends NotAllowed {}

export interface Share {
  partnerId: string;
  basisPoints: number;
}

export interface NewFundingDecision {
  personId: string;
  package: string;
  weeklyPence: number;
  startsOn: string;
  endsOn: string;
  shares: Share[];
  evidence: string;
  decidedOn: string;
}

const isDate = (d: string) => /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(Date.parse(`${d}T00:00:00Z`));
const daysBetween = (from: string, to: string) =>
  Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

/** The package's whole commitment: the weekly cost for every day from start to end (end not included). */
export function commitmentPence(weeklyPence: number, startsOn: string, endsOn: string): number {
  return Math.round((weeklyPence * daysBetween(startsOn, endsOn)) / 7);
}

/**
 * Splits whole pence by shares in basis points (1/100 of a percent) so the parts add up exactly:
 * each partner gets the floor of its share, and the pence left over go one each to the largest
 * remainders (ties to the partner listed first).
 */
export function splitPence(total: number, shares: readonly Share[]): Map<string, number> {
  const exact = shares.map((s, i) => ({
    i,
    s,
    floor: Math.floor((total * s.basisPoints) / 10_000),
    rest: (total * s.basisPoints) % 10_000,
  }));
  let left = total - exact.reduce((sum, e) => sum + e.floor, 0);
  for (const e of [...exact].sort((a, b) => b.rest - a.rest || a.i - b.i)) {
    if (left <= 0) break;
    e.floor += 1;
    left -= 1;
  }
  return new Map(exact.map((e) => [e.s.partnerId, e.floor]));
}

export function checkShares(shares: readonly Share[]): void {
  if (shares.length === 0) throw new FundingInputError('shares', 'Give at least one partner a share');
  const ids = new Set<string>();
  for (const s of shares) {
    if (!Number.isInteger(s.basisPoints) || s.basisPoints <= 0 || s.basisPoints > 10_000)
      throw new FundingInputError('shares', 'Each share is a percentage above 0 and at most 100, to two decimal places');
    if (ids.has(s.partnerId)) throw new FundingInputError('shares', 'Give each partner one share');
    ids.add(s.partnerId);
  }
  const total = shares.reduce((sum, s) => sum + s.basisPoints, 0);
  if (total !== 10_000)
    throw new FundingInputError(
      'shares',
      `The shares must add up to 100% (they add up to ${(total / 100).toFixed(2).replace(/\.00$/, '')}%)`,
    );
}

export function checkDecision(input: NewFundingDecision): void {
  if (input.package.trim().length < 3) throw new FundingInputError('package', 'Describe the care package');
  if (!Number.isSafeInteger(input.weeklyPence) || input.weeklyPence <= 0)
    throw new FundingInputError('weekly', 'Enter the weekly cost in pounds, for example 850 or 912.50');
  if (input.weeklyPence > 100_000_00) throw new FundingInputError('weekly', 'The weekly cost is more than any care package: check it');
  if (!isDate(input.startsOn)) throw new FundingInputError('starts', 'Enter the date the package starts');
  if (!isDate(input.endsOn)) throw new FundingInputError('ends', 'Enter the date the package ends');
  if (input.endsOn <= input.startsOn) throw new FundingInputError('ends', 'The package must end after it starts');
  if (daysBetween(input.startsOn, input.endsOn) > 3 * 366)
    throw new FundingInputError('ends', 'Decide funding for at most three years at a time');
  if (!isDate(input.decidedOn)) throw new FundingInputError('decided', 'Enter the date of the decision');
  if (input.evidence.trim().length < 10)
    throw new FundingInputError(
      'evidence',
      'Give the evidence the decision rests on (the assessment, the eligibility, what each partner is responsible for)',
    );
  checkShares(input.shares);
}

/** The package's commitment account, and each partner's reserve of commitments. */
const packageAccount = (decisionId: string, personId: string): AccountInput => ({
  id: `package_commitment:${decisionId}`,
  kind: 'service_commitment',
  name: 'Care package commitment',
  personId,
  targetKind: 'funding_decision',
  targetId: decisionId,
});
const reserveAccount = (partnerId: string, partnerName: string): AccountInput => ({
  id: `commitment_reserve:${partnerId}`,
  kind: 'commitment_reserve',
  name: `${partnerName} commitments to care packages`,
  partnerId,
});

export const versionTransactionId = (decisionId: string, version: number) => `funding:${decisionId}:v${version}`;

/**
 * The commitment posting of one version: the package's commitment debited with the whole amount,
 * each partner's reserve credited with its share, so the transaction sums to zero.
 */
export function commitmentTransaction(
  decisionId: string,
  version: number,
  personId: string,
  amounts: ReadonlyMap<string, number>,
  decidedOn: string,
  recordedBy: string,
  description: string,
): TransactionInput {
  const total = [...amounts.values()].reduce((s, v) => s + v, 0);
  return {
    id: versionTransactionId(decisionId, version),
    kind: 'commitment',
    occurredOn: decidedOn,
    recordedBy,
    description,
    evidence: { fundingDecision: decisionId, version },
    postings: [
      { accountId: packageAccount(decisionId, personId).id, amountPence: total, personId },
      ...[...amounts]
        .filter(([, pence]) => pence > 0)
        .map(([partnerId, pence]) => ({ accountId: `commitment_reserve:${partnerId}`, amountPence: -pence, personId })),
    ],
  };
}

interface Partner {
  id: string;
  name: string;
  organisation_id: string | null;
}

async function partnersById(db: Db, ids: readonly string[]): Promise<Map<string, Partner>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('budget_partners')
    .select(['id', 'name', 'organisation_id'])
    .where('id', 'in', [...ids])
    .execute();
  return new Map(rows.map((r) => [r.id, r]));
}

/** Partners a decision can share between: those with an organisation in the network, by name. */
export async function fundingPartners(db: Db): Promise<Partner[]> {
  return db
    .selectFrom('budget_partners')
    .select(['id', 'name', 'organisation_id'])
    .where('organisation_id', 'is not', null)
    .orderBy('name')
    .execute();
}

/** Appoints a practitioner of a partner's organisation as one of its budget holders. */
export async function appointBudgetHolder(
  db: Db,
  holder: { userId: string; organisationId: string | null },
  partnerId: string,
  appointedBy: string,
): Promise<number> {
  const partner = (await partnersById(db, [partnerId])).get(partnerId);
  if (!partner) throw new FundingInputError('partner', 'There is no such partner', 404);
  if (!partner.organisation_id || partner.organisation_id !== holder.organisationId)
    throw new FundingInputError('partner', "A budget holder works for the partner's organisation");
  const row = await db
    .insertInto('budget_holders')
    .values({ user_id: holder.userId, partner_id: partnerId, appointed_by: appointedBy })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function endBudgetHolder(db: Db, holderId: number, endedBy: string): Promise<void> {
  await db
    .insertInto('budget_holder_endings')
    .values({ holder_id: holderId, ended_by: endedBy })
    .onConflict((oc) => oc.column('holder_id').doNothing())
    .execute();
}

/** The partners the actor holds a budget for now (a practitioner of the partner's own organisation). */
export async function budgetHolderPartners(db: Db, actor: SignedInUser): Promise<string[]> {
  if (actor.role !== 'practitioner' || !actor.organisationId) return [];
  const rows = await db
    .selectFrom('budget_holders as h')
    .innerJoin('budget_partners as p', 'p.id', 'h.partner_id')
    .leftJoin('budget_holder_endings as e', 'e.holder_id', 'h.id')
    .select('h.partner_id')
    .distinct()
    .where('h.user_id', '=', actor.id)
    .where('e.holder_id', 'is', null)
    .where('p.organisation_id', '=', actor.organisationId)
    .execute();
  return rows.map((r) => r.partner_id);
}

/** The consent module's decision on the person's money matters, for coordinating their care. */
async function accessFor(db: Db, actor: SignedInUser, personId: string, action: 'read' | 'write'): Promise<AccessDecision> {
  const purpose = actor.role === 'citizen' ? 'self' : 'care_coordination';
  return decideAccess(db, { actor, personId, category: 'finances', purpose, action });
}

/** Refuses unless the actor may write to the person's money matters and holds a budget for one of `partnerIds`. */
async function requireDecider(
  db: Db,
  actor: SignedInUser,
  personId: string,
  partnerIds: readonly string[],
  what: string,
): Promise<string[]> {
  if (actor.role !== 'practitioner') throw new FundingRefused(`Only a budget holder of a partner can ${what}`);
  const access = await accessFor(db, actor, personId, 'write');
  if (!access.allowed) throw new FundingRefused(`You cannot ${what} for this person: ${access.reason}`);
  const held = await budgetHolderPartners(db, actor);
  const mine = held.filter((p) => partnerIds.includes(p));
  if (mine.length === 0) throw new FundingRefused(`Only a budget holder of a partner in this decision can ${what}`);
  return mine;
}

async function postVersion(
  trx: Db,
  decisionId: string,
  version: number,
  personId: string,
  shares: readonly Share[],
  commitment: number,
  decidedOn: string,
  actor: SignedInUser,
  evidence: string,
  reason: string,
): Promise<void> {
  const partners = await partnersById(
    trx,
    shares.map((s) => s.partnerId),
  );
  for (const s of shares) if (!partners.has(s.partnerId)) throw new FundingInputError('shares', 'Choose partners from the list', 404);
  const amounts = splitPence(commitment, shares);
  await ensureAccounts(trx, [
    packageAccount(decisionId, personId),
    ...shares.map((s) => reserveAccount(s.partnerId, partners.get(s.partnerId)!.name)),
  ]);
  const transaction = commitmentTransaction(
    decisionId,
    version,
    personId,
    amounts,
    decidedOn,
    actor.id,
    version === 1 ? 'Care package commitment (funding decision)' : `Care package commitment, changed on dispute (version ${version})`,
  );
  await postTransactions(trx, [transaction]);
  await trx
    .insertInto('funding_decision_versions')
    .values({
      decision_id: decisionId,
      version,
      evidence: evidence.trim(),
      decided_by: actor.id,
      decided_by_name: actor.displayName,
      decided_by_organisation_id: actor.organisationId,
      decided_on: decidedOn,
      reason,
      commitment_pence: commitment,
      transaction_id: transaction.id,
    })
    .execute();
  await trx
    .insertInto('funding_shares')
    .values(
      shares.map((s) => ({
        decision_id: decisionId,
        version,
        partner_id: s.partnerId,
        basis_points: s.basisPoints,
        amount_pence: amounts.get(s.partnerId) ?? 0,
      })),
    )
    .execute();
}

/** Records a funding decision and posts its commitment, in one transaction. Returns its id. */
export async function recordFundingDecision(db: Db, actor: SignedInUser, input: NewFundingDecision): Promise<string> {
  checkDecision(input);
  await requireDecider(
    db,
    actor,
    input.personId,
    input.shares.map((s) => s.partnerId),
    'record a funding decision',
  );
  const id = `fd-${randomBytes(6).toString('hex')}`;
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('funding_decisions')
      .values({
        id,
        person_id: input.personId,
        package: input.package.trim(),
        weekly_pence: input.weeklyPence,
        starts_on: input.startsOn,
        ends_on: input.endsOn,
        recorded_by: actor.id,
      })
      .execute();
    await postVersion(
      trx,
      id,
      1,
      input.personId,
      input.shares,
      commitmentPence(input.weeklyPence, input.startsOn, input.endsOn),
      input.decidedOn,
      actor,
      input.evidence,
      'Funding decision',
    );
  });
  return id;
}

async function decisionRow(db: Db, decisionId: string) {
  return db.selectFrom('funding_decisions').selectAll().where('id', '=', decisionId).executeTakeFirst();
}

async function currentVersion(db: Db, decisionId: string): Promise<{ version: number; shares: Share[] }> {
  const v = await db
    .selectFrom('funding_decision_versions')
    .select(sql<number>`max(version)`.as('version'))
    .where('decision_id', '=', decisionId)
    .executeTakeFirstOrThrow();
  const version = Number(v.version);
  const shares = await db
    .selectFrom('funding_shares')
    .select(['partner_id', 'basis_points'])
    .where('decision_id', '=', decisionId)
    .where('version', '=', version)
    .orderBy('partner_id')
    .execute();
  return { version, shares: shares.map((s) => ({ partnerId: s.partner_id, basisPoints: s.basis_points })) };
}

async function openDispute(db: Db, decisionId: string) {
  return db
    .selectFrom('funding_disputes as d')
    .leftJoin('funding_dispute_resolutions as r', 'r.dispute_id', 'd.id')
    .select(['d.id', 'd.partner_id', 'd.version', 'd.raised_by'])
    .where('d.decision_id', '=', decisionId)
    .where('r.dispute_id', 'is', null)
    .executeTakeFirst();
}

/** Locks the decision so disputes and resolutions on it happen one after another. */
async function lockDecision(trx: Db, decisionId: string): Promise<void> {
  await trx.selectFrom('funding_decisions').select('id').where('id', '=', decisionId).forUpdate().execute();
}

/** A budget holder of a partner with a share disputes that share. */
export async function disputeShare(
  db: Db,
  actor: SignedInUser,
  decisionId: string,
  input: { partnerId: string; reason: string },
): Promise<number> {
  const decision = await decisionRow(db, decisionId);
  if (!decision) throw new FundingInputError('decision', 'There is no such funding decision', 404);
  const reason = input.reason.trim();
  if (reason.length < 10) throw new FundingInputError('reason', 'Say why your organisation disputes its share');
  const mine = await requireDecider(db, actor, decision.person_id, [input.partnerId], 'dispute this share');
  if (!mine.includes(input.partnerId)) throw new FundingRefused('Only a budget holder of that partner can dispute its share');
  const { shares } = await currentVersion(db, decisionId);
  if (!shares.some((s) => s.partnerId === input.partnerId))
    throw new FundingInputError('partner', 'Choose a partner with a share in this decision');
  return db.transaction().execute(async (trx) => {
    await lockDecision(trx, decisionId);
    if (await openDispute(trx, decisionId))
      throw new FundingInputError('reason', 'This decision already has a dispute waiting to be resolved', 409);
    const { version } = await currentVersion(trx, decisionId);
    const row = await trx
      .insertInto('funding_disputes')
      .values({
        decision_id: decisionId,
        version,
        partner_id: input.partnerId,
        reason,
        raised_by: actor.id,
        raised_by_name: actor.displayName,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  });
}

export interface Resolution {
  outcome: 'upheld' | 'changed';
  reason: string;
  /** The new shares, when the decision is changed. */
  shares?: Share[];
  decidedOn: string;
}

/**
 * Resolves the open dispute: a budget holder of another partner in the decision (not the person
 * who raised it) upholds the decision, or changes the shares; a change reverses the old
 * commitment and posts the new one, all in one transaction.
 */
export async function resolveDispute(
  db: Db,
  actor: SignedInUser,
  decisionId: string,
  disputeId: number,
  resolution: Resolution,
): Promise<void> {
  const decision = await decisionRow(db, decisionId);
  if (!decision) throw new FundingInputError('decision', 'There is no such funding decision', 404);
  const reason = resolution.reason.trim();
  if (reason.length < 10) throw new FundingInputError('resolution_reason', 'Say why the decision is upheld or changed');
  if (!isDate(resolution.decidedOn)) throw new FundingInputError('decided', 'Enter the date of the decision');
  if (resolution.outcome === 'changed') checkShares(resolution.shares ?? []);
  const current = await currentVersion(db, decisionId);
  const dispute = await openDispute(db, decisionId);
  if (!dispute || dispute.id !== disputeId) throw new FundingInputError('dispute', 'This dispute has already been resolved', 409);
  const others = current.shares.map((s) => s.partnerId).filter((p) => p !== dispute.partner_id);
  await requireDecider(
    db,
    actor,
    decision.person_id,
    others,
    'resolve this dispute (a budget holder of another partner in the decision resolves it)',
  );
  if (dispute.raised_by === actor.id) throw new FundingRefused('Someone other than the person who raised a dispute must resolve it');
  await db.transaction().execute(async (trx) => {
    await lockDecision(trx, decisionId);
    const still = await openDispute(trx, decisionId);
    if (!still || still.id !== disputeId) throw new FundingInputError('dispute', 'This dispute has already been resolved', 409);
    const { version } = await currentVersion(trx, decisionId);
    let newVersion: number | null = null;
    if (resolution.outcome === 'changed') {
      newVersion = version + 1;
      const old = await trx
        .selectFrom('ledger_postings')
        .select(['account_id', 'amount_pence', 'person_id'])
        .where('transaction_id', '=', versionTransactionId(decisionId, version))
        .orderBy('id')
        .execute();
      const reversal = reversalOf(
        {
          id: versionTransactionId(decisionId, version),
          postings: old.map((p) => ({ accountId: p.account_id, amountPence: Number(p.amount_pence), personId: p.person_id })),
        },
        {
          occurredOn: resolution.decidedOn,
          recordedBy: actor.id,
          reason: `funding decision changed on dispute (version ${version} replaced)`,
        },
      );
      if ((await postTransactions(trx, [reversal])).length === 0)
        throw new FundingInputError('dispute', 'This version has already been replaced', 409);
      const evidence = (
        await trx
          .selectFrom('funding_decision_versions')
          .select('evidence')
          .where('decision_id', '=', decisionId)
          .where('version', '=', version)
          .executeTakeFirstOrThrow()
      ).evidence;
      await postVersion(
        trx,
        decisionId,
        newVersion,
        decision.person_id,
        resolution.shares ?? [],
        commitmentPence(Number(decision.weekly_pence), decision.starts_on, decision.ends_on),
        resolution.decidedOn,
        actor,
        evidence,
        `Changed on dispute: ${reason}`,
      );
    }
    await trx
      .insertInto('funding_dispute_resolutions')
      .values({
        dispute_id: disputeId,
        outcome: resolution.outcome,
        reason,
        resolved_by: actor.id,
        resolved_by_name: actor.displayName,
        new_version: newVersion,
      })
      .execute();
  });
}

export interface FundingVersionView {
  version: number;
  decidedOn: string;
  decidedByName: string;
  evidence: string;
  reason: string;
  commitmentPence: number;
  transactionId: string;
  shares: Array<{ partnerId: string; partner: string; percent: string; amountPence: number }>;
}
export interface FundingDisputeView {
  id: number;
  version: number;
  partnerId: string;
  partner: string;
  reason: string;
  raisedByName: string;
  raisedAt: Date;
  resolution: { outcome: 'upheld' | 'changed'; reason: string; resolvedByName: string; resolvedAt: Date; newVersion: number | null } | null;
}
export interface FundingDecisionView {
  id: string;
  personId: string;
  package: string;
  weeklyPence: number;
  startsOn: string;
  endsOn: string;
  current: FundingVersionView;
  versions: FundingVersionView[];
  disputes: FundingDisputeView[];
  openDispute: FundingDisputeView | null;
  ledger: Array<{
    id: string;
    kind: string;
    occurredOn: string;
    description: string;
    postings: Array<{ account: string; amountPence: number }>;
  }>;
}

const percent = (bp: number) => `${(bp / 100).toFixed(2).replace(/\.?0+$/, '')}%`;

async function loadViews(db: Db, decisionIds: readonly string[]): Promise<FundingDecisionView[]> {
  if (decisionIds.length === 0) return [];
  const [decisions, versions, shares, disputes, resolutions, partners] = await Promise.all([
    db
      .selectFrom('funding_decisions')
      .selectAll()
      .where('id', 'in', [...decisionIds])
      .orderBy('starts_on', 'desc')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('funding_decision_versions')
      .selectAll()
      .where('decision_id', 'in', [...decisionIds])
      .orderBy('version')
      .execute(),
    db
      .selectFrom('funding_shares')
      .selectAll()
      .where('decision_id', 'in', [...decisionIds])
      .orderBy('basis_points', 'desc')
      .orderBy('partner_id')
      .execute(),
    db
      .selectFrom('funding_disputes')
      .selectAll()
      .where('decision_id', 'in', [...decisionIds])
      .orderBy('id')
      .execute(),
    db
      .selectFrom('funding_dispute_resolutions as r')
      .innerJoin('funding_disputes as d', 'd.id', 'r.dispute_id')
      .selectAll('r')
      .where('d.decision_id', 'in', [...decisionIds])
      .execute(),
    db.selectFrom('budget_partners').select(['id', 'name']).execute(),
  ]);
  const partnerName = new Map(partners.map((p) => [p.id, p.name]));
  const transactionIds = versions.map((v) => v.transaction_id);
  const ledgerTx = await db
    .selectFrom('ledger_transactions')
    .select(['id', 'kind', sql<string>`occurred_on::text`.as('occurred_on'), 'description', 'reverses_transaction_id'])
    .where((eb) => eb.or([eb('id', 'in', transactionIds), eb('reverses_transaction_id', 'in', transactionIds)]))
    .orderBy('recorded_at')
    .orderBy(sql`kind = 'reversal'`, 'desc')
    .orderBy('id')
    .execute();
  const postings =
    ledgerTx.length === 0
      ? []
      : await db
          .selectFrom('ledger_postings as p')
          .innerJoin('ledger_accounts as a', 'a.id', 'p.account_id')
          .select(['p.transaction_id', 'a.name', 'p.amount_pence'])
          .where(
            'p.transaction_id',
            'in',
            ledgerTx.map((t) => t.id),
          )
          .orderBy('p.id')
          .execute();
  return decisions.map((d) => {
    const vs: FundingVersionView[] = versions
      .filter((v) => v.decision_id === d.id)
      .map((v) => ({
        version: v.version,
        decidedOn: String(v.decided_on).slice(0, 10),
        decidedByName: v.decided_by_name,
        evidence: v.evidence,
        reason: v.reason,
        commitmentPence: Number(v.commitment_pence),
        transactionId: v.transaction_id,
        shares: shares
          .filter((s) => s.decision_id === d.id && s.version === v.version)
          .map((s) => ({
            partnerId: s.partner_id,
            partner: partnerName.get(s.partner_id) ?? s.partner_id,
            percent: percent(s.basis_points),
            amountPence: Number(s.amount_pence),
          })),
      }));
    const ds: FundingDisputeView[] = disputes
      .filter((x) => x.decision_id === d.id)
      .map((x) => {
        const r = resolutions.find((y) => Number(y.dispute_id) === Number(x.id));
        return {
          id: Number(x.id),
          version: x.version,
          partnerId: x.partner_id,
          partner: partnerName.get(x.partner_id) ?? x.partner_id,
          reason: x.reason,
          raisedByName: x.raised_by_name,
          raisedAt: x.raised_at,
          resolution: r
            ? {
                outcome: r.outcome,
                reason: r.reason,
                resolvedByName: r.resolved_by_name,
                resolvedAt: r.resolved_at,
                newVersion: r.new_version,
              }
            : null,
        };
      });
    const mineTx = new Set(vs.map((v) => v.transactionId));
    return {
      id: d.id,
      personId: d.person_id,
      package: d.package,
      weeklyPence: Number(d.weekly_pence),
      startsOn: String(d.starts_on).slice(0, 10),
      endsOn: String(d.ends_on).slice(0, 10),
      current: vs[vs.length - 1]!,
      versions: vs,
      disputes: ds,
      openDispute: ds.find((x) => x.resolution === null) ?? null,
      ledger: ledgerTx
        .filter((t) => mineTx.has(t.id) || (t.reverses_transaction_id !== null && mineTx.has(t.reverses_transaction_id)))
        .map((t) => ({
          id: t.id,
          kind: t.kind,
          occurredOn: t.occurred_on,
          description: t.description,
          postings: postings
            .filter((p) => p.transaction_id === t.id)
            .map((p) => ({ account: p.name, amountPence: Number(p.amount_pence) })),
        })),
    };
  });
}

/** Which of these decisions the reader may see under the access decision. */
async function visibleTo(db: Db, actor: SignedInUser, access: AccessDecision, decisionIds: readonly string[]): Promise<string[]> {
  if (access.visibleOrganisationIds === 'all') return [...decisionIds];
  if (decisionIds.length === 0 || !actor.organisationId || !access.visibleOrganisationIds.includes(actor.organisationId)) return [];
  // Own organisation's part: decisions it made, or in which it is (or was) a partner.
  const rows = await db
    .selectFrom('funding_decisions as d')
    .select('d.id')
    .distinct()
    .where('d.id', 'in', [...decisionIds])
    .where((eb) =>
      eb.or([
        eb.exists(
          eb
            .selectFrom('funding_decision_versions as v')
            .select('v.version')
            .whereRef('v.decision_id', '=', 'd.id')
            .where('v.decided_by_organisation_id', '=', actor.organisationId),
        ),
        eb.exists(
          eb
            .selectFrom('funding_shares as s')
            .innerJoin('budget_partners as p', 'p.id', 's.partner_id')
            .select('s.version')
            .whereRef('s.decision_id', '=', 'd.id')
            .where('p.organisation_id', '=', actor.organisationId),
        ),
      ]),
    )
    .execute();
  return rows.map((r) => r.id);
}

export interface PersonFunding {
  access: AccessDecision;
  decisions: FundingDecisionView[];
  holderOf: string[];
}

/** The person's funding decisions the reader may see (refused outright when the decision allows nothing). */
export async function fundingDecisionsOf(db: Db, actor: SignedInUser, personId: string): Promise<PersonFunding> {
  if (actor.role !== 'practitioner' && actor.role !== 'citizen')
    throw new FundingRefused('Funding decisions about a person are seen only by those involved in their care, and by the person');
  const access = await accessFor(db, actor, personId, 'read');
  if (!access.allowed) throw new FundingRefused(`You cannot see this person's funding decisions: ${access.reason}`);
  const ids = (await db.selectFrom('funding_decisions').select('id').where('person_id', '=', personId).execute()).map((r) => r.id);
  return {
    access,
    decisions: await loadViews(db, await visibleTo(db, actor, access, ids)),
    holderOf: await budgetHolderPartners(db, actor),
  };
}

/** One decision with its whole history, if the reader may see it. */
export async function fundingDecision(
  db: Db,
  actor: SignedInUser,
  decisionId: string,
): Promise<PersonFunding & { decision: FundingDecisionView }> {
  const row = await decisionRow(db, decisionId);
  if (!row) throw new FundingInputError('decision', 'There is no such funding decision', 404);
  if (actor.role !== 'practitioner' && actor.role !== 'citizen')
    throw new FundingRefused('Funding decisions about a person are seen only by those involved in their care, and by the person');
  const access = await accessFor(db, actor, row.person_id, 'read');
  if (!access.allowed) throw new FundingRefused(`You cannot see this funding decision: ${access.reason}`);
  const [decision] = await loadViews(db, await visibleTo(db, actor, access, [decisionId]));
  if (!decision)
    throw new FundingRefused(
      'You cannot see this funding decision: your organisation is not a party to it and the person has not agreed to share their money matters with you',
    );
  return { access, decisions: [decision], decision, holderOf: await budgetHolderPartners(db, actor) };
}
