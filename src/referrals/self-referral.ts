// A resident asking a service for help themselves: signed in (for themselves, or for someone
// they are a registered proxy for) or not signed in, giving their contact details. It joins the
// same closed loop as a practitioner's referral (insertReferral, state.ts), with what they typed
// kept beside it (referral_self_details).
//
// Who the receiving service may see, and why (the access rule for self-referrals):
// - Signed in: the account says who the person is, so the self-referral is like a referral the
//   person agreed to. It opens the receiving organisation's relationship of care, as any referral
//   does (basic details to identify them, and what the person chooses to share on the form).
// - Not signed in: nobody has shown who they are. Anyone can type a neighbour's name and date of
//   birth, so the details go through the person index (a 'self_referral' source record) only to
//   file the request against the right person (matched, a new person, or held for a reviewer),
//   and the request opens NO relationship, whatever the index decided: a stranger's form must
//   not open a door to someone's record. The receiving organisation works from what was typed
//   (the referral's own content, shown only to it), and sees the person's record only through a
//   relationship opened some other way (the person, signed in, sharing it; a case it holds).
//   Nothing the person index found is ever shown to the one who typed: the confirmation, the
//   reference and the messages are the same whether or not anyone was known, and eligibility
//   is checked against what was typed, never against the record found.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { carePurposes, decideRecordAccess, recordDirective, type Category } from '../consent/index.ts';
import { receiveSourceRecord } from '../linkage/index.ts';
import { readDateInput, type DatePart } from '../platform/date-input.ts';
import { insertReferral, newReferralId, type ServiceRow } from './referrals.ts';
import { eligibilityProblem, personFacts, serviceCriteria } from './eligibility.ts';
import { factsFromDetails, newReference } from './self-details.ts';
import { ukDate } from './working-days.ts';
import type { Urgency } from './state.ts';
import { organisationNameOf, serviceById, serviceNameOf } from '../network/index.ts';
import { personDetails } from '../people/index.ts';
import { Refusal } from '../platform/refused.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The person index's source for details residents type themselves (never an organisation's source code). */
export const SELF_REFERRAL_SOURCE = 'self_referral';

export const preferredContacts = ['email', 'phone', 'text'] as const;
export type PreferredContact = (typeof preferredContacts)[number];
export const preferredContactLabels: Record<PreferredContact, string> = { email: 'Email', phone: 'Phone call', text: 'Text message' };

export interface FieldError {
  field: string;
  text: string;
  parts?: DatePart[];
}

/** Bad input on a resident's form: every problem at once, for the GOV.UK error summary. */
export class SelfReferralInputError extends Refusal {
  readonly errors: FieldError[];
  constructor(errors: FieldError[], status = 400) {
    super(status, errors.map((e) => e.text).join('; '));
    this.errors = errors;
  }
}

/** How the resident can be reached, as typed (not signed in) or confirmed (signed in). */
export interface ContactDetails {
  givenName: string;
  familyName: string;
  birthDate: string | null;
  postcode: string | null;
  email: string | null;
  phone: string | null;
  preferredContact: PreferredContact;
  accessNeeds: string | null;
}

export interface SelfReferralInput {
  serviceId: string;
  /** The key of the form shown: the same key sent twice makes one referral. */
  submissionKey: string;
  contact: ContactDetails;
  help: string;
  urgency: Extract<Urgency, 'routine' | 'soon'>;
  onwardConsent: boolean;
  /** Signed in only: what the person agrees the service may see beyond their basic details. */
  categories: Category[];
}

type Body = Record<string, unknown>;
const str = (v: unknown, max: number): string => (typeof v === 'string' ? v.trim().slice(0, max) : '');
const SUBMISSION_KEY = /^[a-f0-9-]{36}$/;

export function normalisedPostcode(raw: string): string {
  const compact = raw.toUpperCase().replace(/\s+/g, '');
  return compact.length > 3 ? `${compact.slice(0, -3)} ${compact.slice(-3)}` : compact;
}

/** Reads the contact part of a resident's form (shared by the self-referral and self-assessment forms, referrals/forms.ts), adding each problem to `errors`. */
export function parseContact(body: Body, errors: FieldError[], signedIn: boolean, now: Date): ContactDetails {
  const givenName = str(body.given_name, 100);
  const familyName = str(body.family_name, 100);
  if (!signedIn) {
    if (!givenName) errors.push({ field: 'given_name', text: 'Enter your first name' });
    if (!familyName) errors.push({ field: 'family_name', text: 'Enter your last name' });
  }
  let birthDate: string | null = null;
  if (!signedIn) {
    const dob = readDateInput(body, 'dob', 'Date of birth');
    if (dob.kind === 'empty') errors.push({ field: 'dob', text: 'Enter your date of birth', parts: ['day', 'month', 'year'] });
    else if (dob.kind === 'error') errors.push({ field: 'dob', text: dob.message, parts: dob.parts });
    else if (dob.iso > ukDate(now))
      errors.push({ field: 'dob', text: 'Date of birth must be in the past', parts: ['day', 'month', 'year'] });
    else if (dob.iso < '1900-01-01') errors.push({ field: 'dob', text: 'Date of birth must be after 1900', parts: ['year'] });
    else birthDate = dob.iso;
  }
  let postcode: string | null = null;
  const rawPostcode = str(body.postcode, 12);
  if (!signedIn) {
    const pc = normalisedPostcode(rawPostcode);
    if (!rawPostcode) errors.push({ field: 'postcode', text: 'Enter your postcode' });
    else if (!/^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$/.test(pc))
      errors.push({ field: 'postcode', text: 'Enter a real postcode, like RV3 2AB' });
    else postcode = pc;
  }
  const email = str(body.email, 200) || null;
  const phone = str(body.phone, 30) || null;
  if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
    errors.push({ field: 'email', text: 'Enter an email address in the correct format, like name@example.com' });
  if (phone && !/^\+?[0-9 ()-]{10,20}$/.test(phone))
    errors.push({ field: 'phone', text: 'Enter a phone number, like 01632 960 001 or 07700 900 982' });
  const preferred = body.preferred_contact;
  let preferredContact: PreferredContact = 'email';
  if (typeof preferred !== 'string' || !(preferredContacts as readonly string[]).includes(preferred)) {
    errors.push({ field: 'preferred_contact', text: 'Choose how you would like to be contacted' });
  } else {
    preferredContact = preferred as PreferredContact;
    if (preferredContact === 'email' && !email && !errors.some((e) => e.field === 'email'))
      errors.push({ field: 'email', text: 'Enter your email address, or choose another way to be contacted' });
    if (preferredContact !== 'email' && !phone && !errors.some((e) => e.field === 'phone'))
      errors.push({ field: 'phone', text: 'Enter your phone number, or choose another way to be contacted' });
  }
  return { givenName, familyName, birthDate, postcode, email, phone, preferredContact, accessNeeds: str(body.access_needs, 1000) || null };
}

/** A service a resident may ask for themselves, or undefined. */
export async function selfReferralService(
  db: Db,
  serviceId: string,
): Promise<
  (ServiceRow & { accepts_self_referral: boolean; min_age: number | null; max_age: number | null; locality_ids: string[] }) | undefined
> {
  const s = await serviceById(db, serviceId);
  if (!s) return undefined;
  return {
    id: s.id,
    name: s.name,
    organisation_id: s.organisationId,
    team_id: s.teamId,
    organisation: s.organisationName,
    acknowledge_within_days: s.acknowledgeWithinDays,
    first_contact_within_days: s.firstContactWithinDays,
    accepts_self_referral: s.acceptsSelfReferral,
    min_age: s.minAge,
    max_age: s.maxAge,
    locality_ids: s.localityIds,
  };
}

/** The person a signed-in resident may ask for: themselves, or someone they are a registered proxy for. */
export async function subjectFor(
  db: Kysely<Database>,
  user: SignedInUser,
  requested: string | null,
): Promise<{ personId: string; madeBy: 'person' | 'proxy' }> {
  if (user.role !== 'citizen' || !user.personId)
    throw new SelfReferralInputError(
      [{ field: 'person', text: "Only residents can ask for help for themselves here. Practitioners refer from the person's record." }],
      403,
    );
  const personId = requested && requested !== '' ? requested : user.personId;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(personId))
    throw new SelfReferralInputError(
      [{ field: 'person', text: 'You can only ask for help for yourself, or for someone you are a registered proxy for.' }],
      403,
    );
  // The one access decision, audited allow or deny: the person, or a proxy whose scope covers basic details.
  const access = await decideRecordAccess(db, { actor: user, personId, categories: ['demographics'], purpose: 'self', action: 'write' });
  if (access.byCategory.demographics.scope !== 'all')
    throw new SelfReferralInputError(
      [{ field: 'person', text: 'You can only ask for help for yourself, or for someone you are a registered proxy for.' }],
      403,
    );
  return { personId, madeBy: personId === user.personId ? 'person' : 'proxy' };
}

