// Corrections: the person asks the service holding information to correct it, and the service
// answers. A correction the service makes changes its own record of the person, sent through the
// person index as any update from that service is (linkage receiveSourceRecord: the old version
// of the record kept in its history, the record linked again), and the request keeps which field
// changed and its value before and after, so the person sees what was done. Whoever asked, and
// the person's own account, are notified of the answer (without a word of it).
import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '../schema.ts';
import { accountsOfPeople, type SignedInUser } from '../auth/index.ts';
import { notify } from '../notify/index.ts';
import { appendAudit } from '../audit/index.ts';
import { agenciesHoldingPerson, receiveSourceRecord, recordsHeldOfPeople } from '../linkage/index.ts';
import { organisationNameOf } from '../network/index.ts';
import { choiceOf, optionalText, requiredText } from '../platform/forms.ts';
import { NotAllowed, RefusedInput } from '../platform/refused.ts';
import { findWrittenDate } from '../platform/date-input.ts';
import { isValidNhsNumber } from '../people/index.ts';
import { heldFieldLabel, heldFieldOrder, heldFieldValue, personFullNameOf } from '../people/index.ts';
import { decideRecordAccess } from './access.ts';

/** A problem with an answer, naming the form field it belongs to. */
export class CorrectionInputError extends RefusedInput {
  readonly field: string;
  constructor(field: string, message: string) {
    super(400, message);
    this.field = field;
  }
}

const NOT_A_HOLDER = 'Choose the service that holds the information';

/** The form a person fills in to ask for a correction: only a service holding their records can be asked. */
export function correctionRequestForm(holders: readonly string[]) {
  return z.object({
    organisation: choiceOf(NOT_A_HOLDER, holders),
    item: requiredText('Say which information is wrong, in up to 200 characters', { min: 2, max: 200 }),
    wrong: requiredText('Say what is wrong, in up to 2,000 characters', { min: 2, max: 2000 }),
    right: optionalText('What it should say must be 2,000 characters or fewer', { max: 2000 }),
  });
}
export type CorrectionRequest = z.output<ReturnType<typeof correctionRequestForm>>;

/**
 * Sends a person's correction request to a service holding their records, in the caller's
 * transaction, audited. The caller has decided that the user acts for the person (themselves, or
 * as their registered proxy); the service must still hold a record of them when the request is
 * written.
 */
export async function askForCorrection(
  trx: Transaction<Database>,
  user: SignedInUser,
  personId: string,
  request: CorrectionRequest,
): Promise<void> {
  const holders = await agenciesHoldingPerson(trx, personId);
  if (!holders.some((a) => a.organisationId === request.organisation)) throw new CorrectionInputError('organisation', NOT_A_HOLDER);
  await trx
    .insertInto('correction_requests')
    .values({
      person_id: personId,
      requested_by: user.id,
      organisation_id: request.organisation,
      item_description: request.item,
      what_is_wrong: request.wrong,
      what_it_should_say: request.right,
      resolved_at: null,
      resolved_by: null,
      resolution_note: null,
    })
    .execute();
  await appendAudit(trx, {
    actorUserId: user.id,
    actorRole: user.role,
    actorOrganisationId: null,
    action: 'write',
    personId,
    category: null,
    purpose: 'self',
    decision: 'success',
    reason: 'asked for a correction',
  });
}

/**
 * The correction requests about a person, with the service each was asked of: newest first for the
 * page where the person follows them, oldest first for their download.
 */
export async function correctionRequestsAbout(db: Kysely<Database>, personId: string, order: 'newest' | 'oldest' = 'newest') {
  return db
    .selectFrom('correction_requests as c')
    .select([
      'c.id',
      organisationNameOf('c.organisation_id').$castTo<string>().as('organisation'),
      'c.item_description',
      'c.what_is_wrong',
      'c.what_it_should_say',
      'c.status',
      'c.created_at',
      'c.resolved_at',
      'c.resolution_note',
      'c.corrected_field',
      'c.corrected_from',
      'c.corrected_to',
    ])
    .where('c.person_id', '=', personId)
    .orderBy('c.created_at', order === 'newest' ? 'desc' : 'asc')
    .execute();
}

