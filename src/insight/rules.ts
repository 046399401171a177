// Case-finding rules as data. A rule is a list of predicates from a small, fixed, parameterised
// language; every predicate compiles to SQL with bound parameters (never text from users), over
// the linked records: agencies holding records (record_links), needs, events, relationships of
// care, enrolments and plans. Each predicate also yields the fact that matched, in words.
import { sql, type RawBuilder } from 'kysely';
import { eventTypes, groupSources, humanise, needCodes, organisationKinds, serviceGroups } from './groups.ts';
import { RefusedInput } from '../platform/refused.ts';
import { eventsOfTypes, needsWithCodes, personProfiles } from '../people/index.ts';
import { peopleHeldByOrganisationKinds } from '../linkage/index.ts';
import { peopleWithRelationshipRole } from '../consent/index.ts';
import { peopleEnrolledIn, peopleOnActivePlans, peopleWithLeadPractitioner } from '../plans/index.ts';

export type Predicate =
  | { kind: 'age_between'; min?: number; max?: number }
  | { kind: 'known_to_groups'; groups: string[]; atLeast: number }
  | { kind: 'current_need'; codes: string[]; atLeast: number }
  | { kind: 'event_count'; types: string[]; withinDays: number; atLeast: number }
  | { kind: 'latest_value_below'; type: string; below: number; withinDays: number }
  | { kind: 'any_of'; atLeast: number; of: Predicate[] }
  | { kind: 'no_coordinator'; roleLabels: string[] }
  | { kind: 'not_enrolled'; modelId: string }
  | { kind: 'no_active_plan' };

export interface RuleDefinition {
  /** Every predicate must hold. */
  all: Predicate[];
  /** The team that gets the entry: the first organisation of these kinds (in order) holding a record on the person. */
  assignTo: { organisationKinds: string[] };
}

export interface RuleRow {
  id: string;
  name: string;
  description: string;
  definition: RuleDefinition;
}

export const defaultRules: RuleRow[] = [
  {
    id: 'md-no-coordinator',
    name: 'Adults known to three or more multiple-disadvantage services without a coordinator',
    description:
      'Adults known to three or more of homelessness, drug and alcohol, probation and mental health services, with no named coordinator or lead practitioner.',
    definition: {
      all: [
        { kind: 'age_between', min: 18 },
        { kind: 'known_to_groups', groups: ['homelessness', 'substance_misuse', 'offending', 'mental_health'], atLeast: 3 },
        {
          kind: 'no_coordinator',
          roleLabels: ['lead practitioner', 'named coordinator', 'coordinator', 'housing first support worker', 'local area coordinator'],
        },
      ],
      assignTo: {
        organisationKinds: ['council_adult_social_care', 'drug_alcohol_service', 'mental_health_trust', 'probation', 'council_housing'],
      },
    },
  },
  {
    id: 'childrens-zone-not-enrolled',
    name: "Children meeting the children's zone identification criteria and not enrolled",
    description:
      "Children aged 5 to 15 with two or more of: attendance below 90% last term, an exclusion, a safeguarding concern in the last year, a current wellbeing or attendance need; or attendance below 80%. Not enrolled in the children's zone.",
    definition: {
      all: [
        { kind: 'age_between', min: 5, max: 15 },
        {
          kind: 'any_of',
          atLeast: 2,
          of: [
            { kind: 'latest_value_below', type: 'school_attendance_term', below: 90, withinDays: 200 },
            { kind: 'event_count', types: ['school_exclusion'], withinDays: 365, atLeast: 1 },
            { kind: 'event_count', types: ['safeguarding_concern'], withinDays: 365, atLeast: 1 },
            { kind: 'current_need', codes: ['child_wellbeing', 'child_school_attendance'], atLeast: 1 },
            { kind: 'latest_value_below', type: 'school_attendance_term', below: 80, withinDays: 200 },
          ],
        },
        { kind: 'not_enrolled', modelId: 'childrens-zone' },
      ],
      assignTo: { organisationKinds: ['school', 'council_children_social_care', 'charity'] },
    },
  },
  {
    id: 'older-falls-no-plan',
    name: 'Older people with repeated falls or hospital admissions and no care plan',
    description:
      'People aged 65 or over with two or more falls, or two or more hospital admissions, in the last year, and no active shared care plan.',
    definition: {
      all: [
        { kind: 'age_between', min: 65 },
        {
          kind: 'any_of',
          atLeast: 1,
          of: [
            { kind: 'event_count', types: ['fall'], withinDays: 365, atLeast: 2 },
            { kind: 'event_count', types: ['hospital_admission'], withinDays: 365, atLeast: 2 },
          ],
        },
        { kind: 'no_active_plan' },
      ],
      assignTo: { organisationKinds: ['gp_practice', 'council_adult_social_care', 'hospital_trust'] },
    },
  },
];

