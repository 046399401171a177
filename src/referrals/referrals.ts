// Sending referrals and moving them through their life. Every change is one transaction: the
// referral row, its history event, the receiving organisation's relationship with the person,
// any onward referral, the pathway step it serves, the audit record, and a notification to the
// person when the service acknowledges, accepts, declines or completes it. Who may act on a
// referral is who may see the person: the receiving side acts only while the one access
// decision lets it see them.
import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import {
  carePurposes,
  categoryLabels,
  decideRecordAccess,
  endRelationship,
  hasLawfulBasis,
  isCategory,
  mayExtendNetwork,
  openReferralTeamCaseload,
  openRelationship,
  recordDirective,
  type Category,
} from '../consent/index.ts';
import { addWorkingDays, middayUk, ukDate } from './working-days.ts';
import { contactMethodLabels, isOpen, transition, type Party, type ReferralAction, type ReferralStatus, type Urgency } from './state.ts';
import { eligibilityProblem, personFacts, serviceCriteria } from './eligibility.ts';
import { onReferralChange } from './pathways.ts';
import { copySelfDetails, eligibilityFactsOf } from './self-details.ts';
import { writtenDay } from '../platform/dates.ts';
import { notifyPeople } from '../notify/index.ts';
import { organisationById, practitionersByIds, serviceById } from '../network/index.ts';
import { notifyRequestFollower } from './request-accounts.ts';
import { Refusal } from '../platform/refused.ts';

type Db = Kysely<Database> | Transaction<Database>;

export class ReferralInputError extends Refusal {
  readonly field: string;
  constructor(field: string, message: string, status = 400) {
    super(status, message);
    this.field = field;
  }
}

export function newReferralId(): string {
  return `ref-${randomBytes(8).toString('hex')}`;
}

export interface NewReferral {
  personId: string;
  serviceId: string;
  reason: string;
  personWords: string | null;
  urgency: Urgency;
  /** 'given': the person agreed to share `categories`; 'not_given': refer only on a lawful basis. */
  consent: 'given' | 'not_given';
  categories: Category[];
  /** How the person agreed, in the referrer's words (shown to the person beside the choice it records). */
  consentEvidence?: string | null;
  onwardConsent: boolean;
  /** A waiting step of one of the person's pathway journeys that this referral serves. */
  journeyStep: { journeyId: number; stepCode: string } | null;
}

export interface ServiceRow {
  id: string;
  name: string;
  organisation_id: string;
  team_id: string;
  organisation: string;
  acknowledge_within_days: number;
  first_contact_within_days: number;
}

export async function serviceFor(db: Db, serviceId: string): Promise<ServiceRow | undefined> {
  const s = await serviceById(db, serviceId);
  return s
    ? {
        id: s.id,
        name: s.name,
        organisation_id: s.organisationId,
        team_id: s.teamId,
        organisation: s.organisationName,
        acknowledge_within_days: s.acknowledgeWithinDays,
        first_contact_within_days: s.firstContactWithinDays,
      }
    : undefined;
}

/** "Sam Patel, Riverford Council Housing Services": who acted, for the history. */
export async function actorLabel(db: Db, user: SignedInUser): Promise<string> {
  if (user.role === 'citizen') return 'The person';
  const org = user.organisationId ? (await organisationById(db, user.organisationId))?.name : undefined;
  return org ? `${user.displayName}, ${org}` : user.displayName;
}

export interface InsertReferral {
  id: string;
  personId: string;
  /** organisationId null: the person asked themselves (a self-referral or self-assessment). */
  from: { organisationId: string | null; teamId: string | null; practitionerId: string | null; userId: string | null };
  service: ServiceRow;
  reason: string;
  personWords: string | null;
  urgency: Urgency;
  categories: string[];
  sharingBasis: 'consent' | 'lawful_basis' | 'identification';
  onwardConsent: boolean;
  onwardFromId: string | null;
  journeyId: number | null;
  stepCode: string | null;
  byLabel: string;
  byRole: string | null;
  /** The user sending it (null for seeded history). */
  by: SignedInUser | null;
  note: string | null;
  now: Date;
  /** Who started it (default a practitioner's referral). */
  kind?: 'professional' | 'self_referral' | 'self_assessment';
  /**
   * Whether the receiving organisation's relationship of care opens (default yes). A request made
   * without signing in opens none: nobody has shown who they are (see self-referral.ts).
   */
  openRelationship?: boolean;
}