/**
 * The corrections asked of the practitioner's organisation (open ones first, up to 200), each
 * naming its person. The requests are the organisation's own records of those people, and every
 * name shown is audited as a listing.
 */
export async function correctionsAskedOf(db: Kysely<Database>, user: SignedInUser) {
  if (user.role !== 'practitioner' || !user.organisationId) throw new NotAllowed('This account is not linked to an organisation.');
  const rows = await db
    .selectFrom('correction_requests as c')
    .select([
      'c.id',
      'c.person_id',
      personFullNameOf('c.person_id').$castTo<string>().as('person_name'),
      'c.item_description',
      'c.what_is_wrong',
      'c.what_it_should_say',
      'c.status',
      'c.created_at',
      'c.resolution_note',
      'c.corrected_field',
      'c.corrected_from',
      'c.corrected_to',
    ])
    .where('c.organisation_id', '=', user.organisationId)
    .orderBy('c.status')
    .orderBy('c.created_at')
    .limit(200)
    .execute();
  await appendAudit(
    db,
    ...rows.map((r) => ({
      actorUserId: user.id,
      actorRole: user.role,
      actorOrganisationId: user.organisationId,
      action: 'list',
      personId: r.person_id,
      category: 'demographics' as const,
      purpose: 'direct_care' as const,
      decision: 'allow' as const,
      reason: 'a correction the person asked your organisation to make',
    })),
  );
  return rows;
}

export interface CorrectableField {
  /** "<source record id>:<field>": what the form sends back. */
  target: string;
  label: string;
  value: string;
}

interface OwnRecord {
  id: number;
  source: string;
  source_id: string;
  fields: Record<string, string>;
}

/** The organisation's own current records of each person (the only ones it may correct), from the person index in one query. */
async function ownRecordsOf(db: Kysely<Database>, organisationId: string, personIds: readonly string[]): Promise<Map<string, OwnRecord[]>> {
  const held = await recordsHeldOfPeople(db, personIds, { organisationId });
  return new Map(
    [...held].map(([personId, records]) => [
      personId,
      records.map((r) => ({ id: r.sourceRecordId, source: r.source, source_id: r.sourceId, fields: r.fields })),
    ]),
  );
}

/** Every field of the organisation's records of each person, as the practitioner chooses what to correct. */
export async function correctableFields(
  db: Kysely<Database>,
  organisationId: string,
  personIds: readonly string[],
): Promise<Map<string, CorrectableField[]>> {
  const result = new Map<string, CorrectableField[]>();
  const own = await ownRecordsOf(db, organisationId, personIds);
  for (const personId of new Set(personIds)) {
    const records = own.get(personId) ?? [];
    result.set(
      personId,
      records.flatMap((r) => {
        // Every field the record may hold, filled or not (a missing phone number can be added).
        const fields = [...new Set([...heldFieldOrder, ...Object.keys(r.fields)])];
        return fields.map((field) => ({
          target: `${r.id}:${field}`,
          label: `${heldFieldLabel(field)}${records.length > 1 ? ` (record ${r.source_id})` : ''}`,
          value: r.fields[field] ? heldFieldValue(field, r.fields[field]) : 'not recorded',
        }));
      }),
    );
  }
  return result;
}

/** What was typed for the new value, checked and in the form the record keeps. */
function newValue(field: string, typed: string): string {
  const value = typed.trim().replace(/\s+/g, ' ');
  if (value.length === 0 || value.length > 200)
    throw new CorrectionInputError('value', 'Enter what the record should say now, in up to 200 characters');
  if (field === 'birth_date') {
    const date = findWrittenDate(value);
    if (!date || !date.iso || date.match.trim() !== value)
      throw new CorrectionInputError('value', 'Enter the date of birth as a date, for example 7 November 1999');
    if (date.iso > new Date().toISOString().slice(0, 10)) throw new CorrectionInputError('value', 'The date of birth must be in the past');
    return date.iso;
  }
  if (field === 'nhs_number') {
    const digits = value.replace(/[\s-]/g, '');
    if (!isValidNhsNumber(digits)) throw new CorrectionInputError('value', 'Enter a real NHS number, like 943 476 5919');
    return digits;
  }
  if (field === 'sex') {
    const sex = value.toLowerCase();
    if (sex !== 'female' && sex !== 'male') throw new CorrectionInputError('value', 'Enter female or male, as the record holds sex');
    return sex;
  }
  return value;
}