export interface SelfReferralSent {
  referralId: string;
  reference: string;
  firstContactDue: string;
  preferredContact: PreferredContact;
  serviceName: string;
  organisation: string;
}

async function sentFor(db: Db, submissionKey: string): Promise<SelfReferralSent | undefined> {
  const row = await db
    .selectFrom('referral_self_details as d')
    .innerJoin('referrals as r', 'r.id', 'd.referral_id')
    .select([
      'r.id',
      'd.reference',
      'r.first_contact_due',
      'd.preferred_contact',
      serviceNameOf('r.service_id').as('name'),
      organisationNameOf('r.organisation_id').$castTo<string>().as('organisation'),
    ])
    .where('d.submission_key', '=', submissionKey)
    .executeTakeFirst();
  return row
    ? {
        referralId: row.id,
        reference: row.reference,
        firstContactDue: String(row.first_contact_due).slice(0, 10),
        preferredContact: row.preferred_contact,
        serviceName: row.name,
        organisation: row.organisation,
      }
    : undefined;
}

/** The sent request a confirmation page shows, by its form's key (nothing about the person). */
/** The account that sent a self-referral while signed in (null when it was sent without signing in). */
export async function selfReferralSenderAccount(db: Db, referralId: string): Promise<string | null> {
  const row = await db.selectFrom('referral_self_details').select('by_user_id').where('referral_id', '=', referralId).executeTakeFirst();
  return row?.by_user_id ?? null;
}