/**
 * The referral row, its first event, and the receiving organisation's relationship with the
 * person. The relationship is the organisation's, not only the team's that runs the service: the
 * organisation receives the referral in its inbox, any of its practitioners may triage, assign or
 * act on it, and what the person agreed to share is recorded for the organisation. A team-only
 * relationship left the rest of the organisation acting on referrals about people it could not see.
 */
export async function insertReferral(trx: Transaction<Database>, r: InsertReferral): Promise<void> {
  const sentDay = ukDate(r.now);
  const relationshipId =
    r.openRelationship === false
      ? null
      : await openRelationship(trx, {
          personId: r.personId,
          organisationId: r.service.organisation_id,
          teamId: null,
          practitionerId: null,
          ground: { kind: 'referral', serviceName: r.service.name },
          recordedBy: r.by,
          startedAt: r.now,
        });
  // A service an integrated team runs: the person joins the team's caseload too (consent module).
  const teamRelationshipId =
    r.openRelationship === false
      ? null
      : await openReferralTeamCaseload(trx, r.by, {
          personId: r.personId,
          teamId: r.service.team_id,
          serviceName: r.service.name,
          startedAt: r.now,
        });
  await trx
    .insertInto('referrals')
    .values({
      id: r.id,
      person_id: r.personId,
      from_organisation_id: r.from.organisationId,
      from_team_id: r.from.teamId,
      from_practitioner_id: r.from.practitionerId,
      from_user_id: r.from.userId,
      service_id: r.service.id,
      organisation_id: r.service.organisation_id,
      team_id: r.service.team_id,
      assigned_practitioner_id: null,
      reason: r.reason,
      person_words: r.personWords,
      urgency: r.urgency,
      shared_categories: sql<string[]>`${JSON.stringify(r.categories)}::jsonb`,
      sharing_basis: r.sharingBasis,
      onward_consent: r.onwardConsent,
      status: 'sent',
      sent_at: r.now,
      acknowledged_at: null,
      accepted_at: null,
      first_contact_at: null,
      closed_at: null,
      acknowledge_due: addWorkingDays(sentDay, r.service.acknowledge_within_days),
      first_contact_due: addWorkingDays(sentDay, r.service.first_contact_within_days),
      decline_reason: null,
      onward_from_id: r.onwardFromId,
      onward_referral_id: null,
      relationship_id: relationshipId,
      team_relationship_id: teamRelationshipId,
      journey_id: r.journeyId,
      step_code: r.stepCode,
      kind: r.kind ?? 'professional',
    })
    .execute();
  await trx
    .insertInto('referral_events')
    .values({
      referral_id: r.id,
      at: r.now,
      action: 'send',
      from_status: null,
      to_status: 'sent',
      by_user_id: r.from.userId,
      by_role: r.byRole,
      by_organisation_id: r.from.organisationId,
      by_label: r.byLabel,
      note: r.note,
    })
    .execute();
  if (r.journeyId !== null && r.stepCode !== null) {
    await trx
      .updateTable('pathway_journey_steps')
      .set({ referral_id: r.id })
      .where('journey_id', '=', r.journeyId)
      .where('step_code', '=', r.stepCode)
      .execute();
  }
}

/**
 * Sends a referral. The referrer must be allowed to coordinate the person's care; the person's
 * consent to share is recorded as sharing choices for the receiving organisation, and without
 * consent a recorded lawful basis is required.
 */