export class RuleError extends RefusedInput {
  constructor(message: string) {
    super(400, message);
  }
}

const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
function codes(v: unknown, allowed: readonly string[], what: string, max = 20): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > max) throw new RuleError(`${what} must be a list of 1 to ${max} codes`);
  for (const c of v) if (typeof c !== 'string' || !allowed.includes(c)) throw new RuleError(`${what}: unknown code "${String(c)}"`);
  return v as string[];
}

function parsePredicate(raw: unknown, depth: number): Predicate {
  if (typeof raw !== 'object' || raw === null) throw new RuleError('each condition must be an object');
  const p = raw as Record<string, unknown>;
  switch (p.kind) {
    case 'age_between': {
      if (p.min !== undefined && !isInt(p.min, 0, 120)) throw new RuleError('age_between.min must be 0–120');
      if (p.max !== undefined && !isInt(p.max, 0, 120)) throw new RuleError('age_between.max must be 0–120');
      if (p.min === undefined && p.max === undefined) throw new RuleError('age_between needs min or max');
      return {
        kind: 'age_between',
        ...(p.min !== undefined ? { min: p.min as number } : {}),
        ...(p.max !== undefined ? { max: p.max as number } : {}),
      };
    }
    case 'known_to_groups': {
      const groups = codes(
        p.groups,
        serviceGroups.map((g) => g.code),
        'known_to_groups.groups',
      );
      if (!isInt(p.atLeast, 1, groups.length)) throw new RuleError('known_to_groups.atLeast must be from 1 to the number of groups');
      return { kind: 'known_to_groups', groups, atLeast: p.atLeast };
    }
    case 'current_need': {
      const list = codes(p.codes, needCodes, 'current_need.codes');
      const atLeast = p.atLeast ?? 1;
      if (!isInt(atLeast, 1, list.length)) throw new RuleError('current_need.atLeast must be from 1 to the number of codes');
      return { kind: 'current_need', codes: list, atLeast };
    }
    case 'event_count': {
      const types = codes(p.types, eventTypes, 'event_count.types');
      if (!isInt(p.withinDays, 1, 3660)) throw new RuleError('event_count.withinDays must be 1–3660');
      if (!isInt(p.atLeast, 1, 1000)) throw new RuleError('event_count.atLeast must be 1–1000');
      return { kind: 'event_count', types, withinDays: p.withinDays, atLeast: p.atLeast };
    }
    case 'latest_value_below': {
      const [type] = codes([p.type], eventTypes, 'latest_value_below.type');
      if (typeof p.below !== 'number' || !Number.isFinite(p.below)) throw new RuleError('latest_value_below.below must be a number');
      if (!isInt(p.withinDays, 1, 3660)) throw new RuleError('latest_value_below.withinDays must be 1–3660');
      return { kind: 'latest_value_below', type: type!, below: p.below, withinDays: p.withinDays };
    }
    case 'any_of': {
      if (depth > 0) throw new RuleError('any_of cannot be nested');
      if (!Array.isArray(p.of) || p.of.length === 0 || p.of.length > 10) throw new RuleError('any_of.of must list 1 to 10 conditions');
      const of = p.of.map((q) => parsePredicate(q, depth + 1));
      if (of.some((q) => negative(q))) throw new RuleError('any_of may hold only positive conditions');
      if (!isInt(p.atLeast, 1, of.length)) throw new RuleError('any_of.atLeast must be from 1 to the number of conditions');
      return { kind: 'any_of', atLeast: p.atLeast, of };
    }
    case 'no_coordinator': {
      if (
        !Array.isArray(p.roleLabels) ||
        p.roleLabels.length === 0 ||
        p.roleLabels.length > 20 ||
        p.roleLabels.some((l) => typeof l !== 'string' || l.length > 80)
      )
        throw new RuleError('no_coordinator.roleLabels must be 1 to 20 labels');
      return { kind: 'no_coordinator', roleLabels: p.roleLabels as string[] };
    }
    case 'not_enrolled':
      if (typeof p.modelId !== 'string' || !/^[a-z0-9-]{1,64}$/.test(p.modelId))
        throw new RuleError('not_enrolled.modelId must be an operating model id');
      return { kind: 'not_enrolled', modelId: p.modelId };
    case 'no_active_plan':
      return { kind: 'no_active_plan' };
    default:
      throw new RuleError(`unknown condition "${String(p.kind)}"`);
  }
}

