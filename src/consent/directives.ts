// Recording and withdrawing a person's sharing choices. Nothing is deleted: a withdrawal is
// stamped on the directive, so the history of what the person said is kept.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { bulkInsert } from '../platform/bulk.ts';
import { readDateInput } from '../platform/date-input.ts';
import { userDisplayNameOf, userOrganisationIdOf, type SignedInUser } from '../auth/index.ts';
import { organisationById, organisationNameOf, teamNameOf } from '../network/index.ts';
import { appendAudit } from '../audit/index.ts';
import { carePurposes, categoryLabels, isCategory, isPurpose, purposeLabels, type Category, type Purpose } from './categories.ts';
import type { RecipientKind } from './policy.ts';
import { RefusedInput } from '../platform/refused.ts';
import { z } from 'zod';

type Trx = Transaction<Database>;

export class DirectiveInputError extends RefusedInput {
  readonly field: string;
  constructor(field: string, message: string) {
    super(400, message);
    this.field = field;
  }
}

export interface NewDirective {
  category: Category | '*';
  recipientKind: RecipientKind;
  recipientId: string | null;
  purposes: Purpose[];
  decision: 'permit' | 'deny';
  validUntil: Date | null;
  note: string | null;
}

const SHAREABLE_PURPOSES: readonly Purpose[] = ['direct_care', 'care_coordination'];

/**
 * The sharing choice form (/my-record/sharing; FHIR Consent sends the same fields): what
 * information, shared or not, with whom, for which reasons, until when, and a note. The end date
 * comes in GOV.UK day, month and year boxes (until-day, until-month, until-year); an API client
 * may still send one ISO date as until. `now` is when "in the future" is measured from.
 */
export function directiveForm(now: Date = new Date()) {
  return z
    .looseObject({
      category: z.unknown().refine((category) => category === '*' || isCategory(category), 'Choose what information this is about'),
      decision: z.unknown().refine((decision) => decision === 'permit' || decision === 'deny', 'Choose whether to share or not to share'),
      recipient: z.preprocess(
        (recipient) => (typeof recipient === 'string' ? recipient : ''),
        z.string().regex(/^(?:network|organisation:[A-Za-z0-9_-]{1,64})$/, 'Choose who this is about'),
      ),
      purposes: z.preprocess(
        (purposes) => (Array.isArray(purposes) ? purposes : purposes === undefined ? [] : [purposes]),
        z
          .array(z.unknown())
          .refine(
            (purposes) => purposes.length > 0 && purposes.every((p) => isPurpose(p) && SHAREABLE_PURPOSES.includes(p)),
            'Choose at least one reason the information may be used for',
          ),
      ),
      note: z.preprocess((note) => (typeof note === 'string' ? note.trim().slice(0, 500) : ''), z.string()),
    })
    .transform((form, ctx): NewDirective => {
      let validUntil: Date | null = null;
      const boxes = readDateInput(form, 'until', 'The end date');
      const iso = boxes.kind === 'date' ? boxes.iso : typeof form.until === 'string' ? form.until.trim() : '';
      const refuse = (message: string) => {
        ctx.addIssue({ code: 'custom', path: ['until'], message });
        return z.NEVER;
      };
      if (boxes.kind === 'error') return refuse(boxes.message);
      if (iso !== '') {
        const parsed = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? new Date(`${iso}T23:59:59Z`) : new Date(NaN);
        if (Number.isNaN(parsed.getTime())) return refuse('The end date must be a real date');
        if (parsed <= now) return refuse('The end date must be in the future');
        validUntil = parsed;
      }
      const organisation = form.recipient.startsWith('organisation:');
      return {
        category: form.category as Category | '*',
        recipientKind: organisation ? 'organisation' : 'network',
        recipientId: organisation ? form.recipient.slice('organisation:'.length) : null,
        purposes: [...new Set(form.purposes as Purpose[])],
        decision: form.decision as 'permit' | 'deny',
        validUntil,
        note: form.note || null,
      };
    });
}

