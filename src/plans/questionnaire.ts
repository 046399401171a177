// Assessments as FHIR R4 Questionnaires, and the pure engine that runs them: which questions are
// enabled (enableWhen), checking answers, scoring by domain and in total, criteria rules
// ("meets identification criteria"), and writing the FHIR QuestionnaireResponse.
// Scores use the standard ordinalValue extension on answer options; domains, scoring rules and
// prefill are Joinery extensions, so the definition stays a valid Questionnaire.

export interface Coding {
  system?: string;
  code: string;
  display?: string;
}

export interface Extension {
  url: string;
  valueCode?: string;
  valueString?: string;
  valueDecimal?: number;
  valueInteger?: number;
  valueBoolean?: boolean;
  valueCoding?: Coding;
  valueExpression?: { language: string; expression: string };
  extension?: Extension[];
}

export interface AnswerOption {
  valueCoding: Coding;
  extension?: Extension[];
}

export interface EnableWhen {
  question: string;
  operator: 'exists' | '=' | '!=' | '>' | '<' | '>=' | '<=';
  answerCoding?: Coding;
  answerBoolean?: boolean;
  answerDecimal?: number;
  answerInteger?: number;
  answerString?: string;
}

export type ItemType = 'group' | 'display' | 'choice' | 'boolean' | 'integer' | 'decimal' | 'string' | 'text' | 'date';

export interface QuestionnaireItem {
  linkId: string;
  text: string;
  type: ItemType;
  prefix?: string;
  required?: boolean;
  code?: Coding[];
  enableWhen?: EnableWhen[];
  enableBehavior?: 'all' | 'any';
  answerOption?: AnswerOption[];
  item?: QuestionnaireItem[];
  extension?: Extension[];
}

export interface Questionnaire {
  resourceType: 'Questionnaire';
  id: string;
  url: string;
  version: string;
  name: string;
  title: string;
  status: 'draft' | 'active' | 'retired';
  subjectType: string[];
  description: string;
  extension?: Extension[];
  item: QuestionnaireItem[];
}

export const EXT = {
  ordinal: 'http://hl7.org/fhir/StructureDefinition/ordinalValue',
  minValue: 'http://hl7.org/fhir/StructureDefinition/minValue',
  maxValue: 'http://hl7.org/fhir/StructureDefinition/maxValue',
  entryFormat: 'http://hl7.org/fhir/StructureDefinition/entryFormat',
  hint: 'https://joinery.example/fhir/StructureDefinition/hint',
  domain: 'https://joinery.example/fhir/StructureDefinition/scoring-domain',
  scoring: 'https://joinery.example/fhir/StructureDefinition/scoring',
  prefill: 'https://joinery.example/fhir/StructureDefinition/prefill',
  prefillSource: 'https://joinery.example/fhir/StructureDefinition/prefill-source',
  category: 'https://joinery.example/fhir/StructureDefinition/record-category',
  score: 'https://joinery.example/fhir/StructureDefinition/score',
} as const;

export const PREFILL_LANGUAGE = 'text/x-joinery-prefill';

/** An answer as the engine sees it: a choice's code, a number, a yes/no or text. */
export type AnswerValue = string | number | boolean;
export type Answers = Record<string, AnswerValue>;

export interface DomainRule {
  code: string;
  display: string;
  method: 'max' | 'sum' | 'mean';
  min: number;
  max: number;
  /** Wellbeing scales: higher is better. Need scales (most): higher means more need. */
  higherIsBetter: boolean;
  outcomes: string[];
}

export interface CriteriaCondition {
  domain: string;
  atLeast?: number;
  atMost?: number;
}

export interface CriteriaRule {
  code: string;
  display: string;
  /** Met when at least minDomains domains score domainThreshold or more... */
  domainThreshold?: number;
  minDomains?: number;
  /** ...or when any of these single-domain conditions holds. */
  anyOf: CriteriaCondition[];
}

export interface ScoringConfig {
  domains: DomainRule[];
  total: 'sum' | 'none';
  rules: CriteriaRule[];
}

export interface ScoreResult {
  domains: Record<string, number | null>;
  total: number | null;
  /** Every domain scored (no domain left unanswered). */
  complete: boolean;
  rules: Record<string, boolean>;
}

// ---------------------------------------------------------------------------------------------
// Reading the definition

