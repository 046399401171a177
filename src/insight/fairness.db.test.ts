// The fairness check over a hand-made population, on PGlite and PostgreSQL: 60 residents whose
// pseudonymised facts, needs and worklist entries are chosen so every rate and ratio can be worked
// out by hand (below). Also: the public register the migration fills in, and what a resident is
// shown about the rules that found them.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { testDatabaseTargets } from '../testing.ts';
import type { Database } from '../schema.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import { caseFindingAbout, fairnessReport, ruleBiasCounts, ruleRegister } from './fairness-report.ts';
import { biasTable } from './fairness.ts';

// Residents 0..59. Quintile 1: 0..29, quintile 5: 30..59. Black: 0..9, white: 10..59.
// Female: even numbers, male: odd. Everyone aged 25 to 44.
// With the need (homelessness): 0..19 and 30..49 (40). Flagged by md-no-coordinator: 0..9, 20..25, 30..37 (24).
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const needy = new Set([...range(0, 19), ...range(30, 49)]);
const flagged = new Set([...range(0, 9), ...range(20, 25), ...range(30, 37)]);

async function fixture(db: Kysely<Database>) {
  await db.insertInto('places').values({ id: 'pl', name: 'Testford', postcode_area: 'TF', seed: 1 }).execute();
  await db.insertInto('localities').values({ id: 'loc', place_id: 'pl', name: 'Centre' }).execute();
  await db
    .insertInto('organisations')
    .values({
      id: 'char',
      name: 'Open Door',
      kind: 'charity',
      source_code: 'CHAR',
      locality_id: null,
      postcode: 'TF1 1AA',
      phone: '0',
      email: 'x@example.org',
      website: 'https://example.org',
    })
    .execute();
  await db.insertInto('teams').values({ id: 't-char', organisation_id: 'char', name: 'Outreach team' }).execute();
  await db
    .insertInto('persons')
    .values(
      range(0, 59).map((i) => ({
        id: `p${i}`,
        household_id: null,
        given_name: 'Secret',
        middle_name: null,
        family_name: 'Name',
        birth_family_name: null,
        birth_date: '1990-01-01',
        sex: i % 2 ? 'male' : 'female',
        ethnicity_group: i < 10 ? 'black' : 'white',
        disability: false,
        nhs_number: null,
        phone: null,
        email: null,
      })),
    )
    .execute();
  await db
    .insertInto('insight_person_facts')
    .values(
      range(0, 59).map((i) => ({
        pkey: `k${i}`,
        small_area_id: 'sa',
        locality_id: 'loc',
        decile: i < 30 ? 1 : 10,
        quintile: i < 30 ? 1 : 5,
        age_band: '25-44',
        sex: i % 2 ? 'male' : 'female',
        ethnicity_group: i < 10 ? 'black' : 'white',
        disability: false,
        groups_mask: 0,
        needs_mask: 0,
      })),
    )
    .execute();
  await db
    .insertInto('insight_need_facts')
    .values([...needy].map((i) => ({ pkey: `k${i}`, need_code: 'homelessness', first_quarter: '2026-Q1', current: true })))
    .execute();
  // A need no longer current does not count; nor does a need the rule is not about.
  await db
    .insertInto('insight_need_facts')
    .values([
      { pkey: 'k25', need_code: 'homelessness', first_quarter: '2025-Q1', current: false },
      { pkey: 'k24', need_code: 'frailty_falls', first_quarter: '2025-Q1', current: true },
    ])
    .execute();
  const run = await db
    .insertInto('insight_runs')
    .values({ started_at: new Date(), rules: 1, entries: flagged.size })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('insight_worklist')
    .values(
      [...flagged].map((i) => ({
        run_id: run.id,
        rule_id: 'md-no-coordinator',
        person_id: `p${i}`,
        pkey: `k${i}`,
        organisation_id: 'char',
        team_id: 't-char',
        facts: JSON.stringify(['aged 36']),
        found_at: new Date('2026-05-01T09:00:00Z'),
        status: i === 0 ? ('done' as const) : ('open' as const),
      })),
    )
    .execute();
}

