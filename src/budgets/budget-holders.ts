// Who may commit a partner's money: its budget holders (issue 22). A current budget holder of a
// partner appoints colleagues in the partner's own organisation and ends holders' appointments
// (nobody else may: not a practitioner of another organisation, not a commissioner, not a
// resident). Appointments and endings are kept, never edited (budget_holder_endings), and the
// page shows only staff names, never a resident's data.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { accountsOfPractitioner, usersByIds } from '../auth/index.ts';
import { practitionersOf } from '../network/index.ts';
import { appointBudgetHolder, budgetHolderPartners, endBudgetHolder, FundingInputError, FundingRefused } from './funding.ts';

type Db = Kysely<Database>;

export interface PartnerHolders {
  partnerId: string;
  name: string;
  holders: Array<{ holderId: number; userId: string; name: string; appointedAt: Date; self: boolean }>;
  /** Colleagues in the partner's organisation who may be appointed (practitioners with an account, not holders now). */
  candidates: Array<{ practitionerId: string; name: string }>;
}

async function currentHolders(db: Db, partnerIds: readonly string[]) {
  if (partnerIds.length === 0) return [];
  return db
    .selectFrom('budget_holders as h')
    .leftJoin('budget_holder_endings as e', 'e.holder_id', 'h.id')
    .select(['h.id', 'h.user_id', 'h.partner_id', 'h.appointed_at'])
    .where('h.partner_id', 'in', [...partnerIds])
    .where('e.holder_id', 'is', null)
    .orderBy('h.appointed_at')
    .orderBy('h.id')
    .execute();
}

/** The partners the actor holds a budget for, each with its holders and who could be appointed. Refused for anyone holding none. */
export async function budgetHoldersFor(db: Db, actor: SignedInUser): Promise<PartnerHolders[]> {
  const partnerIds = await budgetHolderPartners(db, actor);
  if (partnerIds.length === 0) throw new FundingRefused("Only a partner's budget holders can see and appoint its budget holders");
  const [partners, holders] = await Promise.all([
    db.selectFrom('budget_partners').select(['id', 'name', 'organisation_id']).where('id', 'in', partnerIds).orderBy('name').execute(),
    currentHolders(db, partnerIds),
  ]);
  const users = await usersByIds(
    db,
    holders.map((h) => h.user_id),
  );
  const out: PartnerHolders[] = [];
  for (const p of partners) {
    const mine = holders.filter((h) => h.partner_id === p.id);
    const holding = new Set(mine.map((h) => h.user_id));
    const candidates: PartnerHolders['candidates'] = [];
    for (const pr of p.organisation_id ? await practitionersOf(db, p.organisation_id) : []) {
      const [account] = await accountsOfPractitioner(db, pr.id);
      if (account && !holding.has(account)) candidates.push({ practitionerId: pr.id, name: `${pr.givenName} ${pr.familyName}` });
    }
    out.push({
      partnerId: p.id,
      name: p.name,
      holders: mine.map((h) => ({
        holderId: Number(h.id),
        userId: h.user_id,
        name: users.get(h.user_id)?.displayName ?? 'A former member of staff',
        appointedAt: new Date(h.appointed_at),
        self: h.user_id === actor.id,
      })),
      candidates,
    });
  }
  return out;
}

async function mustHold(db: Db, actor: SignedInUser, partnerId: string): Promise<void> {
  if (!(await budgetHolderPartners(db, actor)).includes(partnerId))
    throw new FundingRefused('Only a budget holder of this partner can appoint or end its budget holders');
}

/** A budget holder appoints a colleague of the partner's organisation (through the colleague's practitioner account). */
export async function appointColleague(db: Db, actor: SignedInUser, input: { partnerId: string; practitionerId: string }): Promise<number> {
  await mustHold(db, actor, input.partnerId);
  const partner = await db
    .selectFrom('budget_partners')
    .select('organisation_id')
    .where('id', '=', input.partnerId)
    .executeTakeFirstOrThrow();
  const colleague = partner.organisation_id
    ? (await practitionersOf(db, partner.organisation_id)).find((p) => p.id === input.practitionerId)
    : undefined;
  if (!colleague) throw new FundingInputError('practitionerId', "Choose a colleague in the partner's organisation from the list", 400);
  const [account] = await accountsOfPractitioner(db, colleague.id);
  if (!account) throw new FundingInputError('practitionerId', 'They have no account to sign in with, so cannot hold a budget', 400);
  if ((await currentHolders(db, [input.partnerId])).some((h) => h.user_id === account))
    throw new FundingInputError('practitionerId', 'They already hold this budget', 409);
  return appointBudgetHolder(db, { userId: account, organisationId: partner.organisation_id }, input.partnerId, actor.id);
}

/** A budget holder ends an appointment (their own included): from now that person cannot commit the partner's money. */
export async function endAppointment(db: Db, actor: SignedInUser, input: { partnerId: string; holderId: number }): Promise<void> {
  await mustHold(db, actor, input.partnerId);
  if (!(await currentHolders(db, [input.partnerId])).some((h) => Number(h.id) === input.holderId))
    throw new FundingInputError('holder', 'There is no such budget holder of this partner', 404);
  await endBudgetHolder(db, input.holderId, actor.id);
}
