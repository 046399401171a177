// Who pays: funding decisions post balanced commitments; a dispute resolved by changing the
// shares reverses the old posting and posts the new one; refused actors change nothing.
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
  appointBudgetHolder,
  commitmentPence,
  disputeShare,
  endBudgetHolder,
  fundingDecision,
  fundingDecisionsOf,
  FundingInputError,
  FundingRefused,
  recordFundingDecision,
  resolveDispute,
  splitPence,
  type NewFundingDecision,
} from './funding.ts';

describe('funding arithmetic (pure)', () => {
  test('a package costs its weekly amount for every day from start to end', () => {
    assert.equal(commitmentPence(85_050, '2026-04-01', '2027-04-01'), 4_434_750); // 365 days: 85,050 x 365 / 7
    assert.equal(commitmentPence(70_000, '2026-04-01', '2026-04-15'), 140_000); // two weeks
  });

  test('shares split whole pence exactly, the odd pence to the largest remainders', () => {
    assert.deepEqual(
      [
        ...splitPence(100, [
          { partnerId: 'a', basisPoints: 3333 },
          { partnerId: 'b', basisPoints: 3333 },
          { partnerId: 'c', basisPoints: 3334 },
        ]),
      ],
      [
        ['a', 33],
        ['b', 33],
        ['c', 34],
      ],
    );
    assert.deepEqual(
      [
        ...splitPence(4_434_750, [
          { partnerId: 'council', basisPoints: 6000 },
          { partnerId: 'nhs', basisPoints: 4000 },
        ]),
      ],
      [
        ['council', 2_660_850],
        ['nhs', 1_773_900],
      ],
    );
    assert.deepEqual(
      [
        ...splitPence(101, [
          { partnerId: 'a', basisPoints: 5000 },
          { partnerId: 'b', basisPoints: 5000 },
        ]),
      ],
      [
        ['a', 51],
        ['b', 50],
      ],
    );
  });
});

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

async function seedFixture(db: Kysely<Database>): Promise<void> {
  await sql`
    insert into places (id, name, postcode_area, seed) values ('pl', 'Place', 'RV', 1);
    insert into localities (id, place_id, name) values ('loc', 'pl', 'Locality');
    insert into small_areas (id, code, name, locality_id, deprivation_decile, lat, lon, target_population) values ('sa', 'E01', 'Area', 'loc', 3, 51, -1, 1500);
    insert into households (id, small_area_id, postcode, address_line, composition, tenure) values ('h1', 'sa', 'RV1 1AA', '1 Road', 'couple_with_children', 'social_rent');
    insert into persons (id, household_id, given_name, family_name, birth_date) values ('p1', 'h1', 'Pat', 'Person', '1950-02-03');
    insert into organisations (id, name, kind, source_code, postcode, phone, email, website) values
      ('oA', 'Council adult social care', 'council_adult_social_care', 'SA', 'RV1', '0', 'a@x', 'x'),
      ('oB', 'Community health trust', 'hospital_trust', 'SB', 'RV1', '0', 'b@x', 'x'),
      ('oC', 'Unrelated charity', 'charity', 'SC', 'RV1', '0', 'c@x', 'x');
    insert into teams (id, organisation_id, name) values ('t-oA', 'oA', 'A'), ('t-oB', 'oB', 'B'), ('t-oC', 'oC', 'C');
    insert into practitioners (id, organisation_id, team_id, given_name, family_name, role, email) values
      ('pr-uA', 'oA', 't-oA', 'A', 'A', 'social_worker', 'a'), ('pr-uA2', 'oA', 't-oA', 'A2', 'A2', 'social_worker', 'a2'),
      ('pr-uB', 'oB', 't-oB', 'B', 'B', 'nurse', 'b'), ('pr-uC', 'oC', 't-oC', 'C', 'C', 'link_worker', 'c');
    insert into users (id, username, display_name, role, practitioner_id, organisation_id, person_id) values
      ('uA', 'uA', 'Name uA', 'practitioner', 'pr-uA', 'oA', null), ('uA2', 'uA2', 'Name uA2', 'practitioner', 'pr-uA2', 'oA', null),
      ('uB', 'uB', 'Name uB', 'practitioner', 'pr-uB', 'oB', null), ('uC', 'uC', 'Name uC', 'practitioner', 'pr-uC', 'oC', null),
      ('uP', 'uP', 'Pat Person', 'citizen', null, null, 'p1');
    insert into budget_partners (id, name, kind, organisation_id) values
      ('council', 'Council', 'local_authority', 'oA'), ('nhs', 'NHS trust', 'nhs', 'oB'), ('charity', 'Charity', 'charity', 'oC');
  `.execute(db);
  for (const org of ['oA', 'oB']) {
    await db.transaction().execute((trx) =>
      openRelationship(trx, {
        personId: 'p1',
        organisationId: org,
        teamId: null,
        practitionerId: null,
        ground: { kind: 'case', reason: 'assessment' },
        recordedBy: null,
      }),
    );
  }
  await appointBudgetHolder(db, { userId: 'uA', organisationId: 'oA' }, 'council', 'admin');
  await appointBudgetHolder(db, { userId: 'uB', organisationId: 'oB' }, 'nhs', 'admin');
  await appointBudgetHolder(db, { userId: 'uC', organisationId: 'oC' }, 'charity', 'admin');
}

