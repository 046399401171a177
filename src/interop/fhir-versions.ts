// FHIR version stamps: every resource the FHIR API serves carries a version and a last-updated
// moment, kept in fhir_meta (a row only once a resource has been written through the API; before
// that it is version 1). The FHIR module's searches join the stamps in their one statement through
// fhirVersionJoinSql; its writes bump them here. Imports nothing of the project: the FHIR module's
// resource definitions build their SQL from this as their files load.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * SQL text: a left join of the version stamp, as `alias`, of the resource whose type is
 * `typeExpr` and id `idExpr` (SQL expressions); alias.version_id and alias.last_updated are null
 * when the resource has no stamp yet.
 */
export const fhirVersionJoinSql = (alias: string, typeExpr: string, idExpr: string): string =>
  `left join fhir_meta ${alias} on ${alias}.resource_type = ${typeExpr} and ${alias}.resource_id = ${idExpr}`;

/** The resource's next version (2 when it had none: the unstamped version is 1), stamped now; returns it. */
export async function bumpFhirVersion(db: Kysely<Database>, type: string, id: string): Promise<number> {
  const row = await sql<{ version_id: number }>`
    insert into fhir_meta (resource_type, resource_id, version_id, last_updated) values (${type}, ${id}, 2, now())
    on conflict (resource_type, resource_id) do update set version_id = fhir_meta.version_id + 1, last_updated = now()
    returning version_id`.execute(db);
  return Number(row.rows[0]!.version_id);
}

/** A new resource's first version, stamped with when it was made (kept if it already has one). */
export async function stampFhirCreated(db: Kysely<Database>, type: string, id: string): Promise<void> {
  await sql`insert into fhir_meta (resource_type, resource_id, version_id, last_updated) values (${type}, ${id}, 1, now())
    on conflict (resource_type, resource_id) do nothing`.execute(db);
}
