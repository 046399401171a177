// Households in charge (issue 22): one referral for a whole household. A practitioner involved
// with every adult in the household starts it; each adult gives (or withdraws) their agreement,
// in their own words or through a practitioner involved with them; only when every adult agrees
// is it sent, as a referral for each adult through the ordinary referral rules (which decide
// access, record what each agreed to share and open the receiving service's relationship), all
// in one transaction: if one adult's part is refused, nothing is sent for anyone.
// Children in the household are named on it and covered by their parents' agreement.
// Readers see the household referral only where the access decision lets them see the person
// they look from, and each other member by name only where it lets them see that member.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideRecordAccess, decideRecordAccessForMany, type RecordAccess } from '../consent/index.ts';
import { householdMembersOn, householdOfPerson } from '../people/index.ts';
import { ReferralInputError, sendReferralIn } from './referrals.ts';
import { isUrgency, type Urgency } from './state.ts';

type Db = Kysely<Database>;

/** Whether the actor may coordinate the care of this person (the same test a referral needs). */
async function mayCoordinate(
  db: Db,
  actor: SignedInUser,
  personId: string,
  action: 'read' | 'write',
): Promise<{ allowed: boolean; reason: string }> {
  const access = await decideRecordAccess(db, { actor, personId, categories: ['demographics'], purpose: purposeOf(actor), action });
  return { allowed: access.byCategory.demographics.scope !== 'none', reason: access.reason };
}

/** Why a reader asks: a resident for themselves, anyone else to coordinate the person's care. */
const purposeOf = (actor: SignedInUser) => (actor.role === 'citizen' ? 'self' : 'care_coordination');

export interface NewHouseholdReferral {
  personId: string;
  serviceId: string;
  reason: string;
  urgency: Urgency;
}

/** Starts a household referral from one member's record; nothing is sent until every adult agrees. */
export async function startHouseholdReferral(db: Db, actor: SignedInUser, input: NewHouseholdReferral, now = new Date()): Promise<string> {
  if (actor.role !== 'practitioner') throw new ReferralInputError('person', 'Only practitioners start a household referral', 403);
  if (input.reason.trim().length < 5) throw new ReferralInputError('reason', 'Say why you are referring the household');
  if (!isUrgency(input.urgency)) throw new ReferralInputError('urgency', 'Choose how urgent this is');
  const householdId = await householdOfPerson(db, input.personId);
  if (!householdId) throw new ReferralInputError('person', 'This person has no household recorded', 404);
  const members = await householdMembersOn(db, householdId, now);
  for (const m of members.filter((x) => x.adult)) {
    const access = await mayCoordinate(db, actor, m.id, 'write');
    if (!access.allowed)
      throw new ReferralInputError(
        'person',
        `You are not involved with every adult in the household, so you cannot refer it as a whole: ${access.reason}`,
        403,
      );
  }
  const id = `href-${randomBytes(6).toString('hex')}`;
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('household_referrals')
      .values({
        id,
        household_id: householdId,
        lead_person_id: input.personId,
        service_id: input.serviceId,
        reason: input.reason.trim(),
        urgency: input.urgency,
        from_user_id: actor.id,
        from_organisation_id: actor.organisationId,
        from_label: actor.displayName,
      })
      .execute();
    await trx
      .insertInto('household_referral_members')
      .values(members.map((m) => ({ household_referral_id: id, person_id: m.id, adult: m.adult })))
      .execute();
  });
  return id;
}

async function referralRow(db: Db, id: string) {
  const row = await db.selectFrom('household_referrals').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new ReferralInputError('referral', 'There is no such household referral', 404);
  return row;
}

async function sent(db: Db, id: string): Promise<boolean> {
  return (
    (await db
      .selectFrom('household_referral_sends')
      .select('person_id')
      .where('household_referral_id', '=', id)
      .limit(1)
      .executeTakeFirst()) !== undefined
  );
}