const decisionInput: NewFundingDecision = {
  personId: 'p1',
  package: 'Home care, four visits a day, and a night sitter twice a week',
  weeklyPence: 85_050,
  startsOn: '2026-04-01',
  endsOn: '2027-04-01',
  shares: [
    { partnerId: 'council', basisPoints: 6000 },
    { partnerId: 'nhs', basisPoints: 4000 },
  ],
  evidence: 'Care Act assessment of 12 March; continuing healthcare checklist positive for the night needs.',
  decidedOn: '2026-03-20',
};

async function counts(db: Kysely<Database>) {
  const r = await sql<{ d: number; t: number; p: number; disputes: number; resolutions: number }>`select
    (select count(*)::int from funding_decisions) as d, (select count(*)::int from ledger_transactions) as t, (select count(*)::int from ledger_postings) as p,
    (select count(*)::int from funding_disputes) as disputes, (select count(*)::int from funding_dispute_resolutions) as resolutions`.execute(
    db,
  );
  return r.rows[0]!;
}

async function ledgerSumsToZero(db: Kysely<Database>): Promise<void> {
  const whole = await sql<{ s: string | null }>`select sum(amount_pence)::text as s from ledger_postings`.execute(db);
  assert.equal(Number(whole.rows[0]?.s ?? 0), 0, 'the whole ledger sums to zero');
  const unbalanced = await sql<{
    n: number;
  }>`select count(*)::int as n from (select transaction_id from ledger_postings group by transaction_id having sum(amount_pence) <> 0) x`.execute(
    db,
  );
  assert.equal(unbalanced.rows[0]?.n, 0, 'every transaction balances');
}

