// The pages for following a request made without signing in (request-accounts.ts decides):
// the confirmation page's "Create an account to follow this request", the emailed link's page,
// "Your requests" with every step and the conversation with the service, the receiving team's
// reply from the referral's page, and the page an account not yet tied to a person gets instead
// of any record ("We need to confirm who you are").
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { successFrom, withDone } from '../platform/done.ts';
import { PASSWORD_MIN_LENGTH, SignUpRefused, type SignUpFieldError } from '../auth/index.ts';
import {
  createRequestAccount,
  offerRequestAccount,
  REQUEST_ACCOUNT_LINK_HOURS,
  requestAccountLinkFor,
  requestOfAccount,
  requestsOfAccount,
  RequestMessageRefused,
  writeRequesterMessage,
  writeServiceMessage,
  canOfferRequestAccount,
} from './request-accounts.ts';
import { formBody } from '../platform/forms.ts';
import { requestAccountForm, requestMessageForm } from './forms.ts';

type Body = Record<string, unknown>;
const text = (value: unknown, max: number) => (typeof value === 'string' ? value.slice(0, max) : '');
const tokenOf = (request: FastifyRequest) => String((request.params as { token?: string }).token ?? '');
const referenceOf = (request: FastifyRequest) => String((request.params as { reference?: string }).reference ?? '').toUpperCase();
const ID = /^[A-Za-z0-9_-]{1,80}$/;

/** The same budget as the form the request was made with: a script cannot mail an address over and over. */
const OFFER_RATE_LIMIT = { max: 20, timeWindow: '1 hour', keyGenerator: (request: FastifyRequest) => `request-account:${request.ip}` };

/** Pages that show a person's record: an account not tied to a person gets the "confirm who you are" page instead. */
const RECORD_PAGES = /^\/(my-record|my-referrals|my-budget|my-plan)(\/|\?|$)/;

