// SMART App Launch's HTTP side: discovery (/fhir/.well-known/smart-configuration), the
// authorisation endpoint (the approval page, on Joinery's own sign-in session), the token and
// revocation endpoints, and the two ways an EHR launch starts: the "Open in an app" page for a
// person, and POST /api/smart/launches for a system holding the user's API token. Routes parse
// and answer; what may happen is decided in grants.ts and launch.ts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, renderError, viewContext } from '../../platform/http.ts';
import { RefusedInput } from '../../platform/refused.ts';
import { formBody, parseForm } from '../../platform/forms.ts';
import { userForApiToken } from '../../interop/index.ts';
import { organisationCaseload, peopleByIds } from '../../people/index.ts';
import { peopleHeldByOrganisationCount } from '../../linkage/index.ts';
import { proxiesOf } from '../../consent/index.ts';
import type { SignedInUser } from '../../auth/index.ts';
import { launchableClients } from './clients.ts';
import { launchPerson, mayOpenPerson, mintLaunch } from './launch.ts';
import { approvalForm, authorizeRequestOf, CHOOSE_PERSON, openInAppForm } from './forms.ts';
import {
  appsAllowedBy,
  approveAuthorization,
  checkAuthorizeRequest,
  denyAuthorization,
  OAuthError,
  revokeByToken,
  stopAllowedApp,
  tokenRequest,
  type AuthorizeRequest,
} from './grants.ts';
import { describeScopes, roleMayUseApps, SCOPES_SUPPORTED, wantsPatientScopes } from './scopes.ts';

function site(app: FastifyInstance): string {
  return app.joinery.config.publicUrl;
}

export function smartConfiguration(publicUrl: string): Record<string, unknown> {
  return {
    authorization_endpoint: `${publicUrl}/smart/authorize`,
    token_endpoint: `${publicUrl}/smart/token`,
    revocation_endpoint: `${publicUrl}/smart/revoke`,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    response_types_supported: ['code'],
    scopes_supported: SCOPES_SUPPORTED,
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-ehr',
      'launch-standalone',
      'client-public',
      'client-confidential-symmetric',
      'context-ehr-patient',
      'context-standalone-patient',
      'permission-v1',
      'permission-v2',
      'permission-patient',
      'permission-user',
      'permission-offline',
      'permission-online',
    ],
  };
}

/** Lets the page's forms (and the redirects after them) go to the app's own origins, beside this site. */
function allowFormsTo(reply: FastifyReply, urls: string[]): void {
  const csp = reply.getHeader('content-security-policy');
  if (typeof csp !== 'string') return;
  const origins = [...new Set(urls.map((u) => new URL(u).origin))].join(' ');
  reply.header('content-security-policy', csp.replace(/form-action 'self'/, `form-action 'self' ${origins}`));
}

interface Choice {
  id: string;
  name: string;
  birthDate: string | null;
}

/** Whom a standalone launch may pick: a resident's self and those they act for; a practitioner's caseload. */
async function choicesFor(request: FastifyRequest, user: SignedInUser, q: string): Promise<Choice[]> {
  const db = request.server.joinery.database.db;
  if (user.role === 'citizen') {
    if (!user.personId) return [];
    const [self] = await peopleByIds(db, [user.personId]);
    const others = await proxiesOf(db, user.personId);
    return [
      ...(self ? [{ id: self.id, name: `${self.givenName} ${self.familyName} (you)`, birthDate: self.birthDate }] : []),
      ...others.map((p) => ({ id: p.personId, name: p.name, birthDate: null })),
    ];
  }
  if (!user.organisationId) return [];
  const page = await organisationCaseload(db, user.organisationId, {
    perPage: 20,
    query: q,
    knownPeople: peopleHeldByOrganisationCount(user.organisationId),
  });
  return page.rows.map((r) => ({ id: r.personId, name: r.name, birthDate: r.birthDate }));
}

