// The data-quality pages' forms as Zod schemas, one per form, checked by the routes with
// parseForm: each checks the form's shape (a decision from the two offered, a reason of the
// length the record keeps) with the message the reviewer reads; whether the item is still open,
// and whether the reviewer may see its people, the use cases and the routes' access decision say.
import { z } from 'zod';
import { choiceOf, trimmedText } from '../platform/forms.ts';

/** A reason is kept in full with the decision or the merge, up to 500 characters. */
const REASON_MAX = 500;
const reasonTooLong = `Write the reason in ${REASON_MAX} characters or fewer`;

/**
 * "Are these the same person?": the button pressed, and the reason (needed for "Not the same
 * person"; "same person" is written when none is given for "Same person").
 */
export const reviewDecisionForm = z
  .object({
    decision: choiceOf('Choose “Same person” or “Not the same person”', ['same', 'different']),
    reason: trimmedText.pipe(z.string().max(REASON_MAX, reasonTooLong)),
  })
  .superRefine((form, ctx) => {
    if (form.decision === 'different' && form.reason === '')
      ctx.addIssue({ code: 'custom', path: ['reason'], message: 'Give a reason why these are not the same person' });
  })
  .transform((form) => ({
    decision: form.decision as 'same' | 'different',
    reason: form.reason || (form.decision === 'same' ? 'same person' : ''),
  }));

/** The decision's buttons have no box of their own: a missing choice is shown at the reason, just above them. */
export const REVIEW_DECISION_FIELD_IDS: Readonly<Record<string, string>> = { decision: 'reason' };

/** A reason that must be given: `missing` when empty, the limit's message when too long. */
const requiredReason = (missing: string) => trimmedText.pipe(z.string().min(1, missing).max(REASON_MAX, reasonTooLong));

/** "Merge these two people?": why they are one person. */
export const mergeForm = z.object({ reason: requiredReason('Give a reason why these are one person') });

/** "Undo merge?": why. */
export const undoMergeForm = z.object({ reason: requiredReason('Give a reason for undoing the merge') });
