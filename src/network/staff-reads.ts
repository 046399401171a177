// What other modules (auth above all) read of practitioners and teams: a practitioner's team and
// whether they still work here, as fragments embedded in the caller's own statement (the session
// lookup on every request stays one prepared statement), and the teams to choose from.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';

/** SQL text: the team of the practitioner `practitionerExpr` names (null when none). */
export const practitionerTeamIdSql = (practitionerExpr: string): string =>
  `(select pr.team_id from practitioners pr where pr.id = ${practitionerExpr})`;

/** SQL text: whether the practitioner `practitionerExpr` names is active (null when there is none). */
export const practitionerActiveSql = (practitionerExpr: string): string =>
  `(select pr.active from practitioners pr where pr.id = ${practitionerExpr})`;

/** Kysely: the team of the practitioner whose id is in column `ref` (null when none). */
export function practitionerTeamIdOf(ref: string): RawBuilder<string | null> {
  return sql<string | null>`(select pr.team_id from practitioners pr where pr.id = ${sql.ref(ref)})`;
}

/** Kysely: whether the practitioner whose id is in column `ref` is active (null when there is none: not a practitioner's account). */
export function practitionerActiveOf(ref: string): RawBuilder<boolean | null> {
  return sql<boolean | null>`(select pr.active from practitioners pr where pr.id = ${sql.ref(ref)})`;
}

/** Whether the team belongs to the organisation. */
export async function isTeamOf(db: Kysely<Database>, teamId: string, organisationId: string): Promise<boolean> {
  return (
    (await db
      .selectFrom('teams')
      .select('id')
      .where('id', '=', teamId)
      .where('organisation_id', '=', organisationId)
      .executeTakeFirst()) !== undefined
  );
}

/** Every team with its organisation's name, by organisation then team name (for choosing one in a form). */
export async function teamsWithOrganisation(db: Kysely<Database>): Promise<Array<{ id: string; name: string; organisation: string }>> {
  return db
    .selectFrom('teams')
    .innerJoin('organisations', 'organisations.id', 'teams.organisation_id')
    .select(['teams.id', 'teams.name', 'organisations.name as organisation'])
    .orderBy('organisations.name')
    .orderBy('teams.name')
    .execute();
}
