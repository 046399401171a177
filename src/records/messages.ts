// Conversations between a person and their care team, one thread per topic. The person (or their
// proxy) starts a conversation with their lead practitioner; the lead and the lead's team read and
// answer it, from their inbox or the person's page. A thread waits for an answer from the person's
// last words until someone replies or records, with a reason the person sees, that no written reply
// is needed: reading alone answers nothing. Who may read or write passes the one access decision
// (about me, the person's own words, and basic details for the name), every time; being the lead or
// in the lead's team only narrows who the decision is asked for, never widens it.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import {
  accountsOfPractitioner,
  residentAccountsOf,
  userDisplayNameOf,
  userPersonIdOf,
  userPractitionerIdOf,
  type SignedInUser,
} from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import {
  currentLeadPractitioners,
  decideRecordAccess,
  decideRecordAccessForMany,
  recordDisclosure,
  visibleToReader,
  type RecordAccess,
} from '../consent/index.ts';
import { HttpError } from '../platform/http.ts';
import { leadFromRow, leadPractitionerOf, leadPractitionerQuery, type LeadPractitioner, type LeadPractitionerRow } from './network.ts';
import {
  communicationNeedsOf,
  communicationNeedsOfMany,
  latestNeeds,
  toNeeds,
  type CommunicationNeeds,
  type NeedsRow,
} from './communication-needs.ts';
import { preparedQuery, type BesideColumn } from '../platform/db.ts';
import { jsonObjectFrom } from 'kysely/helpers/postgres';
import { notify } from '../notify/index.ts';
import { practitionerCardOf, practitionersTable } from '../network/index.ts';
import { personFamilyNameOf, personGivenNameOf, personNamesById } from '../people/index.ts';

type Db = Kysely<Database> | Transaction<Database>;

export const TOPIC_MAX = 120;
export const MESSAGE_MAX = 4000;

export interface MessageFieldError {
  field: 'topic' | 'body' | 'reason';
  text: string;
}

/** A form the person or practitioner can put right: shown again with the GOV.UK error summary. */
export class MessageInputError extends HttpError {
  readonly errors: MessageFieldError[];
  constructor(errors: MessageFieldError[]) {
    super(400, errors.map((e) => e.text).join('. '));
    this.errors = errors;
  }
}

const clean = (value: unknown, max: number) =>
  typeof value === 'string'
    ? value
        .replace(/\r\n/g, '\n')
        .replace(/\p{Cf}|[^\P{Cc}\n\t]/gu, '')
        .trim()
        .slice(0, max)
    : '';

/** How long a thread has waited, in the words a busy practitioner reads: "5 hours", "3 days". */
export function waitingFor(since: Date, now: Date = new Date()): string {
  const hours = Math.floor((now.getTime() - since.getTime()) / 3_600_000);
  if (hours < 1) return 'less than an hour';
  if (hours < 24) return `${hours} hour${hours === 1 ? '' : 's'}`;
  const days = Math.floor(hours / 24);
  return `${days} day${days === 1 ? '' : 's'}`;
}

/**
 * The one place a new message is announced, in the message's own transaction (the outbox is
 * written with it, or not at all). The notification says only "you have a new message"; the link
 * leads to the conversation for the person, to the inbox for practitioners, and home for a proxy
 * (whose link would otherwise carry the id of the person they act for).
 */
async function announceNewMessage(trx: Db, recipients: ReadonlyArray<{ userId: string; path: string }>): Promise<void> {
  for (const recipient of recipients) await notify(trx, { userId: recipient.userId, event: 'new_message', path: recipient.path });
}

// ---------------------------------------------------------------------------------------------
// Who may take part

/** Whether the practitioner is the person's lead or in the lead's team: those the conversation is with. */
function inCareTeam(user: SignedInUser, lead: LeadPractitioner | undefined): boolean {
  if (!lead || user.role !== 'practitioner') return false;
  return lead.practitionerId === user.practitionerId || (user.teamId !== null && user.teamId === lead.teamId);
}

/**
 * Whether the person's conversations are with this practitioner (their lead, or the lead's team):
 * for offering a link only. Opening them still asks the access decision.
 */
