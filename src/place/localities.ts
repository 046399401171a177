// Locality care organisations (issue 22): each locality has a lead organisation, accountable for
// its population's care, and partner organisations working with it. Who leads differs from
// locality to locality (the council in one, a GP practice or an NHS trust in another, a housing
// association or a charity in a third): the software assumes no answer. Organisations are the
// network module's; they are named through its front door.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { allOrganisations, organisationsServingLocalities, type OrganisationRef } from '../network/index.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface LocalityLeadership {
  localityId: string;
  locality: string;
  lead: OrganisationRef | null;
  partners: OrganisationRef[];
  since: string | null;
}

/** Every locality, by name, with its lead organisation and partners (by name). */
export async function localityLeadership(db: Db): Promise<LocalityLeadership[]> {
  const [localities, links, organisations] = await Promise.all([
    db.selectFrom('localities').select(['id', 'name']).orderBy('name').execute(),
    db.selectFrom('locality_organisations').select(['locality_id', 'organisation_id', 'role', 'since']).execute(),
    allOrganisations(db),
  ]);
  const byId = new Map(organisations.map((o) => [o.id, o]));
  return localities.map((l) => {
    const mine = links.filter((k) => k.locality_id === l.id);
    const lead = mine.find((k) => k.role === 'lead');
    return {
      localityId: l.id,
      locality: l.name,
      lead: lead ? (byId.get(lead.organisation_id) ?? null) : null,
      partners: mine
        .filter((k) => k.role === 'partner')
        .map((k) => byId.get(k.organisation_id))
        .filter((o): o is OrganisationRef => o !== undefined)
        .sort((a, b) => a.name.localeCompare(b.name)),
      since: lead ? String(lead.since).slice(0, 10) : null,
    };
  });
}

/** The localities an organisation leads or is a partner in (what "your locality" means for its managers). */
export async function localitiesOfOrganisation(
  db: Db,
  organisationId: string,
): Promise<Array<{ localityId: string; role: 'lead' | 'partner' }>> {
  const rows = await db
    .selectFrom('locality_organisations')
    .select(['locality_id', 'role'])
    .where('organisation_id', '=', organisationId)
    .orderBy('locality_id')
    .execute();
  return rows.map((r) => ({ localityId: r.locality_id, role: r.role }));
}

/** Which kinds of organisation lead, in turn: localities differ, as places do. */
export const LEAD_KINDS_IN_TURN = ['council_adult_social_care', 'gp_practice', 'housing_association', 'hospital_trust', 'charity'] as const;

/**
 * Demo data: each locality's partners are the organisations running a service there (a service
 * listing no localities serves them all); its lead is
 * the first of them of the next kind in LEAD_KINDS_IN_TURN (so the first locality is led by the
 * council, the second by a GP practice, and so on). Idempotent: a place that has any is left alone.
 */
export async function seedLocalityOrganisations(trx: Db, since = '2026-04-01'): Promise<number> {
  if (await trx.selectFrom('locality_organisations').select('locality_id').limit(1).executeTakeFirst()) return 0;
  const [localities, serving, organisations] = await Promise.all([
    trx.selectFrom('localities').select(['id', 'name']).orderBy('name').execute(),
    organisationsServingLocalities(trx),
    allOrganisations(trx),
  ]);
  const kindOf = new Map(organisations.map((o) => [o.id, o.kind]));
  const rows: Array<Database['locality_organisations']> = [];
  localities.forEach((l, i) => {
    // An organisation with a service listing no localities serves the whole place.
    const here = serving
      .filter((o) => o.localityIds === null || o.localityIds.includes(l.id))
      .map((o) => o.organisationId)
      .sort();
    if (here.length === 0) return;
    const turn = LEAD_KINDS_IN_TURN.length;
    let lead: string | undefined;
    for (let k = 0; k < turn && !lead; k++) lead = here.find((o) => kindOf.get(o) === LEAD_KINDS_IN_TURN[(i + k) % turn]);
    lead ??= here[0]!;
    for (const o of here) rows.push({ locality_id: l.id, organisation_id: o, role: o === lead ? 'lead' : 'partner', since });
  });
  if (rows.length > 0) await trx.insertInto('locality_organisations').values(rows).execute();
  return rows.length;
}