/** Validates a sharing choice (the FHIR Consent write's fields); throws DirectiveInputError naming the first field that is wrong. */
export function parseDirectiveForm(body: Record<string, unknown>, now: Date = new Date()): NewDirective {
  const parsed = directiveForm(now).safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new DirectiveInputError(String(issue.path[0] ?? 'category'), issue.message);
}

/** A practitioner's record of what the person agreed to, for one referral: who, on what evidence. */
export interface OnBehalf {
  evidence: string;
  referralId: string | null;
}

/**
 * Records a sharing choice in the caller's transaction and audits it. A citizen records their
 * own choice or, for someone they act for, their proxy's; a practitioner records only what the
 * person told them (`onBehalf`), which never outranks the person's own word (consent/policy.ts)
 * and is shown to the person with who recorded it and why.
 */
export async function recordDirective(
  trx: Trx,
  actor: SignedInUser,
  personId: string,
  directive: NewDirective,
  onBehalf?: OnBehalf,
): Promise<number> {
  const recordedFor = actor.role === 'citizen' ? (actor.personId === personId ? 'person' : 'proxy') : 'practitioner';
  if (recordedFor === 'practitioner') {
    if (actor.role !== 'practitioner' || !onBehalf || onBehalf.evidence.trim().length < 2)
      throw new DirectiveInputError('consent', 'A practitioner can only record what the person agreed to, with how they agreed');
    if (directive.category === '*' || directive.recipientKind !== 'organisation')
      throw new DirectiveInputError(
        'categories',
        'A choice recorded for the person covers only the information a referral needs, for the service it goes to',
      );
  }
  if (directive.recipientKind === 'organisation') {
    const org = await organisationById(trx, directive.recipientId!);
    if (!org) throw new DirectiveInputError('recipient', 'That organisation is not part of the care network');
  }
  const row = await trx
    .insertInto('consent_directives')
    .values({
      person_id: personId,
      category: directive.category,
      recipient_kind: directive.recipientKind,
      recipient_id: directive.recipientId,
      purposes: directive.purposes,
      decision: directive.decision,
      valid_until: directive.validUntil,
      recorded_by: actor.id,
      recorded_by_role: actor.role,
      withdrawn_at: null,
      withdrawn_by: null,
      note: directive.note,
      recorded_for: recordedFor,
      evidence: onBehalf?.evidence.trim().slice(0, 500) ?? null,
      referral_id: onBehalf?.referralId ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorRole: actor.role,
    actorOrganisationId: actor.organisationId,
    action: 'write',
    personId,
    category: directive.category === '*' ? null : directive.category,
    purpose: recordedFor === 'practitioner' ? 'care_coordination' : 'self',
    decision: 'success',
    reason: `sharing choice recorded${recordedFor === 'practitioner' ? ' by a practitioner for the person' : recordedFor === 'proxy' ? ' by a proxy' : ''}: ${directive.decision === 'permit' ? 'share' : 'do not share'}`,
  });
  return Number(row.id);
}

/** Withdrawal takes effect at once: the next access decision no longer sees the directive. */
export async function withdrawDirective(trx: Trx, actor: SignedInUser, personId: string, directiveId: number): Promise<boolean> {
  const updated = await trx
    .updateTable('consent_directives')
    .set({ withdrawn_at: new Date(), withdrawn_by: actor.id })
    .where('id', '=', directiveId)
    .where('person_id', '=', personId)
    .where('withdrawn_at', 'is', null)
    .executeTakeFirst();
  const changed = Number(updated.numUpdatedRows) === 1;
  if (changed) {
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorRole: actor.role,
      actorOrganisationId: actor.organisationId,
      action: 'write',
      personId,
      category: null,
      purpose: 'self',
      decision: 'success',
      reason: 'sharing choice withdrawn',
    });
  }
  return changed;
}