export async function selfReferralByKey(db: Db, submissionKey: string): Promise<SelfReferralSent | undefined> {
  return SUBMISSION_KEY.test(submissionKey) ? sentFor(db, submissionKey) : undefined;
}

export interface SelfMade {
  kind: 'self_referral' | 'self_assessment';
  service: ServiceRow;
  submissionKey: string;
  contact: ContactDetails;
  reason: string;
  personWords: string | null;
  urgency: Urgency;
  onwardConsent: boolean;
  categories: Category[];
  needs: string[];
  whatMatters: string | null;
  /** Signed in: who, and for whom; null when not signed in. */
  signedIn: { user: SignedInUser; personId: string; madeBy: 'person' | 'proxy' } | null;
  /** Not signed in as a person, but with an account made from an earlier request: the account follows this one too (request-accounts.ts). */
  followerAccountId?: string | null;
  /** More to write with the request, in its transaction (a self-assessment's "about me"). */
  alsoInTransaction?: (trx: Transaction<Database>, personId: string) => Promise<void>;
}

const uniqueViolation = (error: unknown) => typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';

/**
 * Files a self-made request: the person (signed in) or the person index's answer (not signed
 * in), then the referral, its first event and the details typed, in one transaction. A form
 * sent twice (the same submission key) returns the first request, whichever arrives first.
 */
export async function fileSelfMade(db: Kysely<Database>, made: SelfMade, now: Date = new Date()): Promise<SelfReferralSent> {
  const already = await sentFor(db, made.submissionKey);
  if (already) return already;
  let personId: string;
  let identity: 'signed_in' | 'matched' | 'new_person' | 'review' = 'signed_in';
  let sourceRecordId: number | null = null;
  if (made.signedIn) {
    personId = made.signedIn.personId;
  } else {
    // The person index's one decision for an arriving record (decideLink), keyed by the form so
    // a second press finds the same record.
    const c = made.contact;
    const received = await receiveSourceRecord(db, SELF_REFERRAL_SOURCE, made.submissionKey, {
      given_name: c.givenName,
      family_name: c.familyName,
      birth_date: c.birthDate ?? '',
      postcode: c.postcode ?? '',
      email: c.email ?? '',
      phone: c.phone ?? '',
    });
    personId = received.personId;
    sourceRecordId = received.sourceRecordId;
    identity =
      received.reviewIds.length > 0 || received.outcome === 'review' ? 'review' : received.createdPerson ? 'new_person' : 'matched';
  }
  const id = newReferralId();
  const reference = newReference();
  const by = made.signedIn?.user ?? null;
  const byLabel = !made.signedIn
    ? 'The person (not signed in)'
    : made.signedIn.madeBy === 'person'
      ? 'The person'
      : `${made.signedIn.user.displayName}, acting for the person`;
  try {
    await db.transaction().execute(async (trx) => {
      if (made.signedIn) {
        // What the person (or their proxy, within their scope) chose to let the service see: their own word.
        for (const category of made.categories) {
          await recordDirective(trx, made.signedIn.user, personId, {
            category,
            recipientKind: 'organisation',
            recipientId: made.service.organisation_id,
            purposes: [...carePurposes],
            decision: 'permit',
            validUntil: null,
            note: `when asking ${made.service.name} for help`,
          });
        }
      }
      await insertReferral(trx, {
        id,
        personId,
        service: made.service,
        reason: made.reason,
        personWords: made.personWords,
        urgency: made.urgency,
        from: { organisationId: null, teamId: null, practitionerId: null, userId: by?.id ?? null },
        categories: made.categories,
        sharingBasis: made.categories.length ? 'consent' : 'identification',
        onwardConsent: made.onwardConsent,
        onwardFromId: null,
        journeyId: null,
        stepCode: null,
        byLabel,
        byRole: by?.role ?? null,
        by,
        note: made.kind === 'self_assessment' ? "From the person's own assessment of what matters to them" : null,
        now,
        kind: made.kind,
        // Not signed in: no relationship of care, whatever the person index found (see the top of this file).
        openRelationship: made.signedIn !== null,
      });
      const c = made.contact;
      await trx
        .insertInto('referral_self_details')
        .values({
          referral_id: id,
          made_by: made.signedIn?.madeBy ?? 'not_signed_in',
          by_user_id: by?.id ?? null,
          given_name: c.givenName,
          family_name: c.familyName,
          birth_date: c.birthDate,
          postcode: c.postcode,
          email: c.email,
          phone: c.phone,
          preferred_contact: c.preferredContact,
          access_needs: c.accessNeeds,
          source_record_id: sourceRecordId,
          identity,
          reference,
          submission_key: made.submissionKey,
          needs: sql<string[]>`${JSON.stringify(made.needs)}::jsonb`,
          what_matters: made.whatMatters,
          account_id: made.signedIn ? null : (made.followerAccountId ?? null),
        })
        .execute();
      if (made.alsoInTransaction) await made.alsoInTransaction(trx, personId);
      await appendAudit(trx, {
        actorUserId: by?.id ?? null,
        actorRole: by?.role ?? null,
        actorOrganisationId: null,
        action: 'write',
        personId,
        category: 'social_care',
        purpose: made.signedIn ? 'self' : 'care_coordination',
        decision: 'success',
        reason: `${made.kind === 'self_assessment' ? 'self-assessment' : 'self-referral'} to ${made.service.organisation}${made.signedIn ? (made.signedIn.madeBy === 'proxy' ? ' by a proxy' : '') : ' (not signed in)'}`,
      });
    });
  } catch (error) {
    // The same form sent twice at once: the other request won the key, and it is the answer.
    if (uniqueViolation(error)) {
      const winner = await sentFor(db, made.submissionKey);
      if (winner) return winner;
    }
    throw error;
  }
  return (await sentFor(db, made.submissionKey))!;
}

