// Plans module tables: the outcomes framework, assessments (FHIR Questionnaire definitions and
// QuestionnaireResponses with scores and "tell it once" counts), operating models and
// enrolments, and shared plans (goals, actions, reviews) with an append-only history.
import { sql, type Generated, type Kysely, type Migration } from 'kysely';

export interface PlansTables {
  outcome_frameworks: {
    id: string;
    name: string;
    system: string;
    /** null: the default every place starts with; otherwise the place that adopted it. */
    place_id: string | null;
    active: boolean;
    created_at: Generated<Date>;
  };
  outcomes: { framework_id: string; code: string; label: string; statement: string; sort: number };
  /** What maps to each outcome: need codes, assessment domains and questions. Plan goals carry theirs. */
  outcome_mappings: { framework_id: string; source_kind: 'need' | 'domain' | 'question'; source_code: string; outcome_code: string };
  questionnaires: {
    id: string;
    version: string;
    title: string;
    category: string;
    status: string;
    definition: unknown;
    created_at: Generated<Date>;
  };
  questionnaire_responses: {
    id: string;
    questionnaire_id: string;
    questionnaire_version: string;
    person_id: string;
    organisation_id: string | null;
    practitioner_id: string | null;
    author_user_id: string | null;
    author_role: string;
    enrolment_id: string | null;
    authored_at: Date;
    response: unknown;
    total_score: number | null;
    domain_scores: unknown;
    rules_met: unknown;
    complete: boolean;
    items_answered: number;
    items_reused: number;
    items_asked: number;
    items_changed: number;
  };
  /** Where each prefilled answer came from (also in the response JSON as an extension). */
  response_prefill_sources: {
    response_id: string;
    link_id: string;
    kind: string;
    category: string;
    organisation_id: string | null;
    recorded_at: string | null;
    detail: string;
  };
  operating_models: {
    id: string;
    name: string;
    summary: string;
    config: unknown;
    active: boolean;
    created_at: Generated<Date>;
  };
  model_enrolments: {
    id: string;
    model_id: string;
    person_id: string;
    household_id: string | null;
    lead_practitioner_id: string | null;
    lead_organisation_id: string;
    lead_role_label: string;
    identified_by_response_id: string | null;
    consent_recorded_at: Date | null;
    consent_note: string | null;
    enrolled_at: Date;
    planned_end: string | null;
    ended_at: Date | null;
    end_reason: string | null;
    recorded_by: string | null;
  };
  plans: {
    id: string;
    subject_kind: 'person' | 'household';
    person_id: string;
    household_id: string | null;
    model_id: string | null;
    enrolment_id: string | null;
    title: string;
    strengths: string | null;
    connections: string | null;
    status: 'active' | 'closed';
    organisation_id: string | null;
    created_by: string | null;
    created_at: Date;
    next_review_on: string | null;
    ends_on: string | null;
  };
  plan_members: { plan_id: string; person_id: string; added_at: Generated<Date> };
  plan_goals: {
    id: string;
    plan_id: string;
    person_id: string | null;
    text: string;
    outcome_codes: unknown;
    set_by: 'person' | 'practitioner';
    organisation_id: string | null;
    created_by: string | null;
    created_at: Date;
    status: 'open' | 'achieved' | 'stopped';
  };
  plan_actions: {
    id: string;
    plan_id: string;
    goal_id: string | null;
    description: string;
    assigned_organisation_id: string;
    assigned_practitioner_id: string | null;
    due_on: string;
    status: 'open' | 'done' | 'cancelled';
    organisation_id: string | null;
    created_by: string | null;
    created_at: Date;
    completed_at: Date | null;
    completed_by: string | null;
  };
  plan_reviews: {
    id: string;
    plan_id: string;
    reviewed_on: string;
    organisation_id: string | null;
    note: string | null;
    actions_done: number;
    actions_total: number;
    next_review_on: string | null;
    created_by: string | null;
    created_at: Date;
  };
  goal_attainment: { review_id: string; goal_id: string; score: number };
  /** Goal attainment scaling (0054): at a review, where the goal stands against what was expected, −2 much less … 0 as expected … +2 much more. */
  goal_gas_ratings: { review_id: string; goal_id: string; level: number };
  /**
   * What a person says about each place goal (0151), e.g. "I can see services working together on
   * what matters to me": 1 strongly disagree … 5 strongly agree, asked at a plan review (recorded
   * with them by the practitioner) or in their feedback on a service (in their own words).
   */
  place_goal_answers: {
    id: Generated<number>;
    person_id: string;
    outcome_code: string;
    answer: number;
    source: 'review' | 'feedback';
    review_id: string | null;
    service_id: string | null;
    recorded_for: 'person' | 'proxy' | 'practitioner';
    recorded_by: string;
    answered_at: Date;
  };
  /** The plan's full history: append-only (a trigger refuses updates and deletes). */
  plan_events: {
    id: Generated<number>;
    plan_id: string;
    at: Date;
    actor_user_id: string | null;
    actor_role: string | null;
    actor_organisation_id: string | null;
    kind: string;
    summary: string;
    detail: unknown;
  };
  /**
   * An assessment in progress, kept on the server for one author, one person and one instrument,
   * so a timed-out session or a closed laptop loses nothing. Deleted when the assessment is saved
   * or the author discards it: a draft is a working copy, never the record.
   */
  assessment_drafts: {
    author_user_id: string;
    person_id: string;
    questionnaire_id: string;
    questionnaire_version: string;
    /** Form values as typed, keyed by linkId (not yet checked). */
    answers: unknown;
    /** The follow-up questions the form had shown. */
    asked: string[];
    saved_at: Date;
  };
}

