// The administrators' pages for machines and feeds: every API token (never the token itself)
// with its account, dates and state, and revoking one; and how each agency's feed is doing
// (feed-health.ts). Administrators only, CSRF on the form, the revocation audited. No personal
// data: tokens name accounts, feeds are counts and dates.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { listApiTokens, revokeApiTokenAsAdmin, tokenStates, type TokenState } from './tokens.ts';
import { feedHealth, QUIET_AFTER_DAYS } from './feed-health.ts';
import { pageHref, pagination, showing } from '../platform/pagination.ts';

const one = (value: unknown): string => (typeof value === 'string' ? value : '');

const tokenStateLabels: Record<TokenState, string> = { live: 'Live', expired: 'Expired', revoked: 'Revoked' };
const doneMessages: Record<string, string> = {
  revoked: 'The token is revoked. Anything still using it is refused from its next request.',
  'not-live': 'The token was already revoked, so nothing changed.',
};

export function registerInteropAdminRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  app.get('/admin/tokens', async (request, reply) => {
    requireRole(request, 'admin');
    const query = (request.query ?? {}) as Record<string, unknown>;
    const state = (tokenStates as readonly string[]).includes(one(query.state)) ? (one(query.state) as TokenState) : undefined;
    const q = one(query.q)
      .replace(/[\p{Cc}\p{Cf}]/gu, ' ')
      .trim()
      .slice(0, 100);
    const page = /^\d{1,6}$/.test(one(query.page)) ? Number(one(query.page)) : 1;
    const result = await listApiTokens(db, { state, q, page });
    const href = pageHref('/admin/tokens', { q, state });
    return reply.view(
      'admin-tokens.njk',
      viewContext(request, reply, {
        title: 'API tokens',
        ...result,
        q,
        state: state ?? '',
        filtered: Boolean(q || state),
        ...showing(result.page, result.perPage, result.matching, result.tokens.length),
        done: doneMessages[one(query.done)] ?? null,
        tokenStateLabels,
        stateItems: [
          { value: '', text: 'Any state' },
          ...tokenStates.map((s) => ({ value: s, text: tokenStateLabels[s], selected: s === state })),
        ],
        pagination: pagination(result.page, result.pages, href),
      }),
    );
  });

  app.post('/admin/tokens/:id/revoke', async (request: FastifyRequest, reply) => {
    const admin = requireRole(request, 'admin');
    const id = (request.params as { id?: string }).id ?? '';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HttpError(404, 'There is no such API token.');
    const changed = await db.transaction().execute((trx) => revokeApiTokenAsAdmin(trx, admin, id));
    return reply.redirect(`/admin/tokens?done=${changed ? 'revoked' : 'not-live'}`);
  });

  app.get('/admin/feeds', async (request, reply) => {
    requireRole(request, 'admin');
    const feeds = await feedHealth(db);
    const count = (status: string) => feeds.filter((f) => f.status === status).length;
    return reply.view(
      'admin-feeds.njk',
      viewContext(request, reply, {
        title: 'Feed health',
        feeds,
        quietAfterDays: QUIET_AFTER_DAYS,
        summary: {
          failed: count('failed'),
          setAside: count('rows_set_aside'),
          quiet: count('quiet') + count('never'),
          working: count('working'),
        },
      }),
    );
  });
}
