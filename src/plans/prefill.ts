// "Tell it once": answers the network already holds, offered as prefilled answers. The facts
// passed in must already be filtered by the access decision (see assessments.ts); this module
// is pure: it evaluates each item's prefill expression and says where every answer came from.
//
// Expression grammar (extension EXT.prefill, language text/x-joinery-prefill):
//   need:<code>[,<code>...]                 highest severity (1–3) of a current need
//   event-latest:<type>:<days>              value of the latest such event in the last <days>
//   event-count:<type>[,<type>...]:<days>   how many such events in the last <days> (only when 1 or more)
//   household:tenure | household:composition
//   person:age
//   answer:<linkId>:<days>                  the latest answer to the same question in any assessment
//   about-me:what_matters | about-me:how_to_support   the person's own words in "about me"
// optionally followed by " => key:answer,..." mapping the value to an answer; keys are a value,
// a comparison (>=n, >n, <=n, <n) or * (anything else). Unmapped values give no prefill.
import {
  EXT,
  extensionOf,
  flattenItems,
  isQuestion,
  type AnswerValue,
  type PrefillSource,
  type Questionnaire,
  type QuestionnaireItem,
} from './questionnaire.ts';
import { RefusedInput } from '../platform/refused.ts';

export interface NeedFact {
  code: string;
  severity: number;
  organisationId: string;
  organisation: string;
  recordedAt: string;
  category: string;
}
export interface EventFact {
  type: string;
  at: Date;
  value: number | null;
  organisationId: string;
  organisation: string;
  category: string;
}
export interface AnswerFact {
  linkId: string;
  value: AnswerValue;
  authoredAt: Date;
  organisationId: string | null;
  organisation: string | null;
  category: string;
  questionnaire: string;
}

export interface PrefillFacts {
  now: Date;
  needs: NeedFact[];
  events: EventFact[];
  household: { tenure: string; composition: string; category: string } | null;
  age: number | null;
  answers: AnswerFact[];
  /** The person's latest "about me", in their own words (category about_me). */
  aboutMe?: { whatMatters: string; howToSupport: string; writtenAt: Date; category: string } | null;
}

export interface Prefilled {
  value: AnswerValue;
  source: PrefillSource;
}

/** A form definition's prefill expression that cannot be read (422: the definition is refused). */
export class PrefillExpressionError extends RefusedInput {
  constructor(message: string) {
    super(422, message);
  }
}

const DAY = 86_400_000;

function parseMap(text: string): Array<{ key: string; answer: string }> {
  return text.split(',').map((part) => {
    const i = part.indexOf(':');
    if (i < 0) throw new PrefillExpressionError(`map entry "${part}" has no ":"`);
    return { key: part.slice(0, i).trim(), answer: part.slice(i + 1).trim() };
  });
}

function mapValue(value: AnswerValue, entries: Array<{ key: string; answer: string }>): string | undefined {
  for (const { key, answer } of entries) {
    if (key === '*') return answer;
    const m = /^(>=|<=|>|<)(-?\d+(?:\.\d+)?)$/.exec(key);
    if (m) {
      if (typeof value !== 'number') continue;
      const n = Number(m[2]);
      if ((m[1] === '>=' && value >= n) || (m[1] === '>' && value > n) || (m[1] === '<=' && value <= n) || (m[1] === '<' && value < n))
        return answer;
    } else if (String(value) === key) return answer;
  }
  return undefined;
}

const isoDate = (d: Date | string) => (typeof d === 'string' ? d.slice(0, 10) : d.toISOString().slice(0, 10));