async function renderApproval(
  request: FastifyRequest,
  reply: FastifyReply,
  auth: AuthorizeRequest,
  user: SignedInUser,
  extra: { error?: string } = {},
) {
  const db = request.server.joinery.database.db;
  let person: Choice | undefined;
  let choices: Choice[] = [];
  const q = String((request.query as Record<string, unknown>)?.q ?? '').slice(0, 100);
  if (auth.launch) {
    const personId = await launchPerson(db, auth.launch, user.id, auth.client.id);
    if (!personId) {
      return reply.redirect(
        denyWith(auth, 'invalid_request', 'the launch is not valid: unknown, already used, expired, or for another user or app'),
      );
    }
    if (!(await mayOpenPerson(db, user, personId)))
      return reply.redirect(denyWith(auth, 'access_denied', 'the user may not open this person’s record'));
    const [ref] = await peopleByIds(db, [personId]);
    person = ref ? { id: ref.id, name: `${ref.givenName} ${ref.familyName}`, birthDate: ref.birthDate } : undefined;
  } else if (wantsPatientScopes(auth.scope) || auth.scope.split(' ').includes('launch/patient')) {
    choices = await choicesFor(request, user, q);
  }
  allowFormsTo(reply, [auth.redirectUri]);
  return reply.code(extra.error ? 400 : 200).view(
    'smart-approve.njk',
    viewContext(request, reply, {
      title: `Allow ${auth.client.name}?`,
      app: auth.client.name,
      scopes: describeScopes(auth.scope),
      person,
      choices,
      pick: !auth.launch && (wantsPatientScopes(auth.scope) || auth.scope.split(' ').includes('launch/patient')),
      q,
      hidden: Object.entries({
        response_type: 'code',
        client_id: auth.client.id,
        redirect_uri: auth.redirectUri,
        scope: auth.scope,
        state: auth.state,
        aud: `${site(request.server)}/fhir`,
        code_challenge: auth.codeChallenge,
        code_challenge_method: 'S256',
        ...(auth.launch ? { launch: auth.launch } : {}),
      }).map(([name, value]) => ({ name, value })),
      error: extra.error,
    }),
  );
}

function denyWith(auth: AuthorizeRequest, error: string, description: string): string {
  const url = new URL(auth.redirectUri);
  url.searchParams.set('error', error);
  url.searchParams.set('error_description', description);
  url.searchParams.set('state', auth.state);
  return url.toString();
}

function oauthAnswer(reply: FastifyReply, error: unknown) {
  if (error instanceof OAuthError) {
    if (error.status === 401) reply.header('www-authenticate', 'Basic realm="joinery-smart"');
    return reply.code(error.status).send({ error: error.error, error_description: error.message });
  }
  if (error instanceof RefusedInput) return reply.code(400).send({ error: 'invalid_request', error_description: error.message });
  throw error;
}

