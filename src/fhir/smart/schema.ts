// SMART App Launch's tables (the fhir module's, as SMART is how apps reach its API): SMART App Launch clients an administrator registered, the launch
// ids Joinery mints for a user and a person (single use, short-lived), the grants a user approved
// (with their one-time authorisation code and its PKCE challenge) and the tokens issued under
// them. Codes, launch ids, client secrets and tokens are stored only as SHA-256 hashes: a copy of
// the database yields nothing that works.
import { sql, type Kysely, type Migration } from 'kysely';

export interface SmartTables {
  smart_clients: {
    /** The client_id the app sends. */
    id: string;
    name: string;
    /** SHA-256 of a confidential client's secret; null for a public client (PKCE alone). */
    secret_hash: string | null;
    /** Exact redirect URIs: anything else is refused without redirecting. */
    redirect_uris: string[];
    /** Where an EHR launch from Joinery opens the app (with iss and launch); null: standalone only. */
    launch_uri: string | null;
    /** The most this app may ever be granted (SMART scopes, space-separated). */
    scope: string;
    created_at: Date;
    created_by: string | null;
    disabled_at: Date | null;
  };
  smart_launches: {
    id_hash: string;
    client_id: string;
    user_id: string;
    person_id: string;
    created_at: Date;
    expires_at: Date;
    used_at: Date | null;
  };
  smart_grants: {
    id: string;
    client_id: string;
    user_id: string;
    /** The launch patient: patient/ scopes reach this person only. */
    person_id: string | null;
    scope: string;
    redirect_uri: string;
    code_hash: string;
    code_challenge: string;
    code_expires_at: Date;
    code_used_at: Date | null;
    /** When refresh tokens issued under this grant stop working (null: none are issued). */
    refresh_until: Date | null;
    created_at: Date;
    revoked_at: Date | null;
  };
  smart_tokens: {
    token_hash: string;
    grant_id: string;
    /** access | refresh */
    kind: string;
    expires_at: Date;
    /** A refresh token is used once: the next one replaces it. */
    used_at: Date | null;
    revoked_at: Date | null;
    last_used_at: Date | null;
  };
}

export const smartMigrations: Record<string, Migration> = {
  '0147_smart_app_launch': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table smart_clients (
          id text primary key,
          name text not null,
          secret_hash text,
          redirect_uris text[] not null,
          launch_uri text,
          scope text not null,
          created_at timestamptz not null default now(),
          created_by text,
          disabled_at timestamptz
        );
        create table smart_launches (
          id_hash text primary key,
          client_id text not null references smart_clients(id),
          user_id text not null,
          person_id text not null,
          created_at timestamptz not null default now(),
          expires_at timestamptz not null,
          used_at timestamptz
        );
        create table smart_grants (
          id text primary key,
          client_id text not null references smart_clients(id),
          user_id text not null,
          person_id text,
          scope text not null,
          redirect_uri text not null,
          code_hash text not null unique,
          code_challenge text not null,
          code_expires_at timestamptz not null,
          code_used_at timestamptz,
          refresh_until timestamptz,
          created_at timestamptz not null default now(),
          revoked_at timestamptz
        );
        create index smart_grants_user on smart_grants(user_id);
        create table smart_tokens (
          token_hash text primary key,
          grant_id text not null references smart_grants(id),
          kind text not null check (kind in ('access', 'refresh')),
          expires_at timestamptz not null,
          used_at timestamptz,
          revoked_at timestamptz,
          last_used_at timestamptz
        );
        create index smart_tokens_grant on smart_tokens(grant_id);
      `.execute(db);
    },
  },
};
