// Outcomes people feel on PGlite and PostgreSQL: a hand-made place of ten people on one operating
// model, assessed twice, and two scored and rated goals, refreshed into the cube and read back as the
// inequality pages, the targets page and the cohort page read them, against hand-computed figures.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { testDatabaseTargets } from '../testing.ts';
import type { Database } from '../schema.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import { checkPlaceGoalAnswers, ensurePlansDefaults, PlaceGoalAnswerRefused, recordPlaceGoalAnswers } from '../plans/index.ts';
import { refreshInsight } from './refresh.ts';
import { inequality } from './queries.ts';
import { targetsAgainstActuals } from './targets.ts';
import { cohortsByModel } from './felt.ts';

const close = (actual: number | null | undefined, expected: number, eps = 1e-9) =>
  assert.ok(actual !== null && actual !== undefined && Math.abs(actual - expected) < eps, `${actual} is not ${expected}`);

// Five people in the most deprived decile fall 1..5 points; five in the least deprived fall 3..7.
const poor = ['p1', 'p2', 'p3', 'p4', 'p5'];
const rich = ['r1', 'r2', 'r3', 'r4', 'r5'];
const fall = (id: string) => Number(id.slice(1)) + (id.startsWith('r') ? 2 : 0);

async function fixture(db: Kysely<Database>) {
  await ensurePlansDefaults(db);
  await db.insertInto('places').values({ id: 'pl', name: 'Testford', postcode_area: 'TF', seed: 1 }).execute();
  await db.insertInto('localities').values({ id: 'loc', place_id: 'pl', name: 'Centre' }).execute();
  await db
    .insertInto('small_areas')
    .values([
      { id: 'sa-poor', code: 'T01', name: 'Centre 1', locality_id: 'loc', deprivation_decile: 1, lat: 0, lon: 0, target_population: 10 },
      { id: 'sa-rich', code: 'T02', name: 'Centre 2', locality_id: 'loc', deprivation_decile: 10, lat: 0, lon: 0, target_population: 10 },
    ])
    .execute();
  await db
    .insertInto('organisations')
    .values({
      id: 'char',
      name: 'Org char',
      kind: 'charity',
      source_code: 'CHAR',
      locality_id: null,
      postcode: 'TF1 1AA',
      phone: '0',
      email: 'x@example.org',
      website: 'https://example.org',
    })
    .execute();
  await db
    .insertInto('households')
    .values([
      {
        id: 'hh-poor',
        small_area_id: 'sa-poor',
        postcode: 'TF1 1AA',
        address_line: '1 Test Street',
        composition: 'shared_adults',
        tenure: 'social_rent',
      },
      {
        id: 'hh-rich',
        small_area_id: 'sa-rich',
        postcode: 'TF1 1AB',
        address_line: '2 Test Street',
        composition: 'couple',
        tenure: 'owner_occupied',
      },
    ])
    .execute();
  await db
    .insertInto('persons')
    .values(
      [...poor, ...rich].map((id) => ({
        id,
        household_id: id.startsWith('p') ? 'hh-poor' : 'hh-rich',
        given_name: `Secretname${id}`,
        middle_name: null,
        family_name: 'Zebedee',
        birth_family_name: null,
        birth_date: '1980-01-01',
        sex: 'female',
        ethnicity_group: 'white',
        disability: false,
        nhs_number: null,
        phone: null,
        email: null,
      })),
    )
    .execute();
  await db
    .insertInto('model_enrolments')
    .values(
      [...poor, ...rich].map((id) => ({
        id: `e-${id}`,
        model_id: 'md-coordination',
        person_id: id,
        household_id: null,
        lead_practitioner_id: null,
        lead_organisation_id: 'char',
        lead_role_label: 'Coordinator',
        identified_by_response_id: null,
        consent_recorded_at: null,
        consent_note: null,
        enrolled_at: new Date('2026-01-02T09:00:00Z'),
        planned_end: null,
        ended_at: null,
        end_reason: null,
        recorded_by: null,
      })),
    )
    .execute();
  const version = (await db.selectFrom('questionnaires').select('version').where('id', '=', 'md-assessment').executeTakeFirstOrThrow())
    .version;
  const response = (id: string, n: number, at: string, score: number) => ({
    id: `q-${id}-${n}`,
    questionnaire_id: 'md-assessment',
    questionnaire_version: version,
    person_id: id,
    organisation_id: 'char',
    practitioner_id: null,
    author_user_id: null,
    author_role: 'practitioner',
    enrolment_id: `e-${id}`,
    authored_at: new Date(at),
    response: '{}',
    total_score: score,
    domain_scores: '{}',
    rules_met: '{}',
    complete: true,
    items_answered: 9,
    items_reused: 0,
    items_asked: 9,
    items_changed: 0,
  });
  await db
    .insertInto('questionnaire_responses')
    .values(
      [...poor, ...rich].flatMap((id) => [
        response(id, 1, '2026-01-15T10:00:00Z', 20),
        response(id, 2, '2026-04-15T10:00:00Z', 20 - fall(id)),
      ]),
    )
    .execute();
  // Two goals, scored 4 then 6 and 8: fewer than five goals, so the figure must not be shown.
  await db
    .insertInto('plans')
    .values({
      id: 'plan-p1',
      subject_kind: 'person',
      person_id: 'p1',
      household_id: null,
      model_id: 'md-coordination',
      enrolment_id: 'e-p1',
      title: 'My plan',
      strengths: null,
      connections: null,
      status: 'active',
      organisation_id: 'char',
      created_by: null,
      created_at: new Date('2026-01-15T10:00:00Z'),
      next_review_on: null,
      ends_on: null,
    })
    .execute();
  await db
    .insertInto('plan_goals')
    .values(
      ['g1', 'g2'].map((id) => ({
        id,
        plan_id: 'plan-p1',
        person_id: null,
        text: 'A goal',
        outcome_codes: '[]',
        set_by: 'person' as const,
        organisation_id: 'char',
        created_by: null,
        created_at: new Date('2026-01-15T10:00:00Z'),
        status: 'open' as const,
      })),
    )
    .execute();
  await db
    .insertInto('plan_reviews')
    .values(
      (
        [
          ['rv1', '2026-02-01'],
          ['rv2', '2026-05-01'],
        ] as const
      ).map(([id, on]) => ({
        id,
        plan_id: 'plan-p1',
        reviewed_on: on,
        organisation_id: 'char',
        note: null,
        actions_done: 0,
        actions_total: 0,
        next_review_on: null,
        created_by: null,
        created_at: new Date(`${on}T10:00:00Z`),
      })),
    )
    .execute();
  await db
    .insertInto('goal_attainment')
    .values([
      { review_id: 'rv1', goal_id: 'g1', score: 4 },
      { review_id: 'rv2', goal_id: 'g1', score: 6 },
      { review_id: 'rv2', goal_id: 'g2', score: 8 },
    ])
    .execute();
  // Goal attainment scaling: g1 as expected at its latest rating (after −1 earlier), g2 below.
  await db
    .insertInto('goal_gas_ratings')
    .values([
      { review_id: 'rv1', goal_id: 'g1', level: -1 },
      { review_id: 'rv2', goal_id: 'g1', level: 0 },
      { review_id: 'rv2', goal_id: 'g2', level: -2 },
    ])
    .execute();
  // A manager to set a target.
  await db
    .insertInto('users')
    .values({
      id: 'u-m',
      username: 'u-m',
      display_name: 'Manager',
      role: 'manager',
      password_hash: null,
      oidc_subject: null,
      person_id: null,
      practitioner_id: null,
      organisation_id: null,
    })
    .execute();
}

