// Households in charge (issue 22): a budget the household holds together. Every adult member's
// agreement (and any withdrawal) is recorded in order, and money is spent only while every adult
// in the household now agrees. Money moves through the ledger like a personal budget's: the
// allocation to personal budgets funds the household's account; spend draws it down.
//
// Access: setting one up or spending it needs the consent module's decision to allow writing the
// money matters of every adult member (a practitioner involved with the whole household) or, for
// spending and agreeing, an adult member themselves. Each member is named to a reader only where
// the decision lets that reader see that member.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { NotAllowed, RefusedInput } from '../platform/refused.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideAccess, decideRecordAccessForMany, type RecordAccess } from '../consent/index.ts';
import { householdMembersOn, householdOfPerson, type HouseholdMember } from '../people/index.ts';
import { accountBalances, ensureAccounts, postTransactions } from './ledger.ts';
import { allocationAccount, spendAccount } from './accounts.ts';
import { financialYearOf } from './goals.ts';

type Db = Kysely<Database>;

export class HouseholdBudgetInputError extends RefusedInput {
  override name = 'HouseholdBudgetInputError';
  readonly field: string;
  constructor(field: string, message: string, status: 400 | 404 | 409 | 422 = 422) {
    super(status, message);
    this.field = field;
  }
}

export class HouseholdBudgetRefused extends NotAllowed {}

const isDate = (d: string) => /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(Date.parse(`${d}T00:00:00Z`));
const householdAccountId = (budgetId: string) => `household_budget:${budgetId}`;

/** Whether the actor may write the money matters of every one of these people (refusal reason if not). */
async function writesForAll(db: Db, actor: SignedInUser, people: readonly HouseholdMember[]): Promise<string | null> {
  if (actor.role !== 'practitioner') return 'only a practitioner involved with the household can do this';
  for (const p of people) {
    const access = await decideAccess(db, { actor, personId: p.id, category: 'finances', purpose: 'care_coordination', action: 'write' });
    if (!access.allowed) return `you are not involved with every adult in the household (${access.reason})`;
  }
  return null;
}

export interface NewHouseholdBudget {
  personId: string;
  amountPence: number;
  purpose: string;
  agreedOn: string;
  fundId?: string;
}

/** Sets up a budget for the person's household and moves the money to it. Returns its id. */
export async function createHouseholdBudget(db: Db, actor: SignedInUser, input: NewHouseholdBudget): Promise<string> {
  if (!Number.isSafeInteger(input.amountPence) || input.amountPence <= 0)
    throw new HouseholdBudgetInputError('amount', 'Enter the budget in pounds, for example 4800');
  if (input.purpose.trim().length < 5) throw new HouseholdBudgetInputError('purpose', 'Say what the budget is for');
  if (!isDate(input.agreedOn)) throw new HouseholdBudgetInputError('agreed', 'Enter the date the budget starts');
  const householdId = await householdOfPerson(db, input.personId);
  if (!householdId) throw new HouseholdBudgetInputError('person', 'This person has no household recorded', 404);
  const adults = (await householdMembersOn(db, householdId, new Date(`${input.agreedOn}T12:00:00Z`))).filter((m) => m.adult);
  const refused = await writesForAll(db, actor, adults);
  if (refused) throw new HouseholdBudgetRefused(`You cannot set up a household budget: ${refused}`);
  const fundId = input.fundId ?? 'better-lives';
  const year = financialYearOf(input.agreedOn);
  const id = `hb-${randomBytes(6).toString('hex')}`;
  const pool = allocationAccount(fundId, year, 'pathway', 'personal_budgets');
  await db.transaction().execute(async (trx) => {
    await ensureAccounts(trx, [
      pool,
      {
        id: householdAccountId(id),
        kind: 'personal_budget',
        name: 'Household budget',
        fundId,
        financialYear: year,
        targetKind: 'household',
        targetId: householdId,
      },
    ]);
    await postTransactions(trx, [
      {
        id: `hb-transfer:${id}`,
        kind: 'household_budget',
        occurredOn: input.agreedOn,
        recordedBy: actor.id,
        description: `Household budget set up: ${input.purpose.trim()}`,
        postings: [
          { accountId: householdAccountId(id), amountPence: input.amountPence, householdId, pathwayCode: 'personal_budgets' },
          { accountId: pool.id, amountPence: -input.amountPence, householdId, pathwayCode: 'personal_budgets' },
        ],
      },
    ]);
    await trx
      .insertInto('household_budgets')
      .values({
        id,
        household_id: householdId,
        fund_id: fundId,
        financial_year: year,
        amount_pence: input.amountPence,
        account_id: householdAccountId(id),
        purpose: input.purpose.trim(),
        agreed_on: input.agreedOn,
        recorded_by: actor.id,
        recorded_by_name: actor.displayName,
      })
      .execute();
  });
  return id;
}