const sub = (ext: Extension, url: string): Extension | undefined => ext.extension?.find((e) => e.url === url);
const subs = (ext: Extension, url: string): Extension[] => ext.extension?.filter((e) => e.url === url) ?? [];

export function extensionOf(holder: { extension?: Extension[] }, url: string): Extension | undefined {
  return holder.extension?.find((e) => e.url === url);
}

/** Every item, depth first, in document order, with the group path above it. */
export function flattenItems(
  items: QuestionnaireItem[],
  parents: QuestionnaireItem[] = [],
): Array<{ item: QuestionnaireItem; parents: QuestionnaireItem[] }> {
  const out: Array<{ item: QuestionnaireItem; parents: QuestionnaireItem[] }> = [];
  for (const item of items) {
    out.push({ item, parents });
    if (item.item) out.push(...flattenItems(item.item, [...parents, item]));
  }
  return out;
}

export const isQuestion = (item: QuestionnaireItem): boolean => item.type !== 'group' && item.type !== 'display';

export function domainOf(item: QuestionnaireItem): string | undefined {
  return extensionOf(item, EXT.domain)?.valueCode;
}

export function ordinalOf(option: AnswerOption): number | undefined {
  return extensionOf(option, EXT.ordinal)?.valueDecimal;
}

export function categoryOfQuestionnaire(q: Questionnaire): string {
  return extensionOf(q, EXT.category)?.valueCode ?? 'social_care';
}

export function scoringOf(q: Questionnaire): ScoringConfig {
  const ext = extensionOf(q, EXT.scoring);
  if (!ext) return { domains: [], total: 'none', rules: [] };
  const domains = subs(ext, 'domain').map((d): DomainRule => ({
    code: sub(d, 'code')?.valueCode ?? '',
    display: sub(d, 'display')?.valueString ?? '',
    method: (sub(d, 'method')?.valueCode ?? 'max') as DomainRule['method'],
    min: sub(d, 'min')?.valueDecimal ?? 0,
    max: sub(d, 'max')?.valueDecimal ?? 4,
    higherIsBetter: sub(d, 'higherIsBetter')?.valueBoolean ?? false,
    outcomes: subs(d, 'outcome')
      .map((o) => o.valueCode ?? '')
      .filter(Boolean),
  }));
  const rules = subs(ext, 'rule').map((r): CriteriaRule => ({
    code: sub(r, 'code')?.valueCode ?? '',
    display: sub(r, 'display')?.valueString ?? '',
    domainThreshold: sub(r, 'domainThreshold')?.valueDecimal,
    minDomains: sub(r, 'minDomains')?.valueInteger,
    anyOf: subs(r, 'anyOf').map((c) => ({
      domain: sub(c, 'domain')?.valueCode ?? '',
      atLeast: sub(c, 'atLeast')?.valueDecimal,
      atMost: sub(c, 'atMost')?.valueDecimal,
    })),
  }));
  return { domains, total: (sub(ext, 'total')?.valueCode ?? 'none') as ScoringConfig['total'], rules };
}

// ---------------------------------------------------------------------------------------------
// Conditional questions

function compare(actual: AnswerValue, condition: EnableWhen): boolean {
  const expected: AnswerValue | undefined =
    condition.answerCoding?.code ?? condition.answerBoolean ?? condition.answerDecimal ?? condition.answerInteger ?? condition.answerString;
  if (expected === undefined) return false;
  switch (condition.operator) {
    case '=':
      return actual === expected;
    case '!=':
      return actual !== expected;
    case '>':
      return typeof actual === 'number' && typeof expected === 'number' && actual > expected;
    case '<':
      return typeof actual === 'number' && typeof expected === 'number' && actual < expected;
    case '>=':
      return typeof actual === 'number' && typeof expected === 'number' && actual >= expected;
    case '<=':
      return typeof actual === 'number' && typeof expected === 'number' && actual <= expected;
    default:
      return false;
  }
}

/**
 * The linkIds enabled by these answers. An answer to a disabled question does not count (so a
 * question conditional on a disabled one is disabled too), and a disabled group disables its items.
 */
