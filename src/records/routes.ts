// Finding a person, their household and network, and the citizen's own voice: about me,
// messages to their lead practitioner, feedback on services.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, requireSignedIn, viewContext } from '../platform/http.ts';
import { decideRecordAccess, informalNetworkOf, recordDisclosure, type RecordAccess } from '../consent/index.ts';
import { appendAudit } from '../audit/log.ts';
import type { SignedInUser } from '../auth/accounts.ts';
import { parsePersonQuery, SearchQueryError } from './search-query.ts';
import { searchPeoplePage } from './search.ts';
import { emergencySearch, EmergencySearchInputError, EmergencySearchLimited, mayUseEmergencyAccess, parseEmergencySearch, typedValues, type EmergencySearchResult, type FieldError } from './emergency-search.ts';
import { dateInputItems } from '../platform/date-input.ts';
import { successFrom, withDone } from '../platform/done.ts';
import { householdView } from './household.ts';
import { addToNetwork, endNetworkMembership, leadPractitionerOf, NetworkInputError, networkOf } from './network.ts';
import { personSummary, agenciesHolding } from '../people/index.ts';
import { pagination } from '../platform/pagination.ts';

type Body = Record<string, unknown>;
const bodyOf = (request: FastifyRequest): Body => (request.body && typeof request.body === 'object' ? (request.body as Body) : {});
const text = (value: unknown, max: number) => (typeof value === 'string' ? value.trim().slice(0, max) : '');
const idParam = (request: FastifyRequest, name = 'id'): string => {
  const id = (request.params as Record<string, string>)[name] ?? '';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HttpError(404, 'There is no such record.');
  return id;
};

