// The person's rights beyond sharing choices, in the browser: objecting to case-finding, asking
// the data owner to restrict or erase, and naming the people who can help them (their informal
// network). The person, or their proxy (?for=), acts; every use case checks that again itself.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, requireSignedIn, viewContext } from '../platform/http.ts';
import type { SignedInUser } from '../auth/index.ts';
import { successFrom, withDone, type SuccessMessage } from '../platform/done.ts';
import { personSummary } from '../people/index.ts';
import { agenciesHoldingPerson } from '../linkage/index.ts';
import { categoryLabels, categoryOfOrganisationKind } from './categories.ts';
import {
  answerRightsRequest,
  liftRestriction,
  requestRestrictionOrErasure,
  restrictableCategories,
  rightsRequestClocks,
  rightsRequestInbox,
  rightsRequestsOf,
} from './rights-requests.ts';
import { decideRecordAccess } from './access.ts';
import type { Category } from './categories.ts';
import { caseFindingObjectionsOf, objectToCaseFinding, withdrawCaseFindingObjection } from './objections.ts';
import {
  addInformalMember,
  endInformalMember,
  informalKindLabels,
  informalKinds,
  informalNetworkOf,
  mayKnowChoices,
  mayKnowLabels,
} from './informal-network.ts';
import { RightsInputError } from './acting.ts';
import { formBody, parseForm } from '../platform/forms.ts';
import { caseFindingObjectionForm, rightsAnswerForm } from './forms.ts';
import { rightsRequestForm } from './rights-requests.ts';
import { informalMemberForm } from './informal-network.ts';

type Body = Record<string, unknown>;
/** A refused form's messages as these pages list them, one a field, in the form's order. */
const asRightsErrors = (fieldErrors: Record<string, string>) =>
  Object.entries(fieldErrors).map(([field, text]) => new RightsInputError(field, text));

const rightsDone: Record<string, SuccessMessage> = {
  objected: {
    heading: 'Your objection has been recorded',
    text: 'Case-finding will not pick you out from now on. Teams who already had you on a list are told not to contact you this way.',
  },
  'objection-withdrawn': {
    heading: 'Your objection has been withdrawn',
    text: 'Case-finding may include you again the next time it runs.',
  },
  requested: {
    heading: 'Your request has been sent',
    text: 'The service holding the information must answer within one calendar month. You can follow it here.',
  },
};
const inboxDone: Record<string, SuccessMessage> = {
  answered: { heading: 'Your answer has been recorded', text: 'The person can see it on their privacy rights page.' },
  lifted: {
    heading: 'The restriction has been lifted',
    text: "Other organisations see this information again as the person's sharing choices allow.",
  },
};
const informalDone: Record<string, SuccessMessage> = {
  added: {
    heading: 'They have been added to your network',
    text: 'Practitioners involved in your care who can see "about me" can now see who can help you, and what you agreed they may know.',
  },
  ended: {
    heading: 'They have been removed from your network',
    text: 'Practitioners will no longer see them as someone who can help you.',
  },
};

const fieldErrors = (errors: RightsInputError[]) => Object.fromEntries(errors.map((e) => [e.field, e.message]));
const errorList = (errors: RightsInputError[]) =>
  errors.map((e) => ({ text: e.message, href: `#${e.field === 'kind' ? 'kind' : e.field === 'mayKnow' ? 'mayKnow' : e.field}` }));

/** The person a citizen acts on: themselves, or (?for=) someone they are a registered proxy for. */
async function subjectOf(
  app: FastifyInstance,
  request: FastifyRequest,
  user: SignedInUser,
  action: 'read' | 'write',
  category: Category = 'demographics',
): Promise<string> {
  const requested = (request.query as Record<string, unknown> | undefined)?.for;
  const personId = typeof requested === 'string' && requested !== '' ? requested : user.personId;
  if (!personId || !/^[A-Za-z0-9_-]{1,64}$/.test(personId)) throw new HttpError(403, 'This account is not linked to a person record.');
  const access = await decideRecordAccess(app.joinery.database.db, {
    actor: user,
    personId,
    categories: [category],
    purpose: 'self',
    action,
  });
  if (access.byCategory[category].scope !== 'all')
    throw new HttpError(403, 'You can only manage your own record, or that of someone you are a registered proxy for.');
  return personId;
}

const forSuffix = (user: SignedInUser, personId: string) => (personId === user.personId ? '' : `?for=${encodeURIComponent(personId)}`);

