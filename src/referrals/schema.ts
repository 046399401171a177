// Closed-loop referrals (with their append-only history) and whole-system pathways.
import { sql, type Generated, type Kysely, type Migration } from 'kysely';
import type { Database } from '../schema.ts';
import { pathwayDefinitions } from './pathway-definitions.ts';

export interface ReferralTables {
  referrals: {
    id: string;
    person_id: string;
    /** Null for a self-referral or self-assessment: the person asked, no organisation sent it (migration 0043). */
    from_organisation_id: string | null;
    from_team_id: string | null;
    from_practitioner_id: string | null;
    from_user_id: string | null;
    service_id: string;
    organisation_id: string;
    team_id: string;
    assigned_practitioner_id: string | null;
    reason: string;
    person_words: string | null;
    urgency: 'routine' | 'soon' | 'urgent';
    /** Categories the person agreed to share with the receiving organisation (JSON array). */
    shared_categories: string[];
    /** How sharing is justified: the person's consent, a recorded lawful basis, or identity only. */
    sharing_basis: 'consent' | 'lawful_basis' | 'identification';
    /** The person agreed that, if this service cannot help, it may hand the referral on. */
    onward_consent: boolean;
    status: 'sent' | 'received' | 'accepted' | 'declined' | 'in_progress' | 'completed' | 'cancelled';
    sent_at: Date;
    acknowledged_at: Date | null;
    accepted_at: Date | null;
    first_contact_at: Date | null;
    /** The day of first contact as the receiving service recorded it (UK calendar date), and how it was made. */
    first_contact_on: string | null;
    first_contact_method: 'phone' | 'visit' | 'letter' | 'video' | 'other' | null;
    closed_at: Date | null;
    acknowledge_due: string;
    first_contact_due: string;
    /** Why the receiving service declined: always given, whether or not it handed the referral on. */
    decline_reason: string | null;
    onward_from_id: string | null;
    onward_referral_id: string | null;
    relationship_id: number | null;
    /** The integrated team's caseload relationship this referral opened (ended when it closes); null when it opened none. */
    team_relationship_id: Generated<number | null>;
    journey_id: number | null;
    step_code: string | null;
    /** Who started it: a practitioner's referral, the person's own self-referral, or their self-assessment (migration 0043). */
    kind: Generated<'professional' | 'self_referral' | 'self_assessment'>;
  };
  /**
   * What a resident typed when asking for help themselves (migrations 0043, 0044): the receiving
   * service's only view of someone not signed in, whose identity the person index is checking.
   */
  referral_self_details: {
    referral_id: string;
    /** The person themselves signed in, a registered proxy signed in, or someone not signed in. */
    made_by: 'person' | 'proxy' | 'not_signed_in';
    by_user_id: string | null;
    given_name: string;
    family_name: string;
    birth_date: string | null;
    postcode: string | null;
    email: string | null;
    phone: string | null;
    preferred_contact: 'email' | 'phone' | 'text';
    access_needs: string | null;
    /** The self-referral's record in the person index (not signed in only). */
    source_record_id: number | null;
    /** How the person was found: their own account, or the person index's decision (never shown to the referrer). */
    identity: 'signed_in' | 'matched' | 'new_person' | 'review';
    /** The reference number the resident is given. */
    reference: string;
    /** One per form shown, so a second press of the button sends nothing twice. */
    submission_key: string;
    created_at: Generated<Date>;
    /** Self-assessment: the needs chosen from the directory taxonomy (JSON array of codes). */
    needs: Generated<string[]>;
    /** Self-assessment: what matters to the person, in their words. */
    what_matters: string | null;
    /** The account made to follow this request (migration 0045): tied to no person, it sees only its own requests. */
    account_id: Generated<string | null>;
  };
  /** Single-use links emailed to the address typed on a request made without signing in, to make an account that follows it (migration 0045). */
  referral_account_links: {
    token_hash: string;
    referral_id: string;
    created_at: Date;
    expires_at: Date;
    used_at: Date | null;
  };
  /** The conversation about a request between the account that follows it and the receiving team (migration 0045). */
  referral_messages: {
    id: Generated<number>;
    referral_id: string;
    author_user_id: string;
    /** The one who asked (through their request's account), or the service it went to. */
    author_side: 'requester' | 'service';
    author_label: string;
    body: string;
    sent_at: Date;
  };
  referral_events: {
    id: Generated<number>;
    referral_id: string;
    at: Date;
    action: string;
    from_status: string | null;
    to_status: string;
    by_user_id: string | null;
    by_role: string | null;
    by_organisation_id: string | null;
    /** Who acted, as shown in the history: a practitioner and their organisation, never the person's details. */
    by_label: string;
    note: string | null;
  };
  pathways: { id: string; name: string; description: string; entry_criteria: string };
  pathway_steps: {
    pathway_id: string;
    code: string;
    name: string;
    stage: number;
    owner_kind: string;
    service_name: string | null;
    owner_role: string | null;
    entry_criteria: string;
    expected_days: number;
  };
  pathway_journeys: {
    id: Generated<number>;
    person_id: string;
    pathway_id: string;
    status: 'active' | 'completed' | 'left';
    started_at: Date;
    ended_at: Date | null;
    left_at_step: string | null;
    started_by: string | null;
  };
  pathway_journey_steps: {
    id: Generated<number>;
    journey_id: number;
    step_code: string;
    status: 'waiting' | 'in_progress' | 'done' | 'dropped';
    ready_at: Date;
    started_at: Date | null;
    completed_at: Date | null;
    referral_id: string | null;
  };
  /** One referral for a whole household (migration 0046): every adult's agreement before it is sent. */
  household_referrals: {
    id: string;
    household_id: string;
    lead_person_id: string;
    service_id: string;
    reason: string;
    urgency: 'routine' | 'soon' | 'urgent';
    from_user_id: string;
    from_organisation_id: string | null;
    from_label: string;
    created_at: Generated<Date>;
  };
  household_referral_members: { household_referral_id: string; person_id: string; adult: boolean };
  /** Each adult's agreement, or its withdrawal, in order: the latest row per person is their word now. */
  household_referral_agreements: {
    id: Generated<number>;
    household_referral_id: string;
    person_id: string;
    agrees: boolean;
    evidence: string;
    recorded_for: 'person' | 'practitioner';
    recorded_by: string;
    recorded_at: Generated<Date>;
  };
  /** The referral sent for each adult once every adult agreed. */
  household_referral_sends: { household_referral_id: string; person_id: string; referral_id: string; sent_at: Generated<Date> };
}

