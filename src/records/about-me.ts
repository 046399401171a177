// "About me": the person's own words about what matters to them and how to support them, kept as
// versions (the latest is current). Written by the person or a proxy whose scope covers it, from
// the about-me page or a resident's self-assessment ("What matters to you"), so every assessment
// that asks the same thing can prefill it (plans/prefill.ts) and nobody asks again.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { decideRecordAccess } from '../consent/index.ts';

/**
 * Adds a version of "about me" in the caller's transaction; returns false (writing nothing) when
 * the one access decision does not let the actor write the person's about me.
 * `howToSupport` left out keeps what the current version says.
 */
export async function saveAboutMe(
  trx: Transaction<Database> | Kysely<Database>,
  actor: SignedInUser,
  personId: string,
  input: { whatMatters: string; howToSupport?: string; reason: string },
): Promise<boolean> {
  const access = await decideRecordAccess(trx as Kysely<Database>, {
    actor,
    personId,
    categories: ['about_me'],
    purpose: 'self',
    action: 'write',
  });
  if (access.byCategory.about_me.scope !== 'all') return false;
  const current =
    input.howToSupport === undefined
      ? await trx
          .selectFrom('about_me_versions')
          .select('how_to_support')
          .where('person_id', '=', personId)
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .executeTakeFirst()
      : undefined;
  await trx
    .insertInto('about_me_versions')
    .values({
      person_id: personId,
      what_matters: input.whatMatters.slice(0, 4000),
      how_to_support: (input.howToSupport ?? current?.how_to_support ?? '').slice(0, 4000),
      written_by: actor.id,
      written_by_role: actor.role,
    })
    .execute();
  await appendAudit(trx, {
    actorUserId: actor.id,
    actorRole: actor.role,
    actorOrganisationId: null,
    action: 'write',
    personId,
    category: 'about_me',
    purpose: 'self',
    decision: 'success',
    reason: input.reason.slice(0, 300),
  });
  return true;
}

/** The current "about me" (the latest version), or undefined if the person has written none. Only fetches: the caller decides access. */
export async function currentAboutMe(
  db: Kysely<Database>,
  personId: string,
): Promise<{ whatMatters: string; howToSupport: string | null; createdAt: Date } | undefined> {
  const row = await db
    .selectFrom('about_me_versions')
    .select(['what_matters', 'how_to_support', 'created_at'])
    .where('person_id', '=', personId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { whatMatters: row.what_matters, howToSupport: row.how_to_support, createdAt: row.created_at } : undefined;
}
