// The network's organisations, practitioners and services as tables other modules select from in
// their own single statement (the FHIR API's searches, paged, included and exported, read them
// with their version stamps in one query). Each offers some of its table's columns, typed from
// the table itself. Imports nothing of the project at run time (the tables' types only): the FHIR
// module's resource definitions embed these as their files load.
import { sql, type Selectable } from 'kysely';
import type { NetworkTables } from './schema.ts';

/** A row of one of the network's tables, with the columns a fragment offers. */
type Columns<T extends keyof NetworkTables, K extends keyof Selectable<NetworkTables[T]>> = Pick<Selectable<NetworkTables[T]>, K>;

/** Kysely: every member organisation, as a table: id, name, kind, source_code, locality_id, postcode, phone, email, website. */
export const organisationsTable = sql<
  Columns<'organisations', 'id' | 'name' | 'kind' | 'source_code' | 'locality_id' | 'postcode' | 'phone' | 'email' | 'website'>
>`(select o.id, o.name, o.kind, o.source_code, o.locality_id, o.postcode, o.phone, o.email, o.website from organisations o)`;

/** Kysely: every practitioner (those no longer active too), as a table: id, organisation_id, team_id, given_name, family_name, role, email, active. */
export const practitionersTable = sql<
  Columns<'practitioners', 'id' | 'organisation_id' | 'team_id' | 'given_name' | 'family_name' | 'role' | 'email' | 'active'>
>`(select p.id, p.organisation_id, p.team_id, p.given_name, p.family_name, p.role, p.email, p.active from practitioners p)`;

/**
 * Kysely: every service as its organisation lists it, as a table: id, organisation_id, name,
 * description, needs, eligibility, min_age, max_age, postcode.
 */
export const servicesTable = sql<
  Columns<'services', 'id' | 'organisation_id' | 'name' | 'description' | 'needs' | 'eligibility' | 'min_age' | 'max_age' | 'postcode'>
>`(select s.id, s.organisation_id, s.name, s.description, s.needs, s.eligibility, s.min_age, s.max_age, s.postcode from services s)`;
