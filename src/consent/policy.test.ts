import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applicableDirective, decideCategory, type AccessFacts, type Actor, type Directive } from './policy.ts';
import { categories, type Category } from './categories.ts';

const now = new Date('2026-11-23T12:00:00Z');
const practitioner: Actor = {
  userId: 'u1',
  role: 'practitioner',
  personId: null,
  organisationId: 'org-housing',
  teamId: 'team-h1',
  practitionerId: 'pr-1',
};
const baseFacts: AccessFacts = {
  now,
  relationships: [{ organisationId: 'org-housing', teamId: null, practitionerId: null, kind: 'network' }],
  organisationHoldsRecord: false,
  directives: [],
  lawfulBases: [],
  breakGlassUntil: null,
  proxyScope: null,
  safeguardingReleased: false,
  inReviewQueue: false,
};
let nextId = 1;
const directive = (partial: Partial<Directive>): Directive => ({
  id: nextId++,
  category: 'health',
  recipientKind: 'network',
  recipientId: null,
  purposes: ['direct_care', 'care_coordination'],
  decision: 'permit',
  validFrom: new Date('2026-01-01'),
  validUntil: null,
  withdrawnAt: null,
  recordedAt: new Date('2026-01-01'),
  recordedFor: 'person',
  ...partial,
});

