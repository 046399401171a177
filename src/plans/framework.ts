// The common language: a place's outcomes framework, held as data. The default is the set of
// place-wide goals every partner works to (MISSION.md point 5); a place may load its own.
// Every need code, assessment domain and question, and plan goal maps to one or more outcomes.
import type { NeedCode } from '../synth/index.ts';
import { RefusedInput } from '../platform/refused.ts';

export interface Outcome {
  code: string;
  /** Short label for tags and charts. */
  label: string;
  /** The outcome as a plain-English "I" or "we" statement. */
  statement: string;
}

export interface OutcomesFramework {
  id: string;
  name: string;
  /** FHIR code system the outcome codes belong to (used on Questionnaire items and goals). */
  system: string;
  outcomes: Outcome[];
  /** Need code -> outcome codes it is measured against. */
  needs: Record<string, string[]>;
}

export const OUTCOMES_SYSTEM = 'https://joinery.example/fhir/CodeSystem/place-outcomes';

export const defaultOutcomes: Outcome[] = [
  { code: 'INFO', label: 'Information and choice', statement: 'I can get information, advice and help to make my own choices.' },
  { code: 'WELL', label: 'Physical and mental wellbeing', statement: 'I keep and improve my physical and mental wellbeing.' },
  { code: 'CONN', label: 'Connected and contributing', statement: 'I stay connected to and contribute to my community.' },
  { code: 'CARER', label: 'Carers as experts', statement: 'As a carer, I am listened to as an expert.' },
  {
    code: 'RIGHT',
    label: 'Right advice, right time',
    statement: 'I get the right professional advice in the right format, and direct support at the right time.',
  },
  { code: 'TOGETHER', label: 'Services work together', statement: 'I can see services working together on what matters to me.' },
  { code: 'SAFE', label: 'Safe at home', statement: 'My urgent needs are met so I feel safe living at home.' },
  { code: 'HOME', label: 'Suitable home', statement: 'I live in accommodation that suits me.' },
  { code: 'COMPLEX', label: 'Complex needs met at home', statement: 'My complex needs are monitored and met at home where possible.' },
  { code: 'INDEP', label: 'Independence after crisis', statement: 'I regain my independence after a crisis.' },
  { code: 'PLACE', label: 'Not disadvantaged by place', statement: 'I am not disadvantaged by where I live.' },
  {
    code: 'SPECIALIST',
    label: 'Timely specialist help',
    statement: 'I get timely specialist help, including near the end of my life, with control over it.',
  },
];

/** Every need code the network records, mapped to the outcomes that measure progress on it. */
export const defaultNeedOutcomes: Record<NeedCode, string[]> = {
  homelessness: ['HOME', 'SAFE'],
  housing_unsuitable: ['HOME', 'PLACE'],
  substance_misuse: ['WELL', 'SPECIALIST'],
  offending: ['CONN', 'SAFE'],
  mental_health: ['WELL', 'SPECIALIST'],
  long_term_condition: ['WELL', 'COMPLEX'],
  frailty_falls: ['INDEP', 'SAFE', 'COMPLEX'],
  social_isolation: ['CONN'],
  carer_strain: ['CARER', 'WELL'],
  learning_disability: ['INFO', 'COMPLEX'],
  financial_hardship: ['INFO', 'PLACE'],
  domestic_abuse: ['SAFE'],
  child_school_attendance: ['RIGHT', 'PLACE'],
  child_wellbeing: ['WELL', 'RIGHT'],
  child_safeguarding: ['SAFE'],
  end_of_life: ['SPECIALIST'],
};

export const defaultFramework: OutcomesFramework = {
  id: 'place-goals-v1',
  name: 'Place-wide goals',
  system: OUTCOMES_SYSTEM,
  outcomes: defaultOutcomes,
  needs: defaultNeedOutcomes,
};

export class FrameworkError extends RefusedInput {
  constructor(message: string) {
    super(422, message);
  }
}

/** Checks a framework a place wants to load: unique codes, statements present, needs mapped to known outcomes. */
export function validateFramework(
  framework: OutcomesFramework,
  requiredNeeds: readonly string[] = Object.keys(defaultNeedOutcomes),
): OutcomesFramework {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(framework.id))
    throw new FrameworkError('the framework id must be 1–64 letters, digits, dots, dashes or underscores');
  if (!framework.name?.trim()) throw new FrameworkError('the framework needs a name');
  if (!Array.isArray(framework.outcomes) || framework.outcomes.length === 0)
    throw new FrameworkError('the framework needs at least one outcome');
  const codes = new Set<string>();
  for (const o of framework.outcomes) {
    if (!/^[A-Z0-9_]{1,32}$/.test(o.code ?? ''))
      throw new FrameworkError(`outcome code "${String(o.code)}" must be capital letters, digits or underscores`);
    if (codes.has(o.code)) throw new FrameworkError(`outcome code ${o.code} appears twice`);
    if (!o.statement?.trim() || !o.label?.trim()) throw new FrameworkError(`outcome ${o.code} needs a label and a statement`);
    codes.add(o.code);
  }
  for (const need of requiredNeeds) {
    const mapped = framework.needs?.[need];
    if (!mapped || mapped.length === 0) throw new FrameworkError(`need "${need}" is not mapped to any outcome`);
    for (const c of mapped) if (!codes.has(c)) throw new FrameworkError(`need "${need}" maps to unknown outcome ${c}`);
  }
  return framework;
}