export function enabledLinkIds(q: Questionnaire, answers: Answers): Set<string> {
  const enabled = new Set<string>();
  const effective = (linkId: string): AnswerValue | undefined => (enabled.has(linkId) ? answers[linkId] : undefined);
  const visit = (items: QuestionnaireItem[]) => {
    for (const item of items) {
      let on = true;
      if (item.enableWhen && item.enableWhen.length > 0) {
        const results = item.enableWhen.map((c) => {
          const actual = effective(c.question);
          if (c.operator === 'exists') return (actual !== undefined) === (c.answerBoolean ?? true);
          return actual !== undefined && compare(actual, c);
        });
        on = (item.enableBehavior ?? 'all') === 'all' ? results.every(Boolean) : results.some(Boolean);
      }
      if (!on) continue;
      enabled.add(item.linkId);
      if (item.item) visit(item.item);
    }
  };
  visit(q.item);
  return enabled;
}

/**
 * How a conditional question is asked on a form. 'reveal': under the one answer of an earlier
 * question in its group that enables it (GOV.UK conditional reveal; without JavaScript it is
 * shown there, and ignored unless that answer is chosen). 'follow-up': enabled by several
 * answers or other rules, so it is shown once the answers given enable it, and the form comes
 * back with it before saving. Unconditional questions are 'always' asked.
 */
export type AskedAs = { kind: 'always' } | { kind: 'reveal'; under: string; option: string } | { kind: 'follow-up' };

export function askedAs(q: Questionnaire): Map<string, AskedAs> {
  const result = new Map<string, AskedAs>();
  const visit = (items: QuestionnaireItem[]) => {
    items.forEach((item, index) => {
      if (item.item) visit(item.item);
      if (!isQuestion(item)) return;
      const conditions = item.enableWhen ?? [];
      if (conditions.length === 0) {
        result.set(item.linkId, { kind: 'always' });
        return;
      }
      const only = conditions.length === 1 ? conditions[0]! : undefined;
      const trigger = only ? items.slice(0, index).find((i) => i.linkId === only.question) : undefined;
      const code = only?.operator === '=' ? only.answerCoding?.code : undefined;
      const revealable =
        trigger &&
        code !== undefined &&
        trigger.type === 'choice' &&
        !trigger.enableWhen?.length &&
        trigger.answerOption?.some((o) => o.valueCoding.code === code);
      result.set(item.linkId, revealable ? { kind: 'reveal', under: trigger.linkId, option: code } : { kind: 'follow-up' });
    });
  };
  visit(q.item);
  return result;
}

/** Answers with those to disabled questions removed. */
export function effectiveAnswers(q: Questionnaire, answers: Answers): Answers {
  const enabled = enabledLinkIds(q, answers);
  return Object.fromEntries(Object.entries(answers).filter(([linkId]) => enabled.has(linkId)));
}

// ---------------------------------------------------------------------------------------------
// Scoring

