// Demo data for the plans module: people on each operating model, with enrolments, a lead
// worker in their care network, shared plans (goals, actions for several agencies, reviews)
// and repeated assessments showing change. Deterministic (hashes of ids, never random) and
// set-based, anchored on the place's own latest event date rather than the wall clock. People,
// their needs and events and the organisations' names are read through their owners' fragments.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { currentNeedsTable, eventsOfTypes, latestEventAt, membersOfHouseholds, personsWithBirthAndHome } from '../people/index.ts';
import { organisationNameOf, organisationRecords, organisationsTable, practitionersWithOrganisationTable } from '../network/index.ts';
import { bulkInsert } from '../platform/bulk.ts';
import { peopleWithDirectives, seedDirectives, seedRelationships } from '../consent/index.ts';
import { activeFramework, ensurePlansDefaults, loadOperatingModels, loadQuestionnaire } from './store.ts';
import { addMonths } from './models.ts';
import { buildResponse, scoreResponse, type Answers, type Questionnaire } from './questionnaire.ts';
import { prefillQuestionnaire, tellItOnce, type PrefillFacts } from './prefill.ts';
import { seedIntegratedTeam } from './teams-seed.ts';
import { categoryOfEvent, categoryOfNeed } from '../consent/index.ts';

/** FNV-1a: a deterministic number in [0, 1) from a string. */
export function unit(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 4294967296;
}

interface GoalSeed {
  text: string;
  outcomes: string[];
  forChild?: boolean;
}
interface ActionSeed {
  text: string;
  kinds: string[];
}

const goalBank: Record<string, GoalSeed[]> = {
  'md-coordination': [
    { text: 'I want somewhere safe to live that is mine', outcomes: ['HOME', 'SAFE'] },
    { text: 'Cut down my drinking so I can see my kids again', outcomes: ['WELL', 'CONN'] },
    { text: 'One person who knows my story so I do not have to keep repeating it', outcomes: ['TOGETHER'] },
    { text: 'Feel less panicky when I have to go to appointments', outcomes: ['WELL', 'RIGHT'] },
  ],
  'childrens-zone': [
    { text: 'Go to school every day and not feel scared', outcomes: ['RIGHT', 'WELL'], forChild: true },
    { text: 'Catch up with my reading', outcomes: ['RIGHT'], forChild: true },
    { text: 'Have friends to play with after school', outcomes: ['CONN', 'WELL'], forChild: true },
    { text: 'Get help with money so we stop worrying all the time', outcomes: ['INFO', 'PLACE'] },
  ],
  'local-area-coordination': [
    { text: 'Get out of the house and see people twice a week', outcomes: ['CONN'] },
    { text: 'Use what I know about gardening to help at the community garden', outcomes: ['CONN', 'WELL'] },
    { text: 'Stay independent at home', outcomes: ['INDEP', 'SAFE'] },
    { text: 'Have a proper break from caring now and then', outcomes: ['CARER', 'WELL'] },
  ],
  'housing-first': [
    { text: 'Keep my flat and make it feel like home', outcomes: ['HOME'] },
    { text: 'Sort out my health with a GP who knows me', outcomes: ['WELL', 'RIGHT'] },
    { text: 'Pay my rent on time', outcomes: ['HOME', 'INFO'] },
    { text: 'Get back in touch with my sister', outcomes: ['CONN'] },
  ],
};

const actionBank: Record<string, ActionSeed[]> = {
  'md-coordination': [
    { text: 'Housing options appointment under the homelessness prevention duty', kinds: ['council_housing'] },
    { text: 'Fast-track assessment at the drug and alcohol service, no waiting list', kinds: ['drug_alcohol_service'] },
    { text: 'Agree a flexible drop-in time with the community mental health team', kinds: ['mental_health_trust'] },
    { text: 'Joint meeting with probation to line up licence conditions with this plan', kinds: ['probation'] },
  ],
  'childrens-zone': [
    { text: 'Daily check-in with a trusted adult at school', kinds: ['school'] },
    { text: 'Weekly reading support sessions', kinds: ['charity'] },
    { text: 'Benefits check and food bank referral for the family', kinds: ['charity'] },
    { text: 'After-school club place', kinds: ['charity'] },
  ],
  'local-area-coordination': [
    { text: 'Introduce to the community garden group', kinds: ['charity'] },
    { text: 'Social prescribing conversation at the GP practice', kinds: ['gp_practice'] },
    { text: 'Strength and balance class', kinds: ['hospital_trust'] },
    { text: 'Carers break and peer group', kinds: ['charity'] },
  ],
  'housing-first': [
    { text: 'Sign the tenancy and move in, with furniture from the starter pack', kinds: ['council_housing', 'housing_association'] },
    { text: 'Register with a GP and book a health check', kinds: ['gp_practice'] },
    { text: 'Set up rent payments and a benefits check', kinds: ['housing_association', 'council_housing'] },
    { text: 'Drop in with the recovery service when ready (never a condition of the tenancy)', kinds: ['drug_alcohol_service'] },
  ],
};