for (const target of await testDatabaseTargets()) {
  describe(`fair case-finding (${target.kind})`, () => {
    let handle: DatabaseHandle;
    before(async () => {
      handle = await target.open();
      await fixture(handle.db);
    });
    after(async () => handle?.close());

    test('the register holds each shipped rule in plain English, with the need it is meant to find', async () => {
      const register = await ruleRegister(handle.db);
      assert.deepEqual(
        register.map((r) => r.id),
        ['childrens-zone-not-enrolled', 'md-no-coordinator', 'older-falls-no-plan'],
      );
      for (const r of register) {
        assert.ok(r.looksFor.length > 40 && r.why && r.whoSees, `${r.id} says what it looks for, why, and who sees the result`);
        assert.ok(r.need && r.need.codes.length > 0, `${r.id} names its need`);
        assert.match(r.howToObject, /object/);
      }
      assert.deepEqual(register.find((r) => r.id === 'older-falls-no-plan')!.need!.codes, ['frailty_falls']);
    });

    test('counts and the bias table match the hand-made population', async () => {
      const md = (await ruleRegister(handle.db)).find((r) => r.id === 'md-no-coordinator')!;
      const counts = await ruleBiasCounts(handle.db, md.id, { label: 'homelessness', codes: ['homelessness'] });
      assert.deepEqual(counts.total, { population: 60, need: 40, flagged: 24 });
      const t = biasTable(counts);
      const row = (dimension: string, value: string) =>
        t.dimensions.find((d) => d.dimension === dimension)!.rows.find((r) => r.value === value)!;
      const figures = (r: ReturnType<typeof row>) => [
        r.population,
        r.need,
        r.flagged,
        r.flagRatePer1000,
        r.needRatePer1000,
        r.flaggedPer100InNeed,
        r.rateRatio,
        r.needAdjustedRatio,
        r.warning,
      ];
      // Everyone: 24/60 = 400 per 1,000 flagged; 40/60 = 666.7 per 1,000 in need; 24/40 = 60 per 100 in need.
      assert.deepEqual([t.total.flagRatePer1000, t.total.needRatePer1000, t.total.flaggedPer100InNeed], [400, 666.7, 60]);
      // Quintile 1: 16/30 = 533.3 (÷400 = 1.33); 20/30 in need; 16/20 = 80 per 100 (÷60 = 1.33).
      assert.deepEqual(figures(row('quintile', '1')), [30, 20, 16, 533.3, 666.7, 80, 1.33, 1.33, false]);
      // Quintile 5: 8/30 = 266.7 (0.67); 8/20 = 40 per 100 (0.67).
      assert.deepEqual(figures(row('quintile', '5')), [30, 20, 8, 266.7, 666.7, 40, 0.67, 0.67, false]);
      assert.deepEqual(
        figures(row('quintile', '3')),
        [0, 0, 0, null, null, null, null, null, false],
        'a group with no residents has no rate',
      );
      // Black: 10/10 = 1,000 (2.5); 10/10 in need = 100 per 100 (1.67): flagged more than need explains.
      assert.deepEqual(figures(row('ethnicity', 'black')), [10, 10, 10, 1000, 1000, 100, 2.5, 1.67, true]);
      // White: 14/50 = 280 (0.7); 30/50 in need = 600; 14/30 = 46.7 per 100 (0.78).
      assert.deepEqual(figures(row('ethnicity', 'white')), [50, 30, 14, 280, 600, 46.7, 0.7, 0.78, false]);
      // Female (even numbers): 12 flagged of 30, 20 in need: both ratios 1.
      assert.deepEqual(figures(row('sex', 'female')), [30, 20, 12, 400, 666.7, 60, 1, 1, false]);
      assert.deepEqual(figures(row('age_band', '25-44')), [60, 40, 24, 400, 666.7, 60, 1, 1, false]);
      assert.deepEqual(t.warnings, [
        'Ethnicity group: Black is flagged 1.67 times as often as its need would explain (warning at 1.5 or more).',
      ]);
    });

    test('the report covers every active rule; a rule that flagged no one has no ratios and no warnings', async () => {
      const report = await fairnessReport(handle.db);
      assert.equal(report.length, 3);
      const falls = report.find((r) => r.rule.id === 'older-falls-no-plan')!;
      assert.equal(falls.table!.total.flagged, 0);
      assert.equal(falls.table!.total.need, null, 'one person with a falls need is a small number: suppressed');
      assert.deepEqual(falls.table!.warnings, []);
      assert.equal(report.find((r) => r.rule.id === 'md-no-coordinator')!.table!.warnings.length, 1);
    });

    test('a resident is told which rules found them, in words, and which team has them', async () => {
      const found = await caseFindingAbout(handle.db, 'p3');
      assert.equal(found.length, 1);
      assert.equal(found[0]!.rule.id, 'md-no-coordinator');
      assert.equal(found[0]!.organisation, 'Open Door');
      assert.equal(found[0]!.team, 'Outreach team');
      assert.deepEqual(found[0]!.facts, ['aged 36']);
      assert.deepEqual(await caseFindingAbout(handle.db, 'p59'), [], 'someone no rule found is told so');
    });
  });
}
