// Runs the case-finding rules: each active rule (from insight_rules) is compiled and its matches
// become worklist entries for the team of an organisation that already holds a record on the
// person (a legitimate relationship). Analysts see entries by pseudonym and matched facts only;
// the team opens the person through the access decision.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import { silentProgress, type Progress } from '../platform/progress.ts';
import { compileRule, parseRuleDefinition, type RuleDefinition } from './rules.ts';
import { pseudonymKey, pseudonymSql } from './pseudonym.ts';

export interface RuleRunResult { ruleId: string; name: string; matched: number; seconds: number }
export interface CaseFindingRun { runId: number; rules: RuleRunResult[]; entries: number; seconds: number }

export async function loadRules(db: Kysely<Database>, activeOnly = true): Promise<Array<{ id: string; name: string; description: string; definition: RuleDefinition; active: boolean }>> {
  let q = db.selectFrom('insight_rules').select(['id', 'name', 'description', 'definition', 'active']).orderBy('id');
  if (activeOnly) q = q.where('active', '=', true);
  const rows = await q.execute();
  return rows.map((r) => ({ ...r, definition: parseRuleDefinition(r.definition) }));
}

/** Runs every active rule (or those named), replacing each rule's open entries; dismissed and done entries are kept and not re-raised. */
export async function runCaseFinding(db: Kysely<Database>, options: { asOf?: Date; ruleIds?: string[]; progress?: Progress } = {}): Promise<CaseFindingRun> {
  const started = Date.now();
  const asOf = options.asOf ?? new Date();
  const progress = options.progress ?? silentProgress;
  const rules = (await loadRules(db)).filter((r) => !options.ruleIds || options.ruleIds.includes(r.id));
  const key = await pseudonymKey(db);
  const run = await db.insertInto('insight_runs').values({ started_at: new Date(), rules: rules.length, entries: 0 }).returning('id').executeTakeFirstOrThrow();
  const runId = Number(run.id);
  progress.setTotal(rules.length);
  const results: RuleRunResult[] = [];
  let done = 0;
  for (const rule of rules) {
    progress.update(done, rule.name);
    const t0 = Date.now();
    const kinds = rule.definition.assignTo.organisationKinds;
    const matched = await db.transaction().execute(async (trx) => {
      // Short analytic queries: compiling them to machine code costs more than it saves.
      await sql`set local jit = off`.execute(trx);
      await trx.deleteFrom('insight_worklist').where('rule_id', '=', rule.id).where('status', '=', 'open').execute();
      const result = await sql`
        insert into insight_worklist (run_id, rule_id, person_id, pkey, organisation_id, team_id, facts, found_at)
        select ${runId}, ${rule.id}, m.person_id, ${pseudonymSql(key, sql`m.person_id`)}, a.organisation_id, a.team_id, m.facts, ${new Date()}
        from (${compileRule(rule.definition, asOf)}) m
        left join lateral (
          select o.id as organisation_id, (select min(t.id) from teams t where t.organisation_id = o.id) as team_id
          from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
          where l.person_id = m.person_id and l.superseded_at is null and o.kind = any(${kinds}::text[])
          order by array_position(${kinds}::text[], o.kind), o.id limit 1
        ) a on true
        where not exists (select 1 from insight_worklist w where w.rule_id = ${rule.id} and w.person_id = m.person_id and w.status <> 'open')`.execute(trx);
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

export interface WorklistEntry { id: number; ruleId: string; ruleName: string; personId: string; pkey: string; facts: string[]; foundAt: Date; organisation: string | null; team: string | null; status: string }

function factsOf(v: unknown): string[] {
  const parsed = typeof v === 'string' ? JSON.parse(v) as unknown : v;
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

/** A team's (or organisation's) open entries: what matched, never names. */
export async function worklistFor(db: Kysely<Database>, scope: { organisationId: string; teamId?: string | null }, limit = 200): Promise<WorklistEntry[]> {
  let q = db.selectFrom('insight_worklist as w').innerJoin('insight_rules as r', 'r.id', 'w.rule_id')
    .leftJoin('organisations as o', 'o.id', 'w.organisation_id').leftJoin('teams as t', 't.id', 'w.team_id')
    .select(['w.id', 'w.rule_id', 'r.name as rule_name', 'w.person_id', 'w.pkey', 'w.facts', 'w.found_at', 'o.name as organisation', 't.name as team', 'w.status'])
    .where('w.organisation_id', '=', scope.organisationId).where('w.status', '=', 'open');
  if (scope.teamId) q = q.where((eb) => eb.or([eb('w.team_id', '=', scope.teamId!), eb('w.team_id', 'is', null)]));
  const rows = await q.orderBy('w.rule_id').orderBy('w.id').limit(limit).execute();
  return rows.map((r) => ({ id: Number(r.id), ruleId: r.rule_id, ruleName: r.rule_name, personId: r.person_id, pkey: r.pkey, facts: factsOf(r.facts), foundAt: new Date(r.found_at), organisation: r.organisation, team: r.team, status: r.status }));
}

/** For analysts: counts per rule and team, and a sample of entries by pseudonym (no person ids, no names). */
export async function worklistSummary(db: Kysely<Database>): Promise<{ rules: Array<{ id: string; name: string; description: string; open: number }>; byTeam: Array<{ ruleId: string; organisation: string; team: string | null; open: number }>; sample: Array<{ ruleId: string; pkey: string; facts: string[]; team: string | null }>; lastRun: { finishedAt: Date | null; seconds: number | null } | null }> {
  const rules = await sql<{ id: string; name: string; description: string; open: number }>`
    select r.id, r.name, r.description, count(w.id) filter (where w.status = 'open')::int as open
    from insight_rules r left join insight_worklist w on w.rule_id = r.id where r.active group by r.id order by r.id`.execute(db);
  const byTeam = await sql<{ rule_id: string; organisation: string; team: string | null; open: number }>`
    select w.rule_id, coalesce(o.name, 'No team holds a record') as organisation, t.name as team, count(*)::int as open
    from insight_worklist w left join organisations o on o.id = w.organisation_id left join teams t on t.id = w.team_id
    where w.status = 'open' group by w.rule_id, o.name, t.name order by w.rule_id, count(*) desc limit 60`.execute(db);
  const sample = await sql<{ rule_id: string; pkey: string; facts: unknown; team: string | null }>`
    select s.rule_id, s.pkey, s.facts, s.team from (
      select w.rule_id, w.pkey, w.facts, t.name as team, row_number() over (partition by w.rule_id order by w.pkey) as k
      from insight_worklist w left join teams t on t.id = w.team_id where w.status = 'open') s
    where s.k <= 5 order by s.rule_id, s.pkey`.execute(db);
  const last = await db.selectFrom('insight_runs').select(['finished_at', 'seconds']).orderBy('id', 'desc').limit(1).executeTakeFirst();
  return {
    rules: rules.rows.map((r) => ({ ...r, open: Number(r.open) })),
    byTeam: byTeam.rows.map((r) => ({ ruleId: r.rule_id, organisation: r.organisation, team: r.team, open: Number(r.open) })),
    sample: sample.rows.map((r) => ({ ruleId: r.rule_id, pkey: r.pkey, facts: factsOf(r.facts), team: r.team })),
    lastRun: last ? { finishedAt: last.finished_at ? new Date(last.finished_at) : null, seconds: last.seconds } : null,
  };
}
