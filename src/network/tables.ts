// The network's organisations, practitioners and services as tables other modules select from in
// their own single statement (the FHIR API's searches, paged, included and exported, read them
// with their version stamps in one query). Each lists the columns it offers. Imports nothing of
// the project: the FHIR module's resource definitions embed these as their files load.
import { sql } from 'kysely';

/** Kysely: every member organisation, as a table: id, name, kind, source_code, locality_id, postcode, phone, email, website. */
export const organisationsTable = sql<{
  id: string;
  name: string;
  kind: string;
  source_code: string;
  locality_id: string | null;
  postcode: string;
  phone: string;
  email: string;
  website: string;
}>`(select o.id, o.name, o.kind, o.source_code, o.locality_id, o.postcode, o.phone, o.email, o.website from organisations o)`;

/** Kysely: every practitioner (those no longer active too), as a table: id, organisation_id, team_id, given_name, family_name, role, email, active. */
export const practitionersTable = sql<{
  id: string;
  organisation_id: string;
  team_id: string;
  given_name: string;
  family_name: string;
  role: string;
  email: string;
  active: boolean;
}>`(select p.id, p.organisation_id, p.team_id, p.given_name, p.family_name, p.role, p.email, p.active from practitioners p)`;

/**
 * Kysely: every service as its organisation lists it, as a table: id, organisation_id, name,
 * description, needs, eligibility, min_age, max_age, postcode.
 */
export const servicesTable = sql<{
  id: string;
  organisation_id: string;
  name: string;
  description: string;
  needs: string[];
  eligibility: string;
  min_age: number | null;
  max_age: number | null;
  postcode: string;
}>`(select s.id, s.organisation_id, s.name, s.description, s.needs, s.eligibility, s.min_age, s.max_age, s.postcode from services s)`;
