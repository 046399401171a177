// Restriction and erasure (UK GDPR Arts. 17 and 18): the person, or their proxy, asks the
// organisation holding a record of them (the data owner) to restrict or erase information. The
// request goes to that organisation's inbox with the legal clock: an answer is due within one
// calendar month of receipt (Art. 12(3)). The owner restricts (the category is then withheld from
// every other organisation by the access decision, until the owner lifts it), records an erasure
// and what was erased, or refuses with reasons (for example a lawful basis to keep health
// records). The person sees the status and the answer; nothing is deleted, and every step is audited.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { z } from 'zod';
import { choiceOf, requiredText } from '../platform/forms.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { organisationHoldsPerson } from '../linkage/index.ts';
import { organisationNameOf } from '../network/index.ts';
import { personFullNameOf } from '../people/index.ts';
import { HttpError } from '../platform/http.ts';
import { actingFor, RightsInputError, type Trx } from './acting.ts';
import { categories, categoryLabels, type Category } from './categories.ts';

export type RightsRequestKind = 'restriction' | 'erasure';
export type RightsRequestStatus = 'open' | 'restricted' | 'erased' | 'refused' | 'lifted';

/** Basic details identify the person to those caring for them: a wrong one is corrected, not restricted. */
export const restrictableCategories: readonly Category[] = categories.filter((c) => c !== 'demographics');

export const statusLabels: Record<RightsRequestStatus, string> = {
  open: 'Waiting for an answer',
  restricted: 'Restricted',
  erased: 'Erased',
  refused: 'Refused',
  lifted: 'Restriction lifted',
};

/** One calendar month from the day of receipt in the UK; a day the next month lacks (31 January) becomes its last day. */
export function dueByFor(received: Date): string {
  const [y, m, d] = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(received)
    .split('-')
    .map(Number) as [number, number, number];
  const year = m === 12 ? y + 1 : y;
  const month = m === 12 ? 1 : m + 1;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return `${year}-${String(month).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`;
}

export interface RightsRequestInput {
  kind: RightsRequestKind;
  organisationId: string;
  category: Category;
  what: string;
  why: string;
}

/**
 * The person's request to restrict or erase information: which, held by which service (one that
 * holds their records), what kind (one they may see, which restriction covers), and why. Every
 * problem is reported at once, each with its field.
 */
export function rightsRequestForm(holders: readonly string[], askable: readonly Category[]) {
  return z
    .object({
      kind: choiceOf('Choose whether you want information restricted or erased', ['restriction', 'erasure']),
      organisation: choiceOf('Choose the service that holds the information', holders),
      category: choiceOf(
        'Choose what kind of information it is',
        askable.filter((c) => restrictableCategories.includes(c)),
      ),
      what: requiredText('Say which information, in 2 to 1,000 characters', { min: 2, max: 1000 }),
      why: requiredText('Say why you are asking, in 2 to 2,000 characters', { min: 2, max: 2000 }),
    })
    .transform((form): RightsRequestInput => ({
      kind: form.kind as RightsRequestKind,
      organisationId: form.organisation,
      category: form.category as Category,
      what: form.what,
      why: form.why,
    }));
}

/** The person (or a proxy whose scope covers the category) asks; returns the request's id. */
export async function requestRestrictionOrErasure(
  trx: Trx,
  actor: SignedInUser,
  personId: string,
  input: RightsRequestInput,
  now: Date = new Date(),
): Promise<number> {
  const recordedFor = await actingFor(trx, actor, personId, input.category);
  if (!(await organisationHoldsPerson(trx, input.organisationId, personId)))
    throw new RightsInputError('organisation', 'Choose the service that holds the information');
  const row = await trx
    .insertInto('rights_requests')
    .values({
      person_id: personId,
      requested_by: actor.id,
      recorded_for: recordedFor,
      kind: input.kind,
      organisation_id: input.organisationId,
      category: input.category,
      what: input.what,
      why: input.why,
      received_at: now,
      due_by: dueByFor(now),
      decided_at: null,
      decided_by: null,
      decision_note: null,
      lifted_at: null,
      lifted_by: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorRole: actor.role,
    actorOrganisationId: null,
    action: 'write',
    personId,
    category: input.category,
    purpose: 'self',
    decision: 'success',
    reason: `asked for ${input.kind === 'erasure' ? 'erasure' : 'restriction'} of information`,
  });
  return Number(row.id);
}

