// Scoring rules on hand-made responses, with expected scores worked out by hand; conditional
// questions (enableWhen); prefill expressions; and every question mapped to the outcomes framework.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  carersAssessment,
  childrenNeedsScreen,
  multipleDisadvantageAssessment,
  onsWellbeing,
  shippedQuestionnaires,
} from './instruments.ts';
import {
  buildResponse,
  answersFromResponse,
  enabledLinkIds,
  flattenItems,
  isQuestion,
  parseAnswers,
  scoreResponse,
  scoringOf,
  domainOf,
} from './questionnaire.ts';
import { prefillQuestionnaire, tellItOnce, validatePrefillExpressions, type PrefillFacts } from './prefill.ts';
import { defaultFramework, defaultNeedOutcomes, validateFramework } from './framework.ts';
import { questionnaireMappings } from './store.ts';
import { addMonths, checkEnrolment, defaultOperatingModels, EnrolmentError } from './models.ts';

test('multiple disadvantage: domains 0–4 and total, a disabled follow-up does not count', () => {
  // Hand-computed: engagement 3, social 2, self-harm max(1, 3) = 3, risk to others 0 (follow-up
  // disabled because "no"), risk from others 1, stress 4, alcohol/drugs max(1, 2) = 2, impulse 3,
  // housing 4. Total 3+2+3+0+1+4+2+3+4 = 22. Five areas score 3 or more, so coordination is indicated.
  const score = scoreResponse(multipleDisadvantageAssessment, {
    engagement: 'eng3',
    social: 'soc2',
    'harm-any': 'yes',
    'harm-level': 'harm3',
    'others-any': 'no',
    'others-level': 'oth4',
    exploited: 'exp1',
    stress: 'str4',
    substances: 'yes',
    'substances-level': 'sub2',
    impulse: 'imp3',
    housing: 'hou4',
  });
  assert.deepEqual(score.domains, {
    engagement: 3,
    self_harm: 3,
    risk_to_others: 0,
    risk_from_others: 1,
    stress_anxiety: 4,
    social_effectiveness: 2,
    alcohol_drugs: 2,
    impulse_control: 3,
    housing: 4,
  });
  assert.equal(score.total, 22);
  assert.equal(score.complete, true);
  assert.equal(score.rules['coordination-indicated'], true);
});

test('multiple disadvantage: low scores, and an unanswered area leaves the assessment incomplete', () => {
  // 1+0+0+0+0+1+0+0 = 2 over eight areas; housing unanswered.
  const score = scoreResponse(multipleDisadvantageAssessment, {
    engagement: 'eng1',
    social: 'soc0',
    'harm-any': 'no',
    'others-any': 'no',
    exploited: 'exp0',
    stress: 'str1',
    substances: 'no',
    impulse: 'imp0',
  });
  assert.equal(score.domains.housing, null);
  assert.equal(score.total, 2);
  assert.equal(score.complete, false);
  assert.equal(score.rules['coordination-indicated'], false);
});

test('a required follow-up is required only when its condition holds', () => {
  const base = {
    engagement: 'eng0',
    social: 'soc0',
    'others-any': 'no',
    exploited: 'exp0',
    stress: 'str0',
    substances: 'no',
    impulse: 'imp0',
    housing: 'hou0',
  };
  const asked = parseAnswers(multipleDisadvantageAssessment, { ...base, 'harm-any': 'yes' });
  assert.deepEqual(
    asked.errors.map((e) => e.linkId),
    ['harm-level'],
  );
  const notAsked = parseAnswers(multipleDisadvantageAssessment, { ...base, 'harm-any': 'no', 'harm-level': 'harm4' });
  assert.deepEqual(notAsked.errors, []);
  assert.equal(notAsked.answers['harm-level'], undefined, 'the answer to a disabled question is dropped');
  const bad = parseAnswers(multipleDisadvantageAssessment, { ...base, 'harm-any': 'no', engagement: 'eng9' });
  assert.deepEqual(
    bad.errors.map((e) => e.linkId),
    ['engagement'],
  );
});