export async function sendReferral(db: Kysely<Database>, actor: SignedInUser, input: NewReferral, now: Date = new Date()): Promise<string> {
  return db.transaction().execute(await prepareReferral(db, actor, input, now));
}

/**
 * The checks of sendReferral, run on `db` first so a refusal's audited access decision stays on
 * the record; the answer sends the referral in the caller's transaction (a FHIR write's).
 */
export async function prepareReferral(
  db: Kysely<Database>,
  actor: SignedInUser,
  input: NewReferral,
  now: Date = new Date(),
): Promise<(trx: Transaction<Database>) => Promise<string>> {
  const checked = await checkReferral(db, actor, input, now);
  return (trx) => writeReferral(trx, actor, input, checked, now);
}

/**
 * Sends a referral inside the caller's transaction: every check and every write (the referral,
 * what the person agreed to share, the receiving organisation's relationship, the outbox event
 * its trigger writes) commits or rolls back with the caller's other work. A household referral
 * sends each adult's this way, so one adult's refusal leaves nothing half-sent.
 */
export async function sendReferralIn(
  trx: Transaction<Database>,
  actor: SignedInUser,
  input: NewReferral,
  now: Date = new Date(),
): Promise<string> {
  return writeReferral(trx, actor, input, await checkReferral(trx, actor, input, now), now);
}

type CheckedReferral = { service: ServiceRow; sharingBasis: InsertReferral['sharingBasis'] };

/** Whether this referral may be sent (access, the service, who it is for, consent or a lawful basis, the pathway step). */
async function checkReferral(db: Kysely<Database>, actor: SignedInUser, input: NewReferral, now: Date): Promise<CheckedReferral> {
  if (actor.role !== 'practitioner' || !actor.organisationId)
    throw new ReferralInputError('service', 'Only practitioners can send referrals', 403);
  const access = await decideRecordAccess(db, {
    actor,
    personId: input.personId,
    categories: ['demographics'],
    purpose: 'care_coordination',
    action: 'write',
  });
  if (access.byCategory.demographics.scope === 'none') throw new ReferralInputError('person', access.reason, 403);
  // A referral opens the receiving service's relationship with the person: emergency access lets
  // a practitioner look for an hour, never open a lasting door for anyone.
  if (access.breakGlass && !(await mayExtendNetwork(db, actor, input.personId)))
    throw new ReferralInputError(
      'person',
      'Emergency access lets you see this record, not refer the person: ask someone involved in their care to refer',
      403,
    );
  const service = await serviceFor(db, input.serviceId);
  if (!service) throw new ReferralInputError('service', 'Choose a service from the directory');
  // Who the service is for: an 85-year-old is not referred to a primary school's attendance support.
  const criteria = await serviceCriteria(db, service.id);
  const problem = criteria ? await eligibilityProblem(db, criteria, await personFacts(db, input.personId, now)) : null;
  if (problem) throw new ReferralInputError('service', `${problem}. Choose a service they can use`);
  let sharingBasis: CheckedReferral['sharingBasis'] = 'consent';
  if (input.consent === 'not_given') {
    if (!(await hasLawfulBasis(db, input.personId, now))) {
      throw new ReferralInputError(
        'consent',
        'The person has not agreed to share their information and no lawful basis to share without consent is recorded, so this referral cannot be sent. Talk to the person first.',
      );
    }
    sharingBasis = 'lawful_basis';
  }
  if (input.journeyStep) {
    const step = await db
      .selectFrom('pathway_journey_steps as s')
      .innerJoin('pathway_journeys as j', 'j.id', 's.journey_id')
      .select(['s.status', 's.referral_id'])
      .where('j.person_id', '=', input.personId)
      .where('j.status', '=', 'active')
      .where('s.journey_id', '=', input.journeyStep.journeyId)
      .where('s.step_code', '=', input.journeyStep.stepCode)
      .executeTakeFirst();
    if (!step || step.status !== 'waiting' || step.referral_id)
      throw new ReferralInputError('step', 'That pathway step is not waiting for a referral');
  }
  return { service, sharingBasis };
}

