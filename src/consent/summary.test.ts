import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summariseSharing } from './summary.ts';
import type { Directive } from './policy.ts';

const now = new Date('2026-11-07T12:00:00Z');
const directive = (overrides: Partial<Directive>): Directive => ({
  id: 1,
  category: '*',
  recipientKind: 'network',
  recipientId: null,
  purposes: ['direct_care', 'care_coordination'],
  decision: 'permit',
  validFrom: new Date('2026-01-01'),
  validUntil: null,
  withdrawnAt: null,
  recordedAt: new Date('2026-01-01'),
  recordedFor: 'person',
  ...overrides,
});
const facts = (directives: Directive[]) => ({
  now,
  relationships: [],
  organisationHoldsRecord: false,
  directives,
  lawfulBases: [],
  breakGlassUntil: null,
  proxyScope: null,
  safeguardingReleased: false,
});
const orgs = [
  { id: 'o-gp', name: 'Riverside Surgery', kind: 'gp_practice' },
  { id: 'o-pr', name: 'Riverford Probation', kind: 'probation' },
];
const everything = () => true;

test('each organisation: what it sees in full and why, and what only of its own, each kind once', () => {
  const summary = summariseSharing(
    'p1',
    facts([
      directive({ id: 1 }),
      directive({ id: 2, category: 'criminal_justice', decision: 'deny', recordedAt: new Date('2026-02-01') }),
      directive({
        id: 3,
        category: 'health',
        decision: 'deny',
        recipientKind: 'organisation',
        recipientId: 'o-pr',
        recordedAt: new Date('2026-03-01'),
      }),
    ]),
    orgs,
    everything,
  );
  const gp = summary.find((o) => o.organisationId === 'o-gp')!;
  assert.deepEqual(
    gp.canSee.map((g) => [g.phrase, g.why]),
    [
      [
        "basic details (name, date of birth, address), about me, health, social care, housing, school, children's safeguarding, money and plans",
        'you agreed to share it',
      ],
    ],
  );
  assert.deepEqual(
    gp.ownOnly.map((g) => [g.phrase, g.why]),
    [['criminal justice', 'you asked for it not to be shared with them']],
  );
  const probation = summary.find((o) => o.organisationId === 'o-pr')!;
  assert.deepEqual(
    probation.ownOnly.map((g) => g.phrase),
    ['health and criminal justice'],
  );
  // The same groups as codes, for a page to word in its reader's language.
  assert.deepEqual(
    gp.ownOnly.map((g) => [g.codes, g.reason]),
    [[['criminal_justice'], { kind: 'refused' }]],
  );
  assert.deepEqual(
    probation.ownOnly.map((g) => [g.codes, g.reason.kind]),
    [[['health', 'criminal_justice'], 'refused']],
  );
  assert.deepEqual(gp.canSee[0]!.reason, { kind: 'agreed' });
  assert.equal(gp.canSee[0]!.codes.length, 9);
});

test('without choices, only basic details are seen in full; what the viewer may not see is not mentioned', () => {
  const [gp] = summariseSharing('p1', facts([]), orgs.slice(0, 1), (c) => c !== 'children_safeguarding');
  assert.deepEqual(
    gp!.canSee.map((g) => g.why),
    ['so they know who you are'],
  );
  assert.deepEqual(
    gp!.ownOnly.map((g) => [g.phrase, g.why]),
    [['about me, health, social care, housing, school, criminal justice, money and plans', 'you have not agreed to share it']],
  );
  assert.doesNotMatch(JSON.stringify(gp), /safeguarding/);
});
