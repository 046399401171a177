// The assessments Joinery ships, as FHIR Questionnaires (questions written in our own words).
// Each question and scoring domain carries the outcomes it evidences (item.code in the place's
// outcomes system), and where the network may already know the answer, a prefill expression.
import { OUTCOMES_SYSTEM } from './framework.ts';
import {
  EXT,
  PREFILL_LANGUAGE,
  type AnswerOption,
  type EnableWhen,
  type Extension,
  type Questionnaire,
  type QuestionnaireItem,
} from './questionnaire.ts';

const ANSWERS_SYSTEM = 'https://joinery.example/fhir/CodeSystem/answers';

function opt(code: string, display: string, ordinal?: number): AnswerOption {
  return {
    valueCoding: { system: ANSWERS_SYSTEM, code, display },
    ...(ordinal !== undefined ? { extension: [{ url: EXT.ordinal, valueDecimal: ordinal }] } : {}),
  };
}

/** Five options scored 0–4, in order. */
function scale(prefix: string, labels: [string, string, string, string, string]): AnswerOption[] {
  return labels.map((label, i) => opt(`${prefix}${i}`, label, i));
}

const yesNo = (yes = 1, no = 0): AnswerOption[] => [opt('yes', 'Yes', yes), opt('no', 'No', no)];

interface ItemOptions {
  domain?: string;
  outcomes?: string[];
  prefill?: string;
  enableWhen?: EnableWhen[];
  enableBehavior?: 'all' | 'any';
  required?: boolean;
  hint?: string;
  min?: number;
  max?: number;
}

function item(
  linkId: string,
  text: string,
  type: QuestionnaireItem['type'],
  options: ItemOptions & { answerOption?: AnswerOption[] } = {},
): QuestionnaireItem {
  const extension: Extension[] = [];
  if (options.domain) extension.push({ url: EXT.domain, valueCode: options.domain });
  if (options.prefill) extension.push({ url: EXT.prefill, valueExpression: { language: PREFILL_LANGUAGE, expression: options.prefill } });
  if (options.hint) extension.push({ url: EXT.hint, valueString: options.hint });
  if (options.min !== undefined) extension.push({ url: EXT.minValue, valueInteger: options.min });
  if (options.max !== undefined) extension.push({ url: EXT.maxValue, valueInteger: options.max });
  return {
    linkId,
    text,
    type,
    ...(options.required ? { required: true } : {}),
    ...(options.outcomes ? { code: options.outcomes.map((code) => ({ system: OUTCOMES_SYSTEM, code })) } : {}),
    ...(options.enableWhen ? { enableWhen: options.enableWhen } : {}),
    ...(options.enableBehavior ? { enableBehavior: options.enableBehavior } : {}),
    ...(options.answerOption ? { answerOption: options.answerOption } : {}),
    ...(extension.length ? { extension } : {}),
  };
}

const choice = (linkId: string, text: string, answerOption: AnswerOption[], options: ItemOptions = {}) =>
  item(linkId, text, 'choice', { ...options, answerOption });
const group = (linkId: string, text: string, items: QuestionnaireItem[]): QuestionnaireItem => ({
  linkId,
  text,
  type: 'group',
  item: items,
});
const when = (question: string, code: string, operator: EnableWhen['operator'] = '='): EnableWhen => ({
  question,
  operator,
  answerCoding: { system: ANSWERS_SYSTEM, code },
});

interface DomainSpec {
  code: string;
  display: string;
  method?: 'max' | 'sum' | 'mean';
  min?: number;
  max?: number;
  higherIsBetter?: boolean;
  outcomes: string[];
}
interface RuleSpec {
  code: string;
  display: string;
  domainThreshold?: number;
  minDomains?: number;
  anyOf?: Array<{ domain: string; atLeast?: number; atMost?: number }>;
}

