// The page a one-time link opens: the person sets their own password (typed twice), with the
// GOV.UK error pattern, and is sent to sign in. Anyone holding a valid link may use it once and
// no one else: an unknown, used or expired link gets the same page, which says to ask an
// administrator for a new one. The token is in the path, but logs name the route, never the path.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { viewContext } from '../platform/http.ts';
import { formBody, parseForm } from '../platform/forms.ts';
import { PASSWORD_MIN_LENGTH, PasswordRefused, accountForPasswordLink, setPasswordWithLink } from './account-admin.ts';
import { newPasswordForm } from './forms.ts';

const tokenOf = (request: FastifyRequest) => String((request.params as { token?: string }).token ?? '');

export function registerPasswordLinkRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  function expired(request: FastifyRequest, reply: FastifyReply) {
    return reply
      .code(410)
      .header('cache-control', 'no-store')
      .view('set-password.njk', viewContext(request, reply, { title: 'This link has expired', expired: true }));
  }

  app.get('/set-password/:token', async (request, reply) => {
    const account = await accountForPasswordLink(db, tokenOf(request));
    if (!account) return expired(request, reply);
    return reply.header('cache-control', 'no-store').view(
      'set-password.njk',
      viewContext(request, reply, {
        title: 'Set your password',
        username: account.username,
        token: tokenOf(request),
        minLength: PASSWORD_MIN_LENGTH,
      }),
    );
  });

  /** The form again with the problem (the link still usable), or the expired page. */
  async function refused(request: FastifyRequest, reply: FastifyReply, token: string, error: { field: string; message: string }) {
    const account = await accountForPasswordLink(db, token);
    if (!account) return expired(request, reply);
    // What was typed is not shown again: a password is never sent back to the browser.
    return reply
      .code(400)
      .header('cache-control', 'no-store')
      .view(
        'set-password.njk',
        viewContext(request, reply, {
          title: 'Error: Set your password',
          username: account.username,
          token,
          minLength: PASSWORD_MIN_LENGTH,
          error,
        }),
      );
  }

  app.post('/set-password/:token', async (request, reply) => {
    const token = tokenOf(request);
    const form = parseForm(newPasswordForm, formBody(request));
    if (!form.ok) return refused(request, reply, token, { field: Object.keys(form.fieldErrors)[0]!, message: form.errors[0]!.text });
    try {
      const done = await setPasswordWithLink(db, token, form.value.password, form.value.confirm);
      if (!done) return expired(request, reply);
      return reply
        .header('cache-control', 'no-store')
        .view('set-password.njk', viewContext(request, reply, { title: 'Your password is set', done: true, username: done.username }));
    } catch (error) {
      if (!(error instanceof PasswordRefused)) throw error;
      return refused(request, reply, token, { field: error.field, message: error.message });
    }
  });
}
