import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateRangeWords, listWords, summariseLooks, type AuditRow } from './who-looked.ts';

const DAY = 86_400_000;
let seq = 0;

/** One page view as the person page audits it: ten decisions, then what it showed. */
function pageView(at: Date, actor = 'u-sam', overrides: Partial<AuditRow> = {}, shown: string[] = ['demographics', 'health']): AuditRow[] {
  const base = {
    actorUserId: actor,
    displayName: 'Sam Patel',
    role: 'practitioner',
    organisation: 'Riverford Adult Social Care',
    purpose: 'care_coordination',
    ...overrides,
  };
  const decisions = [
    'demographics',
    'about_me',
    'health',
    'social_care',
    'housing',
    'education',
    'criminal_justice',
    'children_safeguarding',
    'finances',
    'plans',
  ].map((category) => ({
    ...base,
    seq: ++seq,
    at,
    action: 'read',
    category,
    decision: 'allow',
    reason:
      category === 'criminal_justice'
        ? "the person has asked for this not to be shared with you: you see what your organisation recorded (own organisation's entries only)"
        : 'the person agreed to share this with you',
  }));
  const disclosed = shown.map((category) => ({
    ...base,
    seq: ++seq,
    at: new Date(at.getTime() + 5),
    action: 'disclose',
    category,
    decision: 'allow',
    reason: 'shown on the person page',
  }));
  return [...decisions, ...disclosed];
}

test('twelve looks over a week are one line, with the dates and each kind of information once', () => {
  const start = new Date('2026-11-03T10:00:00Z');
  const rows = Array.from({ length: 12 }, (_, i) =>
    pageView(new Date(start.getTime() + Math.floor(i / 2) * DAY + (i % 2) * 3_600_000)),
  ).flat();
  const looks = summariseLooks(rows);
  assert.equal(looks.length, 1);
  assert.equal(looks[0]!.times, 12);
  assert.equal(
    looks[0]!.summary,
    'looked at your record 12 times between 3 and 8 November 2026, to coordinate your care between services: basic details (name, date of birth, address) and health',
  );
  assert.doesNotMatch(looks[0]!.summary, /criminal|police|probation/, 'allowed only for their own entries, of which none were shown');
});

test('a look alone keeps its time; different readers, and looks weeks apart, are separate lines', () => {
  const rows = [
    ...pageView(new Date('2026-10-01T09:00:00Z')),
    ...pageView(new Date('2026-11-01T09:00:00Z')),
    ...pageView(
      new Date('2026-11-01T09:10:00Z'),
      'u-gp',
      { displayName: 'Dr Jones', organisation: 'Riverside Surgery', purpose: 'direct_care' },
      ['demographics', 'health', 'plans'],
    ),
  ];
  const looks = summariseLooks(rows);
  assert.deepEqual(
    looks.map((l) => [l.who, l.times]),
    [
      ['Dr Jones (practitioner) at Riverside Surgery', 1],
      ['Sam Patel (practitioner) at Riverford Adult Social Care', 1],
      ['Sam Patel (practitioner) at Riverford Adult Social Care', 1],
    ],
  );
  assert.equal(
    looks[0]!.summary,
    'looked at your record to care for you directly: basic details (name, date of birth, address), health and plans',
  );
});

test('refusals and emergency accesses are their own lines, in plain words', () => {
  const at = new Date('2026-11-05T12:00:00Z');
  const base = {
    actorUserId: 'u-x',
    displayName: 'Alex',
    role: 'practitioner',
    organisation: 'Riverford Probation',
    purpose: 'direct_care',
  };
  const rows: AuditRow[] = [
    { ...base, seq: ++seq, at, action: 'read', category: 'demographics', decision: 'deny', reason: 'no legitimate relationship' },
    {
      ...base,
      seq: ++seq,
      at: new Date(at.getTime() + 60_000),
      action: 'break_glass',
      category: null,
      decision: 'allow',
      reason: 'emergency access for 60 minutes: found collapsed',
    },
    ...pageView(new Date(at.getTime() + 61_000), 'u-x', base, ['demographics']),
  ];
  const looks = summariseLooks(rows);
  assert.equal(looks.length, 3);
  assert.equal(looks.find((l) => l.refused)?.summary, 'tried to look at your record, and was refused: no legitimate relationship');
  assert.equal(looks.find((l) => l.emergency)?.summary, 'used emergency access to your record. Their reason: "found collapsed"');
});

test('date ranges read naturally', () => {
  assert.equal(dateRangeWords(new Date('2026-11-03T10:00:00Z'), new Date('2026-11-03T18:00:00Z')), 'on 3 November 2026');
  assert.equal(
    dateRangeWords(new Date('2026-10-28T10:00:00Z'), new Date('2026-11-03T10:00:00Z')),
    'between 28 October and 3 November 2026',
  );
  assert.equal(
    dateRangeWords(new Date('2025-12-30T10:00:00Z'), new Date('2026-01-02T10:00:00Z')),
    'between 30 December 2025 and 2 January 2026',
  );
});

test('in Welsh, the same lines are written in Welsh, with Welsh dates and lists', () => {
  const start = new Date('2026-11-03T10:00:00Z');
  const rows = Array.from({ length: 3 }, (_, i) =>
    pageView(new Date(start.getTime() + i * DAY), 'u-cy', {}, ['demographics', 'health', 'housing']),
  ).flat();
  const [look] = summariseLooks(rows, 20, 'cy');
  assert.equal(look!.who, 'Sam Patel (ymarferydd) yn Riverford Adult Social Care');
  assert.equal(
    look!.summary,
    'edrychodd ar eich cofnod deirgwaith rhwng 3 a 5 Tachwedd 2026, i gydlynu eich gofal rhwng gwasanaethau: manylion sylfaenol (enw, dyddiad geni, cyfeiriad), iechyd a thai',
  );
  assert.equal(
    dateRangeWords(new Date('2026-10-28T10:00:00Z'), new Date('2026-11-03T10:00:00Z'), 'cy'),
    'rhwng 28 Hydref a 3 Tachwedd 2026',
  );
  assert.equal(dateRangeWords(new Date('2026-11-03T10:00:00Z'), new Date('2026-11-03T18:00:00Z'), 'cy'), 'ar 3 Tachwedd 2026');
});

test('Welsh lists join with "a", "ac" before a vowel, and mutate after it', () => {
  assert.equal(listWords(['iechyd', 'tai'], 'cy'), 'iechyd a thai');
  assert.equal(listWords(['tai', 'cynlluniau', 'arian'], 'cy'), 'tai, cynlluniau ac arian');
  assert.equal(listWords(['arian', 'cynlluniau'], 'cy'), 'arian a chynlluniau');
  assert.equal(listWords(['tai', 'ysgol'], 'cy'), 'tai ac ysgol');
  assert.equal(listWords(['health', 'housing']), 'health and housing');
});