const perModel: Record<string, number> = {
  'md-coordination': 40,
  'childrens-zone': 40,
  'local-area-coordination': 40,
  'housing-first': 25,
  // Issue 22's two models, chosen after the four above from whoever is left, so the people on
  // those stay as they were; enough on each for its cohort to show by quarter.
  'connected-care': 20,
  'locality-care-organisation': 24,
};
/** The four first models first, then the rest, each group in the stored order. */
const seedOrder = (id: string) => (['md-coordination', 'childrens-zone', 'local-area-coordination', 'housing-first'].includes(id) ? 0 : 1);

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.round(v)));

/** Answers that give these area scores (need scales 0–4) on each shipped assessment. */
function answersFor(questionnaireId: string, s: Record<string, number>): Answers {
  const gate = (score: number, yes: string, level: string, prefix: string): Answers =>
    score === 0 ? { [yes]: 'no' } : { [yes]: 'yes', [level]: `${prefix}${score}` };
  switch (questionnaireId) {
    case 'md-assessment':
      return {
        engagement: `eng${s.engagement}`,
        social: `soc${s.social_effectiveness}`,
        ...gate(s.self_harm!, 'harm-any', 'harm-level', 'harm'),
        ...gate(s.risk_to_others!, 'others-any', 'others-level', 'oth'),
        exploited: `exp${s.risk_from_others}`,
        stress: `str${s.stress_anxiety}`,
        ...gate(s.alcohol_drugs!, 'substances', 'substances-level', 'sub'),
        impulse: `imp${s.impulse_control}`,
        housing: `hou${s.housing}`,
      };
    case 'children-needs-screen':
      return {
        attendance: `att${s.attendance}`,
        ...(s.attendance! >= 2 ? { excluded: 'no' } : {}),
        attainment: `lrn${s.attainment}`,
        wellbeing: `wb${s.wellbeing}`,
        'family-housing': s.family! >= 2 ? 'yes' : 'no',
        'family-money': s.family! % 2 === 1 || s.family! >= 3 ? 'yes' : 'no',
        'young-carer': 'no',
        'social-care': s.family! >= 4 ? 'yes' : 'no',
      };
    case 'ons4-wellbeing':
      return {
        'ons-life-satisfaction': s.life_satisfaction!,
        'ons-worthwhile': s.worthwhile!,
        'ons-happy': s.happiness!,
        'ons-anxious': s.anxiety!,
      };
    case 'carers-assessment':
      return {
        'care-hours': `h${s.caring_role}`,
        'care-nights': 'no',
        'carer-health': `ch${s.carer_health}`,
        ...(s.carer_health! >= 3 ? { 'carer-gp': 'yes' } : {}),
        'life-balance': `lb${s.life_balance}`,
        lonely: `lo${s.connections}`,
        'money-worries': `mo${s.money}`,
        emergency: s.emergency_plan! >= 3 ? 'no' : s.emergency_plan! >= 1 ? 'partly' : 'yes',
      };
    default:
      return {};
  }
}

