// A person's household referrals over HTTP: each adult's agreement, recording an agreement or
// withdrawal, and sending once every adult agrees. Thin: the use cases decide access themselves.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { householdReferralsOf, recordHouseholdReferralAgreement, sendHouseholdReferral } from './household-referrals.ts';
import { ReferralInputError, serviceFor } from './referrals.ts';
import { formBody, parseForm } from '../platform/forms.ts';
import { householdAgreementForm } from './forms.ts';

const idPattern = /^[A-Za-z0-9_-]{1,80}$/;

function param(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, string | undefined>)[name] ?? '';
  if (!idPattern.test(value)) throw new HttpError(404, 'There is no such page.');
  return value;
}

export function registerHouseholdReferralRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  async function page(request: FastifyRequest, reply: FastifyReply, personId: string, extra: Record<string, unknown> = {}, status = 200) {
    const user = requireRole(request, 'practitioner', 'citizen');
    const referrals = await householdReferralsOf(db, user, personId).catch((error: unknown) => {
      if (error instanceof ReferralInputError) throw new HttpError(error.status === 404 ? 404 : 403, error.message);
      throw error;
    });
    const services = new Map<string, string>();
    for (const r of referrals)
      if (!services.has(r.serviceId)) services.set(r.serviceId, (await serviceFor(db, r.serviceId))?.name ?? 'A service');
    return reply.code(status).view(
      'referrals-household.njk',
      viewContext(request, reply, {
        title: 'Household referrals',
        personId,
        referrals: referrals.map((r) => ({ ...r, service: services.get(r.serviceId) })),
        isPractitioner: user.role === 'practitioner',
        selfId: user.personId,
        done: (request.query as { done?: string }).done,
        ...extra,
      }),
    );
  }

  const onError = (request: FastifyRequest, reply: FastifyReply, personId: string) => (error: unknown) => {
    if (error instanceof ReferralInputError) {
      if (error.status === 403 || error.status === 404) throw new HttpError(error.status, error.message);
      return page(request, reply, personId, { error: { field: error.field, text: error.message } }, error.status === 409 ? 409 : 422);
    }
    throw error;
  };

  app.get('/people/:id/household-referrals', async (request, reply) => page(request, reply, param(request, 'id')));

  app.post('/people/:id/household-referrals/:referral/agreement', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'citizen');
    const personId = param(request, 'id');
    const form = parseForm(householdAgreementForm, formBody(request));
    // A refused form is shown again on the household's page, which decides access first (as every refusal here).
    if (!form.ok) {
      const [field, text] = Object.entries(form.fieldErrors)[0]!;
      return onError(request, reply, personId)(new ReferralInputError(field, text));
    }
    const { member, agrees, evidence } = form.value;
    try {
      await recordHouseholdReferralAgreement(db, user, param(request, 'referral'), { personId: member, agrees, evidence });
    } catch (error) {
      return onError(request, reply, personId)(error);
    }
    return reply.redirect(`/people/${encodeURIComponent(personId)}/household-referrals?done=${agrees ? 'agreed' : 'withdrawn'}`);
  });

  app.post('/people/:id/household-referrals/:referral/send', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = param(request, 'id');
    try {
      await sendHouseholdReferral(db, user, param(request, 'referral'));
    } catch (error) {
      return onError(request, reply, personId)(error);
    }
    return reply.redirect(`/people/${encodeURIComponent(personId)}/household-referrals?done=sent`);
  });
}