test('enableWhen with "any" and with "!=": conditions chain through disabled questions', () => {
  assert.ok(enabledLinkIds(carersAssessment, { 'carer-health': 'ch4' }).has('carer-gp'));
  assert.ok(enabledLinkIds(carersAssessment, { 'carer-health': 'ch3' }).has('carer-gp'));
  assert.ok(!enabledLinkIds(carersAssessment, { 'carer-health': 'ch2' }).has('carer-gp'));
  assert.ok(!enabledLinkIds(childrenNeedsScreen, { attendance: 'att1' }).has('excluded'));
  assert.ok(enabledLinkIds(childrenNeedsScreen, { attendance: 'att2' }).has('excluded'));
  assert.ok(!enabledLinkIds(childrenNeedsScreen, {}).has('excluded'), 'no attendance answer: the exclusion question stays hidden');
  // eviction-risk depends on housing = hou2; with housing unanswered it is off.
  assert.ok(!enabledLinkIds(multipleDisadvantageAssessment, { housing: 'hou3' }).has('eviction-risk'));
  assert.ok(enabledLinkIds(multipleDisadvantageAssessment, { housing: 'hou2' }).has('eviction-risk'));
});

test("children's needs screen: family area sums and caps at 4; identification rule", () => {
  // attendance max(2, exclusion 3) = 3; attainment 1; wellbeing 2; family 2+1+0+2 = 5, capped 4. Total 10.
  const a = scoreResponse(childrenNeedsScreen, {
    attendance: 'att2',
    excluded: 'yes',
    attainment: 'lrn1',
    wellbeing: 'wb2',
    'family-housing': 'yes',
    'family-money': 'yes',
    'young-carer': 'no',
    'social-care': 'yes',
  });
  assert.deepEqual(a.domains, { attendance: 3, attainment: 1, wellbeing: 2, family: 4 });
  assert.equal(a.total, 10);
  assert.equal(a.rules['meets-identification-criteria'], true);
  // All low (the exclusion answer is ignored: attendance is 95%+): 0 + 0 + 1 + 0 = 1, not identified.
  const b = scoreResponse(childrenNeedsScreen, {
    attendance: 'att0',
    excluded: 'yes',
    attainment: 'lrn0',
    wellbeing: 'wb1',
    'family-housing': 'no',
    'family-money': 'no',
    'young-carer': 'no',
    'social-care': 'no',
  });
  assert.deepEqual(b.domains, { attendance: 0, attainment: 0, wellbeing: 1, family: 0 });
  assert.equal(b.total, 1);
  assert.equal(b.rules['meets-identification-criteria'], false);
  // Attendance below 80% alone meets the criteria: 4 + 0 + 0 + 0 = 4.
  const c = scoreResponse(childrenNeedsScreen, {
    attendance: 'att4',
    excluded: 'no',
    attainment: 'lrn0',
    wellbeing: 'wb0',
    'family-housing': 'no',
    'family-money': 'no',
    'young-carer': 'no',
    'social-care': 'no',
  });
  assert.equal(c.total, 4);
  assert.equal(c.rules['meets-identification-criteria'], true);
  // One area at 2 only: not identified.
  const d = scoreResponse(childrenNeedsScreen, {
    attendance: 'att1',
    attainment: 'lrn2',
    wellbeing: 'wb1',
    'family-housing': 'no',
    'family-money': 'no',
    'young-carer': 'no',
    'social-care': 'no',
  });
  assert.equal(d.rules['meets-identification-criteria'], false);
});

test('ONS4: four 0–10 scores, no total, low wellbeing thresholds', () => {
  const good = scoreResponse(onsWellbeing, { 'ons-life-satisfaction': 7, 'ons-worthwhile': 8, 'ons-happy': 6, 'ons-anxious': 3 });
  assert.deepEqual(good.domains, { life_satisfaction: 7, worthwhile: 8, happiness: 6, anxiety: 3 });
  assert.equal(good.total, null);
  assert.equal(good.rules['low-wellbeing'], false);
  assert.equal(
    scoreResponse(onsWellbeing, { 'ons-life-satisfaction': 7, 'ons-worthwhile': 8, 'ons-happy': 6, 'ons-anxious': 6 }).rules[
      'low-wellbeing'
    ],
    true,
  );
  assert.equal(
    scoreResponse(onsWellbeing, { 'ons-life-satisfaction': 4, 'ons-worthwhile': 8, 'ons-happy': 6, 'ons-anxious': 0 }).rules[
      'low-wellbeing'
    ],
    true,
  );
  const parsed = parseAnswers(onsWellbeing, {
    'ons-life-satisfaction': '11',
    'ons-worthwhile': '7.5',
    'ons-happy': '5',
    'ons-anxious': '',
  });
  assert.deepEqual(
    parsed.errors.map((e) => e.linkId),
    ['ons-life-satisfaction', 'ons-worthwhile', 'ons-anxious'],
  );
});

