// The OAuth 2.0 authorisation code flow as SMART App Launch v2 asks: the authorisation request
// checked (exact redirect URI, PKCE S256, state, aud), the user's approval turned into a grant
// with a one-time code, the code exchanged for tokens at the token endpoint (the PKCE verifier
// proving it is the same app), refresh tokens rotated, and revocation. Tokens are opaque random
// strings stored as SHA-256 hashes, looked up on every use, so revoking, disabling an app or
// ending an account counts at once; there is no JWT to forge or to outlive its revocation.
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../schema.ts';
import { activeUserById, type SignedInUser } from '../../auth/index.ts';
import { appendAudit } from '../../audit/index.ts';
import { HttpError } from '../../platform/http.ts';
import { liveClient, randomSecret, sameHash, sha256, type SmartClient } from './clients.ts';
import { mayOpenPerson, purposeFor, spendLaunch } from './launch.ts';
import { grantScopes, resourceScopesOf, roleMayUseApps, type ResourceScope } from './scopes.ts';
import { Refusal } from '../../platform/refused.ts';

export const ACCESS_TOKEN_SECONDS = 3600;
export const CODE_SECONDS = 120;
export const OFFLINE_DAYS = 90;
export const ACCESS_PREFIX = 'jsa_';
const REFRESH_PREFIX = 'jsr_';

/** An OAuth error answered as RFC 6749 says: `error`, `error_description`, and 400 (401 for the client). */
export class OAuthError extends Refusal {
  readonly error: string;
  constructor(error: string, description: string, status = error === 'invalid_client' ? 401 : 400) {
    super(status, description);
    this.error = error;
  }
}

export interface AuthorizeRequest {
  client: SmartClient;
  redirectUri: string;
  scope: string;
  state: string;
  codeChallenge: string;
  launch: string | null;
}

export type AuthorizeCheck =
  { kind: 'page'; message: string } | { kind: 'redirect'; url: string } | { kind: 'ok'; request: AuthorizeRequest };

