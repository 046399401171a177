// The person's communication needs: the language they prefer, whether they need an interpreter
// (spoken or British Sign Language), easy read or large print, and how and when to contact them.
// The person or their proxy records them, or a practitioner who was told (by phone, say), each
// version attributed and kept. They are contact details, so they travel with basic details
// (demographics): whoever may contact the person sees them, and notifications read the method.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { userDisplayNameOf, userPersonIdOf, userPractitionerIdOf, type SignedInUser } from '../auth/index.ts';
import { organisationNameOf, practitionerCardOf, type PractitionerCard } from '../network/index.ts';
import { appendAudit } from '../audit/index.ts';
import { preparedQuery } from '../platform/db.ts';

type Db = Kysely<Database> | Transaction<Database>;

export const contactMethods = ['email', 'phone', 'text', 'letter'] as const;
export type ContactMethod = (typeof contactMethods)[number];

export const contactMethodLabels: Record<ContactMethod, string> = {
  email: 'Email',
  phone: 'Phone call',
  text: 'Text message',
  letter: 'Letter',
};
const contactMethodWords: Record<ContactMethod, string> = { email: 'email', phone: 'a phone call', text: 'text message', letter: 'letter' };

/** The languages most asked for in English councils' interpreting services, then "Other". */
export const languages = [
  'English',
  'Welsh',
  'Albanian',
  'Arabic',
  'Bengali',
  'Bulgarian',
  'Chinese (Cantonese)',
  'Chinese (Mandarin)',
  'Czech',
  'Dari',
  'Farsi (Persian)',
  'French',
  'Gujarati',
  'Hindi',
  'Hungarian',
  'Italian',
  'Kurdish',
  'Latvian',
  'Lithuanian',
  'Pashto',
  'Polish',
  'Portuguese',
  'Punjabi',
  'Romanian',
  'Russian',
  'Slovak',
  'Somali',
  'Spanish',
  'Tamil',
  'Tigrinya',
  'Turkish',
  'Ukrainian',
  'Urdu',
] as const;

export const supportKinds = ['interpreter', 'bsl', 'easy_read', 'large_print'] as const;
export type SupportKind = (typeof supportKinds)[number];

export interface CommunicationNeedsInput {
  language: string | null;
  interpreter: boolean;
  bsl: boolean;
  easyRead: boolean;
  largePrint: boolean;
  contactMethod: ContactMethod | null;
  contactTimes: string | null;
}

export interface CommunicationNeeds extends CommunicationNeedsInput {
  recordedAt: Date;
  /** Who recorded them, in words the person and practitioners understand ("you", "the person", a practitioner's name and role). */
  recordedBy: { userId: string; name: string; role: string; organisation: string | null; byThePerson: boolean };
  /** One line per need, in plain words: what a practitioner reads before contacting the person. */
  summary: string[];
}

/** The needs as lines a practitioner reads at a glance, most pressing first. */
export function communicationNeedsSummary(needs: CommunicationNeedsInput): string[] {
  const lines: string[] = [];
  if (needs.interpreter && needs.language) lines.push(`Needs an interpreter: ${needs.language}`);
  else if (needs.language && needs.language !== 'English') lines.push(`Preferred language: ${needs.language}`);
  if (needs.bsl) lines.push('British Sign Language interpreter');
  if (needs.easyRead) lines.push('Easy read');
  if (needs.largePrint) lines.push('Large print');
  if (needs.contactMethod)
    lines.push(`Prefers ${contactMethodWords[needs.contactMethod]}${needs.contactTimes ? `, ${needs.contactTimes}` : ''}`);
  else if (needs.contactTimes) lines.push(`Best times to contact: ${needs.contactTimes}`);
  return lines;
}

export interface NeedsRow {
  person_id: string;
  language: string | null;
  interpreter: boolean;
  bsl: boolean;
  easy_read: boolean;
  large_print: boolean;
  contact_method: ContactMethod | null;
  contact_times: string | null;
  recorded_at: Date;
  recorded_by: string;
  recorded_by_role: string;
  display_name: string;
  pr: PractitionerCard | null;
  organisation: string | null;
  author_person_id: string | null;
}

