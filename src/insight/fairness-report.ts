// The fairness check's counts and the public register, read from the database: residents, residents
// with each rule's need, and residents the rule flagged, by the bias dimensions, all from the
// pseudonymised facts (no names, no person ids leave the query). fairness.ts does the arithmetic
// and disclosure control.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { dimensionOrder } from './queries.ts';
import { HOW_TO_OBJECT, type RuleNeed } from './register.ts';
import { humanise, needCodes } from './groups.ts';
import { organisationsByIds, teamsByIds } from '../network/index.ts';
import {
  biasDimensions,
  biasTable,
  type BiasDimension,
  type BiasInput,
  type BiasTable,
  type GroupCounts,
  type GroupInput,
} from './fairness.ts';

/** A rule's register entry as stored (migration 0073): null fields when a place's own rule has none yet. */
export interface RegisterEntry {
  id: string;
  name: string;
  description: string;
  looksFor: string;
  why: string | null;
  whoSees: string | null;
  need: RuleNeed | null;
  howToObject: string;
}

function parseNeed(raw: unknown): RuleNeed | null {
  const v = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  if (typeof v !== 'object' || v === null) return null;
  const n = v as Record<string, unknown>;
  const codes = Array.isArray(n.codes) ? n.codes.filter((c): c is string => typeof c === 'string' && needCodes.includes(c)) : [];
  if (codes.length === 0) return null;
  return { label: typeof n.label === 'string' && n.label ? n.label : codes.map(humanise).join(', '), codes };
}

/** The active rules in plain English, for anyone (no sign-in): what each looks for, why, who sees the result, how to object. */
export async function ruleRegister(db: Kysely<Database>): Promise<RegisterEntry[]> {
  const rows = await db
    .selectFrom('insight_rules')
    .select(['id', 'name', 'description', 'looks_for', 'why', 'who_sees', 'need'])
    .where('active', '=', true)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    description: r.description,
    looksFor: r.looks_for ?? r.description,
    why: r.why,
    whoSees: r.who_sees,
    need: parseNeed(r.need),
    howToObject: HOW_TO_OBJECT,
  }));
}

/** Counts for one rule's bias table, from the pseudonymised facts: residents, with the need, flagged (ever put on a worklist by the rule). */
export async function ruleBiasCounts(db: Kysely<Database>, ruleId: string, need: RuleNeed): Promise<BiasInput> {
  const result = await sql<{ dimension: string; value: string; population: number; need: number; flagged: number }>`
    with flagged as (select distinct w.pkey from insight_worklist w where w.rule_id = ${ruleId}),
    in_need as (select distinct n.pkey from insight_need_facts n where n.current and n.need_code = any(${need.codes}::text[]))
    select dv.dimension, dv.value, count(*)::int as population, count(n.pkey)::int as need, count(fl.pkey)::int as flagged
    from insight_person_facts f
    left join flagged fl on fl.pkey = f.pkey
    left join in_need n on n.pkey = f.pkey
    cross join lateral (values ('all', 'all'), ('quintile', f.quintile::text), ('ethnicity', f.ethnicity_group), ('age_band', f.age_band), ('sex', f.sex)) as dv(dimension, value)
    group by dv.dimension, dv.value`.execute(db);
  const counts = (r: { population: number; need: number; flagged: number } | undefined): GroupCounts => ({
    population: Number(r?.population ?? 0),
    need: Number(r?.need ?? 0),
    flagged: Number(r?.flagged ?? 0),
  });
  const by = {} as Record<BiasDimension, GroupInput[]>;
  for (const d of biasDimensions) {
    const found = result.rows.filter((r) => r.dimension === d);
    const order = await dimensionOrder(db, d);
    // Listed in the dimension's fixed order (never by size), then any value outside it (e.g. "unknown").
    const extra = found
      .filter((r) => !order.some((o) => o.value === r.value))
      .map((r) => ({ value: r.value, label: humanise(r.value) }))
      .sort((a, b) => a.value.localeCompare(b.value));
    by[d] = [...order, ...extra].map((o) => ({ ...o, ...counts(found.find((r) => r.value === o.value)) }));
  }
  return { total: counts(result.rows.find((r) => r.dimension === 'all')), by };
}

export interface RuleFairness {
  rule: RegisterEntry;
  table: BiasTable | null;
}

/** The fairness check for every active rule (a rule with no need in its register entry has no table). */
export async function fairnessReport(db: Kysely<Database>): Promise<RuleFairness[]> {
  const register = await ruleRegister(db);
  const out: RuleFairness[] = [];
  for (const rule of register) out.push({ rule, table: rule.need ? biasTable(await ruleBiasCounts(db, rule.id, rule.need)) : null });
  return out;
}

export interface FoundEntry {
  rule: RegisterEntry;
  foundAt: Date;
  /** What the rule found, in the words the team sees. */
  facts: string[];
  organisation: string | null;
  team: string | null;
  status: 'open' | 'done' | 'dismissed';
}

/**
 * For the person themselves (the caller has decided access): every time a rule found them, with
 * the rule in plain English, what it found and which team was asked to look. Newest first.
 */
export async function caseFindingAbout(db: Kysely<Database>, personId: string): Promise<FoundEntry[]> {
  const [rows, register] = await Promise.all([
    db
      .selectFrom('insight_worklist as w')
      .select(['w.rule_id', 'w.found_at', 'w.facts', 'w.status', 'w.organisation_id', 'w.team_id'])
      .where('w.person_id', '=', personId)
      .orderBy('w.found_at', 'desc')
      .orderBy('w.id', 'desc')
      .execute(),
    db.selectFrom('insight_rules').select(['id', 'name', 'description', 'looks_for', 'why', 'who_sees', 'need']).execute(),
  ]);
  const [organisations, teams] = await Promise.all([
    organisationsByIds(
      db,
      rows.map((r) => r.organisation_id),
    ),
    teamsByIds(
      db,
      rows.map((r) => r.team_id),
    ),
  ]);
  const rules = new Map(
    register.map((r) => [
      r.id,
      {
        id: r.id,
        name: r.name,
        description: r.description,
        looksFor: r.looks_for ?? r.description,
        why: r.why,
        whoSees: r.who_sees,
        need: parseNeed(r.need),
        howToObject: HOW_TO_OBJECT,
      },
    ]),
  );
  return rows.flatMap((r) => {
    const rule = rules.get(r.rule_id);
    if (!rule) return [];
    const facts = typeof r.facts === 'string' ? (JSON.parse(r.facts) as unknown) : r.facts;
    return [
      {
        rule,
        foundAt: new Date(r.found_at),
        facts: Array.isArray(facts) ? facts.map(String) : [],
        organisation: r.organisation_id ? (organisations.get(r.organisation_id)?.name ?? null) : null,
        team: r.team_id ? (teams.get(r.team_id)?.name ?? null) : null,
        status: r.status,
      },
    ];
  });
}
