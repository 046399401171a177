// Signing in through an OpenID provider: an organisation's single sign-on, or NHS login (or one
// like it). Authorisation code flow with PKCE, state and nonce, the provider discovered on first
// use so an unreachable provider does not stop the service starting. The claims are read from the
// ID token and, when the provider has one, its userinfo endpoint (NHS login gives the NHS number
// and proofing level there); oidc.ts decides whose account it is. A refusal gets a page saying
// what to do next, and nothing is created.
import { createPrivateKey, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { HttpError, viewContext } from '../platform/http.ts';
import type { OidcConfig } from '../platform/config.ts';
import { appendAudit } from '../audit/index.ts';
import { signInWithOidc, type OidcClaims } from './oidc.ts';
import type { SignedInUser } from './accounts.ts';
import type { AuthPorts } from './ports.ts';

const FLOW_COOKIE = 'joinery_oidc';

interface Flow {
  verifier: string;
  state: string;
  nonce: string;
}

/**
 * The client proves itself to the token endpoint with a JWT signed by its own private key
 * (private_key_jwt): RS512 for an RSA key, as NHS login asks, ES256 for an EC P-256 key. The key
 * is read at start-up, so a missing or unreadable file stops the server with its name.
 */
function privateKeyJwt(file: string, keyId: string | undefined): oidc.ClientAuth {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`OIDC_CLIENT_PRIVATE_KEY_FILE cannot be read: ${file}`);
  }
  const key = createPrivateKey(pem);
  const algorithm =
    key.asymmetricKeyType === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' }
      : key.asymmetricKeyType === 'ec'
        ? { name: 'ECDSA', namedCurve: 'P-256' }
        : undefined;
  if (!algorithm)
    throw new Error(`OIDC_CLIENT_PRIVATE_KEY_FILE must hold an RSA or EC P-256 private key (${file} holds ${key.asymmetricKeyType})`);
  return oidc.PrivateKeyJwt({ key: key.toCryptoKey(algorithm, false, ['sign']), kid: keyId });
}

function savedFlow(request: FastifyRequest): Flow {
  try {
    const saved = JSON.parse(request.cookies[FLOW_COOKIE] ?? '') as Partial<Flow>;
    if (typeof saved.verifier === 'string' && typeof saved.state === 'string' && typeof saved.nonce === 'string') return saved as Flow;
  } catch {
    // handled below
  }
  throw new HttpError(400, 'Your sign-in took too long or was started elsewhere. Start again.');
}

export function registerOidcRoutes(
  app: FastifyInstance,
  settings: OidcConfig,
  beginSession: (reply: FastifyReply, user: SignedInUser) => Promise<void>,
  disabledMessage: string,
  ports: Pick<AuthPorts, 'confirmIdentityByNhsLogin'>,
): void {
  const { config, database } = app.joinery;
  let configuration: Promise<oidc.Configuration> | undefined;
  const issuer = new URL(settings.issuer);
  // config.ts allows plain http only for a provider on this machine.
  const insecure = issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined;
  const clientAuthentication = settings.clientPrivateKeyFile
    ? privateKeyJwt(settings.clientPrivateKeyFile, settings.clientKeyId)
    : undefined;
  const getConfiguration = () => {
    configuration ??= oidc
      .discovery(issuer, settings.clientId, settings.clientSecret, clientAuthentication, insecure)
      .catch((error: unknown) => {
        configuration = undefined;
        throw error;
      });
    return configuration;
  };
  const unreachable = () => new HttpError(502, 'The sign-in service cannot be reached. Try again later.');

  app.get('/auth/oidc/login', async (_request, reply) => {
    const provider = await getConfiguration().catch(() => {
      throw unreachable();
    });
    const flow: Flow = {
      verifier: oidc.randomPKCECodeVerifier(),
      state: randomBytes(16).toString('base64url'),
      nonce: randomBytes(16).toString('base64url'),
    };
    const parameters: Record<string, string> = {
      redirect_uri: settings.redirectUri,
      scope: settings.scopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    };
    if (settings.vtr) parameters.vtr = settings.vtr;
    const url = oidc.buildAuthorizationUrl(provider, parameters);
    reply.setCookie(FLOW_COOKIE, JSON.stringify(flow), {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.secureCookies,
      path: '/auth/oidc',
      maxAge: 600,
    });
    return reply.redirect(url.href);
  });

  app.get('/auth/oidc/callback', async (request, reply) => {
    const saved = savedFlow(request);
    // Whatever happens next, this flow's state, nonce and verifier are spent.
    reply.clearCookie(FLOW_COOKIE, { path: '/auth/oidc' });
    const provider = await getConfiguration().catch(() => {
      throw unreachable();
    });
    // The redirect URI sent with the code must be the one the flow began with (the provider
    // compares them), whatever host or path a proxy in front made this request arrive on.
    const callbackUrl = new URL(settings.redirectUri);
    callbackUrl.search = new URL(request.url, 'http://localhost').search;
    let claims: OidcClaims;
    try {
      const tokens = await oidc.authorizationCodeGrant(provider, callbackUrl, {
        pkceCodeVerifier: saved.verifier,
        expectedState: saved.state,
        expectedNonce: saved.nonce,
        idTokenExpected: true,
      });
      const idToken = tokens.claims();
      if (!idToken) throw new Error('no ID token');
      claims = { ...idToken };
      if (provider.serverMetadata().userinfo_endpoint) {
        // The ID token's subject must be the userinfo's too (fetchUserInfo checks); its own claims win.
        const userinfo = await oidc.fetchUserInfo(provider, tokens.access_token, idToken.sub);
        claims = { ...userinfo, ...idToken };
      }
    } catch (error) {
      request.log.warn(
        { err: { type: (error as Error).name, code: (error as { code?: string }).code } },
        'an OpenID sign-in did not complete',
      );
      throw new HttpError(400, 'Signing in did not complete. Start again.');
    }
    // Signed in to an account made from a request for help: a P9 proof may make it the person's own (consent decides).
    const current = request.user;
    const unconfirmed =
      current && current.role === 'citizen' && !current.personId
        ? {
            userId: current.id,
            confirm: (trx: Parameters<AuthPorts['confirmIdentityByNhsLogin']>[0], input: { userId: string; personId: string }) =>
              ports.confirmIdentityByNhsLogin(trx, input),
          }
        : undefined;
    const result = await signInWithOidc(database.db, claims, settings.usernameClaim, unconfirmed);
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
        reason: 'attempt on a disabled account with OpenID Connect',
      });
      throw new HttpError(403, disabledMessage);
    }
    if (result.outcome === 'refused') {
      await appendAudit(database.db, {
        actorUserId: null,
        actorRole: null,
        actorOrganisationId: null,
        action: 'sign_in',
        personId: null,
        category: null,
        purpose: null,
        decision: 'failure',
        reason: `OpenID Connect sign-in with no account (${result.reason})`,
      });
      // What happened and what to do are the catalogues' oidcRefused.<reason> (English and Welsh).
      return reply
        .code(403)
        .header('cache-control', 'no-store')
        .view('oidc-refused.njk', viewContext(request, reply, { title: 'You have not been signed in', reason: result.reason }));
    }
    const user = result.user;
    await appendAudit(database.db, {
      actorUserId: user.id,
      actorRole: user.role,
      actorOrganisationId: user.organisationId,
      action: 'sign_in',
      personId: null,
      category: null,
      purpose: null,
      decision: 'success',
      reason: `signed in with OpenID Connect${result.linked ? ' for the first time' : ''}`,
    });
    await beginSession(reply, user);
    return reply.redirect('/home');
  });
}
