// Households in charge: a household budget is set up only by someone involved with every adult,
// spent only while every adult agrees (a withdrawal stops it), never overspent, and the ledger
// balances throughout. Each member is named to a reader only per the access decision.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { testDatabaseTargets } from '../testing.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import type { SignedInUser } from '../auth/index.ts';
import { openRelationship } from '../consent/index.ts';
import { accountBalances } from './ledger.ts';
import {
  createHouseholdBudget,
  HouseholdBudgetInputError,
  HouseholdBudgetRefused,
  householdBudgetsOf,
  recordHouseholdAgreement,
  spendHouseholdBudget,
} from './household-budgets.ts';

const practitioner = (id: string, organisationId: string): SignedInUser => ({
  id,
  username: id,
  displayName: `Name ${id}`,
  role: 'practitioner',
  personId: null,
  practitionerId: `pr-${id}`,
  organisationId,
  teamId: `t-${organisationId}`,
});
const citizen = (id: string, personId: string): SignedInUser => ({
  id,
  username: id,
  displayName: id,
  role: 'citizen',
  personId,
  practitionerId: null,
  organisationId: null,
  teamId: null,
});

async function seedFixture(db: Kysely<Database>): Promise<void> {
  await sql`
    insert into places (id, name, postcode_area, seed) values ('pl', 'Place', 'RV', 1);
    insert into localities (id, place_id, name) values ('loc', 'pl', 'Locality');
    insert into small_areas (id, code, name, locality_id, deprivation_decile, lat, lon, target_population) values ('sa', 'E01', 'Area', 'loc', 3, 51, -1, 1500);
    insert into households (id, small_area_id, postcode, address_line, composition, tenure) values ('h1', 'sa', 'RV1 1AA', '1 Road', 'couple_with_children', 'social_rent');
    insert into persons (id, household_id, given_name, family_name, birth_date) values
      ('a1', 'h1', 'Ada', 'Home', '1970-01-01'), ('a2', 'h1', 'Ben', 'Home', '1975-06-01'), ('c1', 'h1', 'Cal', 'Home', '2015-03-01');
    insert into organisations (id, name, kind, source_code, postcode, phone, email, website) values
      ('oA', 'Council adult social care', 'council_adult_social_care', 'SA', 'RV1', '0', 'a@x', 'x'),
      ('oB', 'Community health trust', 'hospital_trust', 'SB', 'RV1', '0', 'b@x', 'x');
    insert into teams (id, organisation_id, name) values ('t-oA', 'oA', 'A'), ('t-oB', 'oB', 'B');
    insert into practitioners (id, organisation_id, team_id, given_name, family_name, role, email) values
      ('pr-uA', 'oA', 't-oA', 'A', 'A', 'social_worker', 'a'), ('pr-uB', 'oB', 't-oB', 'B', 'B', 'nurse', 'b');
    insert into users (id, username, display_name, role, practitioner_id, organisation_id, person_id) values
      ('uA', 'uA', 'Name uA', 'practitioner', 'pr-uA', 'oA', null), ('uB', 'uB', 'Name uB', 'practitioner', 'pr-uB', 'oB', null),
      ('ua1', 'ua1', 'Ada Home', 'citizen', null, null, 'a1'), ('ua2', 'ua2', 'Ben Home', 'citizen', null, null, 'a2'), ('uc1', 'uc1', 'Cal Home', 'citizen', null, null, 'c1');
    insert into budget_partners (id, name, kind, organisation_id) values ('council', 'Council', 'local_authority', 'oA');
    insert into funds (id, name, description, host_partner_id) values ('better-lives', 'Better Lives', 'test', 'council');
  `.execute(db);
  for (const [personId, org] of [
    ['a1', 'oA'],
    ['a2', 'oA'],
    ['a1', 'oB'],
  ] as const) {
    await db.transaction().execute((trx) =>
      openRelationship(trx, {
        personId,
        organisationId: org,
        teamId: null,
        practitionerId: null,
        ground: { kind: 'case', reason: 'assessment' },
        recordedBy: null,
      }),
    );
  }
}

async function ledgerBalanced(db: Kysely<Database>): Promise<void> {
  const r = await sql<{
    total: string;
    unbalanced: number;
  }>`select (select coalesce(sum(amount_pence), 0)::text from ledger_postings) as total,
    (select count(*)::int from (select transaction_id from ledger_postings group by transaction_id having sum(amount_pence) <> 0) x) as unbalanced`.execute(
    db,
  );
  assert.deepEqual(r.rows[0], { total: '0', unbalanced: 0 });
}

/** The newest audit event's sequence number, to read what a step wrote after it. */
const lastAuditSeq = async (db: Kysely<Database>) =>
  Number((await sql<{ n: string }>`select coalesce(max(seq), 0)::text as n from audit_events`.execute(db)).rows[0]!.n);

/** The audit events written after `seq`, in order, as [action, person, category, purpose, decision, reason]. */
const auditSince = async (db: Kysely<Database>, seq: number) =>
  (
    await sql<{ action: string; person_id: string; category: string; purpose: string; decision: string; reason: string }>`
      select action, person_id, category, purpose, decision, reason from audit_events where seq > ${seq} order by seq`.execute(db)
  ).rows.map((r) => [r.action, r.person_id, r.category, r.purpose, r.decision, r.reason]);

const transactions = async (db: Kysely<Database>) =>
  Number((await sql<{ n: number }>`select count(*)::int as n from ledger_transactions`.execute(db)).rows[0]?.n);