export interface RightsRequestView {
  id: number;
  personId: string;
  personName: string | null;
  kind: RightsRequestKind;
  organisation: string;
  category: string;
  categoryCode: string;
  what: string;
  why: string;
  receivedAt: Date;
  dueBy: string;
  overdue: boolean;
  status: RightsRequestStatus;
  statusLabel: string;
  decidedAt: Date | null;
  decisionNote: string | null;
  liftedAt: Date | null;
  byProxy: boolean;
}

const todayInUk = (now: Date) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);

function baseQuery(db: Kysely<Database>) {
  // The organisation and the person are required references, so every request has both names.
  return db
    .selectFrom('rights_requests as r')
    .select([
      'r.id',
      'r.person_id',
      personFullNameOf('r.person_id').$castTo<string>().as('person_name'),
      'r.kind',
      organisationNameOf('r.organisation_id').$castTo<string>().as('organisation'),
      'r.category',
      'r.what',
      'r.why',
      'r.received_at',
      'r.due_by',
      'r.status',
      'r.decided_at',
      'r.decision_note',
      'r.lifted_at',
      'r.recorded_for',
    ]);
}

type Row = Awaited<ReturnType<ReturnType<typeof baseQuery>['execute']>>[number];
const toView = (r: Row, now: Date, withName: boolean): RightsRequestView => ({
  id: Number(r.id),
  personId: r.person_id,
  personName: withName ? r.person_name : null,
  kind: r.kind,
  organisation: r.organisation,
  category: categoryLabels[r.category as Category] ?? r.category,
  categoryCode: r.category,
  what: r.what,
  why: r.why,
  receivedAt: r.received_at,
  dueBy: String(r.due_by).slice(0, 10),
  overdue: r.status === 'open' && String(r.due_by).slice(0, 10) < todayInUk(now),
  status: r.status,
  statusLabel: statusLabels[r.status],
  decidedAt: r.decided_at,
  decisionNote: r.decision_note,
  liftedAt: r.lifted_at,
  byProxy: r.recorded_for === 'proxy',
});

/** The person's own requests, newest first (the caller has checked they may read them). */
export async function rightsRequestsOf(db: Kysely<Database>, personId: string, now: Date = new Date()): Promise<RightsRequestView[]> {
  const rows = await baseQuery(db).where('r.person_id', '=', personId).orderBy('r.received_at', 'desc').orderBy('r.id', 'desc').execute();
  return rows.map((r) => toView(r, now, false));
}

/** Who may answer for the data owner: its practitioners, and a privacy officer of that organisation. */
function ownerOrganisation(user: SignedInUser): string {
  if ((user.role !== 'practitioner' && user.role !== 'privacy_officer') || !user.organisationId)
    throw new HttpError(403, 'Only the organisation holding the record can answer this request.');
  return user.organisationId;
}

/** The data owner's inbox: requests made of the user's organisation, open ones first by due date; each name shown is audited. */
export async function rightsRequestInbox(db: Kysely<Database>, user: SignedInUser, now: Date = new Date()): Promise<RightsRequestView[]> {
  const organisationId = ownerOrganisation(user);
  const rows = await baseQuery(db)
    .where('r.organisation_id', '=', organisationId)
    .orderBy(sql`r.status = 'open'`, 'desc')
    .orderBy('r.due_by')
    .orderBy('r.id')
    .limit(200)
    .execute();
  if (rows.length > 0) {
    await appendAudit(
      db,
      ...rows.map((r) => ({
        actorUserId: user.id,
        actorRole: user.role,
        actorOrganisationId: organisationId,
        action: 'list',
        personId: r.person_id,
        category: 'demographics',
        purpose: 'direct_care',
        decision: 'allow' as const,
        reason: 'a restriction or erasure request the person made of your organisation',
      })),
    );
  }
  return rows.map((r) => toView(r, now, true));
}