export async function isInCareTeam(db: Kysely<Database>, user: SignedInUser, personId: string): Promise<boolean> {
  return user.role === 'practitioner' && inCareTeam(user, await leadPractitionerOf(db, personId));
}

/**
 * What the person page shows beside the record: the person's communication needs (to the person
 * and to practitioners, who may contact them) and whether the person's conversations are with
 * this practitioner. A practitioner's come from personPagePanelsColumn, carried by the page's
 * own statement; nothing is read for a role that is shown neither.
 */
export async function personPagePanels(
  db: Kysely<Database>,
  user: SignedInUser,
  personId: string,
): Promise<{ communicationNeeds: CommunicationNeeds | null; inCareTeam: boolean }> {
  if (user.role === 'citizen') return { communicationNeeds: await communicationNeedsOf(db, personId), inCareTeam: false };
  if (user.role !== 'practitioner') return { communicationNeeds: null, inCareTeam: false };
  const column = panelsColumn(db, personId);
  const rows = await preparedQuery<{ panels: unknown }>(db, 'joinery_person_page_panels', `select ${column.sql(1)} as panels`, [
    ...column.values,
  ]);
  return personPagePanelsFrom(user, rows[0]?.panels);
}

// The practitioner's two panels as one statement, compiled once with a stand-in for the person
// (building and compiling it with Kysely on every page cost more than running it).
const PANELS_PERSON = '\u0000person';
let panelsTemplate: { sql: string; parameters: readonly unknown[] } | undefined;
const panelsSqlFrom = new Map<number, string>();