/** Evaluates one expression over the facts: the raw value and where it came from, before mapping. */
export function evaluateSource(expression: string, facts: PrefillFacts): Prefilled | undefined {
  const [source = '', ...rest] = expression.split(':');
  switch (source) {
    case 'need': {
      const codes = (rest[0] ?? '').split(',');
      const found = facts.needs
        .filter((n) => codes.includes(n.code))
        .sort((a, b) => b.severity - a.severity || b.recordedAt.localeCompare(a.recordedAt))[0];
      if (!found) return undefined;
      return {
        value: found.severity,
        source: {
          kind: 'need',
          category: found.category,
          organisationId: found.organisationId,
          organisation: found.organisation,
          recordedAt: isoDate(found.recordedAt),
          detail: `${found.code.replace(/_/g, ' ')} (severity ${found.severity}) recorded by ${found.organisation}`,
        },
      };
    }
    case 'event-latest': {
      const [type = '', days = '365'] = rest;
      const since = facts.now.getTime() - Number(days) * DAY;
      const found = facts.events
        .filter((e) => e.type === type && e.value !== null && e.at.getTime() >= since && e.at <= facts.now)
        .sort((a, b) => b.at.getTime() - a.at.getTime())[0];
      if (!found || found.value === null) return undefined;
      return {
        value: found.value,
        source: {
          kind: 'event',
          category: found.category,
          organisationId: found.organisationId,
          organisation: found.organisation,
          recordedAt: isoDate(found.at),
          detail: `${type.replace(/_/g, ' ')}: ${Math.round(found.value * 10) / 10} recorded by ${found.organisation}`,
        },
      };
    }
    case 'event-count': {
      const types = (rest[0] ?? '').split(',');
      const since = facts.now.getTime() - Number(rest[1] ?? '365') * DAY;
      const found = facts.events
        .filter((e) => types.includes(e.type) && e.at.getTime() >= since && e.at <= facts.now)
        .sort((a, b) => b.at.getTime() - a.at.getTime());
      const latest = found[0];
      if (!latest) return undefined;
      const orgs = [...new Set(found.map((e) => e.organisation))];
      return {
        value: found.length,
        source: {
          kind: 'event',
          category: latest.category,
          organisationId: latest.organisationId,
          organisation: latest.organisation,
          recordedAt: isoDate(latest.at),
          detail: `${found.length} × ${[...new Set(found.map((e) => e.type.replace(/_/g, ' ')))].join(' or ')} in the last ${rest[1] ?? '365'} days (${orgs.join(', ')})`,
        },
      };
    }
    case 'household': {
      if (!facts.household) return undefined;
      const field = rest[0] === 'composition' ? 'composition' : 'tenure';
      return {
        value: facts.household[field],
        source: {
          kind: 'household',
          category: facts.household.category,
          organisationId: null,
          organisation: null,
          recordedAt: null,
          detail: `household ${field}: ${facts.household[field].replace(/_/g, ' ')} (shared record)`,
        },
      };
    }
    case 'person':
      if (facts.age === null) return undefined;
      return {
        value: facts.age,
        source: {
          kind: 'person',
          category: 'demographics',
          organisationId: null,
          organisation: null,
          recordedAt: null,
          detail: 'age from date of birth (shared record)',
        },
      };
    case 'answer': {
      const [linkId = '', days = '90'] = rest;
      const since = facts.now.getTime() - Number(days) * DAY;
      const found = facts.answers
        .filter((a) => a.linkId === linkId && a.authoredAt.getTime() >= since && a.authoredAt <= facts.now)
        .sort((a, b) => b.authoredAt.getTime() - a.authoredAt.getTime())[0];
      if (!found) return undefined;
      return {
        value: found.value,
        source: {
          kind: 'response',
          category: found.category,
          organisationId: found.organisationId,
          organisation: found.organisation,
          recordedAt: isoDate(found.authoredAt),
          detail: `answered in the ${found.questionnaire}${found.organisation ? ` (${found.organisation})` : ''}`,
        },
      };
    }
    case 'about-me': {
      const field = rest[0];
      if (field !== 'what_matters' && field !== 'how_to_support')
        throw new PrefillExpressionError(`about-me has no field "${field ?? ''}"`);
      const text = facts.aboutMe ? (field === 'what_matters' ? facts.aboutMe.whatMatters : facts.aboutMe.howToSupport).trim() : '';
      if (!facts.aboutMe || text === '') return undefined;
      return {
        value: text,
        source: {
          kind: 'about_me',
          category: facts.aboutMe.category,
          organisationId: null,
          organisation: null,
          recordedAt: isoDate(facts.aboutMe.writtenAt),
          detail: 'from "about me", in the person\'s own words',
        },
      };
    }
    default:
      throw new PrefillExpressionError(`unknown prefill source "${source}"`);
  }
}