/** The referral's writes, in the given transaction, once checkReferral has allowed it. */
async function writeReferral(
  db: Transaction<Database>,
  actor: SignedInUser,
  input: NewReferral,
  { service, sharingBasis }: CheckedReferral,
  now: Date,
): Promise<string> {
  const id = newReferralId();
  const practitioner = actor.practitionerId ? (await practitionersByIds(db, [actor.practitionerId])).get(actor.practitionerId) : undefined;
  const byLabel = await actorLabel(db, actor);
  // What the person agreed to share, as the referrer recorded it: for the receiving
  // organisation and these categories only, shown to the person, and never above their own word.
  for (const category of input.categories) {
    await recordDirective(
      db,
      actor,
      input.personId,
      {
        category,
        recipientKind: 'organisation',
        recipientId: service.organisation_id,
        purposes: [...carePurposes],
        decision: 'permit',
        validUntil: null,
        note: `when referring you to ${service.name}`,
      },
      { evidence: input.consentEvidence?.trim() || 'you agreed when the referral was made', referralId: id },
    );
  }
  await insertReferral(db, {
    id,
    personId: input.personId,
    service,
    reason: input.reason,
    personWords: input.personWords,
    urgency: input.urgency,
    from: {
      organisationId: actor.organisationId!,
      teamId: practitioner?.teamId ?? null,
      practitionerId: actor.practitionerId,
      userId: actor.id,
    },
    categories: input.categories,
    sharingBasis,
    onwardConsent: input.onwardConsent,
    onwardFromId: null,
    journeyId: input.journeyStep?.journeyId ?? null,
    stepCode: input.journeyStep?.stepCode ?? null,
    byLabel,
    byRole: actor.role,
    by: actor,
    note: null,
    now,
  });
  await appendAudit(db, {
    actorUserId: actor.id,
    actorRole: actor.role,
    actorOrganisationId: actor.organisationId,
    action: 'write',
    personId: input.personId,
    category: 'social_care',
    purpose: 'care_coordination',
    decision: 'success',
    reason: `referral sent to ${service.organisation} (${sharingBasis === 'consent' ? 'with consent' : 'on a lawful basis'})`,
  });
  return id;
}

export interface ReferralRow {
  id: string;
  person_id: string;
  status: ReferralStatus;
  service_id: string;
  organisation_id: string;
  team_id: string;
  from_organisation_id: string | null;
  kind: 'professional' | 'self_referral' | 'self_assessment';
  relationship_id: number | null;
  team_relationship_id: number | null;
  shared_categories: string[];
  sharing_basis: 'consent' | 'lawful_basis' | 'identification';
  onward_consent: boolean;
  reason: string;
  person_words: string | null;
  urgency: Urgency;
  journey_id: number | null;
  step_code: string | null;
  sent_at: Date;
}

/** How the actor stands to this referral: receiver, referrer and/or the person themself. */
export function partiesOf(
  user: SignedInUser,
  r: { organisation_id: string; from_organisation_id: string | null; person_id: string },
): Party[] {
  const parties: Party[] = [];
  if (user.role === 'practitioner' && user.organisationId) {
    if (user.organisationId === r.organisation_id) parties.push('receiver');
    if (user.organisationId === r.from_organisation_id) parties.push('referrer');
  }
  if (user.role === 'citizen' && user.personId === r.person_id) parties.push('person');
  return parties;
}

/** Which of the actor's parts in a referral an action is taken in: the receiver's, unless cancelling. */
function partyFor(parties: Party[], action: ReferralAction): Party | undefined {
  return action.kind === 'cancel' ? parties[0] : parties.includes('receiver') ? 'receiver' : parties[0];
}

/** A resident's request made without signing in: the receiving side holds only what they typed. */
export function typedOnly(r: { kind: string; relationship_id: number | null }): boolean {
  return r.kind !== 'professional' && r.relationship_id === null;
}

