// Database tests for the plans module, on PGlite and PostgreSQL: the framework as data, prefill
// through the access decision, stored responses with "tell it once" counts, plan history kept
// append-only, household plans bringing action partners into the network, and measurements.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { testDatabaseTargets, testOrganisation } from '../testing.ts';
import type { Database } from '../schema.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideAccess } from '../consent/index.ts';
import { activeFramework, ensurePlansDefaults, installFramework, loadQuestionnaire, outcomeMappings } from './store.ts';
import { defaultFramework } from './framework.ts';
import { prefillFor, submitAssessment, tellItOnceByForm } from './assessments.ts';
import { addAction, addGoal, completeAction, createPlan, loadPlan, recordReview, updateGoalStatus, updatePlan } from './plans.ts';
import { assessmentSeries, changeFromFirstToLatest, goalAttainmentRows, measurementRows } from './measurements.ts';

async function fixture(db: Kysely<Database>) {
  await db.insertInto('places').values({ id: 'pl', name: 'Testford', postcode_area: 'TF', seed: 1 }).execute();
  await db.insertInto('localities').values({ id: 'loc', place_id: 'pl', name: 'Centre' }).execute();
  await db
    .insertInto('small_areas')
    .values({ id: 'sa', code: 'T01', name: 'Centre 1', locality_id: 'loc', deprivation_decile: 2, lat: 0, lon: 0, target_population: 10 })
    .execute();
  const org = testOrganisation;
  await db
    .insertInto('organisations')
    .values([org('mh', 'mental_health_trust'), org('char', 'charity'), org('hous', 'council_housing'), org('gp', 'gp_practice')])
    .execute();
  await db
    .insertInto('teams')
    .values([
      { id: 't-char', organisation_id: 'char', name: 'Team' },
      { id: 't-hous', organisation_id: 'hous', name: 'Team' },
      { id: 't-gp', organisation_id: 'gp', name: 'Team' },
    ])
    .execute();
  await db
    .insertInto('practitioners')
    .values([
      {
        id: 'pr-coord',
        organisation_id: 'char',
        team_id: 't-char',
        given_name: 'Cora',
        family_name: 'Ord',
        role: 'coordinator',
        email: 'c@example.org',
      },
      {
        id: 'pr-house',
        organisation_id: 'hous',
        team_id: 't-hous',
        given_name: 'Hal',
        family_name: 'Using',
        role: 'housing_officer',
        email: 'h@example.org',
      },
      { id: 'pr-gp', organisation_id: 'gp', team_id: 't-gp', given_name: 'Gail', family_name: 'Prac', role: 'gp', email: 'g@example.org' },
    ])
    .execute();
  await db
    .insertInto('households')
    .values({
      id: 'hh',
      small_area_id: 'sa',
      postcode: 'TF1 1AA',
      address_line: '1 Test Street',
      composition: 'lone_parent',
      tenure: 'temporary_accommodation',
    })
    .execute();
  const person = (id: string, given: string, birth: string) => ({
    id,
    household_id: 'hh',
    given_name: given,
    middle_name: null,
    family_name: 'Tester',
    birth_family_name: null,
    birth_date: birth,
    sex: 'female',
    ethnicity_group: null,
    disability: false,
    nhs_number: null,
    phone: null,
    email: null,
  });
  await db
    .insertInto('persons')
    .values([person('p-mum', 'Maya', '1990-02-03'), person('p-kid', 'Kit', '2015-05-06')])
    .execute();
  await db
    .insertInto('needs')
    .values([
      { person_id: 'p-mum', code: 'mental_health', organisation_id: 'mh', recorded_at: '2026-06-01', severity: 3, current: true },
      { person_id: 'p-mum', code: 'substance_misuse', organisation_id: 'char', recorded_at: '2026-05-01', severity: 2, current: true },
    ])
    .execute();
  const user = (
    id: string,
    practitionerId: string | null,
    organisationId: string | null,
    role: SignedInUser['role'] = 'practitioner',
    personId: string | null = null,
  ): SignedInUser => ({
    id,
    username: id,
    displayName: id,
    role,
    personId,
    practitionerId,
    organisationId,
    teamId: practitionerId ? `t-${organisationId}` : null,
  });
  for (const [id, role, personId, practitionerId, organisationId] of [
    ['u-coord', 'practitioner', null, 'pr-coord', 'char'],
    ['u-house', 'practitioner', null, 'pr-house', 'hous'],
    ['u-gp', 'practitioner', null, 'pr-gp', 'gp'],
    ['u-mum', 'citizen', 'p-mum', null, null],
  ] as const) {
    await db
      .insertInto('users')
      .values({
        id,
        username: id,
        display_name: id,
        role,
        password_hash: null,
        oidc_subject: null,
        person_id: personId,
        practitioner_id: practitionerId,
        organisation_id: organisationId,
      } as never)
      .execute();
  }
  // The coordinator is in both people's network; nobody has agreed to share yet.
  for (const p of ['p-mum', 'p-kid']) {
    await db
      .insertInto('care_relationships')
      .values({
        person_id: p,
        organisation_id: 'char',
        team_id: 't-char',
        practitioner_id: 'pr-coord',
        kind: 'network',
        role_label: 'named coordinator',
        reason: 'test',
        ended_at: null,
        recorded_by: null,
      })
      .execute();
  }
  return {
    coordinator: user('u-coord', 'pr-coord', 'char'),
    housing: user('u-house', 'pr-house', 'hous'),
    gp: user('u-gp', 'pr-gp', 'gp'),
    mum: user('u-mum', null, null, 'citizen', 'p-mum'),
  };
}

