// A partner's budget holders over HTTP: the page listing the partners the signed-in holder holds a
// budget for, with a form to appoint a colleague and a button to end an appointment. Thin: parse,
// call the use case (which decides who may), render; a refusal changes nothing.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { writtenDate } from '../platform/dates.ts';
import { appointColleague, budgetHoldersFor, endAppointment } from './budget-holders.ts';
import { FundingInputError, FundingRefused } from './funding.ts';
import { formBody } from '../platform/forms.ts';
import { appointHolderForm, endHolderForm } from './forms.ts';

const DONE = { appointed: 'Budget holder appointed', ended: 'Appointment ended: they can no longer commit this budget' } as const;

export function registerBudgetHolderRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  async function page(request: FastifyRequest, reply: FastifyReply, extra: { error?: { field: string; text: string } } = {}, status = 200) {
    const user = requireRole(request, 'practitioner');
    const partners = await budgetHoldersFor(db, user).catch((error: unknown) => {
      if (error instanceof FundingRefused) throw new HttpError(403, `${error.message}.`);
      throw error;
    });
    const done = (request.query as Record<string, string | undefined>).done;
    return reply.code(status).view(
      'budgets-holders.njk',
      viewContext(request, reply, {
        title: `${extra.error ? 'Error: ' : ''}Budget holders`,
        error: extra.error ?? null,
        banner: extra.error ? null : (DONE[done as keyof typeof DONE] ?? null),
        partners: partners.map((p) => ({
          ...p,
          holders: p.holders.map((h) => ({ ...h, since: writtenDate(h.appointedAt) })),
          items: [{ value: '', text: 'Choose a colleague' }, ...p.candidates.map((c) => ({ value: c.practitionerId, text: c.name }))],
        })),
      }),
    );
  }

  const act = async (request: FastifyRequest, reply: FastifyReply, work: () => Promise<unknown>, done: keyof typeof DONE) => {
    try {
      await work();
    } catch (error) {
      if (error instanceof FundingRefused) throw new HttpError(403, `${error.message}.`);
      if (error instanceof FundingInputError) {
        if (error.status === 404) throw new HttpError(404, `${error.message}.`);
        return page(request, reply, { error: { field: error.field, text: error.message } }, 400);
      }
      throw error;
    }
    return reply.redirect(`/budgets/holders?done=${done}`);
  };

  app.get('/budgets/holders', async (request, reply) => page(request, reply));

  app.post('/budgets/holders', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const form = appointHolderForm.parse(formBody(request));
    return act(request, reply, () => appointColleague(db, user, form), 'appointed');
  });

  app.post('/budgets/holders/:holderId/end', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const holderId = Number((request.params as { holderId?: string }).holderId);
    if (!Number.isSafeInteger(holderId)) throw new HttpError(404, 'There is no such budget holder.');
    const { partnerId } = endHolderForm.parse(formBody(request));
    return act(request, reply, () => endAppointment(db, user, { partnerId, holderId }), 'ended');
  });
}