/** The answer an item's prefill expression gives, typed for the item, or undefined. */
export function prefillItem(item: QuestionnaireItem, facts: PrefillFacts): Prefilled | undefined {
  const expression = extensionOf(item, EXT.prefill)?.valueExpression?.expression;
  if (!expression) return undefined;
  const [head = '', mapText] = expression.split('=>').map((s) => s.trim());
  const raw = evaluateSource(head, facts);
  if (!raw) return undefined;
  let value: AnswerValue | undefined = raw.value;
  if (mapText) value = mapValue(raw.value, parseMap(mapText));
  if (value === undefined) return undefined;
  if (item.type === 'choice') {
    const code = String(value);
    if (!item.answerOption?.some((o) => o.valueCoding.code === code)) return undefined;
    value = code;
  } else if (item.type === 'integer' || item.type === 'decimal') {
    const n = Number(value);
    if (!Number.isFinite(n)) return undefined;
    value = item.type === 'integer' ? Math.round(n) : n;
  } else if (item.type === 'boolean') {
    value = value === true || value === 'true' || value === 'yes';
  }
  return { value, source: raw.source };
}

export function prefillQuestionnaire(q: Questionnaire, facts: PrefillFacts): Record<string, Prefilled> {
  const out: Record<string, Prefilled> = {};
  for (const { item } of flattenItems(q.item)) {
    if (!isQuestion(item)) continue;
    const p = prefillItem(item, facts);
    if (p) out[item.linkId] = p;
  }
  return out;
}

/** Items whose definition could be prefilled at all (the denominator of "tell it once"). */
export function prefillableLinkIds(q: Questionnaire): string[] {
  return flattenItems(q.item)
    .map((f) => f.item)
    .filter((i) => isQuestion(i) && extensionOf(i, EXT.prefill))
    .map((i) => i.linkId);
}

/** Checks every prefill expression in a definition parses and names a known source. */
export function validatePrefillExpressions(q: Questionnaire): void {
  const empty: PrefillFacts = { now: new Date(0), needs: [], events: [], household: null, age: null, answers: [] };
  for (const { item } of flattenItems(q.item)) {
    const expression = extensionOf(item, EXT.prefill)?.valueExpression?.expression;
    if (!expression) continue;
    const [head = '', mapText] = expression.split('=>').map((s) => s.trim());
    evaluateSource(head, empty);
    if (mapText) parseMap(mapText);
  }
}

export interface TellItOnceCounts {
  /** Questions answered. */
  answered: number;
  /** Answers kept as the network already held them. */
  reused: number;
  /** Answers the person had to be asked for (including prefilled answers they changed). */
  asked: number;
  /** Prefilled answers the person or practitioner corrected. */
  changed: number;
}

/** Compares what was submitted with what was prefilled. */
export function tellItOnce(
  answers: Record<string, AnswerValue>,
  prefilled: Record<string, Prefilled>,
): { counts: TellItOnceCounts; reused: Record<string, PrefillSource> } {
  const reused: Record<string, PrefillSource> = {};
  let changed = 0;
  for (const [linkId, value] of Object.entries(answers)) {
    const p = prefilled[linkId];
    if (!p) continue;
    if (p.value === value) reused[linkId] = p.source;
    else changed += 1;
  }
  const answered = Object.keys(answers).length;
  const reusedCount = Object.keys(reused).length;
  return { counts: { answered, reused: reusedCount, asked: answered - reusedCount, changed }, reused };
}
