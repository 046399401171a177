import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSharedRecord } from './shared-record.ts';
import type { Category } from './categories.ts';
import type { CategoryDecision } from './policy.ts';

const d = (category: Category, scope: CategoryDecision['scope']): CategoryDecision => ({
  category,
  purpose: 'direct_care',
  scope,
  basis: 'consent',
  reason: `${category} ${scope}`,
});
const at = new Date('2026-05-01');
const held = {
  needs: [
    { code: 'mental_health', organisationId: 'org-mh', organisation: 'Mental Health Trust', recordedAt: '2026-01-01', severity: 2 },
    { code: 'homelessness', organisationId: 'org-housing', organisation: 'Housing', recordedAt: '2026-01-01', severity: 3 },
    { code: 'offending', organisationId: 'org-probation', organisation: 'Probation', recordedAt: '2026-01-01', severity: 2 },
  ],
  events: [
    { at, type: 'gp_consultation', organisationId: 'org-gp', organisation: 'GP', value: null },
    { at, type: 'homeless_presentation', organisationId: 'org-housing', organisation: 'Housing', value: null },
    { at, type: 'arrest', organisationId: 'org-probation', organisation: 'Probation', value: null },
  ],
  agencies: [
    { organisationId: 'org-gp', organisation: 'GP', kind: 'gp_practice', records: 1, firstRecorded: at },
    { organisationId: 'org-housing', organisation: 'Housing', kind: 'council_housing', records: 1, firstRecorded: at },
    { organisationId: 'org-probation', organisation: 'Probation', kind: 'probation', records: 1, firstRecorded: at },
  ],
};

test("a housing officer without consent sees housing's own entries, counts of withheld health entries, and nothing of probation", () => {
  const view = buildSharedRecord(
    {
      health: d('health', 'own_organisation'),
      housing: d('housing', 'own_organisation'),
      criminal_justice: d('criminal_justice', 'own_organisation'),
    },
    'org-housing',
    held,
  );
  const housing = view.sections.find((s) => s.category === 'housing')!;
  assert.equal(housing.needs.length, 1);
  assert.equal(housing.events.length, 1);
  const health = view.sections.find((s) => s.category === 'health')!;
  assert.equal(health.needs.length + health.events.length, 0);
  assert.equal(health.withheld, 2, 'says two health entries are withheld');
  assert.equal(
    view.sections.find((s) => s.category === 'criminal_justice'),
    undefined,
    'probation involvement is not even hinted at',
  );
  assert.deepEqual(
    view.agencies.map((a) => a.organisation),
    ['Housing'],
  );
  assert.equal(view.agenciesWithheld, 2);
});

test('with consent to share health, the GP and mental health entries appear with their sources', () => {
  const view = buildSharedRecord({ health: d('health', 'all'), housing: d('housing', 'own_organisation') }, 'org-housing', held);
  const health = view.sections.find((s) => s.category === 'health')!;
  assert.deepEqual(
    health.events.map((e) => e.organisation),
    ['GP'],
  );
  assert.deepEqual(
    health.needs.map((n) => n.organisation),
    ['Mental Health Trust'],
  );
  assert.equal(health.withheld, 0);
});

test('the person themselves sees everything', () => {
  const all = Object.fromEntries(['health', 'housing', 'criminal_justice'].map((c) => [c, d(c as Category, 'all')]));
  const view = buildSharedRecord(all, null, held);
  assert.equal(
    view.sections.reduce((n, s) => n + s.needs.length + s.events.length, 0),
    6,
  );
  assert.equal(view.agencies.length, 3);
});
