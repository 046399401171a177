// Break-glass: a practitioner's time-boxed emergency view of a record they could not otherwise
// see, with a typed reason; reported to the person (in "who looked") and to the privacy
// officer's review list, and told to the person and whoever acts for them (a notification that
// says only that a record they are linked to was opened in an emergency).
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit, auditEventsDuring } from '../audit/index.ts';
import { RefusedInput } from '../platform/refused.ts';
import { notifyPeople } from '../notify/index.ts';
import { userDisplayNameOf, userOrganisationIdOf } from '../auth/index.ts';
import { organisationNameOf } from '../network/index.ts';
import { personById, personFullNameOf } from '../people/index.ts';
import { categories, categoryPlainWords, type Category } from './categories.ts';
import { proxyPersonIdsFor } from './proxies.ts';

export const BREAK_GLASS_MINUTES = 60;

/** Starts an emergency access in the caller's transaction; practitioners only. */
export async function startBreakGlass(
  trx: Transaction<Database>,
  user: SignedInUser,
  personId: string,
  reason: string,
  now: Date = new Date(),
): Promise<Date> {
  if (user.role !== 'practitioner' || !user.organisationId)
    throw new RefusedInput(422, 'Only practitioners of a member organisation can use emergency access');
  const expiresAt = new Date(now.getTime() + BREAK_GLASS_MINUTES * 60_000);
  const exists = await personById(trx, personId);
  await appendAudit(trx, {
    actorUserId: user.id,
    actorRole: user.role,
    actorOrganisationId: user.organisationId,
    action: 'break_glass',
    personId,
    category: null,
    purpose: 'direct_care',
    decision: exists ? 'allow' : 'deny',
    reason: exists
      ? `emergency access for ${BREAK_GLASS_MINUTES} minutes: ${reason}`
      : 'emergency access asked for a record that does not exist',
  });
  if (exists) {
    await trx
      .insertInto('break_glass_grants')
      .values({
        user_id: user.id,
        person_id: personId,
        reason,
        expires_at: expiresAt,
        reviewed_at: null,
        reviewed_by: null,
        review_outcome: null,
        review_note: null,
      })
      .execute();
    await notifyPeople(
      trx,
      { personIds: [personId, ...(await proxyPersonIdsFor(trx, personId, now))], event: 'emergency_access', path: '/home' },
      now,
    );
  }
  return expiresAt;
}

export interface BreakGlassForReview {
  id: number;
  at: Date;
  expiresAt: Date;
  practitioner: string;
  organisation: string | null;
  personId: string;
  personName: string;
  reason: string;
  reviewedAt: Date | null;
  outcome: string | null;
  note: string | null;
}

// A grant as the privacy officer reads it: who (their name and organisation, from auth and
// network) opened whose record (the person's name, from people). The user and the person are
// required references, so every grant has both names.
const grantColumns = [
  'g.id',
  'g.started_at',
  'g.expires_at',
  userDisplayNameOf('g.user_id').$castTo<string>().as('display_name'),
  organisationNameOf(userOrganisationIdOf('g.user_id')).as('organisation'),
  'g.person_id',
  personFullNameOf('g.person_id').$castTo<string>().as('person_name'),
  'g.reason',
  'g.reviewed_at',
  'g.review_outcome',
  'g.review_note',
] as const;

export async function breakGlassReviewList(db: Kysely<Database>, includeReviewed = false): Promise<BreakGlassForReview[]> {
  let query = db.selectFrom('break_glass_grants as g').select([...grantColumns]);
  if (!includeReviewed) query = query.where('g.reviewed_at', 'is', null);
  const rows = await query.orderBy('g.started_at', 'asc').limit(200).execute();
  return rows.map((r) => ({
    id: Number(r.id),
    at: r.started_at,
    expiresAt: r.expires_at,
    practitioner: r.display_name,
    organisation: r.organisation,
    personId: r.person_id,
    personName: r.person_name,
    reason: r.reason,
    reviewedAt: r.reviewed_at,
    outcome: r.review_outcome,
    note: r.review_note,
  }));
}

/** What a practitioner did with an emergency access while it lasted, from the audit log. */
export interface EmergencyUse {
  /** Each surface that records what it showed, and how many times it was opened: "the person page", 2. */
  surfaces: Array<{ surface: string; times: number }>;
  /** Every kind of information shown, in plain words, each once. */
  shown: string[];
  /** Kinds of information read on surfaces that do not record what they showed (everything they could see). */
  readElsewhere: string[];
  exports: number;
  changes: number;
  refused: number;
}

