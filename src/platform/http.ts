// The HTTP layer: Fastify with security headers, CSRF, rate limits, sessions and views.
// Modules register their own routes on top of this.
import { Refusal } from './refused.ts';
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import nunjucks from 'nunjucks';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { BesideColumn, DatabaseHandle } from './db.ts';
import { errorForLog, pathOnly } from './logger.ts';
import { SUPPRESSION_NOTE } from './disclosure.ts';
import type { Database } from '../schema.ts';
import type { Kysely } from 'kysely';
import { writtenDate } from './dates.ts';
import { navigationFor } from './navigation.ts';
import {
  chooseLanguage,
  isLanguage,
  LANGUAGE_COOKIE,
  languageLinks,
  listWords,
  translateText,
  translatorFor,
  type Language,
} from './i18n/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    // `user` (who is signed in) is declared by the auth module, which owns accounts and sessions.
    sessionToken: string | undefined;
    /** What the session look-up carried for the route (its config's sessionBeside), or undefined. */
    sessionBeside: unknown;
    /** The language pages are written in: a resident's choice; always English for professionals. */
    language: Language;
  }
  interface FastifyInstance {
    joinery: AppContext;
    /** Every route registered, for route-wide tests (fuzzing, access matrices). */
    routeList: Array<{ method: string; url: string }>;
  }
  interface FastifyContextConfig {
    /** false turns CSRF checking off for a POST route (machine-to-machine APIs only). */
    csrf?: boolean;
    /**
     * A read the route's handler needs first (a person page's access facts), carried by the
     * session look-up's own statement so it costs no round trip of its own; the handler finds
     * its value in request.sessionBeside. Undefined from the function: nothing carried.
     */
    sessionBeside?: (request: FastifyRequest) => BesideColumn | undefined;
  }
}

export interface AppContext {
  config: Config;
  database: DatabaseHandle;
}

/** Who is signed in, as the auth module declares it on each request (the ground floor only carries it). */
type SignedInUser = NonNullable<FastifyRequest['user']>;

/** How a session cookie's token becomes who is signed in: the auth module's session look-up, given by app.ts. */
export type SessionLookup = (db: Kysely<Database>, token: string) => Promise<SignedInUser | undefined>;
/** The same look-up carrying a route's column beside it (FastifyContextConfig.sessionBeside). */
export type SessionLookupWith = (
  db: Kysely<Database>,
  token: string,
  beside: BesideColumn,
) => Promise<{ user: SignedInUser; beside: unknown } | undefined>;

export const SESSION_COOKIE = 'joinery_session';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const govukDist = path.join(repoRoot, 'node_modules', 'govuk-frontend', 'dist');
const srcDir = path.join(repoRoot, 'src');

/**
 * The CSP source that lets the GOV.UK page template's one inline script run (it marks the body
 * `js-enabled` and `govuk-frontend-supported`, which the components' styles and scripts look
 * for): its hash, as GOV.UK Frontend documents, worked out from the template itself so an upgrade
 * cannot leave a stale one. A hash rather than a nonce keeps the policy the same on every
 * response, so it is built once instead of on every request.
 */
function govukInlineScriptHash(): string {
  const template = fs.readFileSync(path.join(govukDist, 'govuk/template.njk'), 'utf8');
  const script = /<script[^>]*cspNonce[^>]*>([^<]*)<\/script>/.exec(template)?.[1];
  if (script === undefined) throw new Error("govuk-frontend's template.njk has no inline script where one was expected");
  return `'sha256-${createHash('sha256').update(script).digest('base64')}'`;
}
/**
 * Where templates are found by name: the ui layer's (the layout, shared partials and macros, error
 * pages) first, then every module's own `src/<module>/views/`. Found by looking, not by importing,
 * so the ground floor names no module. A name must be in one folder only (nunjucks would quietly
 * take the first): test/template-names.test.ts checks.
 */