function scoring(domains: DomainSpec[], total: 'sum' | 'none', rules: RuleSpec[] = []): Extension {
  return {
    url: EXT.scoring,
    extension: [
      ...domains.map((d) => ({
        url: 'domain',
        extension: [
          { url: 'code', valueCode: d.code },
          { url: 'display', valueString: d.display },
          { url: 'method', valueCode: d.method ?? 'max' },
          { url: 'min', valueDecimal: d.min ?? 0 },
          { url: 'max', valueDecimal: d.max ?? 4 },
          { url: 'higherIsBetter', valueBoolean: d.higherIsBetter ?? false },
          ...d.outcomes.map((o) => ({ url: 'outcome', valueCode: o })),
        ],
      })),
      { url: 'total', valueCode: total },
      ...rules.map((r) => ({
        url: 'rule',
        extension: [
          { url: 'code', valueCode: r.code },
          { url: 'display', valueString: r.display },
          ...(r.domainThreshold !== undefined ? [{ url: 'domainThreshold', valueDecimal: r.domainThreshold }] : []),
          ...(r.minDomains !== undefined ? [{ url: 'minDomains', valueInteger: r.minDomains }] : []),
          ...(r.anyOf ?? []).map((c) => ({
            url: 'anyOf',
            extension: [
              { url: 'domain', valueCode: c.domain },
              ...(c.atLeast !== undefined ? [{ url: 'atLeast', valueDecimal: c.atLeast }] : []),
              ...(c.atMost !== undefined ? [{ url: 'atMost', valueDecimal: c.atMost }] : []),
            ],
          })),
        ],
      })),
    ],
  };
}

function questionnaire(
  id: string,
  title: string,
  description: string,
  category: string,
  extension: Extension[],
  items: QuestionnaireItem[],
): Questionnaire {
  return {
    resourceType: 'Questionnaire',
    id,
    url: `https://joinery.example/fhir/Questionnaire/${id}`,
    version: '1',
    name: id.replace(/-/g, '_'),
    title,
    status: 'active',
    subjectType: ['Patient'],
    description,
    extension: [{ url: EXT.category, valueCode: category }, ...extension],
    item: items,
  };
}

// ---------------------------------------------------------------------------------------------