/** Sends a self-referral to a service that accepts them, checking who the service is for. */
export async function sendSelfReferral(
  db: Kysely<Database>,
  user: SignedInUser | null,
  forPerson: string | null,
  input: SelfReferralInput,
  now: Date = new Date(),
  followerAccountId: string | null = null,
): Promise<SelfReferralSent> {
  const service = await selfReferralService(db, input.serviceId);
  if (!service) throw new SelfReferralInputError([{ field: 'service', text: 'There is no such service in the directory.' }], 404);
  if (!service.accepts_self_referral)
    throw new SelfReferralInputError(
      [
        {
          field: 'service',
          text: `${service.name} does not take requests from residents themselves: ask a professional involved in your care to refer you.`,
        },
      ],
      404,
    );
  const already = await sentFor(db, input.submissionKey);
  if (already) return already;
  const subject = user ? await subjectFor(db, user, forPerson) : null;
  // The same rules as a practitioner's referral (eligibility.ts), told to the resident.
  const facts = subject ? await personFacts(db, subject.personId, now) : await factsFromDetails(db, input.contact, now);
  let contact = input.contact;
  if (subject) {
    // Signed in: who they are is their record's, not what a form says.
    const p = await personDetails(db, subject.personId);
    if (!p) throw new Error('the signed-in subject has no person record');
    contact = {
      ...contact,
      givenName: p.givenName,
      familyName: p.familyName,
      birthDate: p.birthDate ? String(p.birthDate).slice(0, 10) : null,
    };
  }
  const criteria = await serviceCriteria(db, service.id);
  const problem = criteria ? await eligibilityProblem(db, criteria, facts, subject?.madeBy === 'proxy' ? 'they' : 'you') : null;
  if (problem) throw new SelfReferralInputError([{ field: 'service', text: `${problem}. Search the directory for a service you can use` }]);
  return fileSelfMade(
    db,
    {
      kind: 'self_referral',
      service,
      submissionKey: input.submissionKey,
      contact,
      reason: input.help,
      personWords: input.help,
      urgency: input.urgency,
      onwardConsent: input.onwardConsent,
      categories: input.categories,
      needs: [],
      whatMatters: null,
      signedIn: subject ? { user: user!, ...subject } : null,
      followerAccountId,
    },
    now,
  );
}

/** Contact details a signed-in person's record holds, to prefill their form (their own data). */
export async function contactPrefill(db: Kysely<Database>, personId: string): Promise<{ email: string; phone: string; name: string }> {
  const p = await personDetails(db, personId);
  return { email: p?.email ?? '', phone: p?.phone ?? '', name: p ? `${p.givenName} ${p.familyName}` : '' };
}