test("carer's assessment: areas and total, support indicated", () => {
  // caring role max(3, nights 3) = 3; health 3; life balance 2; connections 1; money 0; emergency plan 2. Total 11.
  const s = scoreResponse(carersAssessment, {
    'care-hours': 'h3',
    'care-nights': 'yes',
    'carer-health': 'ch3',
    'carer-gp': 'no',
    'life-balance': 'lb2',
    lonely: 'lo1',
    'money-worries': 'mo0',
    emergency: 'partly',
    'ons-life-satisfaction': 3,
  });
  assert.deepEqual(s.domains, { caring_role: 3, carer_health: 3, life_balance: 2, connections: 1, money: 0, emergency_plan: 2 });
  assert.equal(s.total, 11);
  assert.equal(s.rules['support-indicated'], true);
  // Only the emergency plan at 4: any area at 4 indicates support. 0+0+0+0+0+4 = 4.
  const t = scoreResponse(carersAssessment, {
    'care-hours': 'h0',
    'care-nights': 'no',
    'carer-health': 'ch0',
    'life-balance': 'lb0',
    lonely: 'lo0',
    'money-worries': 'mo0',
    emergency: 'no',
  });
  assert.equal(t.total, 4);
  assert.equal(t.rules['support-indicated'], true);
});

test('the FHIR QuestionnaireResponse keeps groups, drops disabled answers, carries sources and scores', () => {
  const answers = { engagement: 'eng2', 'harm-any': 'no', 'harm-level': 'harm4', stress: 'str3' };
  const source = {
    kind: 'need',
    category: 'health',
    organisationId: 'org-1',
    organisation: 'Trust',
    recordedAt: '2026-01-01',
    detail: 'mental health',
  };
  const response = buildResponse(multipleDisadvantageAssessment, answers, {
    subjectReference: 'Patient/p1',
    authored: '2026-11-01T10:00:00Z',
    reused: { stress: source },
    score: scoreResponse(multipleDisadvantageAssessment, answers),
  });
  assert.equal(response.resourceType, 'QuestionnaireResponse');
  assert.equal(response.questionnaire, 'https://joinery.example/fhir/Questionnaire/md-assessment|1');
  assert.deepEqual(
    response.item.map((i) => i.linkId),
    ['relationships', 'safety', 'health'],
  );
  assert.deepEqual(answersFromResponse(response), { engagement: 'eng2', 'harm-any': 'no', stress: 'str3' });
  const stress = response.item.find((i) => i.linkId === 'health')!.item!.find((i) => i.linkId === 'stress')!;
  assert.equal(stress.answer![0]!.valueCoding!.display, 'Most days, struggling to cope');
  assert.ok(stress.extension?.[0]?.url.endsWith('prefill-source'));
});

const now = new Date('2026-11-01T12:00:00Z');
const facts = (over: Partial<PrefillFacts> = {}): PrefillFacts => ({
  now,
  needs: [],
  events: [],
  household: null,
  age: null,
  answers: [],
  ...over,
});

test('prefill maps what the record holds to answers, and nothing when it holds nothing', () => {
  const p = prefillQuestionnaire(
    multipleDisadvantageAssessment,
    facts({
      needs: [
        {
          code: 'substance_misuse',
          severity: 2,
          organisationId: 'o1',
          organisation: 'Recovery service',
          recordedAt: '2026-03-01',
          category: 'health',
        },
        {
          code: 'mental_health',
          severity: 3,
          organisationId: 'o2',
          organisation: 'Mental health trust',
          recordedAt: '2026-02-01',
          category: 'health',
        },
        { code: 'homelessness', severity: 1, organisationId: 'o3', organisation: 'Housing', recordedAt: '2026-01-01', category: 'housing' },
      ],
      household: { tenure: 'temporary_accommodation', composition: 'single_adult', category: 'housing' },
      events: [
        {
          type: 'arrest',
          at: new Date('2025-01-01'),
          value: null,
          organisationId: 'o4',
          organisation: 'Police',
          category: 'criminal_justice',
        },
      ],
    }),
  );
  assert.equal(p.substances?.value, 'yes');
  assert.equal(p['substances-level']?.value, 'sub3');
  assert.equal(p.stress?.value, 'str4');
  assert.equal(p.stress?.source.organisation, 'Mental health trust');
  assert.equal(p.housing?.value, 'hou2');
  assert.equal(p.tenure?.value, 'temporary_accommodation');
  assert.equal(p.police, undefined, 'an arrest outside the six-month window is not used');
  assert.equal(p.engagement, undefined);
  assert.deepEqual(prefillQuestionnaire(multipleDisadvantageAssessment, facts()), {});
  const child = prefillQuestionnaire(
    childrenNeedsScreen,
    facts({
      events: [
        {
          type: 'school_attendance_term',
          at: new Date('2026-07-20'),
          value: 87.5,
          organisationId: 's1',
          organisation: 'School',
          category: 'education',
        },
        {
          type: 'school_attendance_term',
          at: new Date('2025-07-20'),
          value: 99,
          organisationId: 's1',
          organisation: 'School',
          category: 'education',
        },
      ],
    }),
  );
  assert.equal(child.attendance?.value, 'att2', 'latest term 87.5% is the 85–89% band');
  const ons = prefillQuestionnaire(
    carersAssessment,
    facts({
      answers: [
        {
          linkId: 'ons-life-satisfaction',
          value: 6,
          authoredAt: new Date('2026-10-20'),
          organisationId: null,
          organisation: null,
          category: 'about_me',
          questionnaire: 'Personal wellbeing (ONS4)',
        },
      ],
    }),
  );
  assert.equal(ons['ons-life-satisfaction']?.value, 6, "tell it once: a recent wellbeing answer is reused in the carer's assessment");
});