export const viewFolders: readonly string[] = [
  path.join(srcDir, 'ui', 'views'),
  ...fs
    .readdirSync(srcDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'ui')
    .map((entry) => path.join(srcDir, entry.name, 'views'))
    .filter((folder) => fs.existsSync(folder))
    .sort(),
];
const publicDir = path.join(repoRoot, 'src', 'web', 'public');

/** A page-level refusal with a status and a message safe to show (no personal data). */
export class HttpError extends Refusal {
  constructor(statusCode: number, message: string) {
    super(statusCode, message);
  }
}

/** Any signed-in user; the access decision then says what they may see (and audits refusals). */
export function requireSignedIn(request: FastifyRequest): SignedInUser {
  if (!request.user) throw new HttpError(401, 'Sign in to continue.');
  return request.user;
}

export function requireRole(request: FastifyRequest, ...allowed: SignedInUser['role'][]): SignedInUser {
  const user = request.user;
  if (!user) throw new HttpError(401, 'Sign in to continue.');
  if (!allowed.includes(user.role)) throw new HttpError(403, 'Your role does not give access to this page.');
  return user;
}

// Formatters are built once: toLocale*String with options builds a new one on every call,
// which dominated rendering a long timeline.
const numberFormat = new Intl.NumberFormat('en-GB');
const dateTimeOptions: Intl.DateTimeFormatOptions = {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'Europe/London',
};
const dateTimeFormats: Record<Language, Intl.DateTimeFormat> = {
  en: new Intl.DateTimeFormat('en-GB', dateTimeOptions),
  cy: new Intl.DateTimeFormat('cy', dateTimeOptions),
};

/** The page's language, from the template context a filter or global is called with (English in a macro imported without context). */
function languageOfTemplate(context: unknown): Language {
  const lang = (context as { ctx?: { lang?: unknown } } | undefined)?.ctx?.lang;
  return isLanguage(lang) ? lang : 'en';
}

/** View filters shared by every template, and the one sentence saying why a figure is suppressed. */
export function addViewFilters(env: nunjucks.Environment): void {
  env.addGlobal('suppressionNote', SUPPRESSION_NOTE);
  // t("page.key", { name: ..., count: ... }): the message in the page's language (platform/i18n).
  env.addGlobal('t', function (this: unknown, key: unknown, values?: Record<string, unknown>) {
    return translatorFor(languageOfTemplate(this))(String(key), values);
  });
  // tText(message): English words another module produced (a refusal, a form error) in the page's language, when the catalogue's byText has them.
  env.addGlobal('tText', function (this: unknown, text: unknown) {
    return text === undefined || text === null ? text : translateText(languageOfTemplate(this), String(text));
  });
  // tList(codes, "categoryWords."): each code's message, listed in the page's language ("health and
  // housing", "iechyd a thai"), for sentences a module gives as codes rather than English words.
  env.addGlobal('tList', function (this: unknown, codes: unknown, prefix: unknown) {
    const language = languageOfTemplate(this);
    const t = translatorFor(language);
    const list = Array.isArray(codes) ? codes.map((code) => t(`${String(prefix ?? '')}${String(code)}`)) : [];
    return listWords(list, language);
  });
  // pagination | tPagination: a route's GOV.UK pagination with "Previous", "Next" and its landmark label in the page's language.
  env.addFilter('tPagination', function (this: unknown, value: unknown) {
    const language = languageOfTemplate(this);
    if (language === 'en' || value === null || typeof value !== 'object') return value;
    const t = translatorFor(language);
    const p = value as Record<string, unknown>;
    return {
      ...p,
      previous: p.previous ? { text: t('common.previous'), ...(p.previous as object) } : p.previous,
      next: p.next ? { text: t('common.next'), ...(p.next as object) } : p.next,
      landmarkLabel: typeof p.landmarkLabel === 'string' ? translateText(language, p.landmarkLabel) : t('common.pagination'),
    };
  });
  // items | tItems: GOV.UK items (error lists, radios, checkboxes, selects) a route built in English, with their
  // text, hints and dividers in the page's language (byText), the same way.
  env.addFilter('tItems', function (this: unknown, items: unknown) {
    if (!Array.isArray(items)) return items;
    const language = languageOfTemplate(this);
    if (language === 'en') return items;
    const words = (value: unknown) => (typeof value === 'string' ? translateText(language, value) : value);
    return items.map((item: unknown) => {
      if (item === null || typeof item !== 'object') return item;
      const copy: Record<string, unknown> = { ...(item as Record<string, unknown>) };
      if ('text' in copy) copy.text = words(copy.text);
      if ('divider' in copy) copy.divider = words(copy.divider);
      if (copy.hint && typeof copy.hint === 'object')
        copy.hint = { ...(copy.hint as Record<string, unknown>), text: words((copy.hint as Record<string, unknown>).text) };
      // A GOV.UK date input's day, month and year, which the component would otherwise label in English.
      if (!('label' in copy) && (copy.name === 'day' || copy.name === 'month' || copy.name === 'year'))
        copy.label = translatorFor(language)(`common.date.${copy.name}`);
      return copy;
    });
  });
  env.addFilter('number', (value: unknown) => (typeof value === 'number' ? numberFormat.format(value) : String(value ?? '')));
  env.addFilter('date', function (this: unknown, value: unknown) {
    if (!value) return '';
    const d = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(d.getTime())) return String(value);
    return writtenDate(d, languageOfTemplate(this));
  });
  env.addFilter('datetime', function (this: unknown, value: unknown) {
    if (!value) return '';
    const d = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(d.getTime())) return String(value);
    return dateTimeFormats[languageOfTemplate(this)].format(d);
  });
  env.addFilter('humanise', (value: unknown) => {
    const s = String(value ?? '').replace(/_/g, ' ');
    return s.charAt(0).toUpperCase() + s.slice(1);
  });
}

