// The page a resident's sign-up link opens (/account/create/:token): they choose a username and a
// password (typed twice) and may give an email address for account emails, with the GOV.UK error
// pattern for every problem at once; the account is made for the person the link was sent for,
// and they are signed in. A used, expired or replaced link, or one whose person has an account by
// now, gets "this link has expired". The token is in the path, but logs name the route only.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { viewContext } from '../platform/http.ts';
import { formBody, parseForm, typedText } from '../platform/forms.ts';
import { appendAudit } from '../audit/index.ts';
import { PASSWORD_MIN_LENGTH } from './account-admin.ts';
import { signUpForm } from './forms.ts';
import { SIGN_UP_LINK_HOURS, SignUpRefused, createResidentAccount, signUpLinkIsUsable, type SignUpFieldError } from './resident-sign-up.ts';

const tokenOf = (request: FastifyRequest) => String((request.params as { token?: string }).token ?? '');
/** parseForm's messages by field, in the form's order, as the page lists the use case's. */
const fieldErrorsOf = (fieldErrors: Record<string, string>) =>
  Object.entries(fieldErrors).map(([field, message]) => ({ field, message }) as SignUpFieldError);

export function registerSignUpRoutes(app: FastifyInstance, signIn: (reply: FastifyReply, userId: string) => Promise<void>): void {
  const db = app.joinery.database.db;

  function expired(request: FastifyRequest, reply: FastifyReply) {
    return reply
      .code(410)
      .header('cache-control', 'no-store')
      .view(
        'resident-sign-up.njk',
        viewContext(request, reply, { title: 'This link has expired', expired: true, hours: SIGN_UP_LINK_HOURS }),
      );
  }

  function form(
    request: FastifyRequest,
    reply: FastifyReply,
    values: { username: string; email: string },
    errors: SignUpFieldError[] = [],
  ) {
    const errorOf = (field: string) => errors.find((e) => e.field === field)?.message;
    return reply
      .code(errors.length ? 400 : 200)
      .header('cache-control', 'no-store')
      .view(
        'resident-sign-up.njk',
        viewContext(request, reply, {
          title: 'Make your Joinery account',
          token: tokenOf(request),
          values,
          errors,
          errorOf,
          minLength: PASSWORD_MIN_LENGTH,
          errorList: errors.map((e) => ({ text: e.message, href: `#${e.field}` })),
        }),
      );
  }

  app.get('/account/create/:token', async (request, reply) => {
    if (!(await signUpLinkIsUsable(db, tokenOf(request)))) return expired(request, reply);
    return form(request, reply, { username: '', email: '' });
  });

  app.post('/account/create/:token', async (request, reply) => {
    const parsed = parseForm(signUpForm, formBody(request));
    if (!parsed.ok) {
      // Passwords are never sent back to the browser; the username and email address are.
      const values = { username: typedText(parsed.values, 'username'), email: typedText(parsed.values, 'email') };
      return form(request, reply, values, fieldErrorsOf(parsed.fieldErrors));
    }
    const input = parsed.value;
    try {
      const made = await createResidentAccount(db, tokenOf(request), input);
      if (!made) return expired(request, reply);
      await appendAudit(db, {
        actorUserId: made.userId,
        actorRole: 'citizen',
        actorOrganisationId: null,
        action: 'sign_in',
        personId: null,
        category: null,
        purpose: null,
        decision: 'success',
        reason: 'signed in on making their account',
      });
      await signIn(reply, made.userId);
      return reply.redirect('/home');
    } catch (error) {
      if (!(error instanceof SignUpRefused)) throw error;
      // Passwords are never sent back to the browser; the username and email address are.
      return form(request, reply, { username: input.username, email: input.email }, error.errors);
    }
  });
}
