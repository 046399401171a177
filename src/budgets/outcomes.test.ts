// Payment by outcomes on hand-made cases: the rate card rules, the evidence per line, and an
// idempotent re-run against the database on both engines.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { testDatabaseTargets } from '../testing.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import { addMonths, evaluateContract, lineKey, runOutcomeContract, type Observation, type RateCard } from './outcomes.ts';
import { accountBalances } from './ledger.ts';

const contract = { id: 'c1', startsOn: '2025-09-01', endsOn: '2027-08-31' };
const attendance: RateCard = {
  id: 'att90',
  goalCode: 'children_thrive_at_school',
  rule: 'attendance_above',
  threshold: 90,
  months: null,
  amountPence: 120_000,
  description: 'attendance to 90%',
};
const tenancy6: RateCard = {
  id: 'ten6',
  goalCode: 'suitable_accommodation',
  rule: 'tenancy_sustained',
  threshold: null,
  months: 6,
  amountPence: 250_000,
  description: '6 months',
};
const tenancy12: RateCard = {
  id: 'ten12',
  goalCode: 'independence_after_crisis',
  rule: 'tenancy_sustained',
  threshold: null,
  months: 12,
  amountPence: 150_000,
  description: '12 months',
};
const att = (personId: string, on: string, value: number): Observation => ({
  personId,
  measure: 'school_attendance_pct',
  value,
  on,
  source: 'Riverford Primary',
});

describe('outcome rules on hand-made cases', () => {
  test('a child whose attendance rises from below 90% to 90% earns one payment, with the evidence', () => {
    const lines = evaluateContract(
      contract,
      [attendance],
      [{ personId: 'amy', enrolledOn: '2025-09-01' }],
      [att('amy', '2025-07-20', 84.5), att('amy', '2025-12-19', 88), att('amy', '2026-04-01', 91.2), att('amy', '2026-07-20', 95)],
      '2026-10-31',
    );
    assert.equal(lines.length, 1);
    const line = lines[0];
    assert.equal(line?.key, lineKey('att90', 'amy'));
    assert.equal(line?.amountPence, 120_000);
    assert.equal(line?.achievedOn, '2026-04-01', 'paid at the first term at or above the threshold');
    assert.deepEqual(line?.evidence, {
      rule: 'term attendance rose to 90% or more',
      enrolledOn: '2025-09-01',
      baseline: { value: 84.5, on: '2025-07-20', source: 'Riverford Primary' },
      achieved: { value: 91.2, on: '2026-04-01', source: 'Riverford Primary' },
    });
  });

  test('no payment when already above the threshold, with no baseline, when it never rises, or rises after the as-of date', () => {
    const enrolments = ['bob', 'cat', 'dan', 'eve'].map((personId) => ({ personId, enrolledOn: '2025-09-01' }));
    const lines = evaluateContract(
      contract,
      [attendance],
      enrolments,
      [
        att('bob', '2025-07-20', 93),
        att('bob', '2025-12-19', 97),
        att('cat', '2025-12-19', 95),
        att('dan', '2025-07-20', 70),
        att('dan', '2025-12-19', 89.9),
        att('eve', '2025-07-20', 80),
        att('eve', '2026-12-18', 92),
      ],
      '2026-10-31',
    );
    assert.deepEqual(lines, []);
  });

  test('a tenancy kept 6 and 12 months earns both lines; one lost within 6 months earns neither; one too recent waits', () => {
    const obs: Observation[] = [
      { personId: 'fay', measure: 'tenancy_start', value: null, on: '2025-10-15', source: 'Riverford Homes' },
      { personId: 'gus', measure: 'tenancy_start', value: null, on: '2025-10-01', source: 'Riverford Homes' },
      { personId: 'gus', measure: 'tenancy_ended', value: null, on: '2026-02-01', source: 'Council housing' },
      { personId: 'hal', measure: 'tenancy_start', value: null, on: '2026-07-01', source: 'Riverford Homes' },
      { personId: 'ivy', measure: 'tenancy_start', value: null, on: '2025-05-01', source: 'Riverford Homes' },
    ];
    const enrolments = [
      { personId: 'fay', enrolledOn: '2025-09-10' },
      { personId: 'gus', enrolledOn: '2025-09-10' },
      { personId: 'hal', enrolledOn: '2026-06-01' },
      { personId: 'ivy', enrolledOn: '2025-09-10' },
    ];
    const lines = evaluateContract(contract, [tenancy6, tenancy12], enrolments, obs, '2026-10-31');
    assert.deepEqual(
      lines.map((l) => [l.personId, l.rateCardId, l.achievedOn, l.amountPence]),
      [
        ['fay', 'ten12', '2026-10-15', 150_000],
        ['fay', 'ten6', '2026-04-15', 250_000],
      ],
    );
    assert.match(
      String(lines[1]?.evidence.checked),
      /no tenancy ending or homelessness presentation recorded from 2025-10-15 to 2026-04-15/,
    );
  });

  test('months are added by the calendar', () => {
    assert.equal(addMonths('2025-08-31', 6), '2026-02-28');
    assert.equal(addMonths('2025-10-15', 12), '2026-10-15');
    assert.equal(addMonths('2026-11-30', 3), '2027-02-28');
  });
});