/** The app's redirect URI with the answer's parameters added (its own query kept). */
export function redirectTo(redirectUri: string, params: Record<string, string>): string {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

function single(params: Record<string, unknown>, name: string): string | undefined | null {
  const v = params[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : null;
}

/**
 * Checks an authorisation request. An unknown app or a redirect URI not registered exactly is
 * answered on a page and never redirected (an open redirector otherwise); anything else wrong is
 * sent back to the app as an OAuth error, with its state.
 */
export async function checkAuthorizeRequest(
  db: Kysely<Database>,
  params: Record<string, unknown>,
  fhirBase: string,
): Promise<AuthorizeCheck> {
  const client = await liveClient(db, single(params, 'client_id'));
  if (!client)
    return { kind: 'page', message: 'This app is not registered with Joinery (or has been disabled), so it cannot be given access.' };
  const redirectUri = single(params, 'redirect_uri');
  if (!redirectUri || !client.redirectUris.includes(redirectUri))
    return { kind: 'page', message: 'The app gave a redirect address it is not registered with, so Joinery will not send you there.' };
  const state = single(params, 'state');
  const fail = (error: string, description: string): AuthorizeCheck => ({
    kind: 'redirect',
    url: redirectTo(redirectUri, { error, error_description: description, ...(typeof state === 'string' ? { state } : {}) }),
  });
  for (const [name, value] of Object.entries(params))
    if (typeof value !== 'string') return fail('invalid_request', `${name} is given more than once`);
  if (single(params, 'response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  if (!state || state.length > 1000) return fail('invalid_request', 'state is required');
  if (single(params, 'code_challenge_method') !== 'S256')
    return fail('invalid_request', 'PKCE is required with code_challenge_method=S256');
  const codeChallenge = single(params, 'code_challenge');
  if (!codeChallenge || !/^[A-Za-z0-9_-]{43}$/.test(codeChallenge))
    return fail('invalid_request', 'code_challenge must be the base64url SHA-256 of the verifier');
  const aud = single(params, 'aud');
  if (!aud || aud.replace(/\/+$/, '') !== fhirBase) return fail('invalid_request', `aud must be this FHIR server: ${fhirBase}`);
  const scope = single(params, 'scope');
  if (!scope || scope.length > 2000) return fail('invalid_scope', 'scope is required');
  const launch = single(params, 'launch');
  if (launch !== undefined && (!launch || launch.length > 200)) return fail('invalid_request', 'launch is not valid');
  return { kind: 'ok', request: { client, redirectUri, scope, state, codeChallenge, launch: launch ?? null } };
}

export interface Approval {
  /** The person picked for a standalone launch (launch/patient). */
  personId?: string;
  /** How long an online_access refresh token lasts: the sign-in session's length. */
  sessionHours: number;
}

/**
 * The user approved: a grant with a one-time code, in one transaction with spending the launch
 * id. The launch patient (EHR launch) or the person picked (standalone) must be someone the access
 * decision lets the user open now. Returns where to send the browser: the app, with the code or an error.
 */
export async function approveAuthorization(
  db: Kysely<Database>,
  actor: SignedInUser,
  request: AuthorizeRequest,
  approval: Approval,
  now: Date = new Date(),
): Promise<string> {
  if (!roleMayUseApps(actor.role)) throw new HttpError(403, 'Apps can act for practitioners and residents only.');
  const { client } = request;
  const back = (params: Record<string, string>) => redirectTo(request.redirectUri, { ...params, state: request.state });
  return db.transaction().execute(async (trx) => {
    let personId: string | undefined;
    if (request.launch) {
      personId = await spendLaunch(trx, request.launch, actor.id, client.id, now);
      if (!personId)
        return back({
          error: 'invalid_request',
          error_description: 'the launch is not valid: unknown, already used, expired, or for another user or app',
        });
    } else if (approval.personId) personId = approval.personId;
    if (personId && !(await mayOpenPerson(trx, actor, personId)))
      return back({ error: 'access_denied', error_description: 'the user may not open this person’s record' });
    const scope = grantScopes(request.scope, client.scope, { role: actor.role, launched: !!request.launch, hasPatient: !!personId });
    if (resourceScopesOf(scope).length === 0)
      return back({
        error: 'invalid_scope',
        error_description: 'none of the resource scopes asked for can be granted to this app and user',
      });
    const words = scope.split(' ');
    const refreshUntil = words.includes('offline_access')
      ? new Date(now.getTime() + OFFLINE_DAYS * 86_400_000)
      : words.includes('online_access')
        ? new Date(now.getTime() + approval.sessionHours * 3_600_000)
        : null;
    const code = randomSecret();
    await trx
      .insertInto('smart_grants')
      .values({
        id: randomUUID(),
        client_id: client.id,
        user_id: actor.id,
        person_id: personId ?? null,
        scope,
        redirect_uri: request.redirectUri,
        code_hash: sha256(code),
        code_challenge: request.codeChallenge,
        code_expires_at: new Date(now.getTime() + CODE_SECONDS * 1000),
        code_used_at: null,
        refresh_until: refreshUntil,
        created_at: now,
        revoked_at: null,
      })
      .execute();
    await appendAudit(trx, {
      actorUserId: actor.id,
      actorRole: actor.role,
      actorOrganisationId: actor.organisationId,
      action: 'smart_authorise',
      personId: personId ?? null,
      category: null,
      purpose: purposeFor(actor),
      decision: 'success',
      reason: `allowed the app "${client.name}" (${client.id}): ${scope}`,
    });
    return back({ code });
  });
}

/** The user said no: the app is told access_denied. */
export function denyAuthorization(request: AuthorizeRequest): string {
  return redirectTo(request.redirectUri, {
    error: 'access_denied',
    error_description: 'the user did not allow the app',
    state: request.state,
  });
}

// ---------------------------------------------------------------------------------------------
// The token endpoint

/** The client as it authenticated at the token or revocation endpoint (HTTP Basic, or the form). */
export async function authenticateClient(
  db: Kysely<Database>,
  body: Record<string, unknown>,
  authorization: string | undefined,
): Promise<SmartClient> {
  let clientId: string | undefined;
  let secret: string | undefined;
  const basic = authorization ? /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization) : null;
  if (authorization && !basic) throw new OAuthError('invalid_client', 'client authentication must be HTTP Basic or in the form');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'HTTP Basic credentials must be client_id:client_secret');
    try {
      clientId = decodeURIComponent(decoded.slice(0, colon));
      secret = decodeURIComponent(decoded.slice(colon + 1));
    } catch {
      throw new OAuthError('invalid_client', 'HTTP Basic credentials are not well formed');
    }
    if (body.client_secret !== undefined) throw new OAuthError('invalid_request', 'authenticate one way only');
    if (body.client_id !== undefined && body.client_id !== clientId)
      throw new OAuthError('invalid_client', 'client_id does not match the credentials');
  } else {
    clientId = typeof body.client_id === 'string' ? body.client_id : undefined;
    secret = typeof body.client_secret === 'string' ? body.client_secret : undefined;
  }
  const client = await liveClient(db, clientId);
  if (!client) throw new OAuthError('invalid_client', 'unknown or disabled client');
  if (client.secretHash) {
    if (!secret || !sameHash(sha256(secret), client.secretHash)) throw new OAuthError('invalid_client', 'the client secret is not right');
  } else if (secret !== undefined) throw new OAuthError('invalid_client', 'this client is public: it has no secret');
  return client;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  patient?: string;
  refresh_token?: string;
}

type Grant = Database['smart_grants'];

async function revokeGrant(trx: Transaction<Database>, grantId: string, now: Date): Promise<void> {
  await trx.updateTable('smart_grants').set({ revoked_at: now }).where('id', '=', grantId).where('revoked_at', 'is', null).execute();
  await trx.updateTable('smart_tokens').set({ revoked_at: now }).where('grant_id', '=', grantId).where('revoked_at', 'is', null).execute();
}

async function issueTokens(trx: Transaction<Database>, grant: Selectable<Grant>, now: Date): Promise<TokenResponse> {
  const access = randomSecret(ACCESS_PREFIX);
  const rows: Array<Database['smart_tokens']> = [
    {
      token_hash: sha256(access),
      grant_id: grant.id,
      kind: 'access',
      expires_at: new Date(now.getTime() + ACCESS_TOKEN_SECONDS * 1000),
      used_at: null,
      revoked_at: null,
      last_used_at: null,
    },
  ];
  let refresh: string | undefined;
  if (grant.refresh_until && grant.refresh_until > now) {
    refresh = randomSecret(REFRESH_PREFIX);
    rows.push({
      token_hash: sha256(refresh),
      grant_id: grant.id,
      kind: 'refresh',
      expires_at: grant.refresh_until,
      used_at: null,
      revoked_at: null,
      last_used_at: null,
    });
  }
  await trx.insertInto('smart_tokens').values(rows).execute();
  return {
    access_token: access,
    token_type: 'Bearer',
    expires_in: ACCESS_TOKEN_SECONDS,
    scope: grant.scope,
    ...(grant.person_id ? { patient: grant.person_id } : {}),
    ...(refresh ? { refresh_token: refresh } : {}),
  };
}

type Selectable<T> = { [K in keyof T]: T[K] };

function pkceMatches(verifier: unknown, challenge: string): boolean {
  if (typeof verifier !== 'string' || !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) return false;
  return sameHash(createHash('sha256').update(verifier).digest('base64url'), challenge);
}

/** The token endpoint: an authorisation code (with its PKCE verifier) or a refresh token, for tokens. */
export async function tokenRequest(
  db: Kysely<Database>,
  body: Record<string, unknown>,
  authorization: string | undefined,
  now: Date = new Date(),
): Promise<TokenResponse> {
  for (const [name, value] of Object.entries(body))
    if (typeof value !== 'string') throw new OAuthError('invalid_request', `${name} is given more than once`);
  const client = await authenticateClient(db, body, authorization);
  const grantType = body.grant_type;
  if (grantType === 'authorization_code') {
    const code = body.code;
    if (typeof code !== 'string' || code.length > 200) throw new OAuthError('invalid_request', 'code is required');
    return db
      .transaction()
      .execute(async (trx) => {
        const grant = await trx.selectFrom('smart_grants').selectAll().where('code_hash', '=', sha256(code)).forUpdate().executeTakeFirst();
        if (!grant || grant.client_id !== client.id) throw new OAuthError('invalid_grant', 'the code is not valid');
        if (grant.code_used_at) {
          // A code used twice may have been stolen: what was issued with it stops working (RFC 6749 4.1.2).
          await revokeGrant(trx, grant.id, now);
          return 'reused' as const;
        }
        if (grant.revoked_at || grant.code_expires_at <= now) throw new OAuthError('invalid_grant', 'the code has expired');
        if (body.redirect_uri !== grant.redirect_uri)
          throw new OAuthError('invalid_grant', 'redirect_uri must be the one the code was asked for');
        if (!pkceMatches(body.code_verifier, grant.code_challenge))
          throw new OAuthError('invalid_grant', 'the PKCE code_verifier does not match the code_challenge');
        await trx.updateTable('smart_grants').set({ code_used_at: now }).where('id', '=', grant.id).execute();
        if (!(await activeUserById(trx, grant.user_id)))
          throw new OAuthError('invalid_grant', 'the account that allowed the app can no longer act');
        return issueTokens(trx, grant, now);
      })
      .then((answer) => {
        if (answer === 'reused')
          throw new OAuthError('invalid_grant', 'the code has already been used; the tokens issued with it are revoked');
        return answer;
      });
  }
  if (grantType === 'refresh_token') {
    const refresh = body.refresh_token;
    if (typeof refresh !== 'string' || !refresh.startsWith(REFRESH_PREFIX) || refresh.length > 200)
      throw new OAuthError('invalid_grant', 'the refresh token is not valid');
    return db
      .transaction()
      .execute(async (trx) => {
        const token = await trx
          .selectFrom('smart_tokens')
          .selectAll()
          .where('token_hash', '=', sha256(refresh))
          .where('kind', '=', 'refresh')
          .forUpdate()
          .executeTakeFirst();
        const grant = token
          ? await trx.selectFrom('smart_grants').selectAll().where('id', '=', token.grant_id).forUpdate().executeTakeFirst()
          : undefined;
        if (!token || !grant || grant.client_id !== client.id) throw new OAuthError('invalid_grant', 'the refresh token is not valid');
        if (token.used_at && !token.revoked_at && !grant.revoked_at) {
          // A refresh token is used once: a second use means two parties hold it, so the grant ends.
          await revokeGrant(trx, grant.id, now);
          return 'reused' as const;
        }
        if (token.used_at || token.revoked_at || grant.revoked_at || token.expires_at <= now)
          throw new OAuthError('invalid_grant', 'the refresh token has expired or been revoked');
        if (typeof body.scope === 'string' && body.scope.split(' ').some((s) => s && !grant.scope.split(' ').includes(s)))
          throw new OAuthError('invalid_scope', 'a refresh keeps the scopes granted; it cannot add any');
        if (!(await activeUserById(trx, grant.user_id)))
          throw new OAuthError('invalid_grant', 'the account that allowed the app can no longer act');
        await trx.updateTable('smart_tokens').set({ used_at: now }).where('token_hash', '=', token.token_hash).execute();
        return issueTokens(trx, grant, now);
      })
      .then((answer) => {
        if (answer === 'reused')
          throw new OAuthError('invalid_grant', 'the refresh token has already been used; the app’s access is revoked');
        return answer;
      });
  }
  throw new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token');
}

/**
 * RFC 7009 revocation: the grant the token (access or refresh) was issued under ends, with every
 * token of it. Unknown tokens, and other clients' tokens, are answered the same (nothing to say).
 */
export async function revokeByToken(
  db: Kysely<Database>,
  body: Record<string, unknown>,
  authorization: string | undefined,
  now: Date = new Date(),
): Promise<void> {
  const client = await authenticateClient(db, body, authorization);
  const token = body.token;
  if (typeof token !== 'string' || token.length > 200) throw new OAuthError('invalid_request', 'token is required');
  await db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('smart_tokens as t')
      .innerJoin('smart_grants as g', 'g.id', 't.grant_id')
      .select(['g.id', 'g.client_id'])
      .where('t.token_hash', '=', sha256(token))
      .executeTakeFirst();
    if (row && row.client_id === client.id) await revokeGrant(trx, row.id, now);
  });
}

