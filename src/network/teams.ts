// Teams as other modules need them, integrated teams above all: a team hosted by one
// organisation whose members come from several (their memberships, which grant access, are the
// consent module's). Functions that run a query, and SQL text fragments for the access decision
// to embed in its one statement, so no other module reads the teams table itself.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { RefusedInput } from '../platform/refused.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface TeamRef {
  id: string;
  organisationId: string;
  name: string;
  integrated: boolean;
  base: string | null;
}

const toRef = (r: { id: string; organisation_id: string; name: string; integrated: boolean; base: string | null }): TeamRef => ({
  id: r.id,
  organisationId: r.organisation_id,
  name: r.name,
  integrated: r.integrated,
  base: r.base,
});

/** The teams with these ids (unknown ids are left out), by id: one query however many. */
export async function teamsByIds(db: Db, ids: ReadonlyArray<string | null | undefined>): Promise<Map<string, TeamRef>> {
  const wanted = [...new Set(ids.filter((id): id is string => typeof id === 'string'))];
  if (wanted.length === 0) return new Map();
  const rows = await db
    .selectFrom('teams')
    .select(['id', 'organisation_id', 'name', 'integrated', 'base'])
    .where('id', 'in', wanted)
    .execute();
  return new Map(rows.map((r) => [r.id, toRef(r)]));
}

export async function teamById(db: Db, id: string): Promise<TeamRef | undefined> {
  return (await teamsByIds(db, [id])).get(id);
}

/** Every integrated team, by name. */
export async function integratedTeams(db: Db): Promise<TeamRef[]> {
  const rows = await db
    .selectFrom('teams')
    .select(['id', 'organisation_id', 'name', 'integrated', 'base'])
    .where('integrated', '=', true)
    .orderBy('name')
    .execute();
  return rows.map(toRef);
}

/** A practitioner's organisation and whether they still work in the network (for adding them to a team). */
export async function practitionerStanding(
  db: Db,
  id: string,
): Promise<{ id: string; organisationId: string; active: boolean } | undefined> {
  const row = await db.selectFrom('practitioners').select(['id', 'organisation_id', 'active']).where('id', '=', id).executeTakeFirst();
  return row ? { id: row.id, organisationId: row.organisation_id, active: row.active } : undefined;
}

/** Active practitioners of any organisation, by name, for choosing a member or a line manager. */
export async function activePractitioners(
  db: Db,
): Promise<Array<{ id: string; name: string; organisationId: string; organisation: string }>> {
  const rows = await db
    .selectFrom('practitioners as p')
    .innerJoin('organisations as o', 'o.id', 'p.organisation_id')
    .select(['p.id', 'p.given_name', 'p.family_name', 'p.organisation_id', 'o.name'])
    .where('p.active', '=', true)
    .orderBy('p.family_name')
    .orderBy('p.given_name')
    .orderBy('p.id')
    .execute();
  return rows.map((r) => ({ id: r.id, name: `${r.given_name} ${r.family_name}`, organisationId: r.organisation_id, organisation: r.name }));
}

export class TeamInputError extends RefusedInput {
  override name = 'TeamInputError';
}

/** Sets up an integrated team hosted by an organisation (an administrator's or the demo's act). */
export async function createIntegratedTeam(
  db: Db,
  input: { id?: string; hostOrganisationId: string; name: string; base: string | null },
): Promise<string> {
  const name = input.name.trim();
  if (name.length < 3 || name.length > 120) throw new TeamInputError(400, 'Give the team a name of 3 to 120 characters');
  const host = await db.selectFrom('organisations').select('id').where('id', '=', input.hostOrganisationId).executeTakeFirst();
  if (!host) throw new TeamInputError(404, 'That organisation is not a member of the network');
  const id = input.id ?? `team-${randomUUID()}`;
  await db
    .insertInto('teams')
    .values({ id, organisation_id: host.id, name, integrated: true, base: input.base?.trim() || null })
    .execute();
  return id;
}

/** SQL text: whether the team whose id is `teamExpr` is integrated (null when there is no team). */
export const teamIntegratedSql = (teamExpr: string): string => `(select t.integrated from teams t where t.id = ${teamExpr})`;

/** SQL text: the name of the team whose id is `teamExpr`. */
export const teamNameSql = (teamExpr: string): string => `(select t.name from teams t where t.id = ${teamExpr})`;

/** An organisation's active practitioners, by id (the demo picks team members from them). */
export async function practitionersOf(
  db: Db,
  organisationId: string,
): Promise<Array<{ id: string; givenName: string; familyName: string; role: string }>> {
  const rows = await db
    .selectFrom('practitioners')
    .select(['id', 'given_name', 'family_name', 'role'])
    .where('organisation_id', '=', organisationId)
    .where('active', '=', true)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: r.id, givenName: r.given_name, familyName: r.family_name, role: r.role }));
}

/** Kysely: the organisation's first team (lowest id; null when it has none), the organisation an SQL expression. */
export function firstTeamIdOf(organisation: RawBuilder<unknown>): RawBuilder<string | null> {
  return sql<string | null>`(select min(t.id) from teams t where t.organisation_id = ${organisation})`;
}