export const referralMigrations: Record<string, Migration> = {
  '0040_referrals': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table referrals (
          id text primary key,
          person_id text not null references persons(id),
          from_organisation_id text not null references organisations(id),
          from_team_id text references teams(id),
          from_practitioner_id text references practitioners(id),
          from_user_id text,
          service_id text not null references services(id),
          organisation_id text not null references organisations(id),
          team_id text not null references teams(id),
          assigned_practitioner_id text references practitioners(id),
          reason text not null,
          person_words text,
          urgency text not null check (urgency in ('routine', 'soon', 'urgent')),
          shared_categories jsonb not null default '[]',
          sharing_basis text not null check (sharing_basis in ('consent', 'lawful_basis', 'identification')),
          onward_consent boolean not null default false,
          status text not null check (status in ('sent', 'received', 'accepted', 'declined', 'in_progress', 'completed', 'cancelled')),
          sent_at timestamptz not null,
          acknowledged_at timestamptz,
          accepted_at timestamptz,
          first_contact_at timestamptz,
          closed_at timestamptz,
          acknowledge_due date not null,
          first_contact_due date not null,
          decline_reason text,
          onward_from_id text references referrals(id),
          onward_referral_id text references referrals(id),
          relationship_id bigint,
          journey_id bigint,
          step_code text,
          -- Closed loop, enforced by the database too: a decline always names where it went.
          check (status <> 'declined' or (decline_reason is not null and onward_referral_id is not null))
        );
        create index referrals_inbox on referrals(organisation_id, status, sent_at);
        create index referrals_sent on referrals(from_organisation_id, sent_at);
        create index referrals_person on referrals(person_id);
        create index referrals_service on referrals(service_id, status);
        create table referral_events (
          id bigserial primary key,
          referral_id text not null references referrals(id),
          at timestamptz not null,
          action text not null,
          from_status text,
          to_status text not null,
          by_user_id text,
          by_role text,
          by_organisation_id text,
          by_label text not null,
          note text
        );
        create index referral_events_referral on referral_events(referral_id, at);
        create function referral_events_append_only() returns trigger language plpgsql as $$
        begin
          raise exception 'referral history is append-only';
        end $$;
        create trigger referral_events_no_update before update or delete on referral_events
          for each row execute function referral_events_append_only();
      `.execute(db);
    },
  },
  '0041_pathways': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table pathways (
          id text primary key,
          name text not null,
          description text not null,
          entry_criteria text not null
        );
        create table pathway_steps (
          pathway_id text not null references pathways(id),
          code text not null,
          name text not null,
          stage integer not null,
          owner_kind text not null,
          service_name text,
          owner_role text,
          entry_criteria text not null,
          expected_days integer not null,
          primary key (pathway_id, code)
        );
        create table pathway_journeys (
          id bigserial primary key,
          person_id text not null references persons(id),
          pathway_id text not null references pathways(id),
          status text not null check (status in ('active', 'completed', 'left')),
          started_at timestamptz not null,
          ended_at timestamptz,
          left_at_step text,
          started_by text
        );
        create index pathway_journeys_person on pathway_journeys(person_id);
        create index pathway_journeys_pathway on pathway_journeys(pathway_id, status);
        create table pathway_journey_steps (
          id bigserial primary key,
          journey_id bigint not null references pathway_journeys(id),
          step_code text not null,
          status text not null check (status in ('waiting', 'in_progress', 'done', 'dropped')),
          ready_at timestamptz not null,
          started_at timestamptz,
          completed_at timestamptz,
          referral_id text references referrals(id),
          unique (journey_id, step_code)
        );
      `.execute(db);
      // The shipped pathway definitions, as data.
      for (const p of pathwayDefinitions) {
        await sql`insert into pathways (id, name, description, entry_criteria) values (${p.id}, ${p.name}, ${p.description}, ${p.entryCriteria})`.execute(
          db,
        );
        for (const s of p.steps) {
          await sql`insert into pathway_steps (pathway_id, code, name, stage, owner_kind, service_name, owner_role, entry_criteria, expected_days)
            values (${p.id}, ${s.code}, ${s.name}, ${s.stage}, ${s.ownerKind}, ${s.serviceName}, ${s.ownerRole}, ${s.entryCriteria}, ${s.expectedDays})`.execute(
            db,
          );
        }
      }
    },
  },
  '0042_referrals_first_contact_and_decline_reasons': {
    async up(db: Kysely<unknown>) {
      // First contact is recorded with its day and how it was made. A decline needs a reason
      // always, and an onward referral only when it is handed on: declining with the reason alone
      // (the person said no, nowhere else can help) closes the loop in the open, shown to the
      // referrer and the person, instead of forcing a hand-on nobody wants.
      await sql`
        alter table referrals add column first_contact_on date;
        alter table referrals add column first_contact_method text check (first_contact_method in ('phone', 'visit', 'letter', 'video', 'other'));
        do $$
        declare c record;
        begin
          for c in select conname from pg_constraint where conrelid = 'referrals'::regclass and contype = 'c'
                     and pg_get_constraintdef(oid) like '%onward_referral_id%' loop
            execute format('alter table referrals drop constraint %I', c.conname);
          end loop;
        end $$;
        alter table referrals add constraint referrals_declined_with_reason check (status <> 'declined' or decline_reason is not null);
      `.execute(db);
      // A referral's relationship of care is the receiving organisation's (see insertReferral):
      // those opened for one team before are widened while their referral is open.
      const { referralRelationshipsToOrganisation } = await import('../consent/index.ts');
      await referralRelationshipsToOrganisation(db as Kysely<Database>);
    },
  },
  '0043_referrals_self_referral': {
    async up(db: Kysely<unknown>) {
      // A resident may ask a service for help themselves. Nobody sent it, so there is no sending
      // organisation; what they typed is kept beside the referral, with how their identity was
      // settled (their account, or the person index) and a key per form so nothing is doubled.
      await sql`
        alter table referrals alter column from_organisation_id drop not null;
        alter table referrals add column kind text not null default 'professional'
          check (kind in ('professional', 'self_referral', 'self_assessment'));
        alter table referrals add constraint referrals_sender check (kind <> 'professional' or from_organisation_id is not null);
        create table referral_self_details (
          referral_id text primary key references referrals(id),
          made_by text not null check (made_by in ('person', 'proxy', 'not_signed_in')),
          by_user_id text,
          given_name text not null,
          family_name text not null,
          birth_date date,
          postcode text,
          email text,
          phone text,
          preferred_contact text not null check (preferred_contact in ('email', 'phone', 'text')),
          access_needs text,
          source_record_id bigint,
          identity text not null check (identity in ('signed_in', 'matched', 'new_person', 'review')),
          reference text not null unique,
          submission_key text not null unique,
          created_at timestamptz not null default now(),
          check (email is not null or phone is not null)
        );
        create index referrals_kind on referrals(kind) where kind <> 'professional';
      `.execute(db);
    },
  },
  '0044_referrals_self_assessment': {
    async up(db: Kysely<unknown>) {
      // "What matters to me / what help I need": the needs chosen and the person's own words,
      // kept with the self-assessment referral they were routed through.
      await sql`
        alter table referral_self_details add column needs jsonb not null default '[]';
        alter table referral_self_details add column what_matters text;
      `.execute(db);
    },
  },
  '0045_referrals_self_referral_accounts': {
    async up(db: Kysely<unknown>) {
      // Someone who asked for help without signing in may follow their request with an account
      // made from a link sent to the email address they typed. Anyone can type a neighbour's name,
      // so that account is tied to the request, never to the person it was filed against: it sees
      // the request's steps and what was typed, and talks with the team the request went to.
      await sql`
        alter table referral_self_details add column account_id text references users(id);
        create index referral_self_details_account on referral_self_details(account_id) where account_id is not null;
        create table referral_account_links (
          token_hash text primary key,
          referral_id text not null references referrals(id),
          created_at timestamptz not null,
          expires_at timestamptz not null,
          used_at timestamptz
        );
        create index referral_account_links_open on referral_account_links(referral_id) where used_at is null;
        create table referral_messages (
          id bigserial primary key,
          referral_id text not null references referrals(id),
          author_user_id text not null references users(id),
          author_side text not null check (author_side in ('requester', 'service')),
          author_label text not null,
          body text not null check (length(body) between 1 and 5000),
          sent_at timestamptz not null
        );
        create index referral_messages_referral on referral_messages(referral_id, id);
      `.execute(db);
    },
  },
  // Households in charge (issue 22): one referral for the household, sent only once every adult
  // in it has agreed; each adult's word (and any withdrawal) kept in order.
  '0046_referrals_household_referrals': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table household_referrals (
          id text primary key,
          household_id text not null references households(id),
          lead_person_id text not null references persons(id),
          service_id text not null references services(id),
          reason text not null,
          urgency text not null check (urgency in ('routine', 'soon', 'urgent')),
          from_user_id text not null,
          from_organisation_id text references organisations(id),
          from_label text not null,
          created_at timestamptz not null default now()
        );
        create index household_referrals_household on household_referrals(household_id);
        create table household_referral_members (
          household_referral_id text not null references household_referrals(id),
          person_id text not null references persons(id),
          adult boolean not null,
          primary key (household_referral_id, person_id)
        );
        create index household_referral_members_person on household_referral_members(person_id);
        create table household_referral_agreements (
          id bigserial primary key,
          household_referral_id text not null references household_referrals(id),
          person_id text not null references persons(id),
          agrees boolean not null,
          evidence text not null,
          recorded_for text not null check (recorded_for in ('person', 'practitioner')),
          recorded_by text not null,
          recorded_at timestamptz not null default now()
        );
        create index household_referral_agreements_referral on household_referral_agreements(household_referral_id, person_id, id);
        create table household_referral_sends (
          household_referral_id text not null references household_referrals(id),
          person_id text not null references persons(id),
          referral_id text not null unique references referrals(id),
          sent_at timestamptz not null default now(),
          primary key (household_referral_id, person_id)
        );
      `.execute(db);
    },
  },
  // A referral to a service an integrated team runs puts the person on the team's caseload (the
  // consent module opens the team's relationship); the referral remembers which relationship it
  // opened, so closing it ends that one and never a caseload place the person had before.
  '0150_referrals_team_caseload': {
    async up(db: Kysely<unknown>) {
      await sql`alter table referrals add column team_relationship_id bigint`.execute(db);
    },
  },
};