for (const target of await testDatabaseTargets()) {
  describe(`outcome payments in the ledger (${target.kind})`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    before(async () => {
      handle = await target.open();
      db = handle.db;
      await db
        .insertInto('budget_partners')
        .values({ id: 'p1', name: 'Council', kind: 'local_authority', organisation_id: null })
        .execute();
      await db.insertInto('funds').values({ id: 'f1', name: 'Fund', description: 'test', host_partner_id: 'p1' }).execute();
      await db
        .insertInto('persons')
        .values(
          ['amy', 'bob', 'fay'].map((id) => ({
            id,
            household_id: null,
            given_name: id,
            middle_name: null,
            family_name: 'Test',
            birth_family_name: null,
            birth_date: '2015-01-01',
            sex: null,
            ethnicity_group: null,
            disability: false,
            nhs_number: null,
            phone: null,
            email: null,
          })),
        )
        .execute();
      await db
        .insertInto('outcome_contracts')
        .values({
          id: 'c1',
          name: 'Test contract',
          provider_organisation_id: null,
          provider_name: 'A charity',
          fund_id: 'f1',
          pathway_code: 'childrens_zone',
          starts_on: '2025-09-01',
          ends_on: '2027-08-31',
        })
        .execute();
      await db
        .insertInto('outcome_rate_cards')
        .values([
          {
            id: 'att90',
            contract_id: 'c1',
            goal_code: 'children_thrive_at_school',
            rule: 'attendance_above',
            threshold: 90,
            months: null,
            amount_pence: 120_000,
            description: 'attendance to 90%',
          },
          {
            id: 'ten6',
            contract_id: 'c1',
            goal_code: 'suitable_accommodation',
            rule: 'tenancy_sustained',
            threshold: null,
            months: 6,
            amount_pence: 250_000,
            description: '6 months',
          },
        ])
        .execute();
      await db
        .insertInto('outcome_enrolments')
        .values(['amy', 'bob', 'fay'].map((person_id) => ({ contract_id: 'c1', person_id, enrolled_on: '2025-09-01' })))
        .execute();
      await db
        .insertInto('outcome_measurements')
        .values([
          { person_id: 'amy', measure: 'school_attendance_pct', value: 85, measured_on: '2025-07-20', source: 'School' },
          { person_id: 'amy', measure: 'school_attendance_pct', value: 92, measured_on: '2026-04-01', source: 'School' },
          { person_id: 'bob', measure: 'school_attendance_pct', value: 80, measured_on: '2025-07-20', source: 'School' },
          { person_id: 'fay', measure: 'tenancy_start', value: null, measured_on: '2025-11-01', source: 'Homes' },
        ])
        .execute();
    });
    after(async () => handle?.close());

    test('the schedule is posted once with its evidence; re-running posts nothing and changes no balance', async () => {
      const first = await db.transaction().execute((trx) => runOutcomeContract(trx, 'c1', '2026-10-31', 'tester'));
      assert.equal(first.newlyPosted, 2);
      assert.equal(first.totalPence, 370_000);
      const balances = await accountBalances(db);
      assert.equal(balances.get('outcome_payment:f1:c1'), 370_000);
      assert.equal(balances.get('allocation:f1:2026:pathway:childrens_zone'), -370_000, 'both achieved in 2026/27, charged to that year');
      const again = await db.transaction().execute((trx) => runOutcomeContract(trx, 'c1', '2026-10-31', 'tester'));
      assert.equal(again.newlyPosted, 0);
      assert.equal(again.lines.length, 2, 'the schedule itself is the same');
      assert.deepEqual(await accountBalances(db), balances);
      const lines = await db
        .selectFrom('outcome_payment_lines')
        .select(['id', 'person_id', 'amount_pence', 'evidence'])
        .orderBy('id')
        .execute();
      assert.deepEqual(
        lines.map((l) => [l.id, l.person_id, Number(l.amount_pence)]),
        [
          ['pbo:att90:amy', 'amy', 120_000],
          ['pbo:ten6:fay', 'fay', 250_000],
        ],
      );
      assert.equal((lines[0]?.evidence as { baseline: { value: number } }).baseline.value, 85);
      // A new measurement later earns a new line; earlier ones are untouched.
      await db
        .insertInto('outcome_measurements')
        .values({ person_id: 'bob', measure: 'school_attendance_pct', value: 90, measured_on: '2026-10-20', source: 'School' })
        .execute();
      const third = await db.transaction().execute((trx) => runOutcomeContract(trx, 'c1', '2026-10-31', 'tester'));
      assert.equal(third.newlyPosted, 1);
      const count = (
        await sql<{ n: number }>`select count(*)::int as n from ledger_transactions where kind = 'outcome_payment'`.execute(db)
      ).rows[0]?.n;
      assert.equal(count, 3);
    });
  });
}
