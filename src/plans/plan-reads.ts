// Small reads of plans for another module's use cases (FHIR's CarePlan, Goal and
// QuestionnaireResponse writes): whose plan it is, who is part of it, which plans are active,
// the operating model a person is enrolled in, and a form by its canonical url. These only fetch:
// callers hold the access decision for the person first. And, as tables case-finding's rules
// embed in their one statement, who is enrolled, has a lead practitioner or is on an active plan.
import { sql, type Kysely, type RawBuilder } from 'kysely';
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

/** Kysely: the people currently enrolled in an operating model with a lead practitioner named, as a table of person_id. */
export const peopleWithLeadPractitioner = sql<{ person_id: string }>`(select m.person_id from model_enrolments m
  where m.ended_at is null and m.lead_practitioner_id is not null)`;

/** Kysely: the people currently enrolled in this operating model, as a table of person_id. */
export function peopleEnrolledIn(modelId: string): RawBuilder<{ person_id: string }> {
  return sql<{ person_id: string }>`(select m.person_id from model_enrolments m where m.ended_at is null and m.model_id = ${modelId})`;
}

/** Kysely: the people an active plan is about or includes (a household member on it), as a table of person_id (a person may repeat). */
export const peopleOnActivePlans = sql<{ person_id: string }>`(select pl.person_id from plans pl where pl.status = 'active'
  union all select pm.person_id from plan_members pm join plans pl on pl.id = pm.plan_id where pl.status = 'active')`;
