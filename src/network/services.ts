// The network's services, teams and staff as other modules need them (referrals above all): one
// service or many by id (batched: one query for a whole list), an organisation's services, teams
// and practitioners for its forms, and names as fragments a caller embeds in its own statement,
// so a list (a referral inbox) stays one query without naming the network's tables.
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface ServiceRef {
  id: string;
  name: string;
  organisationId: string;
  organisationName: string;
  teamId: string;
  needs: string[];
  minAge: number | null;
  maxAge: number | null;
  localityIds: string[];
  acceptsSelfReferral: boolean;
  acknowledgeWithinDays: number;
  firstContactWithinDays: number;
}

function serviceQuery(db: Db) {
  return db
    .selectFrom('services as s')
    .innerJoin('organisations as o', 'o.id', 's.organisation_id')
    .select([
      's.id',
      's.name',
      's.organisation_id',
      'o.name as organisation_name',
      's.team_id',
      's.needs',
      's.min_age',
      's.max_age',
      's.locality_ids',
      's.accepts_self_referral',
      's.acknowledge_within_days',
      's.first_contact_within_days',
    ]);
}

type ServiceRow = Awaited<ReturnType<ReturnType<typeof serviceQuery>['execute']>>[number];

const toService = (r: ServiceRow): ServiceRef => ({
  id: r.id,
  name: r.name,
  organisationId: r.organisation_id,
  organisationName: r.organisation_name,
  teamId: r.team_id,
  needs: r.needs,
  minAge: r.min_age,
  maxAge: r.max_age,
  localityIds: r.locality_ids,
  acceptsSelfReferral: r.accepts_self_referral,
  acknowledgeWithinDays: r.acknowledge_within_days,
  firstContactWithinDays: r.first_contact_within_days,
});

/** The services with these ids and their organisations' names (unknown ids are left out), by id. */
export async function servicesByIds(db: Db, ids: ReadonlyArray<string | null | undefined>): Promise<Map<string, ServiceRef>> {
  const wanted = [...new Set(ids.filter((id): id is string => typeof id === 'string'))];
  if (wanted.length === 0) return new Map();
  const rows = await serviceQuery(db).where('s.id', 'in', wanted).execute();
  return new Map(rows.map((r) => [r.id, toService(r)]));
}

/** One service, or undefined if the directory has none with this id. */
export async function serviceById(db: Db, id: string): Promise<ServiceRef | undefined> {
  const row = await serviceQuery(db).where('s.id', '=', id).executeTakeFirst();
  return row ? toService(row) : undefined;
}

/** The first service of this name (by id), or undefined. */
export async function serviceNamed(db: Db, name: string): Promise<ServiceRef | undefined> {
  const row = await serviceQuery(db).where('s.name', '=', name).orderBy('s.id').limit(1).executeTakeFirst();
  return row ? toService(row) : undefined;
}

/**
 * The named service of the first organisation of a kind, with the first practitioner in the team
 * that runs it (the demo's receiving practitioners), or undefined.
 */
export async function serviceStaffOf(
  db: Db,
  organisationKind: string,
  serviceName: string,
): Promise<
  | {
      serviceId: string;
      id: string;
      givenName: string;
      familyName: string;
      role: string;
      organisationId: string;
      organisation: string;
    }
  | undefined
> {
  const row = await db
    .selectFrom('services as s')
    .innerJoin('organisations as o', 'o.id', 's.organisation_id')
    .innerJoin('practitioners as p', 'p.team_id', 's.team_id')
    .select(['s.id as service_id', 'p.id', 'p.given_name', 'p.family_name', 'p.role', 'p.organisation_id', 'o.name as organisation'])
    .where('o.kind', '=', organisationKind)
    .where('s.name', '=', serviceName)
    .orderBy('o.id')
    .orderBy('p.id')
    .executeTakeFirst();
  return row
    ? {
        serviceId: row.service_id,
        id: row.id,
        givenName: row.given_name,
        familyName: row.family_name,
        role: row.role,
        organisationId: row.organisation_id,
        organisation: row.organisation,
      }
    : undefined;
}

/** Every service with its organisation, by name (or by organisation, then name), optionally only those meeting one of these needs. */
export async function allServices(
  db: Db,
  filter: { needsAny?: string[]; selfReferral?: boolean; byOrganisation?: boolean } = {},
): Promise<ServiceRef[]> {
  let q = serviceQuery(db);
  if (filter.needsAny)
    q = filter.needsAny.length
      ? q.where(sql<boolean>`s.needs && array[${sql.join(filter.needsAny)}]::text[]`)
      : q.where(sql<boolean>`false`);
  if (filter.selfReferral) q = q.where('s.accepts_self_referral', '=', true);
  if (filter.byOrganisation) q = q.orderBy('o.name');
  return (await q.orderBy('s.name').orderBy('s.id').execute()).map(toService);
}

/** An organisation's name, services, teams and staff (active or not), each by name, for its forms and filters. */
export async function organisationSetUp(
  db: Db,
  organisationId: string,
): Promise<{
  name: string | null;
  services: Array<{ id: string; name: string }>;
  teams: Array<{ id: string; name: string }>;
  practitioners: Array<{ id: string; given_name: string; family_name: string; role: string }>;
}> {
  const [organisation, services, teams, practitioners] = await Promise.all([
    db.selectFrom('organisations').select('name').where('id', '=', organisationId).executeTakeFirst(),
    db.selectFrom('services').select(['id', 'name']).where('organisation_id', '=', organisationId).orderBy('name').execute(),
    db.selectFrom('teams').select(['id', 'name']).where('organisation_id', '=', organisationId).orderBy('name').execute(),
    organisationPractitioners(db, organisationId),
  ]);
  return { name: organisation?.name ?? null, services, teams, practitioners };
}

