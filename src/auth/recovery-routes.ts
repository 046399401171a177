// "Forgotten your password or locked out?": the page that asks for an email address or username,
// and the page the emailed link opens to choose a new password. The answer to a request is sent
// before anything is looked up (the work goes on after the reply), so it is the same words at the
// same speed whether or not an account exists. Requests are limited per connection here and per
// account in recovery.ts. The token is in the path, but logs name the route, never the path.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, SESSION_COOKIE, viewContext } from '../platform/http.ts';
import { errorForLog } from '../platform/logger.ts';
import { formBody, parseForm, typedText } from '../platform/forms.ts';
import { PASSWORD_MIN_LENGTH, PasswordRefused, accountForPasswordLink, setPasswordWithLink } from './account-admin.ts';
import { requestPasswordReset } from './recovery.ts';
import { newPasswordForm, recoverForm } from './forms.ts';
import type { AuthPorts } from './ports.ts';

/** Requests for a link one connection may make in RECOVERY_WINDOW. */
const RECOVERY_REQUESTS_PER_WINDOW = 10;
const RECOVERY_WINDOW = '15 minutes';
/** Requests waiting to be looked up at once, past which new ones are dropped (their answer is the same). */
const MAX_QUEUED_REQUESTS = 1000;

const tokenOf = (request: FastifyRequest) => String((request.params as { token?: string }).token ?? '');

export function registerRecoveryRoutes(app: FastifyInstance, ports: Pick<AuthPorts, 'sendAccountEmail'>): void {
  const db = app.joinery.database.db;

  // The work a request starts after its reply, done one request at a time in the order they came
  // (a flood of requests queues up instead of loading the database at once), and finished before
  // the server closes.
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;
  app.addHook('onClose', async () => {
    await queue;
  });
  function afterReply(work: () => Promise<unknown>): void {
    if (queued >= MAX_QUEUED_REQUESTS) {
      app.log.warn({ queued }, 'password reset requests are arriving faster than they can be handled: one was dropped');
      return;
    }
    queued += 1;
    queue = queue
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(work)
      // Logged by reference only: never the address that was typed.
      .then(
        () => undefined,
        (error: unknown) => app.log.error({ err: errorForLog(error as Error) }, 'a password reset request failed'),
      )
      .finally(() => {
        queued -= 1;
      });
  }

  function recoverPage(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown>, status = 200) {
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .view('account-recover.njk', viewContext(request, reply, { title: 'Forgotten your password or locked out?', ...extra }));
  }

  app.get('/account/recover', async (request, reply) => recoverPage(request, reply, {}));

  app.post(
    '/account/recover',
    {
      config: {
        rateLimit: {
          max: RECOVERY_REQUESTS_PER_WINDOW,
          timeWindow: RECOVERY_WINDOW,
          errorResponseBuilder: () =>
            new HttpError(429, `You have asked for too many links from this connection. Try again in ${RECOVERY_WINDOW}.`),
        },
      },
    },
    async (request, reply) => {
      const form = parseForm(recoverForm, formBody(request));
      if (!form.ok) {
        const typed = typedText(form.values, 'identifier').slice(0, 300);
        return recoverPage(request, reply, { identifier: typed, error: form.errors[0]!.text }, 400);
      }
      const { identifier } = form.value;
      const publicUrl = app.joinery.config.publicUrl;
      afterReply(() => requestPasswordReset(db, ports, identifier, publicUrl));
      return recoverPage(request, reply, { title: 'Check your email', sent: true });
    },
  );

  function expired(request: FastifyRequest, reply: FastifyReply) {
    return reply
      .code(410)
      .header('cache-control', 'no-store')
      .view('set-password.njk', viewContext(request, reply, { title: 'This link has expired', expired: true, reset: true }));
  }

  function passwordForm(
    request: FastifyRequest,
    reply: FastifyReply,
    username: string,
    token: string,
    error?: { field: string; message: string },
  ) {
    return reply
      .code(error ? 400 : 200)
      .header('cache-control', 'no-store')
      .view(
        'set-password.njk',
        viewContext(request, reply, {
          title: 'Choose a new password',
          reset: true,
          username,
          formAction: `/account/reset/${token}`,
          minLength: PASSWORD_MIN_LENGTH,
          error,
        }),
      );
  }

  app.get('/account/reset/:token', async (request, reply) => {
    const account = await accountForPasswordLink(db, tokenOf(request), new Date(), 'reset_password');
    if (!account) return expired(request, reply);
    return passwordForm(request, reply, account.username, tokenOf(request));
  });

  app.post('/account/reset/:token', async (request, reply) => {
    const token = tokenOf(request);
    const form = parseForm(newPasswordForm, formBody(request));
    if (!form.ok) return refused(request, reply, token, { field: Object.keys(form.fieldErrors)[0]!, message: form.errors[0]!.text });
    try {
      const done = await setPasswordWithLink(db, token, form.value.password, form.value.confirm, new Date(), 'reset_password');
      if (!done) return expired(request, reply);
      // Every session of the account has ended, this browser's too: the page after says so.
      if (request.user) {
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        request.user = undefined;
        request.sessionToken = undefined;
      }
      return reply.header('cache-control', 'no-store').view(
        'set-password.njk',
        viewContext(request, reply, {
          title: 'Your password is saved',
          done: true,
          reset: true,
          username: done.username,
        }),
      );
    } catch (error) {
      if (!(error instanceof PasswordRefused)) throw error;
      return refused(request, reply, token, { field: error.field, message: error.message });
    }
  });

  /** The form again with the problem (the link still usable), or the expired page. */
  async function refused(request: FastifyRequest, reply: FastifyReply, token: string, error: { field: string; message: string }) {
    const account = await accountForPasswordLink(db, token, new Date(), 'reset_password');
    if (!account) return expired(request, reply);
    // What was typed is not shown again: a password is never sent back to the browser.
    return passwordForm(request, reply, account.username, token, error);
  }
}
