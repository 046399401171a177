// The FHIR module's earlier versions of resources, for _history and vread: each version a FHIR
// write made (and, before an update, the version it replaces) kept as the row Joinery's tables
// gave for it then, with the stored copy of what was sent beside it. A version is personal data
// like the resource: it is shown only through the access decision as it stands when it is read
// (history.ts), never as it stood when the version was made.
import { sql, type Kysely, type Migration } from 'kysely';

export const historyMigrations: Record<string, Migration> = {
  '0142_fhir_history': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table fhir_history (
          resource_type text not null,
          resource_id text not null,
          version_id integer not null,
          last_updated timestamptz,
          -- The person the version is about (null for the network's own resources).
          person_id text,
          -- The row as the resource's definition selected it (dates tagged, see history.ts).
          row jsonb not null,
          -- The stored copy of what was sent, as it was for this version, and its sender's organisation.
          copy jsonb,
          copy_organisation_id text,
          kept_at timestamptz not null default now(),
          primary key (resource_type, resource_id, version_id)
        );
        create index fhir_history_updated on fhir_history(resource_type, last_updated);
        create index fhir_history_person on fhir_history(person_id) where person_id is not null;
      `.execute(db);
    },
  },
};
