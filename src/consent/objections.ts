// Objecting to case-finding (UK GDPR Art. 21): the person, or their proxy, says they do not want
// to be found by the network's case-finding rules and contacted that way. The rules then skip
// them; anyone already on a worklist stays there marked "not to be contacted this way", so the
// team is told rather than the entry vanishing. An objection is withdrawn, never deleted.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { actingFor, type Trx } from './acting.ts';

export interface ObjectionView {
  id: number;
  objectedAt: Date;
  withdrawnAt: Date | null;
  reason: string | null;
  byProxy: boolean;
}

/** Records an objection, unless one is already in force; returns its id. */
export async function objectToCaseFinding(trx: Trx, actor: SignedInUser, personId: string, reason: string): Promise<number> {
  const recordedFor = await actingFor(trx, actor, personId);
  const existing = await trx
    .selectFrom('casefinding_objections')
    .select('id')
    .where('person_id', '=', personId)
    .where('withdrawn_at', 'is', null)
    .executeTakeFirst();
  if (existing) return Number(existing.id);
  const row = await trx
    .insertInto('casefinding_objections')
    .values({
      person_id: personId,
      recorded_by: actor.id,
      recorded_for: recordedFor,
      reason: reason.trim().slice(0, 500) || null,
      withdrawn_at: null,
      withdrawn_by: null,
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!row)
    return Number(
      (
        await trx
          .selectFrom('casefinding_objections')
          .select('id')
          .where('person_id', '=', personId)
          .where('withdrawn_at', 'is', null)
          .executeTakeFirstOrThrow()
      ).id,
    );
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorRole: actor.role,
    actorOrganisationId: null,
    action: 'write',
    personId,
    category: null,
    purpose: 'self',
    decision: 'success',
    reason: 'objected to case-finding',
  });
  return Number(row.id);
}

/** Withdraws the objection in force; false when there is none. */
export async function withdrawCaseFindingObjection(trx: Trx, actor: SignedInUser, personId: string): Promise<boolean> {
  await actingFor(trx, actor, personId);
  const result = await trx
    .updateTable('casefinding_objections')
    .set({ withdrawn_at: new Date(), withdrawn_by: actor.id })
    .where('person_id', '=', personId)
    .where('withdrawn_at', 'is', null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorRole: actor.role,
    actorOrganisationId: null,
    action: 'write',
    personId,
    category: null,
    purpose: 'self',
    decision: 'success',
    reason: 'withdrew an objection to case-finding',
  });
  return true;
}

/** The person's objections, newest first: the one in force (if any) and the history. */
export async function caseFindingObjectionsOf(db: Kysely<Database>, personId: string): Promise<ObjectionView[]> {
  const rows = await db
    .selectFrom('casefinding_objections')
    .select(['id', 'objected_at', 'withdrawn_at', 'reason', 'recorded_for'])
    .where('person_id', '=', personId)
    .orderBy('objected_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    objectedAt: r.objected_at,
    withdrawnAt: r.withdrawn_at,
    reason: r.reason,
    byProxy: r.recorded_for === 'proxy',
  }));
}

/** Everyone with an objection in force: the case-finding rules leave them out. */
export async function caseFindingObjectors(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('casefinding_objections').select('person_id').distinct().where('withdrawn_at', 'is', null).execute();
  return rows.map((r) => r.person_id);
}

/** Of these people, who objects now, and since when: for marking worklist entries. */
export async function caseFindingObjectionsFor(db: Kysely<Database>, personIds: readonly string[]): Promise<Map<string, Date>> {
  const found = new Map<string, Date>();
  if (personIds.length === 0) return found;
  const rows = await db
    .selectFrom('casefinding_objections')
    .select(['person_id', 'objected_at'])
    .where('person_id', 'in', [...new Set(personIds)])
    .where('withdrawn_at', 'is', null)
    .execute();
  for (const r of rows) found.set(r.person_id, r.objected_at);
  return found;
}