/** The score an answer carries: a choice's ordinal value, or the number itself. */
export function itemScore(item: QuestionnaireItem, value: AnswerValue | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (item.type === 'choice') {
    const option = item.answerOption?.find((o) => o.valueCoding.code === value);
    return option ? ordinalOf(option) : undefined;
  }
  if ((item.type === 'integer' || item.type === 'decimal') && typeof value === 'number') return value;
  return undefined;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export function scoreResponse(q: Questionnaire, answers: Answers): ScoreResult {
  const config = scoringOf(q);
  const live = effectiveAnswers(q, answers);
  const byDomain = new Map<string, number[]>();
  for (const { item } of flattenItems(q.item)) {
    const domain = domainOf(item);
    if (!domain) continue;
    const score = itemScore(item, live[item.linkId]);
    if (score === undefined) continue;
    const list = byDomain.get(domain) ?? [];
    list.push(score);
    byDomain.set(domain, list);
  }
  const domains: Record<string, number | null> = {};
  for (const d of config.domains) {
    const scores = byDomain.get(d.code);
    if (!scores || scores.length === 0) {
      domains[d.code] = null;
      continue;
    }
    const raw =
      d.method === 'sum'
        ? scores.reduce((a, b) => a + b, 0)
        : d.method === 'mean'
          ? scores.reduce((a, b) => a + b, 0) / scores.length
          : Math.max(...scores);
    domains[d.code] = round2(Math.min(d.max, Math.max(d.min, raw)));
  }
  const scored = Object.values(domains).filter((v): v is number => v !== null);
  const complete = config.domains.every((d) => domains[d.code] !== null);
  const total = config.total === 'sum' && scored.length > 0 ? round2(scored.reduce((a, b) => a + b, 0)) : null;
  const rules: Record<string, boolean> = {};
  for (const rule of config.rules) rules[rule.code] = ruleMet(rule, domains);
  return { domains, total, complete, rules };
}

export function ruleMet(rule: CriteriaRule, domains: Record<string, number | null>): boolean {
  if (rule.domainThreshold !== undefined && rule.minDomains !== undefined) {
    const over = Object.values(domains).filter((v) => v !== null && v >= rule.domainThreshold!).length;
    if (over >= rule.minDomains) return true;
  }
  return rule.anyOf.some((c) => {
    const v = domains[c.domain];
    if (v === null || v === undefined) return false;
    if (c.atLeast !== undefined && v < c.atLeast) return false;
    if (c.atMost !== undefined && v > c.atMost) return false;
    return c.atLeast !== undefined || c.atMost !== undefined;
  });
}

// ---------------------------------------------------------------------------------------------
// Checking submitted answers (form fields are strings)

export interface AnswerError {
  linkId: string;
  text: string;
}

function bound(item: QuestionnaireItem, url: string): number | undefined {
  const e = extensionOf(item, url);
  return e?.valueInteger ?? e?.valueDecimal;
}

/** Parses raw form values into typed answers, then checks required and range rules on enabled questions only. */
export function parseAnswers(q: Questionnaire, raw: Record<string, string | undefined>): { answers: Answers; errors: AnswerError[] } {
  const answers: Answers = {};
  const errors: AnswerError[] = [];
  const items = flattenItems(q.item)
    .map((f) => f.item)
    .filter(isQuestion);
  const typeErrors = new Map<string, string>();
  for (const item of items) {
    const value = (raw[item.linkId] ?? '').trim();
    if (value === '') continue;
    switch (item.type) {
      case 'choice':
        if (item.answerOption?.some((o) => o.valueCoding.code === value)) answers[item.linkId] = value;
        else typeErrors.set(item.linkId, `Choose one of the options for "${item.text}"`);
        break;
      case 'boolean':
        if (value === 'true' || value === 'false') answers[item.linkId] = value === 'true';
        else typeErrors.set(item.linkId, `Choose yes or no for "${item.text}"`);
        break;
      case 'integer':
      case 'decimal': {
        const n = Number(value);
        const min = bound(item, EXT.minValue);
        const max = bound(item, EXT.maxValue);
        if (!Number.isFinite(n) || (item.type === 'integer' && !Number.isInteger(n)))
          typeErrors.set(item.linkId, `Enter a ${item.type === 'integer' ? 'whole ' : ''}number for "${item.text}"`);
        else if ((min !== undefined && n < min) || (max !== undefined && n > max))
          typeErrors.set(item.linkId, `Enter a number from ${min ?? '…'} to ${max ?? '…'} for "${item.text}"`);
        else answers[item.linkId] = n;
        break;
      }
      case 'date':
        if (/^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value))) answers[item.linkId] = value;
        else typeErrors.set(item.linkId, `Enter a date as YYYY-MM-DD for "${item.text}"`);
        break;
      default:
        answers[item.linkId] = value.slice(0, 2000);
    }
  }
  const enabled = enabledLinkIds(q, answers);
  for (const item of items) {
    if (!enabled.has(item.linkId)) continue;
    const typeError = typeErrors.get(item.linkId);
    if (typeError) errors.push({ linkId: item.linkId, text: typeError });
    else if (item.required && answers[item.linkId] === undefined) errors.push({ linkId: item.linkId, text: `Answer "${item.text}"` });
  }
  return { answers: effectiveAnswers(q, answers), errors };
}

// ---------------------------------------------------------------------------------------------
// QuestionnaireResponse

export interface PrefillSource {
  /** need | event | household | person | response */
  kind: string;
  category: string;
  organisationId: string | null;
  organisation: string | null;
  recordedAt: string | null;
  /** Plain English: what in the shared record gave this answer. */
  detail: string;
}

export interface QuestionnaireResponse {
  resourceType: 'QuestionnaireResponse';
  id?: string;
  questionnaire: string;
  status: 'completed' | 'in-progress';
  subject: { reference: string };
  authored: string;
  author?: { reference: string; display?: string };
  extension?: Extension[];
  item: ResponseItem[];
}

