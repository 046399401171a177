// Installing and reading the plans module's configuration: the outcomes framework, the
// questionnaire definitions and the operating models. All of it is data in the database; the
// defaults below are what a new place starts with, and a place may load its own framework.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { defaultFramework, validateFramework, type OutcomesFramework } from './framework.ts';
import { shippedQuestionnaires } from './instruments.ts';
import { defaultOperatingModels, type OperatingModel, type OperatingModelConfig } from './models.ts';
import { categoryOfQuestionnaire, domainOf, flattenItems, isQuestion, scoringOf, type Questionnaire } from './questionnaire.ts';
import { validatePrefillExpressions } from './prefill.ts';

const installed = new WeakSet<object>();

/** Mappings a questionnaire brings: each domain and each question to outcomes. */
export function questionnaireMappings(
  q: Questionnaire,
): Array<{ source_kind: 'domain' | 'question'; source_code: string; outcome_code: string }> {
  const rows: Array<{ source_kind: 'domain' | 'question'; source_code: string; outcome_code: string }> = [];
  const config = scoringOf(q);
  for (const d of config.domains)
    for (const o of d.outcomes) rows.push({ source_kind: 'domain', source_code: `${q.id}#${d.code}`, outcome_code: o });
  for (const { item } of flattenItems(q.item)) {
    if (!isQuestion(item)) continue;
    const codes = new Set((item.code ?? []).map((c) => c.code));
    // A scored question also evidences its domain's outcomes.
    const domain = domainOf(item);
    if (domain) for (const o of config.domains.find((d) => d.code === domain)?.outcomes ?? []) codes.add(o);
    for (const code of codes) rows.push({ source_kind: 'question', source_code: `${q.id}#${item.linkId}`, outcome_code: code });
  }
  return rows;
}

