// The administrators' accounts page: every account with its state, and disabling one (with a
// reason) or enabling it again. Disabling ends the account's sessions and tokens at once
// (accounts.ts); an administrator never disables their own account.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { AccountInputError, accountForAdmin, disableAccount, enableAccount, listAccounts, type AccountListing } from './accounts.ts';

function accountIdParam(request: FastifyRequest): string {
  const id = (request.params as { id?: string }).id ?? '';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HttpError(404, 'There is no such account.');
  return id;
}

/** A refusal from accounts.ts, shown as the page's error with its status. */
function asHttpError(error: unknown): never {
  if (error instanceof AccountInputError) throw new HttpError(error.status, error.message);
  throw error;
}

export function registerAccountAdminRoutes(app: FastifyInstance): void {
  const { database } = app.joinery;

  async function accountOr404(id: string): Promise<AccountListing> {
    const account = await accountForAdmin(database.db, id);
    if (!account) throw new HttpError(404, 'There is no such account.');
    return account;
  }

  function renderDisable(request: FastifyRequest, reply: FastifyReply, account: AccountListing, extra: Record<string, unknown> = {}, status = 200) {
    return reply.code(status).view('admin-account-disable.njk', viewContext(request, reply, {
      title: `${extra.error ? 'Error: ' : ''}Disable the account ${account.username}`, account, ...extra,
    }));
  }

  app.get('/admin/accounts', async (request, reply) => {
    requireRole(request, 'admin');
    const { accounts, total } = await listAccounts(database.db);
    const done = (request.query as Record<string, unknown>)?.done;
    return reply.view('admin-accounts.njk', viewContext(request, reply, {
      title: 'Accounts', accounts, total, done: done === 'disabled' || done === 'enabled' ? done : null,
    }));
  });

  app.get('/admin/accounts/:id/disable', async (request, reply) => {
    const admin = requireRole(request, 'admin');
    const account = await accountOr404(accountIdParam(request));
    if (account.id === admin.id) throw new HttpError(409, 'You cannot disable your own account. Ask another administrator.');
    if (account.state === 'disabled') return reply.redirect('/admin/accounts');
    return renderDisable(request, reply, account);
  });

  app.post('/admin/accounts/:id/disable', async (request, reply) => {
    const admin = requireRole(request, 'admin');
    const account = await accountOr404(accountIdParam(request));
    const raw = (request.body as Record<string, unknown> | undefined)?.reason;
    const reason = typeof raw === 'string' ? raw.slice(0, 2000) : '';
    try {
      await disableAccount(database.db, admin, account.id, reason);
    } catch (error) {
      // A missing or long reason is the form's to show; any other refusal is the page's.
      if (error instanceof AccountInputError && error.status === 400) return renderDisable(request, reply, account, { error: error.message, reason }, 400);
      asHttpError(error);
    }
    return reply.redirect('/admin/accounts?done=disabled');
  });

  app.post('/admin/accounts/:id/enable', async (request, reply) => {
    const admin = requireRole(request, 'admin');
    const account = await accountOr404(accountIdParam(request));
    await enableAccount(database.db, admin, account.id).catch(asHttpError);
    return reply.redirect('/admin/accounts?done=enabled');
  });
}
