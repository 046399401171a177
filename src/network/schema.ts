// The care network's organisations, teams, practitioners and services (Open Referral UK shape
// is produced from these by the directory module).
import { sql, type ColumnType, type Generated, type Kysely, type Migration } from 'kysely';
import { SELF_REFERRAL_SERVICE_NAMES } from './self-referral-services.ts';

export interface NetworkTables {
  organisations: {
    id: string;
    name: string;
    kind: string;
    source_code: string;
    locality_id: string | null;
    postcode: string;
    phone: string;
    email: string;
    website: string;
  };
  teams: {
    id: string;
    /** The organisation hosting the team; an integrated team's members may come from any organisation. */
    organisation_id: string;
    name: string;
    /** Migration 0120: members from several organisations, kept as memberships (consent module). */
    integrated: Generated<boolean>;
    /** Migration 0120: where the team is co-located, if it is (e.g. "Civic Centre hub"). */
    base: Generated<string | null>;
  };
  practitioners: {
    id: string;
    organisation_id: string;
    team_id: string;
    given_name: string;
    family_name: string;
    role: string;
    email: string;
    /** False once they no longer work in the network (kept, as referrals and plans name them). */
    active: Generated<boolean>;
  };
  services: {
    id: string;
    organisation_id: string;
    team_id: string;
    name: string;
    description: string;
    needs: string[];
    eligibility: string;
    min_age: number | null;
    max_age: number | null;
    locality_ids: string[];
    postcode: string;
    acknowledge_within_days: number;
    first_contact_within_days: number;
    capacity_per_month: number;
    /** Added by the directory's migration 0021: anyone may ask for this service themselves. */
    accepts_self_referral: Generated<boolean>;
    /** When someone at the organisation last confirmed the listing is right (directory migration 0021). */
    last_checked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
    last_checked_by: string | null;
  };
}

export const networkMigrations: Record<string, Migration> = {
  '0002_network': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table organisations (
          id text primary key,
          name text not null,
          kind text not null,
          source_code text not null unique,
          locality_id text references localities(id),
          postcode text not null,
          phone text not null,
          email text not null,
          website text not null
        );
        create table teams (
          id text primary key,
          organisation_id text not null references organisations(id),
          name text not null
        );
        create index teams_organisation on teams(organisation_id);
        create table practitioners (
          id text primary key,
          organisation_id text not null references organisations(id),
          team_id text not null references teams(id),
          given_name text not null,
          family_name text not null,
          role text not null,
          email text not null
        );
        create index practitioners_organisation on practitioners(organisation_id);
        create table services (
          id text primary key,
          organisation_id text not null references organisations(id),
          team_id text not null references teams(id),
          name text not null,
          description text not null,
          needs text[] not null,
          eligibility text not null,
          min_age integer,
          max_age integer,
          locality_ids text[] not null,
          postcode text not null,
          acknowledge_within_days integer not null,
          first_contact_within_days integer not null,
          capacity_per_month integer not null
        );
        create index services_organisation on services(organisation_id);
      `.execute(db);
    },
  },
  '0007_network_practitioner_active': {
    async up(db: Kysely<unknown>) {
      await sql`alter table practitioners add column active boolean not null default true`.execute(db);
    },
  },
  // Integrated teams (issue 22): a team of members from several organisations, and where it is based.
  '0120_network_integrated_teams': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table teams add column integrated boolean not null default false;
        alter table teams add column base text;
      `.execute(db);
    },
  },
  /**
   * The network's services table holds what a resident and the organisation running a service
   * keep up to date about access: whether people may refer themselves, and when the
   * organisation last confirmed the listing is right (and who did). Registered by the directory,
   * whose pages keep them, until it moved here with the table it changes (same name and SQL, so
   * a database that ran it does not run it again).
   */
  '0021_directory_self_referral_and_checks': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table services
          add column accepts_self_referral boolean not null default false,
          add column last_checked_at timestamptz,
          add column last_checked_by text references practitioners(id) on delete set null;
        create index services_last_checked on services(organisation_id, last_checked_at);
      `.execute(db);
      await sql`update services set accepts_self_referral = true where name in (${sql.join([...SELF_REFERRAL_SERVICE_NAMES])})`.execute(db);
    },
  },
};