/** Baseline area scores from the person's needs, then a per-person trajectory: most improve, some do not. */
function trajectory(questionnaireId: string, personId: string, needs: Map<string, number>, k: number): Record<string, number> {
  const r = (salt: string) => unit(`${personId}|${questionnaireId}|${salt}`);
  const rate = r('rate') < 0.15 ? -0.15 : 0.25 + r('rate2') * 0.45;
  const sev = (...codes: string[]) => Math.max(0, ...codes.map((c) => needs.get(c) ?? 0));
  const fall = (base: number, salt: string) => clamp(base - k * rate * (0.6 + r(salt) * 0.8) + (r(`${salt}${k}`) - 0.5) * 0.6, 0, 4);
  switch (questionnaireId) {
    case 'md-assessment':
      return {
        engagement: fall(2 + r('e') * 2, 'e'),
        social_effectiveness: fall(1.5 + r('s') * 2, 's'),
        self_harm: fall(sev('mental_health') > 0 ? 1 + r('h') * 2.5 : r('h') * 1.5, 'h'),
        risk_to_others: fall(sev('offending') > 0 ? 1 + r('o') * 2 : r('o'), 'o'),
        risk_from_others: fall(sev('domestic_abuse') > 0 ? 3 : r('f') * 2.5, 'f'),
        stress_anxiety: fall(1.5 + sev('mental_health') * 0.8 + r('a'), 'a'),
        alcohol_drugs: fall(sev('substance_misuse') > 0 ? 1.5 + sev('substance_misuse') * 0.8 : r('d'), 'd'),
        impulse_control: fall(1 + r('i') * 2.5, 'i'),
        housing: fall(
          sev('homelessness', 'housing_unsuitable') > 0 ? 1.5 + sev('homelessness', 'housing_unsuitable') * 0.8 : 1 + r('u'),
          'u',
        ),
      };
    case 'children-needs-screen':
      return {
        attendance: fall(sev('child_school_attendance') > 0 ? 2 + sev('child_school_attendance') * 0.6 : 1 + r('t'), 't'),
        attainment: fall(1.5 + r('l') * 2, 'l'),
        wellbeing: fall(sev('child_wellbeing') > 0 ? 2 + sev('child_wellbeing') * 0.6 : 1 + r('w'), 'w'),
        family: fall(1 + r('f') * 3, 'f'),
      };
    case 'ons4-wellbeing': {
      const up = (base: number, salt: string) => clamp(base + k * rate * 2 * (0.6 + r(salt) * 0.8) + (r(`${salt}${k}`) - 0.5) * 1.5, 0, 10);
      return {
        life_satisfaction: up(3 + r('ls') * 3, 'ls'),
        worthwhile: up(4 + r('ww') * 3, 'ww'),
        happiness: up(3 + r('hp') * 3, 'hp'),
        anxiety: clamp(7 - r('ax') * 3 - k * rate * 2, 0, 10),
      };
    }
    case 'carers-assessment':
      return {
        caring_role: fall(2 + r('c') * 2, 'c'),
        carer_health: fall(1.5 + sev('carer_strain') * 0.8, 'ch'),
        life_balance: fall(2 + r('lb') * 2, 'lb'),
        connections: fall(1 + sev('social_isolation') + r('cn'), 'cn'),
        money: fall(sev('financial_hardship') > 0 ? 2.5 : r('m') * 2, 'm'),
        emergency_plan: fall(2 + r('ep') * 2, 'ep'),
      };
    default:
      return {};
  }
}

interface Candidate {
  id: string;
  household_id: string | null;
  needs: Array<{ code: string; severity: number; organisation_id: string; organisation: string; recorded_at: string }>;
  tenure: string | null;
  composition: string | null;
}

export interface PlansSeedSummary {
  enrolments: number;
  plans: number;
  responses: number;
  seconds: number;
}

