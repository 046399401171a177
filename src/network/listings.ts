// The network's organisations, teams and services as the service directory lists and edits them.
// The directory checks what is listed (the Open Referral UK shape, its own details tables); the
// rows themselves are the network's, so their reads and writes are here. Writes run in the
// caller's transaction (pass it as `db`).
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface OrganisationRecord {
  id: string;
  name: string;
  kind: string;
  sourceCode: string;
  email: string;
  website: string;
  phone: string;
  postcode: string;
}

/** One organisation with its contact details, or undefined. */
export async function organisationRecord(db: Db, id: string): Promise<OrganisationRecord | undefined> {
  return (await organisationRecordsByIds(db, [id])).get(id);
}

/** The organisations with these ids and their contact details (unknown ids are left out), by id. */
export async function organisationRecordsByIds(db: Db, ids: readonly string[]): Promise<Map<string, OrganisationRecord>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('organisations')
    .select(['id', 'name', 'kind', 'source_code', 'email', 'website', 'phone', 'postcode'])
    .where('id', 'in', [...new Set(ids)])
    .execute();
  return new Map(
    rows.map((row) => [
      row.id,
      {
        id: row.id,
        name: row.name,
        kind: row.kind,
        sourceCode: row.source_code,
        email: row.email,
        website: row.website,
        phone: row.phone,
        postcode: row.postcode,
      },
    ]),
  );
}

/** Every organisation with its contact details and locality, by id. */
export async function organisationRecords(db: Db): Promise<Array<OrganisationRecord & { localityId: string | null }>> {
  const rows = await db
    .selectFrom('organisations')
    .select(['id', 'name', 'kind', 'source_code', 'email', 'website', 'phone', 'postcode', 'locality_id'])
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    sourceCode: r.source_code,
    email: r.email,
    website: r.website,
    phone: r.phone,
    postcode: r.postcode,
    localityId: r.locality_id,
  }));
}

/** The id of the organisation whose records arrive under this source code, or undefined. */
export async function organisationWithSourceCode(db: Db, sourceCode: string): Promise<string | undefined> {
  return (await db.selectFrom('organisations').select('id').where('source_code', '=', sourceCode).executeTakeFirst())?.id;
}

/** Every organisation's id. */
export async function organisationIds(db: Db): Promise<string[]> {
  return (await db.selectFrom('organisations').select('id').execute()).map((o) => o.id);
}

export interface NewOrganisation {
  id: string;
  name: string;
  kind: string;
  sourceCode: string;
  localityId: string | null;
  email: string;
  website: string;
  phone: string;
  postcode: string;
}

export async function addOrganisation(db: Db, o: NewOrganisation): Promise<void> {
  await db
    .insertInto('organisations')
    .values({
      id: o.id,
      name: o.name,
      kind: o.kind,
      source_code: o.sourceCode,
      locality_id: o.localityId,
      email: o.email,
      website: o.website,
      phone: o.phone,
      postcode: o.postcode,
    })
    .execute();
}

/** Changes an organisation's name and contact details (its code and kind stay: feeds and the access rules depend on them). */
export async function changeOrganisationContact(
  db: Db,
  id: string,
  fields: Partial<Pick<OrganisationRecord, 'name' | 'email' | 'website' | 'phone' | 'postcode'>>,
): Promise<void> {
  await db.updateTable('organisations').set(fields).where('id', '=', id).execute();
}

/** Each organisation's first team (by id), for the organisations that have one. */
export async function firstTeams(db: Db, organisationIds?: readonly string[]): Promise<Map<string, string>> {
  if (organisationIds && organisationIds.length === 0) return new Map();
  let query = db.selectFrom('teams').select(['id', 'organisation_id']).orderBy('id');
  if (organisationIds) query = query.where('organisation_id', 'in', [...organisationIds]);
  const first = new Map<string, string>();
  for (const t of await query.execute()) if (!first.has(t.organisation_id)) first.set(t.organisation_id, t.id);
  return first;
}

/** Adds a team (nothing if one with this id exists already). */
export async function addTeam(db: Db, team: { id: string; organisationId: string; name: string }): Promise<void> {
  await db
    .insertInto('teams')
    .values({ id: team.id, organisation_id: team.organisationId, name: team.name })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

export interface ServiceRecord {
  id: string;
  organisationId: string;
  teamId: string;
  name: string;
  description: string;
  needs: string[];
  eligibility: string;
  postcode: string;
  acceptsSelfReferral: boolean;
  lastCheckedAt: Date | null;
  minAge: number | null;
  maxAge: number | null;
  acknowledgeWithinDays: number;
  firstContactWithinDays: number;
  capacityPerMonth: number;
  localityIds: string[];
}

/** The services with these ids (all services when none are given), by id (in id order). */
export async function serviceRecords(db: Db, ids?: readonly string[]): Promise<Map<string, ServiceRecord>> {
  if (ids && ids.length === 0) return new Map();
  let query = db
    .selectFrom('services')
    .select([
      'id',
      'organisation_id',
      'team_id',
      'name',
      'description',
      'needs',
      'eligibility',
      'postcode',
      'accepts_self_referral',
      'last_checked_at',
      'min_age',
      'max_age',
      'acknowledge_within_days',
      'first_contact_within_days',
      'capacity_per_month',
      'locality_ids',
    ])
    .orderBy('id');
  if (ids) query = query.where('id', 'in', [...ids]);
  const rows = await query.execute();
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        organisationId: r.organisation_id,
        teamId: r.team_id,
        name: r.name,
        description: r.description,
        needs: r.needs,
        eligibility: r.eligibility,
        postcode: r.postcode,
        acceptsSelfReferral: r.accepts_self_referral,
        lastCheckedAt: r.last_checked_at,
        minAge: r.min_age,
        maxAge: r.max_age,
        acknowledgeWithinDays: r.acknowledge_within_days,
        firstContactWithinDays: r.first_contact_within_days,
        capacityPerMonth: r.capacity_per_month,
        localityIds: r.locality_ids,
      },
    ]),
  );
}

