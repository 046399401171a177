// The directory's listings as tables and fragments other modules embed in their own single
// statement (the FHIR API's HealthcareService and Location, searched, paged and exported with
// their version stamps in one query). Imports nothing of the project: the FHIR module's resource
// definitions embed these as their files load.
import { sql, type RawBuilder } from 'kysely';

/** Kysely: what the directory adds to a service's listing, as a table: service_id, status, email, url. */
export const serviceListingDetailsTable = sql<{
  service_id: string;
  status: string;
  email: string | null;
  url: string | null;
}>`(select d.service_id, d.status, d.email, d.url from directory_service_details d)`;

/** Kysely: the ids of the locations the service in `serviceExpr` is offered at, in id order (null when none), for a select list. */
export function serviceLocationIdsOf(serviceExpr: string): RawBuilder<string[] | null> {
  return sql<
    string[] | null
  >`(select array_agg(sl.location_id order by sl.location_id) from directory_service_at_locations sl where sl.service_id = ${sql.raw(serviceExpr)})`;
}

/**
 * Kysely: every location, with its first street address (by sort, then id; empty when it has
 * none), as a table: id, organisation_id, name, description, latitude, longitude, address_1,
 * city, region, postal_code.
 */
export const locationsWithAddressTable = sql`(select x.id, x.organisation_id, x.name, x.description, x.latitude, x.longitude,
    a.address_1, a.city, a.region, a.postal_code
  from directory_locations x left join lateral (select * from directory_addresses d where d.location_id = x.id order by d.sort, d.id limit 1) a on true)`;