export const plansMigrations: Record<string, Migration> = {
  '0050_plans_framework_assessments': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table outcome_frameworks (
          id text primary key,
          name text not null,
          system text not null,
          place_id text references places(id),
          active boolean not null default true,
          created_at timestamptz not null default now()
        );
        create table outcomes (
          framework_id text not null references outcome_frameworks(id),
          code text not null,
          label text not null,
          statement text not null,
          sort int not null,
          primary key (framework_id, code)
        );
        create table outcome_mappings (
          framework_id text not null references outcome_frameworks(id),
          source_kind text not null check (source_kind in ('need', 'domain', 'question')),
          source_code text not null,
          outcome_code text not null,
          primary key (framework_id, source_kind, source_code, outcome_code),
          foreign key (framework_id, outcome_code) references outcomes(framework_id, code)
        );
        create table questionnaires (
          id text not null,
          version text not null,
          title text not null,
          category text not null,
          status text not null,
          definition jsonb not null,
          created_at timestamptz not null default now(),
          primary key (id, version)
        );
        create table operating_models (
          id text primary key,
          name text not null,
          summary text not null,
          config jsonb not null,
          active boolean not null default true,
          created_at timestamptz not null default now()
        );
        create table model_enrolments (
          id text primary key,
          model_id text not null references operating_models(id),
          person_id text not null references persons(id),
          household_id text references households(id),
          lead_practitioner_id text references practitioners(id),
          lead_organisation_id text not null references organisations(id),
          lead_role_label text not null,
          identified_by_response_id text,
          consent_recorded_at timestamptz,
          consent_note text,
          enrolled_at timestamptz not null,
          planned_end date,
          ended_at timestamptz,
          end_reason text,
          recorded_by text
        );
        create index model_enrolments_person on model_enrolments(person_id);
        create index model_enrolments_model on model_enrolments(model_id) where ended_at is null;
        create table questionnaire_responses (
          id text primary key,
          questionnaire_id text not null,
          questionnaire_version text not null,
          person_id text not null references persons(id),
          organisation_id text references organisations(id),
          practitioner_id text references practitioners(id),
          author_user_id text,
          author_role text not null,
          enrolment_id text references model_enrolments(id),
          authored_at timestamptz not null,
          response jsonb not null,
          total_score double precision,
          domain_scores jsonb not null,
          rules_met jsonb not null,
          complete boolean not null,
          items_answered int not null,
          items_reused int not null,
          items_asked int not null,
          items_changed int not null,
          foreign key (questionnaire_id, questionnaire_version) references questionnaires(id, version)
        );
        create index questionnaire_responses_person on questionnaire_responses(person_id, authored_at);
        create index questionnaire_responses_form on questionnaire_responses(questionnaire_id, authored_at);
        create table response_prefill_sources (
          response_id text not null references questionnaire_responses(id),
          link_id text not null,
          kind text not null,
          category text not null,
          organisation_id text,
          recorded_at date,
          detail text not null,
          primary key (response_id, link_id)
        );
      `.execute(db);
    },
  },
  '0051_plans_shared_plans': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table plans (
          id text primary key,
          subject_kind text not null check (subject_kind in ('person', 'household')),
          person_id text not null references persons(id),
          household_id text references households(id),
          model_id text references operating_models(id),
          enrolment_id text references model_enrolments(id),
          title text not null,
          strengths text,
          connections text,
          status text not null check (status in ('active', 'closed')),
          organisation_id text references organisations(id),
          created_by text,
          created_at timestamptz not null,
          next_review_on date,
          ends_on date
        );
        create index plans_person on plans(person_id);
        create table plan_members (
          plan_id text not null references plans(id),
          person_id text not null references persons(id),
          added_at timestamptz not null default now(),
          primary key (plan_id, person_id)
        );
        create index plan_members_person on plan_members(person_id);
        create table plan_goals (
          id text primary key,
          plan_id text not null references plans(id),
          person_id text references persons(id),
          text text not null,
          outcome_codes jsonb not null,
          set_by text not null check (set_by in ('person', 'practitioner')),
          organisation_id text references organisations(id),
          created_by text,
          created_at timestamptz not null,
          status text not null check (status in ('open', 'achieved', 'stopped'))
        );
        create index plan_goals_plan on plan_goals(plan_id);
        create table plan_actions (
          id text primary key,
          plan_id text not null references plans(id),
          goal_id text references plan_goals(id),
          description text not null,
          assigned_organisation_id text not null references organisations(id),
          assigned_practitioner_id text references practitioners(id),
          due_on date not null,
          status text not null check (status in ('open', 'done', 'cancelled')),
          organisation_id text references organisations(id),
          created_by text,
          created_at timestamptz not null,
          completed_at timestamptz,
          completed_by text
        );
        create index plan_actions_plan on plan_actions(plan_id);
        create index plan_actions_assigned on plan_actions(assigned_organisation_id) where status = 'open';
        create table plan_reviews (
          id text primary key,
          plan_id text not null references plans(id),
          reviewed_on date not null,
          organisation_id text references organisations(id),
          note text,
          actions_done int not null,
          actions_total int not null,
          next_review_on date,
          created_by text,
          created_at timestamptz not null
        );
        create index plan_reviews_plan on plan_reviews(plan_id, reviewed_on);
        create table goal_attainment (
          review_id text not null references plan_reviews(id),
          goal_id text not null references plan_goals(id),
          score smallint not null check (score between 0 and 10),
          primary key (review_id, goal_id)
        );
        create table plan_events (
          id bigserial primary key,
          plan_id text not null references plans(id),
          at timestamptz not null,
          actor_user_id text,
          actor_role text,
          actor_organisation_id text,
          kind text not null,
          summary text not null,
          detail jsonb not null default '{}'::jsonb
        );
        create index plan_events_plan on plan_events(plan_id, id);
        create function plan_events_append_only() returns trigger language plpgsql as $$
        begin
          raise exception 'plan history is append-only';
        end $$;
        create trigger plan_events_no_change before update or delete on plan_events
          for each row execute function plan_events_append_only();
      `.execute(db);
    },
  },
  // Drafts of assessments in progress (issue 20, tell it once completed).
  '0053_plans_assessment_drafts': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table assessment_drafts (
          author_user_id text not null references users(id),
          person_id text not null references persons(id),
          questionnaire_id text not null,
          questionnaire_version text not null,
          answers jsonb not null,
          asked text[] not null default '{}',
          saved_at timestamptz not null,
          primary key (author_user_id, person_id, questionnaire_id)
        );
      `.execute(db);
    },
  },
  // Goal attainment scaling at reviews (issue 22): beside the 0–10 progress score, where each goal
  // stands against the outcome expected when it was set, so commissioners can count goals at or
  // above expected. Its own table: a review can rate one, the other, or both.
  '0054_plans_goal_gas_ratings': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table goal_gas_ratings (
          review_id text not null references plan_reviews(id),
          goal_id text not null references plan_goals(id),
          level smallint not null check (level between -2 and 2),
          primary key (review_id, goal_id)
        );
        create index goal_gas_ratings_goal on goal_gas_ratings(goal_id);
      `.execute(db);
    },
  },
  // Person-reported measures for each place goal (issue 22): the person's own answer to the goal's
  // "I" statement, from a review or their feedback on a service; the insight refresh counts, by
  // group, the people who agree at their latest answer.
  '0151_plans_place_goal_answers': {
    async up(db: Kysely<unknown>) {
      await sql`
        create table place_goal_answers (
          id bigserial primary key,
          person_id text not null references persons(id),
          outcome_code text not null,
          answer smallint not null check (answer between 1 and 5),
          source text not null check (source in ('review', 'feedback')),
          review_id text references plan_reviews(id),
          service_id text,
          recorded_for text not null check (recorded_for in ('person', 'proxy', 'practitioner')),
          recorded_by text not null,
          answered_at timestamptz not null default now()
        );
        create index place_goal_answers_person on place_goal_answers(person_id, outcome_code, answered_at desc);
      `.execute(db);
    },
  },
};