// ---------------------------------------------------------------------------------------------
// What a token lets the FHIR API do

export interface SmartAccess {
  user: SignedInUser;
  grantId: string;
  clientId: string;
  clientName: string;
  /** The launch patient: patient/ scopes reach this person only. */
  personId: string | null;
  scopes: ResourceScope[];
  scope: string;
}

export function isSmartAccessToken(token: string): boolean {
  return token.startsWith(ACCESS_PREFIX);
}

/**
 * The user and scopes a SMART access token acts with, if it is live: not expired or revoked, its
 * grant not revoked, its app not disabled, and its account still able to act. Checked on every request.
 */
export async function smartAccessForToken(db: Kysely<Database>, token: string, now: Date = new Date()): Promise<SmartAccess | undefined> {
  if (!isSmartAccessToken(token) || token.length > 200) return undefined;
  const row = await db
    .selectFrom('smart_tokens as t')
    .innerJoin('smart_grants as g', 'g.id', 't.grant_id')
    .innerJoin('smart_clients as c', 'c.id', 'g.client_id')
    .select([
      't.token_hash',
      't.last_used_at',
      'g.id as grant_id',
      'g.user_id',
      'g.person_id',
      'g.scope',
      'c.id as client_id',
      'c.name as client_name',
    ])
    .where('t.token_hash', '=', sha256(token))
    .where('t.kind', '=', 'access')
    .where('t.revoked_at', 'is', null)
    .where('t.expires_at', '>', now)
    .where('g.revoked_at', 'is', null)
    .where('c.disabled_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  const user = await activeUserById(db, row.user_id);
  if (!user) return undefined;
  // Record use at most once a minute, so reads do not turn into writes.
  if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > 60_000)
    await db.updateTable('smart_tokens').set({ last_used_at: now }).where('token_hash', '=', row.token_hash).execute();
  return {
    user,
    grantId: row.grant_id,
    clientId: row.client_id,
    clientName: row.client_name,
    personId: row.person_id,
    scopes: resourceScopesOf(row.scope),
    scope: row.scope,
  };
}