/** An adult member's agreement (or its withdrawal), by the person themselves or a practitioner involved with them. */
export async function recordHouseholdReferralAgreement(
  db: Db,
  actor: SignedInUser,
  id: string,
  input: { personId: string; agrees: boolean; evidence: string },
): Promise<void> {
  await referralRow(db, id);
  const member = await db
    .selectFrom('household_referral_members')
    .selectAll()
    .where('household_referral_id', '=', id)
    .where('person_id', '=', input.personId)
    .executeTakeFirst();
  if (!member?.adult) throw new ReferralInputError('person', 'Only an adult named on the household referral gives or withdraws agreement');
  if (await sent(db, id))
    throw new ReferralInputError(
      'person',
      'This household referral has been sent: to stop it, ask the service, or cancel each referral',
      409,
    );
  let recordedFor: 'person' | 'practitioner';
  if (actor.role === 'citizen' && actor.personId === input.personId) recordedFor = 'person';
  else if (actor.role === 'practitioner') {
    const access = await mayCoordinate(db, actor, input.personId, 'write');
    if (!access.allowed) throw new ReferralInputError('person', `You cannot record this person's agreement: ${access.reason}`, 403);
    recordedFor = 'practitioner';
  } else throw new ReferralInputError('person', 'Only the person, or a practitioner involved in their care, records their agreement', 403);
  const evidence = input.evidence.trim() || (recordedFor === 'person' ? 'Given by the person themselves, signed in' : '');
  if (evidence.length < 5) throw new ReferralInputError('evidence', 'Say how the person told you');
  await db
    .insertInto('household_referral_agreements')
    .values({
      household_referral_id: id,
      person_id: input.personId,
      agrees: input.agrees,
      evidence,
      recorded_for: recordedFor,
      recorded_by: actor.id,
    })
    .execute();
}

async function agreementState(db: Db, id: string) {
  const [members, rows] = await Promise.all([
    db.selectFrom('household_referral_members').selectAll().where('household_referral_id', '=', id).orderBy('person_id').execute(),
    db.selectFrom('household_referral_agreements').selectAll().where('household_referral_id', '=', id).orderBy('id').execute(),
  ]);
  const adults = members
    .filter((m) => m.adult)
    .map((m) => {
      const latest = rows.filter((r) => r.person_id === m.person_id).at(-1);
      return {
        personId: m.person_id,
        agrees: latest?.agrees ?? false,
        evidence: latest?.evidence ?? null,
        recordedFor: latest?.recorded_for ?? null,
        recordedAt: latest?.recorded_at ?? null,
      };
    });
  return { members, adults, allAgree: adults.length > 0 && adults.every((a) => a.agrees) };
}

/**
 * Sends the household referral once every adult agrees: a referral for each adult, sharing their
 * basic details with the service on the strength of their recorded agreement.
 */
export async function sendHouseholdReferral(db: Db, actor: SignedInUser, id: string, now = new Date()): Promise<string[]> {
  const row = await referralRow(db, id);
  if (actor.role !== 'practitioner') throw new ReferralInputError('person', 'Only practitioners send referrals', 403);
  if (await sent(db, id)) throw new ReferralInputError('referral', 'This household referral has already been sent', 409);
  const { adults, allAgree } = await agreementState(db, id);
  if (!allAgree) throw new ReferralInputError('agreement', 'Not every adult in the household has agreed, so the referral cannot be sent');
  for (const a of adults) {
    const access = await mayCoordinate(db, actor, a.personId, 'write');
    if (!access.allowed)
      throw new ReferralInputError('person', `You are not involved with every adult in the household: ${access.reason}`, 403);
  }
  // One transaction: each adult's referral, what they agreed to share and the record of the send
  // commit together, or (one adult's part refused) none of them does and nothing is half-sent.
  return db.transaction().execute(async (trx) => {
    const ids: string[] = [];
    for (const a of adults) {
      const referralId = await sendReferralIn(
        trx,
        actor,
        {
          personId: a.personId,
          serviceId: row.service_id,
          reason: `Household referral: ${row.reason}`,
          personWords: null,
          urgency: row.urgency,
          consent: 'given',
          categories: ['demographics'],
          consentEvidence: `agreed to the household referral (${a.evidence ?? 'recorded'})`,
          onwardConsent: false,
          journeyStep: null,
        },
        now,
      );
      // The primary key (household referral, person) refuses a second send racing this one.
      await trx
        .insertInto('household_referral_sends')
        .values({ household_referral_id: id, person_id: a.personId, referral_id: referralId })
        .execute();
      ids.push(referralId);
    }
    return ids;
  });
}

export interface HouseholdReferralView {
  id: string;
  serviceId: string;
  reason: string;
  urgency: string;
  fromLabel: string;
  createdAt: Date;
  allAgree: boolean;
  sent: boolean;
  members: Array<{
    personId: string;
    name: string;
    adult: boolean;
    agrees: boolean | null;
    evidence: string | null;
    recordedFor: string | null;
    referralId: string | null;
  }>;
  hiddenMembers: number;
}

