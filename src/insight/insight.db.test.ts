// Case-finding rules, the pseudonymised refresh and the cube, on PGlite and PostgreSQL, over a
// small hand-made place whose right answers are known.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { testDatabaseTargets, testOrganisation } from '../testing.ts';
import type { Database } from '../schema.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import { ensurePlansDefaults } from '../plans/index.ts';
import { runCaseFinding, worklistFor, worklistSummary } from './casefind.ts';
import { parseRuleDefinition, RuleError, compileRule, defaultRules } from './rules.ts';
import { pseudonymKey, pseudonymOf, pseudonymSql } from './pseudonym.ts';
import { refreshInsight } from './refresh.ts';
import { overlaps, populationBy, inequality } from './queries.ts';

const asOf = new Date('2026-06-30T12:00:00Z');

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
  const org = testOrganisation;
  await db
    .insertInto('organisations')
    .values([
      org('prob', 'probation'),
      org('dru', 'drug_alcohol_service'),
      org('hous', 'council_housing'),
      org('mh', 'mental_health_trust'),
      org('sch', 'school'),
      org('gp', 'gp_practice'),
      org('char', 'charity'),
    ])
    .execute();
  await db
    .insertInto('teams')
    .values(['prob', 'dru', 'hous', 'mh', 'sch', 'gp', 'char'].map((o) => ({ id: `t-${o}`, organisation_id: o, name: `Team ${o}` })))
    .execute();
  await db
    .insertInto('practitioners')
    .values({
      id: 'pr-char',
      organisation_id: 'char',
      team_id: 't-char',
      given_name: 'Cora',
      family_name: 'Ord',
      role: 'link_worker',
      email: 'c@example.org',
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
  const people: Array<[string, string, string]> = [
    ['p-a1', '1980-01-01', 'hh-poor'],
    ['p-a2', '1981-01-01', 'hh-poor'],
    ['p-a3', '1982-01-01', 'hh-poor'],
    ['p-c1', '2016-01-01', 'hh-poor'],
    ['p-c2', '2016-02-01', 'hh-poor'],
    ['p-c3', '2016-03-01', 'hh-rich'],
    ['p-o1', '1950-01-01', 'hh-rich'],
    ['p-o2', '1951-01-01', 'hh-rich'],
    ['p-o3', '1952-01-01', 'hh-rich'],
  ];
  await db
    .insertInto('persons')
    .values(
      people.map(([id, birth, hh]) => ({
        id,
        household_id: hh,
        given_name: `Secretname${id.slice(2)}`,
        middle_name: null,
        family_name: 'Zebedee',
        birth_family_name: null,
        birth_date: birth,
        sex: 'female',
        ethnicity_group: 'white',
        disability: false,
        nhs_number: null,
        phone: null,
        email: null,
      })),
    )
    .execute();
  // Agency records linked to people.
  const links: Array<[string, string]> = [
    ['p-a1', 'prob'],
    ['p-a1', 'dru'],
    ['p-a2', 'prob'],
    ['p-a2', 'dru'],
    ['p-a3', 'prob'],
    ['p-a3', 'hous'],
    ['p-a3', 'mh'],
    ['p-c1', 'sch'],
    ['p-c2', 'sch'],
    ['p-c3', 'sch'],
    ['p-o1', 'gp'],
    ['p-o2', 'gp'],
    ['p-o3', 'gp'],
  ];
  for (const [i, [person, source]] of links.entries()) {
    const rec = await db
      .insertInto('source_records')
      .values({ source: source.toUpperCase(), source_id: `r${i}`, fields: { given_name: 'x' } })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('record_links')
      .values({ source_record_id: rec.id, person_id: person, method: 'synthetic_truth', match_probability: 1, superseded_at: null })
      .execute();
  }
  const ev = (person: string, org: string, type: string, at: string, value: number | null = null) => ({
    person_id: person,
    organisation_id: org,
    type,
    at: new Date(at),
    value,
  });
  await db
    .insertInto('person_events')
    .values([
      ev('p-a1', 'hous', 'homeless_presentation', '2026-02-01T10:00:00Z'),
      ev('p-a2', 'hous', 'homeless_presentation', '2026-02-01T10:00:00Z'),
      ev('p-c1', 'sch', 'school_attendance_term', '2026-04-01T10:00:00Z', 82),
      ev('p-c1', 'sch', 'school_exclusion', '2026-03-01T10:00:00Z'),
      ev('p-c2', 'sch', 'school_attendance_term', '2026-04-01T10:00:00Z', 70),
      ev('p-c3', 'sch', 'school_attendance_term', '2025-04-01T10:00:00Z', 70),
      ev('p-c3', 'sch', 'school_attendance_term', '2026-04-01T10:00:00Z', 96),
      ev('p-o1', 'gp', 'fall', '2026-01-05T10:00:00Z'),
      ev('p-o1', 'gp', 'fall', '2026-05-05T10:00:00Z'),
      ev('p-o2', 'gp', 'fall', '2026-01-05T10:00:00Z'),
      ev('p-o2', 'gp', 'fall', '2026-05-05T10:00:00Z'),
      ev('p-o3', 'gp', 'fall', '2026-05-05T10:00:00Z'),
      ev('p-o3', 'gp', 'fall', '2024-05-05T10:00:00Z'),
    ])
    .execute();
  await db
    .insertInto('needs')
    .values([
      { person_id: 'p-a1', code: 'homelessness', organisation_id: 'hous', recorded_at: '2026-02-01', severity: 3, current: true },
      { person_id: 'p-a3', code: 'mental_health', organisation_id: 'mh', recorded_at: '2025-11-01', severity: 2, current: true },
      { person_id: 'p-c1', code: 'child_school_attendance', organisation_id: 'sch', recorded_at: '2026-04-01', severity: 2, current: true },
    ])
    .execute();
  // p-a2 has a named coordinator; p-c2 is enrolled in the children's zone; p-o2 has an active plan.
  await db
    .insertInto('care_relationships')
    .values({
      person_id: 'p-a2',
      organisation_id: 'char',
      team_id: 't-char',
      practitioner_id: 'pr-char',
      kind: 'network',
      role_label: 'named coordinator',
      reason: 'test',
      ended_at: null,
      recorded_by: null,
    })
    .execute();
  await db
    .insertInto('model_enrolments')
    .values({
      id: 'en1',
      model_id: 'childrens-zone',
      person_id: 'p-c2',
      household_id: null,
      lead_practitioner_id: 'pr-char',
      lead_organisation_id: 'char',
      lead_role_label: 'link worker',
      identified_by_response_id: null,
      consent_recorded_at: null,
      consent_note: null,
      enrolled_at: new Date('2026-01-01'),
      planned_end: null,
      ended_at: null,
      end_reason: null,
      recorded_by: null,
    })
    .execute();
  await db
    .insertInto('plans')
    .values({
      id: 'plan1',
      subject_kind: 'person',
      person_id: 'p-o2',
      household_id: null,
      model_id: null,
      enrolment_id: null,
      title: 'Staying well',
      strengths: null,
      connections: null,
      status: 'active',
      organisation_id: 'gp',
      created_by: null,
      created_at: new Date('2026-01-01'),
      next_review_on: null,
      ends_on: null,
    })
    .execute();
}

test('rule definitions are checked: unknown conditions, codes and nesting are refused', () => {
  assert.throws(
    () => parseRuleDefinition({ all: [{ kind: 'raw_sql', sql: 'select 1' }], assignTo: { organisationKinds: ['gp_practice'] } }),
    RuleError,
  );
  assert.throws(
    () =>
      parseRuleDefinition({
        all: [{ kind: 'event_count', types: ["fall'; drop table persons; --"], withinDays: 10, atLeast: 1 }],
        assignTo: { organisationKinds: ['gp_practice'] },
      }),
    /unknown code/,
  );
  assert.throws(
    () =>
      parseRuleDefinition({
        all: [{ kind: 'any_of', atLeast: 1, of: [{ kind: 'any_of', atLeast: 1, of: [] }] }],
        assignTo: { organisationKinds: ['gp_practice'] },
      }),
    RuleError,
  );
  assert.throws(
    () => parseRuleDefinition({ all: [{ kind: 'no_active_plan' }], assignTo: { organisationKinds: ['gp_practice'] } }),
    /positive/,
  );
  assert.throws(
    () => parseRuleDefinition({ all: [{ kind: 'age_between', min: 5 }], assignTo: { organisationKinds: ['spaceship'] } }),
    /unknown code/,
  );
  for (const r of defaultRules) assert.deepEqual(parseRuleDefinition(JSON.parse(JSON.stringify(r.definition))), r.definition);
  // Parameters are bound, never spliced into the text.
  const compiled = compileRule(
    parseRuleDefinition({
      all: [
        { kind: 'no_coordinator', roleLabels: ["x' or 1=1 --"] },
        { kind: 'age_between', min: 1 },
      ],
      assignTo: { organisationKinds: ['gp_practice'] },
    }),
    asOf,
  );
  assert.ok(
    !compiled
      .compile({ getExecutor: () => ({ transformQuery: (n: unknown) => n, compileQuery: () => ({}) }) } as never)
      .sql?.includes('or 1=1'),
  );
});

for (const target of await testDatabaseTargets()) {
  describe(`insight on ${target.kind}`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    before(async () => {
      handle = await target.open();
      db = handle.db;
      await fixture(db);
    });
    after(async () => {
      await handle.close();
    });

    test('case-finding finds exactly the people each rule describes, says why, and sends them to a team that knows them', async () => {
      const run = await runCaseFinding(db, { asOf });
      const byRule = Object.fromEntries(run.rules.map((r) => [r.ruleId, r.matched]));
      assert.deepEqual(byRule, { 'childrens-zone-not-enrolled': 1, 'md-no-coordinator': 1, 'older-falls-no-plan': 1 });
      const rows = await db
        .selectFrom('insight_worklist')
        .select(['rule_id', 'person_id', 'organisation_id', 'team_id', 'facts'])
        .orderBy('rule_id')
        .execute();
      assert.deepEqual(
        rows.map((r) => [r.rule_id, r.person_id, r.organisation_id, r.team_id]),
        [
          ['childrens-zone-not-enrolled', 'p-c1', 'sch', 't-sch'],
          ['md-no-coordinator', 'p-a1', 'dru', 't-dru'],
          ['older-falls-no-plan', 'p-o1', 'gp', 't-gp'],
        ],
      );
      const facts = (r: (typeof rows)[number]) => (typeof r.facts === 'string' ? (JSON.parse(r.facts) as string[]) : (r.facts as string[]));
      const md = facts(rows[1]!);
      assert.match(md[1]!, /known to 3 of the 4 services: Drugs and alcohol, Homelessness, Probation/);
      assert.equal(md[2], 'no named coordinator or lead practitioner recorded');
      const child = facts(rows[0]!).join(' | ');
      assert.match(child, /school attendance term value 82/);
      assert.match(child, /1 × school exclusion/);
      assert.match(facts(rows[2]!).join(' | '), /2 × fall in the 365 days/);
      for (const r of rows) assert.ok(!JSON.stringify(r.facts).includes('Secretname') && !JSON.stringify(r.facts).includes('Zebedee'));
      // The team's worklist; an account in the organisation but no team does not get it.
      const list = await worklistFor(db, { organisationId: 'dru', teamId: 't-dru' });
      assert.equal(list.length, 1);
      assert.equal((await worklistFor(db, { organisationId: 'dru' })).length, 0);
      // The managers' summary: counts per rule and team, no person-level rows, each count of 1 suppressed.
      const summary = await worklistSummary(db);
      const dump = JSON.stringify(summary);
      const pkeys = await db.selectFrom('insight_worklist').select('pkey').execute();
      for (const r of [...rows.map((x) => x.person_id), ...pkeys.map((x) => x.pkey)])
        assert.ok(!dump.includes(r), 'no person-level rows in the summary');
      assert.deepEqual(Object.keys(summary).sort(), ['byTeam', 'lastRun', 'rules']);
      assert.deepEqual(
        summary.rules.map((r) => r.open),
        [null, null, null],
      );
      assert.deepEqual(
        summary.byTeam.map((t) => t.open),
        [null, null, null],
      );
    });

    test('a rerun replaces open entries and does not raise again someone a team dismissed', async () => {
      await db.updateTable('insight_worklist').set({ status: 'dismissed' }).where('person_id', '=', 'p-o1').execute();
      const run = await runCaseFinding(db, { asOf });
      assert.equal(run.entries, 2);
      assert.equal(Number((await sql<{ n: number }>`select count(*)::int as n from insight_worklist`.execute(db)).rows[0]!.n), 3);
    });

    test('the pseudonym computed in the database is HMAC-SHA256 of the person id', async () => {
      const key = await pseudonymKey(db);
      const row = (await sql<{ p: string }>`select ${pseudonymSql(key, sql`${'p-a1'}::text`)} as p`.execute(db)).rows[0]!;
      assert.equal(row.p, pseudonymOf(key, 'p-a1'));
      assert.equal(row.p.length, 32);
    });

    test('refresh builds pseudonymised facts and a cube; overlaps and population come out suppressed', async () => {
      const summary = await refreshInsight(db, { asOf });
      assert.equal(summary.people, 9);
      const facts = await db.selectFrom('insight_person_facts').selectAll().execute();
      const dump = JSON.stringify(facts);
      for (const id of ['p-a1', 'Secretname', 'Zebedee']) assert.ok(!dump.includes(id), `${id} leaked into the analytic table`);
      const key = await pseudonymKey(db);
      const a1 = facts.find((f) => f.pkey === pseudonymOf(key, 'p-a1'))!;
      assert.equal(a1.quintile, 1);
      assert.equal(a1.age_band, '45-64');
      // Population by quintile: 5 and 4 — the 4 is hidden, and so is its complement; the total stays.
      const pop = await populationBy(db, 'quintile');
      assert.deepEqual(
        pop.rows.map((r) => r.count),
        [null, 0, 0, 0, null],
      );
      assert.equal(pop.total, 9);
      const o = await overlaps(db);
      assert.ok(o.intersections.every((i) => i.people === null || i.people >= 5));
      assert.equal(o.threeOrMoreMd, null);
      const view = await inequality(db, 'outcome:HOME', 'quintile');
      assert.ok(view);
      for (const r of view.split.rows) assert.ok(r.count === null || r.count === 0 || r.count >= 5);
    });
  });
}
