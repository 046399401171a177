// Targets: what a commissioner types is checked (every problem at once), and an actual meets a
// target in the direction that matters for its measure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTarget, targetStatus } from './targets.ts';
import type { MeasureDef } from './queries.ts';

const known: MeasureDef[] = [
  { id: 'access:first_contact_days', label: 'Time to first contact', kind: 'access', unit: 'days', higherIsWorse: true, description: '' },
  { id: 'access:acceptance', label: 'Referral acceptance', kind: 'access', unit: '%', higherIsWorse: false, description: '' },
];

test('a target needs a known measure, a number (a percentage at most 100) and a future date', () => {
  const ok = parseTarget(
    { measureId: 'access:first_contact_days', value: ' 5.5 ', byDate: '2028-03-31', reason: ' Faster help ' },
    known,
    '2026-12-06',
  );
  assert.deepEqual(ok, {
    errors: [],
    target: { measureId: 'access:first_contact_days', value: 5.5, byDate: '2028-03-31', reason: 'Faster help' },
  });
  const bad = parseTarget({ measureId: 'raw:sql', value: 'five', byDate: '2026-12-06', reason: 'x'.repeat(501) }, known, '2026-12-06');
  assert.deepEqual(
    bad.errors.map((e) => [e.field, e.message]),
    [
      ['measure', 'Choose the measure the target is for'],
      ['value', 'The target must be a number, like 5 or 12.5'],
      ['by', 'The date the target is to be reached by must be in the future'],
      ['reason', 'The reason must be 500 characters or fewer'],
    ],
  );
  assert.equal(bad.target, undefined);
  assert.deepEqual(
    parseTarget({ measureId: 'access:acceptance', value: '101', byDate: null, reason: '' }, known, '2026-12-06').errors.map(
      (e) => e.message,
    ),
    ['The target must be a percentage from 0 to 100', 'Enter the date the target is to be reached by'],
  );
  assert.deepEqual(
    parseTarget({ measureId: 'access:acceptance', value: '', byDate: '2027-01-01', reason: '' }, known, '2026-12-06').errors.map(
      (e) => e.field,
    ),
    ['value'],
  );
});

test('met means at or below the target where lower is better, at or above it where higher is better', () => {
  const days = known[0]!;
  const accepted = known[1]!;
  assert.deepEqual(targetStatus(days, 6.5, 5), { status: 'not met', toGo: 1.5 });
  assert.deepEqual(targetStatus(days, 5, 5), { status: 'met', toGo: 0 });
  assert.deepEqual(targetStatus(accepted, 82, 90), { status: 'not met', toGo: 8 });
  assert.deepEqual(targetStatus(accepted, 95, 90), { status: 'met', toGo: 0 });
  assert.deepEqual(targetStatus(days, null, 5), { status: 'not shown', toGo: null }, 'a suppressed figure is not compared');
  assert.deepEqual(targetStatus(days, 6, null), { status: 'no target', toGo: null });
});
