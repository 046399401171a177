// Lawful bases to share without consent (e.g. safeguarding under the Children Act 1989), and a
// practitioner's release of safeguarding information to the person it concerns. Both are facts
// the access policy acts on, so only this module writes them, each one audited and shown to the
// person with its explanation.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { RefusedInput } from '../platform/refused.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { bulkInsert } from '../platform/bulk.ts';
import { decideRecordAccess } from './access.ts';

type Trx = Transaction<Database>;

export interface SeededLawfulBasis {
  personId: string;
  category: string;
  purpose: string;
  basis: 'safeguarding' | 'legal_obligation' | 'vital_interests' | 'public_task';
  organisationId: string | null;
  explanation: string;
  validFrom: Date;
}

/** A synthetic place's lawful bases, in bulk (demo loading only). */
export async function seedLawfulBases(trx: Trx, rows: readonly SeededLawfulBasis[]): Promise<void> {
  const txt = (name: string, value: (r: SeededLawfulBasis) => unknown) => ({ name, type: 'text', value });
  await bulkInsert(
    trx,
    'lawful_bases',
    [
      txt('person_id', (r) => r.personId),
      txt('category', (r) => r.category),
      txt('purpose', (r) => r.purpose),
      txt('basis', (r) => r.basis),
      txt('organisation_id', (r) => r.organisationId),
      txt('explanation', (r) => r.explanation),
      { name: 'valid_from', type: 'timestamptz', value: (r) => r.validFrom.toISOString() },
    ],
    [...rows],
    10_000,
  );
}

export class ReleaseRefused extends RefusedInput {
  override name = 'ReleaseRefused';
}

/**
 * A practitioner who may see the person's safeguarding information for safeguarding decides it
 * is safe to show it to the person (and so to their proxies). Audited; withdrawable.
 */
export async function releaseSafeguardingToPerson(trx: Trx, by: SignedInUser, personId: string, reason: string): Promise<number> {
  if (reason.trim().length < 10)
    throw new ReleaseRefused(400, 'Say why it is safe for the person and their family to see this, in at least 10 characters');
  const access = await decideRecordAccess(trx, {
    actor: by,
    personId,
    categories: ['children_safeguarding'],
    purpose: 'safeguarding',
    action: 'write',
  });
  if (access.byCategory.children_safeguarding.scope !== 'all' || access.breakGlass) {
    throw new ReleaseRefused(
      422,
      "Only a practitioner sharing this person's safeguarding information on a lawful basis can release it to them",
    );
  }
  const row = await trx
    .insertInto('safeguarding_releases')
    .values({ person_id: personId, released_by: by.id, reason: reason.trim().slice(0, 500), withdrawn_at: null, withdrawn_by: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  await appendAudit(trx, {
    actorUserId: by.id,
    actorRole: by.role,
    actorOrganisationId: by.organisationId,
    action: 'write',
    personId,
    category: 'children_safeguarding',
    purpose: 'safeguarding',
    decision: 'success',
    reason: 'safeguarding information released to the person and their family',
  });
  return Number(row.id);
}

export async function withdrawSafeguardingRelease(trx: Trx, by: SignedInUser, personId: string): Promise<number> {
  const rows = await trx
    .updateTable('safeguarding_releases')
    .set({ withdrawn_at: new Date(), withdrawn_by: by.id })
    .where('person_id', '=', personId)
    .where('withdrawn_at', 'is', null)
    .returning('id')
    .execute();
  if (rows.length > 0) {
    await appendAudit(trx, {
      actorUserId: by.id,
      actorRole: by.role,
      actorOrganisationId: by.organisationId,
      action: 'write',
      personId,
      category: 'children_safeguarding',
      purpose: 'safeguarding',
      decision: 'success',
      reason: 'safeguarding information no longer shown to the person and their family',
    });
  }
  return rows.length;
}

/** Whether a lawful basis to share without consent stands for the person at `now` (a referral sent without the person's agreement rests on one). */
export async function hasLawfulBasis(db: Kysely<Database>, personId: string, now: Date): Promise<boolean> {
  const row = await db
    .selectFrom('lawful_bases')
    .select('id')
    .where('person_id', '=', personId)
    .where('ended_at', 'is', null)
    .where('valid_from', '<=', now)
    .where((eb) => eb.or([eb('valid_until', 'is', null), eb('valid_until', '>', now)]))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