describe('the access policy', () => {
  test('no relationship: refused, whatever the person agreed', () => {
    const facts = { ...baseFacts, relationships: [], directives: [directive({ category: '*' })] };
    const d = decideCategory(practitioner, 'p1', 'health', 'direct_care', facts);
    assert.equal(d.scope, 'none');
    assert.match(d.reason, /no legitimate relationship/);
  });

  test("a relationship alone shows basic details and the practitioner's own organisation's entries", () => {
    assert.equal(decideCategory(practitioner, 'p1', 'demographics', 'direct_care', baseFacts).scope, 'all');
    assert.equal(decideCategory(practitioner, 'p1', 'health', 'direct_care', baseFacts).scope, 'own_organisation');
  });

  test('consent to share with the network opens that category only, for the purposes given', () => {
    const facts = { ...baseFacts, directives: [directive({ category: 'health', purposes: ['direct_care'] })] };
    assert.equal(decideCategory(practitioner, 'p1', 'health', 'direct_care', facts).scope, 'all');
    assert.equal(decideCategory(practitioner, 'p1', 'health', 'care_coordination', facts).scope, 'own_organisation');
    assert.equal(decideCategory(practitioner, 'p1', 'housing', 'direct_care', facts).scope, 'own_organisation');
  });

  test('withdrawn and expired consent no longer opens anything, from the moment it ends', () => {
    const withdrawn = directive({ withdrawnAt: new Date(now.getTime() - 1) });
    const expired = directive({ validUntil: now });
    const future = directive({ validFrom: new Date(now.getTime() + 60_000) });
    for (const d of [withdrawn, expired, future]) {
      assert.equal(
        decideCategory(practitioner, 'p1', 'health', 'direct_care', { ...baseFacts, directives: [d] }).scope,
        'own_organisation',
      );
    }
  });

  test('consent to another organisation or team does not reach this practitioner', () => {
    const facts = {
      ...baseFacts,
      directives: [
        directive({ recipientKind: 'organisation', recipientId: 'org-gp' }),
        directive({ recipientKind: 'team', recipientId: 'team-x' }),
      ],
    };
    assert.equal(decideCategory(practitioner, 'p1', 'health', 'direct_care', facts).scope, 'own_organisation');
  });

  test('a lawful basis (safeguarding) shares without consent and says so', () => {
    const facts = {
      ...baseFacts,
      directives: [directive({ category: 'children_safeguarding', decision: 'deny' })],
      lawfulBases: [
        {
          id: 1,
          category: 'children_safeguarding' as const,
          purpose: 'safeguarding' as const,
          basis: 'safeguarding' as const,
          organisationId: null,
          validFrom: new Date('2026-01-01'),
          validUntil: null,
          endedAt: null,
        },
      ],
    };
    const d = decideCategory(practitioner, 'p1', 'children_safeguarding', 'safeguarding', facts);
    assert.equal(d.scope, 'all');
    assert.equal(d.basis, 'lawful_basis');
    assert.match(d.reason, /lawful basis \(safeguarding\)/);
  });

  test('break-glass opens everything while it lasts, and not a moment longer', () => {
    const open = decideCategory(practitioner, 'p1', 'criminal_justice', 'direct_care', {
      ...baseFacts,
      relationships: [],
      breakGlassUntil: new Date(now.getTime() + 1000),
    });
    assert.equal(open.scope, 'all');
    assert.equal(open.basis, 'break_glass');
    const over = decideCategory(practitioner, 'p1', 'criminal_justice', 'direct_care', {
      ...baseFacts,
      relationships: [],
      breakGlassUntil: now,
    });
    assert.equal(over.scope, 'none');
  });

  test("citizens see their own record and those they are a proxy for; nobody else's", () => {
    const citizen: Actor = { userId: 'u2', role: 'citizen', personId: 'p1', organisationId: null, teamId: null, practitionerId: null };
    assert.equal(decideCategory(citizen, 'p1', 'health', 'self', baseFacts).basis, 'self');
    assert.equal(decideCategory(citizen, 'p2', 'health', 'self', baseFacts).scope, 'none');
    assert.equal(decideCategory(citizen, 'p2', 'health', 'self', { ...baseFacts, proxyScope: ['health'] }).basis, 'proxy');
    assert.equal(decideCategory(citizen, 'p1', 'health', 'direct_care', baseFacts).scope, 'none');
  });

  test("managers, administrators and privacy officers never see a person's record", () => {
    for (const role of ['manager', 'admin', 'privacy_officer'] as const) {
      for (const category of categories) {
        const d = decideCategory({ ...practitioner, role }, 'p1', category, 'direct_care', {
          ...baseFacts,
          directives: [directive({ category: '*' })],
        });
        assert.equal(d.scope, 'none', `${role} ${category}`);
      }
    }
  });

  test('data-quality reviewers see basic details of people in the review queue or an undoable merge, for identity review only', () => {
    const reviewer: Actor = { ...practitioner, role: 'data_quality' };
    const none = { ...baseFacts, relationships: [] };
    assert.equal(decideCategory(reviewer, 'p1', 'demographics', 'identity_review', none).scope, 'none');
    for (const facts of [
      { ...none, inReviewQueue: true },
      { ...none, inUndoableMerge: true },
    ]) {
      assert.equal(decideCategory(reviewer, 'p1', 'demographics', 'identity_review', facts).scope, 'all');
      assert.equal(
        decideCategory(reviewer, 'p1', 'demographics', 'direct_care', facts).scope,
        'none',
        'never for care: they do not open person pages',
      );
      for (const category of categories.filter((c) => c !== 'demographics'))
        assert.equal(decideCategory(reviewer, 'p1', category, 'identity_review', facts).scope, 'none', category);
    }
    assert.match(decideCategory(reviewer, 'p1', 'demographics', 'identity_review', { ...none, inUndoableMerge: true }).reason, /merge/);
  });
});

// Random histories of what the person said: grants and refusals to various recipients,
// withdrawals, and the clock moving past expiry dates.
type Op =
  | {
      kind: 'grant';
      decision: 'permit' | 'deny';
      category: Category | '*';
      recipient: 'network' | 'own_org' | 'other_org' | 'own_team';
      hoursValid: number | null;
    }
  | { kind: 'withdraw'; index: number }
  | { kind: 'wait'; hours: number };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('grant' as const),
    decision: fc.constantFrom('permit' as const, 'deny' as const),
    category: fc.constantFrom<Category | '*'>('*', 'health', 'housing', 'criminal_justice'),
    recipient: fc.constantFrom('network' as const, 'own_org' as const, 'other_org' as const, 'own_team' as const),
    hoursValid: fc.option(fc.integer({ min: 1, max: 48 }), { nil: null }),
  }),
  fc.record({ kind: fc.constant('withdraw' as const), index: fc.nat(20) }),
  fc.record({ kind: fc.constant('wait' as const), hours: fc.integer({ min: 1, max: 30 }) }),
);