export async function buildHttpServer(
  context: AppContext,
  logger: Logger,
  userForSession: SessionLookup,
  userForSessionWith?: SessionLookupWith,
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Fastify's own request lines carry the full URL (with search terms): ours do not.
    logController: new LogController({ disableRequestLogging: true }),
    // Forwarded headers are believed only from the proxies configured: otherwise any client could
    // name its own address (and dodge the per-address sign-in limit with each request).
    trustProxy: context.config.trustedProxies.length > 0 ? context.config.trustedProxies : false,
    genReqId: () => randomUUID(),
    bodyLimit: 1_048_576,
  });
  app.decorate('joinery', context);
  app.decorateRequest('user', undefined);
  app.decorateRequest('sessionToken', undefined);
  app.decorateRequest('sessionBeside', undefined);
  app.decorateRequest('language', 'en');
  const routeList: Array<{ method: string; url: string }> = [];
  app.decorate('routeList', routeList);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routeList.push({ method, url: route.url });
  });

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", govukInlineScriptHash()],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        upgradeInsecureRequests: context.config.secureCookies ? [] : null,
      },
    },
    strictTransportSecurity: context.config.secureCookies,
  });
  await app.register(fastifyCookie);
  await app.register(fastifyCsrf, {
    cookieKey: 'joinery_csrf',
    cookieOpts: { httpOnly: true, sameSite: 'lax', secure: context.config.secureCookies, path: '/' },
    getToken: (request) =>
      (request.body as Record<string, string> | undefined)?._csrf ?? (request.headers['x-csrf-token'] as string | undefined),
    // Tokens are bound to the session they were issued in, so a token (and CSRF cookie) from
    // another session, planted or stolen, does not work. The HMAC key needs no secrecy: what an
    // attacker lacks is the session token inside it. It is the same in every process.
    getUserInfo: csrfUserInfo,
    csrfOpts: { hmacKey: 'joinery-csrf-session-binding' },
  });
  await app.register(fastifyFormbody);
  await app.register(fastifyRateLimit, { global: false });
  await app.register(fastifyStatic, {
    root: path.join(govukDist, 'govuk', 'assets'),
    prefix: '/assets/',
    decorateReply: false,
    maxAge: '1d',
  });
  await app.register(fastifyStatic, { root: publicDir, prefix: '/static/', decorateReply: false, maxAge: '1h' });
  await app.register(fastifyStatic, {
    root: path.join(govukDist, 'govuk'),
    prefix: '/govuk/',
    decorateReply: false,
    allowedPath: (p) => p === '/govuk-frontend.min.css' || p === '/govuk-frontend.min.js',
    maxAge: '1d',
  });
  await app.register(fastifyView, {
    engine: { nunjucks },
    templates: [...viewFolders, govukDist],
    options: { autoescape: true, onConfigure: addViewFilters },
  });

  // Who is signed in: from the session cookie, looked up in the database on every request (with
  // the route's first read beside it, when it names one).
  app.addHook('onRequest', async (request) => {
    const token = request.cookies[SESSION_COOKIE];
    if (!token) return;
    const beside = userForSessionWith ? request.routeOptions.config?.sessionBeside?.(request) : undefined;
    if (beside) {
      const found = await userForSessionWith!(context.database.db, token, beside);
      if (found) {
        request.user = found.user;
        request.sessionToken = token;
        request.sessionBeside = found.beside;
      }
      return;
    }
    const user = await userForSession(context.database.db, token);
    if (user) {
      request.user = user;
      request.sessionToken = token;
    }
  });

  // The language of a resident's pages: ?lang=cy (remembered in a cookie for a year), else the
  // cookie, else Accept-Language. Professional pages are English only for now, so a practitioner's
  // page never claims to be Welsh.
  app.addHook('onRequest', async (request, reply) => {
    if (request.user && request.user.role !== 'citizen') return;
    const { language, chosenNow } = chooseLanguage({
      query: (request.query as Record<string, unknown> | undefined)?.lang,
      cookie: request.cookies[LANGUAGE_COOKIE],
      acceptLanguage: request.headers['accept-language'],
    });
    request.language = language;
    if (chosenNow) {
      reply.setCookie(LANGUAGE_COOKIE, language, {
        path: '/',
        maxAge: 365 * 86_400,
        sameSite: 'lax',
        httpOnly: true,
        secure: context.config.secureCookies,
      });
    }
  });

  // NUL characters are refused before anything reads them: PostgreSQL cannot store them in text,
  // so they would otherwise end as a database error (a 500) wherever they reach a query.
  app.addHook('preValidation', async (request) => {
    if (holdsNul(request.params) || holdsNul(request.query) || holdsNul(request.body)) {
      throw new HttpError(400, 'Text sent to Joinery cannot contain NUL characters. Remove them and try again.');
    }
  });

  // Every state-changing form is CSRF-protected.
  app.addHook('preHandler', (request, reply, done) => {
    if (request.method === 'POST' && request.routeOptions.config?.csrf !== false) {
      app.csrfProtection(request, reply, done);
    } else done();
  });

  // One access log line per request: the route pattern (/people/:id, never the person's id) and
  // the status; never the path itself, query strings or bodies.
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        path: routeOf(request),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        role: request.user?.role,
      },
      'request',
    );
  });

  app.setNotFoundHandler(async (request, reply) => {
    const t = translatorFor(request.language);
    return renderError(request, reply, 404, t('errors.notFound.title'), t('errors.notFound.message'));
  });

  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string; validation?: unknown }, request, reply) => {
    // Every refusal carries its own status and a message meant for users (platform/refused.ts).
    const refusal = error instanceof Refusal && error.status < 500 ? error : undefined;
    const status = refusal ? refusal.status : (error.statusCode ?? 500);
    if (status === 401 && !request.url.startsWith('/api/')) {
      return reply.redirect(`/sign-in?next=${encodeURIComponent(pathOnly(request.url))}`);
    }
    if (status >= 500) {
      // Log the failure by reference and route, without the path's ids, the request body or query.
      request.log.error({ err: errorForLog(error), path: routeOf(request) }, 'request failed');
      const t = translatorFor(request.language);
      return renderError(request, reply, 500, t('errors.unavailable.title'), t('errors.unavailable.message', { reference: request.id }));
    }
    const t = translatorFor(request.language);
    const message = refusal
      ? translateText(request.language, refusal.message)
      : error.code === 'FST_CSRF_INVALID_TOKEN' || error.code === 'FST_CSRF_MISSING_SECRET'
        ? t('errors.formExpired')
        : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? t('errors.mediaType')
          : status === 413
            ? t('errors.tooLarge')
            : status === 429
              ? t('errors.tooMany')
              : t('errors.couldNotHandle');
    return renderError(request, reply, status, status === 403 ? t('errors.forbidden.title') : t('errors.problem.title'), message);
  });

  app.get('/health', async (_request, reply) => {
    const started = process.hrtime.bigint();
    try {
      await sql`select 1`.execute(context.database.db);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      return { status: 'ok', database: { status: 'ok', kind: context.database.kind, latencyMs: Math.round(ms * 10) / 10 } };
    } catch {
      return reply.code(503).send({ status: 'unavailable', database: { status: 'unreachable', kind: context.database.kind } });
    }
  });

  return app;
}