/** Puts an app's request on the audit trail, beside the access decisions it leads to: which app, for whom, what. */
export async function auditAppRequest(
  db: Kysely<Database>,
  access: SmartAccess,
  what: string,
  allowed: boolean,
  personId: string | null,
): Promise<void> {
  await appendAudit(db, {
    actorUserId: access.user.id,
    actorRole: access.user.role,
    actorOrganisationId: access.user.organisationId,
    action: 'smart_api',
    personId,
    category: null,
    purpose: purposeFor(access.user),
    decision: allowed ? 'allow' : 'deny',
    reason: `the app "${access.clientName}" (${access.clientId}) ${allowed ? 'made' : 'was refused'}: ${what}`,
  });
}

// ---------------------------------------------------------------------------------------------
// The apps a user has allowed, and stopping one

export interface AllowedApp {
  grantId: string;
  appName: string;
  /** Whether the grant is about one person's record (patient/ scopes) rather than the user's reach. */
  onePerson: boolean;
  scope: string;
  allowedAt: Date;
  /** When it stops working unless stopped before: its refresh token's end, else its last access token's. */
  until: Date;
}

/** The apps that can still act for this user: grants not revoked with a live access or refresh token. */
export async function appsAllowedBy(db: Kysely<Database>, userId: string, now: Date = new Date()): Promise<AllowedApp[]> {
  const rows = await db
    .selectFrom('smart_grants as g')
    .innerJoin('smart_clients as c', 'c.id', 'g.client_id')
    .innerJoin('smart_tokens as t', 't.grant_id', 'g.id')
    .select((eb) => ['g.id', 'c.name', 'g.person_id', 'g.scope', 'g.created_at', eb.fn.max('t.expires_at').as('until')])
    .where('g.user_id', '=', userId)
    .where('g.revoked_at', 'is', null)
    .where('c.disabled_at', 'is', null)
    .where('t.revoked_at', 'is', null)
    .where('t.used_at', 'is', null)
    .where('t.expires_at', '>', now)
    .groupBy(['g.id', 'c.name', 'g.person_id', 'g.scope', 'g.created_at'])
    .orderBy('g.created_at', 'desc')
    .execute();
  return rows.map((r) => ({
    grantId: r.id,
    appName: r.name,
    onePerson: r.person_id !== null,
    scope: r.scope,
    allowedAt: r.created_at,
    until: new Date(r.until as unknown as string),
  }));
}

/** The user stops an app they allowed: every token of that grant stops working at once. False if it was not theirs or already stopped. */
export async function stopAllowedApp(db: Kysely<Database>, user: SignedInUser, grantId: string, now: Date = new Date()): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const grant = await trx
      .selectFrom('smart_grants as g')
      .innerJoin('smart_clients as c', 'c.id', 'g.client_id')
      .select(['g.id', 'g.person_id', 'c.id as client_id', 'c.name'])
      .where('g.id', '=', grantId)
      .where('g.user_id', '=', user.id)
      .where('g.revoked_at', 'is', null)
      .forUpdate()
      .executeTakeFirst();
    if (!grant) return false;
    await revokeGrant(trx, grant.id, now);
    await appendAudit(trx, {
      actorUserId: user.id,
      actorRole: user.role,
      actorOrganisationId: user.organisationId,
      action: 'smart_revoke',
      personId: grant.person_id,
      category: null,
      purpose: null,
      decision: 'success',
      reason: `stopped the app "${grant.name}" (${grant.client_id})`,
    });
    return true;
  });
}
