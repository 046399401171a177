// Reading the care network's organisations and practitioners for other modules: names and kinds
// by id, batched (one query for a whole list, never one per row), so no other module queries the
// network's tables itself.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface OrganisationRef {
  id: string;
  name: string;
  kind: string;
}

/** The organisations with these ids (unknown ids are left out), by id. */
export async function organisationsByIds(
  db: Kysely<Database>,
  ids: ReadonlyArray<string | null | undefined>,
): Promise<Map<string, OrganisationRef>> {
  const wanted = [...new Set(ids.filter((id): id is string => typeof id === 'string'))];
  if (wanted.length === 0) return new Map();
  const rows = await db.selectFrom('organisations').select(['id', 'name', 'kind']).where('id', 'in', wanted).execute();
  return new Map(rows.map((r) => [r.id, r]));
}

/** One organisation, or undefined if there is none with this id. */
export async function organisationById(db: Kysely<Database>, id: string): Promise<OrganisationRef | undefined> {
  return (await organisationsByIds(db, [id])).get(id);
}

/** Every organisation in the network, by name (for choosing one in a form). */
export async function allOrganisations(db: Kysely<Database>): Promise<OrganisationRef[]> {
  return db.selectFrom('organisations').select(['id', 'name', 'kind']).orderBy('name').execute();
}

export interface PractitionerRef {
  id: string;
  givenName: string;
  familyName: string;
  organisationId: string;
  teamId: string;
  active: boolean;
}

/** The practitioners with these ids (unknown ids are left out), by id. */
export async function practitionersByIds(
  db: Kysely<Database>,
  ids: ReadonlyArray<string | null | undefined>,
): Promise<Map<string, PractitionerRef>> {
  const wanted = [...new Set(ids.filter((id): id is string => typeof id === 'string'))];
  if (wanted.length === 0) return new Map();
  const rows = await db
    .selectFrom('practitioners')
    .select(['id', 'given_name', 'family_name', 'organisation_id', 'team_id', 'active'])
    .where('id', 'in', wanted)
    .execute();
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        givenName: r.given_name,
        familyName: r.family_name,
        organisationId: r.organisation_id,
        teamId: r.team_id,
        active: r.active,
      },
    ]),
  );
}

/** The source code an organisation is registered with that is `value` case aside (the first in order), or undefined. */
export async function registeredSourceCode(db: Kysely<Database>, value: string): Promise<string | undefined> {
  const org = await db
    .selectFrom('organisations')
    .select('source_code')
    .where(sql<boolean>`lower(source_code) = ${value.toLowerCase()}`)
    .orderBy('source_code')
    .executeTakeFirst();
  return org?.source_code;
}