export interface SeededDirective {
  personId: string;
  category: Category | '*';
  recipientKind: RecipientKind;
  recipientId: string | null;
  decision: 'permit' | 'deny';
  recordedAt: Date;
  validUntil: Date | null;
  withdrawnAt: Date | null;
  recordedFor: 'person' | 'practitioner';
  note: string | null;
  evidence: string | null;
}

/** A synthetic place's history of sharing choices, in bulk (demo and benchmark loading only). */
export async function seedDirectives(trx: Trx, rows: readonly SeededDirective[]): Promise<void> {
  const ts = (d: Date | null) => d?.toISOString() ?? null;
  const txt = (name: string, value: (r: SeededDirective) => unknown) => ({ name, type: 'text', value });
  await bulkInsert(
    trx,
    'consent_directives',
    [
      txt('person_id', (r) => r.personId),
      txt('category', (r) => r.category),
      txt('recipient_kind', (r) => r.recipientKind),
      txt('recipient_id', (r) => r.recipientId),
      { name: 'purposes', type: 'text[]', value: () => `{${carePurposes.join(',')}}` },
      txt('decision', (r) => r.decision),
      { name: 'valid_from', type: 'timestamptz', value: (r) => ts(r.recordedAt) },
      { name: 'recorded_at', type: 'timestamptz', value: (r) => ts(r.recordedAt) },
      { name: 'valid_until', type: 'timestamptz', value: (r) => ts(r.validUntil) },
      { name: 'withdrawn_at', type: 'timestamptz', value: (r) => ts(r.withdrawnAt) },
      txt('recorded_by_role', (r) => (r.recordedFor === 'person' ? 'citizen' : 'practitioner')),
      txt('recorded_for', (r) => r.recordedFor),
      txt('note', (r) => r.note),
      txt('evidence', (r) => r.evidence),
    ],
    [...rows],
    10_000,
  );
}

export interface DirectiveView {
  id: number;
  /** The choice in a plain English sentence (exports, tests); `choice` holds its parts for a page to word in its own language. */
  sentence: string;
  choice: {
    decision: 'permit' | 'deny';
    /** A category, or '*' for all of the person's information. */
    category: string;
    /** The organisation or team named, or null for everyone involved in the person's care. */
    recipient: string | null;
    recipientKind: 'network' | 'organisation' | 'team';
    purposes: string[];
  };
  recordedAt: Date;
  validUntil: Date | null;
  withdrawnAt: Date | null;
  status: 'in force' | 'withdrawn' | 'expired' | 'not yet started';
  /** Whose word it is, in plain English: "You", "Your proxy", or the practitioner who recorded it and on what evidence. */
  recordedBy: string;
  /** Whose word it is, as parts: who recorded it (the proxy's or the practitioner's name and organisation), and a practitioner's note and evidence. */
  by: { kind: 'person' | 'proxy' | 'practitioner'; name: string | null; note: string | null; evidence: string | null };
  byPractitioner: boolean;
}

