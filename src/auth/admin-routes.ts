// The administrators' accounts pages: every account with its state, searched and filtered a page
// at a time; creating an account (role, organisation, team) with a one-time link for the person
// to set their own password; a new link for a forgotten password; unlocking an account locked
// after failed sign-ins; and disabling one (with a reason) or enabling it again. Disabling ends
// the account's sessions and tokens at once (accounts.ts); an administrator never disables their
// own account. Every route is for administrators only, every form carries its CSRF token, and
// every change is audited (accounts.ts, account-admin.ts). The set-password page the link opens
// is in password-link-routes.ts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import {
  AccountInputError,
  accountForAdmin,
  accountStates,
  disableAccount,
  enableAccount,
  listAccounts,
  type AccountListing,
  type AccountState,
} from './accounts.ts';
import {
  AccountFormRefused,
  PASSWORD_LINK_HOURS,
  createAccountWithLink,
  creatableRoles,
  issuePasswordLink,
  roleHints,
  roleLabels,
  unlockAccount,
  type NewAccountInput,
  type PasswordLink,
} from './account-admin.ts';
import { registerPasswordLinkRoutes } from './password-link-routes.ts';
import type { AuthPorts } from './ports.ts';
import { roles, type Role } from './schema.ts';
import { allOrganisations, teamsWithOrganisation } from '../network/index.ts';
import { pageHref, pagination, showing } from '../platform/pagination.ts';
import { formBody, parseForm, type FormBody } from '../platform/forms.ts';
import { disableAccountForm, newAccountForm } from './forms.ts';

function accountIdParam(request: FastifyRequest): string {
  const id = (request.params as { id?: string }).id ?? '';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HttpError(404, 'There is no such account.');
  return id;
}

/** A refusal from accounts.ts, shown as the page's error with its status. */
/** parseForm's messages by field, as the new-account page lists them (the same shape as the records' refusals). */
const problemsOf = (fieldErrors: Record<string, string>) => Object.entries(fieldErrors).map(([field, message]) => ({ field, message }));

function asHttpError(error: unknown): never {
  if (error instanceof AccountInputError) throw new HttpError(error.status, error.message);
  throw error;
}

const one = (value: unknown): string =>
  typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : '';

const doneMessages: Record<string, string> = {
  disabled: 'The account is disabled. They have been signed out and their API tokens no longer work.',
  enabled: 'The account is enabled. They can sign in again; their old sessions and API tokens stay ended.',
  unlocked: 'The account is unlocked. They can sign in again now.',
  'not-locked': 'The account was not locked, so nothing changed.',
};

const stateLabels: Record<AccountState, string> = {
  active: 'Active',
  locked: 'Locked after failed sign-ins',
  disabled: 'Disabled',
  left: 'Left the network',
};

