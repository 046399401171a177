// Finding a person, their household and network, and the citizen's own voice: about me,
// conversations with their care team, communication needs. (Feedback on services is asked beside
// the place's goals, so its page is the plans module's: plans/feedback-routes.ts.)
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, requireSignedIn, viewContext } from '../platform/http.ts';
import { decideRecordAccess, informalNetworkOf, recordDisclosure, type RecordAccess } from '../consent/index.ts';
import type { SignedInUser } from '../auth/index.ts';
import { parsePersonQuery, SearchQueryError } from './search-query.ts';
import { searchPeoplePage } from './search.ts';
import {
  emergencySearch,
  EmergencySearchLimited,
  mayUseEmergencyAccess,
  typedValues,
  type EmergencySearchResult,
} from './emergency-search.ts';
import { dateInputItems, type DatePart } from '../platform/date-input.ts';
import { successFrom, withDone } from '../platform/done.ts';
import { householdView } from './household.ts';
import { citizenSubject as citizenSubjectOf, citizenSubjectId, NOT_THEIR_RECORD } from './feedback.ts';
import { aboutMeForm, saveAboutMe } from './about-me.ts';
import { aboutMeHistory } from './about-me-reads.ts';
import { formBody, parseForm, type FormError } from '../platform/forms.ts';
import {
  addToNetworkForm,
  communicationNeedsForm,
  emergencySearchForm,
  leaveNetworkForm,
  newConversationForm,
  noReplyNeededForm,
  replyForm,
} from './forms.ts';
import { addToNetwork, endNetworkMembership, leadPractitionerOf, NetworkInputError, networkOf } from './network.ts';
import { personSummary } from '../people/index.ts';
import { pageHref, pagination, showing } from '../platform/pagination.ts';
import {
  prepareAnswerAsPractitioner,
  conversationForPerson,
  conversationForPractitioner,
  conversationsOf,
  openConversationsAsPractitioner,
  practitionerInbox,
  replyAsPerson,
  startConversation,
  TOPIC_MAX,
} from './messages.ts';
import { communicationNeedsOf, contactMethodLabels, contactMethods, languages, recordCommunicationNeeds } from './communication-needs.ts';
import { practitionersWithOrganisation } from '../network/index.ts';