export function registerRequestAccountRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  app.addHook('preHandler', async (request, reply) => {
    const user = request.user;
    if (!user || user.role !== 'citizen' || user.personId) return;
    const path = request.url;
    if (path === '/home' || path.startsWith('/home?')) return reply.redirect('/my-requests');
    // Their own record's pages (no ?for=): asking for someone else's goes to the page, whose access decision refuses it on the record.
    if (RECORD_PAGES.test(path) && !/[?&]for=/.test(path)) {
      return reply.code(403).view(
        'referrals-confirm-identity.njk',
        viewContext(request, reply, {
          title: 'We need to confirm who you are before you can see your record',
          oidcName: app.joinery.config.oidc ? (app.joinery.config.oidc.providerName ?? 'NHS login') : null,
        }),
      );
    }
  });

  app.post('/services/:id/refer-yourself/sent/account', { config: { rateLimit: OFFER_RATE_LIMIT } }, async (request, reply) => {
    const id = (request.params as { id?: string }).id ?? '';
    if (!ID.test(id)) throw new HttpError(404, 'There is no such service in the directory.');
    const key = text((request.query as Record<string, unknown>).key, 40);
    // Read when asked: the address the server is reached at may be settled after start-up.
    const outcome = await db.transaction().execute((trx) => offerRequestAccount(trx, key, app.joinery.config.publicUrl));
    return reply.redirect(
      withDone(
        `/services/${encodeURIComponent(id)}/refer-yourself/sent?key=${encodeURIComponent(key)}`,
        outcome === 'sent' ? 'account_link' : 'account_link_not_possible',
      ),
    );
  });

  function expired(request: FastifyRequest, reply: FastifyReply) {
    return reply
      .code(410)
      .header('cache-control', 'no-store')
      .view(
        'referrals-request-account.njk',
        viewContext(request, reply, { title: 'This link has expired', expired: true, hours: REQUEST_ACCOUNT_LINK_HOURS }),
      );
  }

  function form(
    request: FastifyRequest,
    reply: FastifyReply,
    link: { reference: string; email: string },
    values: { username: string },
    errors: SignUpFieldError[] = [],
  ) {
    const errorOf = (field: string) => errors.find((e) => e.field === field)?.message;
    return reply
      .code(errors.length ? 400 : 200)
      .header('cache-control', 'no-store')
      .view(
        'referrals-request-account.njk',
        viewContext(request, reply, {
          title: `${errors.length ? 'Error: ' : ''}Create your account to follow your request`,
          token: tokenOf(request),
          reference: link.reference,
          email: link.email,
          values,
          errors,
          errorOf,
          minLength: PASSWORD_MIN_LENGTH,
          errorList: errors.map((e) => ({ text: e.message, href: `#${e.field}` })),
        }),
      );
  }

  app.get('/my-requests/create-account/:token', async (request, reply) => {
    const link = await requestAccountLinkFor(db, tokenOf(request));
    return link ? form(request, reply, link, { username: '' }) : expired(request, reply);
  });

  app.post('/my-requests/create-account/:token', async (request, reply) => {
    const link = await requestAccountLinkFor(db, tokenOf(request));
    if (!link) return expired(request, reply);
    const input = requestAccountForm.parse(formBody(request));
    try {
      const made = await createRequestAccount(db, tokenOf(request), input);
      if (!made) return expired(request, reply);
      return reply.redirect(`/sign-in?next=${encodeURIComponent(`/my-requests/${made.reference}`)}`);
    } catch (error) {
      if (!(error instanceof SignUpRefused)) throw error;
      return form(request, reply, link, { username: input.username }, error.errors);
    }
  });

  app.get('/my-requests', async (request, reply) => {
    const user = requireRole(request, 'citizen');
    const requests = await requestsOfAccount(db, user);
    return reply.view(
      'referrals-my-requests.njk',
      viewContext(request, reply, {
        title: 'Your requests for help',
        requests,
        confirmed: Boolean(user.personId),
        oidcName: app.joinery.config.oidc ? (app.joinery.config.oidc.providerName ?? 'NHS login') : null,
      }),
    );
  });

  async function renderRequest(request: FastifyRequest, reply: FastifyReply, values: Body = {}, error: string | null = null) {
    const user = requireRole(request, 'citizen');
    const r = await requestOfAccount(db, user, referenceOf(request));
    return reply.code(error ? 400 : 200).view(
      'referrals-my-request.njk',
      viewContext(request, reply, {
        title: `${error ? 'Error: ' : ''}Your request ${r.reference}`,
        r,
        values,
        error,
        confirmed: Boolean(user.personId),
        success: error
          ? null
          : successFrom(request, { message: { heading: 'Message sent', text: `${r.organisation} can read it on your request's page.` } }),
      }),
    );
  }

  app.get('/my-requests/:reference', async (request, reply) => renderRequest(request, reply));

  app.post('/my-requests/:reference/messages', async (request, reply) => {
    const user = requireRole(request, 'citizen');
    const body = formBody(request);
    try {
      const { message } = requestMessageForm.parse(body);
      await db.transaction().execute((trx) => writeRequesterMessage(trx, user, referenceOf(request), message));
    } catch (error) {
      if (error instanceof RequestMessageRefused) return renderRequest(request, reply, body, error.message);
      throw error;
    }
    return reply.redirect(withDone(`/my-requests/${referenceOf(request)}`, 'message'));
  });
}

/** The receiving team's message to the one who asked, from the referral's page (registered with the referral pages so its form errors render there). */
export async function postServiceMessage(
  app: FastifyInstance,
  request: FastifyRequest,
  id: string,
): Promise<{ error: string | null; values: Body }> {
  const user = requireRole(request, 'practitioner');
  const body = formBody(request);
  try {
    const { message } = requestMessageForm.parse(body);
    await app.joinery.database.db.transaction().execute((trx) => writeServiceMessage(trx, user, id, message));
    return { error: null, values: {} };
  } catch (error) {
    if (error instanceof RequestMessageRefused) return { error: error.message, values: body };
    throw error;
  }
}

/** What the confirmation page offers about an account: 'offer' (a button), 'sent' or 'not_possible' after it was pressed, or nothing. */
export async function accountOfferFor(
  db: FastifyInstance['joinery']['database']['db'],
  request: FastifyRequest,
  referralId: string,
): Promise<{ accountOffer: 'offer' | 'sent' | 'not_possible' | null; linkHours: number }> {
  const none = { accountOffer: null, linkHours: REQUEST_ACCOUNT_LINK_HOURS };
  if (request.user) return none;
  const done = (request.query as Record<string, unknown>).done;
  if (done === 'account_link') return { accountOffer: 'sent', linkHours: REQUEST_ACCOUNT_LINK_HOURS };
  if (done === 'account_link_not_possible') return { accountOffer: 'not_possible', linkHours: REQUEST_ACCOUNT_LINK_HOURS };
  return (await canOfferRequestAccount(db, referralId)) ? { accountOffer: 'offer', linkHours: REQUEST_ACCOUNT_LINK_HOURS } : none;
}
