// Users, their roles, database-backed sessions, and one-time links: to set a password (from an
// administrator), to reset one (asked for by the account's holder), and to create a resident's account.
import { sql, type Generated, type Kysely, type Migration } from 'kysely';

export const roles = ['citizen', 'practitioner', 'manager', 'admin', 'data_quality', 'privacy_officer'] as const;
export type Role = (typeof roles)[number];

export interface AuthTables {
  users: {
    id: string;
    username: string;
    display_name: string;
    role: Role;
    /** argon2id hash; null for accounts that only sign in through OIDC. */
    password_hash: string | null;
    oidc_subject: string | null;
    /** The person this citizen account belongs to. */
    person_id: string | null;
    practitioner_id: string | null;
    organisation_id: string | null;
    failed_sign_ins: Generated<number>;
    locked_until: Date | null;
    created_at: Generated<Date>;
    last_sign_in_at: Date | null;
    /** Set while an administrator has disabled the account: no sign-in, no session, no token. */
    disabled_at: Generated<Date | null>;
    /** The user id of the administrator who disabled it (null from the command line). */
    disabled_by: Generated<string | null>;
    /** Why, in the administrator's words: shown to administrators only, never audited. */
    disabled_reason: Generated<string | null>;
    /** Where notifications and account emails go; set by the account holder (null: none given). */
    email: Generated<string | null>;
    /** A mobile number for text messages, kept as +44… (E.164); null: none given. */
    mobile: Generated<string | null>;
  };
  /**
   * One-time links an administrator gives someone to set their own password (a new account, or
   * one whose password is forgotten). Only a SHA-256 of the link's token is kept; the link itself
   * is shown once, to the administrator who made it.
   */
  password_links: {
    token_hash: string;
    /** The account the link sets a password for; null for a resident sign-up link (no account yet). */
    user_id: string | null;
    purpose: Generated<LinkPurpose>;
    /** The person a resident sign-up link makes an account for, chosen by the module that issued it. */
    person_id: Generated<string | null>;
    created_at: Generated<Date>;
    /** The administrator who made it (null from the command line). */
    created_by: string | null;
    expires_at: Date;
    /** Set when the link was used, or when a newer link for the account replaced it. */
    used_at: Date | null;
  };
  sessions: {
    /** SHA-256 of the cookie token: a stolen database does not yield live sessions. */
    token_hash: string;
    user_id: string;
    created_at: Generated<Date>;
    expires_at: Date;
    last_seen_at: Generated<Date>;
  };
}

/**
 * set_password: an administrator's link (72 hours); reset_password: asked for on the recovery page
 * by whoever knows the account's email address or username (1 hour, sent only to the account's
 * email address); resident_sign_up: creates a resident's account for a person (another module
 * decides which person, and sends it).
 */
export const linkPurposes = ['set_password', 'reset_password', 'resident_sign_up'] as const;
export type LinkPurpose = (typeof linkPurposes)[number];

export const authMigrations: Record<string, Migration> = {
  '0005_auth': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table users (
          id text primary key,
          username text not null unique,
          display_name text not null,
          role text not null check (role in ('citizen', 'practitioner', 'manager', 'admin')),
          password_hash text,
          oidc_subject text unique,
          person_id text references persons(id),
          practitioner_id text references practitioners(id),
          organisation_id text references organisations(id),
          failed_sign_ins integer not null default 0,
          locked_until timestamptz,
          created_at timestamptz not null default now(),
          last_sign_in_at timestamptz
        );
        create table sessions (
          token_hash text primary key,
          user_id text not null references users(id),
          created_at timestamptz not null default now(),
          expires_at timestamptz not null,
          last_seen_at timestamptz not null default now()
        );
        create index sessions_user on sessions(user_id);
        create index sessions_expiry on sessions(expires_at);
      `.execute(db);
    },
  },
  // data_quality: reviews the person index's uncertain matches (linkage module).
  '0011_role_data_quality': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table users drop constraint if exists users_role_check;
        alter table users add constraint users_role_check check (role in ('citizen', 'practitioner', 'manager', 'admin', 'data_quality'));
      `.execute(db);
    },
  },
  // An account can be ended (someone leaves) without deleting it: referrals, plans and the audit
  // trail still name it.
  '0013_auth_account_disabled': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table users add column disabled_at timestamptz;
        alter table users add column disabled_by text references users(id);
        alter table users add column disabled_reason text;
      `.execute(db);
    },
  },
  // Administrators create accounts without ever knowing the password: the person sets it through
  // a one-time link that expires.
  '0014_auth_password_links': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table password_links (
          token_hash text primary key,
          user_id text not null references users(id),
          created_at timestamptz not null default now(),
          created_by text references users(id),
          expires_at timestamptz not null,
          used_at timestamptz
        );
        create index password_links_user on password_links(user_id) where used_at is null;
      `.execute(db);
    },
  },
  // Contact details the account holder gives for notifications and account emails. Not unique:
  // a family may share one address, and an address proves nothing about who signs in.
  '0018_auth_contact_details': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table users add column email text check (email is null or length(email) <= 254);
        alter table users add column mobile text check (mobile is null or mobile ~ '^\\+[1-9][0-9]{7,14}$');
      `.execute(db);
    },
  },
  // Residents recover their own accounts: a reset link asked for by email address, and a sign-up
  // link for a person who has no account yet (so user_id may be empty, with the person instead).
  '0019_auth_password_reset': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table password_links add column purpose text not null default 'set_password'
          check (purpose in ('set_password', 'reset_password', 'resident_sign_up'));
        alter table password_links add column person_id text references persons(id);
        alter table password_links alter column user_id drop not null;
        alter table password_links add constraint password_links_target check (
          case when purpose = 'resident_sign_up' then user_id is null and person_id is not null else user_id is not null and person_id is null end);
        create index password_links_recent_resets on password_links(user_id, created_at) where purpose = 'reset_password';
        create index password_links_person on password_links(person_id) where person_id is not null and used_at is null;
      `.execute(db);
    },
  },
};
