// The referral pages' forms as Zod schemas, one per form, checked by the routes with parseForm:
// each checks the form's shape (a choice from the options, text lengths, a real date) with the
// message the person filling it in reads. Whether the service, practitioner or step is real and
// may be used, and whether this user may act at all, the use cases decide (they decide access).
import { z } from 'zod';
import { checkboxes, choiceOf, optionalText, requiredText, ticked, trimmedText } from '../platform/forms.ts';
import { readDateInput } from '../platform/date-input.ts';
import { isCategory } from '../consent/index.ts';
import { isContactMethod, urgencies, type ReferralAction } from './state.ts';
import { parseContact, type FieldError, type SelfReferralInput } from './self-referral.ts';
import type { SelfAssessmentInput } from './self-assessment.ts';

const ID = /^[A-Za-z0-9_-]{1,80}$/;

/** "Refer to a service": the practitioner's referral of a person (who it is for comes from the page's address). */
export const referralForm = z
  .object({
    service: trimmedText.pipe(z.string().regex(ID, 'Choose the service to refer to')),
    reason: requiredText('Say why you are referring, in a sentence or two', { min: 5, max: Infinity }).pipe(
      z.string().max(2000, 'Say why you are referring in 2,000 characters or fewer'),
    ),
    urgency: choiceOf('Choose how urgent this is', urgencies),
    consent: choiceOf('Say whether the person agrees to share their information with this service', ['given', 'not_given']),
    categories: checkboxes.pipe(z.array(z.string()).refine((cats) => cats.every(isCategory), 'Choose information from the list')),
    words: optionalText("Write the person's own words in 2,000 characters or fewer", { max: 2000 }),
    consent_evidence: optionalText('Say how they agreed in 300 characters or fewer', { max: 300 }),
    onward_consent: ticked(),
    step: trimmedText.pipe(z.string().regex(/^(?:\d{1,12}:[a-z0-9-]{1,40})?$/, 'Choose a pathway step from the list')),
  })
  .superRefine((form, ctx) => {
    if (form.consent === 'given' && form.categories.length === 0)
      ctx.addIssue({ code: 'custom', path: ['categories'], message: 'Choose what the person agrees to share' });
  })
  .transform((form) => {
    const step = /^(\d{1,12}):([a-z0-9-]{1,40})$/.exec(form.step);
    return {
      serviceId: form.service,
      reason: form.reason,
      personWords: form.words,
      urgency: form.urgency as (typeof urgencies)[number],
      consent: form.consent as 'given' | 'not_given',
      categories: form.consent === 'given' ? [...new Set(form.categories.filter(isCategory))] : [],
      consentEvidence: form.consent_evidence,
      onwardConsent: form.onward_consent,
      journeyStep: step ? { journeyId: Number(step[1]), stepCode: step[2]! } : null,
    };
  });

const acknowledge: ReferralAction = { kind: 'acknowledge' };
const assignTo = (practitionerId: string): ReferralAction => ({ kind: 'assign', practitionerId });

/** The inbox's bulk action on the referrals ticked: acknowledge them, or assign them to a practitioner. */
export const bulkReferralForm = z
  .object({
    action: choiceOf('Choose what to do with the selected referrals.', ['acknowledge', 'assign']),
    ids: checkboxes.pipe(
      z
        .array(z.string())
        .transform((ids) => ids.filter((id) => ID.test(id)).slice(0, 200))
        .refine((ids) => ids.length > 0, 'Select at least one referral.'),
    ),
    practitioner: trimmedText,
    // The inbox's filters, to go back to the same list.
    back: trimmedText.transform((back) => (/^[a-z0-9=&_%-]{0,300}$/i.test(back) ? back : '')),
  })
  .superRefine((form, ctx) => {
    if (form.action === 'assign' && !ID.test(form.practitioner))
      ctx.addIssue({ code: 'custom', path: ['practitioner'], message: 'Choose a practitioner to assign the selected referrals to.' });
  })
  .transform((form) => ({
    ids: form.ids,
    back: form.back,
    action: form.action === 'assign' ? assignTo(form.practitioner) : acknowledge,
  }));