export interface CorrectionAnswer {
  outcome: 'corrected' | 'declined';
  note: string;
  /** "<source record id>:<field>" of the organisation's record, when corrected. */
  target?: string;
  value?: string;
}

/**
 * The service's answer to a correction request, in its practitioner's name. Corrected: the field
 * of the organisation's own record changes (after the access decision for a write), the old
 * version is kept, and the request records the change; declined: the answer alone. Either way
 * it is audited and the person sees it.
 */
export async function answerCorrection(
  db: Kysely<Database>,
  user: SignedInUser,
  requestId: number,
  answer: CorrectionAnswer,
): Promise<void> {
  if (user.role !== 'practitioner' || !user.organisationId)
    throw new RefusedInput(404, 'There is no such correction request for your organisation.');
  const request = await db
    .selectFrom('correction_requests')
    .select(['person_id', 'organisation_id', 'status', 'requested_by'])
    .where('id', '=', requestId)
    .executeTakeFirst();
  if (!request || request.organisation_id !== user.organisationId)
    throw new RefusedInput(404, 'There is no such correction request for your organisation.');
  if (request.status !== 'open') throw new RefusedInput(409, 'This correction request has already been answered.');
  const note = answer.note.trim().slice(0, 2000);
  if (note.length < 2) throw new CorrectionInputError('note', 'Say what you did, so the person knows');
  const personId = request.person_id;
  let change: { recordId: number; field: string; from: string; to: string } | null = null;
  if (answer.outcome === 'corrected') {
    const [recordPart, field] = (answer.target ?? '').split(/:(.*)/s);
    const record = ((await ownRecordsOf(db, user.organisationId, [personId])).get(personId) ?? []).find((r) => String(r.id) === recordPart);
    if (!record || !field || !/^[a-z][a-z0-9_]{0,40}$/.test(field))
      throw new CorrectionInputError('target', 'Choose which part of your record to correct');
    const to = newValue(field, answer.value ?? '');
    const from = record.fields[field] ?? '';
    if (from === to) throw new CorrectionInputError('value', 'That is what the record already says: enter what it should say now');
    const access = await decideRecordAccess(db, {
      actor: user,
      personId,
      categories: ['demographics'],
      purpose: 'direct_care',
      action: 'write',
    });
    if (access.byCategory.demographics.scope === 'none')
      throw new RefusedInput(404, 'There is no such correction request for your organisation.');
    // The service sends its corrected record, as it would any update: the index keeps the old version.
    await receiveSourceRecord(db, record.source, record.source_id, { ...record.fields, [field]: to });
    change = { recordId: record.id, field, from, to };
  }
  await db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('correction_requests')
      .set({
        status: answer.outcome,
        resolved_at: new Date(),
        resolved_by: user.id,
        resolution_note: note,
        ...(change
          ? { corrected_record_id: change.recordId, corrected_field: change.field, corrected_from: change.from, corrected_to: change.to }
          : {}),
      })
      .where('id', '=', requestId)
      .where('status', '=', 'open')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) throw new RefusedInput(409, 'This correction request has already been answered.');
    await appendAudit(trx, {
      actorUserId: user.id,
      actorRole: user.role,
      actorOrganisationId: user.organisationId,
      action: 'write',
      personId,
      category: change ? 'demographics' : null,
      purpose: 'direct_care',
      decision: 'success',
      reason: change
        ? `answered a correction request: corrected the ${change.field.replace(/_/g, ' ')} in their own record`
        : 'answered a correction request: declined',
    });
    const told = new Set([request.requested_by, ...(await accountsOfPeople(trx, [personId])).map((a) => a.userId)]);
    for (const userId of told) await notify(trx, { userId, event: 'correction_answered', path: '/my-record/corrections' });
  });
}
