// Which organisations serve which localities, from the services they list: the place module's
// locality care organisations start from it (the organisations serving a locality are its partners).
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface OrganisationServing {
  organisationId: string;
  /** The localities its services name; null when one of its services lists none (it serves the whole place). */
  localityIds: string[] | null;
}

/** Every organisation with at least one service, and the localities its services cover. */
export async function organisationsServingLocalities(db: Db): Promise<OrganisationServing[]> {
  const rows = await db.selectFrom('services').select(['organisation_id', 'locality_ids']).orderBy('organisation_id').execute();
  const byOrganisation = new Map<string, Set<string> | null>();
  for (const r of rows) {
    const seen = byOrganisation.get(r.organisation_id);
    if (seen === null) continue;
    if (r.locality_ids.length === 0) {
      byOrganisation.set(r.organisation_id, null);
      continue;
    }
    const set = seen ?? new Set<string>();
    for (const l of r.locality_ids) set.add(l);
    byOrganisation.set(r.organisation_id, set);
  }
  return [...byOrganisation].map(([organisationId, set]) => ({ organisationId, localityIds: set === null ? null : [...set].sort() }));
}
