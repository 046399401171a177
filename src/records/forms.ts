// The records pages' forms as Zod schemas, one per form, checked by the routes with parseForm
// after the access decision and before any use case runs: each checks the form's shape (text
// lengths, a choice from the list) with the message the person filling it in reads; what depends
// on the records (is the practitioner real and may they join, is the conversation this person's)
// stays with the use cases. The use cases keep their own checks too, for their other callers (the
// FHIR API adds to a network), so the messages here are theirs, word for word.
import { z } from 'zod';
import { requiredText } from '../platform/forms.ts';
import { contactMethods, languages, type CommunicationNeedsInput, type ContactMethod } from './communication-needs.ts';
import { MESSAGE_MAX, TOPIC_MAX } from './messages.ts';
import { typedValues, type EmergencySearchInput } from './emergency-search.ts';
import { readDateInput } from '../platform/date-input.ts';
import { isValidNhsNumber } from '../people/index.ts';

/** "Add someone to the network": the practitioner chosen, their role in the person's care, why they join. */
export const addToNetworkForm = z.object({
  practitioner: requiredText('Choose a practitioner from the list', { max: 64 }),
  role: requiredText('Give their role in this person\'s care, for example "housing support"', { min: 2, max: 80 }),
  reason: requiredText('Say why this person is joining the network, in 5 to 500 characters', { min: 5, max: 500 }),
});

/** "Remove from network": why they leave (the record keeps 200 characters of it, so that is the limit). */
export const leaveNetworkForm = z.object({
  reason: requiredText('Say why this person is leaving the network, in 5 to 200 characters', { min: 5, max: 200 }),
});

/** A message as written: line breaks kept, invisible and control characters taken out, trimmed. */
const messageText = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .replace(/\r\n/g, '\n')
          .replace(/\p{Cf}|[^\P{Cc}\n\t]/gu, '')
          .trim()
      : '',
  z.string(),
);
const tooLong = `Your message must be ${MESSAGE_MAX.toLocaleString('en-GB')} characters or fewer`;
const messageBody = (missing: string) => messageText.pipe(z.string().min(2, missing).max(MESSAGE_MAX, tooLong));

/** "Start a conversation": what it is about (one line) and the message. */
export const newConversationForm = z.object({
  topic: messageText.pipe(
    z
      .string()
      .transform((topic) => topic.replace(/\s+/g, ' '))
      .pipe(
        z
          .string()
          .min(2, 'Enter what your message is about')
          .max(TOPIC_MAX, `What your message is about must be ${TOPIC_MAX} characters or fewer`),
      ),
  ),
  body: messageBody('Write your message'),
});

/** A reply in a conversation, by the person or their care team. */
export const replyForm = z.object({ body: messageBody('Write your message') });

/** "No written reply needed": the reason, which the person reads. */
export const noReplyNeededForm = z.object({ reason: messageBody('Say why no written reply is needed') });

/** One value as typed, the first of a repeated field, trimmed. */
const oneValue = z.preprocess(
  (value) => (typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : '').trim(),
  z.string(),
);

/**
 * "Communication needs": the language (from the list, or another typed in), the help that makes
 * contact work (interpreter, BSL, easy read, large print), and how and when to get in touch. Every
 * problem is found at once (the fields themselves never fail; the rules that tie them together do),
 * so the error summary lists them all in page order.
 */
export const communicationNeedsForm = z
  .object({
    language: oneValue,
    language_other: oneValue.transform((text) => text.replace(/[\p{Cc}\p{Cf}]/gu, '').slice(0, 60)),
    support: z.preprocess(
      (value) => (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string'),
      z.array(z.string()),
    ),
    contact_method: oneValue,
    contact_times: oneValue.transform((text) => text.replace(/[\p{Cc}\p{Cf}]/gu, ' ')),
  })
  .superRefine((form, ctx) => {
    const problem = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
    const language = chosenLanguage(form.language, form.language_other);
    if (form.language === 'other' && language === null) problem('language_other', 'Enter the language you prefer');
    else if (form.language !== '' && form.language !== 'other' && language === null)
      problem('language', 'Choose a language from the list, or choose "Another language"');
    else if (form.support.includes('interpreter') && (language === null || language === 'English'))
      problem('language', 'Choose the language you need an interpreter for');
    if (form.contact_method !== '' && !(contactMethods as readonly string[]).includes(form.contact_method))
      problem('contact_method', 'Choose how you would like to be contacted');
    if (form.contact_times.length > 200) problem('contact_times', 'Best times to contact must be 200 characters or fewer');
  })
  .transform((form): CommunicationNeedsInput => ({
    language: chosenLanguage(form.language, form.language_other),
    interpreter: form.support.includes('interpreter'),
    bsl: form.support.includes('bsl'),
    easyRead: form.support.includes('easy_read'),
    largePrint: form.support.includes('large_print'),
    contactMethod: (form.contact_method || null) as ContactMethod | null,
    contactTimes: form.contact_times || null,
  }));

/** The language chosen from the list, or the one typed in for "Another language"; null for none or one not offered. */
function chosenLanguage(chosen: string, other: string): string | null {
  if (chosen === 'other') return other.length >= 2 ? other : null;
  return (languages as readonly string[]).includes(chosen) ? chosen : null;
}

const normaliseName = (value: string) => value.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();

/**
 * "Emergency access": an NHS number, or a first and last name (any case, extra spaces ignored),
 * and in either case the date of birth, in three boxes (a message names the boxes that are
 * wrong, so they are marked). Every problem at once, in page order.
 */
export function emergencySearchForm(today: Date = new Date()) {
  return z.looseObject({}).transform((body, ctx): EmergencySearchInput => {
    const problem = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const typed = typedValues(body);
    const nhs = typed.nhs.replace(/[\s-]/g, '');
    const givenName = normaliseName(typed.givenName);
    const familyName = normaliseName(typed.familyName);
    if (nhs !== '') {
      if (!/^\d{10}$/.test(nhs) || !isValidNhsNumber(nhs)) problem(['nhs'], 'Enter a real NHS number, like 943 476 5919');
    } else {
      if (givenName.length === 0 || givenName.length > 100) problem(['given-name'], 'Enter their first name, or their NHS number');
      if (familyName.length === 0 || familyName.length > 100) problem(['family-name'], 'Enter their last name, or their NHS number');
    }
    const dob = readDateInput(body, 'dob', 'Date of birth');
    const everyBox = ['day', 'month', 'year'] as const;
    if (dob.kind === 'empty') for (const part of everyBox) problem(['dob', part], 'Enter their date of birth');
    else if (dob.kind === 'error') for (const part of dob.parts) problem(['dob', part], dob.message);
    else if (dob.iso > today.toISOString().slice(0, 10))
      for (const part of everyBox) problem(['dob', part], 'Date of birth must be in the past');
    if (ctx.issues.length > 0 || dob.kind !== 'date') return z.NEVER;
    return nhs !== ''
      ? { nhsNumber: nhs, givenName: null, familyName: null, birthDate: dob.iso }
      : { nhsNumber: null, givenName, familyName, birthDate: dob.iso };
  });
}