export function toNeeds(row: NeedsRow): CommunicationNeeds {
  const input: CommunicationNeedsInput = {
    language: row.language,
    interpreter: row.interpreter,
    bsl: row.bsl,
    easyRead: row.easy_read,
    largePrint: row.large_print,
    contactMethod: row.contact_method,
    contactTimes: row.contact_times,
  };
  const practitioner = row.recorded_by_role === 'practitioner';
  return {
    ...input,
    recordedAt: new Date(row.recorded_at),
    summary: communicationNeedsSummary(input),
    recordedBy: {
      userId: row.recorded_by,
      name: practitioner && row.pr ? row.pr.name : row.display_name,
      role: practitioner
        ? (row.pr?.role ?? 'practitioner').replace(/_/g, ' ')
        : row.author_person_id === row.person_id
          ? 'the person'
          : 'acting for the person',
      organisation: row.organisation,
      byThePerson: row.author_person_id === row.person_id,
    },
  };
}

export function latestNeeds(db: Db, personIds: readonly string[]) {
  // One statement: who recorded it comes from auth and network as fragments embedded here.
  return db
    .selectFrom('communication_needs as n')
    .select([
      'n.person_id',
      'n.language',
      'n.interpreter',
      'n.bsl',
      'n.easy_read',
      'n.large_print',
      'n.contact_method',
      'n.contact_times',
      'n.recorded_at',
      'n.recorded_by',
      'n.recorded_by_role',
      userDisplayNameOf('n.recorded_by').$castTo<string>().as('display_name'),
      practitionerCardOf(userPractitionerIdOf('n.recorded_by')).as('pr'),
      organisationNameOf('n.recorded_by_organisation_id').as('organisation'),
      userPersonIdOf('n.recorded_by').as('author_person_id'),
    ])
    .distinctOn('n.person_id')
    .where('n.person_id', 'in', personIds)
    .orderBy('n.person_id')
    .orderBy('n.recorded_at', 'desc')
    .orderBy('n.id', 'desc');
}

/**
 * The person's communication needs now, or null when none are recorded. Like personSummary it
 * only fetches: the caller must hold an allow decision on the person's basic details first
 * (notifications, which show nothing, read only the contact method).
 */
export async function communicationNeedsOf(db: Db, personId: string): Promise<CommunicationNeeds | null> {
  // A named prepared statement (planned once per pooled connection): every person page asks,
  // and planning this statement cost PostgreSQL more than running it (about 0.6 ms of its CPU a page).
  const query = latestNeeds(db, [personId]).compile();
  const row = (await preparedQuery<NeedsRow>(db, 'joinery_communication_needs_of', query.sql, [...query.parameters]))[0];
  return row ? toNeeds(row) : null;
}

/** The same for a page of people (an inbox), in one query; callers hold the decision for each. */
export async function communicationNeedsOfMany(db: Db, personIds: readonly string[]): Promise<Map<string, CommunicationNeeds>> {
  if (personIds.length === 0) return new Map();
  const rows = await latestNeeds(db, [...new Set(personIds)]).execute();
  return new Map(rows.map((r) => [r.person_id, toNeeds(r as NeedsRow)]));
}

/**
 * Records a new version, attributed to whoever wrote it, in the caller's transaction. The caller
 * has passed the access decision for writing the person's basic details (the person, their proxy,
 * or a practitioner involved in their care).
 */
export async function recordCommunicationNeeds(trx: Db, by: SignedInUser, personId: string, needs: CommunicationNeedsInput): Promise<void> {
  await trx
    .insertInto('communication_needs')
    .values({
      person_id: personId,
      language: needs.language,
      interpreter: needs.interpreter,
      bsl: needs.bsl,
      easy_read: needs.easyRead,
      large_print: needs.largePrint,
      contact_method: needs.contactMethod,
      contact_times: needs.contactTimes,
      recorded_by: by.id,
      recorded_by_role: by.role,
      recorded_by_organisation_id: by.role === 'practitioner' ? by.organisationId : null,
    })
    .execute();
  await appendAudit(trx, {
    actorUserId: by.id,
    actorRole: by.role,
    actorOrganisationId: by.organisationId,
    action: 'write',
    personId,
    category: 'demographics',
    purpose: by.role === 'citizen' ? 'self' : 'care_coordination',
    decision: 'success',
    reason: by.role === 'citizen' ? 'recorded communication needs' : "recorded the person's communication needs as they told them",
  });
}
