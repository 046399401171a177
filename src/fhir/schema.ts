// The FHIR module's own tables: each resource received through the API kept as it was sent
// (beside the domain tables, which stay the truth for what Joinery models), so elements Joinery
// does not model come back on read; and the identifiers of those resources, with their systems,
// so foreign identifiers can be searched. A stored copy about a person is personal data: it is
// read only through the access decision, under the category it was filed under.
import { sql, type Kysely, type Migration } from 'kysely';
import { historyMigrations } from './history-schema.ts';
import { bulkMigrations, type BulkTables } from './bulk-schema.ts';

export interface FhirTables extends BulkTables {
  fhir_resources: {
    resource_type: string;
    resource_id: string;
    /** The person the resource is about (null for the network's own resources). */
    person_id: string | null;
    /** The access decision's category for the stored copy (demographics for a Patient). */
    category: string;
    /** The resource as received, less id and meta (Joinery's own). */
    content: unknown;
    received_at: Date;
    received_by: string | null;
    /** True when the row is the resource itself (a clinical type Joinery does not model), not a copy beside a domain row. */
    whole: boolean;
    /**
     * The organisation that sent the resource when no signed-in writer says it (a whole resource's
     * sender; an agency feed's Patient): an own-organisation decision shows only its own.
     */
    organisation_id: string | null;
    /** A whole resource's codes as system|code ('' system for none), for token searches. */
    codes: string[] | null;
    /** A whole resource's clinical date or period (end null and start set: still going on). */
    clinical_start: Date | null;
    clinical_end: Date | null;
  };
  fhir_identifiers: {
    resource_type: string;
    resource_id: string;
    /** '' for an identifier with no system. */
    system: string;
    value: string;
  };
}

export const fhirMigrations: Record<string, Migration> = {
  // Earlier versions of resources, for _history (history-schema.ts).
  ...historyMigrations,
  '0110_fhir_resources': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table fhir_resources (
          resource_type text not null,
          resource_id text not null,
          person_id text,
          category text not null,
          content jsonb not null,
          received_at timestamptz not null default now(),
          received_by text,
          primary key (resource_type, resource_id)
        );
        create index fhir_resources_person on fhir_resources(person_id) where person_id is not null;
        create table fhir_identifiers (
          resource_type text not null,
          resource_id text not null,
          system text not null,
          value text not null,
          foreign key (resource_type, resource_id) references fhir_resources(resource_type, resource_id) on delete cascade
        );
        create index fhir_identifiers_value on fhir_identifiers(resource_type, value, system);
        create index fhir_identifiers_system on fhir_identifiers(resource_type, system);
        create index fhir_identifiers_resource on fhir_identifiers(resource_type, resource_id);
      `.execute(db);
    },
  },
  // Clinical resources Joinery does not model (Condition, Encounter, Immunization, ...) are kept
  // whole in fhir_resources, against the person, with what their searches need beside them.
  '0111_fhir_clinical': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table fhir_resources add column whole boolean not null default false;
        alter table fhir_resources add column organisation_id text;
        alter table fhir_resources add column codes text[];
        alter table fhir_resources add column clinical_start timestamptz;
        alter table fhir_resources add column clinical_end timestamptz;
        create index fhir_resources_whole on fhir_resources(resource_type, person_id) where whole;
      `.execute(db);
    },
  },
  // Bulk Data $export jobs and their files (bulk-schema.ts).
  ...bulkMigrations,
};
