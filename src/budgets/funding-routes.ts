// Who pays, over HTTP: a person's funding decisions (and a form for budget holders to record
// one), one decision's history with its ledger postings, disputing a share and resolving a
// dispute. Thin: parse, call the use case (which decides access itself), render.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, requireSignedIn, viewContext } from '../platform/http.ts';
import { personSummary } from '../people/index.ts';
import {
  disputeShare,
  fundingDecision,
  fundingDecisionsOf,
  FundingInputError,
  fundingPartners,
  FundingRefused,
  recordFundingDecision,
  resolveDispute,
} from './funding.ts';
import { registerHouseholdBudgetRoutes } from './household-budget-routes.ts';
import { formBody, parseForm } from '../platform/forms.ts';
import { disputeForm, fundingDecisionForm, resolutionForm } from './forms.ts';

/** The first of a refused form's messages, with its field: these pages show one at a time. */
const firstError = (fieldErrors: Record<string, string>) => {
  const [field, text] = Object.entries(fieldErrors)[0]!;
  return { field, text };
};
const idPattern = /^[A-Za-z0-9_-]{1,80}$/;
const today = () => new Date().toISOString().slice(0, 10);
// Pounds and pence: a share of a package is an exact amount, and ledger credits show as negative.
const money = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP' });
const formatPounds = (pence: number): string => money.format(pence / 100);

function idParam(request: FastifyRequest, message: string): string {
  const id = (request.params as { id?: string }).id ?? '';
  if (!idPattern.test(id)) throw new HttpError(404, message);
  return id;
}

const refusedAsHttp = (error: unknown): never => {
  if (error instanceof FundingRefused) throw new HttpError(403, error.message);
  throw error;
};

export function registerFundingRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;
  // Households in charge: a budget the household holds together (household-budget-routes.ts).
  registerHouseholdBudgetRoutes(app);

  async function personPage(
    request: FastifyRequest,
    reply: FastifyReply,
    personId: string,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const user = requireRole(request, 'practitioner', 'citizen');
    const funding = await fundingDecisionsOf(db, user, personId).catch(refusedAsHttp);
    const person = await personSummary(db, personId);
    if (!person) throw new HttpError(404, 'There is no such person.');
    const partners = funding.holderOf.length > 0 ? await fundingPartners(db) : [];
    return reply.code(status).view(
      'budgets-funding.njk',
      viewContext(request, reply, {
        title: 'Who pays',
        personId,
        personName: `${person.givenName} ${person.familyName}`,
        decisions: funding.decisions,
        partners,
        canDecide: funding.holderOf.length > 0,
        ownOnly: funding.access.visibleOrganisationIds !== 'all',
        gbp: formatPounds,
        values: { decided: today() },
        ...extra,
      }),
    );
  }

  app.get('/people/:id/funding', async (request, reply) =>
    personPage(request, reply, idParam(request, 'There is no such person.'), { done: (request.query as { done?: string }).done }),
  );

  app.post('/people/:id/funding', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = idParam(request, 'There is no such person.');
    const body = formBody(request);
    const partners = await fundingPartners(db);
    const form = parseForm(fundingDecisionForm(partners.map((p) => p.id)), body);
    // Shown again on the person's page, which decides first whether this user may see it at all.
    if (!form.ok) return personPage(request, reply, personId, { error: firstError(form.fieldErrors), values: body }, 400);
    try {
      const id = await recordFundingDecision(db, user, { personId, ...form.value }).catch(refusedAsHttp);
      return reply.redirect(`/funding/${encodeURIComponent(id)}?done=recorded`);
    } catch (error) {
      if (error instanceof FundingInputError)
        return personPage(request, reply, personId, { error: { field: error.field, text: error.message }, values: body }, error.status);
      throw error;
    }
  });

  async function decisionPage(
    request: FastifyRequest,
    reply: FastifyReply,
    decisionId: string,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const user = requireSignedIn(request);
    const view = await fundingDecision(db, user, decisionId).catch((error: unknown) => {
      if (error instanceof FundingInputError && error.status === 404) throw new HttpError(404, error.message);
      return refusedAsHttp(error);
    });
    const person = await personSummary(db, view.decision.personId);
    const sharePartners = view.decision.current.shares.map((s) => s.partnerId);
    const mayDispute =
      view.decision.openDispute === null ? view.decision.current.shares.filter((s) => view.holderOf.includes(s.partnerId)) : [];
    const open = view.decision.openDispute;
    const mayResolve = open !== null && view.holderOf.some((p) => p !== open.partnerId && sharePartners.includes(p));
    const partners = mayResolve ? view.decision.current.shares : [];
    return reply.code(status).view(
      'budgets-funding-decision.njk',
      viewContext(request, reply, {
        title: view.decision.package,
        decision: view.decision,
        personName: person ? `${person.givenName} ${person.familyName}` : '',
        mayDispute,
        mayResolve,
        partners,
        gbp: formatPounds,
        values: { decided: today() },
        done: (request.query as { done?: string }).done,
        ...extra,
      }),
    );
  }

  app.get('/funding/:id', async (request, reply) => decisionPage(request, reply, idParam(request, 'There is no such funding decision.')));

  app.post('/funding/:id/disputes', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const decisionId = idParam(request, 'There is no such funding decision.');
    const body = formBody(request);
    const form = parseForm(disputeForm, body);
    // Shown again on the decision's page, which decides first whether this user may see it at all.
    if (!form.ok) return decisionPage(request, reply, decisionId, { error: firstError(form.fieldErrors), values: body }, 400);
    try {
      await disputeShare(db, user, decisionId, { partnerId: form.value.partner, reason: form.value.reason }).catch(refusedAsHttp);
    } catch (error) {
      if (error instanceof FundingInputError && error.status !== 404)
        return decisionPage(request, reply, decisionId, { error: { field: error.field, text: error.message }, values: body }, error.status);
      throw error;
    }
    return reply.redirect(`/funding/${encodeURIComponent(decisionId)}?done=disputed`);
  });

  app.post('/funding/:id/disputes/:dispute/resolution', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const decisionId = idParam(request, 'There is no such funding decision.');
    const disputeId = Number((request.params as { dispute: string }).dispute);
    if (!Number.isSafeInteger(disputeId) || disputeId <= 0) throw new HttpError(404, 'There is no such dispute.');
    const body = formBody(request);
    const form = parseForm(resolutionForm, body);
    if (!form.ok) return decisionPage(request, reply, decisionId, { error: firstError(form.fieldErrors), values: body }, 400);
    try {
      await resolveDispute(db, user, decisionId, disputeId, form.value).catch(refusedAsHttp);
    } catch (error) {
      if (error instanceof FundingInputError && error.status !== 404)
        return decisionPage(request, reply, decisionId, { error: { field: error.field, text: error.message }, values: body }, error.status);
      throw error;
    }
    return reply.redirect(`/funding/${encodeURIComponent(decisionId)}?done=resolved`);
  });
}
