// Sign-in (password and OIDC) and sign-out pages, and the administrators' accounts pages.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { SESSION_COOKIE, HttpError, viewContext } from '../platform/http.ts';
import { appendAudit } from '../audit/log.ts';
import { endSession, findUserForOidc, signInWithPassword, startSession, type SignedInUser } from './accounts.ts';
import { registerAccountAdminRoutes } from './admin-routes.ts';
import { registerAccountRoutes } from './account-routes.ts';

/** All a disabled account is told: no who, when or why. */
export const DISABLED_ACCOUNT_MESSAGE = 'This account is disabled. Contact your administrator.';

export interface DemoAccountInfo {
  username: string;
  description: string;
}

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

/**
 * The one answer to a failed password sign-in, whether the username is unknown, the password
 * wrong or the account locked (even with the right password): a different answer for locked
 * accounts would tell strangers which usernames exist, and one after the right password would
 * let a lock be used to test guesses. So the page says what the lock rule is instead.
 */
export function failedSignInMessage(policy: { maxAttempts: number; lockMinutes: number }): string {
  return `The username or password is not right. After ${policy.maxAttempts} failed attempts in a row, an account is locked for ${policy.lockMinutes} minutes.`;
}

async function beginSession(app: FastifyInstance, reply: FastifyReply, user: SignedInUser): Promise<void> {
  const { config, database } = app.joinery;
  const { token, expiresAt } = await startSession(database.db, user.id, config.sessionHours);
  reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure: config.secureCookies, path: '/', expires: expiresAt });
}