for (const target of await testDatabaseTargets()) {
  describe(`household budgets in the database (${target.kind})`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    const uA = practitioner('uA', 'oA');
    const uB = practitioner('uB', 'oB');
    const ada = citizen('ua1', 'a1');
    const ben = citizen('ua2', 'a2');
    const cal = citizen('uc1', 'c1');
    let budgetId = '';
    before(async () => {
      handle = await target.open();
      db = handle.db;
      await seedFixture(db);
    });
    after(async () => handle?.close());

    test('only someone involved with every adult sets one up: refused actors post nothing', async () => {
      const input = {
        personId: 'a1',
        amountPence: 480_000,
        purpose: 'Short breaks and help at home, as the family chooses',
        agreedOn: '2026-05-01',
      };
      await assert.rejects(createHouseholdBudget(db, uB, input), HouseholdBudgetRefused, 'involved with one adult only');
      await assert.rejects(createHouseholdBudget(db, ada, input), HouseholdBudgetRefused);
      assert.equal(await transactions(db), 0);
      budgetId = await createHouseholdBudget(db, uA, input);
      const balances = await accountBalances(db);
      assert.equal(balances.get(`household_budget:${budgetId}`), 480_000);
      assert.equal(balances.get('allocation:better-lives:2026:pathway:personal_budgets'), -480_000);
      await ledgerBalanced(db);
    });

    test('spent only while every adult agrees; a child is not asked; a withdrawal stops spending', async () => {
      const spend = { amountPence: 12_050, description: 'Two afternoons of respite care', on: '2026-05-10' };
      await assert.rejects(spendHouseholdBudget(db, ada, budgetId, spend), /Not every adult/);
      await recordHouseholdAgreement(db, ada, budgetId, { personId: 'a1', agrees: true, evidence: '' });
      await assert.rejects(
        recordHouseholdAgreement(db, cal, budgetId, { personId: 'c1', agrees: true, evidence: 'I agree too' }),
        HouseholdBudgetInputError,
      );
      await assert.rejects(
        recordHouseholdAgreement(db, ada, budgetId, { personId: 'a2', agrees: true, evidence: 'Ben agrees, honestly' }),
        HouseholdBudgetRefused,
        "one adult does not give another's word",
      );
      await assert.rejects(
        recordHouseholdAgreement(db, uB, budgetId, { personId: 'a2', agrees: true, evidence: 'Told me on the phone' }),
        HouseholdBudgetRefused,
        'a practitioner not involved with Ben',
      );
      await assert.rejects(spendHouseholdBudget(db, ada, budgetId, spend), /Not every adult/);
      assert.equal(await transactions(db), 1, 'nothing spent while Ben has not agreed');
      await recordHouseholdAgreement(db, uA, budgetId, { personId: 'a2', agrees: true, evidence: 'Agreed at the home visit on 2 May' });
      await spendHouseholdBudget(db, ada, budgetId, spend);
      await assert.rejects(
        spendHouseholdBudget(db, uB, budgetId, spend),
        HouseholdBudgetRefused,
        'a practitioner involved with one adult does not spend it',
      );
      await assert.rejects(spendHouseholdBudget(db, uA, budgetId, { ...spend, amountPence: 470_000 }), /more than is left/);
      assert.equal((await accountBalances(db)).get(`household_budget:${budgetId}`), 480_000 - 12_050);
      await recordHouseholdAgreement(db, ben, budgetId, { personId: 'a2', agrees: false, evidence: 'We want to talk about it again' });
      const before = await transactions(db);
      await assert.rejects(spendHouseholdBudget(db, uA, budgetId, spend), /Not every adult/);
      assert.equal(await transactions(db), before, 'nothing spent after the withdrawal');
      await ledgerBalanced(db);
    });

    test('each member is named only to readers who may see them', async () => {
      const [forA] = await householdBudgetsOf(db, uA, 'a1');
      assert.deepEqual(
        forA?.members.map((m) => [m.name, m.agrees]),
        [
          ['Ada Home', true],
          ['Ben Home', false],
        ],
      );
      assert.equal(forA?.leftPence, 480_000 - 12_050);
      assert.deepEqual(forA?.spend, [{ on: '2026-05-10', description: 'Two afternoons of respite care', pence: 12_050 }]);
      const since = await lastAuditSeq(db);
      const [forB] = await householdBudgetsOf(db, uB, 'a1');
      assert.deepEqual(
        forB?.members.map((m) => m.name),
        ['Ada Home'],
      );
      assert.equal(forB?.hiddenAdults, 1);
      // One decision for the page's people, but the audit log as it always was: the person's money
      // matters, then each other member (Ben, whom this reader may not see, among them) once.
      const notInvolved = "no legitimate relationship: you, your team and your organisation are not involved in this person's care";
      assert.deepEqual(await auditSince(db, since), [
        [
          'read',
          'a1',
          'finances',
          'care_coordination',
          'allow',
          "the person has not agreed to share this with you: you see what your organisation recorded (own organisation's entries only)",
        ],
        ['read', 'a2', 'demographics', 'care_coordination', 'deny', notInvolved],
        ['read', 'c1', 'demographics', 'care_coordination', 'deny', notInvolved],
      ]);
      await assert.rejects(householdBudgetsOf(db, uB, 'a2'), HouseholdBudgetRefused, "no part in Ben's care");
      const [forBen] = await householdBudgetsOf(db, ben, 'a2');
      assert.equal(forBen?.members.find((m) => m.self)?.name, 'Ben Home');
    });

    test('the database refuses edits and deletions of household budgets and agreements', async () => {
      for (const attempt of [
        sql`update household_budget_agreements set agrees = true`,
        sql`delete from household_budget_agreements`,
        sql`update household_budgets set amount_pence = 1`,
      ]) {
        await assert.rejects(attempt.execute(db), /append-only/);
      }
    });
  });
}
