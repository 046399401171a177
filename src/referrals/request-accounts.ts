// Following a request for help made without signing in: the email address typed on it gets a
// single-use link to make an account, and that account sees its own requests (every step of the
// closed loop and what was typed) and talks with the team each went to. Anyone can type a
// neighbour's name and date of birth, and the person index may file the request against the
// neighbour's record, so the account is tied to the REQUEST, never to the person: its person_id
// stays null and the one access decision grants it nothing on any record. It becomes a person's
// account only through the consent module (NHS login at P9, or a practitioner confirming who they are).
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { appendAudit } from '../audit/index.ts';
import {
  accountsOfPractitioner,
  createUnconfirmedResidentAccount,
  usernameTakenRefusal,
  userPersonIdOf,
  type SignedInUser,
  type SignUpInput,
} from '../auth/index.ts';
import { notify, sendTransactional } from '../notify/index.ts';
import { HttpError } from '../platform/http.ts';
import { RefusedInput } from '../platform/refused.ts';
import { confirmAccountIdentity, isIdentityCheck } from '../consent/index.ts';
import { referralHistory, type ReferralEventView } from './queries.ts';
import { partiesOf } from './referrals.ts';
import { historyLabel, statusLabels, type ReferralStatus } from './state.ts';
import { organisationById, organisationNameOf, serviceNameOf } from '../network/index.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** How long the emailed link works: long enough to find the email the next day, short enough to go stale. */
export const REQUEST_ACCOUNT_LINK_HOURS = 72;
const TOKEN = /^[A-Za-z0-9_-]{20,100}$/;
const REFERENCE = /^SR-[A-Z0-9]{4}-[A-Z0-9]{4}$/;
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export type AccountOffer = 'sent' | 'not_possible';

/**
 * Emails the address typed on a request made without signing in a link to make an account that
 * follows it, in one transaction through the notifications outbox. Nothing personal in the email:
 * only the reference. Replaces any earlier link for the request. 'not_possible' when the request
 * was made signed in, gave no email address, or already has its account (the page says the same
 * thing whichever, so the key tells nobody more).
 */
/**
 * Whether the person who sent a request can be offered an account to follow it: sent without
 * signing in, with an email address to send the link to, and no account made for it yet.
 */
export async function canOfferRequestAccount(db: Kysely<Database>, referralId: string): Promise<boolean> {
  const d = await db
    .selectFrom('referral_self_details')
    .select(['made_by', 'email', 'account_id'])
    .where('referral_id', '=', referralId)
    .executeTakeFirst();
  return Boolean(d && d.made_by === 'not_signed_in' && d.email && !d.account_id);
}

export async function offerRequestAccount(
  trx: Transaction<Database>,
  submissionKey: string,
  publicUrl: string,
  now: Date = new Date(),
): Promise<AccountOffer> {
  if (!/^[a-f0-9-]{36}$/.test(submissionKey)) return 'not_possible';
  const d = await trx
    .selectFrom('referral_self_details')
    .select(['referral_id', 'reference', 'email', 'made_by', 'account_id'])
    .where('submission_key', '=', submissionKey)
    .forUpdate()
    .executeTakeFirst();
  if (!d || d.made_by !== 'not_signed_in' || !d.email || d.account_id) return 'not_possible';
  await trx
    .updateTable('referral_account_links')
    .set({ used_at: now })
    .where('referral_id', '=', d.referral_id)
    .where('used_at', 'is', null)
    .execute();
  const token = randomBytes(32).toString('base64url');
  await trx
    .insertInto('referral_account_links')
    .values({
      token_hash: hashOf(token),
      referral_id: d.referral_id,
      created_at: now,
      expires_at: new Date(now.getTime() + REQUEST_ACCOUNT_LINK_HOURS * 3_600_000),
      used_at: null,
    })
    .execute();
  await sendTransactional(
    trx,
    {
      email: d.email,
      subject: `Create your Joinery account to follow your request ${d.reference}`,
      body: [
        `You asked for a link to create a Joinery account, to follow your request for help ${d.reference}.`,
        '',
        'To choose a username and password, open this link:',
        `${publicUrl}/my-requests/create-account/${token}`,
        '',
        `The link works once, for ${REQUEST_ACCOUNT_LINK_HOURS} hours. If you did not ask a service in Joinery for help, you can ignore this email.`,
      ].join('\n'),
    },
    now,
  );
  return 'sent';
}