const note = (what: string) => optionalText(`Write ${what} in 1,000 characters or fewer`, { max: 1000 }).transform((text) => text ?? '');

/**
 * A step on a referral (its page's buttons and their small forms), one schema an action. Whether
 * the step can be taken now, by this party, and what each needs (a reason to decline, a practitioner
 * in the organisation), the use case checks.
 */
export const referralActionForms = {
  acknowledge: z.object({}).transform((): ReferralAction => ({ kind: 'acknowledge' })),
  accept: z
    .object({ eligibility_note: note('why you are accepting them') })
    .transform((form): ReferralAction => ({ kind: 'accept', eligibilityNote: form.eligibility_note })),
  start: z.looseObject({ method: trimmedText }).transform((form, ctx): ReferralAction => {
    const date = readDateInput(form, 'contact', 'The date of first contact');
    if (date.kind !== 'date') {
      ctx.addIssue({
        code: 'custom',
        path: ['contact'],
        message: date.kind === 'empty' ? 'Enter the date of first contact' : date.message,
      });
      return z.NEVER;
    }
    if (!isContactMethod(form.method)) {
      ctx.addIssue({ code: 'custom', path: ['method'], message: 'Choose how the first contact was made' });
      return z.NEVER;
    }
    return { kind: 'start', contact: { on: date.iso, method: form.method } };
  }),
  complete: z.object({ note: note('the note') }).transform((form): ReferralAction => ({ kind: 'complete', note: form.note })),
  decline: z.object({ reason: note('the reason'), onward: trimmedText }).transform((form): ReferralAction => ({
    kind: 'decline',
    reason: form.reason,
    onwardServiceId: ID.test(form.onward) && form.onward !== 'none' ? form.onward : null,
    notHandedOn: form.onward === 'none',
  })),
  cancel: z.object({ reason: note('the reason') }).transform((form): ReferralAction => ({ kind: 'cancel', reason: form.reason })),
  assign: z
    .object({ practitioner: trimmedText })
    .transform((form): ReferralAction => ({ kind: 'assign', practitionerId: ID.test(form.practitioner) ? form.practitioner : '' })),
} as const;

/** "Start a pathway" for a person: which one (the use case checks it is one). */
export const pathwayForm = z.object({ pathway: trimmedText });

/** How the receiving team confirmed who follows a request (the use case checks it is one of the ways). */
export const confirmIdentityForm = z.object({ how: trimmedText });

/** A message on a request, from the team or the one who asked (the use case checks its length and says why). */
export const requestMessageForm = z.object({
  message: z.preprocess((value) => (typeof value === 'string' ? value.slice(0, 6000) : ''), z.string()),
});

/** An adult's agreement to a household referral, or its withdrawal. */
export const householdAgreementForm = z.object({
  member: trimmedText.transform((member) => (ID.test(member) ? member : '')),
  agrees: ticked(),
  evidence: optionalText('Say how they agreed in 500 characters or fewer', { max: 500 }).transform((text) => text ?? ''),
});

/**
 * An account that follows a request, made from the emailed link: a username (as typed, lower case),
 * and a password typed twice, exactly as typed. The use case says what is wrong with them, each.
 */
export const requestAccountForm = z.object({
  username: trimmedText.transform((username) => username.slice(0, 100).toLowerCase()),
  password: z.preprocess((value) => (typeof value === 'string' ? value.slice(0, 1000) : ''), z.string()),
  confirm: z.preprocess((value) => (typeof value === 'string' ? value.slice(0, 1000) : ''), z.string()),
});

const SUBMISSION_KEY = /^[a-f0-9-]{36}$/;
const EXPIRED = 'This form has expired. Go back, refresh the page and try again.';
const typedText = (value: unknown, max: number): string => (typeof value === 'string' ? value.trim().slice(0, max) : '');
const typedList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined || value === '' ? [] : [value]);

