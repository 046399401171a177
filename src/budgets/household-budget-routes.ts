// Household budgets over HTTP: the budget of a person's household with each adult's agreement,
// what is left and what was spent; forms to set one up, to give or withdraw agreement, and to
// record spending. Thin: parse, call the use case (which decides access itself), render.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { personSummary } from '../people/index.ts';
import {
  createHouseholdBudget,
  HouseholdBudgetInputError,
  HouseholdBudgetRefused,
  householdBudgetsOf,
  recordHouseholdAgreement,
  spendHouseholdBudget,
} from './household-budgets.ts';
import { formBody } from '../platform/forms.ts';

type Body = Record<string, unknown>;
const str = (v: unknown, max: number): string => (typeof v === 'string' ? v.trim().slice(0, max) : '');
const idPattern = /^[A-Za-z0-9_-]{1,80}$/;
const today = () => new Date().toISOString().slice(0, 10);
const money = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP' });
const gbp = (pence: number): string => money.format(pence / 100);

function pence(raw: unknown, field: string): number {
  const text = String(raw ?? '').replace(/[£,\s]/g, '');
  if (!/^\d{1,7}(\.\d{1,2})?$/.test(text))
    throw new HouseholdBudgetInputError(field, 'Enter an amount in pounds, for example 4800 or 120.50', 400);
  return Math.round(Number(text) * 100);
}

function param(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, string | undefined>)[name] ?? '';
  if (!idPattern.test(value)) throw new HttpError(404, 'There is no such page.');
  return value;
}

const refusedAsHttp = (error: unknown): never => {
  if (error instanceof HouseholdBudgetRefused) throw new HttpError(403, error.message);
  if (error instanceof HouseholdBudgetInputError && error.status === 404) throw new HttpError(404, error.message);
  throw error;
};

export function registerHouseholdBudgetRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  async function page(request: FastifyRequest, reply: FastifyReply, personId: string, extra: Record<string, unknown> = {}, status = 200) {
    const user = requireRole(request, 'practitioner', 'citizen');
    const budgets = await householdBudgetsOf(db, user, personId).catch(refusedAsHttp);
    const person = await personSummary(db, personId);
    if (!person) throw new HttpError(404, 'There is no such person.');
    return reply.code(status).view(
      'budgets-household.njk',
      viewContext(request, reply, {
        title: 'Household budget',
        personId,
        personName: `${person.givenName} ${person.familyName}`,
        budgets,
        isPractitioner: user.role === 'practitioner',
        gbp,
        values: { agreed: today(), on: today() },
        done: (request.query as { done?: string }).done,
        ...extra,
      }),
    );
  }

  const onError = (request: FastifyRequest, reply: FastifyReply, personId: string, body: Body) => (error: unknown) => {
    if (error instanceof HouseholdBudgetInputError && error.status !== 404)
      return page(request, reply, personId, { error: { field: error.field, text: error.message }, values: body }, error.status);
    return refusedAsHttp(error);
  };

  app.get('/people/:id/household-budget', async (request, reply) => page(request, reply, param(request, 'id')));

  app.post('/people/:id/household-budget', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = param(request, 'id');
    const body = formBody(request);
    try {
      await createHouseholdBudget(db, user, {
        personId,
        amountPence: pence(body.amount, 'amount'),
        purpose: str(body.purpose, 300),
        agreedOn: str(body.agreed, 10),
      });
    } catch (error) {
      return onError(request, reply, personId, body)(error);
    }
    return reply.redirect(`/people/${encodeURIComponent(personId)}/household-budget?done=created`);
  });

  app.post('/people/:id/household-budget/:budget/agreement', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'citizen');
    const personId = param(request, 'id');
    const budgetId = param(request, 'budget');
    const body = formBody(request);
    try {
      const member = str(body.member, 80);
      if (!idPattern.test(member)) throw new HouseholdBudgetInputError('member', 'Choose whose agreement this is', 400);
      await recordHouseholdAgreement(db, user, budgetId, {
        personId: member,
        agrees: body.agrees === 'yes',
        evidence: str(body.evidence, 500),
      });
    } catch (error) {
      return onError(request, reply, personId, body)(error);
    }
    return reply.redirect(
      `/people/${encodeURIComponent(personId)}/household-budget?done=${body.agrees === 'yes' ? 'agreed' : 'withdrawn'}`,
    );
  });

  app.post('/people/:id/household-budget/:budget/spend', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'citizen');
    const personId = param(request, 'id');
    const budgetId = param(request, 'budget');
    const body = formBody(request);
    try {
      await spendHouseholdBudget(db, user, budgetId, {
        amountPence: pence(body.spend_amount, 'spend_amount'),
        description: str(body.description, 300),
        on: str(body.on, 10),
      });
    } catch (error) {
      return onError(request, reply, personId, body)(error);
    }
    return reply.redirect(`/people/${encodeURIComponent(personId)}/household-budget?done=spent`);
  });
}