export function registerRecordsRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  /** A person's record, opened for a purpose; refuses (audited) when the reader may not see it. */
  async function openPerson(user: SignedInUser, personId: string, action: 'read' | 'write') {
    const purpose = user.role === 'citizen' ? 'self' : 'care_coordination';
    const access = await decideRecordAccess(db, { actor: user, personId, categories: ['demographics', 'about_me'], purpose, action });
    if (!access.allowed || access.byCategory.demographics.scope === 'none') throw new HttpError(403, `You cannot see this record: ${access.reason}.`);
    return access;
  }

  app.get('/search', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const query = (request.query as Record<string, unknown>) ?? {};
    const q = text(query.q, 200);
    if (!q) return reply.view('records-search.njk', viewContext(request, reply, { title: 'Find a person', q, result: null }));
    try {
      const result = await searchPeoplePage(db, user, parsePersonQuery(q), { page: Number(text(query.page, 4)) || 1, perPage: 25 });
      const href = (page: number) => `/search?q=${encodeURIComponent(q)}&page=${page}`;
      const pages = pagination(result.page, result.pages, href, { numbered: true, landmarkLabel: 'Pages of people found' });
      const showing = { from: (result.page - 1) * result.perPage + 1, to: Math.min(result.page * result.perPage, result.total) };
      const count = result.moreThanLimit ? `more than ${result.total}` : String(result.total);
      return reply.view('records-search.njk', viewContext(request, reply, { title: 'Find a person', q, result, pagination: pages, showing, count }));
    } catch (error) {
      if (error instanceof SearchQueryError) return reply.code(400).view('records-search.njk', viewContext(request, reply, { title: 'Find a person', q, result: null, error: error.message }));
      throw error;
    }
  });

  // Emergency access: finding someone the practitioner does not work with, by exact details only.
  function emergencyUser(request: FastifyRequest): SignedInUser {
    const user = requireRole(request, 'practitioner');
    if (!mayUseEmergencyAccess(user)) throw new HttpError(403, 'Only practitioners of a member organisation can use emergency access.');
    return user;
  }

  async function renderEmergency(request: FastifyRequest, reply: FastifyReply, options: { body?: Body; errors?: FieldError[]; limited?: string; result?: EmergencySearchResult } = {}, status = 200) {
    const errors = options.errors ?? [];
    const typed = typedValues(options.body ?? {});
    const errorFor = (field: string) => errors.find((e) => e.field === field)?.text;
    return reply.code(status).view('records-emergency.njk', viewContext(request, reply, {
      title: `${errors.length || options.limited ? 'Error: ' : ''}Emergency access`,
      typed, errors: errors.map((e) => ({ text: e.text, href: `#${e.field === 'dob' ? `dob-${e.parts?.[0] ?? 'day'}` : e.field}` })),
      nhsError: errorFor('nhs'), givenNameError: errorFor('given-name'), familyNameError: errorFor('family-name'), dobError: errorFor('dob'),
      dobItems: dateInputItems(typed.dob, errors.find((e) => e.field === 'dob')?.parts ?? []),
      limited: options.limited, result: options.result,
    }));
  }

  app.get('/emergency-access', async (request, reply) => {
    emergencyUser(request);
    return renderEmergency(request, reply);
  });

  app.post('/emergency-access', async (request, reply) => {
    const user = emergencyUser(request);
    const body = bodyOf(request);
    try {
      const result = await emergencySearch(db, user, parseEmergencySearch(body));
      return renderEmergency(request, reply, { body, result });
    } catch (error) {
      if (error instanceof EmergencySearchInputError) return renderEmergency(request, reply, { body, errors: error.errors }, 400);
      if (error instanceof EmergencySearchLimited) return renderEmergency(request, reply, { body, limited: error.message }, 429);
      throw error;
    }
  });

  app.get('/households/:id', async (request, reply) => {
    const user = requireRole(request, 'citizen', 'practitioner');
    const household = await householdView(db, user, idParam(request));
    if (!household) throw new HttpError(403, 'You cannot see this household: you may not see any of its members\' records.');
    return reply.view('records-household.njk', viewContext(request, reply, { title: 'Household', household }));
  });

  async function renderNetwork(request: FastifyRequest, reply: FastifyReply, user: SignedInUser, personId: string, access: RecordAccess, extra: Record<string, unknown> = {}, status = 200) {
    // Who the person says can help is part of "about me": shown only to a reader who may see it in full.
    const informalVisible = access.byCategory.about_me?.scope === 'all';
    const [person, members, ended, informal] = await Promise.all([
      personSummary(db, personId), networkOf(db, personId), networkOf(db, personId, true), informalVisible ? informalNetworkOf(db, personId) : Promise.resolve([]),
    ]);
    if (informal.length > 0) await recordDisclosure(db, user, personId, user.role === 'citizen' ? 'self' : 'care_coordination', ['about_me'], 'the network page');
    const practitioners = user.role === 'practitioner'
      ? await db.selectFrom('practitioners as p').innerJoin('organisations as o', 'o.id', 'p.organisation_id')
        .select(['p.id', 'p.given_name', 'p.family_name', 'p.role', 'o.name as organisation']).orderBy('o.name').orderBy('p.family_name').limit(2000).execute()
      : [];
    return reply.code(status).view('records-network.njk', viewContext(request, reply, {
      title: 'Network', person, members, history: ended.filter((m) => m.endedAt), practitioners, canEdit: user.role === 'practitioner', isSelf: user.role === 'citizen',
      informal, informalVisible, forSuffix: user.role === 'citizen' && user.personId !== personId ? `?for=${encodeURIComponent(personId)}` : '', ...extra,
    }));
  }

  app.get('/people/:id/network', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = idParam(request);
    return renderNetwork(request, reply, user, personId, await openPerson(user, personId, 'read'));
  });

  app.post('/people/:id/network', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = idParam(request);
    const access = await openPerson(user, personId, 'write');
    const body = bodyOf(request);
    try {
      await addToNetwork(db, user, personId, { practitionerId: text(body.practitioner, 64), roleLabel: text(body.role, 80), reason: text(body.reason, 500) });
    } catch (error) {
      if (error instanceof NetworkInputError) return renderNetwork(request, reply, user, personId, access, { error: error.message, values: body }, 400);
      throw error;
    }
    return reply.redirect(`/people/${encodeURIComponent(personId)}/network`);
  });

  app.post('/people/:id/network/:rid/end', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = idParam(request);
    const access = await openPerson(user, personId, 'write');
    const relationshipId = Number((request.params as Record<string, string>).rid);
    if (!Number.isSafeInteger(relationshipId)) throw new HttpError(404, 'There is no such network member.');
    try {
      if (!(await endNetworkMembership(db, user, personId, relationshipId, text(bodyOf(request).reason, 500)))) throw new HttpError(404, 'There is no such network member.');
    } catch (error) {
      if (error instanceof NetworkInputError) return renderNetwork(request, reply, user, personId, access, { error: error.message }, 400);
      throw error;
    }
    return reply.redirect(`/people/${encodeURIComponent(personId)}/network`);
  });

  // About me: in the person's own words; every version kept.
  async function citizenSubject(request: FastifyRequest, user: SignedInUser, action: 'read' | 'write'): Promise<string> {
    const requested = (request.query as Record<string, unknown> | undefined)?.for;
    const personId = typeof requested === 'string' && requested ? requested : user.personId;
    if (!personId || !/^[A-Za-z0-9_-]{1,64}$/.test(personId)) throw new HttpError(403, 'This account is not linked to a person record.');
    const access = await decideRecordAccess(db, { actor: user, personId, categories: ['about_me'], purpose: 'self', action });
    if (!access.allowed) throw new HttpError(403, 'You can only change your own record, or that of someone you are a registered proxy for.');
    return personId;
  }

  async function renderAboutMe(request: FastifyRequest, reply: FastifyReply, personId: string, extra: Record<string, unknown> = {}, status = 200) {
    const versions = await db.selectFrom('about_me_versions').selectAll().where('person_id', '=', personId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(20).execute();
    return reply.code(status).view('records-about-me.njk', viewContext(request, reply, { title: 'About me', current: versions[0], history: versions.slice(1), personId, ...extra }));
  }

  app.get('/my-record/about-me', async (request, reply) => {
    const user = requireSignedIn(request);
    return renderAboutMe(request, reply, await citizenSubject(request, user, 'read'));
  });

  app.post('/my-record/about-me', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await citizenSubject(request, user, 'write');
    const body = bodyOf(request);
    const whatMatters = text(body.what_matters, 4000);
    const howToSupport = text(body.how_to_support, 4000);
    if (whatMatters.length < 2) return renderAboutMe(request, reply, personId, { error: 'Write what matters to you', values: body }, 400);
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('about_me_versions').values({ person_id: personId, what_matters: whatMatters, how_to_support: howToSupport, written_by: user.id, written_by_role: user.role }).execute();
      await appendAudit(trx, { actorUserId: user.id, actorRole: user.role, actorOrganisationId: null, action: 'write', personId, category: 'about_me', purpose: 'self', decision: 'success', reason: 'updated "about me"' });
    });
    return reply.redirect(`/people/${encodeURIComponent(personId)}`);
  });

  // Messages between the person and their lead practitioner.
  async function renderMessages(request: FastifyRequest, reply: FastifyReply, personId: string, extra: Record<string, unknown> = {}, status = 200) {
    const [lead, messages] = await Promise.all([
      leadPractitionerOf(db, personId),
      db.selectFrom('messages as m').innerJoin('users as u', 'u.id', 'm.from_user_id').select(['m.body', 'm.sent_at', 'm.from_role', 'u.display_name'])
        .where('m.person_id', '=', personId).orderBy('m.sent_at', 'desc').limit(50).execute(),
    ]);
    const success = extra.error ? null : successFrom(request, { sent: { heading: 'Your message has been sent', text: lead ? `${lead.name} will read it and answer here.` : undefined } });
    return reply.code(status).view('records-messages.njk', viewContext(request, reply, { title: 'Messages', lead, messages, personId, values: extra.values, success, ...extra }));
  }

  app.get('/my-record/messages', async (request, reply) => {
    const user = requireSignedIn(request);
    return renderMessages(request, reply, await citizenSubject(request, user, 'read'));
  });

  app.post('/my-record/messages', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await citizenSubject(request, user, 'write');
    const message = text(bodyOf(request).body, 4000);
    const lead = await leadPractitionerOf(db, personId);
    if (!lead) return renderMessages(request, reply, personId, { error: 'You do not have a lead practitioner yet, so there is nobody to send this to' }, 400);
    if (message.length < 2) return renderMessages(request, reply, personId, { error: 'Write your message', values: bodyOf(request) }, 400);
    await db.insertInto('messages').values({ person_id: personId, from_user_id: user.id, from_role: user.role, to_practitioner_id: lead.practitionerId, body: message, read_at: null }).execute();
    return reply.redirect(withDone(personId === user.personId ? '/my-record/messages' : `/my-record/messages?for=${encodeURIComponent(personId)}`, 'sent'));
  });

  app.get('/messages', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const rows = user.practitionerId
      ? await db.selectFrom('messages as m').innerJoin('persons as p', 'p.id', 'm.person_id')
        .select(['m.id', 'm.person_id', 'p.given_name', 'p.family_name', 'm.body', 'm.sent_at', 'm.read_at'])
        .where('m.to_practitioner_id', '=', user.practitionerId).orderBy('m.sent_at', 'desc').limit(100).execute()
      : [];
    await appendAudit(db, ...rows.map((r) => ({ actorUserId: user.id, actorRole: user.role, actorOrganisationId: user.organisationId, action: 'read', personId: r.person_id, category: 'about_me', purpose: 'care_coordination', decision: 'allow' as const, reason: 'a message the person sent you as their lead practitioner' })));
    if (user.practitionerId) await db.updateTable('messages').set({ read_at: new Date() }).where('to_practitioner_id', '=', user.practitionerId).where('read_at', 'is', null).execute();
    return reply.view('records-inbox.njk', viewContext(request, reply, { title: 'Messages from people you lead for', rows }));
  });

  // Feedback on a service the person uses.
  async function renderFeedback(request: FastifyRequest, reply: FastifyReply, personId: string, extra: Record<string, unknown> = {}, status = 200) {
    const agencies = await agenciesHolding(db, personId);
    const services = agencies.length
      ? await db.selectFrom('services').select(['id', 'name']).where('organisation_id', 'in', agencies.map((a) => a.organisationId)).orderBy('name').execute()
      : [];
    const given = await db.selectFrom('service_feedback as f').innerJoin('services as s', 's.id', 'f.service_id').select(['s.name', 'f.rating', 'f.comment', 'f.created_at'])
      .where('f.person_id', '=', personId).orderBy('f.created_at', 'desc').execute();
    const success = extra.error ? null : successFrom(request, { sent: { heading: 'Thank you: your feedback has been sent', text: 'You can see it below, with any feedback you have given before.' } });
    return reply.code(status).view('records-feedback.njk', viewContext(request, reply, { title: 'Give feedback on a service', services, given, success, ...extra }));
  }

  app.get('/my-record/feedback', async (request, reply) => {
    const user = requireSignedIn(request);
    return renderFeedback(request, reply, await citizenSubject(request, user, 'read'));
  });

  app.post('/my-record/feedback', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await citizenSubject(request, user, 'write');
    const body = bodyOf(request);
    const serviceId = text(body.service, 64);
    const rating = Number(body.rating);
    const agencies = await agenciesHolding(db, personId);
    const service = await db.selectFrom('services').select(['id', 'organisation_id']).where('id', '=', serviceId).executeTakeFirst();
    if (!service || !agencies.some((a) => a.organisationId === service.organisation_id)) return renderFeedback(request, reply, personId, { error: 'Choose a service you use', errorField: 'service', values: body }, 400);
    if (!Number.isInteger(rating) || rating < 1 || rating > 5) return renderFeedback(request, reply, personId, { error: 'Choose a rating from 1 to 5', errorField: 'rating', values: body }, 400);
    await db.insertInto('service_feedback').values({ service_id: service.id, person_id: personId, rating, comment: text(body.comment, 2000) || null }).execute();
    return reply.redirect(withDone('/my-record/feedback', 'sent'));
  });
}