export async function seedPlans(db: Kysely<Database>): Promise<PlansSeedSummary> {
  const started = Date.now();
  await ensurePlansDefaults(db);
  const already = await db.selectFrom('model_enrolments').select('id').limit(1).executeTakeFirst();
  if (already) return { enrolments: 0, plans: 0, responses: 0, seconds: 0 };
  const anchor = (await latestEventAt(db)) ?? new Date('2026-10-31T12:00:00Z');
  const models = await loadOperatingModels(db);
  const questionnaires = new Map<string, Questionnaire>();
  for (const id of ['md-assessment', 'children-needs-screen', 'ons4-wellbeing', 'carers-assessment']) {
    const q = await loadQuestionnaire(db, id);
    if (q) questionnaires.set(id, q);
  }
  const organisations = (await organisationRecords(db)).map((o) => ({ id: o.id, kind: o.kind, name: o.name }));
  const taken = new Set<string>();

  const enrolments: Array<Database['model_enrolments'] & { id: string }> = [];
  const relationships: Array<{
    person_id: string;
    organisation_id: string;
    team_id: string | null;
    practitioner_id: string | null;
    role_label: string;
    reason: string;
    started_at: Date;
  }> = [];
  const directives: Array<{ person_id: string; recorded_at: Date; note: string }> = [];
  const plans: Array<Record<string, unknown>> = [];
  const members: Array<{ plan_id: string; person_id: string; added_at: Date }> = [];
  const goals: Array<Record<string, unknown>> = [];
  const actions: Array<Record<string, unknown>> = [];
  const reviews: Array<Record<string, unknown>> = [];
  const attainment: Array<{ review_id: string; goal_id: string; score: number }> = [];
  // Goal attainment scaling at each review (0054): where the goal stands against the progress expected by then.
  const gasRatings: Array<{ review_id: string; goal_id: string; level: number }> = [];
  // What the person says about the place's goals at each review (0151): the goals most people are
  // asked about, agreeing more as the plan goes on, recorded with them by the lead.
  const asked = new Set((await activeFramework(db)).outcomes.map((o) => o.code));
  const saidCodes = ['TOGETHER', 'INFO', 'WELL', 'CONN', 'SAFE', 'HOME'].filter((code) => asked.has(code));
  const placeGoalAnswers: Array<Record<string, unknown>> = [];
  const responses: Array<Record<string, unknown>> = [];
  const sources: Array<Record<string, unknown>> = [];
  const events: Array<{
    plan_id: string;
    at: Date;
    actor_user_id: null;
    actor_role: string;
    actor_organisation_id: string | null;
    kind: string;
    summary: string;
    detail: Record<string, unknown>;
  }> = [];

  for (const model of [...models].sort((a, b) => seedOrder(a.id) - seedOrder(b.id))) {
    const c = model.config;
    const limit = perModel[model.id] ?? 20;
    const rows = await sql<Candidate>`
      select p.person_id as id, p.household_id, p.tenure, p.composition,
             json_agg(json_build_object('code', n.code, 'severity', n.severity, 'organisation_id', n.organisation_id, 'organisation', o.name, 'recorded_at', n.recorded_at::text)) as needs
      from ${personsWithBirthAndHome} p
      join ${currentNeedsTable} n on n.person_id = p.person_id
      join ${organisationsTable} o on o.id = n.organisation_id
      where (${c.eligibility.minAge}::int is null or p.birth_date <= (${anchor}::timestamptz - make_interval(years => ${c.eligibility.minAge ?? 0}::int))::date)
        and (${c.eligibility.maxAge}::int is null or p.birth_date > (${anchor}::timestamptz - make_interval(years => ${(c.eligibility.maxAge ?? 0) + 1}::int))::date)
      group by p.person_id, p.household_id, p.tenure, p.composition
      having count(distinct n.code) filter (where n.code = any(${c.eligibility.needs}::text[])) >= ${c.eligibility.minNeeds}
      order by md5(p.person_id || ${model.id}) limit ${limit * 2}`.execute(db);
    const chosen = rows.rows.filter((r) => !taken.has(r.id)).slice(0, limit);
    if (chosen.length === 0) continue;
    for (const r of chosen) taken.add(r.id);
    const leads = (
      await sql<{ id: string; organisation_id: string; team_id: string }>`
      select pr.id, pr.organisation_id, pr.team_id from ${practitionersWithOrganisationTable} pr
      where pr.organisation_kind = any(${c.lead.organisationKinds}::text[]) and pr.role = any(${c.lead.practitionerRoles}::text[])
      order by array_position(${c.lead.organisationKinds}::text[], pr.organisation_kind), pr.id limit 3`.execute(db)
    ).rows;
    if (leads.length === 0) continue;
    const ids = chosen.map((r) => r.id);
    const householdIds = [...new Set(chosen.map((r) => r.household_id).filter((h): h is string => h !== null))];
    const [householdPeople, schools] = await Promise.all([
      membersOfHouseholds(db, householdIds),
      sql<{ person_id: string; organisation_id: string; organisation: string; at: Date; value: number }>`
        select distinct on (e.person_id) e.person_id, e.organisation_id, ${organisationNameOf('e.organisation_id')} as organisation, e.at, e.value
        from ${eventsOfTypes(['school_attendance_term'])} e
        where e.person_id = any(${ids}::text[]) order by e.person_id, e.at desc`.execute(db),
    ]);
    // Everyone a plan may name (household members too) who already holds a sharing choice: the
    // consent form on joining is recorded only for people with none, so nobody holds it twice.
    const hasDirective = await peopleWithDirectives(db, [...ids, ...householdPeople.map((p) => p.id)]);
    const schoolOf = new Map(schools.rows.map((s) => [s.person_id, s]));
    const byHousehold = new Map<string, string[]>();
    for (const p of householdPeople)
      if (p.household_id) (byHousehold.get(p.household_id) ?? byHousehold.set(p.household_id, []).get(p.household_id)!).push(p.id);
    const partnerOrg = (kinds: string[], salt: string, personId: string): { id: string; name: string } | undefined => {
      if (kinds.includes('school')) {
        const s = schoolOf.get(personId);
        if (s) return { id: s.organisation_id, name: s.organisation };
      }
      const options = organisations.filter((o) => kinds.includes(o.kind));
      return options.length ? options[Math.floor(unit(`${personId}|${salt}`) * options.length)] : undefined;
    };

    chosen.forEach((person, index) => {
      const lead = leads[index % leads.length]!;
      const needs = new Map(person.needs.map((n) => [n.code, Math.max(n.severity, 0)]));
      const monthsAgo = 9 + Math.floor(unit(`${person.id}|start`) * 10);
      const enrolledOn = addMonths(anchor, -monthsAgo);
      const enrolledAt = new Date(`${enrolledOn}T10:00:00Z`);
      const enrolmentId = `enr-${model.id}-${person.id}`;
      const planId = `plan-${model.id}-${person.id}`;
      const memberIds =
        c.planSubject === 'household' && person.household_id
          ? (byHousehold.get(person.household_id) ?? [person.id]).slice(0, 6)
          : [person.id];
      if (!memberIds.includes(person.id)) memberIds.unshift(person.id);
      const facts: PrefillFacts = {
        now: anchor,
        age: null,
        answers: [],
        needs: person.needs.map((n) => ({
          code: n.code,
          severity: n.severity,
          organisationId: n.organisation_id,
          organisation: n.organisation,
          recordedAt: n.recorded_at,
          category: categoryOfNeed(n.code),
        })),
        events: schoolOf.has(person.id)
          ? [
              {
                type: 'school_attendance_term',
                at: new Date(schoolOf.get(person.id)!.at),
                value: schoolOf.get(person.id)!.value,
                organisationId: schoolOf.get(person.id)!.organisation_id,
                organisation: schoolOf.get(person.id)!.organisation,
                category: categoryOfEvent('school_attendance_term'),
              },
            ]
          : [],
        household:
          person.tenure && person.composition ? { tenure: person.tenure, composition: person.composition, category: 'housing' } : null,
      };

      // Assessments: the model's own, repeated at its interval; others once or twice.
      let firstResponseId: string | null = null;
      const assess = (questionnaireId: string, everyMonths: number, maxCount: number, offsetMonths: number) => {
        const q = questionnaires.get(questionnaireId);
        if (!q) return [] as Array<{ on: string; total: number | null }>;
        const out: Array<{ on: string; total: number | null }> = [];
        for (let k = 0; k < maxCount; k++) {
          const on = addMonths(enrolledAt, offsetMonths + k * everyMonths);
          if (on > anchor.toISOString().slice(0, 10)) break;
          const at = new Date(`${on}T11:00:00Z`);
          const generated = answersFor(questionnaireId, trajectory(questionnaireId, person.id, needs, k));
          const prefilled = prefillQuestionnaire(q, { ...facts, now: at });
          // The first time, what the network already knows is taken as it is; later, people's answers move on.
          const answers: Answers =
            k === 0 ? { ...generated, ...Object.fromEntries(Object.entries(prefilled).map(([l, p]) => [l, p.value])) } : generated;
          const score = scoreResponse(q, answers);
          const { counts, reused } = tellItOnce(answers, prefilled);
          const id = `qr-${questionnaireId}-${person.id}-${k + 1}`;
          if (firstResponseId === null && questionnaireId === (c.identification?.questionnaireId ?? c.assessment.questionnaireId))
            firstResponseId = id;
          const response = buildResponse(q, answers, {
            subjectReference: `Patient/${person.id}`,
            authored: at.toISOString(),
            author: { reference: `Practitioner/${lead.id}` },
            reused,
            score,
          });
          response.id = id;
          responses.push({
            id,
            questionnaire_id: q.id,
            questionnaire_version: q.version,
            person_id: person.id,
            organisation_id: lead.organisation_id,
            practitioner_id: lead.id,
            author_user_id: null,
            author_role: 'practitioner',
            enrolment_id: enrolmentId,
            authored_at: at,
            response,
            total_score: score.total,
            domain_scores: score.domains,
            rules_met: score.rules,
            complete: score.complete,
            items_answered: counts.answered,
            items_reused: counts.reused,
            items_asked: counts.asked,
            items_changed: counts.changed,
          });
          for (const [linkId, s] of Object.entries(reused))
            sources.push({
              response_id: id,
              link_id: linkId,
              kind: s.kind,
              category: s.category,
              organisation_id: s.organisationId,
              recorded_at: s.recordedAt,
              detail: s.detail,
            });
          events.push({
            plan_id: planId,
            at,
            actor_user_id: null,
            actor_role: 'practitioner',
            actor_organisation_id: lead.organisation_id,
            kind: 'assessment',
            summary: `${q.title} completed${score.total !== null ? `: total ${score.total}` : ''}`,
            detail: { responseId: id, personId: person.id },
          });
          out.push({ on, total: score.total });
        }
        return out;
      };
      const main = assess(c.assessment.questionnaireId, c.assessment.everyMonths, 8, 0);
      for (const other of c.otherAssessments) {
        if (other === 'carers-assessment' && !needs.has('carer_strain')) continue;
        assess(other, 6, 2, 1);
      }

      enrolments.push({
        id: enrolmentId,
        model_id: model.id,
        person_id: person.id,
        household_id: person.household_id,
        lead_practitioner_id: lead.id,
        lead_organisation_id: lead.organisation_id,
        lead_role_label: c.lead.roleLabel,
        identified_by_response_id: c.identification ? firstResponseId : null,
        consent_recorded_at: c.consentToEnrol ? enrolledAt : null,
        consent_note: c.consentToEnrol
          ? c.planSubject === 'household'
            ? 'parent agreed to enrolment and to sharing with the care network'
            : 'agreed to enrolment and to sharing with the care network'
          : null,
        enrolled_at: enrolledAt,
        planned_end: c.planMonths ? addMonths(enrolledAt, c.planMonths) : null,
        ended_at: null,
        end_reason: null,
        recorded_by: null,
      });
      for (const m of memberIds)
        relationships.push({
          person_id: m,
          organisation_id: lead.organisation_id,
          team_id: lead.team_id,
          practitioner_id: lead.id,
          role_label: c.lead.roleLabel,
          reason: `${model.name}: ${c.lead.roleLabel}`,
          started_at: enrolledAt,
        });
      if (c.consentToEnrol)
        for (const m of memberIds)
          if (!hasDirective.has(m)) {
            hasDirective.add(m);
            directives.push({ person_id: m, recorded_at: enrolledAt, note: `agreed on joining ${model.name}` });
          }

      // The plan: goals in the person's words, actions for delivery partners, reviews at each reassessment.
      const title = c.planSubject === 'household' && memberIds.length > 1 ? `${model.name}: family plan` : `${model.name}: my plan`;
      plans.push({
        id: planId,
        subject_kind: memberIds.length > 1 ? 'household' : 'person',
        person_id: person.id,
        household_id: person.household_id,
        model_id: model.id,
        enrolment_id: enrolmentId,
        title,
        strengths: c.planSections[0] === 'strengths' ? 'Knows the neighbourhood well; good with people; keen gardener' : null,
        connections: c.planSections[0] === 'strengths' ? 'Neighbour next door; a cousin nearby; the church coffee morning' : null,
        status: 'active',
        organisation_id: lead.organisation_id,
        created_by: null,
        created_at: enrolledAt,
        next_review_on: addMonths(main.length ? main[main.length - 1]!.on : enrolledOn, c.reviewEveryMonths),
        ends_on: c.planMonths ? addMonths(enrolledAt, c.planMonths) : null,
      });
      for (const m of memberIds) members.push({ plan_id: planId, person_id: m, added_at: enrolledAt });
      events.push({
        plan_id: planId,
        at: enrolledAt,
        actor_user_id: null,
        actor_role: 'practitioner',
        actor_organisation_id: lead.organisation_id,
        kind: 'created',
        summary: `Plan "${title}" started${memberIds.length > 1 ? ` for a household of ${memberIds.length}` : ''}`,
        detail: {},
      });
      const bank = goalBank[model.id] ?? [];
      const start = Math.floor(unit(`${person.id}|goals`) * bank.length);
      const planGoals = [0, 1, 2].map((i) => bank[(start + i) % bank.length]!).filter(Boolean);
      const parent = memberIds.find((m) => m !== person.id) ?? person.id;
      planGoals.forEach((g, i) => {
        const goalId = `${planId}-g${i + 1}`;
        goals.push({
          id: goalId,
          plan_id: planId,
          person_id: c.planSubject === 'household' && !g.forChild ? parent : person.id,
          text: g.text,
          outcome_codes: g.outcomes,
          set_by: 'person',
          organisation_id: null,
          created_by: null,
          created_at: enrolledAt,
          status: 'open',
        });
        events.push({
          plan_id: planId,
          at: enrolledAt,
          actor_user_id: null,
          actor_role: 'citizen',
          actor_organisation_id: null,
          kind: 'goal_added',
          summary: `Goal added by the person, in their own words: "${g.text}"`,
          detail: { goalId },
        });
      });
      const partnerOrgs = new Set<string>();
      (actionBank[model.id] ?? []).forEach((a, i) => {
        const org = partnerOrg(a.kinds, `action${i}`, person.id);
        if (!org) return;
        const actionId = `${planId}-a${i + 1}`;
        const dueOn = addMonths(enrolledAt, 1 + i);
        const done = dueOn < addMonths(anchor, -1) && unit(`${actionId}|done`) < 0.75;
        const completedAt = done ? new Date(`${addMonths(enrolledAt, i)}T15:00:00Z`) : null;
        actions.push({
          id: actionId,
          plan_id: planId,
          goal_id: `${planId}-g${(i % planGoals.length) + 1}`,
          description: a.text,
          assigned_organisation_id: org.id,
          assigned_practitioner_id: null,
          due_on: dueOn,
          status: done ? 'done' : 'open',
          organisation_id: lead.organisation_id,
          created_by: null,
          created_at: enrolledAt,
          completed_at: completedAt,
          completed_by: null,
        });
        events.push({
          plan_id: planId,
          at: enrolledAt,
          actor_user_id: null,
          actor_role: 'practitioner',
          actor_organisation_id: lead.organisation_id,
          kind: 'action_added',
          summary: `Action for ${org.name}, due ${dueOn}: "${a.text}"`,
          detail: { actionId },
        });
        if (completedAt)
          events.push({
            plan_id: planId,
            at: completedAt,
            actor_user_id: null,
            actor_role: 'practitioner',
            actor_organisation_id: org.id,
            kind: 'action_done',
            summary: `Action done: "${a.text}"`,
            detail: { actionId },
          });
        // The lead's own organisation too: the lead's relationship is theirs alone, and a colleague
        // who picks up an action assigned to the organisation needs the organisation's.
        if (!partnerOrgs.has(org.id)) {
          partnerOrgs.add(org.id);
          for (const m of memberIds)
            relationships.push({
              person_id: m,
              organisation_id: org.id,
              team_id: null,
              practitioner_id: null,
              role_label: 'plan partner',
              reason: `actions in the shared plan "${title}"`,
              started_at: enrolledAt,
            });
        }
      });
      main.slice(1).forEach((m, k) => {
        const reviewId = `${planId}-r${k + 1}`;
        const doneBy = actions.filter(
          (a) => a.plan_id === planId && a.completed_at instanceof Date && (a.completed_at as Date).toISOString().slice(0, 10) <= m.on,
        ).length;
        const total = actions.filter((a) => a.plan_id === planId).length;
        reviews.push({
          id: reviewId,
          plan_id: planId,
          reviewed_on: m.on,
          organisation_id: lead.organisation_id,
          note: 'Reviewed together with the person',
          actions_done: doneBy,
          actions_total: total,
          next_review_on: addMonths(m.on, c.reviewEveryMonths),
          created_by: null,
          created_at: new Date(`${m.on}T12:00:00Z`),
        });
        for (const code of saidCodes)
          placeGoalAnswers.push({
            person_id: person.id,
            outcome_code: code,
            answer: clamp(1.5 + (k + 1) * 0.6 + unit(`${reviewId}|said|${code}`) * 2.4, 1, 5),
            source: 'review',
            review_id: reviewId,
            service_id: null,
            recorded_for: 'practitioner',
            recorded_by: 'seed',
            answered_at: new Date(`${m.on}T12:00:00Z`),
          });
        let sum = 0;
        planGoals.forEach((_, gi) => {
          const score = clamp(2 + (k + 1) * (1 + unit(`${reviewId}|${gi}`) * 1.5), 0, 10);
          sum += score;
          attainment.push({ review_id: reviewId, goal_id: `${planId}-g${gi + 1}`, score });
          // Expected by the k-th review: the middle of the scores seen there; a point and a half either side is one level.
          gasRatings.push({
            review_id: reviewId,
            goal_id: `${planId}-g${gi + 1}`,
            level: clamp((score - (2 + (k + 1) * 1.75)) / 1.5, -2, 2),
          });
        });
        events.push({
          plan_id: planId,
          at: new Date(`${m.on}T12:00:00Z`),
          actor_user_id: null,
          actor_role: 'practitioner',
          actor_organisation_id: lead.organisation_id,
          kind: 'reviewed',
          summary: `Plan reviewed: ${doneBy} of ${total} actions done, goals ${Math.round((sum / planGoals.length) * 10) / 10} out of 10 on average`,
          detail: { reviewId },
        });
      });
    });
  }

  await db.transaction().execute(async (trx) => {
    const txt = (name: string) => ({ name, type: 'text', value: (r: Record<string, unknown>) => r[name] ?? null });
    const col = (name: string, type: string) => ({ name, type, value: (r: Record<string, unknown>) => r[name] ?? null });
    await bulkInsert(
      trx,
      'model_enrolments',
      [
        txt('id'),
        txt('model_id'),
        txt('person_id'),
        txt('household_id'),
        txt('lead_practitioner_id'),
        txt('lead_organisation_id'),
        txt('lead_role_label'),
        txt('identified_by_response_id'),
        col('consent_recorded_at', 'timestamptz'),
        txt('consent_note'),
        col('enrolled_at', 'timestamptz'),
        col('planned_end', 'date'),
      ],
      enrolments as unknown as Array<Record<string, unknown>>,
    );
    // One open relationship per person, organisation, team, practitioner and role: two plans for
    // the same household (two of its children chosen) name the same link worker and partners, and
    // each used to open them again. The earliest stands.
    const opened = new Set<string>();
    const distinctRelationships = [...relationships]
      .sort((a, b) => a.started_at.getTime() - b.started_at.getTime())
      .filter((r) => {
        const key = `${r.person_id}|${r.organisation_id}|${r.team_id}|${r.practitioner_id}|${r.role_label}`;
        if (opened.has(key)) return false;
        opened.add(key);
        return true;
      });
    await seedRelationships(
      trx,
      distinctRelationships.map((r) => ({
        personId: r.person_id,
        organisationId: r.organisation_id,
        teamId: r.team_id,
        practitionerId: r.practitioner_id,
        kind: 'network' as const,
        roleLabel: r.role_label,
        reason: r.reason,
        startedAt: r.started_at,
        endedAt: null,
      })),
    );
    await bulkInsert(
      trx,
      'questionnaire_responses',
      [
        txt('id'),
        txt('questionnaire_id'),
        txt('questionnaire_version'),
        txt('person_id'),
        txt('organisation_id'),
        txt('practitioner_id'),
        txt('author_role'),
        txt('enrolment_id'),
        col('authored_at', 'timestamptz'),
        col('response', 'jsonb'),
        col('total_score', 'float8'),
        col('domain_scores', 'jsonb'),
        col('rules_met', 'jsonb'),
        col('complete', 'boolean'),
        col('items_answered', 'int'),
        col('items_reused', 'int'),
        col('items_asked', 'int'),
        col('items_changed', 'int'),
      ],
      responses,
      1000,
    );
    await bulkInsert(
      trx,
      'response_prefill_sources',
      [txt('response_id'), txt('link_id'), txt('kind'), txt('category'), txt('organisation_id'), col('recorded_at', 'date'), txt('detail')],
      sources,
    );
    await bulkInsert(
      trx,
      'plans',
      [
        txt('id'),
        txt('subject_kind'),
        txt('person_id'),
        txt('household_id'),
        txt('model_id'),
        txt('enrolment_id'),
        txt('title'),
        txt('strengths'),
        txt('connections'),
        txt('status'),
        txt('organisation_id'),
        txt('created_by'),
        col('created_at', 'timestamptz'),
        col('next_review_on', 'date'),
        col('ends_on', 'date'),
      ],
      plans,
    );
    await bulkInsert(
      trx,
      'plan_members',
      [txt('plan_id'), txt('person_id'), col('added_at', 'timestamptz')],
      members as unknown as Array<Record<string, unknown>>,
    );
    await bulkInsert(
      trx,
      'plan_goals',
      [
        txt('id'),
        txt('plan_id'),
        txt('person_id'),
        txt('text'),
        col('outcome_codes', 'jsonb'),
        txt('set_by'),
        txt('organisation_id'),
        txt('created_by'),
        col('created_at', 'timestamptz'),
        txt('status'),
      ],
      goals,
    );
    await bulkInsert(
      trx,
      'plan_actions',
      [
        txt('id'),
        txt('plan_id'),
        txt('goal_id'),
        txt('description'),
        txt('assigned_organisation_id'),
        txt('assigned_practitioner_id'),
        col('due_on', 'date'),
        txt('status'),
        txt('organisation_id'),
        txt('created_by'),
        col('created_at', 'timestamptz'),
        col('completed_at', 'timestamptz'),
        txt('completed_by'),
      ],
      actions,
    );
    await bulkInsert(
      trx,
      'plan_reviews',
      [
        txt('id'),
        txt('plan_id'),
        col('reviewed_on', 'date'),
        txt('organisation_id'),
        txt('note'),
        col('actions_done', 'int'),
        col('actions_total', 'int'),
        col('next_review_on', 'date'),
        txt('created_by'),
        col('created_at', 'timestamptz'),
      ],
      reviews,
    );
    await bulkInsert(
      trx,
      'goal_attainment',
      [txt('review_id'), txt('goal_id'), col('score', 'smallint')],
      attainment as unknown as Array<Record<string, unknown>>,
    );
    await bulkInsert(
      trx,
      'goal_gas_ratings',
      [txt('review_id'), txt('goal_id'), col('level', 'smallint')],
      gasRatings as unknown as Array<Record<string, unknown>>,
    );
    await bulkInsert(
      trx,
      'place_goal_answers',
      [
        txt('person_id'),
        txt('outcome_code'),
        col('answer', 'smallint'),
        txt('source'),
        txt('review_id'),
        txt('service_id'),
        txt('recorded_for'),
        txt('recorded_by'),
        col('answered_at', 'timestamptz'),
      ],
      placeGoalAnswers,
    );
    events.sort((a, b) => a.at.getTime() - b.at.getTime() || a.plan_id.localeCompare(b.plan_id));
    await bulkInsert(
      trx,
      'plan_events',
      [
        txt('plan_id'),
        col('at', 'timestamptz'),
        txt('actor_user_id'),
        txt('actor_role'),
        txt('actor_organisation_id'),
        txt('kind'),
        txt('summary'),
        col('detail', 'jsonb'),
      ],
      events as unknown as Array<Record<string, unknown>>,
    );
    // Each member signed the model's consent form on joining: their own word, to the whole network.
    await seedDirectives(
      trx,
      directives.map((d) => ({
        personId: d.person_id,
        category: '*' as const,
        recipientKind: 'network' as const,
        recipientId: null,
        decision: 'permit' as const,
        recordedAt: d.recorded_at,
        validUntil: null,
        withdrawnAt: null,
        recordedFor: 'person' as const,
        note: d.note,
        evidence: null,
      })),
    );
  });
  // The multiple-disadvantage model's integrated team, holding everyone on the model (teams-seed.ts).
  await seedIntegratedTeam(db);
  return { enrolments: enrolments.length, plans: plans.length, responses: responses.length, seconds: (Date.now() - started) / 1000 };
}