async function budgetRow(db: Db, budgetId: string) {
  const row = await db.selectFrom('household_budgets').selectAll().where('id', '=', budgetId).executeTakeFirst();
  if (!row) throw new HouseholdBudgetInputError('budget', 'There is no such household budget', 404);
  return row;
}

/**
 * Records an adult member's agreement to the household budget, or its withdrawal. The person
 * records their own word; a practitioner who may write the person's money matters records what
 * the person told them.
 */
export async function recordHouseholdAgreement(
  db: Db,
  actor: SignedInUser,
  budgetId: string,
  input: { personId: string; agrees: boolean; evidence: string },
  now = new Date(),
): Promise<void> {
  const budget = await budgetRow(db, budgetId);
  const members = await householdMembersOn(db, budget.household_id, now);
  const member = members.find((m) => m.id === input.personId);
  if (!member?.adult) throw new HouseholdBudgetInputError('person', 'Only an adult living in the household gives or withdraws agreement');
  let recordedFor: 'person' | 'practitioner';
  if (actor.role === 'citizen' && actor.personId === input.personId) recordedFor = 'person';
  else if (actor.role === 'practitioner') {
    const access = await decideAccess(db, {
      actor,
      personId: input.personId,
      category: 'finances',
      purpose: 'care_coordination',
      action: 'write',
    });
    if (!access.allowed) throw new HouseholdBudgetRefused(`You cannot record this person's agreement: ${access.reason}`);
    recordedFor = 'practitioner';
  } else throw new HouseholdBudgetRefused('Only the person, or a practitioner involved in their care, records their agreement');
  const evidence = input.evidence.trim() || (recordedFor === 'person' ? 'Given by the person themselves, signed in' : '');
  if (evidence.length < 5)
    throw new HouseholdBudgetInputError('evidence', 'Say how the person told you (for example, at a home visit on 3 May)');
  await db
    .insertInto('household_budget_agreements')
    .values({
      budget_id: budgetId,
      person_id: input.personId,
      agrees: input.agrees,
      evidence,
      recorded_for: recordedFor,
      recorded_by: actor.id,
      recorded_by_name: actor.displayName,
    })
    .execute();
}

export interface AgreementState {
  personId: string;
  agrees: boolean;
  evidence: string | null;
  recordedFor: string | null;
  recordedAt: Date | null;
}

/** Each adult living in the household now, with their latest word (none yet counts as not agreeing). */
async function agreementsNow(
  db: Db,
  budgetId: string,
  householdId: string,
  now: Date,
): Promise<{ adults: HouseholdMember[]; states: AgreementState[]; allAgree: boolean }> {
  const adults = (await householdMembersOn(db, householdId, now)).filter((m) => m.adult);
  const rows = await db.selectFrom('household_budget_agreements').selectAll().where('budget_id', '=', budgetId).orderBy('id').execute();
  const states = adults.map((a) => {
    const latest = rows.filter((r) => r.person_id === a.id).at(-1);
    return {
      personId: a.id,
      agrees: latest?.agrees ?? false,
      evidence: latest?.evidence ?? null,
      recordedFor: latest?.recorded_for ?? null,
      recordedAt: latest?.recorded_at ?? null,
    };
  });
  return { adults, states, allAgree: adults.length > 0 && states.every((s) => s.agrees) };
}

/** Spends from the household budget: only while every adult agrees, and never more than is left. */
export async function spendHouseholdBudget(
  db: Db,
  actor: SignedInUser,
  budgetId: string,
  input: { amountPence: number; description: string; on: string },
  now = new Date(),
): Promise<string> {
  if (!Number.isSafeInteger(input.amountPence) || input.amountPence <= 0)
    throw new HouseholdBudgetInputError('spend_amount', 'Enter the amount in pounds, for example 120.50');
  if (input.description.trim().length < 3) throw new HouseholdBudgetInputError('description', 'Say what the money was spent on');
  if (!isDate(input.on)) throw new HouseholdBudgetInputError('on', 'Enter the date of the spend');
  const budget = await budgetRow(db, budgetId);
  const { adults, allAgree } = await agreementsNow(db, budgetId, budget.household_id, now);
  const isAdultMember = actor.role === 'citizen' && adults.some((a) => a.id === actor.personId);
  if (!isAdultMember) {
    const refused = await writesForAll(db, actor, adults);
    if (refused) throw new HouseholdBudgetRefused(`You cannot spend this household budget: ${refused}`);
  }
  if (!allAgree)
    throw new HouseholdBudgetInputError(
      'spend_amount',
      'Not every adult in the household agrees to this budget now, so nothing can be spent from it',
    );
  const id = `hb-spend:${budgetId}:${randomBytes(4).toString('hex')}`;
  await db.transaction().execute(async (trx) => {
    await trx.selectFrom('household_budgets').select('id').where('id', '=', budgetId).forUpdate().execute();
    const left = (await accountBalances(trx, [budget.account_id])).get(budget.account_id) ?? 0;
    if (input.amountPence > left)
      throw new HouseholdBudgetInputError(
        'spend_amount',
        `That is more than is left in the household budget (£${(left / 100).toFixed(2)})`,
      );
    const other = spendAccount(budget.fund_id, null);
    await ensureAccounts(trx, [other]);
    await postTransactions(trx, [
      {
        id,
        kind: 'household_budget_spend',
        occurredOn: input.on,
        recordedBy: actor.id,
        description: input.description.trim(),
        postings: [
          { accountId: other.id, amountPence: input.amountPence, householdId: budget.household_id, pathwayCode: 'personal_budgets' },
          {
            accountId: budget.account_id,
            amountPence: -input.amountPence,
            householdId: budget.household_id,
            pathwayCode: 'personal_budgets',
          },
        ],
      },
    ]);
  });
  return id;
}

