// The account forms as Zod schemas, one per form, checked by the routes with parseForm: the
// administrators' forms (after the role check), and the forms of signing in, making a resident
// account, one's own contact details, choosing a password from a link and asking for one. Each
// checks the form's shape with the message the person reads. What depends on the records (is the
// username free, is the password right, is the organisation real) the use case checks, after the
// form is well formed; where it already has the message for a field (a password too short, an
// email address in the wrong format), the schema only hands the text over, so every problem is
// still listed at once. Text is read up to a bound no real value reaches, so a huge field costs
// no more work (no more password hashing) than a short one.
import { z } from 'zod';
import { sentText } from '../platform/forms.ts';
import { creatableRoles, type NewAccountInput } from './account-admin.ts';
import { recoveryIdentifier } from './recovery.ts';

/** Text as typed, control characters made spaces, trimmed (a repeated field counts as empty). */
const typed = z.preprocess((value) => (typeof value === 'string' ? value.replace(/[\p{Cc}]/gu, ' ').trim() : ''), z.string());

/**
 * "Create an account": name, username, what they do, and for a practitioner or manager where
 * they work. The fields never fail on their own: the checks below find every problem at once,
 * in the order of the form, as the error summary lists them.
 */
export const newAccountForm = z
  .object({
    givenName: typed,
    familyName: typed,
    username: typed.transform((username) => username.toLowerCase()),
    role: typed,
    organisationId: typed,
    teamId: typed,
    jobRole: typed,
    email: typed,
  })
  .superRefine((form, ctx) => {
    const problem = (field: keyof NewAccountInput, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
    if (!form.username) problem('username', 'Enter a username');
    else if (!/^[a-z0-9][a-z0-9._-]{2,63}$/.test(form.username))
      problem(
        'username',
        'A username is 3 to 64 lower-case letters, digits, dots, hyphens or underscores, starting with a letter or digit',
      );
    if (!form.givenName) problem('givenName', 'Enter their first name');
    else if (form.givenName.length > 100) problem('givenName', 'The first name must be 100 characters or fewer');
    if (!form.familyName) problem('familyName', 'Enter their last name');
    else if (form.familyName.length > 100) problem('familyName', 'The last name must be 100 characters or fewer');
    if (!(creatableRoles as readonly string[]).includes(form.role)) return problem('role', 'Choose what they do');
    if (!form.organisationId && (form.role === 'practitioner' || form.role === 'manager'))
      problem(
        'organisationId',
        form.role === 'practitioner' ? 'Choose the organisation they work for' : 'Choose the organisation they manage for',
      );
    else if (form.organisationId.length > 100) problem('organisationId', 'Choose an organisation from the list');
    if (form.role !== 'practitioner') return;
    if (!form.teamId) problem('teamId', 'Choose the team they work in');
    else if (form.teamId.length > 100) problem('teamId', 'Choose a team of the organisation you chose');
    if (form.jobRole && !/^[A-Za-z][A-Za-z0-9 _-]{1,63}$/.test(form.jobRole))
      problem('jobRole', 'A job title is letters, digits, spaces and hyphens, for example: social worker');
    if (form.email.length > 254) problem('email', 'Email address must be 254 characters or fewer');
    else if (form.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(form.email))
      problem('email', 'Enter a work email address in the correct format, like name@example.org');
  })
  .transform((form): NewAccountInput => form);

/** "Disable the account": why (only administrators read it). */
export const disableAccountForm = z.object({
  reason: typed.pipe(z.string().min(1, 'Enter why you are disabling this account').max(500, 'The reason must be 500 characters or fewer')),
});

// A path on this site: one '/' then not another '/' or '\\' (which browsers read as '//', another
// site), and no control characters (browsers drop tab, CR and LF, so '/<tab>/evil.example' is
// '//evil.example'; CR/LF cannot go in a Location header at all).
const SAME_ORIGIN_PATH = /^\/(?![/\\])[^\p{Cc}\\]*$/u;

/** Only same-origin paths are followed after sign-in (no open redirects), checked as sent and percent-decoded. */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2000 || !SAME_ORIGIN_PATH.test(next)) return '/home';
  let decoded: string;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return '/home';
  }
  return SAME_ORIGIN_PATH.test(decoded) ? next : '/home';
}

/** checkEmail's message for an address that is not one. */
const EMAIL_FORMAT = 'Enter an email address in the correct format, like name@example.com';

/** Longest password read (longer than any an account can have): the rest is never hashed. */
const PASSWORD_READ = 1000;

/**
 * "Sign in": the username and password as typed (neither trimmed: signInWithPassword decides what
 * matches) and where to go after, a path on this site or the home page. Both are needed; whether
 * they are right signInWithPassword says, with one answer for every kind of failure.
 */
export const signInForm = z
  .object({
    username: sentText(200),
    password: sentText(PASSWORD_READ),
    next: z.preprocess(safeNextPath, z.string()),
  })
  .superRefine((form, ctx) => {
    if (!form.username || !form.password) ctx.addIssue({ code: 'custom', path: ['username'], message: 'Enter your username and password' });
  });

/**
 * Optional text sent once, at most `max` characters: a field sent twice (which the page never
 * does) gets `message` instead of counting as empty, which would clear what the account keeps.
 */
function onceText(max: number, message: string) {
  return z.preprocess(
    (value) => (value === undefined ? '' : typeof value === 'string' ? value.slice(0, max) : value),
    z.string({ error: message }),
  );
}

/**
 * "Make your Joinery account" (a resident's sign-up link): the username in lower case, the email
 * address, and the password typed twice. Every check is checkSignUp's, which lists every problem
 * at once (a username taken among them); only an email address sent twice is refused here.
 */
export const signUpForm = z.object({
  username: sentText(100).transform((username) => username.trim().toLowerCase()),
  email: onceText(300, EMAIL_FORMAT).transform((email) => email.trim()),
  password: sentText(PASSWORD_READ),
  confirm: sentText(PASSWORD_READ),
});

/**
 * "Your account": the email address and mobile number as typed, and the current password (asked
 * for when the email address changes). changeOwnContactDetails checks them, with their messages;
 * only a field sent twice is refused here.
 */
export const contactDetailsForm = z.object({
  email: onceText(500, EMAIL_FORMAT),
  mobile: onceText(500, 'Enter a mobile phone number, like 07700 900 982 or +44 7700 900 982'),
  currentPassword: sentText(PASSWORD_READ),
});

/** "Set your password" and "Choose a new password": typed twice. checkNewPassword has the messages. */
export const newPasswordForm = z.object({
  password: sentText(PASSWORD_READ),
  confirm: sentText(PASSWORD_READ),
});

/**
 * "Forgotten your password or locked out?": an email address or username, as recoveryIdentifier
 * reads it (trimmed, lower case, one word of 254 characters or fewer). Nothing is looked up here:
 * the answer to a well-formed request is the same whether or not an account uses it.
 */
export const recoverForm = z
  .object({ identifier: sentText(300) })
  .superRefine((form, ctx) => {
    if (recoveryIdentifier(form.identifier)) return;
    const message = form.identifier.trim()
      ? 'Enter an email address or username without spaces, 254 characters or fewer'
      : 'Enter your email address or username';
    ctx.addIssue({ code: 'custom', path: ['identifier'], message });
  })
  .transform((form) => ({ identifier: recoveryIdentifier(form.identifier) }));