/** Structured multiple-disadvantage assessment: nine domains scored 0 (no concern) to 4 (severe). */
export const multipleDisadvantageAssessment: Questionnaire = questionnaire(
  'md-assessment',
  'Multiple disadvantage assessment',
  'A structured assessment for adults facing several disadvantages at once (homelessness, drugs or alcohol, offending, mental ill-health). Each of nine areas is scored from 0 (no concern) to 4 (severe); the total runs from 0 to 36. Repeated every three months to show change.',
  'social_care',
  [
    scoring(
      [
        { code: 'engagement', display: 'Engagement with services', outcomes: ['TOGETHER', 'RIGHT'] },
        { code: 'self_harm', display: 'Self-harm', outcomes: ['WELL', 'SAFE'] },
        { code: 'risk_to_others', display: 'Risk to others', outcomes: ['SAFE', 'CONN'] },
        { code: 'risk_from_others', display: 'Risk from others', outcomes: ['SAFE'] },
        { code: 'stress_anxiety', display: 'Stress and anxiety', outcomes: ['WELL'] },
        { code: 'social_effectiveness', display: 'Social effectiveness', outcomes: ['CONN', 'INDEP'] },
        { code: 'alcohol_drugs', display: 'Alcohol and drug misuse', outcomes: ['WELL', 'SPECIALIST'] },
        { code: 'impulse_control', display: 'Impulse control', outcomes: ['SAFE', 'INDEP'] },
        { code: 'housing', display: 'Housing', outcomes: ['HOME'] },
      ],
      'sum',
      [
        {
          code: 'coordination-indicated',
          display: 'Coordinated support indicated: four or more areas scoring 3 or more',
          domainThreshold: 3,
          minDomains: 4,
        },
      ],
    ),
  ],
  [
    group('relationships', 'Engagement and relationships', [
      choice(
        'engagement',
        'How does the person get on with the services trying to help them?',
        scale('eng', [
          'Works well with services and keeps appointments',
          'Mostly engages, misses some appointments',
          'Engages only when in crisis',
          'Rarely engages, often refuses help',
          'Does not engage with any service at all',
        ]),
        { domain: 'engagement', outcomes: ['TOGETHER', 'RIGHT'], required: true },
      ),
      choice(
        'social',
        'How well does the person manage everyday dealings with other people (shops, benefits, neighbours)?',
        scale('soc', [
          'Manages well',
          'Manages with occasional help',
          'Often struggles and needs prompting',
          'Struggles with most dealings, relationships break down',
          'Cannot manage without someone doing it for them',
        ]),
        { domain: 'social_effectiveness', outcomes: ['CONN', 'INDEP'], required: true },
      ),
    ]),
    group('safety', 'Safety', [
      choice('harm-any', 'In the last three months, has the person harmed themselves or spoken about ending their life?', yesNo(1, 0), {
        domain: 'self_harm',
        outcomes: ['WELL', 'SAFE'],
        required: true,
      }),
      choice(
        'harm-level',
        'How serious and how recent was it?',
        scale('harm', [
          'Not applicable',
          'Thoughts only, some time ago',
          'Thoughts or minor harm in the last month',
          'Harm needing treatment in the last three months',
          'Serious attempt or ongoing harm needing urgent help',
        ]).slice(1),
        { domain: 'self_harm', outcomes: ['WELL', 'SAFE'], enableWhen: [when('harm-any', 'yes')], required: true },
      ),
      choice('others-any', 'In the last three months, has the person been violent, or threatened to hurt someone?', yesNo(1, 0), {
        domain: 'risk_to_others',
        outcomes: ['SAFE', 'CONN'],
        required: true,
      }),
      choice(
        'others-level',
        'How serious is the risk to other people?',
        scale('oth', [
          'Not applicable',
          'Verbal threats only',
          'Threats with some intimidation',
          'Physical violence, no serious injury',
          'Serious violence or weapons',
        ]).slice(1),
        { domain: 'risk_to_others', outcomes: ['SAFE'], enableWhen: [when('others-any', 'yes')], required: true },
      ),
      choice('police', 'Have the police or probation been involved with the person in the last six months?', yesNo(0, 0), {
        outcomes: ['SAFE', 'CONN'],
        prefill: 'event-count:arrest,probation_supervision_start:183 => >=1:yes',
      }),
      choice(
        'exploited',
        'Is anyone taking advantage of, exploiting or hurting the person?',
        scale('exp', [
          'No concern',
          'Some worries, no evidence of harm',
          'Being taken advantage of (money, home)',
          'Being hurt or controlled by someone',
          'In danger now',
        ]),
        { domain: 'risk_from_others', outcomes: ['SAFE'], required: true, prefill: 'need:domestic_abuse => 1:exp2,2:exp3,3:exp4' },
      ),
    ]),
    group('health', 'Health and wellbeing', [
      choice(
        'stress',
        "How much do stress, worry or low mood get in the way of the person's day?",
        scale('str', [
          'Hardly at all',
          'A little, copes well',
          'Often, copes with support',
          'Most days, struggling to cope',
          'Overwhelmed, in or near crisis',
        ]),
        { domain: 'stress_anxiety', outcomes: ['WELL'], required: true, prefill: 'need:mental_health => 1:str2,2:str3,3:str4' },
      ),
      choice('substances', 'Does the person use alcohol or drugs in a way that causes them problems?', yesNo(1, 0), {
        domain: 'alcohol_drugs',
        outcomes: ['WELL', 'SPECIALIST'],
        required: true,
        prefill: 'need:substance_misuse => >=1:yes',
      }),
      choice(
        'substances-level',
        'How much harm is alcohol or drug use causing?',
        scale('sub', [
          'Not applicable',
          'Occasional problems',
          'Regular use affecting health or money',
          'Daily use, dependent, health at risk',
          'Chaotic use, overdose or serious harm',
        ]).slice(1),
        {
          domain: 'alcohol_drugs',
          outcomes: ['WELL', 'SPECIALIST'],
          enableWhen: [when('substances', 'yes')],
          required: true,
          prefill: 'need:substance_misuse => 1:sub2,2:sub3,3:sub4',
        },
      ),
      choice(
        'impulse',
        'How often does the person act on impulse in ways that cause harm (spending, anger, leaving suddenly)?',
        scale('imp', [
          'Rarely',
          'Sometimes, small consequences',
          'Often, with some harm',
          'Very often, serious consequences',
          'Constantly, puts themselves or others at risk',
        ]),
        { domain: 'impulse_control', outcomes: ['SAFE', 'INDEP'], required: true },
      ),
    ]),
    group('home', 'Housing', [
      choice(
        'housing',
        'How settled is where the person is living?',
        scale('hou', [
          'Settled, suitable home of their own',
          'Stable but some problems (repairs, arrears)',
          'Temporary or unsuitable, or at risk of losing it',
          'Temporary accommodation, hostel or sofa-surfing',
          'Sleeping rough or no safe place tonight',
        ]),
        {
          domain: 'housing',
          outcomes: ['HOME', 'SAFE'],
          required: true,
          prefill: 'need:homelessness,housing_unsuitable => 1:hou2,2:hou3,3:hou4',
        },
      ),
      choice(
        'tenure',
        'What kind of home is it?',
        [
          opt('owner_occupied', 'Owned'),
          opt('social_rent', 'Rented from the council or a housing association'),
          opt('private_rent', 'Rented privately'),
          opt('temporary_accommodation', 'Temporary accommodation'),
          opt('none', 'No home'),
        ],
        { outcomes: ['HOME'], prefill: 'household:tenure' },
      ),
      choice('eviction-risk', 'Is the person at risk of losing their home in the next 56 days?', yesNo(0, 0), {
        outcomes: ['HOME', 'SAFE'],
        enableWhen: [when('housing', 'hou2')],
        prefill: 'event-count:eviction_notice:183 => >=1:yes',
      }),
    ]),
    group('own-words', "In the person's own words", [
      item('matters', 'What matters most to the person right now?', 'text', {
        outcomes: ['INFO', 'TOGETHER'],
        prefill: 'about-me:what_matters',
      }),
    ]),
  ],
);