/** Stores a framework (outcomes and need mappings) and maps every shipped questionnaire to it. */
export async function installFramework(db: Kysely<Database>, framework: OutcomesFramework, placeId: string | null = null): Promise<void> {
  validateFramework(framework);
  await db.transaction().execute(async (trx) => {
    if (placeId) await trx.updateTable('outcome_frameworks').set({ active: false }).where('place_id', '=', placeId).execute();
    await trx
      .insertInto('outcome_frameworks')
      .values({ id: framework.id, name: framework.name, system: framework.system, place_id: placeId, active: true })
      .onConflict((oc) => oc.column('id').doUpdateSet({ name: framework.name, active: true }))
      .execute();
    await trx
      .insertInto('outcomes')
      .values(
        framework.outcomes.map((o, i) => ({ framework_id: framework.id, code: o.code, label: o.label, statement: o.statement, sort: i })),
      )
      .onConflict((oc) =>
        oc.columns(['framework_id', 'code']).doUpdateSet((eb) => ({
          label: eb.ref('excluded.label'),
          statement: eb.ref('excluded.statement'),
          sort: eb.ref('excluded.sort'),
        })),
      )
      .execute();
    const known = new Set(framework.outcomes.map((o) => o.code));
    const rows = [
      ...Object.entries(framework.needs).flatMap(([need, codes]) =>
        codes.map((c) => ({ source_kind: 'need' as const, source_code: need, outcome_code: c })),
      ),
      ...shippedQuestionnaires.flatMap(questionnaireMappings),
    ].filter((r) => known.has(r.outcome_code));
    await trx
      .insertInto('outcome_mappings')
      .values(rows.map((r) => ({ framework_id: framework.id, ...r })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  });
}

/** Idempotent: the default framework, the shipped questionnaires and the default operating models. */
export async function ensurePlansDefaults(db: Kysely<Database>): Promise<void> {
  if (installed.has(db)) return;
  const present = await db.selectFrom('outcome_frameworks').select('id').where('id', '=', defaultFramework.id).executeTakeFirst();
  if (!present) await installFramework(db, defaultFramework);
  for (const q of shippedQuestionnaires) {
    validatePrefillExpressions(q);
    await db
      .insertInto('questionnaires')
      .values({
        id: q.id,
        version: q.version,
        title: q.title,
        category: categoryOfQuestionnaire(q),
        status: q.status,
        definition: JSON.stringify(q),
      })
      .onConflict((oc) => oc.columns(['id', 'version']).doNothing())
      .execute();
  }
  for (const m of defaultOperatingModels) {
    await db
      .insertInto('operating_models')
      .values({ id: m.id, name: m.name, summary: m.summary, config: JSON.stringify(m.config), active: true })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }
  installed.add(db);
}

export interface StoredFramework extends OutcomesFramework {
  placeId: string | null;
}

/** The framework in use: the place's own when it has adopted one, otherwise the default. */
export async function activeFramework(db: Kysely<Database>): Promise<StoredFramework> {
  const row = await db
    .selectFrom('outcome_frameworks')
    .selectAll()
    .where('active', '=', true)
    .orderBy(sql`place_id is null`)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
  if (!row) return { ...defaultFramework, placeId: null };
  const [outcomes, needs] = await Promise.all([
    db.selectFrom('outcomes').select(['code', 'label', 'statement']).where('framework_id', '=', row.id).orderBy('sort').execute(),
    db
      .selectFrom('outcome_mappings')
      .select(['source_code', 'outcome_code'])
      .where('framework_id', '=', row.id)
      .where('source_kind', '=', 'need')
      .execute(),
  ]);
  const needMap: Record<string, string[]> = {};
  for (const n of needs) (needMap[n.source_code] ??= []).push(n.outcome_code);
  return { id: row.id, name: row.name, system: row.system, outcomes, needs: needMap, placeId: row.place_id };
}

export async function outcomeMappings(
  db: Kysely<Database>,
  frameworkId: string,
): Promise<Array<{ sourceKind: string; sourceCode: string; outcomeCode: string }>> {
  const rows = await db
    .selectFrom('outcome_mappings')
    .select(['source_kind', 'source_code', 'outcome_code'])
    .where('framework_id', '=', frameworkId)
    .orderBy('source_kind')
    .orderBy('source_code')
    .execute();
  return rows.map((r) => ({ sourceKind: r.source_kind, sourceCode: r.source_code, outcomeCode: r.outcome_code }));
}

const parseJson = <T>(value: unknown): T => (typeof value === 'string' ? (JSON.parse(value) as T) : (value as T));

/** The latest version of a questionnaire definition. */
export async function loadQuestionnaire(db: Kysely<Database>, id: string): Promise<Questionnaire | undefined> {
  const row = await db
    .selectFrom('questionnaires')
    .select('definition')
    .where('id', '=', id)
    .where('status', '=', 'active')
    .orderBy(sql`length(version)`, 'desc')
    .orderBy('version', 'desc')
    .executeTakeFirst();
  return row ? parseJson<Questionnaire>(row.definition) : undefined;
}

export async function listQuestionnaires(
  db: Kysely<Database>,
): Promise<Array<{ id: string; title: string; category: string; description: string }>> {
  const rows = await db
    .selectFrom('questionnaires')
    .select(['id', 'title', 'category', 'definition'])
    .where('status', '=', 'active')
    .orderBy('title')
    .execute();
  const seen = new Set<string>();
  return rows
    .filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)))
    .map((r) => ({ id: r.id, title: r.title, category: r.category, description: parseJson<Questionnaire>(r.definition).description }));
}

export async function loadOperatingModels(db: Kysely<Database>): Promise<OperatingModel[]> {
  const rows = await db
    .selectFrom('operating_models')
    .select(['id', 'name', 'summary', 'config'])
    .where('active', '=', true)
    .orderBy('name')
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, summary: r.summary, config: parseJson<OperatingModelConfig>(r.config) }));
}

export { parseJson };