async function usableLink(db: Db, token: string, now: Date) {
  if (!TOKEN.test(token)) return undefined;
  return db
    .selectFrom('referral_account_links as l')
    .innerJoin('referral_self_details as d', 'd.referral_id', 'l.referral_id')
    .select(['l.referral_id', 'd.reference', 'd.email', 'd.given_name', 'd.family_name', 'd.account_id'])
    .where('l.token_hash', '=', hashOf(token))
    .where('l.used_at', 'is', null)
    .where('l.expires_at', '>', now)
    .executeTakeFirst();
}

/** The reference a link is for, while it can still be used (unused, unexpired, newest, and its request has no account yet). */
export async function requestAccountLinkFor(
  db: Kysely<Database>,
  token: string,
  now: Date = new Date(),
): Promise<{ reference: string; email: string } | undefined> {
  const link = await usableLink(db, token, now);
  return link && !link.account_id && link.email ? { reference: link.reference, email: link.email } : undefined;
}

/** The request and every request handed on from it (copies of what was typed, with references of their own). */
async function requestChain(trx: Db, referralId: string): Promise<string[]> {
  const ids = [referralId];
  for (let i = 0; i < ids.length && ids.length < 50; i += 1) {
    const next = await trx.selectFrom('referrals').select('id').where('onward_from_id', '=', ids[i]!).execute();
    ids.push(...next.map((n) => n.id).filter((id) => !ids.includes(id)));
  }
  return ids;
}

/**
 * Makes the account from the link: claims the link (two uses at once make one account), makes an
 * account tied to no person, and makes it the follower of the request (and of any request handed
 * on from it). Its email address is the one the link went to. Undefined when the link cannot be
 * used; SignUpRefused with every problem of the form.
 */
export async function createRequestAccount(
  db: Kysely<Database>,
  token: string,
  input: Omit<SignUpInput, 'email'>,
  now: Date = new Date(),
): Promise<{ userId: string; reference: string } | undefined> {
  if (!(await requestAccountLinkFor(db, token, now))) return undefined;
  try {
    return await db.transaction().execute(async (trx) => {
      const claimed = (
        await sql<{ referral_id: string }>`
        update referral_account_links set used_at = ${now}
        where token_hash = ${hashOf(token)} and used_at is null and expires_at > ${now}
        returning referral_id`.execute(trx)
      ).rows[0];
      if (!claimed) return undefined;
      const d = await trx
        .selectFrom('referral_self_details')
        .select(['reference', 'email', 'given_name', 'family_name', 'account_id'])
        .where('referral_id', '=', claimed.referral_id)
        .forUpdate()
        .executeTakeFirst();
      if (!d || d.account_id || !d.email) return undefined;
      // The name is what they typed: the account shows it back to them and to nobody else.
      const { userId } = await createUnconfirmedResidentAccount(trx, {
        ...input,
        email: d.email,
        displayName: `${d.given_name} ${d.family_name}`,
      });
      await trx
        .updateTable('referral_self_details')
        .set({ account_id: userId })
        .where('referral_id', 'in', await requestChain(trx, claimed.referral_id))
        .where('account_id', 'is', null)
        .execute();
      await appendAudit(trx, {
        actorUserId: userId,
        actorRole: 'citizen',
        actorOrganisationId: null,
        action: 'create_account',
        personId: null,
        category: null,
        purpose: null,
        decision: 'success',
        reason: `account made to follow request ${d.reference} (tied to the request, not to any person)`,
      });
      return { userId, reference: d.reference };
    });
  } catch (error) {
    throw usernameTakenRefusal(error) ?? error;
  }
}