function negative(p: Predicate): boolean {
  return p.kind === 'no_coordinator' || p.kind === 'not_enrolled' || p.kind === 'no_active_plan';
}

/** Checks a rule definition from the table (or an editor) and returns it typed; throws RuleError. */
export function parseRuleDefinition(raw: unknown): RuleDefinition {
  const value = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  if (typeof value !== 'object' || value === null) throw new RuleError('a rule must be an object');
  const r = value as Record<string, unknown>;
  if (!Array.isArray(r.all) || r.all.length === 0 || r.all.length > 12) throw new RuleError('a rule needs 1 to 12 conditions in "all"');
  const all = r.all.map((p) => parsePredicate(p, 0));
  if (!all.some((p) => !negative(p))) throw new RuleError('a rule needs at least one positive condition');
  const assign = r.assignTo as Record<string, unknown> | undefined;
  const kinds = codes(assign?.organisationKinds, organisationKinds, 'assignTo.organisationKinds');
  return { all, assignTo: { organisationKinds: kinds } };
}

/** A positive predicate as a set of (person_id, detail) rows. */
function positiveSql(p: Predicate, asOf: Date): RawBuilder<unknown> {
  switch (p.kind) {
    case 'age_between': {
      const age = sql`date_part('year', age(${asOf}::date, p.birth_date))::int`;
      return sql`select p.person_id, 'aged ' || ${age} as detail from ${personProfiles} p
        where p.birth_date is not null
          and (${p.min ?? null}::int is null or ${age} >= ${p.min ?? null}::int)
          and (${p.max ?? null}::int is null or ${age} <= ${p.max ?? null}::int)`;
    }
    case 'known_to_groups': {
      const src = groupSources(p.groups);
      const events = eventsOfTypes(
        src.events.map((k) => k.value),
        { asOf },
      );
      return sql`select k.person_id, 'known to ' || count(distinct k.label) || ' of the ' || ${p.groups.length}::int || ' services: ' || string_agg(distinct k.label, ', ') as detail
        from (
          select o.person_id, g.label from ${peopleHeldByOrganisationKinds(src.kinds.map((k) => k.value))} o
            join unnest(${src.kinds.map((k) => k.value)}::text[], ${src.kinds.map((k) => k.label)}::text[]) as g(kind, label) on g.kind = o.kind
          union all
          select e.person_id, g.label from ${events} e
            join unnest(${src.events.map((k) => k.value)}::text[], ${src.events.map((k) => k.label)}::text[]) as g(type, label) on g.type = e.type
          union all
          select n.person_id, g.label from ${needsWithCodes(src.needs.map((k) => k.value))} n
            join unnest(${src.needs.map((k) => k.value)}::text[], ${src.needs.map((k) => k.label)}::text[]) as g(code, label) on g.code = n.code
        ) k
        group by k.person_id having count(distinct k.label) >= ${p.atLeast}::int`;
    }
    case 'current_need':
      return sql`select n.person_id, 'current need recorded: ' || string_agg(distinct replace(n.code, '_', ' '), ', ') as detail
        from ${needsWithCodes(p.codes, { current: true })} n
        group by n.person_id having count(distinct n.code) >= ${p.atLeast}::int`;
    case 'event_count': {
      const label = p.types.map(humanise).join(' or ');
      return sql`select e.person_id, count(*) || ' × ' || ${label}::text || ' in the ' || ${p.withinDays}::int || ' days to ' || to_char(${asOf}::date, 'DD/MM/YYYY') as detail
        from ${eventsOfTypes(p.types, { asOf, withinDays: p.withinDays })} e
        group by e.person_id having count(*) >= ${p.atLeast}::int`;
    }
    case 'latest_value_below':
      return sql`select v.person_id, 'latest ' || ${humanise(p.type)}::text || ' value ' || round(v.value::numeric, 1) || ' (below ' || ${p.below}::float8 || ')' as detail
        from (select distinct on (e.person_id) e.person_id, e.value from ${eventsOfTypes([p.type], { asOf, withinDays: p.withinDays })} e
              where e.value is not null
              order by e.person_id, e.at desc) v
        where v.value < ${p.below}::float8`;
    case 'any_of': {
      const parts = p.of.map((q) => positiveSql(q, asOf));
      return sql`select u.person_id, string_agg(u.detail, '; ') as detail from (${sql.join(parts, sql` union all `)}) u
        group by u.person_id having count(*) >= ${p.atLeast}::int`;
    }
    default:
      throw new RuleError(`${p.kind} is not a positive condition`);
  }
}