/**
 * A resident's form's problems as the schema's issues, in the order found (page order): a date's
 * problem names each box that is wrong (['dob', 'month']), so parseForm links the first and the
 * page marks them all.
 */
function report(ctx: z.RefinementCtx, errors: readonly FieldError[]): void {
  for (const e of errors)
    if (e.parts?.length) for (const part of e.parts) ctx.addIssue({ code: 'custom', path: [e.field, part], message: e.text });
    else ctx.addIssue({ code: 'custom', path: [e.field], message: e.text });
}

/**
 * "Ask <service> for help", by a resident themselves: who they are and how to reach them (typed
 * when not signed in), the help they need, how soon, whether it may be passed on, what they
 * share (signed in), and the form's key. Every problem at once, in page order; whether the
 * service takes the request, and for whom, the use case decides.
 */
export function selfReferralForm(serviceId: string, signedIn: boolean, now: Date = new Date()) {
  return z.looseObject({}).transform((body, ctx): SelfReferralInput => {
    const errors: FieldError[] = [];
    const contact = parseContact(body, errors, signedIn, now);
    const help = typedText(body.help, 2000);
    if (help.length < 5) errors.push({ field: 'help', text: 'Tell the service what help you need, in a sentence or two' });
    const urgency = body.urgency === 'soon' ? 'soon' : body.urgency === 'routine' ? 'routine' : null;
    if (!urgency) errors.push({ field: 'urgency', text: 'Choose how soon you need help' });
    const onward = body.onward_consent;
    if (onward !== 'yes' && onward !== 'no')
      errors.push({ field: 'onward_consent', text: 'Say whether the service may pass your request on if it cannot help' });
    const rawCategories = signedIn ? typedList(body.categories) : [];
    const chosen = rawCategories.filter(isCategory);
    if (chosen.length !== rawCategories.length) errors.push({ field: 'categories', text: 'Choose information from the list' });
    const submissionKey = typedText(body.submission, 40);
    if (!SUBMISSION_KEY.test(submissionKey)) errors.push({ field: 'submission', text: EXPIRED });
    report(ctx, errors);
    if (errors.length > 0 || !urgency) return z.NEVER;
    return { serviceId, submissionKey, contact, help, urgency, onwardConsent: onward === 'yes', categories: [...new Set(chosen)] };
  });
}

/**
 * "What matters to you": the kinds of help needed (`needCodes` are the directory taxonomy's
 * terms), what matters in their own words, anything else, how to reach them, whether to keep it
 * as "about me", and the form's key. Every problem at once, in page order.
 */
export function selfAssessmentForm(needCodes: ReadonlySet<string>, now: Date = new Date()) {
  return z.looseObject({}).transform((body, ctx): SelfAssessmentInput => {
    const errors: FieldError[] = [];
    const raw = typedList(body.needs).map(String);
    const needs = [...new Set(raw.filter((n) => needCodes.has(n)))];
    if (raw.length !== needs.length && needs.length === 0) errors.push({ field: 'needs', text: 'Choose help from the list' });
    else if (needs.length === 0) errors.push({ field: 'needs', text: 'Choose at least one kind of help you need' });
    const whatMatters = typedText(body.what_matters, 2000);
    if (whatMatters.length < 3) errors.push({ field: 'what_matters', text: 'Tell us what matters to you, in your own words' });
    const help = typedText(body.help, 2000);
    const contact = parseContact(body, errors, true, now);
    const submissionKey = typedText(body.submission, 40);
    if (!SUBMISSION_KEY.test(submissionKey)) errors.push({ field: 'submission', text: EXPIRED });
    report(ctx, errors);
    if (errors.length > 0) return z.NEVER;
    return { submissionKey, needs, whatMatters, help, contact, saveAboutMe: body.about_me === 'yes' };
  });
}