/** What a CSRF token is bound to: the session it was issued in, or none before sign-in. */
function csrfUserInfo(request: FastifyRequest): string {
  return request.sessionToken ? `session:${request.sessionToken}` : 'signed-out';
}

/** The route pattern a request matched, e.g. /people/:id: what logs name instead of the path. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? '(no route)';
}

/** Whether a parsed query, form or JSON body holds a NUL character anywhere (uploads of raw bytes are not looked in). */
export function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (
    depth > 64 ||
    value === null ||
    typeof value !== 'object' ||
    ArrayBuffer.isView(value) ||
    typeof (value as { pipe?: unknown }).pipe === 'function'
  )
    return false;
  if (Array.isArray(value)) return value.some((v) => holdsNul(v, depth + 1));
  for (const [key, v] of Object.entries(value)) if (key.includes('\u0000') || holdsNul(v, depth + 1)) return true;
  return false;
}

/**
 * A per-user request budget for a machine API (/fhir, /api): keyed by the bearer token's user,
 * or the address when there is none. Added as a preHandler, after the API has found the user.
 */
export function apiRateLimit(app: FastifyInstance, api: string) {
  return app.rateLimit({
    max: app.joinery.config.apiRequestsPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `${api}:${request.user ? `user:${request.user.id}` : `address:${request.ip}`}`,
  });
}

