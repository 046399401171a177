// Demo "who pays" for the demo citizen: the council and an NHS trust as funding partners with a
// budget holder each, one care package whose split the NHS disputed and the council changed,
// and one with a dispute still waiting, so the pages show a whole history. Everything goes
// through the use cases (access decisions, ledger postings and all). Runs once per database.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideAccess, openRelationship } from '../consent/index.ts';
import { householdMembersOn, householdOfPerson } from '../people/index.ts';
import { appointBudgetHolder, budgetHolderPartners, disputeShare, recordFundingDecision, resolveDispute } from './funding.ts';
import { createHouseholdBudget, recordHouseholdAgreement, spendHouseholdBudget } from './household-budgets.ts';

export interface FundingDemoInput {
  citizenId: string;
  /** A council practitioner involved in the citizen's care, and their organisation's name. */
  council: { user: SignedInUser; organisationName: string };
  /** An NHS practitioner whose organisation holds a record of the citizen. */
  nhs: { user: SignedInUser; organisationName: string };
  /** The citizen's own account, to give their agreement to the household budget. */
  citizenUser?: SignedInUser;
}

async function partnerFor(db: Kysely<Database>, organisationId: string, id: string, name: string, kind: string): Promise<string> {
  const existing = await db
    .selectFrom('budget_partners')
    .select('id')
    .where('organisation_id', '=', organisationId)
    .orderBy('id')
    .executeTakeFirst();
  if (existing) return existing.id;
  await db
    .insertInto('budget_partners')
    .values({ id, name, kind, organisation_id: organisationId })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return id;
}

const addDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

export async function setUpFundingDemo(db: Kysely<Database>, input: FundingDemoInput): Promise<void> {
  if (await db.selectFrom('funding_decisions').select('id').where('person_id', '=', input.citizenId).limit(1).executeTakeFirst()) return;
  const { council, nhs } = input;
  if (!council.user.organisationId || !nhs.user.organisationId) return;
  const councilPartner = await partnerFor(
    db,
    council.user.organisationId,
    `org-${council.user.organisationId}`,
    council.organisationName,
    'local_authority',
  );
  const nhsPartner = await partnerFor(
    db,
    nhs.user.organisationId,
    `nhs-${nhs.user.organisationId}`,
    `${nhs.organisationName} (NHS continuing healthcare)`,
    'nhs',
  );
  for (const [user, partner] of [
    [council.user, councilPartner],
    [nhs.user, nhsPartner],
  ] as const) {
    if (!(await budgetHolderPartners(db, user)).includes(partner))
      await appointBudgetHolder(db, { userId: user.id, organisationId: user.organisationId }, partner, 'seed:demo');
  }
  const today = new Date().toISOString().slice(0, 10);
  const started = addDays(today, -60);
  const homeCare = await recordFundingDecision(db, council.user, {
    personId: input.citizenId,
    package: 'Home care, two visits a day, and a night sitter twice a week',
    weeklyPence: 61_250,
    startsOn: started,
    endsOn: addDays(started, 364),
    shares: [
      { partnerId: councilPartner, basisPoints: 6000 },
      { partnerId: nhsPartner, basisPoints: 4000 },
    ],
    evidence: "Care Act assessment and carer's assessment; the NHS continuing healthcare checklist found nursing needs at night.",
    decidedOn: addDays(started, -7),
  });
  const dispute = await disputeShare(db, nhs.user, homeCare, {
    partnerId: nhsPartner,
    reason: 'The full assessment found the night needs are for supervision, not nursing: they are social care needs.',
  });
  await resolveDispute(db, council.user, homeCare, dispute, {
    outcome: 'changed',
    reason: 'Joint panel agreed: night sitting is social care; district nursing input stays with the NHS.',
    decidedOn: addDays(started, 14),
    shares: [
      { partnerId: councilPartner, basisPoints: 7500 },
      { partnerId: nhsPartner, basisPoints: 2500 },
    ],
  });
  const equipment = await recordFundingDecision(db, nhs.user, {
    personId: input.citizenId,
    package: 'Six weeks of reablement after a fall, with equipment at home',
    weeklyPence: 42_000,
    startsOn: addDays(today, -10),
    endsOn: addDays(today, 32),
    shares: [
      { partnerId: nhsPartner, basisPoints: 5000 },
      { partnerId: councilPartner, basisPoints: 5000 },
    ],
    evidence: 'Discharge to assess: therapy assessment on the ward; equipment recommended by the occupational therapist.',
    decidedOn: addDays(today, -11),
  });
  await disputeShare(db, council.user, equipment, {
    partnerId: councilPartner,
    reason: 'The first six weeks of reablement after discharge are free to the person and funded by the NHS discharge fund.',
  });
  if (input.citizenUser) await setUpHouseholdBudgetDemo(db, input.citizenId, council.user, input.citizenUser, today);
}

/**
 * The citizen's household holds a budget for short breaks and help at home. The council opens a
 * case with each other adult (a carer's assessment of the household) so it may act for them all;
 * the citizen agrees in their own words, the others through the practitioner, and one break is paid.
 */
async function setUpHouseholdBudgetDemo(
  db: Kysely<Database>,
  citizenId: string,
  council: SignedInUser,
  citizen: SignedInUser,
  today: string,
): Promise<void> {
  const householdId = await householdOfPerson(db, citizenId);
  if (!householdId || !council.organisationId) return;
  const adults = (await householdMembersOn(db, householdId, new Date())).filter((m) => m.adult);
  for (const adult of adults) {
    const access = await decideAccess(db, {
      actor: council,
      personId: adult.id,
      category: 'finances',
      purpose: 'care_coordination',
      action: 'write',
    });
    if (!access.allowed) {
      const organisationId = council.organisationId;
      await db.transaction().execute((trx) =>
        openRelationship(trx, {
          personId: adult.id,
          organisationId,
          teamId: null,
          practitionerId: null,
          ground: { kind: 'case', reason: "carer's assessment of the household" },
          recordedBy: null,
        }),
      );
    }
  }
  const budgetId = await createHouseholdBudget(db, council, {
    personId: citizenId,
    amountPence: 360_000,
    purpose: 'Short breaks and help at home, as the household chooses',
    agreedOn: addDays(today, -30),
  });
  await recordHouseholdAgreement(db, citizen, budgetId, {
    personId: citizenId,
    agrees: true,
    evidence: 'Agreed in my own words: we want to choose our own breaks.',
  });
  for (const adult of adults.filter((a) => a.id !== citizenId)) {
    await recordHouseholdAgreement(db, council, budgetId, { personId: adult.id, agrees: true, evidence: 'Agreed at the household visit' });
  }
  await spendHouseholdBudget(db, council, budgetId, {
    amountPence: 24_000,
    description: "A two-day short break for the household's carer",
    on: addDays(today, -12),
  });
}