export function registerSmartRoutes(app: FastifyInstance): void {
  const db = () => app.joinery.database.db;
  const fhirBase = () => `${site(app)}/fhir`;

  app.get('/fhir/.well-known/smart-configuration', async (_request, reply) =>
    reply
      .header('cache-control', 'public, max-age=3600')
      .type('application/json')
      .send(smartConfiguration(site(app))),
  );

  app.get('/smart/authorize', async (request, reply) => {
    const check = await checkAuthorizeRequest(db(), authorizeRequestOf((request.query ?? {}) as Record<string, unknown>), fhirBase());
    if (check.kind === 'page') return renderError(request, reply, 400, 'This app cannot be given access', check.message);
    if (check.kind === 'redirect') return reply.redirect(check.url);
    const user = request.user;
    if (!user) return reply.redirect(`/sign-in?next=${encodeURIComponent(request.url)}`);
    if (!roleMayUseApps(user.role))
      return renderError(request, reply, 403, 'Apps cannot act for this account', 'SMART apps act for practitioners and residents only.');
    return renderApproval(request, reply, check.request, user);
  });

  app.post('/smart/authorize', async (request, reply) => {
    const body = formBody(request);
    const check = await checkAuthorizeRequest(db(), authorizeRequestOf(body), fhirBase());
    if (check.kind === 'page') return renderError(request, reply, 400, 'This app cannot be given access', check.message);
    if (check.kind === 'redirect') return reply.redirect(check.url, 303);
    const user = request.user;
    if (!user) return reply.redirect(`/sign-in`, 303);
    if (!roleMayUseApps(user.role)) throw new HttpError(403, 'SMART apps act for practitioners and residents only.');
    allowFormsTo(reply, [check.request.redirectUri]);
    const form = parseForm(approvalForm, body);
    if (!form.ok) return renderApproval(request, reply, check.request, user, { error: form.errors[0]!.text });
    if (!form.value.allow) return reply.redirect(denyAuthorization(check.request), 303);
    const { personId } = form.value;
    const needsPick =
      !check.request.launch && (wantsPatientScopes(check.request.scope) || check.request.scope.split(' ').includes('launch/patient'));
    if (needsPick && !personId) return renderApproval(request, reply, check.request, user, { error: CHOOSE_PERSON });
    const url = await approveAuthorization(db(), user, check.request, { personId, sessionHours: app.joinery.config.sessionHours });
    return reply.redirect(url, 303);
  });

  app.post('/smart/token', { config: { csrf: false, rateLimit: { max: 60, timeWindow: '1 minute' } } }, async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json');
    try {
      return reply.send(await tokenRequest(db(), (request.body ?? {}) as Record<string, unknown>, request.headers.authorization));
    } catch (error) {
      return oauthAnswer(reply, error);
    }
  });

  app.post('/smart/revoke', { config: { csrf: false, rateLimit: { max: 60, timeWindow: '1 minute' } } }, async (request, reply) => {
    reply.header('cache-control', 'no-store').type('application/json');
    try {
      await revokeByToken(db(), (request.body ?? {}) as Record<string, unknown>, request.headers.authorization);
      return reply.send({});
    } catch (error) {
      return oauthAnswer(reply, error);
    }
  });

  // The apps the user has allowed, each of which they can stop.
  app.get('/account/apps', async (request, reply) => {
    const user = request.user;
    if (!user) return reply.redirect(`/sign-in?next=${encodeURIComponent(request.url)}`);
    const apps = await appsAllowedBy(db(), user.id);
    const stopped = (request.query as Record<string, unknown>).stopped === '1';
    return reply.view(
      'smart-apps.njk',
      viewContext(request, reply, {
        title: 'Apps you have allowed',
        stopped,
        apps: apps.map((a) => ({ ...a, what: describeScopes(a.scope) })),
      }),
    );
  });

  app.post('/account/apps/:grantId/stop', async (request, reply) => {
    const user = request.user;
    if (!user) return reply.redirect('/sign-in', 303);
    const { grantId } = request.params as { grantId: string };
    if (!(await stopAllowedApp(db(), user, grantId))) throw new HttpError(404, 'There is no such app allowed by you.');
    return reply.redirect('/account/apps?stopped=1', 303);
  });

  // "Open in an app": the apps that can be launched for this person, each a button minting a launch.
  app.get('/smart/open', async (request, reply) => {
    const user = request.user;
    if (!user) return reply.redirect(`/sign-in?next=${encodeURIComponent(request.url)}`);
    if (!roleMayUseApps(user.role)) throw new HttpError(403, 'Apps can be opened by practitioners and residents only.');
    const personId = String((request.query as Record<string, unknown>).person ?? '');
    if (!(await mayOpenPerson(db(), user, personId))) throw new HttpError(403, 'You may not open this person’s record in an app.');
    const [ref] = await peopleByIds(db(), [personId]);
    const apps = await launchableClients(db());
    allowFormsTo(
      reply,
      apps.map((a) => a.launchUri!),
    );
    return reply.view(
      'smart-open.njk',
      viewContext(request, reply, {
        title: 'Open in an app',
        personId,
        personName: ref ? `${ref.givenName} ${ref.familyName}` : '',
        apps: apps.map((a) => ({ id: a.id, name: a.name })),
      }),
    );
  });

  app.post('/smart/open', async (request, reply) => {
    const user = request.user;
    if (!user) return reply.redirect('/sign-in', 303);
    // The role is refused before the form is read, as mintLaunch would refuse it.
    if (!roleMayUseApps(user.role)) throw new HttpError(403, 'Apps can be opened by practitioners and residents only.');
    const form = parseForm(openInAppForm, formBody(request));
    if (!form.ok) throw new HttpError(400, form.errors[0]!.text);
    const minted = await mintLaunch(db(), user, { clientId: form.value.client, personId: form.value.person, fhirBase: fhirBase() });
    allowFormsTo(reply, [minted.url]);
    return reply.redirect(minted.url, 303);
  });

  // A system holding the user's API token (a GP system's integration) starts an EHR launch.
  app.post('/api/smart/launches', { config: { csrf: false } }, async (request, reply) => {
    const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    const user = m ? await userForApiToken(db(), m[1]!) : undefined;
    if (!user)
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'unauthorized', message: 'send an API token: Authorization: Bearer <token>' });
    const body = (request.body ?? {}) as Record<string, unknown>;
    try {
      const minted = await mintLaunch(db(), user, { clientId: body.client, personId: body.person, fhirBase: fhirBase() });
      return reply.code(201).send({ launch: minted.launch, url: minted.url, expires_at: minted.expiresAt.toISOString() });
    } catch (error) {
      if (error instanceof RefusedInput) return reply.code(error.status).send({ error: 'refused', message: error.message });
      if (error instanceof HttpError && error.statusCode < 500)
        return reply.code(error.statusCode).send({ error: 'refused', message: error.message });
      throw error;
    }
  });
}