export function viewContext(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const lang = request.language;
  reply.header('content-language', lang);
  // The switcher is shown on pages a resident sees (signed out, or as a citizen): professional pages are English only.
  const resident = !request.user || request.user.role === 'citizen';
  const currentPath = pathOnly(request.url);
  return {
    user: request.user,
    lang,
    htmlLang: lang,
    languageLinks: resident ? languageLinks(request.url, lang) : [],
    currentPath,
    navigation: navigationFor(request.user?.role, currentPath, translatorFor(lang)),
    csrfToken: reply.generateCsrf({ userInfo: csrfUserInfo(request) }),
    ...extra,
  };
}

export async function renderError(request: FastifyRequest, reply: FastifyReply, status: number, title: string, message: string) {
  if (request.url.startsWith('/api/') || request.headers.accept === 'application/json') {
    return reply.code(status).type('application/json').send({ error: title, message });
  }
  try {
    const html = await reply.viewAsync('error.njk', viewContext(request, reply, { title, message, status }));
    return reply.code(status).type('text/html; charset=utf-8').send(html);
  } catch (error) {
    // Even if the error page cannot render, never show internals: plain words only.
    request.log.error({ err: errorForLog(error as Error), path: routeOf(request) }, 'error page failed to render');
    return reply.code(status).type('text/plain; charset=utf-8').send(`${title}. ${message}`);
  }
}