export interface FollowedRequest {
  referralId: string;
  reference: string;
  service: string;
  organisation: string;
  status: ReferralStatus;
  statusLabel: string;
  sentAt: Date;
  firstContactDue: string;
  history: Array<ReferralEventView & { label: string }>;
}

/** The requests an account follows, newest first: the account's own, through account_id only. */
export async function requestsOfAccount(db: Kysely<Database>, user: SignedInUser): Promise<FollowedRequest[]> {
  if (user.role !== 'citizen') return [];
  const rows = await db
    .selectFrom('referral_self_details as d')
    .innerJoin('referrals as r', 'r.id', 'd.referral_id')
    .select([
      'r.id',
      'd.reference',
      serviceNameOf('r.service_id').as('service'),
      organisationNameOf('r.organisation_id').$castTo<string>().as('organisation'),
      'r.status',
      'r.sent_at',
      'r.first_contact_due',
      'r.onward_referral_id',
    ])
    .where('d.account_id', '=', user.id)
    .orderBy('r.sent_at', 'desc')
    .orderBy('r.id')
    .execute();
  const history = await referralHistory(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => ({
    referralId: r.id,
    reference: r.reference,
    service: r.service,
    organisation: r.organisation,
    status: r.status,
    statusLabel: statusLabels[r.status],
    sentAt: r.sent_at,
    firstContactDue: String(r.first_contact_due).slice(0, 10),
    history: (history.get(r.id) ?? []).map((h) => ({ ...h, label: historyLabel(h.action, Boolean(r.onward_referral_id)) })),
  }));
}

export interface RequestMessage {
  id: number;
  side: 'requester' | 'service';
  authorLabel: string;
  body: string;
  sentAt: Date;
}

async function messagesOf(db: Db, referralId: string): Promise<RequestMessage[]> {
  const rows = await db
    .selectFrom('referral_messages')
    .select(['id', 'author_side', 'author_label', 'body', 'sent_at'])
    .where('referral_id', '=', referralId)
    .orderBy('id')
    .execute();
  return rows.map((m) => ({ id: Number(m.id), side: m.author_side, authorLabel: m.author_label, body: m.body, sentAt: m.sent_at }));
}

/** One request the account follows, with what was typed and the conversation; 404 for anyone else's (or none), alike. */
export async function requestOfAccount(db: Kysely<Database>, user: SignedInUser, reference: string) {
  const notFound = new HttpError(404, 'There is no such request.');
  if (user.role !== 'citizen' || !REFERENCE.test(reference)) throw notFound;
  const d = await db
    .selectFrom('referral_self_details')
    .selectAll()
    .where('reference', '=', reference)
    .where('account_id', '=', user.id)
    .executeTakeFirst();
  if (!d) throw notFound;
  const request = (await requestsOfAccount(db, user)).find((r) => r.referralId === d.referral_id);
  if (!request) throw notFound;
  const reason = await db
    .selectFrom('referrals')
    .select(['person_words', 'urgency'])
    .where('id', '=', d.referral_id)
    .executeTakeFirstOrThrow();
  return {
    ...request,
    typed: {
      givenName: d.given_name,
      familyName: d.family_name,
      birthDate: d.birth_date ? String(d.birth_date).slice(0, 10) : null,
      postcode: d.postcode,
      email: d.email,
      phone: d.phone,
      help: reason.person_words,
      accessNeeds: d.access_needs,
    },
    messages: await messagesOf(db, d.referral_id),
  };
}

export class RequestMessageRefused extends HttpError {
  constructor(message: string) {
    super(400, message);
  }
}

function checkedBody(raw: string): string {
  const body = raw.trim();
  if (!body) throw new RequestMessageRefused('Enter your message');
  if (body.length > 5000) throw new RequestMessageRefused('Your message must be 5,000 characters or fewer');
  return body;
}

