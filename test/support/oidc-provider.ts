// A local NHS login-style OpenID provider for tests: the oidc-provider package on a free local
// port, with NHS login's claims (nhs_number, birthdate, identity_proofing_level, email) from its
// userinfo endpoint, PKCE required, and one confidential client (Joinery). The test says who signs
// in next (signInAs), and authorise() follows the provider's pages as a browser would, up to the
// redirect back to Joinery.
import assert from 'node:assert/strict';
import http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider, { type Account, type KoaContextWithOIDC } from 'oidc-provider';

export interface NhsLoginIdentity {
  sub: string;
  nhs_number?: string;
  birthdate?: string;
  identity_proofing_level?: 'P0' | 'P5' | 'P9';
  email?: string;
  email_verified?: boolean;
  given_name?: string;
  family_name?: string;
}

export interface LocalProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who signs in at the provider next, as if they had typed their NHS login. */
  signInAs(identity: NhsLoginIdentity): void;
  /** Follows the provider from an authorisation URL to its redirect back to Joinery, and returns that. */
  authorise(url: string): Promise<URL>;
  close(): Promise<void>;
}

export interface LocalProviderOptions {
  /** The client's public keys: it must then prove itself with a JWT signed RS512 (private_key_jwt, as NHS login asks) instead of a secret. */
  clientJwks?: { keys: Array<Record<string, unknown>> };
}

export async function startLocalProvider(redirectUri: string, options: LocalProviderOptions = {}): Promise<LocalProvider> {
  const identities = new Map<string, NhsLoginIdentity>();
  let next: NhsLoginIdentity | undefined;
  const clientId = 'joinery';
  const clientSecret = randomBytes(24).toString('base64url');
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('the local provider is not listening');
  const issuer = `http://127.0.0.1:${address.port}`;
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        ...(options.clientJwks
          ? { token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS512', jwks: options.clientJwks as never }
          : { token_endpoint_auth_method: 'client_secret_post', client_secret: clientSecret }),
      },
    ],
    enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'RS512', 'ES256'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['birthdate', 'family_name', 'given_name', 'nhs_number', 'identity_proofing_level'],
    },
    async findAccount(_ctx: KoaContextWithOIDC, id: string): Promise<Account | undefined> {
      const identity = identities.get(id);
      if (!identity) return undefined;
      return { accountId: id, claims: () => ({ ...identity, sub: id }) };
    },
    jwks: { keys: [{ ...signingKey, kid: 'test-signing-key', use: 'sig', alg: 'RS256' } as never] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    extraParams: ['vtr'],
  });
  // Errors a test provokes on purpose (a wrong code, a replay) are answered, not printed.
  provider.on('server_error', () => {});
  const callback = provider.callback();

  server.on('request', (req, res) => {
    if (!/^\/interaction\/[^/?]+/.test(req.url ?? '')) return void callback(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        if (!next) throw new Error('the test did not say who signs in');
        identities.set(next.sub, next);
        await provider.interactionFinished(req, res, { login: { accountId: next.sub } }, { mergeWithLastSubmission: false });
        return;
      }
      // Consent: the person agrees to share what Joinery asked for.
      const asked = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      const grant = details.grantId
        ? (await provider.Grant.find(details.grantId))!
        : new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
      if (asked.missingOIDCScope) grant.addOIDCScope(asked.missingOIDCScope.join(' '));
      if (asked.missingOIDCClaims) grant.addOIDCClaims(asked.missingOIDCClaims);
      await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    })().catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });

  // The provider must publish what Joinery discovers (issuer, PKCE, userinfo), or every OIDC test
  // would fail for the wrong reason: say so here, once.
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
    issuer?: string;
    userinfo_endpoint?: string;
    code_challenge_methods_supported?: string[];
  };
  assert.equal(discovery.issuer, issuer, 'the local provider names itself as the issuer Joinery is configured with');
  assert.ok(discovery.userinfo_endpoint, 'the local provider serves userinfo, where NHS login gives the NHS number');
  assert.ok(discovery.code_challenge_methods_supported?.includes('S256'), 'the local provider takes PKCE with S256');

  return {
    issuer,
    clientId,
    clientSecret,
    signInAs(identity) {
      next = identity;
    },
    async authorise(start) {
      const jar = new Map<string, string>();
      let url = new URL(start);
      for (let hop = 0; hop < 12; hop++) {
        const response = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
        for (const cookie of response.headers.getSetCookie()) {
          const [pair = ''] = cookie.split(';');
          const split = pair.indexOf('=');
          const [name, value] = [pair.slice(0, split).trim(), pair.slice(split + 1)];
          if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(cookie)) jar.delete(name);
          else jar.set(name, value);
        }
        const location = response.headers.get('location');
        if (!location)
          throw new Error(`the provider stopped at ${url.pathname} with ${response.status}: ${(await response.text()).slice(0, 300)}`);
        await response.body?.cancel();
        const target = new URL(location, url);
        if (target.href.startsWith(redirectUri)) return target;
        url = target;
      }
      throw new Error('the provider redirected too many times');
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
