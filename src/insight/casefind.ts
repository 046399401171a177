// Runs the case-finding rules: each active rule (from insight_rules) is compiled and its matches
// become worklist entries for the team of an organisation that already holds a record on the
// person (a legitimate relationship). Only that team's practitioners see the entries (facts that
// matched, no names) and open the person through the access decision; managers see counts per
// rule and team, protected so no team's count can be worked out from the rule's total.
// People who object to case-finding (a choice the consent module keeps) are skipped; an entry
// found before they objected stays on the worklist, marked not to be contacted this way.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { silentProgress, type Progress } from '../platform/progress.ts';
import { compileRule, parseRuleDefinition, type RuleDefinition } from './rules.ts';
import { pseudonymKey, pseudonymSql } from './pseudonym.ts';
import { protectCells, type Sum } from '../platform/disclosure.ts';
import { caseFindingObjectionsFor, caseFindingObjectors } from '../consent/index.ts';
import { agenciesHoldingPersonSql } from '../linkage/index.ts';
import { firstTeamIdOf, organisationNameOf, teamNameOf } from '../network/index.ts';

export interface RuleRunResult {
  ruleId: string;
  name: string;
  matched: number;
  seconds: number;
}
export interface CaseFindingRun {
  runId: number;
  rules: RuleRunResult[];
  entries: number;
  seconds: number;
}

export async function loadRules(
  db: Kysely<Database>,
  activeOnly = true,
): Promise<Array<{ id: string; name: string; description: string; definition: RuleDefinition; active: boolean }>> {
  let q = db.selectFrom('insight_rules').select(['id', 'name', 'description', 'definition', 'active']).orderBy('id');
  if (activeOnly) q = q.where('active', '=', true);
  const rows = await q.execute();
  return rows.map((r) => ({ ...r, definition: parseRuleDefinition(r.definition) }));
}

/** Runs case-finding once if it has never run, so a manager's first look finds its lists filled. */
export async function ensureCaseFindingRun(db: Kysely<Database>): Promise<void> {
  if (!(await db.selectFrom('insight_runs').select('id').limit(1).executeTakeFirst())) await runCaseFinding(db);
}

/** Runs every active rule (or those named), replacing each rule's open entries; dismissed and done entries are kept and not re-raised. */
export async function runCaseFinding(
  db: Kysely<Database>,
  options: { asOf?: Date; ruleIds?: string[]; progress?: Progress } = {},
): Promise<CaseFindingRun> {
  const started = Date.now();
  const asOf = options.asOf ?? new Date();
  const progress = options.progress ?? silentProgress;
  const rules = (await loadRules(db)).filter((r) => !options.ruleIds || options.ruleIds.includes(r.id));
  const key = await pseudonymKey(db);
  const run = await db
    .insertInto('insight_runs')
    .values({ started_at: new Date(), rules: rules.length, entries: 0 })
    .returning('id')
    .executeTakeFirstOrThrow();
  const runId = Number(run.id);
  progress.setTotal(rules.length);
  const results: RuleRunResult[] = [];
  let done = 0;
  const objectors = await caseFindingObjectors(db);
  for (const rule of rules) {
    progress.update(done, rule.name);
    const t0 = Date.now();
    const kinds = rule.definition.assignTo.organisationKinds;
    const matched = await db.transaction().execute(async (trx) => {
      // Short analytic queries: compiling them to machine code costs more than it saves.
      await sql`set local jit = off`.execute(trx);
      // An objector's open entry is kept (shown as not to be contacted this way), never re-raised.
      await trx
        .deleteFrom('insight_worklist')
        .where('rule_id', '=', rule.id)
        .where('status', '=', 'open')
        .where(sql<boolean>`not (person_id = any(${objectors}::text[]))`)
        .execute();
      const result = await sql`
        insert into insight_worklist (run_id, rule_id, person_id, pkey, organisation_id, team_id, facts, found_at)
        select ${runId}, ${rule.id}, m.person_id, ${pseudonymSql(key, sql`m.person_id`)}, a.organisation_id, a.team_id, m.facts, ${new Date()}
        from (${compileRule(rule.definition, asOf)}) m
        left join lateral (
          select h.organisation_id, ${firstTeamIdOf(sql.ref('h.organisation_id'))} as team_id
          from (${sql.raw(agenciesHoldingPersonSql('m.person_id'))}) h
          where h.kind = any(${kinds}::text[])
          order by array_position(${kinds}::text[], h.kind), h.organisation_id limit 1
        ) a on true
        where not exists (select 1 from insight_worklist w where w.rule_id = ${rule.id} and w.person_id = m.person_id and w.status <> 'open')
          and not (m.person_id = any(${objectors}::text[]))`.execute(trx);
      return Number(result.numAffectedRows ?? 0);
    });
    results.push({ ruleId: rule.id, name: rule.name, matched, seconds: (Date.now() - t0) / 1000 });
    done += 1;
    progress.update(done, rule.name);
  }
  const entries = results.reduce((s, r) => s + r.matched, 0);
  const seconds = (Date.now() - started) / 1000;
  await db.updateTable('insight_runs').set({ finished_at: new Date(), entries, seconds }).where('id', '=', runId).execute();
  return { runId, rules: results, entries, seconds };
}