export function registerAccountAdminRoutes(app: FastifyInstance, ports: Pick<AuthPorts, 'revokeApiTokens'>): void {
  const { database } = app.joinery;
  const db = database.db;

  async function accountOr404(id: string): Promise<AccountListing> {
    const account = await accountForAdmin(db, id);
    if (!account) throw new HttpError(404, 'There is no such account.');
    return account;
  }

  function renderDisable(
    request: FastifyRequest,
    reply: FastifyReply,
    account: AccountListing,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    return reply.code(status).view(
      'admin-account-disable.njk',
      viewContext(request, reply, {
        title: `${extra.error ? 'Error: ' : ''}Disable the account ${account.username}`,
        account,
        ...extra,
      }),
    );
  }

  /** The link page: shown once, never cached, never stored. */
  function renderLink(request: FastifyRequest, reply: FastifyReply, account: AccountListing, link: PasswordLink, created: boolean) {
    return reply
      .code(created ? 201 : 200)
      .header('cache-control', 'no-store')
      .view(
        'admin-account-link.njk',
        viewContext(request, reply, {
          title: created ? `Account created for ${account.username}` : `New link to set a password for ${account.username}`,
          account,
          created,
          hours: PASSWORD_LINK_HOURS,
          expiresAt: link.expiresAt,
          url: `${app.joinery.config.publicUrl}/set-password/${link.token}`,
          roleLabel: roleLabels[account.role],
        }),
      );
  }

  app.get('/admin/accounts', async (request, reply) => {
    requireRole(request, 'admin');
    const query = (request.query ?? {}) as Record<string, unknown>;
    const q = one(query.q)
      .replace(/[\p{Cc}\p{Cf}]/gu, ' ')
      .trim()
      .slice(0, 100);
    const role = (roles as readonly string[]).includes(one(query.role)) ? (one(query.role) as Role) : undefined;
    const state = (accountStates as readonly string[]).includes(one(query.state)) ? (one(query.state) as AccountState) : undefined;
    const pageRaw = one(query.page);
    const page = /^\d{1,6}$/.test(pageRaw) ? Number(pageRaw) : 1;
    const result = await listAccounts(db, { q, role, state, page });
    const done = one(query.done);
    const href = pageHref('/admin/accounts', { q, role, state });
    return reply.view(
      'admin-accounts.njk',
      viewContext(request, reply, {
        title: 'Accounts',
        ...result,
        q,
        role: role ?? '',
        state: state ?? '',
        ...showing(result.page, result.perPage, result.matching, result.accounts.length),
        filtered: Boolean(q || role || state),
        done: doneMessages[done] ?? null,
        roleLabels,
        stateLabels,
        roleItems: [{ value: '', text: 'Any role' }, ...roles.map((r) => ({ value: r, text: roleLabels[r], selected: r === role }))],
        stateItems: [
          { value: '', text: 'Any state' },
          ...accountStates.map((s) => ({ value: s, text: stateLabels[s], selected: s === state })),
        ],
        pagination: pagination(result.page, result.pages, href),
      }),
    );
  });

  async function renderNew(
    request: FastifyRequest,
    reply: FastifyReply,
    values: Partial<NewAccountInput> | FormBody,
    errors: Array<{ field: string; message: string }> = [],
    status = 200,
  ) {
    const [organisations, teams] = await Promise.all([allOrganisations(db), teamsWithOrganisation(db)]);
    const errorOf = (field: string) => errors.find((e) => e.field === field)?.message;
    return reply.code(status).view(
      'admin-account-new.njk',
      viewContext(request, reply, {
        title: `${errors.length ? 'Error: ' : ''}Create an account`,
        values,
        errors,
        errorOf,
        errorList: errors.map((e) => ({ text: e.message, href: `#${e.field === 'role' ? 'role' : e.field}` })),
        roleItems: creatableRoles.map((r) => ({ value: r, text: roleLabels[r], hint: { text: roleHints[r] }, checked: values.role === r })),
        organisationItems: [
          { value: '', text: 'Choose an organisation' },
          ...organisations.map((o) => ({ value: o.id, text: o.name, selected: o.id === values.organisationId })),
        ],
        teamItems: [
          { value: '', text: 'Choose a team' },
          ...teams.map((t) => ({ value: t.id, text: `${t.name} (${t.organisation})`, selected: t.id === values.teamId })),
        ],
      }),
    );
  }

  app.get('/admin/accounts/new', async (request, reply) => {
    requireRole(request, 'admin');
    return renderNew(request, reply, {});
  });

  app.post('/admin/accounts/new', async (request, reply) => {
    const admin = requireRole(request, 'admin');
    const body = formBody(request);
    const form = parseForm(newAccountForm, body);
    if (!form.ok) return renderNew(request, reply, body, problemsOf(form.fieldErrors), 400);
    try {
      const { userId, link } = await db.transaction().execute((trx) => createAccountWithLink(trx, admin, form.value));
      return renderLink(request, reply, await accountOr404(userId), link, true);
    } catch (error) {
      if (error instanceof AccountFormRefused) return renderNew(request, reply, body, error.errors, 400);
      asHttpError(error);
    }
  });

  app.post('/admin/accounts/:id/password-link', async (request, reply) => {
    const admin = requireRole(request, 'admin');
    const account = await accountOr404(accountIdParam(request));
    const link = await db
      .transaction()
      .execute((trx) => issuePasswordLink(trx, admin, account.id))
      .catch(asHttpError);
    return renderLink(request, reply, account, link, false);
  });

  app.post('/admin/accounts/:id/unlock', async (request, reply) => {
    const admin = requireRole(request, 'admin');
    const account = await accountOr404(accountIdParam(request));
    const changed = await db
      .transaction()
      .execute((trx) => unlockAccount(trx, admin, account.id))
      .catch(asHttpError);
    return reply.redirect(`/admin/accounts?done=${changed ? 'unlocked' : 'not-locked'}`);
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
    const body = formBody(request);
    const form = parseForm(disableAccountForm, body);
    if (!form.ok)
      return renderDisable(
        request,
        reply,
        account,
        { error: form.fieldErrors.reason, reason: typeof body.reason === 'string' ? body.reason : '' },
        400,
      );
    const { reason } = form.value;
    try {
      await disableAccount(db, ports, admin, account.id, reason);
    } catch (error) {
      // A missing or long reason is the form's to show; any other refusal is the page's.
      if (error instanceof AccountInputError && error.status === 400)
        return renderDisable(request, reply, account, { error: error.message, reason }, 400);
      asHttpError(error);
    }
    return reply.redirect('/admin/accounts?done=disabled');
  });

  app.post('/admin/accounts/:id/enable', async (request, reply) => {
    const admin = requireRole(request, 'admin');
    const account = await accountOr404(accountIdParam(request));
    await enableAccount(db, admin, account.id).catch(asHttpError);
    return reply.redirect('/admin/accounts?done=enabled');
  });

  registerPasswordLinkRoutes(app);
}