/** For a privacy officer over the whole place: every open request's clock, without names or words. */
export async function rightsRequestClocks(
  db: Kysely<Database>,
  now: Date = new Date(),
): Promise<
  Array<{ id: number; organisation: string; kind: RightsRequestKind; category: string; receivedAt: Date; dueBy: string; overdue: boolean }>
> {
  const rows = await baseQuery(db).where('r.status', '=', 'open').orderBy('r.due_by').orderBy('r.id').limit(500).execute();
  return rows.map((r) => {
    const v = toView(r, now, false);
    return {
      id: v.id,
      organisation: v.organisation,
      kind: v.kind,
      category: v.category,
      receivedAt: v.receivedAt,
      dueBy: v.dueBy,
      overdue: v.overdue,
    };
  });
}

export type RightsOutcome = 'restricted' | 'erased' | 'refused';

/** The owner answers an open request; the note is the reason the person reads. */
export async function answerRightsRequest(
  trx: Trx,
  user: SignedInUser,
  requestId: number,
  outcome: RightsOutcome,
  note: string,
): Promise<void> {
  const organisationId = ownerOrganisation(user);
  const request = await trx
    .selectFrom('rights_requests')
    .select(['id', 'person_id', 'kind', 'category', 'status'])
    .where('id', '=', requestId)
    .where('organisation_id', '=', organisationId)
    .executeTakeFirst();
  if (!request || request.status !== 'open') throw new HttpError(404, 'There is no such open request for your organisation.');
  const text = note.trim();
  if (outcome === 'restricted' && request.kind !== 'restriction')
    throw new RightsInputError('outcome', 'This is a request to erase: choose erased or refused');
  if (outcome === 'erased' && request.kind !== 'erasure')
    throw new RightsInputError('outcome', 'This is a request to restrict: choose restricted or refused');
  if (text.length < 10 || text.length > 2000) {
    throw new RightsInputError(
      'note',
      outcome === 'refused'
        ? 'Give your reasons for refusing, including the lawful basis for keeping the information, in 10 to 2,000 characters'
        : outcome === 'erased'
          ? 'Say what was erased, in 10 to 2,000 characters'
          : 'Say what is restricted and until when, in 10 to 2,000 characters',
    );
  }
  await trx
    .updateTable('rights_requests')
    .set({ status: outcome, decided_at: new Date(), decided_by: user.id, decision_note: text })
    .where('id', '=', requestId)
    .where('status', '=', 'open')
    .execute();
  await appendAudit(trx, {
    actorUserId: user.id,
    actorRole: user.role,
    actorOrganisationId: organisationId,
    action: 'write',
    personId: request.person_id,
    category: request.category,
    purpose: 'direct_care',
    decision: 'success',
    reason: `answered a ${request.kind} request: ${outcome}`,
  });
}

/** The owner lifts a restriction in force; the person sees when. */
export async function liftRestriction(trx: Trx, user: SignedInUser, requestId: number): Promise<void> {
  const organisationId = ownerOrganisation(user);
  const request = await trx
    .selectFrom('rights_requests')
    .select(['person_id', 'category'])
    .where('id', '=', requestId)
    .where('organisation_id', '=', organisationId)
    .where('status', '=', 'restricted')
    .executeTakeFirst();
  if (!request) throw new HttpError(404, 'There is no such restriction in force for your organisation.');
  await trx
    .updateTable('rights_requests')
    .set({ status: 'lifted', lifted_at: new Date(), lifted_by: user.id })
    .where('id', '=', requestId)
    .execute();
  await appendAudit(trx, {
    actorUserId: user.id,
    actorRole: user.role,
    actorOrganisationId: organisationId,
    action: 'write',
    personId: request.person_id,
    category: request.category,
    purpose: 'direct_care',
    decision: 'success',
    reason: 'lifted a restriction',
  });
}
