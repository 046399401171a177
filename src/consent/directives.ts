// Recording and withdrawing a person's sharing choices. Nothing is deleted: a withdrawal is
// stamped on the directive, so the history of what the person said is kept.
import type { Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import type { SignedInUser } from '../auth/accounts.ts';
import { appendAudit } from '../audit/log.ts';
import { categoryLabels, isCategory, isPurpose, purposeLabels, type Category, type Purpose } from './categories.ts';
import type { RecipientKind } from './policy.ts';

export class DirectiveInputError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
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

/** Validates a sharing choice from a form; throws DirectiveInputError naming the field. */
export function parseDirectiveForm(body: Record<string, unknown>, now: Date = new Date()): NewDirective {
  const category = body.category === '*' ? '*' : body.category;
  if (category !== '*' && !isCategory(category)) throw new DirectiveInputError('category', 'Choose what information this is about');
  const decision = body.decision;
  if (decision !== 'permit' && decision !== 'deny') throw new DirectiveInputError('decision', 'Choose whether to share or not to share');
  const recipient = typeof body.recipient === 'string' ? body.recipient : '';
  let recipientKind: RecipientKind;
  let recipientId: string | null = null;
  if (recipient === 'network') recipientKind = 'network';
  else if (/^organisation:[A-Za-z0-9_-]{1,64}$/.test(recipient)) { recipientKind = 'organisation'; recipientId = recipient.slice('organisation:'.length); }
  else throw new DirectiveInputError('recipient', 'Choose who this is about');
  const rawPurposes = Array.isArray(body.purposes) ? body.purposes : body.purposes === undefined ? [] : [body.purposes];
  const purposes = rawPurposes.filter(isPurpose).filter((p) => p === 'direct_care' || p === 'care_coordination');
  if (purposes.length === 0 || purposes.length !== rawPurposes.length) throw new DirectiveInputError('purposes', 'Choose at least one reason the information may be used for');
  let validUntil: Date | null = null;
  if (typeof body.until === 'string' && body.until.trim() !== '') {
    const parsed = /^\d{4}-\d{2}-\d{2}$/.test(body.until.trim()) ? new Date(`${body.until.trim()}T23:59:59Z`) : new Date(NaN);
    if (Number.isNaN(parsed.getTime())) throw new DirectiveInputError('until', 'Enter the end date as a date, for example 2027-03-31');
    if (parsed <= now) throw new DirectiveInputError('until', 'The end date must be in the future');
    validUntil = parsed;
  }
  const note = typeof body.note === 'string' && body.note.trim() ? body.note.trim().slice(0, 500) : null;
  return { category, recipientKind, recipientId, purposes: [...new Set(purposes)], decision, validUntil, note };
}

export async function recordDirective(db: Kysely<Database>, actor: SignedInUser, personId: string, directive: NewDirective): Promise<number> {
  return db.transaction().execute(async (trx) => {
    if (directive.recipientKind === 'organisation') {
      const org = await trx.selectFrom('organisations').select('id').where('id', '=', directive.recipientId!).executeTakeFirst();
      if (!org) throw new DirectiveInputError('recipient', 'That organisation is not part of the care network');
    }
    const row = await trx.insertInto('consent_directives').values({
      person_id: personId, category: directive.category, recipient_kind: directive.recipientKind, recipient_id: directive.recipientId,
      purposes: directive.purposes, decision: directive.decision, valid_until: directive.validUntil, recorded_by: actor.id,
      recorded_by_role: actor.role, withdrawn_at: null, withdrawn_by: null, note: directive.note,
    }).returning('id').executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actorUserId: actor.id, actorRole: actor.role, actorOrganisationId: actor.organisationId, action: 'write', personId,
      category: directive.category === '*' ? null : directive.category, purpose: 'self', decision: 'success',
      reason: `sharing choice recorded: ${directive.decision === 'permit' ? 'share' : 'do not share'}`,
    });
    return Number(row.id);
  });
}

/** Withdrawal takes effect at once: the next access decision no longer sees the directive. */
export async function withdrawDirective(db: Kysely<Database>, actor: SignedInUser, personId: string, directiveId: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx.updateTable('consent_directives').set({ withdrawn_at: new Date(), withdrawn_by: actor.id })
      .where('id', '=', directiveId).where('person_id', '=', personId).where('withdrawn_at', 'is', null).executeTakeFirst();
    const changed = Number(updated.numUpdatedRows) === 1;
    if (changed) {
      await appendAudit(trx, {
        actorUserId: actor.id, actorRole: actor.role, actorOrganisationId: actor.organisationId, action: 'write', personId,
        category: null, purpose: 'self', decision: 'success', reason: 'sharing choice withdrawn',
      });
    }
    return changed;
  });
}

export interface DirectiveView {
  id: number;
  sentence: string;
  recordedAt: Date;
  validUntil: Date | null;
  withdrawnAt: Date | null;
  status: 'in force' | 'withdrawn' | 'expired' | 'not yet started';
}

/** The person's choices in plain sentences, newest first, with their state. */
export async function directivesOf(db: Kysely<Database>, personId: string, now: Date = new Date()): Promise<DirectiveView[]> {
  const rows = await db.selectFrom('consent_directives as d').leftJoin('organisations as o', (j) => j.onRef('o.id', '=', 'd.recipient_id').on('d.recipient_kind', '=', 'organisation'))
    .leftJoin('teams as t', (j) => j.onRef('t.id', '=', 'd.recipient_id').on('d.recipient_kind', '=', 'team'))
    .select(['d.id', 'd.category', 'd.recipient_kind', 'o.name as organisation', 't.name as team', 'd.purposes', 'd.decision', 'd.valid_from', 'd.valid_until', 'd.withdrawn_at', 'd.recorded_at'])
    .where('d.person_id', '=', personId).orderBy('d.recorded_at', 'desc').orderBy('d.id', 'desc').execute();
  return rows.map((r) => {
    const what = r.category === '*' ? 'all of your information' : categoryLabels[r.category as Category]?.toLowerCase() ?? r.category;
    const who = r.recipient_kind === 'network' ? 'everyone involved in your care' : r.organisation ?? r.team ?? 'a named service';
    const why = r.purposes.map((p) => purposeLabels[p as Purpose] ?? p).join(' and ');
    const sentence = `${r.decision === 'permit' ? 'Share' : 'Do not share'} ${what} with ${who}, ${why}`;
    const status = r.withdrawn_at ? 'withdrawn' : r.valid_until && r.valid_until <= now ? 'expired' : r.valid_from > now ? 'not yet started' : 'in force';
    return { id: Number(r.id), sentence, recordedAt: r.recorded_at, validUntil: r.valid_until, withdrawnAt: r.withdrawn_at, status };
  });
}

export interface LawfulBasisView { explanation: string; basis: string; category: string; organisation: string | null; since: Date }

export async function lawfulBasesOf(db: Kysely<Database>, personId: string): Promise<LawfulBasisView[]> {
  const rows = await db.selectFrom('lawful_bases as b').leftJoin('organisations as o', 'o.id', 'b.organisation_id')
    .select(['b.explanation', 'b.basis', 'b.category', 'o.name as organisation', 'b.valid_from'])
    .where('b.person_id', '=', personId).where('b.ended_at', 'is', null).orderBy('b.valid_from', 'desc').execute();
  return rows.map((r) => ({ explanation: r.explanation, basis: r.basis.replace(/_/g, ' '), category: categoryLabels[r.category as Category] ?? r.category, organisation: r.organisation, since: r.valid_from }));
}
