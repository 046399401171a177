// The plan pages' forms as Zod schemas, one per form, checked by the routes with parseForm before
// any use case runs: each checks the form's shape (text lengths, real dates, numbers on their
// scale) with the message the person filling it in reads; what depends on the records (is the
// organisation real, is the goal in this plan, may this user act on this person) stays with the
// use cases, which decide access themselves.
import { z } from 'zod';
import { checkboxes, choiceOf, optionalDate, optionalId, optionalText, requiredDate, requiredText, ticked } from '../platform/forms.ts';
import { placeGoalAnswersFrom } from './place-goal-answers.ts';

/** "Start a plan": its name, household members who agreed, strengths, connections and the first review. */
export const newPlanForm = z.object({
  title: requiredText('Give the plan a name of 3 to 200 characters', { min: 3, max: 200 }),
  members: checkboxes,
  memberConsent: ticked(),
  strengths: optionalText('Describe the strengths in 2,000 characters or fewer', { max: 2000 }),
  connections: optionalText('Describe the people and places that help in 2,000 characters or fewer', { max: 2000 }),
  nextReviewOn: optionalDate('Enter the first review date as a real date'),
});

/** "Add a goal": in the person's words, the outcomes it works towards, and whose goal it is. */
export const goalForm = z.object({
  goalText: requiredText('Write the goal in 3 to 500 characters', { min: 3, max: 500 }),
  outcomes: checkboxes.pipe(z.array(z.string()).min(1, 'Choose at least one outcome this goal works towards')),
  goalPerson: optionalId,
  back: optionalId,
});

/** "Add an action": what will be done, by when, by which organisation, towards which goal. */
export const actionForm = z.object({
  description: requiredText('Describe the action in 3 to 500 characters', { min: 3, max: 500 }),
  dueOn: requiredDate('Enter the date the action is due', 'Enter the due date as a real date'),
  assignedOrganisationId: requiredText('Choose the organisation that will do this', { max: 100 }),
  goalId: optionalId,
  back: optionalId,
});

/** The plan page a form came from (a household member's page), where the person goes back to. */
export const backForm = z.object({ back: optionalId });

const GOAL_SCORE = /^goal-(.+)$/;
const GAS_LEVEL = /^gas-(.+)$/;

/** Each non-empty `prefix<goal id>` field as a number, keyed by goal id (blank: not discussed). */
function numbersByGoal(body: Record<string, unknown>, pattern: RegExp): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(body)) {
    const m = pattern.exec(key);
    if (m && typeof value === 'string' && value.trim() !== '') out[m[1]!] = Number(value.trim());
  }
  return out;
}

/**
 * "Record a review": its date, a 0 to 10 score (`goal-<id>`) and where each goal stands against what
 * was expected (`gas-<id>`, -2 to 2) for the goals discussed, what the person says about the place's
 * goals (`said-<code>`), what has changed, and the next review. Whether the goals are this plan's,
 * and that the review says something, the use case checks.
 */
export const reviewForm = z
  .looseObject({
    reviewedOn: requiredDate('Enter the review date', 'Enter the review date as a real date'),
    nextReviewOn: optionalDate('Enter the next review date as a real date'),
    note: optionalText('Write what has changed in 2,000 characters or fewer', { max: 2000 }),
    back: optionalId,
  })
  .superRefine((body, ctx) => {
    for (const [goalId, score] of Object.entries(numbersByGoal(body, GOAL_SCORE)))
      if (!Number.isInteger(score) || score < 0 || score > 10)
        ctx.addIssue({ code: 'custom', path: [`goal-${goalId}`], message: 'Score each goal from 0 (not started) to 10 (fully achieved)' });
    for (const [goalId, level] of Object.entries(numbersByGoal(body, GAS_LEVEL)))
      if (!Number.isInteger(level) || level < -2 || level > 2)
        ctx.addIssue({
          code: 'custom',
          path: [`gas-${goalId}`],
          message: 'Choose where the goal stands against what was expected, from the list',
        });
  })
  .transform((body) => ({
    reviewedOn: body.reviewedOn,
    nextReviewOn: body.nextReviewOn,
    note: body.note,
    back: body.back,
    scores: numbersByGoal(body, GOAL_SCORE),
    gas: numbersByGoal(body, GAS_LEVEL),
    said: placeGoalAnswersFrom(body),
  }));

/** One value as typed (untrimmed: an answer is the use case's to read), the first of a repeated field. */
const asTyped = (value: unknown): string =>
  typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : '';

/**
 * An assessment (or its draft): each question's answer as typed (`q-<linkId>`) and the questions
 * the page asked (`asked`). Whether an answer fits its question, the use case checks against the
 * questionnaire, one message a question.
 */
export function assessmentForm(linkIds: readonly string[]) {
  return z.looseObject({ asked: checkboxes }).transform((body) => ({
    asked: body.asked,
    answers: Object.fromEntries(linkIds.map((linkId) => [linkId, asTyped(body[`q-${linkId}`])])),
  }));
}

/** The review form's fields whose input has another id on the page (two forms there ask for a next review). */
export const REVIEW_FIELD_IDS: Readonly<Record<string, string>> = { nextReviewOn: 'reviewNextOn' };

/** "Set up an integrated team": its name, where it is based, and the manager's own role in it. */
export const newTeamForm = z.object({
  name: requiredText('Give the team a name of 3 to 120 characters', { min: 3, max: 120 }),
  base: optionalText('Say where the team is based in 300 characters or fewer', { max: 300 }),
  roleInTeam: requiredText('Enter your role in the team in 2 to 100 characters', { min: 2, max: 100 }),
});

/** "Add a member" to a team: who, their role, where they are co-located, their line manager, whether they manage it too. */
export const teamMemberForm = z.object({
  practitionerId: requiredText('Choose a practitioner from the list', { max: 100 }),
  roleInTeam: requiredText('Enter their role in the team in 2 to 100 characters', { min: 2, max: 100 }),
  coLocation: optionalText('Enter where they are co-located in 200 characters or fewer', { max: 200 }),
  lineManagerId: optionalText('Choose their line manager from the list', { max: 100 }),
  managesTeam: ticked(),
});

/** "End membership": why it ends. */
export const endMembershipForm = z.object({
  reason: requiredText('Say why the membership ends, in 3 to 200 characters', { min: 3, max: 200 }),
});

/** Feedback on a service: which one, a rating from 1 to 5, a comment, and what the person says about the place's goals (`said-<code>`). */
export const feedbackForm = z
  .looseObject({
    service: requiredText('Choose a service you use', { max: 64 }),
    rating: choiceOf('Choose a rating from 1 to 5', ['1', '2', '3', '4', '5']).transform(Number),
    comment: optionalText('Write your comment in 2,000 characters or fewer', { max: 2000 }),
  })
  .transform((body) => ({ service: body.service, rating: body.rating, comment: body.comment, said: placeGoalAnswersFrom(body) }));
