// Person-reported measures for each place goal (issue 22). Each place-wide goal is an "I"
// statement ("I can see services working together on what matters to me"); people say how far
// they agree at a plan review (the practitioner records it with them) or when they give feedback on
// a service (in their own words, or a parent or carer acting for them). The insight refresh counts
// the people who agree at their latest answer, split by deprivation like every other measure.
// Callers decide access to the person before recording (the review's plan, the feedback's
// subject) and pass the transaction the answers are written in with the review or feedback.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { RefusedInput } from '../platform/refused.ts';
import { activeFramework } from './store.ts';

/** The answer scale, 1 to 5; 4 and 5 count as agreeing. */
export const AGREEMENT = [
  { value: 1, text: 'Strongly disagree' },
  { value: 2, text: 'Disagree' },
  { value: 3, text: 'Neither agree nor disagree' },
  { value: 4, text: 'Agree' },
  { value: 5, text: 'Strongly agree' },
] as const;

/** An answer refused: not on the scale, or not a place goal. Nothing is saved. */
export class PlaceGoalAnswerRefused extends RefusedInput {
  readonly field: string;
  constructor(field: string, message: string) {
    super(400, message);
    this.field = field;
  }
}

export interface PlaceGoalQuestion {
  code: string;
  label: string;
  statement: string;
}

/** The place's goals as questions, in the framework's order. */
export async function placeGoalQuestions(db: Kysely<Database>): Promise<PlaceGoalQuestion[]> {
  return (await activeFramework(db)).outcomes.map((o) => ({ code: o.code, label: o.label, statement: o.statement }));
}

/** Pure: the answers in a form body (fields `said-<goal code>`; blank ones were not asked or not answered). */
export function placeGoalAnswersFrom(body: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(body)) {
    const m = /^said-([A-Za-z0-9_-]{1,40})$/.exec(key);
    if (m && typeof value === 'string' && value !== '') out[m[1]!] = Number(value);
  }
  return out;
}

/** Checks answers against the scale and the place's goals (refused: nothing is saved). */
export async function checkPlaceGoalAnswers(db: Kysely<Database>, answers: Record<string, number>): Promise<Array<[string, number]>> {
  const codes = new Set((await placeGoalQuestions(db)).map((q) => q.code));
  const entries = Object.entries(answers);
  for (const [code, answer] of entries) {
    if (!codes.has(code)) throw new PlaceGoalAnswerRefused(`said-${code}`, 'Answer only the place goals listed');
    if (!Number.isInteger(answer) || answer < 1 || answer > 5)
      throw new PlaceGoalAnswerRefused(`said-${code}`, 'Choose how far the person agrees from the list');
  }
  return entries;
}

/**
 * Records a person's answers, in the caller's transaction. Who recorded them is kept: the person
 * themselves, a parent or carer acting for them, or a practitioner asking them at a review.
 */
export async function recordPlaceGoalAnswers(
  trx: Transaction<Database>,
  actor: Pick<SignedInUser, 'id' | 'role' | 'personId'>,
  input: {
    personId: string;
    answers: ReadonlyArray<[string, number]>;
    source: 'review' | 'feedback';
    reviewId?: string | null;
    serviceId?: string | null;
  },
  now: Date = new Date(),
): Promise<number> {
  if (input.answers.length === 0) return 0;
  const recordedFor = actor.role === 'citizen' ? (actor.personId === input.personId ? 'person' : 'proxy') : 'practitioner';
  await trx
    .insertInto('place_goal_answers')
    .values(
      input.answers.map(([code, answer]) => ({
        person_id: input.personId,
        outcome_code: code,
        answer,
        source: input.source,
        review_id: input.reviewId ?? null,
        service_id: input.serviceId ?? null,
        recorded_for: recordedFor,
        recorded_by: actor.id,
        answered_at: now,
      })),
    )
    .execute();
  return input.answers.length;
}

export interface PlaceGoalAnswer {
  personId: string;
  code: string;
  /** The date of the person's latest answer on this goal. */
  answeredOn: string;
  answer: number;
}

/** Every person's latest answer on each place goal (for the insight refresh, which pseudonymises them at once). */
export async function latestPlaceGoalAnswers(db: Kysely<Database>): Promise<PlaceGoalAnswer[]> {
  const rows = await db
    .selectFrom('place_goal_answers')
    .select(['person_id', 'outcome_code', 'answered_at', 'answer'])
    .distinctOn(['person_id', 'outcome_code'])
    .orderBy('person_id')
    .orderBy('outcome_code')
    .orderBy('answered_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map((r) => ({
    personId: r.person_id,
    code: r.outcome_code,
    answeredOn: new Date(r.answered_at).toISOString().slice(0, 10),
    answer: Number(r.answer),
  }));
}

/** A person's own answers, newest first (shown back to them beside their feedback). */
export async function placeGoalAnswersOf(
  db: Kysely<Database>,
  personId: string,
): Promise<Array<{ code: string; answer: number; answeredAt: Date; source: string }>> {
  const rows = await db
    .selectFrom('place_goal_answers')
    .select(['outcome_code', 'answer', 'answered_at', 'source'])
    .where('person_id', '=', personId)
    .orderBy('answered_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map((r) => ({ code: r.outcome_code, answer: Number(r.answer), answeredAt: new Date(r.answered_at), source: r.source }));
}
