// "About me": the person's own words about what matters to them and how to support them, kept as
// versions (the latest is current). Written by the person or a proxy whose scope covers it, from
// the about-me page or a resident's self-assessment ("What matters to you"), so every assessment
// that asks the same thing can prefill it (plans/prefill.ts) and nobody asks again.
import { sql, type Kysely, type Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { decideRecordAccess } from '../consent/index.ts';

/** Text from the about-me form, trimmed and kept to the 4,000 characters a version holds. */
const aboutMeText = z.preprocess((value) => (typeof value === 'string' ? value.trim().slice(0, 4000) : ''), z.string());

/** The about-me form: what matters (needed, at least two characters) and how to support (may be left empty). */
export const aboutMeForm = z.object({
  what_matters: aboutMeText.pipe(z.string().min(2, 'Write what matters to you')),
  how_to_support: aboutMeText,
});

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

/**
 * The demo's "about me" in people's own words, for about three in ten of these people (chosen by
 * a hash of the id, so the same each run), written 20 days ago.
 */
export async function seedAboutMe(db: Kysely<Database> | Transaction<Database>, personIds: readonly string[]): Promise<void> {
  if (personIds.length === 0) return;
  await sql`
      insert into about_me_versions (person_id, what_matters, how_to_support, written_by, written_by_role, created_at)
      select n.person_id,
             case (abs(hashtext(n.person_id)) % 4)
               when 0 then 'Keeping my flat and seeing my kids at weekends. I want to get back to work one day.'
               when 1 then 'My dog, my garden and my friends at the community centre. I don''t want to go into a home.'
               when 2 then 'Looking after my mum without falling apart myself. I need a break sometimes.'
               else 'Being treated like a person, not a case number. Staying off the drink one day at a time.' end,
             case (abs(hashtext(n.person_id)) % 3)
               when 0 then 'Ring before you visit. Mornings are hard for me.'
               when 1 then 'Please explain things plainly and write them down for me.'
               else 'Talk to me, not about me. My sister can help with letters.' end,
             'seed', 'citizen', now() - interval '20 days'
      from unnest(${[...personIds]}::text[]) as n(person_id)
      where abs(hashtext(n.person_id || 'aboutme')) % 100 < 30`.execute(db);
}