/** The one who asked replies about their request, from the account that follows it only, in the caller's transaction. */
export async function writeRequesterMessage(
  trx: Transaction<Database>,
  user: SignedInUser,
  reference: string,
  raw: string,
  now: Date = new Date(),
): Promise<void> {
  const request = await requestOfAccount(trx, user, reference);
  const body = checkedBody(raw);
  await trx
    .insertInto('referral_messages')
    .values({
      referral_id: request.referralId,
      author_user_id: user.id,
      author_side: 'requester',
      author_label: 'The person who asked',
      body,
      sent_at: now,
    })
    .execute();
  // The practitioner the request is assigned to is told there is a reply (never what it says).
  const r = await trx.selectFrom('referrals').select('assigned_practitioner_id').where('id', '=', request.referralId).executeTakeFirst();
  const assigned = r?.assigned_practitioner_id ? await accountsOfPractitioner(trx, r.assigned_practitioner_id) : [];
  for (const userId of assigned)
    await notify(trx, { userId, event: 'new_message', path: `/referrals/${request.referralId}#messages` }, now);
  await appendAudit(trx, {
    actorUserId: user.id,
    actorRole: user.role,
    actorOrganisationId: null,
    action: 'write',
    personId: null,
    category: null,
    purpose: null,
    decision: 'success',
    reason: `message about request ${reference} from the person who asked`,
  });
}

/** Whether the practitioner may talk about this referral: it was sent to their organisation. */
async function receivingReferral(db: Db, actor: SignedInUser, referralId: string) {
  const r = await db
    .selectFrom('referrals')
    .select(['id', 'person_id', 'organisation_id', 'from_organisation_id'])
    .where('id', '=', referralId)
    .executeTakeFirst();
  if (!r) throw new HttpError(404, 'There is no such referral.');
  if (actor.role !== 'practitioner' || !partiesOf(actor, r).includes('receiver'))
    throw new HttpError(403, 'Only the service a request was sent to can write to the person who asked.');
  return r;
}

/** The conversation about a request, for the receiving service's page of the referral (undefined when nobody follows it). */
export async function requestConversationForService(
  db: Kysely<Database>,
  actor: SignedInUser,
  referralId: string,
): Promise<{ messages: RequestMessage[] } | undefined> {
  if (actor.role !== 'practitioner') return undefined;
  await receivingReferral(db, actor, referralId);
  const d = await db.selectFrom('referral_self_details').select('account_id').where('referral_id', '=', referralId).executeTakeFirst();
  if (!d?.account_id) return undefined;
  return { messages: await messagesOf(db, referralId) };
}

/**
 * The receiving team writes to the one who asked, in the caller's transaction: the account is told
 * there is a new message (never what it says).
 */
export async function writeServiceMessage(
  trx: Transaction<Database>,
  actor: SignedInUser,
  referralId: string,
  raw: string,
  now: Date = new Date(),
): Promise<void> {
  await receivingReferral(trx, actor, referralId);
  const body = checkedBody(raw);
  const d = await trx
    .selectFrom('referral_self_details')
    .select(['account_id', 'reference'])
    .where('referral_id', '=', referralId)
    .executeTakeFirst();
  if (!d?.account_id) throw new HttpError(409, 'The person who asked has no account to read messages: contact them the way they chose.');
  const label = (await organisationById(trx, actor.organisationId!))?.name;
  if (label === undefined) throw new Error("the practitioner's organisation is not in the network");
  await trx
    .insertInto('referral_messages')
    .values({
      referral_id: referralId,
      author_user_id: actor.id,
      author_side: 'service',
      author_label: `${actor.displayName}, ${label}`,
      body,
      sent_at: now,
    })
    .execute();
  await notify(trx, { userId: d.account_id, event: 'new_message', path: `/my-requests/${d.reference}` }, now);
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorRole: actor.role,
    actorOrganisationId: actor.organisationId,
    action: 'write',
    personId: null,
    category: null,
    purpose: 'care_coordination',
    decision: 'success',
    reason: `message to the person who asked, about request ${d.reference}`,
  });
}