export interface ServiceFields {
  organisationId: string;
  teamId: string;
  name: string;
  description: string;
  needs: string[];
  eligibility: string;
  minAge: number | null;
  maxAge: number | null;
  postcode: string;
  acceptsSelfReferral?: boolean;
  /** When, and by which practitioner, the listing was last confirmed right. */
  lastCheckedAt?: Date;
  lastCheckedBy?: string | null;
}

const serviceColumns = (f: Partial<ServiceFields>) => ({
  ...(f.organisationId !== undefined ? { organisation_id: f.organisationId } : {}),
  ...(f.teamId !== undefined ? { team_id: f.teamId } : {}),
  ...(f.name !== undefined ? { name: f.name } : {}),
  ...(f.description !== undefined ? { description: f.description } : {}),
  ...(f.needs !== undefined ? { needs: f.needs } : {}),
  ...(f.eligibility !== undefined ? { eligibility: f.eligibility } : {}),
  ...(f.minAge !== undefined ? { min_age: f.minAge } : {}),
  ...(f.maxAge !== undefined ? { max_age: f.maxAge } : {}),
  ...(f.postcode !== undefined ? { postcode: f.postcode } : {}),
  ...(f.acceptsSelfReferral !== undefined ? { accepts_self_referral: f.acceptsSelfReferral } : {}),
  ...(f.lastCheckedAt !== undefined ? { last_checked_at: f.lastCheckedAt } : {}),
  ...(f.lastCheckedBy !== undefined ? { last_checked_by: f.lastCheckedBy } : {}),
});

/** Adds a service; referral clocks and capacity start at the defaults (they are not the directory's to set). */
/** How a service promises to respond and where it works; a new listing's defaults until its organisation says. */
export interface ServiceTerms {
  localityIds: string[];
  acknowledgeWithinDays: number;
  firstContactWithinDays: number;
  capacityPerMonth: number;
}

const NEW_SERVICE_TERMS: ServiceTerms = { localityIds: [], acknowledgeWithinDays: 2, firstContactWithinDays: 10, capacityPerMonth: 0 };

export async function addService(db: Db, id: string, f: ServiceFields, terms: ServiceTerms = NEW_SERVICE_TERMS): Promise<void> {
  await db
    .insertInto('services')
    .values({
      id,
      organisation_id: f.organisationId,
      team_id: f.teamId,
      name: f.name,
      description: f.description,
      needs: f.needs,
      eligibility: f.eligibility,
      min_age: f.minAge,
      max_age: f.maxAge,
      locality_ids: terms.localityIds,
      postcode: f.postcode,
      acknowledge_within_days: terms.acknowledgeWithinDays,
      first_contact_within_days: terms.firstContactWithinDays,
      capacity_per_month: terms.capacityPerMonth,
      ...(f.acceptsSelfReferral !== undefined ? { accepts_self_referral: f.acceptsSelfReferral } : {}),
    })
    .execute();
}

/** Changes what is listed about a service. */
export async function changeService(db: Db, id: string, f: Partial<ServiceFields>): Promise<void> {
  await db.updateTable('services').set(serviceColumns(f)).where('id', '=', id).execute();
}

/** An organisation's services not confirmed since `before` (or never), longest unconfirmed first. */
export async function servicesUncheckedSince(
  db: Db,
  organisationId: string,
  before: Date,
): Promise<Array<{ id: string; name: string; lastCheckedAt: Date | null }>> {
  const rows = await db
    .selectFrom('services')
    .select(['id', 'name', 'last_checked_at'])
    .where('organisation_id', '=', organisationId)
    .where((eb) => eb.or([eb('last_checked_at', 'is', null), eb('last_checked_at', '<', before)]))
    .orderBy('last_checked_at')
    .orderBy('name')
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, lastCheckedAt: r.last_checked_at }));
}

/** An organisation's services' ids, by name. */
export async function serviceIdsOfOrganisation(db: Db, organisationId: string): Promise<string[]> {
  return (
    await db.selectFrom('services').select('id').where('organisation_id', '=', organisationId).orderBy('name').orderBy('id').execute()
  ).map((s) => s.id);
}

/** A page of organisations whose names contain every word (case aside), by name, and how many match in all. */
export async function organisationsNamed(
  db: Db,
  words: readonly string[],
  page: { page: number; perPage: number },
): Promise<{ ids: string[]; total: number }> {
  const where =
    words.length === 0
      ? sql`true`
      : sql.join(
          words.map((w) => sql`o.name ilike ${`%${w.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}`),
          sql` and `,
        );
  const rows = (
    await sql<{ id: string; total: number }>`
    select o.id, count(*) over () as total from organisations o where ${where}
    order by o.name, o.id limit ${page.perPage} offset ${(page.page - 1) * page.perPage}`.execute(db)
  ).rows;
  const total =
    rows[0]?.total ?? Number((await sql<{ n: number }>`select count(*) as n from organisations o where ${where}`.execute(db)).rows[0]!.n);
  return { ids: rows.map((r) => r.id), total: Number(total) };
}