export interface ActionOutcome {
  status: ReferralStatus;
  onwardReferralId: string | null;
}

/** Applies one action to a referral, in its own transaction, refusing anything the state machine does not allow. */
export async function applyReferralAction(
  db: Kysely<Database>,
  actor: SignedInUser,
  referralId: string,
  action: ReferralAction,
  now: Date = new Date(),
): Promise<ActionOutcome> {
  return db.transaction().execute(await prepareReferralAction(db, actor, referralId, action, now));
}

/**
 * The access decision of applyReferralAction, run on `db` first so a refusal stays on the record;
 * the answer applies the action in the caller's transaction (a FHIR write's), the referral locked.
 */
export async function prepareReferralAction(
  db: Kysely<Database>,
  actor: SignedInUser,
  referralId: string,
  action: ReferralAction,
  now: Date = new Date(),
): Promise<(trx: Transaction<Database>) => Promise<ActionOutcome>> {
  const byLabel = await actorLabel(db, actor);
  // The receiving side acts only on people it may see: the same decision that shows the name,
  // taken (and audited, allow or deny) before the change, so a refusal is on the record too.
  // Asked of steps the referral could take at all: a closed one says so, whoever asks.
  const head = await db
    .selectFrom('referrals')
    .select(['person_id', 'organisation_id', 'from_organisation_id', 'status', 'service_id', 'kind', 'relationship_id'])
    .where('id', '=', referralId)
    .executeTakeFirst();
  // A request a resident made without signing in gave the receiving organisation what they typed
  // and nothing else: it acts on the request itself, never on the person's record, so there is no
  // record access to decide (see self-referral.ts). Every other referral asks the decision.
  if (
    head &&
    partyFor(partiesOf(actor, head), action) === 'receiver' &&
    !typedOnly(head) &&
    transition({ status: head.status, serviceId: head.service_id }, action, 'receiver').ok
  ) {
    const access = await decideRecordAccess(
      db,
      { actor, personId: head.person_id, categories: ['demographics'], purpose: 'care_coordination', action: 'write' },
      now,
    );
    if (access.byCategory.demographics.scope === 'none')
      throw new ReferralInputError('referral', `You cannot act on this referral: ${access.reason}`, 403);
  }
  return async (trx) => {
    const r = (await trx.selectFrom('referrals').selectAll().where('id', '=', referralId).forUpdate().executeTakeFirst()) as
      ReferralRow | undefined;
    if (!r) throw new ReferralInputError('referral', 'There is no such referral', 404);
    const party = partyFor(partiesOf(actor, r), action);
    if (!party) throw new ReferralInputError('referral', 'This referral is not to or from your organisation', 403);
    const result = transition({ status: r.status, serviceId: r.service_id }, action, party);
    if (!result.ok) throw new ReferralInputError(result.field ?? 'action', result.error, result.field ? 400 : 409);

    let note: string | null = null;
    let onwardId: string | null = null;
    const set: Record<string, unknown> = { status: result.status };
    if (action.kind === 'acknowledge') set.acknowledged_at = now;
    if (action.kind === 'accept') {
      // Accepting someone outside who the service is for is a decision to explain, not a slip.
      const criteria = await serviceCriteria(trx, r.service_id);
      const problem = criteria ? await eligibilityProblem(trx, criteria, await eligibilityFactsOf(trx, r, now)) : null;
      const why = action.eligibilityNote?.trim() ?? '';
      if (problem && !why) throw new ReferralInputError('eligibility_note', `${problem}. Say why you are accepting them`);
      if (problem) note = `Accepted outside the service's criteria (${problem}): ${why}`;
      set.accepted_at = now;
    }
    let stepAt = now;
    if (action.kind === 'start') {
      const today = ukDate(now);
      const sentOn = ukDate(new Date(r.sent_at));
      if (action.contact.on > today) throw new ReferralInputError('contact', 'The date of first contact must be today or in the past');
      if (action.contact.on < sentOn)
        throw new ReferralInputError(
          'contact',
          `The date of first contact must be on or after the day the referral was sent (${writtenDay(sentOn)})`,
        );
      // The clock stops on the day of contact: now if it was today, otherwise midday that day (never before sending).
      stepAt = action.contact.on === today ? now : new Date(Math.max(new Date(r.sent_at).getTime(), middayUk(action.contact.on).getTime()));
      set.first_contact_at = stepAt;
      set.first_contact_on = action.contact.on;
      set.first_contact_method = action.contact.method;
      note = `${contactMethodLabels[action.contact.method]} on ${writtenDay(action.contact.on)}`;
    }
    if (action.kind === 'complete') note = action.note?.trim() || null;
    if (action.kind === 'cancel') note = action.reason.trim();
    if (action.kind === 'assign') {
      const practitioner = (await practitionersByIds(trx, [action.practitionerId])).get(action.practitionerId);
      if (!practitioner || practitioner.organisationId !== r.organisation_id)
        throw new ReferralInputError('practitioner', 'Choose a practitioner in your organisation');
      set.assigned_practitioner_id = practitioner.id;
      note = `Assigned to ${practitioner.givenName} ${practitioner.familyName}`;
    }
    if (action.kind === 'decline' && result.onwardServiceId === null) {
      // Nowhere to hand it on to (the person said no, or no service could help): the reason is
      // the referrer's and the person's to read, and the loop closes on it.
      note = `${action.reason.trim()} Not handed on to another service.`;
      set.decline_reason = action.reason.trim();
    } else if (action.kind === 'decline') {
      // What a resident typed goes to another service only if they said it may.
      if (r.kind !== 'professional' && !r.onward_consent) {
        throw new ReferralInputError(
          'onward',
          'The person asked to be asked before their request is passed on: contact them first, or decline without handing it on',
        );
      }
      const onward = await serviceFor(trx, result.onwardServiceId!);
      if (!onward) throw new ReferralInputError('onward', 'Choose a service from the directory to hand this referral on to');
      const onwardCriteria = await serviceCriteria(trx, onward.id);
      const onwardProblem = onwardCriteria ? await eligibilityProblem(trx, onwardCriteria, await eligibilityFactsOf(trx, r, now)) : null;
      if (onwardProblem)
        throw new ReferralInputError('onward', `${onwardProblem}. Choose a service they can use, or choose not to hand it on`);
      onwardId = newReferralId();
      note = `${action.reason.trim()} Handed on to ${onward.name} (${onward.organisation}).`;
      set.decline_reason = action.reason.trim();
      set.onward_referral_id = onwardId;
      // The onward referral shares what the person agreed, if they agreed to be handed on.
      const carry = r.onward_consent && r.sharing_basis === 'consent';
      const categories = carry ? r.shared_categories : r.sharing_basis === 'lawful_basis' ? [] : [];
      const practitioner = actor.practitionerId
        ? (await practitionersByIds(trx, [actor.practitionerId])).get(actor.practitionerId)
        : undefined;
      // insert the onward referral first so the declined row can point at it (the check constraint)
      await insertReferral(trx, {
        id: onwardId,
        personId: r.person_id,
        service: onward,
        reason: `Handed on by ${byLabel}: ${action.reason.trim()}\n\nOriginal reason: ${r.reason}`,
        personWords: r.person_words,
        urgency: r.urgency,
        categories,
        sharingBasis: carry ? 'consent' : r.sharing_basis === 'lawful_basis' ? 'lawful_basis' : 'identification',
        onwardConsent: false,
        onwardFromId: r.id,
        journeyId: r.journey_id,
        stepCode: r.step_code,
        from: {
          organisationId: r.organisation_id,
          teamId: practitioner?.teamId ?? r.team_id,
          practitionerId: actor.practitionerId,
          userId: actor.id,
        },
        byLabel,
        byRole: actor.role,
        by: actor,
        note: 'Created automatically when the previous service declined, so nobody is dropped',
        now,
        // A resident's own request stays theirs when handed on, with what they typed, and opens a
        // relationship only if the first one did (never for a request made without signing in).
        kind: r.kind,
        openRelationship: !typedOnly(r),
      });
      if (r.kind !== 'professional') await copySelfDetails(trx, r.id, onwardId);
      for (const category of categories.filter(isCategory)) {
        await recordDirective(
          trx,
          actor,
          r.person_id,
          {
            category,
            recipientKind: 'organisation',
            recipientId: onward.organisation_id,
            purposes: [...carePurposes],
            decision: 'permit',
            validUntil: null,
            note: `when handing your referral on to ${onward.name}`,
          },
          { evidence: `you agreed to be handed on when first referred (${categoryLabels[category]})`, referralId: onwardId },
        );
      }
    }
    if (result.closes) set.closed_at = now;
    await trx.updateTable('referrals').set(set).where('id', '=', r.id).execute();
    await trx
      .insertInto('referral_events')
      .values({
        referral_id: r.id,
        at: now,
        action: action.kind,
        from_status: r.status,
        to_status: result.status,
        by_user_id: actor.id,
        by_role: actor.role,
        by_organisation_id: actor.organisationId,
        by_label: byLabel,
        note,
      })
      .execute();
    // The person is told there is news (never what it is) when the service moves the referral on.
    if (action.kind === 'acknowledge' || action.kind === 'accept' || action.kind === 'decline' || action.kind === 'complete') {
      await notifyPeople(trx, { personIds: [r.person_id], event: 'referral_step', path: '/my-referrals' }, now);
    }
    // The account that follows a request made without signing in is told of every step, first contact too.
    if (action.kind !== 'assign' && r.kind !== 'professional') await notifyRequestFollower(trx, r.id, r.person_id, now);
    // Access follows relationships: the receiving team's ends when the referral closes.
    if (result.closes && r.relationship_id !== null) {
      await endRelationship(trx, actor, {
        relationshipId: r.relationship_id,
        reason: `relationship of care ended: referral ${result.status}`,
        at: now,
      });
    }
    // And the integrated team's caseload place the referral opened (never one the person had before).
    if (result.closes && r.team_relationship_id !== null) {
      await endRelationship(trx, actor, {
        relationshipId: Number(r.team_relationship_id),
        reason: `left the team's caseload: referral ${result.status}`,
        at: now,
      });
    }
    await onReferralChange(trx, { journeyId: r.journey_id, stepCode: r.step_code, referralId: r.id }, action.kind, onwardId, stepAt);
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorRole: actor.role,
      actorOrganisationId: actor.organisationId,
      action: 'write',
      personId: r.person_id,
      category: 'social_care',
      purpose: 'care_coordination',
      decision: 'success',
      reason: `referral ${action.kind === 'decline' ? (onwardId ? 'declined and handed on' : 'declined, not handed on') : action.kind}`,
    });
    return { status: result.status, onwardReferralId: onwardId };
  };
}

export interface BulkOutcome {
  done: number;
  refused: Array<{ id: string; error: string }>;
}

/** Bulk acknowledge or assign: each referral is its own step; refusals are reported, not fatal. */
export async function bulkReferralAction(
  db: Kysely<Database>,
  actor: SignedInUser,
  ids: string[],
  action: ReferralAction,
  now: Date = new Date(),
): Promise<BulkOutcome> {
  const outcome: BulkOutcome = { done: 0, refused: [] };
  for (const id of ids) {
    try {
      await applyReferralAction(db, actor, id, action, now);
      outcome.done += 1;
    } catch (error) {
      if (error instanceof ReferralInputError) outcome.refused.push({ id, error: error.message });
      else throw error;
    }
  }
  return outcome;
}

export { isOpen };
