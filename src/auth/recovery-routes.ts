// "Forgotten your password or locked out?": the page that asks for an email address or username,
// and the page the emailed link opens to choose a new password. The answer to a request is sent
// before anything is looked up (the work goes on after the reply), so it is the same words at the
// same speed whether or not an account exists. Requests are limited per connection here and per
// account in recovery.ts. The token is in the path, but logs name the route, never the path.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, SESSION_COOKIE, viewContext } from '../platform/http.ts';
import { errorForLog } from '../platform/logger.ts';
import { PASSWORD_MIN_LENGTH, PasswordRefused, accountForPasswordLink, setPasswordWithLink } from './account-admin.ts';
import { recoveryIdentifier, requestPasswordReset } from './recovery.ts';
import type { AuthPorts } from './ports.ts';

/** Requests for a link one connection may make in RECOVERY_WINDOW. */
const RECOVERY_REQUESTS_PER_WINDOW = 10;
const RECOVERY_WINDOW = '15 minutes';
/** Requests waiting to be looked up at once, past which new ones are dropped (their answer is the same). */
const MAX_QUEUED_REQUESTS = 1000;

const tokenOf = (request: FastifyRequest) => String((request.params as { token?: string }).token ?? '');
const text = (value: unknown) => (typeof value === 'string' ? value : '');

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
      const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, unknown>;
      const typed = text(body.identifier).slice(0, 300);
      const identifier = recoveryIdentifier(typed);
      if (!identifier) {
        const message = typed.trim()
          ? 'Enter an email address or username without spaces, 254 characters or fewer'
          : 'Enter your email address or username';
        return recoverPage(request, reply, { identifier: typed, error: message }, 400);
      }
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

  function form(request: FastifyRequest, reply: FastifyReply, username: string, token: string, error?: { field: string; message: string }) {
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
    return form(request, reply, account.username, tokenOf(request));
  });

  app.post('/account/reset/:token', async (request, reply) => {
    const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, unknown>;
    const token = tokenOf(request);
    try {
      const done = await setPasswordWithLink(db, token, text(body.password), text(body.confirm), new Date(), 'reset_password');
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
      const account = await accountForPasswordLink(db, token, new Date(), 'reset_password');
      if (!account) return expired(request, reply);
      // What was typed is not shown again: a password is never sent back to the browser.
      return form(request, reply, account.username, token, { field: error.field, message: error.message });
    }
  });
}