test('tell it once counts answers kept, changed and asked', () => {
  const source = { kind: 'need', category: 'health', organisationId: null, organisation: null, recordedAt: null, detail: 'x' };
  const { counts, reused } = tellItOnce({ a: 'x', b: 'y', c: 3, d: 'z' }, { a: { value: 'x', source }, b: { value: 'n', source } });
  assert.deepEqual(counts, { answered: 4, reused: 1, asked: 3, changed: 1 });
  assert.deepEqual(Object.keys(reused), ['a']);
});

test('every need, domain and question maps to the outcomes framework; definitions are valid', () => {
  validateFramework(defaultFramework);
  assert.equal(defaultFramework.outcomes.length, 12);
  const codes = new Set(defaultFramework.outcomes.map((o) => o.code));
  for (const [need, outcomes] of Object.entries(defaultNeedOutcomes))
    assert.ok(outcomes.length > 0 && outcomes.every((o) => codes.has(o)), need);
  for (const q of shippedQuestionnaires) {
    validatePrefillExpressions(q);
    const mapped = new Set(
      questionnaireMappings(q)
        .filter((m) => m.source_kind === 'question')
        .map((m) => m.source_code),
    );
    for (const { item } of flattenItems(q.item))
      if (isQuestion(item)) assert.ok(mapped.has(`${q.id}#${item.linkId}`), `${q.id}#${item.linkId} maps to an outcome`);
    for (const d of scoringOf(q).domains)
      assert.ok(d.outcomes.length > 0 && d.outcomes.every((o) => codes.has(o)), `${q.id} domain ${d.code}`);
    const domains = new Set(scoringOf(q).domains.map((d) => d.code));
    for (const { item } of flattenItems(q.item)) {
      const d = domainOf(item);
      if (d) assert.ok(domains.has(d), `${q.id}#${item.linkId} scores into a declared domain`);
    }
  }
  assert.throws(() => validateFramework({ ...defaultFramework, needs: { ...defaultFramework.needs, homelessness: [] } }), /homelessness/);
});

test('operating models are data: enrolment rules and dates come from their settings', () => {
  const zone = defaultOperatingModels.find((m) => m.id === 'childrens-zone')!.config;
  assert.throws(
    () => checkEnrolment(zone, { consent: false, identification: { rulesMet: { 'meets-identification-criteria': true } } }),
    EnrolmentError,
  );
  assert.throws(
    () => checkEnrolment(zone, { consent: true, identification: { rulesMet: { 'meets-identification-criteria': false } } }),
    /criteria/,
  );
  checkEnrolment(zone, { consent: true, identification: { rulesMet: { 'meets-identification-criteria': true } } });
  const lac = defaultOperatingModels.find((m) => m.id === 'local-area-coordination')!.config;
  checkEnrolment(lac, { consent: false, identification: null });
  assert.deepEqual(lac.planSections.slice(0, 2), ['strengths', 'connections']);
  assert.equal(addMonths('2026-01-31', 1), '2026-02-28');
  assert.equal(addMonths('2026-11-15', 24), '2028-11-15');
});