/**
 * Tells the account following a request that it moved (called by the closed loop, in its
 * transaction). Skipped when that account is already the person's own (told through the person).
 */
export async function notifyRequestFollower(trx: Transaction<Database>, referralId: string, personId: string, now: Date): Promise<void> {
  const d = await trx
    .selectFrom('referral_self_details as d')
    .select(['d.account_id', 'd.reference', userPersonIdOf('d.account_id').as('person_id')])
    .where('d.referral_id', '=', referralId)
    .where('d.account_id', 'is not', null)
    .executeTakeFirst();
  if (!d?.account_id || d.person_id === personId) return;
  await notify(trx, { userId: d.account_id, event: 'referral_step', path: `/my-requests/${d.reference}` }, now);
}

/**
 * Whether the receiving practitioner may confirm who follows this request: an account follows it,
 * is not tied to anyone yet, the person index settled who the request is about (matched or a new
 * person, never while a reviewer is still deciding), and the service has been in touch (first
 * contact recorded). The reason when not, for the page.
 */
export async function identityConfirmation(
  db: Db,
  actor: SignedInUser,
  referralId: string,
): Promise<{ possible: true } | { possible: false; reason: string } | undefined> {
  if (actor.role !== 'practitioner') return undefined;
  const r = await db
    .selectFrom('referrals as r')
    .innerJoin('referral_self_details as d', 'd.referral_id', 'r.id')
    .select([
      'r.organisation_id',
      'r.from_organisation_id',
      'r.person_id',
      'r.first_contact_on',
      'r.first_contact_at',
      'd.identity',
      'd.made_by',
      'd.account_id',
      userPersonIdOf('d.account_id').as('account_person'),
    ])
    .where('r.id', '=', referralId)
    .executeTakeFirst();
  if (!r || !r.account_id || r.made_by !== 'not_signed_in' || !partiesOf(actor, r).includes('receiver')) return undefined;
  if (r.account_person) return { possible: false, reason: 'Who they are has been confirmed: their account shows their record.' };
  if (r.identity === 'review')
    return {
      possible: false,
      reason: 'The person index is still checking who this request is about, so who they are cannot be confirmed yet.',
    };
  if (!r.first_contact_on && !r.first_contact_at)
    return { possible: false, reason: 'Record your first contact with them first: you confirm who they are when you are in touch.' };
  return { possible: true };
}

/**
 * The receiving practitioner records "I have confirmed this person's identity" and how: through
 * the consent module, the request's account becomes the person's own (and sees their record). In
 * the caller's transaction.
 */
export async function confirmRequesterIdentity(
  trx: Transaction<Database>,
  actor: SignedInUser,
  referralId: string,
  how: unknown,
): Promise<void> {
  await receivingReferral(trx, actor, referralId);
  if (!isIdentityCheck(how)) throw new RequestMessageRefused('Choose how you confirmed who they are');
  const state = await identityConfirmation(trx, actor, referralId);
  if (!state) throw new HttpError(404, 'Nobody follows this request with an account.');
  if (!state.possible) throw new HttpError(409, state.reason);
  const r = await trx
    .selectFrom('referrals as r')
    .innerJoin('referral_self_details as d', 'd.referral_id', 'r.id')
    .select(['r.person_id', 'd.account_id', 'd.reference'])
    .where('r.id', '=', referralId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  try {
    await confirmAccountIdentity(trx, actor, {
      userId: r.account_id!,
      personId: r.person_id,
      how,
      context: `when in touch about request ${r.reference}`,
    });
  } catch (error) {
    if (error instanceof RefusedInput) throw new HttpError(409, error.message);
    throw error;
  }
}