/** An organisation's practitioners, by family then given name. */
export async function organisationPractitioners(
  db: Db,
  organisationId: string,
): Promise<Array<{ id: string; given_name: string; family_name: string; role: string }>> {
  return db
    .selectFrom('practitioners')
    .select(['id', 'given_name', 'family_name', 'role'])
    .where('organisation_id', '=', organisationId)
    .orderBy('family_name')
    .orderBy('given_name')
    .execute();
}

/** Whether any service takes its referrals in this team. */
export async function teamReceivesReferrals(db: Db, teamId: string): Promise<boolean> {
  return Boolean(await db.selectFrom('services').select('id').where('team_id', '=', teamId).limit(1).executeTakeFirst());
}

/** Kysely: the name of the service whose id is in column `ref`, for a select list. */
export function serviceNameOf(ref: string): RawBuilder<string> {
  return sql<string>`(select s.name from services s where s.id = ${sql.ref(ref)})`;
}

/**
 * SQL text: every service (all its columns) with its organisation's name and kind, as a table to
 * join (`join ${...} s on s.id = x.service_id`, or `from ${...} s` for a search over services and
 * their organisations' names). Every service has an organisation, so an inner join on it loses none.
 */
export const servicesWithOrganisationSql = `(select s.*, o.name as organisation_name, o.kind as organisation_kind
  from services s join organisations o on o.id = s.organisation_id)`;

/** Kysely: the same table as servicesWithOrganisationSql, for a builder's statement or a `sql` template. */
export const servicesWithOrganisation = sql<{
  id: string;
  name: string;
  organisation_id: string;
  organisation_name: string;
  organisation_kind: string;
}>`${sql.raw(servicesWithOrganisationSql)}`;

/** Kysely: every practitioner (all their columns) with their organisation's name and kind, as a table to join or select from. */
export const practitionersWithOrganisationTable = sql<{
  id: string;
  given_name: string;
  family_name: string;
  organisation_id: string;
  team_id: string;
  role: string;
  organisation_name: string;
  organisation_kind: string;
}>`(select p.*, o.name as organisation_name, o.kind as organisation_kind from practitioners p join organisations o on o.id = p.organisation_id)`;

/** Kysely: the name of the team whose id is in column `ref`. */
export function teamNameOf(ref: string): RawBuilder<string> {
  return sql<string>`(select t.name from teams t where t.id = ${sql.ref(ref)})`;
}

/** Kysely: "Given Family" of the practitioner whose id is in column `ref` (null when none). */
export function practitionerNameOf(ref: string): RawBuilder<string | null> {
  return sql<string | null>`(select p.given_name || ' ' || p.family_name from practitioners p where p.id = ${sql.ref(ref)})`;
}

export interface PractitionerCard {
  id: string;
  name: string;
  role: string;
  email: string;
  organisationId: string;
  organisation: string;
  teamId: string;
  team: string;
}

/** Kysely: who the practitioner `practitioner` (a column or an SQL expression) names is, with their organisation and team, as one value (null when none). */
export function practitionerCardOf(practitioner: string | RawBuilder<unknown>): RawBuilder<PractitionerCard | null> {
  const id = typeof practitioner === 'string' ? sql.ref(practitioner) : practitioner;
  return sql<PractitionerCard | null>`(select json_build_object('id', p.id, 'name', p.given_name || ' ' || p.family_name, 'role', p.role, 'email', p.email,
      'organisationId', p.organisation_id, 'organisation', o.name, 'teamId', p.team_id, 'team', t.name)
    from practitioners p join organisations o on o.id = p.organisation_id join teams t on t.id = p.team_id where p.id = ${id})`;
}

/** Kysely: the phone number of the organisation whose id is in column `ref`. */
export function organisationPhoneOf(ref: string): RawBuilder<string> {
  return sql<string>`(select o.phone from organisations o where o.id = ${sql.ref(ref)})`;
}

/** The services of these organisations, by name (for a person to choose one they use). */
export async function servicesOfOrganisations(
  db: Db,
  organisationIds: readonly string[],
): Promise<Array<{ id: string; name: string; organisationId: string }>> {
  if (organisationIds.length === 0) return [];
  const rows = await db
    .selectFrom('services')
    .select(['id', 'name', 'organisation_id'])
    .where('organisation_id', 'in', [...organisationIds])
    .orderBy('name')
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, organisationId: r.organisation_id }));
}

/** Every practitioner with their organisation's name, by organisation then family name (at most `limit`). */
export async function practitionersWithOrganisation(
  db: Db,
  limit: number,
): Promise<Array<{ id: string; given_name: string; family_name: string; role: string; organisation: string }>> {
  return db
    .selectFrom('practitioners as p')
    .innerJoin('organisations as o', 'o.id', 'p.organisation_id')
    .select(['p.id', 'p.given_name', 'p.family_name', 'p.role', 'o.name as organisation'])
    .orderBy('o.name')
    .orderBy('p.family_name')
    .limit(limit)
    .execute();
}
