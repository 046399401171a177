// The consent pages' small forms as Zod schemas, one per form, checked by the routes with
// parseForm (the sharing choice's schema is in directives.ts, a correction request's in
// corrections.ts): each checks the form's shape with the message the person filling it in reads;
// whether the request, grant or record is theirs to answer the use cases decide.
import { z } from 'zod';
import { choiceOf, trimmedText } from '../platform/forms.ts';

/** Text as typed (not trimmed: the use case reads it), or empty. */
const asTyped = z.preprocess((value) => (typeof value === 'string' ? value : ''), z.string());

/** Text up to `max` characters, trimmed; longer is cut, as these forms always did (their fields say how long). */
const cutTo = (max: number) => trimmedText.transform((text) => text.slice(0, max));

/** A data owner's answer to a correction request: corrected (which field, to what) or declined, and a note. */
export const correctionAnswerForm = z.object({
  outcome: choiceOf('Choose whether you corrected the record or declined', ['corrected', 'declined']).transform(
    (outcome) => outcome as 'corrected' | 'declined',
  ),
  note: asTyped,
  target: asTyped,
  value: asTyped,
});

/** A privacy officer's review of an emergency access: appropriate or not, and a note. */
export const breakGlassReviewForm = z.object({
  outcome: choiceOf('Choose whether the emergency access was appropriate', ['appropriate', 'inappropriate']).transform(
    (outcome) => outcome as 'appropriate' | 'inappropriate',
  ),
  note: cutTo(2000),
});

/** The data owner's answer to a restriction or erasure request, and a note. */
export const rightsAnswerForm = z.object({
  outcome: choiceOf('Choose your answer', ['restricted', 'erased', 'refused']).transform(
    (outcome) => outcome as 'restricted' | 'erased' | 'refused',
  ),
  note: cutTo(2000),
});

/** A person's objection to being found by case finding: why, if they say. */
export const caseFindingObjectionForm = z.object({ reason: cutTo(500) });
