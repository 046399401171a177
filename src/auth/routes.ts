// Sign-in (password and OIDC) and sign-out pages, and the administrators' accounts pages.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SESSION_COOKIE, viewContext } from '../platform/http.ts';
import { formBody, parseForm, typedText } from '../platform/forms.ts';
import { appendAudit } from '../audit/index.ts';
import { endSession, signInWithPassword, startSession, type SignedInUser } from './accounts.ts';
import { registerAccountAdminRoutes } from './admin-routes.ts';
import { registerAccountRoutes } from './account-routes.ts';
import { registerOidcRoutes } from './oidc-routes.ts';
import { registerRecoveryRoutes } from './recovery-routes.ts';
import { registerSignUpRoutes } from './sign-up-routes.ts';
import { safeNextPath, signInForm } from './forms.ts';
import type { AuthPorts } from './ports.ts';

/** All a disabled account is told: no who, when or why. */
export const DISABLED_ACCOUNT_MESSAGE = 'This account is disabled. Contact your administrator.';

export interface DemoAccountInfo {
  username: string;
  description: string;
}

/** Only same-origin paths are followed after sign-in: the check lives with the sign-in form's schema. */
export { safeNextPath };

/**
 * The one answer to a failed password sign-in, whether the username is unknown, the password
 * wrong or the account locked (even with the right password): a different answer for locked
 * accounts would tell strangers which usernames exist, and one after the right password would
 * let a lock be used to test guesses. So the page says what the lock rule is instead.
 */
export function failedSignInMessage(policy: { maxAttempts: number; lockMinutes: number }): string {
  return `The username or password is not right. After ${policy.maxAttempts} failed attempts in a row, an account is locked for ${policy.lockMinutes} minutes.`;
}

async function beginSession(app: FastifyInstance, reply: FastifyReply, user: Pick<SignedInUser, 'id'>): Promise<void> {
  const { config, database } = app.joinery;
  const { token, expiresAt } = await startSession(database.db, user.id, config.sessionHours);
  reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure: config.secureCookies, path: '/', expires: expiresAt });
}

/** `ports`: what the pages ask of the modules above auth, answered by the composition root (src/app.ts). */
export function registerAuthRoutes(app: FastifyInstance, ports: AuthPorts, demo?: { password: string; accounts: DemoAccountInfo[] }): void {
  const { config, database } = app.joinery;
  const oidcSettings = config.oidc;

  function renderSignIn(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    return reply.code(status).view(
      'sign-in.njk',
      viewContext(request, reply, {
        title: 'Sign in',
        next: safeNextPath((request.query as Record<string, unknown>)?.next),
        oidcEnabled: Boolean(oidcSettings),
        oidcProviderName: oidcSettings?.providerName,
        demoAccounts: demo?.accounts ?? [],
        demoPassword: demo?.password,
        ...extra,
      }),
    );
  }

  app.get('/', async (request, reply) => reply.redirect(request.user ? '/home' : '/sign-in'));

  app.get('/sign-in', async (request, reply) => {
    if (request.user) return reply.redirect('/home');
    return renderSignIn(request, reply);
  });

  app.post('/sign-in', { config: { rateLimit: { max: 20, timeWindow: '1 minute' } } }, async (request, reply) => {
    const form = parseForm(signInForm, formBody(request));
    if (!form.ok) {
      // The username typed is shown again; the password never is.
      const username = typedText(form.values, 'username').slice(0, 200);
      return renderSignIn(request, reply, { error: form.errors[0]!.text, username, next: safeNextPath(form.values.next) }, 400);
    }
    const { username, password, next } = form.value;
    const result = await signInWithPassword(database.db, username, password, {
      maxAttempts: config.signInMaxAttempts,
      lockMinutes: config.signInLockMinutes,
    });
    if (result.outcome === 'signed_in') {
      await appendAudit(database.db, {
        actorUserId: result.user.id,
        actorRole: result.user.role,
        actorOrganisationId: result.user.organisationId,
        action: 'sign_in',
        personId: null,
        category: null,
        purpose: null,
        decision: 'success',
        reason: 'signed in with password',
      });
      await beginSession(app, reply, result.user);
      return reply.redirect(next);
    }
    const policy = { maxAttempts: config.signInMaxAttempts, lockMinutes: config.signInLockMinutes };
    if (result.outcome === 'locked') {
      await appendAudit(database.db, {
        actorUserId: null,
        actorRole: null,
        actorOrganisationId: null,
        action: 'sign_in',
        personId: null,
        category: null,
        purpose: null,
        decision: 'failure',
        reason: result.justLocked ? 'account locked after repeated failures' : 'attempt on a locked account',
      });
      return renderSignIn(request, reply, { error: failedSignInMessage(policy), username, next }, 401);
    }
    if (result.outcome === 'disabled') {
      await appendAudit(database.db, {
        actorUserId: null,
        actorRole: null,
        actorOrganisationId: null,
        action: 'sign_in',
        personId: null,
        category: null,
        purpose: null,
        decision: 'failure',
        reason: 'attempt on a disabled account',
      });
      return renderSignIn(request, reply, { error: DISABLED_ACCOUNT_MESSAGE, username, next }, 403);
    }
    await appendAudit(database.db, {
      actorUserId: null,
      actorRole: null,
      actorOrganisationId: null,
      action: 'sign_in',
      personId: null,
      category: null,
      purpose: null,
      decision: 'failure',
      reason: 'wrong username or password',
    });
    return renderSignIn(request, reply, { error: failedSignInMessage(policy), username, next }, 401);
  });

  app.post('/sign-out', async (request, reply) => {
    if (request.sessionToken) {
      await endSession(database.db, request.sessionToken);
      if (request.user) {
        await appendAudit(database.db, {
          actorUserId: request.user.id,
          actorRole: request.user.role,
          actorOrganisationId: request.user.organisationId,
          action: 'sign_out',
          personId: null,
          category: null,
          purpose: null,
          decision: 'success',
          reason: 'signed out',
        });
      }
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    // The sign-in form shown next belongs to no session (its CSRF token is bound to none).
    request.user = undefined;
    request.sessionToken = undefined;
    return renderSignIn(request, reply, { notice: 'You have signed out.' });
  });

  registerAccountAdminRoutes(app, ports);
  registerAccountRoutes(app, ports);
  registerRecoveryRoutes(app, ports);
  registerSignUpRoutes(app, (reply, userId) => beginSession(app, reply, { id: userId }));

  if (oidcSettings) registerOidcRoutes(app, oidcSettings, (reply, user) => beginSession(app, reply, user), DISABLED_ACCOUNT_MESSAGE, ports);
}