export interface WorklistEntry {
  id: number;
  ruleId: string;
  ruleName: string;
  personId: string;
  pkey: string;
  facts: string[];
  foundAt: Date;
  organisation: string | null;
  team: string | null;
  status: string;
  /** When the person objected to case-finding, if they have: not to be contacted this way. */
  objectedAt: Date | null;
}

function factsOf(v: unknown): string[] {
  const parsed = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

/**
 * The open entries of a practitioner's team: what matched, never names. Entries for an
 * organisation with no team go to all its practitioners; an account in no team sees only those.
 */
export async function worklistFor(
  db: Kysely<Database>,
  scope: { organisationId: string; teamId?: string | null },
  limit = 200,
): Promise<WorklistEntry[]> {
  let q = db
    .selectFrom('insight_worklist as w')
    .innerJoin('insight_rules as r', 'r.id', 'w.rule_id')
    .select([
      'w.id',
      'w.rule_id',
      'r.name as rule_name',
      'w.person_id',
      'w.pkey',
      'w.facts',
      'w.found_at',
      organisationNameOf('w.organisation_id').as('organisation'),
      teamNameOf('w.team_id').as('team'),
      'w.status',
    ])
    .where('w.organisation_id', '=', scope.organisationId)
    .where('w.status', '=', 'open');
  q = scope.teamId
    ? q.where((eb) => eb.or([eb('w.team_id', '=', scope.teamId!), eb('w.team_id', 'is', null)]))
    : q.where('w.team_id', 'is', null);
  const rows = await q.orderBy('w.rule_id').orderBy('w.id').limit(limit).execute();
  const objections = await caseFindingObjectionsFor(
    db,
    rows.map((r) => r.person_id),
  );
  return rows.map((r) => ({
    id: Number(r.id),
    ruleId: r.rule_id,
    ruleName: r.rule_name,
    personId: r.person_id,
    pkey: r.pkey,
    facts: factsOf(r.facts),
    foundAt: new Date(r.found_at),
    organisation: r.organisation,
    team: r.team,
    status: r.status,
    objectedAt: objections.get(r.person_id) ?? null,
  }));
}

export interface RuleCount {
  id: string;
  name: string;
  description: string;
  open: number | null;
}
export interface TeamCount {
  ruleId: string;
  organisation: string;
  team: string | null;
  open: number | null;
}

/**
 * For managers: open entries per rule and per team, no person-level rows. Each rule's teams and
 * its total are one table protected together (a team's count is never the total minus the
 * others shown); every page showing these counts reads them from here, so they agree. Teams
 * are listed by name, not by size, as an order by size would bound the hidden counts.
 */
export async function worklistSummary(
  db: Kysely<Database>,
): Promise<{ rules: RuleCount[]; byTeam: TeamCount[]; lastRun: { finishedAt: Date | null; seconds: number | null } | null }> {
  const rules = await sql<{ id: string; name: string; description: string; open: number }>`
    select r.id, r.name, r.description, count(w.id) filter (where w.status = 'open')::int as open
    from insight_rules r left join insight_worklist w on w.rule_id = r.id where r.active group by r.id order by r.id`.execute(db);
  const organisationName = organisationNameOf('w.organisation_id');
  const teamName = teamNameOf('w.team_id');
  const byTeam = await sql<{ rule_id: string; organisation: string; team: string | null; open: number }>`
    select w.rule_id, coalesce(${organisationName}, 'No team holds a record') as organisation, ${teamName} as team, count(*)::int as open
    from insight_worklist w
    where w.status = 'open' group by w.rule_id, w.organisation_id, w.team_id order by w.rule_id, ${organisationName}, ${teamName}`.execute(
    db,
  );
  const last = await db.selectFrom('insight_runs').select(['finished_at', 'seconds']).orderBy('id', 'desc').limit(1).executeTakeFirst();
  const shownRules: RuleCount[] = [];
  const shownTeams: TeamCount[] = [];
  for (const r of rules.rows) {
    const teams = byTeam.rows.filter((t) => t.rule_id === r.id);
    const values = [Number(r.open), ...teams.map((t) => Number(t.open))];
    const sums: Sum[] = teams.length > 0 ? [{ total: 0, parts: teams.map((_, i) => i + 1) }] : [];
    const p = protectCells(values, sums);
    shownRules.push({ id: r.id, name: r.name, description: r.description, open: p.cells[0]! });
    teams.forEach((t, i) => shownTeams.push({ ruleId: t.rule_id, organisation: t.organisation, team: t.team, open: p.cells[i + 1]! }));
  }
  return {
    rules: shownRules,
    byTeam: shownTeams,
    lastRun: last ? { finishedAt: last.finished_at ? new Date(last.finished_at) : null, seconds: last.seconds } : null,
  };
}