export function registerAuthRoutes(app: FastifyInstance, demo?: { password: string; accounts: DemoAccountInfo[] }): void {
  const { config, database } = app.joinery;
  let oidcConfiguration: Promise<oidc.Configuration> | undefined;
  const oidcSettings = config.oidc;

  function renderSignIn(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    return reply.code(status).view('sign-in.njk', viewContext(request, reply, {
      title: 'Sign in',
      next: safeNextPath((request.query as Record<string, unknown>)?.next),
      oidcEnabled: Boolean(oidcSettings),
      demoAccounts: demo?.accounts ?? [],
      demoPassword: demo?.password,
      ...extra,
    }));
  }

  app.get('/', async (request, reply) => reply.redirect(request.user ? '/home' : '/sign-in'));

  app.get('/sign-in', async (request, reply) => {
    if (request.user) return reply.redirect('/home');
    return renderSignIn(request, reply);
  });

  app.post(
    '/sign-in',
    { config: { rateLimit: { max: 20, timeWindow: '1 minute' } } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const username = typeof body.username === 'string' ? body.username.slice(0, 200) : '';
      const password = typeof body.password === 'string' ? body.password.slice(0, 1000) : '';
      const next = safeNextPath(body.next);
      if (!username || !password) {
        return renderSignIn(request, reply, { error: 'Enter your username and password', username, next }, 400);
      }
      const result = await signInWithPassword(database.db, username, password, { maxAttempts: config.signInMaxAttempts, lockMinutes: config.signInLockMinutes });
      if (result.outcome === 'signed_in') {
        await appendAudit(database.db, { actorUserId: result.user.id, actorRole: result.user.role, actorOrganisationId: result.user.organisationId, action: 'sign_in', personId: null, category: null, purpose: null, decision: 'success', reason: 'signed in with password' });
        await beginSession(app, reply, result.user);
        return reply.redirect(next);
      }
      const policy = { maxAttempts: config.signInMaxAttempts, lockMinutes: config.signInLockMinutes };
      if (result.outcome === 'locked') {
        await appendAudit(database.db, { actorUserId: null, actorRole: null, actorOrganisationId: null, action: 'sign_in', personId: null, category: null, purpose: null, decision: 'failure', reason: result.justLocked ? 'account locked after repeated failures' : 'attempt on a locked account' });
        return renderSignIn(request, reply, { error: failedSignInMessage(policy), username, next }, 401);
      }
      if (result.outcome === 'disabled') {
        await appendAudit(database.db, { actorUserId: null, actorRole: null, actorOrganisationId: null, action: 'sign_in', personId: null, category: null, purpose: null, decision: 'failure', reason: 'attempt on a disabled account' });
        return renderSignIn(request, reply, { error: DISABLED_ACCOUNT_MESSAGE, username, next }, 403);
      }
      await appendAudit(database.db, { actorUserId: null, actorRole: null, actorOrganisationId: null, action: 'sign_in', personId: null, category: null, purpose: null, decision: 'failure', reason: 'wrong username or password' });
      return renderSignIn(request, reply, { error: failedSignInMessage(policy), username, next }, 401);
    },
  );

  app.post('/sign-out', async (request, reply) => {
    if (request.sessionToken) {
      await endSession(database.db, request.sessionToken);
      if (request.user) {
        await appendAudit(database.db, { actorUserId: request.user.id, actorRole: request.user.role, actorOrganisationId: request.user.organisationId, action: 'sign_out', personId: null, category: null, purpose: null, decision: 'success', reason: 'signed out' });
      }
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    // The sign-in form shown next belongs to no session (its CSRF token is bound to none).
    request.user = undefined;
    request.sessionToken = undefined;
    return renderSignIn(request, reply, { notice: 'You have signed out.' });
  });

  registerAccountAdminRoutes(app);
  registerAccountRoutes(app);

  if (!oidcSettings) return;

  // OpenID Connect (authorisation code + PKCE). The issuer is discovered on first use so a
  // temporarily unreachable identity provider does not stop the service starting.
  const getConfiguration = () => {
    oidcConfiguration ??= oidc.discovery(new URL(oidcSettings.issuer), oidcSettings.clientId, oidcSettings.clientSecret).catch((error: unknown) => {
      oidcConfiguration = undefined;
      throw error;
    });
    return oidcConfiguration;
  };

  app.get('/auth/oidc/login', async (_request, reply) => {
    const configuration = await getConfiguration().catch(() => {
      throw new HttpError(502, 'The sign-in service of your organisation cannot be reached. Try again later.');
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = randomBytes(16).toString('base64url');
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: oidcSettings.redirectUri,
      scope: 'openid email profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const cookie = { httpOnly: true, sameSite: 'lax' as const, secure: config.secureCookies, path: '/auth/oidc', maxAge: 600 };
    reply.setCookie('joinery_oidc', JSON.stringify({ verifier, state }), cookie);
    return reply.redirect(url.href);
  });

  app.get('/auth/oidc/callback', async (request, reply) => {
    const configuration = await getConfiguration();
    let saved: { verifier: string; state: string };
    try {
      saved = JSON.parse(request.cookies.joinery_oidc ?? '');
    } catch {
      throw new HttpError(400, 'Your sign-in took too long or was started elsewhere. Start again.');
    }
    const callbackUrl = new URL(request.url, config.publicUrl);
    let claims: oidc.IDToken | undefined;
    try {
      const tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, { pkceCodeVerifier: saved.verifier, expectedState: saved.state });
      claims = tokens.claims();
    } catch {
      throw new HttpError(400, 'Sign-in with your organisation did not complete. Start again.');
    }
    if (!claims) throw new HttpError(400, 'Your organisation did not send an identity. Start again.');
    const claimed = claims[oidcSettings.usernameClaim];
    const match = await findUserForOidc(database.db, claims.sub, typeof claimed === 'string' ? claimed : undefined);
    reply.clearCookie('joinery_oidc', { path: '/auth/oidc' });
    if (match.outcome === 'unknown') throw new HttpError(403, 'Your organisation account is not set up in Joinery. Ask your administrator.');
    if (match.outcome === 'disabled') {
      await appendAudit(database.db, { actorUserId: null, actorRole: null, actorOrganisationId: null, action: 'sign_in', personId: null, category: null, purpose: null, decision: 'failure', reason: 'attempt on a disabled account with OpenID Connect' });
      throw new HttpError(403, DISABLED_ACCOUNT_MESSAGE);
    }
    const user = match.user;
    await appendAudit(database.db, { actorUserId: user.id, actorRole: user.role, actorOrganisationId: user.organisationId, action: 'sign_in', personId: null, category: null, purpose: null, decision: 'success', reason: 'signed in with OpenID Connect' });
    await beginSession(app, reply, user);
    return reply.redirect('/home');
  });
}