/** Children's needs screen: used to identify children for the children's zone, and to enrol them. */
export const childrenNeedsScreen: Questionnaire = questionnaire(
  'children-needs-screen',
  "Children's needs screen",
  "A short screen of a child's school attendance, learning, wellbeing and family circumstances. Each area is scored from 0 (no concern) to 4. A child meets the identification criteria with two or more areas scoring 2 or more, or attendance below 80%.",
  'education',
  [
    scoring(
      [
        { code: 'attendance', display: 'School attendance', outcomes: ['RIGHT', 'PLACE'] },
        { code: 'attainment', display: 'Learning and attainment', outcomes: ['RIGHT', 'PLACE'] },
        { code: 'wellbeing', display: 'Wellbeing', outcomes: ['WELL'] },
        { code: 'family', display: 'Family circumstances', method: 'sum', outcomes: ['SAFE', 'HOME', 'CARER'] },
      ],
      'sum',
      [
        {
          code: 'meets-identification-criteria',
          display: 'Meets identification criteria: two or more areas scoring 2 or more, or attendance below 80%',
          domainThreshold: 2,
          minDomains: 2,
          anyOf: [{ domain: 'attendance', atLeast: 4 }],
        },
      ],
    ),
  ],
  [
    group('school', 'School', [
      choice(
        'attendance',
        "What was the child's attendance last term?",
        [
          opt('att0', '95% or more', 0),
          opt('att1', '90% to 94%', 1),
          opt('att2', '85% to 89%', 2),
          opt('att3', '80% to 84%', 3),
          opt('att4', 'Below 80%', 4),
        ],
        {
          domain: 'attendance',
          outcomes: ['RIGHT'],
          required: true,
          prefill: 'event-latest:school_attendance_term:200 => >=95:att0,>=90:att1,>=85:att2,>=80:att3,*:att4',
        },
      ),
      choice('excluded', 'Has the child been suspended or excluded this school year?', yesNo(3, 0), {
        domain: 'attendance',
        outcomes: ['RIGHT'],
        enableWhen: [when('attendance', 'att0', '!='), when('attendance', 'att1', '!=')],
        required: true,
        prefill: 'event-count:school_exclusion:365 => >=1:yes',
      }),
      choice(
        'attainment',
        'How is the child doing in their learning, compared with what is expected at their age?',
        scale('lrn', [
          'At or above expected',
          'Slightly below in one subject',
          'Below expected in several subjects',
          'Well below in most subjects',
          'Far below, and not getting support',
        ]),
        { domain: 'attainment', outcomes: ['RIGHT', 'PLACE'], required: true },
      ),
      choice('send', 'Does the child have an identified special educational need?', yesNo(0, 0), {
        outcomes: ['RIGHT', 'SPECIALIST'],
        enableWhen: [
          { question: 'attainment', operator: '!=', answerCoding: { code: 'lrn0' } },
          { question: 'attainment', operator: '!=', answerCoding: { code: 'lrn1' } },
        ],
      }),
    ]),
    group('child-wellbeing', 'Wellbeing', [
      choice(
        'wellbeing',
        "How is the child's wellbeing: mood, friendships and confidence?",
        scale('wb', [
          'Happy and confident',
          'Some ups and downs',
          'Often low, anxious or withdrawn',
          'Struggling most days',
          'In crisis or at risk',
        ]),
        { domain: 'wellbeing', outcomes: ['WELL'], required: true, prefill: 'need:child_wellbeing => 1:wb2,2:wb3,3:wb4' },
      ),
    ]),
    group('family', 'Family circumstances', [
      choice('family-housing', 'Is the family in temporary accommodation, or at risk of losing their home?', yesNo(2, 0), {
        domain: 'family',
        outcomes: ['HOME'],
        required: true,
        prefill: 'household:tenure => temporary_accommodation:yes',
      }),
      choice('family-money', 'Are money worries affecting the family?', yesNo(1, 0), {
        domain: 'family',
        outcomes: ['PLACE', 'INFO'],
        required: true,
        prefill: 'need:financial_hardship => >=1:yes',
      }),
      choice('young-carer', 'Does the child help to care for someone at home?', yesNo(1, 0), {
        domain: 'family',
        outcomes: ['CARER'],
        required: true,
        prefill: 'need:carer_strain => >=1:yes',
      }),
      choice('social-care', "Has children's social care been involved with the family in the last year?", yesNo(2, 0), {
        domain: 'family',
        outcomes: ['SAFE'],
        required: true,
        prefill: 'event-count:safeguarding_concern:365 => >=1:yes',
      }),
    ]),
  ],
);

