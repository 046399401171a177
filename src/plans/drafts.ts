// Assessments in progress, kept on the server: one draft per author, person and instrument,
// saved as the practitioner goes (each change, or "Save and come back later"), so a session that
// times out, a closed laptop or a lost connection loses nothing. A draft is the author's own
// working copy: only they get it back, and only while the access decision still lets them assess
// the person. It is deleted when the assessment is saved (assessments.ts) or discarded.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideRecordAccess, type Category } from '../consent/index.ts';
import { categoryOfQuestionnaire, flattenItems, isQuestion, type Questionnaire } from './questionnaire.ts';
import { AccessRefused, purposeFor } from './assessments.ts';
import { parseJson } from './store.ts';

export interface Draft {
  answers: Record<string, string>;
  asked: string[];
  savedAt: Date;
}

async function mayAssess(
  db: Kysely<Database>,
  actor: SignedInUser,
  personId: string,
  q: Questionnaire,
  action: 'read' | 'write',
): Promise<void> {
  const access = await decideRecordAccess(db, {
    actor,
    personId,
    categories: [categoryOfQuestionnaire(q) as Category],
    purpose: purposeFor(actor),
    action,
  });
  if (!access.allowed) throw new AccessRefused(access.reason);
}

/** Keeps what was typed (the questionnaire's own questions only, each up to 5,000 characters), replacing the author's earlier draft. */
export async function saveDraft(
  db: Kysely<Database>,
  actor: SignedInUser,
  personId: string,
  q: Questionnaire,
  raw: Record<string, string>,
  asked: string[],
  now: Date = new Date(),
): Promise<Date> {
  await mayAssess(db, actor, personId, q, 'write');
  const linkIds = new Set(
    flattenItems(q.item)
      .filter((f) => isQuestion(f.item))
      .map((f) => f.item.linkId),
  );
  const answers = Object.fromEntries(
    Object.entries(raw)
      .filter(([k, v]) => linkIds.has(k) && typeof v === 'string' && v !== '')
      .map(([k, v]) => [k, v.slice(0, 5000)]),
  );
  const row = {
    author_user_id: actor.id,
    person_id: personId,
    questionnaire_id: q.id,
    questionnaire_version: q.version,
    answers: JSON.stringify(answers),
    asked: asked.filter((a) => linkIds.has(a)),
    saved_at: now,
  };
  await db
    .insertInto('assessment_drafts')
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(['author_user_id', 'person_id', 'questionnaire_id'])
        .doUpdateSet({ questionnaire_version: row.questionnaire_version, answers: row.answers, asked: row.asked, saved_at: now }),
    )
    .execute();
  return now;
}

/** The author's own draft, if any, while they may still assess the person. */
export async function draftFor(db: Kysely<Database>, actor: SignedInUser, personId: string, q: Questionnaire): Promise<Draft | null> {
  const row = await db
    .selectFrom('assessment_drafts')
    .select(['answers', 'asked', 'saved_at'])
    .where('author_user_id', '=', actor.id)
    .where('person_id', '=', personId)
    .where('questionnaire_id', '=', q.id)
    .executeTakeFirst();
  if (!row) return null;
  await mayAssess(db, actor, personId, q, 'read');
  return { answers: parseJson<Record<string, string>>(row.answers), asked: row.asked, savedAt: new Date(row.saved_at) };
}

/** Throws the author's draft away; false when there was none. */
export async function discardDraft(db: Kysely<Database>, actor: SignedInUser, personId: string, questionnaireId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('assessment_drafts')
    .where('author_user_id', '=', actor.id)
    .where('person_id', '=', personId)
    .where('questionnaire_id', '=', questionnaireId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