function panelsColumn(db: Kysely<Database>, personId: string): BesideColumn {
  const template = (panelsTemplate ??= db
    .selectNoFrom([
      jsonObjectFrom(latestNeeds(db, [PANELS_PERSON])).as('needs'),
      jsonObjectFrom(leadPractitionerQuery(db, PANELS_PERSON)).as('lead'),
    ])
    .compile());
  return {
    name: 'panels',
    sql(first) {
      let text = panelsSqlFrom.get(first);
      if (text === undefined) {
        const renumbered = template.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + first - 1}`);
        text = `(select json_build_object('needs', x.needs, 'lead', x.lead) from (${renumbered}) as x)`;
        panelsSqlFrom.set(first, text);
      }
      return text;
    },
    values: template.parameters.map((value) => (value === PANELS_PERSON ? personId : value)),
  };
}

/**
 * A practitioner's panels as a column for the person page's statement to carry, so they cost no
 * round trip of their own (read back with personPagePanelsFrom); undefined for other roles, whose
 * panels personPagePanels reads. Like it, it only fetches: the caller holds the page's decision.
 */
export function personPagePanelsColumn(db: Kysely<Database>, user: SignedInUser, personId: string): BesideColumn | undefined {
  return user.role === 'practitioner' ? panelsColumn(db, personId) : undefined;
}

/** The panels from the column personPagePanelsColumn gave (null when the statement read none). */
export function personPagePanelsFrom(
  user: SignedInUser,
  value: unknown,
): { communicationNeeds: CommunicationNeeds | null; inCareTeam: boolean } {
  const row = value as { needs: NeedsRow | null; lead: LeadPractitionerRow | null } | null | undefined;
  return { communicationNeeds: row?.needs ? toNeeds(row.needs) : null, inCareTeam: inCareTeam(user, leadFromRow(row?.lead)) };
}

const practitionerSees = (access: RecordAccess) =>
  access.allowed && access.byCategory.demographics.scope !== 'none' && access.byCategory.about_me.scope !== 'none';

/** A thread the reader may see under their decision: all, or those written to their own organisation. */
const threadVisible = (access: RecordAccess, organisationId: string | null, reader: SignedInUser) =>
  visibleToReader(access.byCategory, 'about_me', organisationId, reader.organisationId);

export interface PractitionerAccess {
  access: RecordAccess;
  lead: LeadPractitioner;
}

/**
 * Opens a person's conversations for a practitioner: the access decision (audited) first, then
 * the rule that conversations are with the lead practitioner and their team. A refusal by either
 * is a 403, and a refusal by the second is on the audit record too.
 */
export async function openConversationsAsPractitioner(
  db: Kysely<Database>,
  user: SignedInUser,
  personId: string,
  action: 'read' | 'write',
): Promise<PractitionerAccess> {
  const access = await decideRecordAccess(db, {
    actor: user,
    personId,
    categories: ['demographics', 'about_me'],
    purpose: 'care_coordination',
    action,
  });
  if (!practitionerSees(access))
    throw new HttpError(
      403,
      `You cannot see this person's messages: ${access.byCategory.about_me.scope === 'none' ? access.byCategory.about_me.reason : access.reason}.`,
    );
  const lead = await leadPractitionerOf(db, personId);
  if (!lead || !inCareTeam(user, lead)) {
    const reason = "messages go to the person's lead practitioner and their team, and you are not in it";
    await appendAudit(db, {
      actorUserId: user.id,
      actorRole: user.role,
      actorOrganisationId: user.organisationId,
      action,
      personId,
      category: 'about_me',
      purpose: 'care_coordination',
      decision: 'deny',
      reason,
    });
    throw new HttpError(403, `You cannot see this person's messages: ${reason}.`);
  }
  return { access, lead };
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface ThreadSummary {
  id: number;
  topic: string;
  startedAt: Date;
  lastMessageAt: Date;
  waitingSince: Date | null;
  waiting: string | null;
  /** Replies from practitioners the person has not opened yet. */
  unreadReplies: number;
  messages: number;
}

interface ThreadRow {
  id: number;
  topic: string;
  organisation_id: string | null;
  started_at: Date;
  last_message_at: Date;
  waiting_since: Date | null;
  unread: number;
  messages: number;
}

function threadRows(db: Db, personId: string) {
  return db
    .selectFrom('message_threads as t')
    .select([
      't.id',
      't.topic',
      't.organisation_id',
      't.started_at',
      't.last_message_at',
      't.waiting_since',
      (eb) =>
        eb
          .selectFrom('messages as m')
          .select((e) => e.fn.countAll<number>().as('n'))
          .whereRef('m.thread_id', '=', 't.id')
          .where('m.from_role', '=', 'practitioner')
          .where('m.read_at', 'is', null)
          .as('unread'),
      (eb) =>
        eb
          .selectFrom('messages as m')
          .select((e) => e.fn.countAll<number>().as('n'))
          .whereRef('m.thread_id', '=', 't.id')
          .where('m.kind', '=', 'message')
          .as('messages'),
    ])
    .where('t.person_id', '=', personId);
}

const toSummary = (r: ThreadRow, now: Date): ThreadSummary => ({
  id: Number(r.id),
  topic: r.topic,
  startedAt: r.started_at,
  lastMessageAt: r.last_message_at,
  waitingSince: r.waiting_since,
  waiting: r.waiting_since ? waitingFor(new Date(r.waiting_since), now) : null,
  unreadReplies: Number(r.unread ?? 0),
  messages: Number(r.messages ?? 0),
});

export interface ThreadPage {
  threads: ThreadSummary[];
  page: number;
  pages: number;
  perPage: number;
  total: number;
  hidden: number;
}

/**
 * A person's conversations, a page at a time: waiting ones first (oldest first), then the rest,
 * latest first. For a practitioner, only those their decision lets them see.
 */
export async function conversationsOf(
  db: Kysely<Database>,
  personId: string,
  options: { page: number; perPage: number; reader?: { user: SignedInUser; access: RecordAccess } },
  now: Date = new Date(),
): Promise<ThreadPage> {
  const rows = (await threadRows(db, personId)
    .orderBy(sql`t.waiting_since is null`)
    .orderBy('t.waiting_since')
    .orderBy('t.last_message_at', 'desc')
    .orderBy('t.id', 'desc')
    .limit(1000)
    .execute()) as ThreadRow[];
  const visible = options.reader
    ? rows.filter((r) => threadVisible(options.reader!.access, r.organisation_id, options.reader!.user))
    : rows;
  const pages = Math.max(1, Math.ceil(visible.length / options.perPage));
  const page = Math.min(Math.max(1, options.page), pages);
  return {
    threads: visible.slice((page - 1) * options.perPage, page * options.perPage).map((r) => toSummary(r, now)),
    page,
    pages,
    perPage: options.perPage,
    total: visible.length,
    hidden: rows.length - visible.length,
  };
}

export interface ThreadMessage {
  id: number;
  kind: 'message' | 'no_reply_needed';
  body: string;
  sentAt: Date;
  /** Who wrote it, as the reader should see it: "You", the person's name, "A parent, on behalf of …", or a practitioner's name. */
  from: string;
  /** A practitioner's role and organisation ("Social worker, Westmoor Council"), or null for the person's side. */
  role: string | null;
  fromCareTeam: boolean;
  isNew: boolean;
}

export interface Thread {
  id: number;
  personId: string;
  personName: string;
  topic: string;
  startedAt: Date;
  waitingSince: Date | null;
  waiting: string | null;
  organisationId: string | null;
  messages: ThreadMessage[];
}

async function loadThread(db: Db, personId: string, threadId: number, viewer: SignedInUser, now: Date): Promise<Thread | undefined> {
  const thread = await db
    .selectFrom('message_threads as t')
    .select([
      't.id',
      't.person_id',
      't.topic',
      't.started_at',
      't.waiting_since',
      't.organisation_id',
      personGivenNameOf('t.person_id').as('given_name'),
      personFamilyNameOf('t.person_id').as('family_name'),
    ])
    .where('t.id', '=', threadId)
    .where('t.person_id', '=', personId)
    .executeTakeFirst();
  if (!thread) return undefined;
  // One statement: the writers' names, roles and organisations come from auth and network as fragments.
  const rows = await db
    .selectFrom('messages as m')
    .select([
      'm.id',
      'm.kind',
      'm.body',
      'm.sent_at',
      'm.from_role',
      'm.read_at',
      'm.from_user_id',
      userDisplayNameOf('m.from_user_id').$castTo<string>().as('display_name'),
      userPersonIdOf('m.from_user_id').as('author_person_id'),
      practitionerCardOf(userPractitionerIdOf('m.from_user_id')).as('pr'),
    ])
    .where('m.thread_id', '=', threadId)
    .orderBy('m.sent_at')
    .orderBy('m.id')
    .execute();
  const personName = `${thread.given_name} ${thread.family_name}`;
  const readerIsPersonSide = viewer.role === 'citizen';
  return {
    id: Number(thread.id),
    personId: thread.person_id,
    personName,
    topic: thread.topic,
    startedAt: thread.started_at,
    waitingSince: thread.waiting_since,
    waiting: thread.waiting_since ? waitingFor(new Date(thread.waiting_since), now) : null,
    organisationId: thread.organisation_id,
    messages: rows.map((m) => {
      const careTeam = m.from_role === 'practitioner';
      let from: string;
      if (m.from_user_id === viewer.id) from = 'You';
      else if (careTeam) from = m.pr ? m.pr.name : m.display_name;
      else if (m.author_person_id === thread.person_id) from = personName;
      else from = `${m.display_name}, on behalf of ${personName}`;
      // A proxy reading what they wrote for the person: still theirs, and said to be for whom.
      if (m.from_user_id === viewer.id && m.author_person_id !== null && m.author_person_id !== thread.person_id)
        from = `You, on behalf of ${personName}`;
      const role = careTeam
        ? [m.pr?.role ? m.pr.role.charAt(0).toUpperCase() + m.pr.role.slice(1).replace(/_/g, ' ') : 'Practitioner', m.pr?.organisation]
            .filter(Boolean)
            .join(', ')
        : null;
      return {
        id: Number(m.id),
        kind: m.kind,
        body: m.body,
        sentAt: m.sent_at,
        from,
        role,
        fromCareTeam: careTeam,
        isNew: readerIsPersonSide && careTeam && m.read_at === null,
      };
    }),
  };
}

/**
 * One conversation for the person or their proxy: the caller has passed the decision for this
 * person (citizenSubject). Opening it marks the care team's replies as seen by the person.
 */
export async function conversationForPerson(
  db: Kysely<Database>,
  user: SignedInUser,
  personId: string,
  threadId: number,
  now: Date = new Date(),
): Promise<Thread> {
  const thread = await loadThread(db, personId, threadId, user, now);
  if (!thread) throw new HttpError(404, 'There is no such conversation in this record.');
  if (thread.messages.some((m) => m.isNew)) {
    await db
      .updateTable('messages')
      .set({ read_at: now })
      .where('thread_id', '=', threadId)
      .where('from_role', '=', 'practitioner')
      .where('read_at', 'is', null)
      .execute();
  }
  return thread;
}

/** One conversation for a practitioner in the person's care team, through the decision; what was shown is on the record. */
export async function conversationForPractitioner(
  db: Kysely<Database>,
  user: SignedInUser,
  personId: string,
  threadId: number,
  now: Date = new Date(),
): Promise<Thread & { lead: LeadPractitioner }> {
  const { access, lead } = await openConversationsAsPractitioner(db, user, personId, 'read');
  const thread = await loadThread(db, personId, threadId, user, now);
  if (!thread) throw new HttpError(404, 'There is no such conversation in this record.');
  if (!threadVisible(access, thread.organisationId, user))
    throw new HttpError(
      403,
      'You cannot see this conversation: it was written to another organisation, and the person has not agreed to share it with you.',
    );
  await recordDisclosure(db, user, personId, 'care_coordination', ['demographics', 'about_me'], 'a conversation with the person');
  return { ...thread, lead };
}

// ---------------------------------------------------------------------------------------------
// Writing

function readMessage(body: unknown, field: 'body' | 'reason' = 'body'): string {
  const text = clean(body, MESSAGE_MAX);
  if (text.length < 2)
    throw new MessageInputError([{ field, text: field === 'reason' ? 'Say why no written reply is needed' : 'Write your message' }]);
  return text;
}

/** Who to tell of a reply: the person's own account(s), and anyone who wrote for them in the thread (a proxy). */
async function personSide(trx: Db, personId: string, threadId: number): Promise<Array<{ userId: string; path: string }>> {
  const writers = (
    await trx
      .selectFrom('messages')
      .select('from_user_id')
      .distinct()
      .where('thread_id', '=', threadId)
      .where('from_role', '=', 'citizen')
      .execute()
  ).map((r) => r.from_user_id);
  const rows = await residentAccountsOf(trx, personId, writers);
  return rows.map((r) => ({ userId: r.id, path: r.personId === personId ? `/my-record/messages/${threadId}` : '/home' }));
}

/** Who to tell of the person's message: the lead practitioner's account(s), sent to their inbox. */
async function leadSide(trx: Db, lead: LeadPractitioner): Promise<Array<{ userId: string; path: string }>> {
  return (await accountsOfPractitioner(trx, lead.practitionerId, null)).map((userId) => ({ userId, path: '/messages' }));
}

async function auditWrite(trx: Db, user: SignedInUser, personId: string, reason: string) {
  await appendAudit(trx, {
    actorUserId: user.id,
    actorRole: user.role,
    actorOrganisationId: user.organisationId,
    action: 'write',
    personId,
    category: 'about_me',
    purpose: user.role === 'citizen' ? 'self' : 'care_coordination',
    decision: 'success',
    reason,
  });
}

/**
 * The person (or their proxy; the caller has passed the decision for this person) starts a
 * conversation with their lead practitioner, in the caller's transaction. Returns the new thread's id.
 */
export async function startConversation(
  trx: Transaction<Database>,
  user: SignedInUser,
  personId: string,
  input: { topic: unknown; body: unknown },
): Promise<number> {
  const topic = clean(input.topic, TOPIC_MAX + 1).replace(/\s+/g, ' ');
  const body = clean(input.body, MESSAGE_MAX);
  const errors: MessageFieldError[] = [];
  if (topic.length < 2) errors.push({ field: 'topic', text: 'Enter what your message is about' });
  else if (topic.length > TOPIC_MAX)
    errors.push({ field: 'topic', text: `What your message is about must be ${TOPIC_MAX} characters or fewer` });
  if (body.length < 2) errors.push({ field: 'body', text: 'Write your message' });
  if (errors.length) throw new MessageInputError(errors);
  const lead = await leadPractitionerOf(trx, personId);
  if (!lead) throw new HttpError(409, 'You do not have a lead practitioner yet, so there is nobody to send this to.');
  const thread = await trx
    .insertInto('message_threads')
    .values({
      person_id: personId,
      topic,
      organisation_id: lead.organisationId,
      team_id: lead.teamId,
      started_by: user.id,
      waiting_since: new Date(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('messages')
    .values({
      thread_id: Number(thread.id),
      person_id: personId,
      from_user_id: user.id,
      from_role: user.role,
      to_practitioner_id: lead.practitionerId,
      body,
      read_at: null,
    })
    .execute();
  await auditWrite(trx, user, personId, 'started a conversation with their care team');
  await announceNewMessage(trx, await leadSide(trx, lead));
  return Number(thread.id);
}

/** The person (or their proxy) writes again in one of their conversations, in the caller's transaction: it waits for an answer. */
export async function replyAsPerson(
  trx: Transaction<Database>,
  user: SignedInUser,
  personId: string,
  threadId: number,
  input: { body: unknown },
  now: Date = new Date(),
): Promise<void> {
  const body = readMessage(input.body);
  const thread = await trx
    .selectFrom('message_threads')
    .select('id')
    .where('id', '=', threadId)
    .where('person_id', '=', personId)
    .forUpdate()
    .executeTakeFirst();
  if (!thread) throw new HttpError(404, 'There is no such conversation in this record.');
  const lead = await leadPractitionerOf(trx, personId);
  await trx
    .insertInto('messages')
    .values({
      thread_id: threadId,
      person_id: personId,
      from_user_id: user.id,
      from_role: user.role,
      to_practitioner_id: lead?.practitionerId ?? null,
      body,
      read_at: null,
      sent_at: now,
    })
    .execute();
  await trx
    .updateTable('message_threads')
    .set({ last_message_at: now, waiting_since: sql<Date>`coalesce(waiting_since, ${now}::timestamptz)` })
    .where('id', '=', threadId)
    .execute();
  await auditWrite(trx, user, personId, 'wrote to their care team');
  if (lead) await announceNewMessage(trx, await leadSide(trx, lead));
}

/**
 * A practitioner in the care team answers, or records that no written reply is needed (the
 * reason is shown to the person). Either way the thread stops waiting. The access decision (and
 * the message's check) run on `db` first, so a refusal's audited decision stays on the record;
 * the answer is written in the caller's transaction.
 */
export async function prepareAnswerAsPractitioner(
  db: Kysely<Database>,
  user: SignedInUser,
  personId: string,
  threadId: number,
  input: { kind: 'message' | 'no_reply_needed'; body: unknown },
  now: Date = new Date(),
): Promise<(trx: Transaction<Database>) => Promise<void>> {
  const { access } = await openConversationsAsPractitioner(db, user, personId, 'write');
  const body = readMessage(input.body, input.kind === 'message' ? 'body' : 'reason');
  return async (trx) => {
    const thread = await trx
      .selectFrom('message_threads')
      .select(['id', 'organisation_id'])
      .where('id', '=', threadId)
      .where('person_id', '=', personId)
      .forUpdate()
      .executeTakeFirst();
    if (!thread) throw new HttpError(404, 'There is no such conversation in this record.');
    if (!threadVisible(access, thread.organisation_id, user))
      throw new HttpError(403, 'You cannot answer this conversation: it was written to another organisation.');
    await trx
      .insertInto('messages')
      .values({
        thread_id: threadId,
        person_id: personId,
        from_user_id: user.id,
        from_role: 'practitioner',
        kind: input.kind,
        to_practitioner_id: null,
        body,
        read_at: null,
        sent_at: now,
      })
      .execute();
    await trx.updateTable('message_threads').set({ last_message_at: now, waiting_since: null }).where('id', '=', threadId).execute();
    await auditWrite(
      trx,
      user,
      personId,
      input.kind === 'message' ? "replied to the person's message" : "recorded that the person's message needs no written reply",
    );
    await announceNewMessage(trx, await personSide(trx, personId, threadId));
  };
}

// ---------------------------------------------------------------------------------------------
// The practitioner's inbox

export interface InboxRow {
  threadId: number;
  personId: string;
  name: string;
  topic: string;
  waitingSince: Date | null;
  waiting: string | null;
  lastMessageAt: Date;
  lead: string;
  leadIsYou: boolean;
  needs: CommunicationNeeds | null;
}

export interface Inbox {
  rows: InboxRow[];
  page: number;
  pages: number;
  perPage: number;
  matching: number;
  withheld: number;
}

/**
 * Conversations of people whose lead is this practitioner or is in their team: the person's name
 * (people's), their current lead (consent's) and the lead's name and team (network's) are tables
 * embedded in this one statement.
 */
function careTeamThreads(db: Db, user: SignedInUser) {
  return db
    .selectFrom('message_threads as t')
    .innerJoin(personNamesById.as('p'), 'p.id', 't.person_id')
    .innerJoin(currentLeadPractitioners.as('r'), 'r.person_id', 't.person_id')
    .innerJoin(practitionersTable.as('lp'), 'lp.id', 'r.practitioner_id')
    .where((eb) => eb.or([eb('r.practitioner_id', '=', user.practitionerId ?? ''), eb('lp.team_id', '=', user.teamId ?? '')]));
}

/** How many conversations wait for an answer from the practitioner or their team (a count, no names). */
export async function unansweredCount(db: Kysely<Database>, user: SignedInUser): Promise<number> {
  if (user.role !== 'practitioner' || !user.practitionerId) return 0;
  const row = await careTeamThreads(db, user)
    .select((eb) => eb.fn.count<number>('t.id').distinct().as('n'))
    .where('t.waiting_since', 'is not', null)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * The inbox: conversations waiting for an answer, oldest first, with their age (or, with `all`,
 * every conversation, latest first). Each person on the page passes the access decision, and a
 * thread is listed only when the decision lets the reader see it.
 */
export async function practitionerInbox(
  db: Kysely<Database>,
  user: SignedInUser,
  options: { page: number; perPage: number; all: boolean },
  now: Date = new Date(),
): Promise<Inbox> {
  if (user.role !== 'practitioner' || !user.practitionerId)
    return { rows: [], page: 1, pages: 1, perPage: options.perPage, matching: 0, withheld: 0 };
  let base = careTeamThreads(db, user);
  if (!options.all) base = base.where('t.waiting_since', 'is not', null);
  const matching = Number((await base.select((eb) => eb.fn.count<number>('t.id').distinct().as('n')).executeTakeFirst())?.n ?? 0);
  const pages = Math.max(1, Math.ceil(matching / options.perPage));
  const page = Math.min(Math.max(1, options.page), pages);
  let query = base
    .select([
      't.id',
      't.person_id',
      't.topic',
      't.waiting_since',
      't.last_message_at',
      't.organisation_id',
      'p.given_name',
      'p.family_name',
      'lp.id as lead_id',
      'lp.given_name as lead_given',
      'lp.family_name as lead_family',
    ])
    .distinctOn(options.all ? ['t.last_message_at', 't.id'] : ['t.waiting_since', 't.id']);
  query = options.all
    ? query.orderBy('t.last_message_at', 'desc').orderBy('t.id', 'desc')
    : query.orderBy('t.waiting_since').orderBy('t.id');
  const rows = await query
    .limit(options.perPage)
    .offset((page - 1) * options.perPage)
    .execute();
  const access =
    rows.length === 0
      ? new Map<string, RecordAccess>()
      : await decideRecordAccessForMany(db, {
          actor: user,
          personIds: rows.map((r) => r.person_id),
          categories: ['demographics', 'about_me'],
          purpose: 'care_coordination',
          action: 'list',
        });
  const shown = rows.filter((r) => {
    const a = access.get(r.person_id);
    return a !== undefined && practitionerSees(a) && threadVisible(a, r.organisation_id, user);
  });
  const needs = await communicationNeedsOfMany(
    db,
    shown.map((r) => r.person_id),
  );
  return {
    rows: shown.map((r) => ({
      threadId: Number(r.id),
      personId: r.person_id,
      name: `${r.given_name} ${r.family_name}`,
      topic: r.topic,
      waitingSince: r.waiting_since,
      waiting: r.waiting_since ? waitingFor(new Date(r.waiting_since), now) : null,
      lastMessageAt: r.last_message_at,
      lead: `${r.lead_given} ${r.lead_family}`,
      leadIsYou: r.lead_id === user.practitionerId,
      needs: needs.get(r.person_id) ?? null,
    })),
    page,
    pages,
    perPage: options.perPage,
    matching,
    withheld: rows.length - shown.length,
  };
}