/** For each grant: the audit events of its practitioner about its person between its start and end. */
export async function emergencyUses(db: Kysely<Database>, grantIds: readonly number[]): Promise<Map<number, EmergencyUse>> {
  const result = new Map<number, EmergencyUse>();
  if (grantIds.length === 0) return result;
  const grants = await db
    .selectFrom('break_glass_grants')
    .select(['id', 'user_id', 'person_id', 'started_at', 'expires_at'])
    .where('id', 'in', [...grantIds])
    .execute();
  const rows = (
    await auditEventsDuring(
      db,
      grants.map((g) => ({ key: Number(g.id), actorUserId: g.user_id, personId: g.person_id, from: g.started_at, to: g.expires_at })),
      'break_glass',
    )
  ).map((e) => ({ ...e, grant_id: e.key }));
  for (const id of grantIds) result.set(id, { surfaces: [], shown: [], readElsewhere: [], exports: 0, changes: 0, refused: 0 });
  const byGrant = Map.groupBy(rows, (row) => Number(row.grant_id));
  for (const [id, events] of byGrant) {
    const use = result.get(id)!;
    const shown = new Set<Category>();
    const readElsewhere = new Set<Category>();
    const surfaceTimes = new Map<string, number>();
    // A visit starts with a decision on basic details (every page decides them first); a surface
    // that records what it showed follows its decision with "disclose" events naming itself.
    let visit: { reads: Category[]; surface: string | null } | null = null;
    const close = () => {
      if (visit?.surface) surfaceTimes.set(visit.surface, (surfaceTimes.get(visit.surface) ?? 0) + 1);
      else for (const c of visit?.reads ?? []) readElsewhere.add(c);
      visit = null;
    };
    for (const e of events) {
      const category = categories.includes(e.category as Category) ? (e.category as Category) : null;
      if (e.action === 'read' && e.decision === 'allow') {
        if (category === 'demographics' || visit === null) {
          close();
          visit = { reads: [], surface: null };
        }
        if (category) visit!.reads.push(category);
      } else if (e.action === 'disclose') {
        visit ??= { reads: [], surface: null };
        visit.surface ??= e.reason.replace(/^shown on /, '');
        if (category) shown.add(category);
      } else {
        close();
        if (e.decision === 'deny') use.refused += 1;
        else if (e.action === 'export') use.exports += 1;
        else if (e.action === 'write') use.changes += 1;
      }
    }
    close();
    use.surfaces = [...surfaceTimes].map(([surface, times]) => ({ surface, times }));
    use.shown = categories.filter((c) => shown.has(c)).map((c) => categoryPlainWords[c]);
    use.readElsewhere = categories.filter((c) => readElsewhere.has(c) && !shown.has(c)).map((c) => categoryPlainWords[c]);
  }
  return result;
}

/** Reviews already done, newest first: what was decided, by whom and when. */
export async function completedBreakGlassReviews(
  db: Kysely<Database>,
  limit = 50,
): Promise<Array<BreakGlassForReview & { reviewer: string | null }>> {
  const rows = await db
    .selectFrom('break_glass_grants as g')
    .select([...grantColumns, userDisplayNameOf('g.reviewed_by').as('reviewer')])
    .where('g.reviewed_at', 'is not', null)
    .orderBy('g.reviewed_at', 'desc')
    .orderBy('g.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    at: r.started_at,
    expiresAt: r.expires_at,
    practitioner: r.display_name,
    organisation: r.organisation,
    personId: r.person_id,
    personName: r.person_name,
    reason: r.reason,
    reviewedAt: r.reviewed_at,
    outcome: r.review_outcome,
    note: r.review_note,
    reviewer: r.reviewer,
  }));
}

export async function reviewBreakGlass(
  trx: Transaction<Database>,
  reviewer: SignedInUser,
  grantId: number,
  outcome: 'appropriate' | 'inappropriate',
  note: string,
): Promise<boolean> {
  const grant = await trx
    .selectFrom('break_glass_grants')
    .select(['person_id', 'reviewed_at'])
    .where('id', '=', grantId)
    .forUpdate()
    .executeTakeFirst();
  if (!grant || grant.reviewed_at) return false;
  await trx
    .updateTable('break_glass_grants')
    .set({ reviewed_at: new Date(), reviewed_by: reviewer.id, review_outcome: outcome, review_note: note })
    .where('id', '=', grantId)
    .execute();
  await appendAudit(trx, {
    actorUserId: reviewer.id,
    actorRole: reviewer.role,
    actorOrganisationId: reviewer.organisationId,
    action: 'break_glass_review',
    personId: grant.person_id,
    category: null,
    purpose: 'safeguarding',
    decision: 'success',
    reason: `privacy officer reviewed an emergency access: ${outcome}`,
  });
  return true;
}