function replay(ops: Op[]): { directives: Directive[]; clock: Date } {
  let clock = new Date('2026-06-01T00:00:00Z');
  const directives: Directive[] = [];
  let id = 1;
  for (const op of ops) {
    clock = new Date(clock.getTime() + 60_000); // every act happens a minute after the last
    if (op.kind === 'grant') {
      const recipient =
        op.recipient === 'network'
          ? { recipientKind: 'network' as const, recipientId: null }
          : op.recipient === 'own_org'
            ? { recipientKind: 'organisation' as const, recipientId: 'org-housing' }
            : op.recipient === 'other_org'
              ? { recipientKind: 'organisation' as const, recipientId: 'org-gp' }
              : { recipientKind: 'team' as const, recipientId: 'team-h1' };
      directives.push({
        id: id++,
        category: op.category,
        ...recipient,
        purposes: ['direct_care'],
        decision: op.decision,
        validFrom: clock,
        validUntil: op.hoursValid ? new Date(clock.getTime() + op.hoursValid * 3_600_000) : null,
        withdrawnAt: null,
        recordedAt: clock,
        recordedFor: 'person',
      });
    } else if (op.kind === 'withdraw') {
      const target = directives[op.index % Math.max(1, directives.length)];
      if (target && !target.withdrawnAt) target.withdrawnAt = clock;
    } else {
      clock = new Date(clock.getTime() + op.hours * 3_600_000);
    }
  }
  return { directives, clock: new Date(clock.getTime() + 1) };
}

test('property: random grant/withdraw/expire histories never give access the latest applicable choice forbids', () => {
  fc.assert(
    fc.property(
      fc.array(opArbitrary, { maxLength: 25 }),
      fc.constantFrom<Category>('health', 'housing', 'criminal_justice'),
      (ops, category) => {
        const { directives, clock } = replay(ops);
        const facts = { ...baseFacts, now: clock, directives };
        const decision = decideCategory(practitioner, 'p1', category, 'direct_care', facts);
        // Independent oracle: the latest-recorded directive still in force that names this actor.
        const inForce = directives.filter(
          (d) =>
            !d.withdrawnAt &&
            (!d.validUntil || d.validUntil > clock) &&
            d.validFrom <= clock &&
            (d.category === '*' || d.category === category) &&
            (d.recipientKind === 'network' || d.recipientId === 'org-housing' || d.recipientId === 'team-h1'),
        );
        const latest = inForce.sort((a, b) => a.recordedAt.getTime() - b.recordedAt.getTime() || a.id - b.id).at(-1);
        if (!latest || latest.decision === 'deny') {
          assert.notEqual(decision.scope, 'all', "other agencies' entries must stay withheld");
        } else {
          assert.equal(decision.scope, 'all');
        }
        assert.equal(applicableDirective(directives, practitioner, category, 'direct_care', clock)?.id, latest?.id);
      },
    ),
    { numRuns: 2000 },
  );
});

test('property: without a relationship or break-glass, no history of consent opens anything', () => {
  fc.assert(
    fc.property(fc.array(opArbitrary, { maxLength: 15 }), fc.constantFrom(...categories), (ops, category) => {
      const { directives, clock } = replay(ops);
      const d = decideCategory(practitioner, 'p1', category, 'direct_care', { ...baseFacts, now: clock, relationships: [], directives });
      assert.equal(d.scope, 'none');
    }),
    { numRuns: 1000 },
  );
});
