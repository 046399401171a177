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
import { formBody, parseForm } from '../platform/forms.ts';
import { householdBudgetAgreementForm, householdBudgetForm, householdSpendForm } from './forms.ts';

type Body = Record<string, unknown>;
const idPattern = /^[A-Za-z0-9_-]{1,80}$/;
const today = () => new Date().toISOString().slice(0, 10);
const money = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP' });
const gbp = (pence: number): string => money.format(pence / 100);

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

  /** A form its schema refused: the household's page again (deciding access first) with the first message and what was typed. */
  const refused = (
    request: FastifyRequest,
    reply: FastifyReply,
    personId: string,
    form: { fieldErrors: Record<string, string>; values: Body },
  ) => {
    const [field, text] = Object.entries(form.fieldErrors)[0]!;
    return page(request, reply, personId, { error: { field, text }, values: form.values }, 400);
  };

  app.get('/people/:id/household-budget', async (request, reply) => page(request, reply, param(request, 'id')));

  app.post('/people/:id/household-budget', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = param(request, 'id');
    const body = formBody(request);
    const form = parseForm(householdBudgetForm, body);
    // Shown again on the household's page, which decides first whether this user may see it at all.
    if (!form.ok) return refused(request, reply, personId, form);
    try {
      const { amount: amountPence, purpose, agreed: agreedOn } = form.value;
      await createHouseholdBudget(db, user, { personId, amountPence, purpose, agreedOn });
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
    const form = parseForm(householdBudgetAgreementForm, body);
    if (!form.ok) return refused(request, reply, personId, form);
    const { member, agrees, evidence } = form.value;
    try {
      await recordHouseholdAgreement(db, user, budgetId, { personId: member, agrees, evidence });
    } catch (error) {
      return onError(request, reply, personId, body)(error);
    }
    return reply.redirect(`/people/${encodeURIComponent(personId)}/household-budget?done=${agrees ? 'agreed' : 'withdrawn'}`);
  });

  app.post('/people/:id/household-budget/:budget/spend', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'citizen');
    const personId = param(request, 'id');
    const budgetId = param(request, 'budget');
    const body = formBody(request);
    const form = parseForm(householdSpendForm, body);
    if (!form.ok) return refused(request, reply, personId, form);
    try {
      const { spend_amount: amountPence, description, on } = form.value;
      await spendHouseholdBudget(db, user, budgetId, { amountPence, description, on });
    } catch (error) {
      return onError(request, reply, personId, body)(error);
    }
    return reply.redirect(`/people/${encodeURIComponent(personId)}/household-budget?done=spent`);
  });
}