for (const target of await testDatabaseTargets()) {
  describe(`outcomes people feel on ${target.kind}`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    before(async () => {
      handle = await target.open();
      db = handle.db;
      await fixture(db);
      await refreshInsight(db, { asOf: new Date('2026-06-30T12:00:00Z') });
    });
    after(async () => {
      await handle.close();
    });

    test('score improvement by deprivation quintile, with the gap and slope index, matches the hand-computed figures', async () => {
      const view = (await inequality(db, 'felt:change:md-assessment', 'quintile'))!;
      // Quintile 1: falls 1..5, mean 3; quintile 5: falls 3..7, mean 5; everyone: mean 4.
      const q2 = view.periods.find((p) => p.period === '2026-Q2')!;
      assert.equal(q2.suppressed, false);
      close(q2.quintiles[0]!.value, 3);
      close(q2.quintiles[4]!.value, 5);
      assert.equal(q2.quintiles[0]!.count, 5);
      // Gap: 3 − 5 = −2; slope index between two equal groups at ridits 0.25 and 0.75: −2 ÷ 0.5 = −4.
      close(q2.gap!.absolute.estimate, -2);
      close(q2.sii!.estimate, -4);
      close(view.split.total!.value, 4);
      // No person-level row is stored: the cube holds sums by group only, and no name or id.
      const cube = JSON.stringify(await db.selectFrom('insight_cube').selectAll().where('section', 'in', ['felt', 'felt_model']).execute());
      assert.ok(!cube.includes('Secretname') && !/"p1"|"r1"|e-p1/.test(cube));
    });

    test('goal attainment from fewer than five goals is suppressed, on the inequality page and against a target', async () => {
      const view = (await inequality(db, 'felt:goal', 'quintile'))!;
      assert.equal(view.split.total!.value, null);
      assert.equal(view.split.total!.count, null);
      await db
        .insertInto('insight_targets')
        .values([
          { measure_id: 'felt:change:md-assessment', value: 5, by_date: '2027-03-31', reason: 'Fewer concerns', set_by: 'u-m' },
          { measure_id: 'felt:goal', value: 7, by_date: '2027-03-31', reason: null, set_by: 'u-m' },
        ])
        .execute();
      const rows = await targetsAgainstActuals(db);
      const change = rows.find((r) => r.measure.id === 'felt:change:md-assessment')!;
      assert.deepEqual([change.actual, change.status, change.toGo], [4, 'not met', 1]);
      const goal = rows.find((r) => r.measure.id === 'felt:goal')!;
      assert.deepEqual([goal.actual, goal.status], [null, 'not shown']);
      // Goals at or above expected: 1 of the 2 goals at its latest rating, held as n out of d; too few to show.
      const gasCell = await db
        .selectFrom('insight_cube')
        .select(['n', 'd', 'period'])
        .where('section', '=', 'felt')
        .where('measure', '=', 'gas')
        .where('dimension', '=', 'all')
        .executeTakeFirstOrThrow();
      assert.deepEqual([Number(gasCell.n), Number(gasCell.d), gasCell.period], [1, 2, '2026-Q2']);
      assert.equal(rows.find((r) => r.measure.id === 'felt:gas')!.actual, null);
    });

    test('"I can see services working together": the share who agree at their latest answer, by deprivation with the gap and slope index', async () => {
      // Ten more people in each area, so every group's count may be shown.
      await db
        .insertInto('persons')
        .values(
          [6, 7, 8, 9, 10].flatMap((n) =>
            (['p', 'r'] as const).map((k) => ({
              id: `${k}${n}`,
              household_id: k === 'p' ? 'hh-poor' : 'hh-rich',
              given_name: `Secretname${k}${n}`,
              middle_name: null,
              family_name: 'Zebedee',
              birth_family_name: null,
              birth_date: '1980-01-01',
              sex: 'female',
              ethnicity_group: 'white',
              disability: false,
              nhs_number: null,
              phone: null,
              email: null,
            })),
          ),
        )
        .execute();
      // Answers 1 (strongly disagree) to 5 (strongly agree); 4 and 5 agree. In the most deprived
      // area 6 of 10 agree at their latest answer (p7 agreed in January, disagrees in May); in the
      // least deprived 8 of 10 (r1 disagreed in January, strongly agrees in May).
      const poorSay = [4, 5, 4, 5, 4, 5, 2, 1, 3, 2];
      const richSay = [5, 4, 5, 4, 5, 4, 5, 4, 2, 3];
      const say = (personId: string, answer: number, on: string, source: 'review' | 'feedback') =>
        db
          .transaction()
          .execute(async (trx) =>
            recordPlaceGoalAnswers(
              trx,
              { id: 'u-m', role: source === 'feedback' ? 'citizen' : 'practitioner', personId: source === 'feedback' ? personId : null },
              { personId, answers: await checkPlaceGoalAnswers(trx, { TOGETHER: answer }), source },
              new Date(`${on}T10:00:00Z`),
            ),
          );
      await say('p7', 5, '2026-01-20', 'review');
      await say('r1', 1, '2026-01-20', 'feedback');
      for (let i = 0; i < 10; i++) {
        await say(`p${i + 1}`, poorSay[i]!, '2026-05-10', i % 2 ? 'review' : 'feedback');
        await say(`r${i + 1}`, richSay[i]!, '2026-05-10', i % 2 ? 'feedback' : 'review');
      }
      // Off the scale, or not a place goal: refused before anything is written.
      await assert.rejects(checkPlaceGoalAnswers(db, { TOGETHER: 6 }), PlaceGoalAnswerRefused);
      await assert.rejects(checkPlaceGoalAnswers(db, { NOTAGOAL: 3 }), PlaceGoalAnswerRefused);
      await refreshInsight(db, { asOf: new Date('2026-06-30T12:00:00Z') });
      const view = (await inequality(db, 'felt:said:TOGETHER', 'quintile'))!;
      assert.match(view.measure.label, /I can see services working together on what matters to me/);
      assert.equal(view.measure.unit, '%');
      const q2 = view.periods.find((p) => p.period === '2026-Q2')!;
      assert.equal(q2.suppressed, false);
      close(q2.quintiles[0]!.value, 60);
      close(q2.quintiles[4]!.value, 80);
      assert.deepEqual([q2.quintiles[0]!.count, q2.quintiles[0]!.denominator], [6, 10]);
      // Gap 60 − 80 = −20 points; slope index between two equal groups at ridits 0.25 and 0.75: −20 ÷ 0.5 = −40.
      close(q2.gap!.absolute.estimate, -20);
      close(q2.sii!.estimate, -40);
      // Everyone: 14 of 20 agree. January's answers are not anyone's latest, so the first quarter has none.
      close(view.split.total!.value, 70);
      assert.ok(!view.periods.some((p) => p.period === '2026-Q1' && p.quintiles.some((g) => (g.denominator ?? 0) > 0)));
      const cube = JSON.stringify(await db.selectFrom('insight_cube').selectAll().where('section', '=', 'felt').execute());
      assert.ok(!cube.includes('Secretname') && !/"p7"|"r1"/.test(cube), 'no name or id in the cube');
    });

    test("the model's cohort: mean score by quarter over the latest year", async () => {
      const { periods, series } = await cohortsByModel(db);
      assert.deepEqual(periods, ['2025-Q3', '2025-Q4', '2026-Q1', '2026-Q2']);
      assert.equal(series.length, 1);
      assert.equal(series[0]!.instrument, 'md-assessment');
      assert.match(series[0]!.modelName, /\w/);
      // Q1: ten people at 20. Q2: 19..15 and 17..13, sum 160, mean 16.
      assert.deepEqual(
        series[0]!.cells.map((c) => [c.period, c.people, c.mean]),
        [
          ['2025-Q3', 0, null],
          ['2025-Q4', 0, null],
          ['2026-Q1', 10, 20],
          ['2026-Q2', 10, 16],
        ],
      );
    });
  });
}
