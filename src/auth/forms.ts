// The administrators' account forms as Zod schemas, one per form, checked by the routes with
// parseForm after the role check: each checks the form's shape with the message the
// administrator reads. What depends on the records (is the username free, is the organisation
// real, is the team one of it) createAccountWithLink checks, after the form is well formed.
import { z } from 'zod';
import { creatableRoles, type NewAccountInput } from './account-admin.ts';

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