export function registerRightsRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  /** What a reader may ask about: the categories, and the organisations holding them, the reader may see in full. */
  async function askable(user: SignedInUser, personId: string) {
    const [agencies, access] = await Promise.all([
      agenciesHoldingPerson(db, personId),
      decideRecordAccess(db, { actor: user, personId, categories: restrictableCategories, purpose: 'self', action: 'read' }),
    ]);
    const canSee = (c: Category) => access.byCategory[c]?.scope === 'all';
    return {
      agencies: agencies.filter((a) => canSee(categoryOfOrganisationKind(a.kind))),
      categories: restrictableCategories.filter(canSee),
    };
  }

  async function renderRights(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    extra: { errors?: RightsInputError[]; values?: Body } = {},
    status = 200,
  ) {
    const [person, objections, allRequests, ask] = await Promise.all([
      personSummary(db, personId),
      caseFindingObjectionsOf(db, personId),
      rightsRequestsOf(db, personId),
      askable(user, personId),
    ]);
    const objection = objections.find((o) => o.withdrawnAt === null) ?? null;
    const values = extra.values ?? {};
    const allowed = new Set<string>(ask.categories);
    return reply.code(status).view(
      'rights.njk',
      viewContext(request, reply, {
        title: 'Your privacy rights',
        person,
        isSelf: personId === user.personId,
        forSuffix: forSuffix(user, personId),
        objection,
        earlierObjections: objections.filter((o) => o.withdrawnAt !== null),
        requests: allRequests.filter((r) => allowed.has(r.categoryCode)),
        organisationItems: [
          { value: '', text: 'Choose a service' },
          ...ask.agencies.map((a) => ({
            value: a.organisationId,
            text: a.organisation,
            selected: values.organisation === a.organisationId,
          })),
        ],
        categoryItems: [
          { value: '', text: 'Choose the kind of information' },
          ...ask.categories.map((c) => ({ value: c, text: categoryLabels[c], selected: values.category === c })),
        ],
        kindItems: [
          {
            value: 'restriction',
            text: 'Restrict it',
            hint: { text: 'The service keeps it, but no other service may see it while the restriction lasts' },
            checked: values.kind === 'restriction',
          },
          {
            value: 'erasure',
            text: 'Erase it',
            hint: { text: 'The service deletes it, unless the law says it must keep it (for example most health records)' },
            checked: values.kind === 'erasure',
          },
        ],
        errors: extra.errors ? errorList(extra.errors) : null,
        fieldErrors: extra.errors ? fieldErrors(extra.errors) : {},
        values,
        success: extra.errors ? null : successFrom(request, rightsDone),
      }),
    );
  }

  app.post('/my-record/rights/requests', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await subjectOf(app, request, user, 'write');
    const body = formBody(request);
    const ask = await askable(user, personId);
    const form = parseForm(
      rightsRequestForm(
        ask.agencies.map((a) => a.organisationId),
        ask.categories,
      ),
      body,
    );
    if (!form.ok) return renderRights(request, reply, user, personId, { errors: asRightsErrors(form.fieldErrors), values: body }, 400);
    try {
      await db.transaction().execute((trx) => requestRestrictionOrErasure(trx, user, personId, form.value));
    } catch (error) {
      if (error instanceof RightsInputError) return renderRights(request, reply, user, personId, { errors: [error], values: body }, 400);
      throw error;
    }
    return reply.redirect(withDone(`/my-record/rights${forSuffix(user, personId)}`, 'requested'));
  });

  // The data owner's inbox: practitioners of the organisation holding the record, or its privacy
  // officer, answer; a privacy officer for the whole place sees every open request's clock.
  async function renderInbox(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    refused: { id: number; error: RightsInputError; values: Body } | null = null,
  ) {
    const [requests, clocks] = await Promise.all([
      user.organisationId ? rightsRequestInbox(db, user) : Promise.resolve([]),
      user.role === 'privacy_officer' ? rightsRequestClocks(db) : Promise.resolve(null),
    ]);
    return reply.code(refused ? 400 : 200).view(
      'rights-inbox.njk',
      viewContext(request, reply, {
        title: 'Restriction and erasure requests',
        clocks,
        hasOrganisation: Boolean(user.organisationId),
        requests: requests.map((r) => ({
          ...r,
          error: refused?.id === r.id ? refused.error : null,
          values: refused?.id === r.id ? refused.values : {},
        })),
        errors: refused ? [{ text: refused.error.message, href: `#${refused.error.field}-${refused.id}` }] : null,
        success: refused ? null : successFrom(request, inboxDone),
      }),
    );
  }

  app.get('/rights-requests', async (request, reply) =>
    renderInbox(request, reply, requireRole(request, 'practitioner', 'privacy_officer')),
  );

  app.post('/rights-requests/:id', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'privacy_officer');
    const id = Number((request.params as { id: string }).id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(404, 'There is no such open request for your organisation.');
    const body = formBody(request);
    const form = parseForm(rightsAnswerForm, body);
    // The inbox shown again is the organisation's own: the error shows only at a request it holds.
    if (!form.ok) {
      const [field, text] = Object.entries(form.fieldErrors)[0]!;
      return renderInbox(request, reply, user, { id, error: new RightsInputError(field, text), values: body });
    }
    const { outcome, note } = form.value;
    try {
      await db.transaction().execute((trx) => answerRightsRequest(trx, user, id, outcome, note));
    } catch (error) {
      if (error instanceof RightsInputError) return renderInbox(request, reply, user, { id, error, values: body });
      throw error;
    }
    return reply.redirect(withDone('/rights-requests', 'answered'));
  });

  app.post('/rights-requests/:id/lift', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'privacy_officer');
    const id = Number((request.params as { id: string }).id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(404, 'There is no such restriction in force for your organisation.');
    await db.transaction().execute((trx) => liftRestriction(trx, user, id));
    return reply.redirect(withDone('/rights-requests', 'lifted'));
  });

  app.get('/my-record/rights', async (request, reply) => {
    const user = requireSignedIn(request);
    return renderRights(request, reply, user, await subjectOf(app, request, user, 'read'));
  });

  app.post('/my-record/rights/case-finding/object', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await subjectOf(app, request, user, 'write');
    const { reason } = caseFindingObjectionForm.parse(formBody(request));
    await db.transaction().execute((trx) => objectToCaseFinding(trx, user, personId, reason));
    return reply.redirect(withDone(`/my-record/rights${forSuffix(user, personId)}`, 'objected'));
  });

  app.post('/my-record/rights/case-finding/withdraw', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await subjectOf(app, request, user, 'write');
    const withdrawn = await db.transaction().execute((trx) => withdrawCaseFindingObjection(trx, user, personId));
    if (!withdrawn) throw new HttpError(404, 'There is no objection in force to withdraw.');
    return reply.redirect(withDone(`/my-record/rights${forSuffix(user, personId)}`, 'objection-withdrawn'));
  });

  async function renderInformal(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    extra: { errors?: RightsInputError[]; values?: Body } = {},
    status = 200,
  ) {
    const [person, members] = await Promise.all([personSummary(db, personId), informalNetworkOf(db, personId, true)]);
    const values = extra.values ?? {};
    const chosen = new Set([values.mayKnow].flat().filter((v) => typeof v === 'string'));
    return reply.code(status).view(
      'informal-network.njk',
      viewContext(request, reply, {
        title: 'Family, friends and neighbours who can help',
        person,
        isSelf: personId === user.personId,
        forSuffix: forSuffix(user, personId),
        members: members.filter((m) => m.endedAt === null),
        earlier: members.filter((m) => m.endedAt !== null),
        kindItems: informalKinds.map((k) => ({ value: k, text: informalKindLabels[k], checked: values.kind === k })),
        mayKnowItems: mayKnowChoices.map((m) => ({ value: m, text: mayKnowLabels[m], checked: chosen.has(m) })),
        errors: extra.errors ? errorList(extra.errors) : null,
        fieldErrors: extra.errors ? fieldErrors(extra.errors) : {},
        values,
        success: extra.errors ? null : successFrom(request, informalDone),
      }),
    );
  }

  app.get('/my-record/informal-network', async (request, reply) => {
    const user = requireSignedIn(request);
    return renderInformal(request, reply, user, await subjectOf(app, request, user, 'read', 'about_me'));
  });

  app.post('/my-record/informal-network', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await subjectOf(app, request, user, 'write', 'about_me');
    const body = formBody(request);
    const form = parseForm(informalMemberForm, body);
    if (!form.ok) return renderInformal(request, reply, user, personId, { errors: asRightsErrors(form.fieldErrors), values: body }, 400);
    await db.transaction().execute((trx) => addInformalMember(trx, user, personId, form.value));
    return reply.redirect(withDone(`/my-record/informal-network${forSuffix(user, personId)}`, 'added'));
  });

  app.post('/my-record/informal-network/:id/end', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await subjectOf(app, request, user, 'write', 'about_me');
    const id = Number((request.params as { id: string }).id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(404, 'There is no such person in your network.');
    if (!(await db.transaction().execute((trx) => endInformalMember(trx, user, personId, id))))
      throw new HttpError(404, 'There is no such person in your network.');
    return reply.redirect(withDone(`/my-record/informal-network${forSuffix(user, personId)}`, 'ended'));
  });
}