export interface HouseholdBudgetView {
  id: string;
  purpose: string;
  amountPence: number;
  leftPence: number;
  agreedOn: string;
  recordedByName: string;
  allAgree: boolean;
  /** Adults the reader may see, by name, with their word; the rest are counted only. */
  members: Array<AgreementState & { name: string; self: boolean }>;
  hiddenAdults: number;
  spend: Array<{ on: string; description: string; pence: number }>;
}

/** The budgets of the person's household, if the reader may see the person's money matters. */
export async function householdBudgetsOf(db: Db, actor: SignedInUser, personId: string, now = new Date()): Promise<HouseholdBudgetView[]> {
  if (actor.role !== 'practitioner' && actor.role !== 'citizen')
    throw new HouseholdBudgetRefused("Household budgets are seen by those involved in the household's care, and by its members");
  const purpose = actor.role === 'citizen' ? 'self' : 'care_coordination';
  const access = await decideAccess(db, { actor, personId, category: 'finances', purpose, action: 'read' });
  if (!access.allowed) throw new HouseholdBudgetRefused(`You cannot see this household's budget: ${access.reason}`);
  const householdId = await householdOfPerson(db, personId);
  if (!householdId) return [];
  const budgets = await db
    .selectFrom('household_budgets')
    .selectAll()
    .where('household_id', '=', householdId)
    .orderBy('agreed_on', 'desc')
    .execute();
  if (budgets.length === 0) return [];
  const members = await householdMembersOn(db, householdId, now);
  // Each other member is named only where the reader may see them: one decision for them all
  // (each member audited as before), the person whose page it is already decided above.
  const others = members.filter((m) => m.id !== personId).map((m) => m.id);
  const seen =
    others.length === 0
      ? new Map<string, RecordAccess>()
      : await decideRecordAccessForMany(db, { actor, personIds: others, categories: ['demographics'], purpose, action: 'read' });
  const visible = new Set(
    members.filter((m) => m.id === personId || seen.get(m.id)!.byCategory.demographics.scope !== 'none').map((m) => m.id),
  );
  const result: HouseholdBudgetView[] = [];
  for (const b of budgets) {
    const { states, allAgree } = await agreementsNow(db, b.id, householdId, now);
    const left = (await accountBalances(db, [b.account_id])).get(b.account_id) ?? 0;
    const spend = await db
      .selectFrom('ledger_postings as p')
      .innerJoin('ledger_transactions as t', 't.id', 'p.transaction_id')
      .select(['t.occurred_on', 't.description', 'p.amount_pence'])
      .where('p.account_id', '=', b.account_id)
      .where('t.kind', '=', 'household_budget_spend')
      .orderBy('t.occurred_on', 'desc')
      .execute();
    const named = states.filter((s) => visible.has(s.personId));
    result.push({
      id: b.id,
      purpose: b.purpose,
      amountPence: Number(b.amount_pence),
      leftPence: left,
      agreedOn: String(b.agreed_on).slice(0, 10),
      recordedByName: b.recorded_by_name,
      allAgree,
      members: named.map((s) => {
        const m = members.find((x) => x.id === s.personId)!;
        return { ...s, name: `${m.givenName} ${m.familyName}`, self: actor.personId === s.personId };
      }),
      hiddenAdults: states.length - named.length,
      spend: spend.map((s) => ({ on: String(s.occurred_on).slice(0, 10), description: s.description, pence: -Number(s.amount_pence) })),
    });
  }
  return result;
}
