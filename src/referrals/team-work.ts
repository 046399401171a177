// Duty cover on referrals: the open referrals waiting, unassigned, for a team's services (its
// shared worklist), and a colleague picking one up. Picking up assigns the referral to the
// colleague, as the referral's history and the audit record; who may is who the access decision
// lets see the person (their organisation's relationship as receiver, or the team's reaching its
// members) and who works for the receiving organisation or is a current member of the team.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { decideRecordAccess, isTeamMember } from '../consent/index.ts';
import { practitionersByIds } from '../network/index.ts';
import { actorLabel, ReferralInputError } from './referrals.ts';
import { openStatuses } from './state.ts';

export interface TeamReferral {
  id: string;
  personId: string;
  status: string;
  urgency: string;
  sentAt: Date;
  firstContactDue: string;
}

/** Open referrals to the team's services that nobody has been assigned yet, most urgent and oldest first (ids only: the caller decides access to the names). */
export async function unassignedReferralsForTeam(db: Kysely<Database>, teamId: string, limit = 50): Promise<TeamReferral[]> {
  const rows = await db
    .selectFrom('referrals')
    .select(['id', 'person_id', 'status', 'urgency', 'sent_at', 'first_contact_due'])
    .where('team_id', '=', teamId)
    .where('assigned_practitioner_id', 'is', null)
    .where('status', 'in', [...openStatuses])
    .orderBy(sql`case urgency when 'urgent' then 0 when 'soon' then 1 else 2 end`)
    .orderBy('sent_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    personId: r.person_id,
    status: r.status,
    urgency: r.urgency,
    sentAt: new Date(r.sent_at),
    firstContactDue: String(r.first_contact_due).slice(0, 10),
  }));
}

/**
 * A colleague picks up a referral on duty cover: it is assigned to them. Refused (and nothing
 * changes) unless they work for the receiving organisation or are a current member of the team
 * it was sent to, and the access decision (audited either way) lets them see the person. The
 * checks and the decision run on `db` first, so a refusal's audited decision stays on the record;
 * the answer picks the referral up in the caller's transaction.
 */
export async function preparePickUpReferral(
  db: Kysely<Database>,
  user: SignedInUser,
  referralId: string,
  now: Date = new Date(),
): Promise<(trx: Transaction<Database>) => Promise<void>> {
  if (user.role !== 'practitioner' || !user.practitionerId)
    throw new ReferralInputError('referral', 'Only practitioners pick up referrals', 403);
  const head = await db
    .selectFrom('referrals')
    .select(['id', 'person_id', 'organisation_id', 'team_id', 'status', 'assigned_practitioner_id'])
    .where('id', '=', referralId)
    .executeTakeFirst();
  if (!head) throw new ReferralInputError('referral', 'There is no such referral', 404);
  const inTeam = await isTeamMember(db, head.team_id, user.practitionerId, now);
  if (head.organisation_id !== user.organisationId && !inTeam)
    throw new ReferralInputError('referral', 'This referral is not for your organisation or your team', 403);
  const access = await decideRecordAccess(
    db,
    { actor: user, personId: head.person_id, categories: ['demographics'], purpose: 'care_coordination', action: 'write' },
    now,
  );
  if (access.byCategory.demographics.scope === 'none')
    throw new ReferralInputError('referral', `You cannot pick up this referral: ${access.reason}`, 403);
  const byLabel = await actorLabel(db, user);
  const me = (await practitionersByIds(db, [user.practitionerId])).get(user.practitionerId);
  return async (trx) => {
    const r = await trx
      .selectFrom('referrals')
      .select(['status', 'assigned_practitioner_id'])
      .where('id', '=', referralId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (!(openStatuses as readonly string[]).includes(r.status))
      throw new ReferralInputError('referral', 'This referral is closed: there is nothing to pick up', 409);
    if (r.assigned_practitioner_id === user.practitionerId) return;
    await trx.updateTable('referrals').set({ assigned_practitioner_id: user.practitionerId }).where('id', '=', referralId).execute();
    await trx
      .insertInto('referral_events')
      .values({
        referral_id: referralId,
        at: now,
        action: 'assign',
        from_status: r.status,
        to_status: r.status,
        by_user_id: user.id,
        by_role: user.role,
        by_organisation_id: user.organisationId,
        by_label: byLabel,
        note: `Picked up by ${me ? `${me.givenName} ${me.familyName}` : 'a colleague'}${inTeam && head.organisation_id !== user.organisationId ? ' on duty cover for the team' : ''}`,
      })
      .execute();
    await appendAudit(trx, {
      actorUserId: user.id,
      actorRole: user.role,
      actorOrganisationId: user.organisationId,
      action: 'write',
      personId: head.person_id,
      category: 'social_care',
      purpose: 'care_coordination',
      decision: 'success',
      reason: inTeam ? 'referral picked up on duty cover, through the team' : 'referral picked up',
    });
  };
}
