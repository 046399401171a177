// Demo accounts for receiving services and the demo citizen's own referrals, so "My referrals",
// the housing inbox and the practitioner's sent list have something true to show.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { createAccountUnlessTaken, type DemoAccountInfo } from '../auth/index.ts';
import { organisationById, practitionersByIds, serviceNamed, serviceStaffOf } from '../network/index.ts';
import { insertReferral, serviceFor } from './referrals.ts';
import { categoriesSharedWith, endRelationshipsOfOrganisation, seedDirectives } from '../consent/index.ts';
import { onReferralChange } from './pathways.ts';
import { ukDate } from './working-days.ts';
import { writtenDay } from '../platform/dates.ts';

const DAY = 86_400_000;

/** A practitioner in the team that runs the named service of the first organisation of that kind. */
async function receiver(db: Kysely<Database>, kind: string, serviceName: string) {
  const r = await serviceStaffOf(db, kind, serviceName);
  return r
    ? {
        service_id: r.serviceId,
        id: r.id,
        given_name: r.givenName,
        family_name: r.familyName,
        role: r.role,
        organisation_id: r.organisationId,
        organisation: r.organisation,
      }
    : undefined;
}

export async function setUpReferralDemo(
  db: Kysely<Database>,
  citizenId: string,
  practitionerId: string,
  password: string,
): Promise<DemoAccountInfo[]> {
  const accounts: DemoAccountInfo[] = [];
  const housing = await receiver(db, 'council_housing', 'Housing options and homelessness prevention');
  if (housing) {
    accounts.push({
      username: 'housing',
      description: `${housing.given_name} ${housing.family_name}, ${housing.role.replace(/_/g, ' ')} at ${housing.organisation}, who receives housing referrals`,
    });
    await createAccountUnlessTaken(db, {
      username: 'housing',
      displayName: `${housing.given_name} ${housing.family_name}`,
      role: 'practitioner',
      password,
      practitionerId: housing.id,
      organisationId: housing.organisation_id,
    });
  }
  const gp = await receiver(db, 'gp_practice', 'Frailty and care coordination');
  if (gp) {
    accounts.push({
      username: 'gp',
      description: `${gp.given_name} ${gp.family_name}, ${gp.role.replace(/_/g, ' ')} at ${gp.organisation}`,
    });
    await createAccountUnlessTaken(db, {
      username: 'gp',
      displayName: `${gp.given_name} ${gp.family_name}`,
      role: 'practitioner',
      password,
      practitionerId: gp.id,
      organisationId: gp.organisation_id,
    });
  }
  // The demo citizen's referrals: one waiting with housing now, one finished with a charity.
  if (await db.selectFrom('referrals').select('id').where('id', '=', 'ref-demo-citizen-1').executeTakeFirst()) return accounts;
  const practitioner = (await practitionersByIds(db, [practitionerId])).get(practitionerId);
  const organisation = practitioner ? await organisationById(db, practitioner.organisationId) : undefined;
  const from =
    practitioner && organisation
      ? {
          id: practitioner.id,
          organisation_id: practitioner.organisationId,
          team_id: practitioner.teamId,
          given_name: practitioner.givenName,
          family_name: practitioner.familyName,
          organisation: organisation.name,
        }
      : undefined;
  if (!from || !housing) return accounts;
  const label = `${from.given_name} ${from.family_name}, ${from.organisation}`;
  const now = Date.now();
  const housingService = await serviceFor(db, housing.service_id);
  const befriending = await serviceNamed(db, 'Befriending');
  const charityService = befriending ? await serviceFor(db, befriending.id) : undefined;
  await db.transaction().execute(async (trx) => {
    const base = {
      personId: citizenId,
      personWords: 'I need somewhere settled before I can sort anything else out.',
      urgency: 'soon' as const,
      sharingBasis: 'consent' as const,
      onwardConsent: true,
      onwardFromId: null,
      journeyId: null,
      stepCode: null,
      byLabel: label,
      byRole: 'practitioner',
      by: null,
      note: null,
      from: { organisationId: from.organisation_id, teamId: from.team_id, practitionerId: from.id, userId: null },
    };
    if (housingService) {
      const sentAt = new Date(now - 6 * DAY);
      await insertReferral(trx, {
        ...base,
        id: 'ref-demo-citizen-1',
        service: housingService,
        reason: 'Private tenancy ends next month and the landlord will not renew; at risk of homelessness within 56 days.',
        categories: ['demographics', 'housing', 'about_me'],
        now: sentAt,
      });
      const ackAt = new Date(now - 5 * DAY);
      await trx
        .updateTable('referrals')
        .set({ status: 'received', acknowledged_at: ackAt })
        .where('id', '=', 'ref-demo-citizen-1')
        .execute();
      await trx
        .insertInto('referral_events')
        .values({
          referral_id: 'ref-demo-citizen-1',
          at: ackAt,
          action: 'acknowledge',
          from_status: 'sent',
          to_status: 'received',
          by_user_id: null,
          by_role: 'practitioner',
          by_organisation_id: housingService.organisation_id,
          by_label: `${housing.given_name} ${housing.family_name}, ${housing.organisation}`,
          note: null,
        })
        .execute();
      // What the citizen agreed to share for this referral, less what they already share with the
      // organisation from an earlier referral (the same choice is never held twice).
      const held = await categoriesSharedWith(trx, citizenId, housingService.organisation_id, sentAt);
      await seedDirectives(
        trx,
        (['demographics', 'housing', 'about_me'] as const)
          .filter((category) => !held.has(category))
          .map((category) => ({
            personId: citizenId,
            category,
            recipientKind: 'organisation' as const,
            recipientId: housingService.organisation_id,
            decision: 'permit' as const,
            recordedAt: sentAt,
            validUntil: null,
            withdrawnAt: null,
            recordedFor: 'practitioner' as const,
            note: `when referring you to ${housingService.name}`,
            evidence: 'you agreed when the referral was made',
          })),
      );
    }
    if (charityService) {
      const sentAt = new Date(now - 70 * DAY);
      await insertReferral(trx, {
        ...base,
        id: 'ref-demo-citizen-2',
        service: charityService,
        reason: 'Very isolated since moving; would like someone to visit.',
        personWords: 'It would be nice to have someone to talk to.',
        urgency: 'routine',
        categories: ['demographics', 'social_care'],
        now: sentAt,
      });
      const steps: Array<[string, 'received' | 'accepted' | 'in_progress' | 'completed', number, string | null]> = [
        ['acknowledge', 'received', 69, null],
        ['accept', 'accepted', 68, null],
        ['start', 'in_progress', 60, `Visit in person on ${writtenDay(ukDate(new Date(now - 60 * DAY)))}`],
        ['complete', 'completed', 10, 'Weekly visits arranged; now part of a local lunch club.'],
      ];
      let previous = 'sent';
      for (const [action, status, daysAgo, note] of steps) {
        const at = new Date(now - daysAgo * DAY);
        await trx
          .insertInto('referral_events')
          .values({
            referral_id: 'ref-demo-citizen-2',
            at,
            action,
            from_status: previous,
            to_status: status,
            by_user_id: null,
            by_role: 'practitioner',
            by_organisation_id: charityService.organisation_id,
            by_label: charityService.organisation,
            note,
          })
          .execute();
        previous = status;
      }
      await trx
        .updateTable('referrals')
        .set({
          status: 'completed',
          acknowledged_at: new Date(now - 69 * DAY),
          accepted_at: new Date(now - 68 * DAY),
          first_contact_at: new Date(now - 60 * DAY),
          first_contact_on: ukDate(new Date(now - 60 * DAY)),
          first_contact_method: 'visit',
          closed_at: new Date(now - 10 * DAY),
        })
        .where('id', '=', 'ref-demo-citizen-2')
        .execute();
      await endRelationshipsOfOrganisation(
        trx,
        citizenId,
        charityService.organisation_id,
        'referral',
        new Date(now - 10 * DAY),
        'referral completed',
      );
      await onReferralChange(
        trx,
        { journeyId: null, stepCode: null, referralId: 'ref-demo-citizen-2' },
        'complete',
        null,
        new Date(now - 10 * DAY),
      );
    }
  });
  return accounts;
}
