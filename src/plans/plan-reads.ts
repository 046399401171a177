// Small reads of plans for another module's use cases (FHIR's CarePlan, Goal and
// QuestionnaireResponse writes): whose plan it is, who is part of it, which plans are active,
// the operating model a person is enrolled in, and a form by its canonical url. These only fetch:
// callers hold the access decision for the person first.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** The person the plan is about, or undefined when there is no such plan. */
export async function planPersonId(db: Kysely<Database>, planId: string): Promise<string | undefined> {
  return (await db.selectFrom('plans').select('person_id').where('id', '=', planId).executeTakeFirst())?.person_id;
}

/** Whether the person is a member of the plan (its subject, or a household member on it). */
export async function isPlanMember(db: Kysely<Database>, planId: string, personId: string): Promise<boolean> {
  const row = await db
    .selectFrom('plan_members')
    .select('plan_id')
    .where('plan_id', '=', planId)
    .where('person_id', '=', personId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Of these plans, the ids of the active ones. */
export async function activePlanIds(db: Kysely<Database>, planIds: readonly string[]): Promise<string[]> {
  if (planIds.length === 0) return [];
  const rows = await db
    .selectFrom('plans')
    .select('id')
    .where('id', 'in', [...planIds])
    .where('status', '=', 'active')
    .execute();
  return rows.map((r) => r.id);
}

/** The person's current enrolment in an operating model (the latest not ended), or undefined. */
export async function currentEnrolmentOf(db: Kysely<Database>, personId: string): Promise<{ id: string; modelId: string } | undefined> {
  const row = await db
    .selectFrom('model_enrolments')
    .select(['id', 'model_id'])
    .where('person_id', '=', personId)
    .where('ended_at', 'is', null)
    .orderBy('enrolled_at', 'desc')
    .executeTakeFirst();
  return row ? { id: row.id, modelId: row.model_id } : undefined;
}

/** The id of the questionnaire whose definition has this canonical url, or undefined. */
export async function questionnaireIdByUrl(db: Kysely<Database>, url: string): Promise<string | undefined> {
  return (
    await db
      .selectFrom('questionnaires')
      .select('id')
      .where(sql<string>`definition->>'url'`, '=', url)
      .executeTakeFirst()
  )?.id;
}