for (const target of await testDatabaseTargets()) {
  describe(`funding decisions in the database (${target.kind})`, () => {
    let handle: DatabaseHandle;
    let db: Kysely<Database>;
    const uA = practitioner('uA', 'oA');
    const uA2 = practitioner('uA2', 'oA');
    const uB = practitioner('uB', 'oB');
    const uC = practitioner('uC', 'oC');
    const citizen: SignedInUser = {
      id: 'uP',
      username: 'uP',
      displayName: 'Pat Person',
      role: 'citizen',
      personId: 'p1',
      practitionerId: null,
      organisationId: null,
      teamId: null,
    };
    let decisionId = '';
    before(async () => {
      handle = await target.open();
      db = handle.db;
      await seedFixture(db);
    });
    after(async () => handle?.close());

    test('refused actors post nothing: another organisation, a citizen, a practitioner who holds no budget, a manager', async () => {
      const before = await counts(db);
      const manager: SignedInUser = { ...uA, id: 'm', role: 'manager', practitionerId: null };
      for (const actor of [uC, citizen, uA2, manager]) {
        await assert.rejects(recordFundingDecision(db, actor, decisionInput), FundingRefused, actor.id);
      }
      // A budget holder of a partner not in the decision (the charity's) with no relationship is refused too.
      await assert.rejects(
        recordFundingDecision(db, uC, { ...decisionInput, shares: [{ partnerId: 'charity', basisPoints: 10_000 }] }),
        /no legitimate relationship/,
      );
      await assert.rejects(
        recordFundingDecision(db, uA, {
          ...decisionInput,
          shares: [
            { partnerId: 'council', basisPoints: 6000 },
            { partnerId: 'nhs', basisPoints: 3000 },
          ],
        }),
        (e: unknown) => e instanceof FundingInputError && /add up to 100% \(they add up to 90%\)/.test(e.message),
      );
      assert.deepEqual(await counts(db), before);
    });

    test('a decision posts its commitment: the package debited, each partner credited its share, balanced', async () => {
      decisionId = await recordFundingDecision(db, uA, decisionInput);
      const balances = await accountBalances(db);
      assert.equal(balances.get(`package_commitment:${decisionId}`), 4_434_750);
      assert.equal(balances.get('commitment_reserve:council'), -2_660_850);
      assert.equal(balances.get('commitment_reserve:nhs'), -1_773_900);
      await ledgerSumsToZero(db);
      const { decision } = await fundingDecision(db, uB, decisionId);
      assert.deepEqual(
        decision.current.shares.map((s) => [s.partner, s.percent, s.amountPence]),
        [
          ['Council', '60%', 2_660_850],
          ['NHS trust', '40%', 1_773_900],
        ],
      );
      assert.equal(decision.current.decidedByName, 'Name uA');
      assert.match(decision.current.evidence, /Care Act assessment/);
    });

    test('only those involved read it: another organisation and a manager are refused; the person sees their own', async () => {
      await assert.rejects(fundingDecision(db, uC, decisionId), FundingRefused);
      await assert.rejects(fundingDecisionsOf(db, { ...uA, role: 'manager' }, 'p1'), FundingRefused);
      assert.equal((await fundingDecisionsOf(db, citizen, 'p1')).decisions.length, 1);
      assert.equal((await fundingDecisionsOf(db, uA2, 'p1')).decisions.length, 1, 'a colleague in a partner organisation sees it');
    });

    test('a dispute resolved by changing the shares reverses the old posting and posts the new one', async () => {
      const before = await counts(db);
      await assert.rejects(
        disputeShare(db, uA, decisionId, { partnerId: 'nhs', reason: 'We are not the NHS budget holder.' }),
        FundingRefused,
      );
      await assert.rejects(
        disputeShare(db, uC, decisionId, { partnerId: 'nhs', reason: 'Not our decision at all really.' }),
        FundingRefused,
      );
      assert.deepEqual(await counts(db), before, 'refused disputes record nothing');
      const disputeId = await disputeShare(db, uB, decisionId, {
        partnerId: 'nhs',
        reason: 'Night needs are social care needs: the checklist did not lead to full CHC.',
      });
      await assert.rejects(
        disputeShare(db, uB, decisionId, { partnerId: 'nhs', reason: 'A second dispute while one is open.' }),
        /already has a dispute/,
      );
      const change = {
        outcome: 'changed' as const,
        reason: 'Joint panel: night sitting is social care; nursing input stays with health.',
        shares: [
          { partnerId: 'council', basisPoints: 7000 },
          { partnerId: 'nhs', basisPoints: 3000 },
        ],
        decidedOn: '2026-04-10',
      };
      await assert.rejects(
        resolveDispute(db, uB, decisionId, disputeId, change),
        FundingRefused,
        'the disputing partner does not resolve its own dispute',
      );
      await assert.rejects(
        resolveDispute(db, uA2, decisionId, disputeId, change),
        FundingRefused,
        'a colleague who holds no budget does not resolve it',
      );
      await assert.rejects(resolveDispute(db, uC, decisionId, disputeId, change), FundingRefused);
      const transactionsBefore = (await counts(db)).t;
      await resolveDispute(db, uA, decisionId, disputeId, change);
      assert.equal((await counts(db)).t, transactionsBefore + 2, 'a reversal and a new posting');
      const balances = await accountBalances(db);
      assert.equal(balances.get(`package_commitment:${decisionId}`), 4_434_750);
      assert.equal(balances.get('commitment_reserve:council'), -3_104_325);
      assert.equal(balances.get('commitment_reserve:nhs'), -1_330_425);
      await ledgerSumsToZero(db);
      const { decision } = await fundingDecision(db, uB, decisionId);
      assert.deepEqual(
        decision.versions.map((v) => v.version),
        [1, 2],
        'the first version is kept',
      );
      assert.equal(decision.disputes[0]?.resolution?.outcome, 'changed');
      assert.equal(decision.disputes[0]?.resolution?.resolvedByName, 'Name uA');
      assert.deepEqual(
        decision.ledger.map((t) => t.kind),
        ['commitment', 'reversal', 'commitment'],
      );
      await assert.rejects(resolveDispute(db, uA, decisionId, disputeId, { ...change, outcome: 'upheld' }), /already been resolved/);
    });

    test('a dispute upheld posts nothing; an ended budget holder can no longer dispute', async () => {
      const disputeId = await disputeShare(db, uB, decisionId, {
        partnerId: 'nhs',
        reason: 'Still think 30% is too much for nursing input.',
      });
      const before = await counts(db);
      await resolveDispute(db, uA, decisionId, disputeId, {
        outcome: 'upheld',
        reason: 'The panel looked again and the split stands.',
        decidedOn: '2026-05-01',
      });
      const after = await counts(db);
      assert.equal(after.t, before.t, 'nothing posted');
      assert.equal(after.resolutions, before.resolutions + 1);
      const holder = await db.selectFrom('budget_holders').select('id').where('user_id', '=', 'uB').executeTakeFirstOrThrow();
      await endBudgetHolder(db, Number(holder.id), 'admin');
      await assert.rejects(
        disputeShare(db, uB, decisionId, { partnerId: 'nhs', reason: 'After leaving the budget holder role.' }),
        FundingRefused,
      );
    });

    test('the database refuses edits and deletions of decisions, shares, disputes and resolutions', async () => {
      for (const attempt of [
        sql`update funding_shares set basis_points = 5000`,
        sql`delete from funding_decision_versions`,
        sql`update funding_decisions set weekly_pence = 1`,
        sql`delete from funding_disputes`,
        sql`update funding_dispute_resolutions set outcome = 'upheld'`,
        sql`delete from budget_holders`,
      ])
        await assert.rejects(attempt.execute(db), /append-only/);
    });
  });
}
