// The person's sharing choices, lawful bases, relationships of care, break-glass, proxies and
// correction requests. Nothing here is deleted: withdrawals, expiries and endings are recorded.
import { sql, type Generated, type Kysely, type Migration } from 'kysely';

export interface ConsentTables {
  care_relationships: {
    id: Generated<number>;
    person_id: string;
    organisation_id: string;
    team_id: string | null;
    practitioner_id: string | null;
    kind: 'network' | 'referral' | 'case';
    role_label: string | null;
    reason: string;
    started_at: Generated<Date>;
    ended_at: Date | null;
    recorded_by: string | null;
  };
  consent_directives: {
    id: Generated<number>;
    person_id: string;
    category: string;
    recipient_kind: 'organisation' | 'team' | 'network';
    recipient_id: string | null;
    purposes: string[];
    decision: 'permit' | 'deny';
    valid_from: Generated<Date>;
    valid_until: Date | null;
    recorded_at: Generated<Date>;
    recorded_by: string | null;
    recorded_by_role: string | null;
    withdrawn_at: Date | null;
    withdrawn_by: string | null;
    note: string | null;
    /** Whose word this is: the person's own, their proxy's, or a practitioner's record of what the person said. */
    recorded_for: Generated<'person' | 'proxy' | 'practitioner'>;
    /** For a practitioner's record: what the person agreed to and how (e.g. "said yes on the phone"). */
    evidence: Generated<string | null>;
    /** The referral a practitioner-recorded choice was made for: it covers that referral's needs only. */
    referral_id: Generated<string | null>;
  };
  lawful_bases: {
    id: Generated<number>;
    person_id: string;
    category: string;
    purpose: string;
    basis: 'safeguarding' | 'legal_obligation' | 'vital_interests' | 'public_task';
    organisation_id: string | null;
    explanation: string;
    recorded_by: string | null;
    recorded_at: Generated<Date>;
    valid_from: Generated<Date>;
    valid_until: Date | null;
    ended_at: Date | null;
  };
  break_glass_grants: {
    id: Generated<number>;
    user_id: string;
    person_id: string;
    reason: string;
    started_at: Generated<Date>;
    expires_at: Date;
    reviewed_at: Date | null;
    reviewed_by: string | null;
    review_outcome: 'appropriate' | 'inappropriate' | null;
    review_note: string | null;
  };
  proxies: {
    id: Generated<number>;
    person_id: string;
    proxy_person_id: string;
    kind: 'parent' | 'carer';
    permitted_by: string;
    valid_from: Generated<Date>;
    valid_until: Date | null;
    revoked_at: Date | null;
    revoked_by: string | null;
    /** The categories the proxy may see; children's safeguarding is never among them by default. */
    scope: Generated<string[]>;
    revoked_reason: Generated<string | null>;
  };
  /** A practitioner's decision that safeguarding information may be shown to the person it concerns and their proxies. */
  safeguarding_releases: {
    id: Generated<number>;
    person_id: string;
    released_by: string;
    reason: string;
    released_at: Generated<Date>;
    withdrawn_at: Date | null;
    withdrawn_by: string | null;
  };
  correction_requests: {
    id: Generated<number>;
    person_id: string;
    requested_by: string;
    organisation_id: string;
    item_description: string;
    what_is_wrong: string;
    what_it_should_say: string | null;
    status: Generated<'open' | 'corrected' | 'declined'>;
    created_at: Generated<Date>;
    resolved_at: Date | null;
    resolved_by: string | null;
    resolution_note: string | null;
    /** A correction applied: the agency record changed, the field, and its value before and after. */
    corrected_record_id: Generated<number | null>;
    corrected_field: Generated<string | null>;
    corrected_from: Generated<string | null>;
    corrected_to: Generated<string | null>;
  };
  /** A person's objection to being found by case-finding rules; withdrawn, never deleted. */
  casefinding_objections: {
    id: Generated<number>;
    person_id: string;
    recorded_by: string;
    recorded_for: 'person' | 'proxy';
    reason: string | null;
    objected_at: Generated<Date>;
    withdrawn_at: Date | null;
    withdrawn_by: string | null;
  };
  /**
   * A request to restrict or erase information, routed to the organisation holding it (the data
   * owner), due one calendar month from receipt (UK GDPR Art. 12(3)). A restriction in force
   * withholds that category from everyone outside the owner until it is lifted.
   */
  rights_requests: {
    id: Generated<number>;
    person_id: string;
    requested_by: string;
    recorded_for: 'person' | 'proxy';
    kind: 'restriction' | 'erasure';
    organisation_id: string;
    category: string;
    what: string;
    why: string;
    received_at: Generated<Date>;
    due_by: string;
    status: Generated<'open' | 'restricted' | 'erased' | 'refused' | 'lifted'>;
    decided_at: Date | null;
    decided_by: string | null;
    decision_note: string | null;
    lifted_at: Date | null;
    lifted_by: string | null;
  };
  /**
   * Family, friends, neighbours and community groups the person names as able to help, and what
   * the person agrees each may know. They have no account and no access to Joinery: this is the
   * person's own record of their choice, which practitioners act on.
   */
  informal_network_members: {
    id: Generated<number>;
    person_id: string;
    name: string;
    kind: 'family' | 'friend' | 'neighbour' | 'community_group' | 'other';
    relationship: string;
    contact: string;
    may_know: string[];
    added_by: string;
    added_for: 'person' | 'proxy';
    added_at: Generated<Date>;
    ended_at: Date | null;
    ended_by: string | null;
  };
  /**
   * Membership of a team, across organisations (migration 0035): an integrated team's relationship
   * of care reaches its current members only, so membership grants access and only this module
   * starts and ends it. Kept with its end, never deleted: who was in the team, when, is history.
   */
  team_memberships: {
    id: Generated<number>;
    team_id: string;
    practitioner_id: string;
    /** The organisation employing the member (their own), whatever organisation hosts the team. */
    home_organisation_id: string;
    role_in_team: string;
    /** Where the member works from, when co-located with the team (e.g. "Civic Centre hub, 3 days a week"). */
    co_location: string | null;
    /** Who manages the member day to day (their line manager), a practitioner of any organisation. */
    line_manager_id: string | null;
    /** The member may add and end the team's members. */
    manages_team: Generated<boolean>;
    started_at: Date;
    ended_at: Date | null;
    added_by: string | null;
    ended_by: string | null;
    end_reason: string | null;
  };
}