/** The four ONS personal wellbeing questions, each answered from 0 (not at all) to 10 (completely). */
export const onsWellbeing: Questionnaire = questionnaire(
  'ons4-wellbeing',
  'Personal wellbeing (ONS4)',
  'The four personal wellbeing questions used by the Office for National Statistics, each answered from 0 (not at all) to 10 (completely). Low wellbeing: 0 to 4 on any of the first three, or 6 to 10 on anxiety.',
  'about_me',
  [
    scoring(
      [
        { code: 'life_satisfaction', display: 'Life satisfaction', min: 0, max: 10, higherIsBetter: true, outcomes: ['WELL'] },
        { code: 'worthwhile', display: 'Things done are worthwhile', min: 0, max: 10, higherIsBetter: true, outcomes: ['WELL', 'CONN'] },
        { code: 'happiness', display: 'Happiness yesterday', min: 0, max: 10, higherIsBetter: true, outcomes: ['WELL'] },
        { code: 'anxiety', display: 'Anxiety yesterday', min: 0, max: 10, outcomes: ['WELL'] },
      ],
      'none',
      [
        {
          code: 'low-wellbeing',
          display: 'Low wellbeing on at least one measure',
          anyOf: [
            { domain: 'life_satisfaction', atMost: 4 },
            { domain: 'worthwhile', atMost: 4 },
            { domain: 'happiness', atMost: 4 },
            { domain: 'anxiety', atLeast: 6 },
          ],
        },
      ],
    ),
  ],
  [
    group('ons', 'Your wellbeing (0 = not at all, 10 = completely)', [
      item('ons-life-satisfaction', 'Overall, how satisfied are you with your life nowadays?', 'integer', {
        domain: 'life_satisfaction',
        outcomes: ['WELL'],
        required: true,
        min: 0,
        max: 10,
        prefill: 'answer:ons-life-satisfaction:30',
      }),
      item('ons-worthwhile', 'Overall, to what extent do you feel that the things you do in your life are worthwhile?', 'integer', {
        domain: 'worthwhile',
        outcomes: ['WELL', 'CONN'],
        required: true,
        min: 0,
        max: 10,
        prefill: 'answer:ons-worthwhile:30',
      }),
      item('ons-happy', 'Overall, how happy did you feel yesterday?', 'integer', {
        domain: 'happiness',
        outcomes: ['WELL'],
        required: true,
        min: 0,
        max: 10,
      }),
      item(
        'ons-anxious',
        'On a scale where 0 is "not at all anxious" and 10 is "completely anxious", overall, how anxious did you feel yesterday?',
        'integer',
        { domain: 'anxiety', outcomes: ['WELL'], required: true, min: 0, max: 10 },
      ),
    ]),
  ],
);

