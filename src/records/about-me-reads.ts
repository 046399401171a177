// "About me" as other modules read it: the person page embeds the latest version in its one
// statement (latestAboutMeSql), and the person's own export lists every version. Only fetches:
// callers hold the access decision for about_me first.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** SQL text: the latest "about me" of the person `personExpr` names, as json (what_matters, how_to_support, created_at), or null. */
export const latestAboutMeSql = (personExpr: string): string => `(
       select json_build_object('what_matters', v.what_matters, 'how_to_support', v.how_to_support, 'created_at', v.created_at)
       from about_me_versions v where v.person_id = ${personExpr} order by v.created_at desc, v.id desc limit 1)`;

export interface AboutMeVersion {
  whatMatters: string;
  howToSupport: string;
  writtenByRole: string;
  createdAt: Date;
}

/** Every version of the person's "about me", newest first. */
export async function aboutMeVersionsOf(db: Kysely<Database>, personId: string): Promise<AboutMeVersion[]> {
  const rows = await db
    .selectFrom('about_me_versions')
    .select(['what_matters', 'how_to_support', 'written_by_role', 'created_at'])
    .where('person_id', '=', personId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map((r) => ({
    whatMatters: r.what_matters,
    howToSupport: r.how_to_support,
    writtenByRole: r.written_by_role,
    createdAt: r.created_at,
  }));
}

/** The latest versions of the person's "about me" as stored, newest first: the about-me page shows the current one and its history. */
export async function aboutMeHistory(db: Kysely<Database>, personId: string, limit: number) {
  return db
    .selectFrom('about_me_versions')
    .selectAll()
    .where('person_id', '=', personId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}