export const consentMigrations: Record<string, Migration> = {
  '0030_consent': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table care_relationships (
          id bigserial primary key,
          person_id text not null references persons(id),
          organisation_id text not null references organisations(id),
          team_id text references teams(id),
          practitioner_id text references practitioners(id),
          kind text not null check (kind in ('network', 'referral', 'case')),
          role_label text,
          reason text not null,
          started_at timestamptz not null default now(),
          ended_at timestamptz,
          recorded_by text
        );
        create index care_relationships_person on care_relationships(person_id) where ended_at is null;
        create index care_relationships_practitioner on care_relationships(practitioner_id) where ended_at is null;
        create table consent_directives (
          id bigserial primary key,
          person_id text not null references persons(id),
          category text not null,
          recipient_kind text not null check (recipient_kind in ('organisation', 'team', 'network')),
          recipient_id text,
          purposes text[] not null,
          decision text not null check (decision in ('permit', 'deny')),
          valid_from timestamptz not null default now(),
          valid_until timestamptz,
          recorded_at timestamptz not null default now(),
          recorded_by text,
          recorded_by_role text,
          withdrawn_at timestamptz,
          withdrawn_by text,
          note text,
          check (recipient_kind = 'network' or recipient_id is not null)
        );
        create index consent_directives_person on consent_directives(person_id);
        create table lawful_bases (
          id bigserial primary key,
          person_id text not null references persons(id),
          category text not null,
          purpose text not null,
          basis text not null check (basis in ('safeguarding', 'legal_obligation', 'vital_interests', 'public_task')),
          organisation_id text references organisations(id),
          explanation text not null,
          recorded_by text,
          recorded_at timestamptz not null default now(),
          valid_from timestamptz not null default now(),
          valid_until timestamptz,
          ended_at timestamptz
        );
        create index lawful_bases_person on lawful_bases(person_id);
        create table break_glass_grants (
          id bigserial primary key,
          user_id text not null references users(id),
          person_id text not null references persons(id),
          reason text not null,
          started_at timestamptz not null default now(),
          expires_at timestamptz not null,
          reviewed_at timestamptz,
          reviewed_by text,
          review_outcome text check (review_outcome in ('appropriate', 'inappropriate')),
          review_note text
        );
        create index break_glass_person_user on break_glass_grants(person_id, user_id);
        create index break_glass_unreviewed on break_glass_grants(started_at) where reviewed_at is null;
        create table proxies (
          id bigserial primary key,
          person_id text not null references persons(id),
          proxy_person_id text not null references persons(id),
          kind text not null check (kind in ('parent', 'carer')),
          permitted_by text not null,
          valid_from timestamptz not null default now(),
          valid_until timestamptz,
          revoked_at timestamptz,
          revoked_by text
        );
        create index proxies_proxy on proxies(proxy_person_id);
        create table correction_requests (
          id bigserial primary key,
          person_id text not null references persons(id),
          requested_by text not null,
          organisation_id text not null references organisations(id),
          item_description text not null,
          what_is_wrong text not null,
          what_it_should_say text,
          status text not null default 'open' check (status in ('open', 'corrected', 'declined')),
          created_at timestamptz not null default now(),
          resolved_at timestamptz,
          resolved_by text,
          resolution_note text
        );
        create index correction_requests_organisation on correction_requests(organisation_id, status);
        create index correction_requests_person on correction_requests(person_id);
        alter table users drop constraint if exists users_role_check;
        alter table users add constraint users_role_check
          check (role in ('citizen', 'practitioner', 'manager', 'admin', 'data_quality', 'privacy_officer'));
      `.execute(db);
    },
  },
  // Whose word counts, proxies with an end and a scope, and safeguarding kept from its subject
  // unless released: the facts the access policy needs to rank choices and end proxies.
  '0031_consent_whose_word_proxy_ends': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table consent_directives add column recorded_for text not null default 'person'
          check (recorded_for in ('person', 'proxy', 'practitioner'));
        alter table consent_directives add column evidence text;
        alter table consent_directives add column referral_id text;
        update consent_directives set recorded_for = 'practitioner' where recorded_by_role = 'practitioner';
        update consent_directives d set recorded_for = 'proxy' from users u
          where u.id = d.recorded_by and u.role = 'citizen' and u.person_id is distinct from d.person_id;
        alter table proxies add column scope text[] not null default array['demographics', 'about_me', 'health', 'social_care', 'housing', 'education', 'criminal_justice', 'finances', 'plans'];
        alter table proxies add column revoked_reason text;
        -- A parent acts for a child until the child's 16th birthday.
        update proxies x set valid_until = (p.birth_date + interval '16 years')
          from persons p where p.id = x.person_id and x.kind = 'parent' and x.valid_until is null and p.birth_date is not null;
        create table safeguarding_releases (
          id bigserial primary key,
          person_id text not null references persons(id),
          released_by text not null references users(id),
          reason text not null,
          released_at timestamptz not null default now(),
          withdrawn_at timestamptz,
          withdrawn_by text
        );
        create index safeguarding_releases_person on safeguarding_releases(person_id);
      `.execute(db);
    },
  },
  // A correction marked corrected changes the agency's record (the old version kept in the
  // record's history): which record and field, and the value before and after, for the person.
  '0032_consent_corrections_applied': {
    async up(db: Kysely<unknown>) {
      await sql`
        alter table correction_requests add column corrected_record_id bigint;
        alter table correction_requests add column corrected_field text;
        alter table correction_requests add column corrected_from text;
        alter table correction_requests add column corrected_to text;
      `.execute(db);
    },
  },
  // Rights completed (issue 20): objecting to case-finding, and asking the data owner to
  // restrict or erase, with the legal clock.
  '0033_consent_objections_and_requests': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table casefinding_objections (
          id bigserial primary key,
          person_id text not null references persons(id),
          recorded_by text not null,
          recorded_for text not null check (recorded_for in ('person', 'proxy')),
          reason text,
          objected_at timestamptz not null default now(),
          withdrawn_at timestamptz,
          withdrawn_by text
        );
        create index casefinding_objections_person on casefinding_objections(person_id);
        -- One objection in force per person: a second click, or a second process, adds nothing.
        create unique index casefinding_objections_active on casefinding_objections(person_id) where withdrawn_at is null;
        create table rights_requests (
          id bigserial primary key,
          person_id text not null references persons(id),
          requested_by text not null,
          recorded_for text not null check (recorded_for in ('person', 'proxy')),
          kind text not null check (kind in ('restriction', 'erasure')),
          organisation_id text not null references organisations(id),
          category text not null,
          what text not null,
          why text not null,
          received_at timestamptz not null default now(),
          due_by date not null,
          status text not null default 'open' check (status in ('open', 'restricted', 'erased', 'refused', 'lifted')),
          decided_at timestamptz,
          decided_by text,
          decision_note text,
          lifted_at timestamptz,
          lifted_by text
        );
        create index rights_requests_person on rights_requests(person_id);
        create index rights_requests_organisation on rights_requests(organisation_id, status);
      `.execute(db);
    },
  },
  // The informal network: people the person names, with what they agree each may know.
  '0034_consent_informal_network': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table informal_network_members (
          id bigserial primary key,
          person_id text not null references persons(id),
          name text not null,
          kind text not null check (kind in ('family', 'friend', 'neighbour', 'community_group', 'other')),
          relationship text not null,
          contact text not null,
          may_know text[] not null,
          added_by text not null,
          added_for text not null check (added_for in ('person', 'proxy')),
          added_at timestamptz not null default now(),
          ended_at timestamptz,
          ended_by text
        );
        create index informal_network_person on informal_network_members(person_id);
      `.execute(db);
    },
  },
  // Integrated teams (issue 22): members from several organisations, each with their home
  // organisation, co-location and line manager; one current membership per person and team.
  '0035_consent_team_memberships': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table team_memberships (
          id bigserial primary key,
          team_id text not null references teams(id),
          practitioner_id text not null references practitioners(id),
          home_organisation_id text not null references organisations(id),
          role_in_team text not null,
          co_location text,
          line_manager_id text references practitioners(id),
          manages_team boolean not null default false,
          started_at timestamptz not null,
          ended_at timestamptz,
          added_by text,
          ended_by text,
          end_reason text
        );
        create unique index team_memberships_current on team_memberships(team_id, practitioner_id) where ended_at is null;
        create index team_memberships_practitioner on team_memberships(practitioner_id) where ended_at is null;
      `.execute(db);
    },
  },
};