async function consent(db: Kysely<Database>, personId: string) {
  await db
    .insertInto('consent_directives')
    .values({
      person_id: personId,
      category: '*',
      recipient_kind: 'network',
      recipient_id: null,
      purposes: ['direct_care', 'care_coordination'],
      decision: 'permit',
      valid_from: new Date(Date.now() - 1000),
      recorded_at: new Date(Date.now() - 1000),
      recorded_by: null,
      recorded_by_role: 'citizen',
      valid_until: null,
      withdrawn_at: null,
      withdrawn_by: null,
      note: null,
    })
    .execute();
}

for (const target of await testDatabaseTargets()) {
  describe(`plans on ${target.kind}`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    let users: Awaited<ReturnType<typeof fixture>>;
    before(async () => {
      handle = await target.open();
      db = handle.db;
      await ensurePlansDefaults(db);
      users = await fixture(db);
    });
    after(async () => {
      await handle?.close();
    });

    test('the framework is data: outcomes, every need mapped, every shipped question mapped', async () => {
      const framework = await activeFramework(db);
      assert.equal(framework.id, defaultFramework.id);
      assert.equal(framework.outcomes.length, 12);
      assert.deepEqual(Object.keys(framework.needs).sort(), Object.keys(defaultFramework.needs).sort());
      const mappings = await outcomeMappings(db, framework.id);
      assert.ok(mappings.some((m) => m.sourceKind === 'question' && m.sourceCode === 'md-assessment#housing' && m.outcomeCode === 'HOME'));
      assert.ok(mappings.some((m) => m.sourceKind === 'domain' && m.sourceCode === 'children-needs-screen#attendance'));
      // A place adopts its own framework: it becomes the active one.
      await installFramework(
        db,
        {
          ...defaultFramework,
          id: 'testford-v1',
          name: 'Testford outcomes',
          outcomes: defaultFramework.outcomes.map((o) => ({ ...o, label: `${o.label} (Testford)` })),
        },
        'pl',
      );
      assert.equal((await activeFramework(db)).id, 'testford-v1');
      assert.match((await activeFramework(db)).outcomes[0]!.label, /Testford/);
    });

    test("prefill respects the access decision: without consent, only the reader's own organisation's facts", async () => {
      const q = (await loadQuestionnaire(db, 'md-assessment'))!;
      const without = await prefillFor(db, users.coordinator, 'p-mum', q);
      // The charity recorded the substance misuse itself; the mental health trust's need is not shared.
      assert.equal(without.prefilled.substances?.value, 'yes');
      assert.equal(without.prefilled['substances-level']?.value, 'sub3');
      assert.equal(without.prefilled.stress, undefined);
      assert.equal(without.prefilled.housing, undefined, 'tenure is housing information the person has not shared');
      assert.ok(without.withheld >= 1);
      // A practitioner with no relationship gets nothing at all.
      const stranger = await prefillFor(db, users.gp, 'p-mum', q);
      assert.deepEqual(stranger.prefilled, {});
      // Once the person agrees to share with their network, the trust's record fills the answer in, with its source.
      await consent(db, 'p-mum');
      const withConsent = await prefillFor(db, users.coordinator, 'p-mum', q);
      assert.equal(withConsent.prefilled.stress?.value, 'str4');
      assert.equal(withConsent.prefilled.stress?.source.organisationId, 'mh');
      assert.equal(withConsent.prefilled.tenure?.value, 'temporary_accommodation');
      // The citizen sees their own record in full.
      assert.equal((await prefillFor(db, users.mum, 'p-mum', q)).prefilled.stress?.value, 'str4');
      // And every decision was audited.
      const audited = await db
        .selectFrom('audit_events')
        .select(['decision'])
        .where('person_id', '=', 'p-mum')
        .where('actor_user_id', '=', 'u-gp')
        .execute();
      assert.ok(audited.length > 0 && audited.every((a) => a.decision === 'deny'));
    });

    let planId = '';
    test('a household plan: goals, actions for two agencies, the partner joins the network and marks an action done', async () => {
      planId = await db.transaction().execute((trx) =>
        createPlan(trx, users.coordinator, {
          personId: 'p-mum',
          householdId: 'hh',
          memberIds: ['p-kid'],
          title: 'Family plan',
          nextReviewOn: '2027-01-15',
        }),
      );
      const framework = new Set(defaultFramework.outcomes.map((o) => o.code));
      const goal = await db
        .transaction()
        .execute((trx) =>
          addGoal(
            trx,
            users.mum,
            planId,
            { personId: 'p-mum', text: 'Somewhere settled for me and Kit', outcomeCodes: ['HOME'], setBy: 'person' },
            framework,
          ),
        );
      await assert.rejects(
        () =>
          db
            .transaction()
            .execute((trx) =>
              addGoal(
                trx,
                users.coordinator,
                planId,
                { personId: 'p-kid', text: 'x', outcomeCodes: ['HOME'], setBy: 'practitioner' },
                framework,
              ),
            ),
        /3 to 500/,
      );
      await assert.rejects(
        () =>
          db
            .transaction()
            .execute((trx) =>
              addGoal(
                trx,
                users.coordinator,
                planId,
                { personId: 'p-kid', text: 'Go to school', outcomeCodes: ['NOPE'], setBy: 'practitioner' },
                framework,
              ),
            ),
        /outcomes/,
      );
      assert.equal(
        (await decideAccess(db, { actor: users.housing, personId: 'p-kid', category: 'plans', purpose: 'direct_care', action: 'read' }))
          .allowed,
        false,
        'housing is not yet involved',
      );
      const a1 = await db.transaction().execute((trx) =>
        addAction(trx, users.coordinator, planId, {
          goalId: goal,
          description: 'Move into a two-bedroom flat',
          assignedOrganisationId: 'hous',
          assignedPractitionerId: null,
          dueOn: '2026-12-20',
        }),
      );
      await db.transaction().execute((trx) =>
        addAction(trx, users.coordinator, planId, {
          goalId: null,
          description: 'Weekly check-in',
          assignedOrganisationId: 'char',
          assignedPractitionerId: 'pr-coord',
          dueOn: '2026-12-01',
        }),
      );
      // Assigning the action brought housing into both household members' care network.
      const rel = await db
        .selectFrom('care_relationships')
        .select(['person_id'])
        .where('organisation_id', '=', 'hous')
        .where('ended_at', 'is', null)
        .orderBy('person_id')
        .execute();
      assert.deepEqual(
        rel.map((r) => r.person_id),
        ['p-kid', 'p-mum'],
      );
      assert.equal(
        (await decideAccess(db, { actor: users.housing, personId: 'p-kid', category: 'plans', purpose: 'direct_care', action: 'read' }))
          .allowed,
        true,
      );
      await db.transaction().execute((trx) => completeAction(trx, users.housing, planId, a1));
      await db.transaction().execute((trx) =>
        recordReview(trx, users.coordinator, planId, {
          reviewedOn: '2026-12-21',
          scores: { [goal]: 6 },
          note: 'Moved in',
          nextReviewOn: '2027-03-21',
        }),
      );
      await assert.rejects(
        () =>
          db.transaction().execute((trx) =>
            recordReview(trx, users.coordinator, planId, {
              reviewedOn: '2026-12-22',
              scores: { [goal]: 11 },
              note: null,
              nextReviewOn: null,
            }),
          ),
        /0 \(not started\)/,
      );
      const plan = (await loadPlan(db, planId, '2026-12-30'))!;
      assert.equal(plan.subjectKind, 'household');
      assert.deepEqual(plan.members.map((m) => m.personId).sort(), ['p-kid', 'p-mum']);
      assert.equal(plan.actions.find((a) => a.id === a1)?.status, 'done');
      assert.equal(plan.reviews[0]?.actionsDone, 1);
      assert.equal(plan.reviews[0]?.actionsTotal, 2);
      assert.equal(plan.nextReviewOn, '2027-03-21');
      assert.deepEqual(plan.events.map((e) => e.kind).reverse(), [
        'created',
        'goal_added',
        'action_added',
        'action_added',
        'action_done',
        'reviewed',
      ]);
      const rows = await goalAttainmentRows(db);
      assert.deepEqual(
        rows.map((r) => [r.meanAttainment, r.actionsDone, r.actionsTotal]),
        [[6, 1, 2]],
      );
    });

    test("the plan's history is append-only", async () => {
      await assert.rejects(() => sql`update plan_events set summary = 'changed' where plan_id = ${planId}`.execute(db), /append-only/);
      await assert.rejects(() => sql`delete from plan_events where plan_id = ${planId}`.execute(db), /append-only/);
    });

    test('a plan is renamed, given an end date and closed, each change on its history; a goal is marked achieved once', async () => {
      const own = await db
        .transaction()
        .execute((trx) => createPlan(trx, users.coordinator, { personId: 'p-mum', householdId: null, memberIds: [], title: 'Own plan' }));
      const goal = await db
        .transaction()
        .execute((trx) =>
          addGoal(
            trx,
            users.coordinator,
            own,
            { personId: 'p-mum', text: 'Sleep better', outcomeCodes: ['HOME'], setBy: 'practitioner' },
            new Set(defaultFramework.outcomes.map((o) => o.code)),
          ),
        );
      await assert.rejects(() => db.transaction().execute((trx) => updatePlan(trx, users.coordinator, own, { title: 'x' })), /3 to 200/);
      await assert.rejects(
        () => db.transaction().execute((trx) => updatePlan(trx, users.coordinator, own, { endsOn: '2027-02-30' })),
        /real date/,
      );
      assert.equal(
        await db.transaction().execute((trx) => updatePlan(trx, users.coordinator, own, { title: 'Own plan' })),
        false,
        'nothing changed, nothing recorded',
      );
      assert.equal(
        await db
          .transaction()
          .execute((trx) =>
            updatePlan(trx, users.coordinator, own, { title: 'Settled and well', endsOn: '2027-06-30', strengths: ' Loves music ' }),
          ),
        true,
      );
      assert.equal(await db.transaction().execute((trx) => updatePlan(trx, users.coordinator, own, { status: 'closed' })), true);
      assert.equal(await db.transaction().execute((trx) => updateGoalStatus(trx, users.coordinator, own, goal, 'achieved')), true);
      assert.equal(await db.transaction().execute((trx) => updateGoalStatus(trx, users.coordinator, own, goal, 'achieved')), false);
      const plan = (await loadPlan(db, own))!;
      assert.deepEqual([plan.title, plan.endsOn, plan.strengths, plan.status], ['Settled and well', '2027-06-30', 'Loves music', 'closed']);
      assert.equal(plan.goals[0]?.status, 'achieved');
      assert.deepEqual(plan.events.map((e) => e.kind).reverse(), ['created', 'goal_added', 'updated', 'closed', 'goal_status']);
      assert.match(
        plan.events.find((e) => e.kind === 'updated')!.summary,
        /renamed "Settled and well", strengths updated, ends 2027-06-30/,
      );
    });

    test('submitting an assessment stores the FHIR response, scores, sources and tell-it-once counts; measurements follow', async () => {
      const q = (await loadQuestionnaire(db, 'md-assessment'))!;
      const base = {
        engagement: 'eng3',
        social: 'soc2',
        'harm-any': 'no',
        'others-any': 'no',
        exploited: 'exp1',
        impulse: 'imp2',
        housing: 'hou3',
      };
      // Keeps the prefilled answers for stress (str4), substances (yes, sub3) and tenure: three reused.
      const first = await submitAssessment(db, {
        actor: users.coordinator,
        personId: 'p-mum',
        questionnaire: q,
        raw: { ...base, stress: 'str4', substances: 'yes', 'substances-level': 'sub3', tenure: 'temporary_accommodation' },
        now: new Date('2026-08-01T10:00:00Z'),
      });
      assert.ok(first.ok);
      // 3+0+0+1+4+2+3+2+3 = 18
      assert.equal(first.score.total, 18);
      assert.deepEqual(first.counts, { answered: 11, reused: 4, asked: 7, changed: 0 });
      const sources = await db
        .selectFrom('response_prefill_sources')
        .select(['link_id', 'organisation_id'])
        .where('response_id', '=', first.responseId)
        .orderBy('link_id')
        .execute();
      assert.deepEqual(
        sources.map((s) => s.link_id),
        ['stress', 'substances', 'substances-level', 'tenure'],
      );
      assert.equal(sources.find((s) => s.link_id === 'stress')?.organisation_id, 'mh');
      const stored = await db
        .selectFrom('questionnaire_responses')
        .select(['response', 'items_reused', 'items_asked'])
        .where('id', '=', first.responseId)
        .executeTakeFirstOrThrow();
      const fhir = (typeof stored.response === 'string' ? JSON.parse(stored.response) : stored.response) as {
        resourceType: string;
        questionnaire: string;
      };
      assert.equal(fhir.resourceType, 'QuestionnaireResponse');
      assert.equal(fhir.questionnaire, 'https://joinery.example/fhir/Questionnaire/md-assessment|1');
      // Three months later, things are better; the changed answers count as asked.
      const second = await submitAssessment(db, {
        actor: users.coordinator,
        personId: 'p-mum',
        questionnaire: q,
        raw: { ...base, housing: 'hou1', stress: 'str2', substances: 'yes', 'substances-level': 'sub1', engagement: 'eng1' },
        now: new Date('2026-11-01T10:00:00Z'),
      });
      assert.ok(second.ok);
      assert.equal(second.counts.changed, 2);
      const missing = await submitAssessment(db, {
        actor: users.coordinator,
        personId: 'p-mum',
        questionnaire: q,
        raw: { ...base, 'harm-any': 'yes' },
      });
      assert.equal(missing.ok, false);
      await assert.rejects(() => submitAssessment(db, { actor: users.gp, personId: 'p-mum', questionnaire: q, raw: base }), /relationship/);
      const series = await assessmentSeries(db, 'p-mum', 'md-assessment');
      assert.deepEqual(
        series.map((s) => [s.domains.housing, s.domains.stress_anxiety]),
        [
          [3, 4],
          [1, 2],
        ],
      );
      const change = changeFromFirstToLatest(await measurementRows(db, { questionnaireId: 'md-assessment' }));
      assert.deepEqual(
        change.find((c) => c.domain === 'housing'),
        { domain: 'housing', people: 1, firstMean: 3, latestMean: 1, improved: 1, worsened: 0 },
      );
      const byForm = await tellItOnceByForm(db);
      // Reused: 4 the first time, then only "substances" (stress and its level were changed).
      assert.deepEqual(
        byForm.map((f) => [f.questionnaireId, f.responses, f.reused]),
        [['md-assessment', 2, 5]],
      );
      // The assessment is on the plan's history.
      const plan = (await loadPlan(db, planId))!;
      assert.equal(plan.events.filter((e) => e.kind === 'assessment').length, 2);
    });
  });
}