/** The person's choices in plain sentences, newest first, with their state. */
export async function directivesOf(db: Kysely<Database>, personId: string, now: Date = new Date()): Promise<DirectiveView[]> {
  // Names from their owners: the organisation or team a choice is about (network), and who
  // recorded it with their organisation (auth, network), each looked up in this one statement.
  const rows = await db
    .selectFrom('consent_directives as d')
    .select([
      'd.id',
      'd.category',
      'd.recipient_kind',
      sql<string | null>`case when d.recipient_kind = 'organisation' then ${organisationNameOf('d.recipient_id')} end`.as('organisation'),
      sql<string | null>`case when d.recipient_kind = 'team' then ${teamNameOf('d.recipient_id')} end`.as('team'),
      'd.purposes',
      'd.decision',
      'd.valid_from',
      'd.valid_until',
      'd.withdrawn_at',
      'd.recorded_at',
      'd.recorded_for',
      'd.evidence',
      'd.note',
      userDisplayNameOf('d.recorded_by').as('recorder'),
      organisationNameOf(userOrganisationIdOf('d.recorded_by')).as('recorder_organisation'),
    ])
    .where('d.person_id', '=', personId)
    .orderBy('d.recorded_at', 'desc')
    .orderBy('d.id', 'desc')
    .execute();
  return rows.map((r) => {
    const what = r.category === '*' ? 'all of your information' : (categoryLabels[r.category as Category]?.toLowerCase() ?? r.category);
    const who = r.recipient_kind === 'network' ? 'everyone involved in your care' : (r.organisation ?? r.team ?? 'a named service');
    const why = r.purposes.map((p) => purposeLabels[p as Purpose] ?? p).join(' and ');
    const sentence = `${r.decision === 'permit' ? 'Share' : 'Do not share'} ${what} with ${who}, ${why}`;
    const status = r.withdrawn_at
      ? 'withdrawn'
      : r.valid_until && r.valid_until <= now
        ? 'expired'
        : r.valid_from > now
          ? 'not yet started'
          : 'in force';
    const recorderName = [r.recorder, r.recorder_organisation].filter(Boolean).join(', ') || null;
    const recorder = recorderName ?? 'a practitioner';
    const recordedBy =
      r.recorded_for === 'person'
        ? 'You'
        : r.recorded_for === 'proxy'
          ? `Someone acting for you (${r.recorder ?? 'your proxy'})`
          : `Recorded for you by ${recorder}${r.note ? ` (${r.note})` : ''}${r.evidence ? `: "${r.evidence}"` : ''}. Your own choices count before this one.`;
    return {
      id: Number(r.id),
      sentence,
      choice: {
        decision: r.decision === 'permit' ? ('permit' as const) : ('deny' as const),
        category: r.category,
        recipient: r.recipient_kind === 'network' ? null : (r.organisation ?? r.team ?? null),
        recipientKind: r.recipient_kind as 'network' | 'organisation' | 'team',
        purposes: [...r.purposes],
      },
      recordedAt: r.recorded_at,
      validUntil: r.valid_until,
      withdrawnAt: r.withdrawn_at,
      status,
      recordedBy,
      by: {
        kind:
          r.recorded_for === 'person' ? ('person' as const) : r.recorded_for === 'proxy' ? ('proxy' as const) : ('practitioner' as const),
        name: r.recorded_for === 'proxy' ? r.recorder : recorderName,
        note: r.note,
        evidence: r.evidence,
      },
      byPractitioner: r.recorded_for === 'practitioner',
    };
  });
}

export interface LawfulBasisView {
  explanation: string;
  basis: string;
  /** The basis as recorded (`legal_obligation`), for a page to name in its own language. */
  basisCode: string;
  category: string;
  categoryCode: string;
  organisation: string | null;
  since: Date;
}

export async function lawfulBasesOf(db: Kysely<Database>, personId: string): Promise<LawfulBasisView[]> {
  const rows = await db
    .selectFrom('lawful_bases as b')
    .select(['b.explanation', 'b.basis', 'b.category', organisationNameOf('b.organisation_id').as('organisation'), 'b.valid_from'])
    .where('b.person_id', '=', personId)
    .where('b.ended_at', 'is', null)
    .orderBy('b.valid_from', 'desc')
    .execute();
  return rows.map((r) => ({
    explanation: r.explanation,
    basis: r.basis.replace(/_/g, ' '),
    basisCode: r.basis,
    category: categoryLabels[r.category as Category] ?? r.category,
    categoryCode: r.category,
    organisation: r.organisation,
    since: r.valid_from,
  }));
}

/** Of these people, those who have ever recorded a sharing choice (current or withdrawn): demo seeds record the consent form only for people with none. */
export async function peopleWithDirectives(
  db: Kysely<Database> | Transaction<Database>,
  personIds: readonly string[],
): Promise<Set<string>> {
  if (personIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('consent_directives')
    .select('person_id')
    .distinct()
    .where('person_id', 'in', [...new Set(personIds)])
    .execute();
  return new Set(rows.map((r) => r.person_id));
}