/** A negative predicate as the set of people it excludes, and the fact it adds when they are not excluded. */
function negativeSql(p: Predicate): { excluded: RawBuilder<unknown>; detail: string } {
  switch (p.kind) {
    case 'no_coordinator':
      return {
        excluded: sql`${peopleWithRelationshipRole(p.roleLabels)} union all ${peopleWithLeadPractitioner}`,
        detail: 'no named coordinator or lead practitioner recorded',
      };
    case 'not_enrolled':
      return {
        excluded: peopleEnrolledIn(p.modelId),
        detail: `not enrolled (${p.modelId.replace(/-/g, ' ')})`,
      };
    case 'no_active_plan':
      return {
        excluded: peopleOnActivePlans,
        detail: 'no active shared care plan',
      };
    default:
      throw new RuleError(`${p.kind} is not a negative condition`);
  }
}

/**
 * The rule as one query producing (person_id, facts jsonb): positive conditions joined, negative
 * ones as anti-joins. Only ids and facts in words come out; names never enter the query.
 */
export function compileRule(definition: RuleDefinition, asOf: Date): RawBuilder<{ person_id: string; facts: unknown }> {
  const positives = definition.all.filter((p) => !negative(p));
  const negatives = definition.all.filter(negative).map(negativeSql);
  const ctes = positives.map((p, i) => sql`${sql.raw(`c${i}`)} as (${positiveSql(p, asOf)})`);
  const xs = negatives.map((n, i) => sql`${sql.raw(`x${i}`)} as (${n.excluded})`);
  const joins = positives.slice(1).map((_, j) => sql.raw(` join c${j + 1} on c${j + 1}.person_id = c0.person_id`));
  const notExists = negatives.map((_, i) => sql.raw(` and not exists (select 1 from x${i} where x${i}.person_id = c0.person_id)`));
  const facts = [...positives.map((_, i) => sql.raw(`c${i}.detail`)), ...negatives.map((n) => sql`${n.detail}::text`)];
  return sql<{ person_id: string; facts: unknown }>`with ${sql.join([...ctes, ...xs], sql`, `)}
    select c0.person_id, jsonb_build_array(${sql.join(facts, sql`, `)}) as facts
    from c0${sql.join(joins, sql``)} where true${sql.join(notExists, sql``)}`;
}