/** A carer's assessment: the impact of caring, scored 0–4 per area, and the carer's own expertise. */
export const carersAssessment: Questionnaire = questionnaire(
  'carers-assessment',
  "Carer's assessment",
  'How caring affects the carer: time spent caring, their own health, life outside caring, connections, money and emergency plans, each scored 0 (no impact) to 4. Support is indicated with two or more areas scoring 2 or more, or any area scoring 4.',
  'social_care',
  [
    scoring(
      [
        { code: 'caring_role', display: 'Time and intensity of caring', outcomes: ['CARER'] },
        { code: 'carer_health', display: "Carer's own health", outcomes: ['WELL', 'CARER'] },
        { code: 'life_balance', display: 'Life outside caring', outcomes: ['CONN', 'CARER'] },
        { code: 'connections', display: 'Loneliness and connections', outcomes: ['CONN'] },
        { code: 'money', display: 'Money', outcomes: ['INFO', 'PLACE'] },
        { code: 'emergency_plan', display: 'Plans for an emergency', outcomes: ['SAFE', 'CARER'] },
      ],
      'sum',
      [
        {
          code: 'support-indicated',
          display: 'Support indicated: two or more areas scoring 2 or more, or any area scoring 4',
          domainThreshold: 2,
          minDomains: 2,
          anyOf: [
            { domain: 'caring_role', atLeast: 4 },
            { domain: 'carer_health', atLeast: 4 },
            { domain: 'life_balance', atLeast: 4 },
            { domain: 'connections', atLeast: 4 },
            { domain: 'money', atLeast: 4 },
            { domain: 'emergency_plan', atLeast: 4 },
          ],
        },
      ],
    ),
  ],
  [
    group('caring', 'Your caring role', [
      choice(
        'care-hours',
        'About how many hours a week do you spend caring?',
        [
          opt('h0', 'Under 10 hours', 0),
          opt('h1', '10 to 19 hours', 1),
          opt('h2', '20 to 34 hours', 2),
          opt('h3', '35 to 49 hours', 3),
          opt('h4', '50 hours or more', 4),
        ],
        { domain: 'caring_role', outcomes: ['CARER'], required: true },
      ),
      choice('care-nights', 'Do you often give care during the night?', yesNo(3, 0), {
        domain: 'caring_role',
        outcomes: ['CARER'],
        required: true,
      }),
      item('care-expert', 'What do professionals most need to know from you about the person you care for?', 'text', {
        outcomes: ['CARER', 'TOGETHER'],
        hint: 'You know them best: this is shared with their care network.',
      }),
    ]),
    group('you', 'You', [
      choice(
        'carer-health',
        'How is caring affecting your own physical or mental health?',
        scale('ch', ['Not at all', 'A little', 'Noticeably, some days', 'A lot, most days', 'I am at breaking point']),
        { domain: 'carer_health', outcomes: ['WELL', 'CARER'], required: true, prefill: 'need:carer_strain => 1:ch2,2:ch3,3:ch4' },
      ),
      choice('carer-gp', 'Have you been able to talk to your GP about this?', yesNo(0, 0), {
        outcomes: ['RIGHT'],
        enableWhen: [when('carer-health', 'ch3'), when('carer-health', 'ch4')],
        enableBehavior: 'any',
      }),
      choice(
        'life-balance',
        'Can you do things for yourself outside caring: work, learning, rest, hobbies?',
        scale('lb', ['Yes, as much as I want', 'Mostly', 'Sometimes', 'Rarely', 'Never']),
        { domain: 'life_balance', outcomes: ['CONN', 'CARER'], required: true },
      ),
      choice(
        'lonely',
        'Do you feel lonely or cut off because of caring?',
        scale('lo', ['Never', 'Occasionally', 'Sometimes', 'Often', 'All the time']),
        { domain: 'connections', outcomes: ['CONN'], required: true, prefill: 'need:social_isolation => 1:lo2,2:lo3,3:lo4' },
      ),
      choice(
        'money-worries',
        'Does caring make money worries worse?',
        scale('mo', ['No', 'A little', 'Somewhat', 'A lot', 'I cannot afford essentials']),
        { domain: 'money', outcomes: ['INFO', 'PLACE'], required: true, prefill: 'need:financial_hardship => 1:mo2,2:mo3,3:mo4' },
      ),
      choice(
        'emergency',
        'Is there a plan for who would care if you suddenly could not?',
        [opt('yes', 'Yes, a plan everyone knows', 0), opt('partly', 'Partly', 2), opt('no', 'No plan', 4)],
        { domain: 'emergency_plan', outcomes: ['SAFE', 'CARER'], required: true },
      ),
    ]),
    group('carer-wellbeing', 'Your wellbeing (0 = not at all, 10 = completely)', [
      item('ons-life-satisfaction', 'Overall, how satisfied are you with your life nowadays?', 'integer', {
        outcomes: ['WELL'],
        min: 0,
        max: 10,
        prefill: 'answer:ons-life-satisfaction:30',
      }),
      item('ons-worthwhile', 'Overall, to what extent do you feel that the things you do in your life are worthwhile?', 'integer', {
        outcomes: ['WELL', 'CONN'],
        min: 0,
        max: 10,
        prefill: 'answer:ons-worthwhile:30',
      }),
    ]),
  ],
);

export const shippedQuestionnaires: Questionnaire[] = [multipleDisadvantageAssessment, childrenNeedsScreen, onsWellbeing, carersAssessment];