/** The household referrals naming this person, for a reader the access decision lets see them. */
export async function householdReferralsOf(
  db: Db,
  actor: SignedInUser,
  personId: string,
  now = new Date(),
): Promise<HouseholdReferralView[]> {
  const access = await mayCoordinate(db, actor, personId, 'read');
  if (!access.allowed) throw new ReferralInputError('person', `You cannot see this person's referrals: ${access.reason}`, 403);
  const ids = (
    await db.selectFrom('household_referral_members').select('household_referral_id').where('person_id', '=', personId).execute()
  ).map((r) => r.household_referral_id);
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('household_referrals').selectAll().where('id', 'in', ids).orderBy('created_at', 'desc').execute();
  const householdMembers = new Map<string, { name: string }>();
  for (const householdId of new Set(rows.map((r) => r.household_id))) {
    for (const m of await householdMembersOn(db, householdId, now)) householdMembers.set(m.id, { name: `${m.givenName} ${m.familyName}` });
  }
  const listed = [];
  for (const r of rows) {
    const { members, adults, allAgree } = await agreementState(db, r.id);
    const sends = await db
      .selectFrom('household_referral_sends')
      .select(['person_id', 'referral_id'])
      .where('household_referral_id', '=', r.id)
      .execute();
    listed.push({ r, members, adults, allAgree, sends });
  }
  // Every other member named on the page is decided once, in one decision for the page (each
  // audited, in the order the page meets them); the person whose page it is was decided above.
  const others = [...new Set(listed.flatMap(({ members }) => members.map((m) => m.person_id)))].filter((id) => id !== personId);
  const decided =
    others.length === 0
      ? new Map<string, RecordAccess>()
      : await decideRecordAccessForMany(db, {
          actor,
          personIds: others,
          categories: ['demographics'],
          purpose: purposeOf(actor),
          action: 'read',
        });
  const visible = (id: string) => id === personId || decided.get(id)!.byCategory.demographics.scope !== 'none';
  const result: HouseholdReferralView[] = [];
  for (const { r, members, adults, allAgree, sends } of listed) {
    const shown: HouseholdReferralView['members'] = [];
    for (const m of members) {
      if (!visible(m.person_id)) continue;
      const a = adults.find((x) => x.personId === m.person_id);
      shown.push({
        personId: m.person_id,
        name: householdMembers.get(m.person_id)?.name ?? 'A former member of the household',
        adult: m.adult,
        agrees: a ? a.agrees : null,
        evidence: a?.evidence ?? null,
        recordedFor: a?.recordedFor ?? null,
        referralId: sends.find((s) => s.person_id === m.person_id)?.referral_id ?? null,
      });
    }
    result.push({
      id: r.id,
      serviceId: r.service_id,
      reason: r.reason,
      urgency: r.urgency,
      fromLabel: r.from_label,
      createdAt: r.created_at,
      allAgree,
      sent: sends.length > 0,
      members: shown,
      hiddenMembers: members.length - shown.length,
    });
  }
  return result;
}

/**
 * Demo: the citizen's household is referred as a whole to the service their own housing referral
 * went to; the citizen has agreed, the other adults not yet, so the page shows what is waiting.
 */
export async function setUpHouseholdReferralDemo(
  db: Db,
  citizenId: string,
  practitioner: SignedInUser,
  citizen: SignedInUser,
): Promise<void> {
  if (await db.selectFrom('household_referral_members').select('person_id').where('person_id', '=', citizenId).limit(1).executeTakeFirst())
    return;
  const housing = await db.selectFrom('referrals').select('service_id').where('id', '=', 'ref-demo-citizen-1').executeTakeFirst();
  if (!housing) return;
  let id: string;
  try {
    id = await startHouseholdReferral(db, practitioner, {
      personId: citizenId,
      serviceId: housing.service_id,
      reason: "The household's tenancy ends next month; the family want help to stay together in one home.",
      urgency: 'soon',
    });
  } catch (error) {
    if (error instanceof ReferralInputError) return;
    throw error;
  }
  await recordHouseholdReferralAgreement(db, citizen, id, {
    personId: citizenId,
    agrees: true,
    evidence: 'I agree: we need to move as a family.',
  });
}