type Body = Record<string, unknown>;
/** A refused form's problems, one a field: the field (its input's id) and the message. */
type FieldProblem = { field: string; text: string };
/** parseForm's messages by field, as the pages' list of problems. */
const problemsOf = (fieldErrors: Record<string, string>): FieldProblem[] =>
  Object.entries(fieldErrors).map(([field, text]) => ({ field, text }));
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
    if (!access.allowed || access.byCategory.demographics.scope === 'none')
      throw new HttpError(403, `You cannot see this record: ${access.reason}.`);
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
      return reply.view(
        'records-search.njk',
        viewContext(request, reply, { title: 'Find a person', q, result, pagination: pages, showing, count }),
      );
    } catch (error) {
      if (error instanceof SearchQueryError)
        return reply
          .code(400)
          .view('records-search.njk', viewContext(request, reply, { title: 'Find a person', q, result: null, error: error.message }));
      throw error;
    }
  });

  // Emergency access: finding someone the practitioner does not work with, by exact details only.
  function emergencyUser(request: FastifyRequest): SignedInUser {
    const user = requireRole(request, 'practitioner');
    if (!mayUseEmergencyAccess(user)) throw new HttpError(403, 'Only practitioners of a member organisation can use emergency access.');
    return user;
  }

  async function renderEmergency(
    request: FastifyRequest,
    reply: FastifyReply,
    options: {
      body?: Body;
      refused?: { errors: FormError[]; fieldErrors: Record<string, string>; parts: Record<string, string[]> };
      limited?: string;
      result?: EmergencySearchResult;
    } = {},
    status = 200,
  ) {
    const errors = options.refused?.errors ?? [];
    const errorFor = (field: string) => options.refused?.fieldErrors[field];
    const typed = typedValues(options.body ?? {});
    return reply.code(status).view(
      'records-emergency.njk',
      viewContext(request, reply, {
        title: `${errors.length || options.limited ? 'Error: ' : ''}Emergency access`,
        typed,
        errors,
        nhsError: errorFor('nhs'),
        givenNameError: errorFor('given-name'),
        familyNameError: errorFor('family-name'),
        dobError: errorFor('dob'),
        dobItems: dateInputItems(typed.dob, (options.refused?.parts.dob ?? []) as DatePart[]),
        limited: options.limited,
        result: options.result,
      }),
    );
  }

  app.get('/emergency-access', async (request, reply) => {
    emergencyUser(request);
    return renderEmergency(request, reply);
  });

  app.post('/emergency-access', async (request, reply) => {
    const user = emergencyUser(request);
    const body = formBody(request);
    const form = parseForm(emergencySearchForm(), body);
    if (!form.ok) return renderEmergency(request, reply, { body, refused: form }, 400);
    try {
      const result = await emergencySearch(db, user, form.value);
      return renderEmergency(request, reply, { body, result });
    } catch (error) {
      if (error instanceof EmergencySearchLimited) return renderEmergency(request, reply, { body, limited: error.message }, 429);
      throw error;
    }
  });

  app.get('/households/:id', async (request, reply) => {
    const user = requireRole(request, 'citizen', 'practitioner');
    const household = await householdView(db, user, idParam(request));
    if (!household) throw new HttpError(403, "You cannot see this household: you may not see any of its members' records.");
    return reply.view('records-household.njk', viewContext(request, reply, { title: 'Household', household }));
  });

  async function renderNetwork(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    access: RecordAccess,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    // Who the person says can help is part of "about me": shown only to a reader who may see it in full.
    const informalVisible = access.byCategory.about_me?.scope === 'all';
    const [person, members, ended, informal] = await Promise.all([
      personSummary(db, personId),
      networkOf(db, personId),
      networkOf(db, personId, true),
      informalVisible ? informalNetworkOf(db, personId) : Promise.resolve([]),
    ]);
    if (informal.length > 0)
      await recordDisclosure(db, user, personId, user.role === 'citizen' ? 'self' : 'care_coordination', ['about_me'], 'the network page');
    const practitioners = user.role === 'practitioner' ? await practitionersWithOrganisation(db, 2000) : [];
    return reply.code(status).view(
      'records-network.njk',
      viewContext(request, reply, {
        title: `${extra.errorList ? 'Error: ' : ''}Network`,
        person,
        members,
        history: ended.filter((m) => m.endedAt),
        practitioners,
        canEdit: user.role === 'practitioner',
        isSelf: user.role === 'citizen',
        informal,
        informalVisible,
        forSuffix: user.role === 'citizen' && user.personId !== personId ? `?for=${encodeURIComponent(personId)}` : '',
        ...extra,
      }),
    );
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
    const form = parseForm(addToNetworkForm, formBody(request));
    if (!form.ok)
      return renderNetwork(
        request,
        reply,
        user,
        personId,
        access,
        { errorList: form.errors, errorFor: form.fieldErrors, values: form.values },
        400,
      );
    const { practitioner: practitionerId, role: roleLabel, reason } = form.value;
    try {
      await db.transaction().execute((trx) => addToNetwork(trx, user, personId, { practitionerId, roleLabel, reason }));
    } catch (error) {
      // What the records refuse (a practitioner not in the list, one already in the network) is about the choice of practitioner.
      if (error instanceof NetworkInputError)
        return renderNetwork(
          request,
          reply,
          user,
          personId,
          access,
          {
            errorList: [{ text: error.message, href: '#practitioner' }],
            errorFor: { practitioner: error.message },
            values: formBody(request),
          },
          400,
        );
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
    const form = parseForm(leaveNetworkForm, formBody(request));
    if (!form.ok) {
      // Each member's "Remove" form has its own reason box: the summary links to the one that was sent.
      const errorList: FormError[] = form.errors.map((e) => ({ ...e, href: `#end-reason-${relationshipId}` }));
      const leaving = { id: relationshipId, error: form.fieldErrors.reason, reason: form.values.reason };
      return renderNetwork(request, reply, user, personId, access, { errorList, leaving }, 400);
    }
    if (!(await db.transaction().execute((trx) => endNetworkMembership(trx, user, personId, relationshipId, form.value.reason))))
      throw new HttpError(404, 'There is no such network member.');
    return reply.redirect(`/people/${encodeURIComponent(personId)}/network`);
  });

  // About me: in the person's own words; every version kept.
  const citizenSubject = (
    request: FastifyRequest,
    user: SignedInUser,
    action: 'read' | 'write',
    category: 'about_me' | 'demographics' = 'about_me',
  ): Promise<string> => citizenSubjectOf(db, request, user, action, category);

  async function renderAboutMe(
    request: FastifyRequest,
    reply: FastifyReply,
    personId: string,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const versions = await aboutMeHistory(db, personId, 20);
    return reply
      .code(status)
      .view(
        'records-about-me.njk',
        viewContext(request, reply, { title: 'About me', current: versions[0], history: versions.slice(1), personId, ...extra }),
      );
  }

  app.get('/my-record/about-me', async (request, reply) => {
    const user = requireSignedIn(request);
    return renderAboutMe(request, reply, await citizenSubject(request, user, 'read'));
  });

  app.post('/my-record/about-me', async (request, reply) => {
    const user = requireSignedIn(request);
    // One access decision a post: saveAboutMe's for a good form; for a refused one, the decision
    // before the page (with its earlier versions) is shown again.
    const form = parseForm(aboutMeForm, formBody(request));
    if (!form.ok) {
      const personId = await citizenSubject(request, user, 'write');
      return renderAboutMe(request, reply, personId, { error: form.errors[0]!.text, values: form.values }, 400);
    }
    const personId = citizenSubjectId(request, user);
    const { what_matters: whatMatters, how_to_support: howToSupport } = form.value;
    const saved = await db
      .transaction()
      .execute((trx) => saveAboutMe(trx, user, personId, { whatMatters, howToSupport, reason: 'updated "about me"' }));
    if (!saved) throw new HttpError(403, NOT_THEIR_RECORD);
    return reply.redirect(`/people/${encodeURIComponent(personId)}`);
  });

  // Conversations with the care team, one per topic. The person (or their proxy, ?for=) reads and
  // writes under /my-record/messages; the lead practitioner and their team under /messages (what
  // waits for an answer) and /people/:id/messages. The use cases in messages.ts decide access.
  const pageNumber = (request: FastifyRequest): number => {
    const raw = (request.query as Record<string, unknown> | undefined)?.page;
    return typeof raw === 'string' && /^\d{1,6}$/.test(raw) ? Math.max(1, Number(raw)) : 1;
  };
  const threadParam = (request: FastifyRequest): number => {
    const raw = (request.params as Record<string, string>).thread ?? '';
    if (!/^\d{1,15}$/.test(raw)) throw new HttpError(404, 'There is no such conversation.');
    return Number(raw);
  };
  /** The ?for= a proxy's links carry, or nothing for the person's own record. */
  const forSuffix = (user: SignedInUser, personId: string) => (personId === user.personId ? '' : `?for=${encodeURIComponent(personId)}`);
  const fieldErrors = (errors: FieldProblem[]) => ({
    errorList: errors.map((e) => ({ text: e.text, href: `#${e.field}` })),
    errorFor: Object.fromEntries(errors.map((e) => [e.field, { text: e.text }])),
  });
  const messageSuccess = (request: FastifyRequest, leadName?: string) =>
    successFrom(request, {
      sent: {
        heading: 'Your message has been sent',
        text: leadName ? `${leadName} or someone in their team will read it and answer here.` : undefined,
      },
      replied: { heading: 'Your reply has been sent', text: 'The person can read it in their messages.' },
      closed: { heading: 'Marked as needing no written reply', text: 'The person can see the reason you gave.' },
    });

  async function renderConversations(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    extra: { errors?: FieldProblem[]; values?: Body } = {},
    status = 200,
  ) {
    const errors = extra.errors ?? [];
    const [lead, person, list] = await Promise.all([
      leadPractitionerOf(db, personId),
      personSummary(db, personId),
      conversationsOf(db, personId, { page: pageNumber(request), perPage: 20 }),
    ]);
    const href = pageHref('/my-record/messages', { for: personId === user.personId ? undefined : personId });
    return reply.code(status).view(
      'records-messages.njk',
      viewContext(request, reply, {
        title: `${errors.length ? 'Error: ' : ''}Messages`,
        lead,
        list,
        person,
        isSelf: personId === user.personId,
        suffix: forSuffix(user, personId),
        topicMax: TOPIC_MAX,
        values: extra.values,
        ...fieldErrors(errors),
        success: errors.length ? null : messageSuccess(request, lead?.name),
        pagination: pagination(list.page, list.pages, href, { landmarkLabel: 'Pages of conversations' }),
        showing: showing(list.page, list.perPage, list.total, list.threads.length),
      }),
    );
  }

  app.get('/my-record/messages', async (request, reply) => {
    const user = requireSignedIn(request);
    return renderConversations(request, reply, user, await citizenSubject(request, user, 'read'));
  });

  app.post('/my-record/messages', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await citizenSubject(request, user, 'write');
    const body = formBody(request);
    const form = parseForm(newConversationForm, body);
    if (!form.ok) return renderConversations(request, reply, user, personId, { errors: problemsOf(form.fieldErrors), values: body }, 400);
    if (!(await leadPractitionerOf(db, personId))) {
      return renderConversations(
        request,
        reply,
        user,
        personId,
        { errors: [{ field: 'body', text: 'You do not have a lead practitioner yet, so there is nobody to send this to' }], values: body },
        400,
      );
    }
    const threadId = await db.transaction().execute((trx) => startConversation(trx, user, personId, form.value));
    return reply.redirect(withDone(`/my-record/messages/${threadId}${forSuffix(user, personId)}`, 'sent'));
  });

  async function renderPersonThread(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    threadId: number,
    extra: { errors?: FieldProblem[]; values?: Body } = {},
    status = 200,
  ) {
    const errors = extra.errors ?? [];
    const [thread, lead] = await Promise.all([conversationForPerson(db, user, personId, threadId), leadPractitionerOf(db, personId)]);
    const suffix = forSuffix(user, personId);
    return reply.code(status).view(
      'records-thread.njk',
      viewContext(request, reply, {
        title: `${errors.length ? 'Error: ' : ''}${thread.topic}`,
        thread,
        forPerson: true,
        isSelf: personId === user.personId,
        lead,
        action: `/my-record/messages/${thread.id}${suffix}`,
        back: `/my-record/messages${suffix}`,
        values: extra.values,
        ...fieldErrors(errors),
        success: errors.length ? null : messageSuccess(request, lead?.name),
      }),
    );
  }

  app.get('/my-record/messages/:thread', async (request, reply) => {
    const user = requireSignedIn(request);
    const threadId = threadParam(request);
    return renderPersonThread(request, reply, user, await citizenSubject(request, user, 'read'), threadId);
  });

  app.post('/my-record/messages/:thread', async (request, reply) => {
    const user = requireSignedIn(request);
    const threadId = threadParam(request);
    const personId = await citizenSubject(request, user, 'write');
    const body = formBody(request);
    const form = parseForm(replyForm, body);
    if (!form.ok)
      return renderPersonThread(request, reply, user, personId, threadId, { errors: problemsOf(form.fieldErrors), values: body }, 400);
    await db.transaction().execute((trx) => replyAsPerson(trx, user, personId, threadId, form.value));
    return reply.redirect(withDone(`/my-record/messages/${threadId}${forSuffix(user, personId)}`, 'sent'));
  });

  app.get('/messages', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const all = (request.query as Record<string, unknown> | undefined)?.show === 'all';
    const inbox = await practitionerInbox(db, user, { page: pageNumber(request), perPage: 25, all });
    const href = pageHref('/messages', { show: all ? 'all' : undefined });
    return reply.view(
      'records-inbox.njk',
      viewContext(request, reply, {
        title: all ? 'All conversations with people you and your team lead for' : 'Messages waiting for an answer',
        inbox,
        all,
        pagination: pagination(inbox.page, inbox.pages, href, { numbered: true, landmarkLabel: 'Pages of conversations' }),
        showing: showing(inbox.page, inbox.perPage, inbox.matching, inbox.rows.length + inbox.withheld),
      }),
    );
  });

  app.get('/people/:id/messages', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = idParam(request);
    const { access, lead } = await openConversationsAsPractitioner(db, user, personId, 'read');
    const [person, list, needs] = await Promise.all([
      personSummary(db, personId),
      conversationsOf(db, personId, { page: pageNumber(request), perPage: 20, reader: { user, access } }),
      communicationNeedsOf(db, personId),
    ]);
    if (!person) throw new HttpError(404, 'There is no such person record.');
    await recordDisclosure(
      db,
      user,
      personId,
      'care_coordination',
      list.threads.length ? ['demographics', 'about_me'] : ['demographics'],
      "the person's conversations",
    );
    return reply.view(
      'records-person-messages.njk',
      viewContext(request, reply, {
        title: `Messages: ${person.givenName} ${person.familyName}`,
        person,
        list,
        lead,
        needs,
        pagination: pagination(list.page, list.pages, pageHref(`/people/${encodeURIComponent(personId)}/messages`, {}), {
          landmarkLabel: 'Pages of conversations',
        }),
      }),
    );
  });

  async function renderPractitionerThread(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    threadId: number,
    extra: { errors?: FieldProblem[]; values?: Body; form?: string } = {},
    status = 200,
  ) {
    const errors = extra.errors ?? [];
    const thread = await conversationForPractitioner(db, user, personId, threadId);
    const needs = await communicationNeedsOf(db, personId);
    const base = `/people/${encodeURIComponent(personId)}/messages/${thread.id}`;
    return reply.code(status).view(
      'records-thread.njk',
      viewContext(request, reply, {
        title: `${errors.length ? 'Error: ' : ''}${thread.topic}`,
        thread,
        forPerson: false,
        lead: thread.lead,
        needs,
        action: base,
        noReplyAction: `${base}/no-reply-needed`,
        back: `/people/${encodeURIComponent(personId)}/messages`,
        values: extra.values,
        form: extra.form,
        ...fieldErrors(errors),
        success: errors.length ? null : messageSuccess(request),
      }),
    );
  }

  app.get('/people/:id/messages/:thread', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    return renderPractitionerThread(request, reply, user, idParam(request), threadParam(request));
  });

  for (const [path, kind, done] of [
    ['', 'message', 'replied'],
    ['/no-reply-needed', 'no_reply_needed', 'closed'],
  ] as const) {
    app.post(`/people/:id/messages/:thread${path}`, async (request, reply) => {
      const user = requireRole(request, 'practitioner');
      const personId = idParam(request);
      const threadId = threadParam(request);
      const body = formBody(request);
      const form = kind === 'message' ? parseForm(replyForm, body) : parseForm(noReplyNeededForm, body);
      if (!form.ok) {
        // The decision answering would take (may this user write in the person's conversations), before the page is drawn again.
        await openConversationsAsPractitioner(db, user, personId, 'write');
        const errors = problemsOf(form.fieldErrors);
        return renderPractitionerThread(request, reply, user, personId, threadId, { errors, values: body, form: kind }, 400);
      }
      const written = 'body' in form.value ? form.value.body : form.value.reason;
      await db.transaction().execute(await prepareAnswerAsPractitioner(db, user, personId, threadId, { kind, body: written }));
      return reply.redirect(withDone(`/people/${encodeURIComponent(personId)}/messages/${threadId}`, done));
    });
  }

  // Communication needs: the person (or proxy) records them on their record; a practitioner
  // involved in their care records what the person told them. Basic details' decision covers both.
  async function renderNeeds(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    extra: { errors?: FieldProblem[]; values?: Body } = {},
    status = 200,
  ) {
    const errors = extra.errors ?? [];
    const [current, person] = await Promise.all([communicationNeedsOf(db, personId), personSummary(db, personId)]);
    if (!person) throw new HttpError(404, 'There is no such person record.');
    const known = (language: string | null) => language === null || (languages as readonly string[]).includes(language);
    const values = extra.values
      ? {
          language: text(extra.values.language, 60),
          // As typed, not cut to what the record holds: a refused form shows what was too long.
          language_other: text(extra.values.language_other, 1000),
          contact_method: text(extra.values.contact_method, 10),
          contact_times: text(extra.values.contact_times, 1000),
          support: (Array.isArray(extra.values.support) ? extra.values.support : [extra.values.support]).filter(
            (v): v is string => typeof v === 'string',
          ),
        }
      : {
          language: current?.language ? (known(current.language) ? current.language : 'other') : '',
          language_other: current?.language && !known(current.language) ? current.language : '',
          contact_method: current?.contactMethod ?? '',
          contact_times: current?.contactTimes ?? '',
          support: current
            ? [
                current.interpreter && 'interpreter',
                current.bsl && 'bsl',
                current.easyRead && 'easy_read',
                current.largePrint && 'large_print',
              ].filter(Boolean)
            : [],
        };
    const forPractitioner = user.role === 'practitioner';
    // A practitioner was shown the person's name and contact needs: on the record for "who looked".
    if (forPractitioner) await recordDisclosure(db, user, personId, 'care_coordination', ['demographics'], 'the communication needs page');
    const action = forPractitioner
      ? `/people/${encodeURIComponent(personId)}/communication-needs`
      : `/my-record/communication-needs${forSuffix(user, personId)}`;
    return reply.code(status).view(
      'records-communication-needs.njk',
      viewContext(request, reply, {
        title: `${errors.length ? 'Error: ' : ''}Communication needs`,
        current,
        person,
        values,
        action,
        forPractitioner,
        isSelf: personId === user.personId,
        languages,
        contactMethods: contactMethods.map((m) => ({ value: m, text: contactMethodLabels[m] })),
        ...fieldErrors(errors),
        success: errors.length
          ? null
          : successFrom(request, {
              saved: {
                heading: 'Communication needs saved',
                text: forPractitioner
                  ? 'Everyone who contacts the person sees them, and the person sees that you recorded them.'
                  : 'Everyone who contacts you sees them, wherever they get in touch.',
              },
            }),
        back: forPractitioner ? `/people/${encodeURIComponent(personId)}` : '/my-record',
      }),
    );
  }

  async function saveNeeds(request: FastifyRequest, reply: FastifyReply, user: SignedInUser, personId: string, redirectTo: string) {
    const body = formBody(request);
    const form = parseForm(communicationNeedsForm, body);
    if (!form.ok) return renderNeeds(request, reply, user, personId, { errors: problemsOf(form.fieldErrors), values: body }, 400);
    const needs = form.value;
    await db.transaction().execute((trx) => recordCommunicationNeeds(trx, user, personId, needs));
    return reply.redirect(withDone(redirectTo, 'saved'));
  }

  app.get('/my-record/communication-needs', async (request, reply) => {
    const user = requireSignedIn(request);
    return renderNeeds(request, reply, user, await citizenSubject(request, user, 'read', 'demographics'));
  });

  app.post('/my-record/communication-needs', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await citizenSubject(request, user, 'write', 'demographics');
    return saveNeeds(request, reply, user, personId, `/my-record/communication-needs${forSuffix(user, personId)}`);
  });

  app.get('/people/:id/communication-needs', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = idParam(request);
    await openPerson(user, personId, 'read');
    return renderNeeds(request, reply, user, personId);
  });

  app.post('/people/:id/communication-needs', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = idParam(request);
    await openPerson(user, personId, 'write');
    return saveNeeds(request, reply, user, personId, `/people/${encodeURIComponent(personId)}/communication-needs`);
  });
}