export interface ResponseItem {
  linkId: string;
  text?: string;
  answer?: Array<{
    valueCoding?: Coding;
    valueBoolean?: boolean;
    valueInteger?: number;
    valueDecimal?: number;
    valueString?: string;
    valueDate?: string;
  }>;
  item?: ResponseItem[];
  extension?: Extension[];
}

function answerFor(item: QuestionnaireItem, value: AnswerValue): NonNullable<ResponseItem['answer']>[number] {
  switch (item.type) {
    case 'choice': {
      const option = item.answerOption?.find((o) => o.valueCoding.code === value);
      return { valueCoding: option?.valueCoding ?? { code: String(value) } };
    }
    case 'boolean':
      return { valueBoolean: Boolean(value) };
    case 'integer':
      return { valueInteger: Number(value) };
    case 'decimal':
      return { valueDecimal: Number(value) };
    case 'date':
      return { valueDate: String(value) };
    default:
      return { valueString: String(value) };
  }
}

export function prefillSourceExtension(source: PrefillSource): Extension {
  return {
    url: EXT.prefillSource,
    extension: [
      { url: 'kind', valueCode: source.kind },
      { url: 'category', valueCode: source.category },
      ...(source.organisationId ? [{ url: 'organisation', valueString: source.organisationId }] : []),
      ...(source.recordedAt ? [{ url: 'recordedAt', valueString: source.recordedAt }] : []),
      { url: 'detail', valueString: source.detail },
    ],
  };
}

/** Builds the response in the questionnaire's shape: enabled, answered items only, groups kept. */
export function buildResponse(
  q: Questionnaire,
  answers: Answers,
  meta: {
    subjectReference: string;
    authored: string;
    author?: { reference: string; display?: string };
    reused?: Record<string, PrefillSource>;
    score?: ScoreResult;
  },
): QuestionnaireResponse {
  const live = effectiveAnswers(q, answers);
  const enabled = enabledLinkIds(q, answers);
  const build = (items: QuestionnaireItem[]): ResponseItem[] => {
    const out: ResponseItem[] = [];
    for (const item of items) {
      if (!enabled.has(item.linkId)) continue;
      if (item.type === 'group') {
        const children = build(item.item ?? []);
        if (children.length > 0) out.push({ linkId: item.linkId, text: item.text, item: children });
        continue;
      }
      if (item.type === 'display') continue;
      const value = live[item.linkId];
      if (value === undefined) continue;
      const source = meta.reused?.[item.linkId];
      out.push({
        linkId: item.linkId,
        text: item.text,
        answer: [answerFor(item, value)],
        ...(source ? { extension: [prefillSourceExtension(source)] } : {}),
      });
    }
    return out;
  };
  const score = meta.score;
  return {
    resourceType: 'QuestionnaireResponse',
    questionnaire: `${q.url}|${q.version}`,
    status: 'completed',
    subject: { reference: meta.subjectReference },
    authored: meta.authored,
    ...(meta.author ? { author: meta.author } : {}),
    ...(score
      ? {
          extension: [
            {
              url: EXT.score,
              extension: [
                ...(score.total !== null ? [{ url: 'total', valueDecimal: score.total }] : []),
                ...Object.entries(score.domains)
                  .filter(([, v]) => v !== null)
                  .map(([code, v]) => ({
                    url: 'domain',
                    extension: [
                      { url: 'code', valueCode: code },
                      { url: 'value', valueDecimal: v as number },
                    ],
                  })),
                ...Object.entries(score.rules).map(([code, met]) => ({
                  url: 'rule',
                  extension: [
                    { url: 'code', valueCode: code },
                    { url: 'met', valueBoolean: met },
                  ],
                })),
              ],
            },
          ],
        }
      : {}),
    item: build(q.item),
  };
}

/** Reads the answers back out of a stored response. */
export function answersFromResponse(response: QuestionnaireResponse): Answers {
  const answers: Answers = {};
  const visit = (items: ResponseItem[]) => {
    for (const item of items) {
      const a = item.answer?.[0];
      if (a) {
        const v = a.valueCoding?.code ?? a.valueBoolean ?? a.valueInteger ?? a.valueDecimal ?? a.valueString ?? a.valueDate;
        if (v !== undefined) answers[item.linkId] = v;
      }
      if (item.item) visit(item.item);
    }
  };
  visit(response.item);
  return answers;
}
