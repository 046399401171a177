// Referral and pathway pages: send a referral from a person's record (services grouped by
// organisation, narrowed by need, only those the person fits) or from a directory service page
// (choose the person among people you work with), each organisation's inbox (filters, bulk
// acknowledge and assign) and sent list, one referral with its history and actions (each
// confirmed in a banner), the person's own "My referrals", pathways on a person's record and the
// flow for managers. Routes parse; the use cases in referrals.ts decide access and eligibility.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { dateInputItems, dateParts, readDateInput, type DatePart } from '../platform/date-input.ts';
import { successFrom, withDone, type SuccessMessage } from '../platform/done.ts';
import { decideRecordAccess, decideRecordAccessForMany, peopleNamingPractitioner } from '../consent/index.ts';
import type { SignedInUser } from '../auth/index.ts';
import { categories, categoryLabels, type Category } from '../consent/index.ts';
import { horizontalBarChart } from '../ui/index.ts';
import { SUPPRESSION_NOTE } from '../platform/disclosure.ts';
import { communicationNeedsOf, communicationNeedsOfMany, parsePersonQuery, searchPeople, SearchQueryError } from '../records/index.ts';
import { NEED_GROUPS, NEED_TERMS } from '../directory/index.ts';
import { allServices, organisationPractitioners, organisationSetUp, serviceById } from '../network/index.ts';
import { livePeopleByName, personDetails } from '../people/index.ts';
import { applyReferralAction, bulkReferralAction, partiesOf, ReferralInputError, sendReferral, typedOnly } from './referrals.ts';
import {
  kindLabels,
  listReferrals,
  overdueOf,
  referralById,
  referralHistory,
  referralsOfPerson,
  waitingLists,
  type ReferralFilters,
  type ReferralListRow,
  referralSummaries,
} from './queries.ts';
import { eligibilityFactsOf, selfDetailsOf } from './self-details.ts';
import { preferredContactLabels } from './self-referral.ts';
import {
  availableActions,
  contactMethodLabels,
  isOpen,
  contactMethods,
  historyLabel,
  isReferralStatus,
  isUrgency,
  statusLabels,
  urgencies,
  type ActionKind,
  type ReferralStatus,
} from './state.ts';
import { agesText, eligibilityProblem, fits, personFacts, serviceCriteria, type PersonFacts } from './eligibility.ts';
import { journeysOf, listPathways, pathwayFlow, protectFlow, startJourney } from './pathways.ts';
import { ukDate } from './working-days.ts';
import { writtenDay } from '../platform/dates.ts';
import { translateText, translatorFor } from '../platform/i18n/index.ts';
import { registerSelfReferralRoutes } from './self-routes.ts';
import { postServiceMessage, registerRequestAccountRoutes } from './request-routes.ts';
import {
  confirmRequesterIdentity,
  identityConfirmation,
  requestConversationForService,
  RequestMessageRefused,
} from './request-accounts.ts';
import { identityCheckLabels, identityChecks } from '../consent/index.ts';
import { registerHouseholdReferralRoutes } from './household-referral-routes.ts';
import { formBody, parseForm } from '../platform/forms.ts';
import { bulkReferralForm, confirmIdentityForm, pathwayForm, referralActionForms, referralForm } from './forms.ts';

type Body = Record<string, unknown>;
type Query = Record<string, string | string[] | undefined>;
const first = (v: unknown): string => (Array.isArray(v) ? String(v[0] ?? '') : typeof v === 'string' ? v : '');
const ID = /^[A-Za-z0-9_-]{1,80}$/;

function idParam(request: FastifyRequest, message: string): string {
  const id = (request.params as { id?: string }).id ?? '';
  if (!ID.test(id)) throw new HttpError(404, message);
  return id;
}

export const urgencyLabels: Record<string, string> = { routine: 'Routine', soon: 'Soon', urgent: 'Urgent' };
const statusTagClass: Record<ReferralStatus, string> = {
  sent: 'govuk-tag--blue',
  received: 'govuk-tag--light-blue',
  accepted: 'govuk-tag--turquoise',
  declined: 'govuk-tag--orange',
  in_progress: 'govuk-tag--purple',
  completed: 'govuk-tag--green',
  cancelled: 'govuk-tag--grey',
};

/** Whose names the actor may see on a list: one access decision per person (their facts read together), each audited as a list. */
async function visibleNames(db: Kysely<Database>, user: SignedInUser, personIds: string[]): Promise<Set<string>> {
  const decided = await decideRecordAccessForMany(db, {
    actor: user,
    personIds: [...new Set(personIds)],
    categories: ['demographics'],
    purpose: user.role === 'citizen' ? 'self' : 'care_coordination',
    action: 'list',
  });
  return new Set([...decided].filter(([, access]) => access.byCategory.demographics.scope !== 'none').map(([personId]) => personId));
}

/** A list's rows as shown: a name only where the access decision allows it, and why not where it does not. */
function present(rows: ReferralListRow[], visible: Set<string>) {
  return rows.map((r) => ({
    ...r,
    nameVisible: visible.has(r.personId) || r.typedOnly,
    // Access follows the referral: once it has closed, the receiving side no longer sees who it was about.
    // A request made without signing in shows the name the person typed, never the record's.
    name: r.typedOnly
      ? `${r.typedName ?? 'Name not given'} (as given)`
      : visible.has(r.personId)
        ? `${r.givenName} ${r.familyName}`
        : isOpen(r.status)
          ? 'Name withheld'
          : 'Name not shown: referral closed',
    givenName: undefined,
    familyName: undefined,
    birthDate: r.typedOnly ? r.typedBirthDate : visible.has(r.personId) ? r.birthDate : null,
    kindLabel: r.kind === 'professional' ? null : kindLabels[r.kind],
    preferredContactLabel: r.preferredContact ? preferredContactLabels[r.preferredContact as 'email'] : null,
    typedName: undefined,
    typedBirthDate: undefined,
    contactValue: visible.has(r.personId) || r.typedOnly ? r.contactValue : null,
    statusLabel: statusLabels[r.status],
    statusClass: statusTagClass[r.status],
    urgencyLabel: urgencyLabels[r.urgency],
  }));
}

function filtersFrom(query: Query): { filters: ReferralFilters; form: Record<string, string> } {
  const status = first(query.status);
  const urgency = first(query.urgency);
  const service = first(query.service);
  const team = first(query.team);
  const overdue = first(query.overdue) === '1';
  const filters: ReferralFilters = {};
  if (status === 'open' || status === 'waiting' || isReferralStatus(status)) filters.status = status;
  if (isUrgency(urgency)) filters.urgency = urgency;
  if (ID.test(service)) filters.serviceId = service;
  if (ID.test(team)) filters.teamId = team;
  if (overdue) filters.overdue = true;
  return {
    filters,
    form: {
      status: filters.status ?? '',
      urgency: filters.urgency ?? '',
      service: filters.serviceId ?? '',
      team: filters.teamId ?? '',
      overdue: overdue ? '1' : '',
    },
  };
}

const option = (value: string, text: string, selected: string) => ({ value, text, selected: value === selected });

async function allServicesWithWaits(db: Kysely<Database>) {
  const services = (await allServices(db, { byOrganisation: true })).map((s) => ({
    id: s.id,
    name: s.name,
    organisation: s.organisationName,
    acknowledge_within_days: s.acknowledgeWithinDays,
    first_contact_within_days: s.firstContactWithinDays,
    needs: s.needs,
    min_age: s.minAge,
    max_age: s.maxAge,
    locality_ids: s.localityIds,
  }));
  const waits = await waitingLists(
    db,
    services.map((s) => s.id),
  );
  return services.map((s) => ({ ...s, wait: waits.get(s.id)! }));
}
type ServiceWithWait = Awaited<ReturnType<typeof allServicesWithWaits>>[number];

/** The need codes a filter value stands for: a group's terms, one term, or null for any need. */
function needCodes(need: string): Set<string> | null {
  if (NEED_GROUPS.some((g) => g.code === need)) return new Set(NEED_TERMS.filter((t) => t.group === need).map((t) => t.code));
  if (NEED_TERMS.some((t) => t.code === need)) return new Set([need]);
  return null;
}

function needItems(selected: string) {
  const items = [{ value: '', text: 'Any need', selected: selected === '' }];
  for (const group of NEED_GROUPS) {
    items.push({ value: group.code, text: `${group.name}: all`, selected: selected === group.code });
    for (const term of NEED_TERMS.filter((t) => t.group === group.code))
      items.push({ value: term.code, text: `${group.name}: ${term.name}`, selected: selected === term.code });
  }
  return items;
}

/**
 * The services a person can be referred to, as <optgroup>s by organisation: only those meeting
 * the chosen need and that the person fits (age, area), and always the one already chosen.
 */
function serviceGroups(
  services: ServiceWithWait[],
  person: PersonFacts,
  chosen: string,
  need: Set<string> | null,
  exclude: string | null = null,
) {
  const offered = services.filter(
    (s) => s.id !== exclude && (s.id === chosen || ((!need || s.needs.some((n) => need.has(n))) && fits(s, person))),
  );
  const hiddenForFit = services.filter(
    (s) => s.id !== exclude && s.id !== chosen && (!need || s.needs.some((n) => need.has(n))) && !fits(s, person),
  ).length;
  const groups: Array<{ label: string; items: Array<{ value: string; text: string; selected: boolean }> }> = [];
  for (const s of offered) {
    let group = groups[groups.length - 1];
    if (!group || group.label !== s.organisation) groups.push((group = { label: s.organisation, items: [] }));
    const ages = agesText(s.min_age, s.max_age);
    group.items.push({ value: s.id, text: `${s.name}${ages ? ` (${ages})` : ''}: ${waitText(s.wait)}`, selected: s.id === chosen });
  }
  return { groups, offered: offered.length, hiddenForFit };
}

/** Where an error on the referral page takes the reader: the first field of the form that failed. */
const errorTargets: Record<string, string> = {
  'start-contact': 'start-contact-day',
  'start-method': 'start-method',
  'accept-eligibility_note': 'accept-eligibility_note',
  'decline-reason': 'decline-reason',
  'decline-onward': 'decline-onward',
  'cancel-reason': 'cancel-reason',
  'assign-practitioner': 'assign-practitioner',
};

/** The confirmation after each step of a referral, for the success banner on the page it lands on. */
function doneMessages(
  r: { service: string; organisation: string; acknowledge_due: string },
  personName: string,
  assigned: string | null,
  onward: { service: string; organisation: string } | null,
): Record<string, SuccessMessage> {
  return {
    send: {
      heading: `Referral sent to ${r.service}`,
      text: `${r.organisation} must acknowledge it by ${writtenDay(String(r.acknowledge_due).slice(0, 10))}. You and ${personName} will see every step.`,
    },
    acknowledge: { heading: 'Referral acknowledged', text: 'Accept it, or decline it saying why.' },
    accept: { heading: 'Referral accepted', text: `Record the first contact when you have been in touch with ${personName}.` },
    start: { heading: 'First contact recorded', text: 'The referrer and the person can see when and how.' },
    complete: { heading: 'Referral completed', text: 'The referrer and the person can see the outcome.' },
    decline: onward
      ? {
          heading: 'Referral declined and handed on',
          text: `An onward referral has been sent to ${onward.service}, ${onward.organisation}.`,
        }
      : { heading: 'Referral declined', text: 'It was not handed on. The referrer and the person can see your reason.' },
    cancel: { heading: 'Referral cancelled' },
    assign: { heading: assigned ? `Referral assigned to ${assigned}` : 'Referral assigned' },
    message: {
      heading: 'Message sent',
      text: "The person who asked is told there is a new message, and reads it on their request's page.",
    },
    identity: { heading: 'Identity confirmed', text: "Their account now shows their record, as the person's own account." },
  };
}

function waitText(w: { waiting: number; medianDaysToFirstContact: number | null; measuredOn: number }): string {
  const typical =
    w.medianDaysToFirstContact === null || w.measuredOn < 5
      ? 'typical wait not yet known'
      : `typically ${w.medianDaysToFirstContact} days to first contact`;
  return `${w.waiting} waiting, ${typical}`;
}

export function registerReferralRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;
  // One referral for a whole household, sent once every adult agrees (issue 22).
  registerHouseholdReferralRoutes(app);
  const personName = async (id: string) => {
    const p = await personDetails(db, id);
    return p ? { given_name: p.givenName, family_name: p.familyName, birth_date: p.birthDate } : undefined;
  };
  registerSelfReferralRoutes(app, { groups: NEED_GROUPS, terms: NEED_TERMS });
  registerRequestAccountRoutes(app);

  async function renderList(request: FastifyRequest, reply: FastifyReply, side: 'to' | 'from') {
    const user = requireRole(request, 'practitioner');
    if (!user.organisationId) throw new HttpError(403, 'This account is not linked to an organisation.');
    const query = request.query as Query;
    const { filters, form } = filtersFrom(query);
    const pageRaw = first(query.page);
    const page = /^\d{1,5}$/.test(pageRaw) && Number(pageRaw) >= 1 ? Number(pageRaw) : 1;
    const result = await listReferrals(db, side, user.organisationId, filters, page, 50);
    const visible = await visibleNames(
      db,
      user,
      result.rows.filter((r) => !r.typedOnly).map((r) => r.personId),
    );
    const { name: organisationName, services, teams, practitioners } = await organisationSetUp(db, user.organisationId);
    // The receiving team contacts the person next: how to, for each person whose name they may see.
    const needs = side === 'to' ? await communicationNeedsOfMany(db, [...visible]) : new Map<string, { summary: string[] }>();
    const params = new URLSearchParams(Object.entries(form).filter(([, v]) => v));
    const pageHref = (n: number) => `?${new URLSearchParams([...params.entries(), ['page', String(n)]]).toString()}`;
    const totalPages = Math.ceil(result.total / 50);
    const done = first(query.done);
    const refused = first(query.refused);
    return reply.view(
      side === 'to' ? 'referrals-inbox.njk' : 'referrals-sent.njk',
      viewContext(request, reply, {
        title: side === 'to' ? 'Referral inbox' : 'Referrals you sent',
        organisation: organisationName === null ? undefined : { name: organisationName },
        total: result.total,
        rows: present(result.rows, visible).map((r) => ({
          ...r,
          needs: !r.typedOnly && visible.has(r.personId) ? (needs.get(r.personId)?.summary ?? null) : null,
        })),
        form,
        statusItems: [
          option('', 'Any status', form.status!),
          option('open', 'Open (not closed)', form.status!),
          option('waiting', 'Waiting (not yet seen)', form.status!),
          ...Object.entries(statusLabels).map(([v, t]) => option(v, t, form.status!)),
        ],
        urgencyItems: [option('', 'Any urgency', form.urgency!), ...urgencies.map((u) => option(u, urgencyLabels[u]!, form.urgency!))],
        serviceItems: [option('', 'All services', form.service!), ...services.map((s) => option(s.id, s.name, form.service!))],
        teamItems: [option('', 'All teams', form.team!), ...teams.map((t) => option(t.id, t.name, form.team!))],
        practitionerItems: [
          { value: '', text: 'Choose a practitioner' },
          ...practitioners.map((p) => ({ value: p.id, text: `${p.given_name} ${p.family_name} (${p.role.replace(/_/g, ' ')})` })),
        ],
        pagination:
          totalPages > 1
            ? {
                previous: page > 1 ? { href: pageHref(page - 1) } : undefined,
                next: page < totalPages ? { href: pageHref(page + 1) } : undefined,
              }
            : null,
        page,
        totalPages,
        bulkMessage: /^\d{1,4}$/.test(done) ? { done: Number(done), refused: /^\d{1,4}$/.test(refused) ? Number(refused) : 0 } : null,
        today: ukDate(new Date()),
      }),
    );
  }

  app.get('/referrals', async (request, reply) => {
    requireRole(request, 'practitioner');
    return reply.redirect('/referrals/inbox');
  });
  app.get('/referrals/inbox', async (request, reply) => renderList(request, reply, 'to'));
  app.get('/referrals/sent', async (request, reply) => renderList(request, reply, 'from'));

  app.post('/referrals/bulk', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const form = parseForm(bulkReferralForm, formBody(request));
    if (!form.ok) throw new HttpError(400, form.errors[0]!.text);
    const { ids, action, back: query } = form.value;
    const outcome = await bulkReferralAction(db, user, ids, action);
    return reply.redirect(`/referrals/inbox?${query ? `${query}&` : ''}done=${outcome.done}&refused=${outcome.refused.length}`);
  });

  async function renderReferForm(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const person = await personName(personId);
    if (!person) throw new HttpError(404, 'There is no such person record.');
    const values = (extra.values ?? {}) as Body;
    const query = request.query as Query;
    const [services, facts] = await Promise.all([allServicesWithWaits(db), personFacts(db, personId)]);
    const chosenService = first(values.service) || first(query.service);
    const need = first(query.need);
    const chosen = services.find((s) => s.id === chosenService);
    const choice = serviceGroups(services, facts, chosenService, needCodes(need));
    const chosenCriteria = chosen && !extra.error ? await serviceCriteria(db, chosen.id) : undefined;
    const journeys = await journeysOf(db, personId);
    const steps = journeys
      .filter((j) => j.status === 'active')
      .flatMap((j) =>
        j.steps
          .filter((s) => s.status === 'waiting' && !s.referralId)
          .map((s) => ({ value: `${j.id}:${s.code}`, text: `${j.pathway}: ${s.name}` })),
      );
    const chosenCats = new Set(
      (Array.isArray(values.categories) ? values.categories : values.categories ? [values.categories] : ['demographics']).map(String),
    );
    return reply.code(status).view(
      'referrals-new.njk',
      viewContext(request, reply, {
        title: `${extra.error ? 'Error: ' : ''}Refer to a service`,
        personId,
        person: { name: `${person.given_name} ${person.family_name}` },
        serviceGroups: choice.groups,
        offered: choice.offered,
        hiddenForFit: choice.hiddenForFit,
        need,
        needItems: needItems(need),
        chosenService: chosen ? chosenService : '',
        needName: need ? (needItems(need).find((i) => i.selected && i.value)?.text ?? null) : null,
        // Chosen on a directory page for someone it is not for: said at once, not after typing the form.
        chosenProblem: chosenCriteria ? await eligibilityProblem(db, chosenCriteria, facts) : null,
        categoryItems: categories.map((c: Category) => ({ value: c, text: categoryLabels[c], checked: chosenCats.has(c) })),
        stepItems: steps.length
          ? [{ value: '', text: 'Not part of a pathway' }, ...steps.map((s) => ({ ...s, selected: s.value === first(values.step) }))]
          : [],
        values,
        ...extra,
      }),
    );
  }

  async function requirePersonForReferral(user: SignedInUser, personId: string, action: 'read' | 'write') {
    const access = await decideRecordAccess(db, {
      actor: user,
      personId,
      categories: ['demographics'],
      purpose: 'care_coordination',
      action,
    });
    if (access.byCategory.demographics.scope === 'none')
      throw new HttpError(403, access.reason.charAt(0).toUpperCase() + access.reason.slice(1) + '.');
  }

  app.get('/people/:id/refer', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = idParam(request, 'There is no such person record.');
    await requirePersonForReferral(user, personId, 'read');
    return renderReferForm(request, reply, user, personId);
  });

  app.post('/people/:id/refer', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = idParam(request, 'There is no such person record.');
    const body = formBody(request);
    const form = parseForm(referralForm, body);
    if (!form.ok) {
      // The form is shown again (it names the person) only to someone who may see them.
      await requirePersonForReferral(user, personId, 'read');
      const [field, text] = Object.entries(form.fieldErrors)[0]!;
      return renderReferForm(request, reply, user, personId, { error: { field, text }, values: body }, 400);
    }
    try {
      const id = await sendReferral(db, user, { personId, ...form.value });
      return reply.redirect(withDone(`/referrals/${id}`, 'send'));
    } catch (error) {
      if (error instanceof ReferralInputError) {
        if (error.status === 403) throw new HttpError(403, error.message);
        await requirePersonForReferral(user, personId, 'read');
        return renderReferForm(request, reply, user, personId, { error: { field: error.field, text: error.message }, values: body }, 400);
      }
      throw error;
    }
  });

  // Refer from a directory service page: choose the person among people you work with, then the
  // referral form opens with the service chosen. Only people the access decision lets the
  // practitioner see are listed (their own network first, then anyone they find), each audited.
  app.get('/referrals/new', async (request, reply) => {
    const query = request.query as Query;
    const serviceId = first(query.service);
    // A resident on a service's "refer" link asks the service themselves, not as a practitioner.
    if (request.user?.role === 'citizen' && ID.test(serviceId))
      return reply.redirect(`/services/${encodeURIComponent(serviceId)}/refer-yourself`);
    const user = requireRole(request, 'practitioner');
    if (!ID.test(serviceId)) throw new HttpError(404, 'There is no such service in the directory.');
    const found = await serviceById(db, serviceId);
    if (!found) throw new HttpError(404, 'There is no such service in the directory.');
    const service = {
      id: found.id,
      name: found.name,
      min_age: found.minAge,
      max_age: found.maxAge,
      locality_ids: found.localityIds,
      organisation: found.organisationName,
    };
    const q = first(query.q).trim().slice(0, 200);
    let error: string | null = null;
    let people: Array<{ personId: string; name: string; birthDate: string | null }> = [];
    if (q) {
      try {
        people = await searchPeople(db, user, parsePersonQuery(q), 20);
      } catch (e) {
        if (!(e instanceof SearchQueryError)) throw e;
        error = e.message;
      }
    } else if (user.practitionerId) {
      // The people whose network the practitioner is in, by name.
      const mine = await livePeopleByName(db, await peopleNamingPractitioner(db, user.practitionerId), 20);
      const access = await decideRecordAccessForMany(db, {
        actor: user,
        personIds: mine.map((p) => p.id),
        categories: ['demographics'],
        purpose: 'care_coordination',
        action: 'list',
      });
      people = mine
        .filter((p) => access.get(p.id)?.byCategory.demographics.scope !== 'none' && access.get(p.id)?.allowed)
        .map((p) => ({ personId: p.id, name: `${p.givenName} ${p.familyName}`, birthDate: p.birthDate }));
    }
    const rows = await Promise.all(
      [...new Map(people.map((p) => [p.personId, p])).values()].map(async (p) => ({
        ...p,
        problem: await eligibilityProblem(db, service, await personFacts(db, p.personId)),
      })),
    );
    return reply.code(error ? 400 : 200).view(
      'referrals-choose-person.njk',
      viewContext(request, reply, {
        title: `${error ? 'Error: ' : ''}Who are you referring to ${service.name}?`,
        service,
        ages: agesText(service.min_age, service.max_age),
        q,
        error,
        rows,
        searched: Boolean(q),
      }),
    );
  });

  async function loadReferralFor(user: SignedInUser, id: string) {
    const r = await referralById(db, id);
    if (!r) throw new HttpError(404, 'There is no such referral.');
    const parties = partiesOf(user, r);
    if (parties.length === 0) throw new HttpError(403, 'This referral is not to or from your organisation.');
    return { r, parties };
  }

  async function renderReferral(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    id: string,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const { r, parties } = await loadReferralFor(user, id);
    // A resident's request made without signing in: the practitioners it went to see what was
    // typed, as typed, and never ask for the record the person index filed it against.
    const typed = typedOnly(r) && user.role === 'practitioner';
    const self = r.kind !== 'professional' ? await selfDetailsOf(db, r.id) : undefined;
    const access = typed
      ? { byCategory: { demographics: { scope: 'none' as const } }, reason: 'they were not signed in, so who they are is not confirmed' }
      : await decideRecordAccess(db, {
          actor: user,
          personId: r.person_id,
          categories: ['demographics'],
          purpose: user.role === 'citizen' ? 'self' : 'care_coordination',
          action: 'read',
        });
    const nameVisible = access.byCategory.demographics.scope !== 'none';
    const person = nameVisible
      ? await personName(r.person_id)
      : typed && self
        ? { given_name: self.given_name, family_name: self.family_name, birth_date: self.birth_date }
        : undefined;
    // Communication needs are contact details: whoever may see who the referral is about sees how to contact them.
    const communication = nameVisible && user.role === 'practitioner' ? await communicationNeedsOf(db, r.person_id) : null;
    const history = (await referralHistory(db, [r.id])).get(r.id) ?? [];
    const isReceiver = parties.includes('receiver');
    // A receiving service that may not see the person may not act on the referral either (the
    // use case refuses it too); the referrer and the person may still cancel.
    const actingParties = parties.filter((p) => p !== 'receiver' || nameVisible || typed);
    const actions = new Set<ActionKind>(actingParties.flatMap((p) => availableActions(r.status, p)));
    const linked = [r.onward_referral_id, r.onward_from_id].filter((x): x is string => Boolean(x));
    const links = await referralSummaries(db, linked);
    const canAct = isReceiver && (nameVisible || typed);
    const [practitioners, services] =
      canAct && (actions.has('assign') || actions.has('decline'))
        ? await Promise.all([organisationPractitioners(db, r.organisation_id), allServicesWithWaits(db)])
        : [[], []];
    const facts = canAct ? await eligibilityFactsOf(db, r) : null;
    const criteria = canAct && actions.has('accept') ? await serviceCriteria(db, r.service_id) : undefined;
    const values = (extra.values ?? {}) as Body;
    const error = extra.error as { field: string; text: string; action: string } | undefined;
    const today = ukDate(new Date());
    const chosenOnward = first(values.onward);
    const onwardChoice = facts
      ? serviceGroups(services, facts, chosenOnward === 'none' ? '' : chosenOnward, null, r.service_id)
      : { groups: [] };
    const handedOn = Boolean(r.onward_referral_id);
    const detailsWithheld = !nameVisible && !typed && isReceiver && !parties.includes('referrer');
    // Rows in the reader's language (a resident may read Welsh; practitioners' pages are English):
    // catalogue keys for the words this page composes, byText for labels other modules name.
    const language = request.language;
    const t = translatorFor(language);
    const words = (text: string) => translateText(language, text);
    const day = (iso: string) => writtenDay(iso, language);
    const firstContact = r.first_contact_on
      ? `${day(String(r.first_contact_on).slice(0, 10))}${r.first_contact_method ? `, ${t(`referral.contactMethods.${r.first_contact_method}`)}` : ''}`
      : r.first_contact_at
        ? day(ukDate(new Date(r.first_contact_at)))
        : null;
    const shared = (r.shared_categories ?? []).map((c) => t(`categories.${c}`, { defaultValue: categoryLabels[c as Category] ?? c }));
    const row = (key: string, text: string) => ({ key: { text: key }, value: { text } });
    const summaryRows = [
      row(
        typed ? 'Person, as they gave it' : t('referral.rows.person'),
        person
          ? person.birth_date
            ? t('referral.rows.born', {
                name: `${person.given_name} ${person.family_name}`,
                date: day(String(person.birth_date).slice(0, 10)),
              })
            : `${person.given_name} ${person.family_name}`
          : t('referral.rows.nameWithheld'),
      ),
      row(t('referral.rows.to'), `${r.service}, ${r.organisation} (${r.team})`),
      row(
        t('referral.rows.from'),
        r.from_organisation
          ? r.kind !== 'professional'
            ? t('referral.rows.handedOnFromPerson', { organisation: r.from_organisation })
            : r.from_organisation
          : words(kindLabels[r.kind]),
      ),
      // What the resident gave so the service can reach them, to those the request went to and the person.
      ...(self && !detailsWithheld
        ? [
            row(
              t('referral.rows.askedBy'),
              self.made_by === 'person'
                ? t('referral.rows.askedByPerson')
                : self.made_by === 'proxy'
                  ? t('referral.rows.askedByProxy')
                  : t('referral.rows.askedByTyped'),
            ),
            row(t('referral.rows.reference'), self.reference),
            ...(typed && self.postcode ? [row('Postcode, as they gave it', self.postcode)] : []),
            row(t('referral.rows.email'), self.email ?? t('referral.rows.notGiven')),
            row(t('referral.rows.phone'), self.phone ?? t('referral.rows.notGiven')),
            row(t('referral.rows.preferredContact'), words(preferredContactLabels[self.preferred_contact])),
            row(t('referral.rows.accessNeeds'), self.access_needs ?? t('referral.rows.noneGiven')),
            ...(self.needs.length
              ? [
                  row(
                    t('referral.rows.helpAskedFor'),
                    self.needs.map((n) => words(NEED_TERMS.find((term) => term.code === n)?.name ?? n)).join(', '),
                  ),
                ]
              : []),
          ]
        : []),
      ...(nameVisible && user.role === 'practitioner'
        ? [row('Communication needs', communication?.summary.length ? communication.summary.join('; ') : 'None recorded')]
        : []),
      row(t('referral.rows.urgency'), t(`referral.urgencies.${r.urgency}`, { defaultValue: urgencyLabels[r.urgency] ?? r.urgency })),
      // Without access, the receiving side sees neither who it is about nor what the referral says about them.
      ...(detailsWithheld
        ? []
        : [row(t('referral.rows.reason'), r.reason), row(t('referral.rows.personWords'), r.person_words ?? t('referral.rows.notGiven'))]),
      row(
        t('referral.rows.shared'),
        shared.length
          ? shared.join(', ')
          : r.sharing_basis === 'lawful_basis'
            ? t('referral.rows.sharedLawful')
            : t('referral.rows.sharedNone'),
      ),
      row(
        t('referral.rows.acknowledgeBy'),
        r.acknowledged_at
          ? t('referral.rows.acknowledged', {
              due: day(String(r.acknowledge_due).slice(0, 10)),
              date: day(ukDate(new Date(r.acknowledged_at))),
            })
          : day(String(r.acknowledge_due).slice(0, 10)),
      ),
      row(
        t('referral.rows.firstContactBy'),
        firstContact
          ? t('referral.rows.firstContactMade', { due: day(String(r.first_contact_due).slice(0, 10)), made: firstContact })
          : day(String(r.first_contact_due).slice(0, 10)),
      ),
      row(t('referral.rows.assignedTo'), r.assigned ?? t('referral.rows.notAssigned')),
      row(t('referral.rows.pathway'), r.pathway ?? t('referral.rows.noPathway')),
    ];
    // The conversation with the one who asked, when they follow their request with an account.
    const conversation = isReceiver ? await requestConversationForService(db, user, r.id) : undefined;
    // Confirming who follows it, once the service is in touch (request-accounts.ts decides when).
    const identity = isReceiver ? await identityConfirmation(db, user, r.id) : undefined;
    return reply.code(status).view(
      'referrals-detail.njk',
      viewContext(request, reply, {
        identity,
        identityError: extra.identityError ?? null,
        identityItems: identityChecks.map((c) => ({ value: c, text: identityCheckLabels[c] })),
        conversation,
        messageError: extra.messageError ?? null,
        messageValue: extra.messageValue ?? '',
        title: `${error ? 'Error: ' : ''}${kindLabels[r.kind] === 'Referral' ? 'Referral' : kindLabels[r.kind]} to ${r.service}`,
        r,
        parties,
        isReceiver,
        isPerson: parties.includes('person'),
        nameVisible,
        accessReason: access.reason,
        typed,
        kindLabel: r.kind === 'professional' ? null : kindLabels[r.kind],
        detailsWithheld,
        summaryRows,
        person: person ? { name: `${person.given_name} ${person.family_name}`, birthDate: person.birth_date } : null,
        statusLabel: statusLabels[r.status],
        statusClass: statusTagClass[r.status],
        urgencyLabel: urgencyLabels[r.urgency],
        overdue: overdueOf(r, today),
        assigned: r.assigned ?? null,
        history: history.map((h) => ({ ...h, label: historyLabel(h.action, handedOn) })),
        actions: [...actions],
        handedOn,
        onward: links.find((l) => l.id === r.onward_referral_id) ?? null,
        onwardFrom: links.find((l) => l.id === r.onward_from_id) ?? null,
        practitionerItems: [
          { value: '', text: 'Choose a practitioner' },
          ...practitioners.map((p) => ({
            value: p.id,
            text: `${p.given_name} ${p.family_name} (${p.role.replace(/_/g, ' ')})`,
            selected: p.id === r.assigned_practitioner_id,
          })),
        ],
        onwardGroups: onwardChoice.groups,
        declineNotHandedOn: chosenOnward === 'none',
        eligibilityProblem: criteria && facts ? await eligibilityProblem(db, criteria, facts) : null,
        methodItems: contactMethods.map((m) => ({ value: m, text: contactMethodLabels[m], checked: first(values.method) === m })),
        contactItems: dateInputItems(
          dateParts(values, 'contact'),
          error?.action === 'start' && error.field === 'contact' ? ((extra.wrongParts as DatePart[] | undefined) ?? []) : [],
        ),
        errorHref: error
          ? error.action === 'start' && error.field === 'contact' && (extra.wrongParts as DatePart[] | undefined)?.length
            ? `#start-contact-${(extra.wrongParts as DatePart[])[0]}`
            : `#${errorTargets[`${error.action}-${error.field}`] ?? 'actions'}`
          : null,
        success: error
          ? null
          : successFrom(
              request,
              doneMessages(
                r,
                person ? `${person.given_name} ${person.family_name}` : 'the person',
                r.assigned ?? null,
                links.find((l) => l.id === r.onward_referral_id) ?? null,
              ),
            ),
        values,
        ...extra,
      }),
    );
  }

  app.get('/referrals/:id', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'citizen');
    return renderReferral(request, reply, user, idParam(request, 'There is no such referral.'));
  });

  app.post('/referrals/:id/messages', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const id = idParam(request, 'There is no such referral.');
    const sent = await postServiceMessage(app, request, id);
    if (sent.error)
      return renderReferral(request, reply, user, id, { messageError: sent.error, messageValue: first(sent.values.message) }, 400);
    return reply.redirect(withDone(`/referrals/${id}`, 'message'));
  });

  app.post('/referrals/:id/confirm-identity', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const id = idParam(request, 'There is no such referral.');
    try {
      const { how } = confirmIdentityForm.parse(formBody(request));
      await db.transaction().execute((trx) => confirmRequesterIdentity(trx, user, id, how));
    } catch (error) {
      if (error instanceof RequestMessageRefused) return renderReferral(request, reply, user, id, { identityError: error.message }, 400);
      throw error;
    }
    return reply.redirect(withDone(`/referrals/${id}`, 'identity'));
  });

  app.post('/referrals/:id/:action', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'citizen');
    const id = idParam(request, 'There is no such referral.');
    const kind = (request.params as { action?: string }).action ?? '';
    const body = formBody(request);
    if (!Object.hasOwn(referralActionForms, kind)) throw new HttpError(404, 'There is no such action.');
    const form = parseForm(referralActionForms[kind as keyof typeof referralActionForms], body);
    if (!form.ok) {
      // The form is shown again, but only to someone who may see the referral at all (renderReferral decides).
      const [field, text] = Object.entries(form.fieldErrors)[0]!;
      const date = readDateInput(body, 'contact', 'The date of first contact');
      const wrongParts: DatePart[] = field === 'contact' && date.kind === 'error' ? date.parts : ['day', 'month', 'year'];
      return renderReferral(request, reply, user, id, { error: { field, text, action: kind }, values: body, wrongParts }, 400);
    }
    try {
      await applyReferralAction(db, user, id, form.value);
    } catch (error) {
      if (error instanceof ReferralInputError) {
        if (error.status === 403 || error.status === 404) throw new HttpError(error.status, error.message);
        // The form is shown again, but only to someone who may see the referral at all.
        return renderReferral(
          request,
          reply,
          user,
          id,
          { error: { field: error.field, text: error.message, action: kind }, values: body, wrongParts: ['day', 'month', 'year'] },
          error.status,
        );
      }
      throw error;
    }
    return reply.redirect(withDone(user.role === 'citizen' ? '/my-referrals' : `/referrals/${id}`, kind));
  });

  app.get('/my-referrals', async (request, reply) => {
    const user = requireRole(request, 'citizen');
    if (!user.personId) throw new HttpError(403, 'This account is not linked to a person record.');
    // Their own, or (?for=) those of someone they act for as a registered proxy.
    const requested = first((request.query as Query).for);
    const personId = requested && ID.test(requested) ? requested : user.personId;
    const access = await decideRecordAccess(db, { actor: user, personId, categories: ['social_care'], purpose: 'self', action: 'read' });
    if (!access.allowed || access.byCategory.social_care.scope === 'none')
      throw new HttpError(403, 'You can see your own referrals, or those of someone you are a registered proxy for.');
    const rows = await referralsOfPerson(db, personId);
    const forName = personId === user.personId ? null : await personName(personId);
    const history = await referralHistory(
      db,
      rows.map((r) => r.id),
    );
    return reply.view(
      'referrals-mine.njk',
      viewContext(request, reply, {
        title: forName ? `${forName.given_name} ${forName.family_name}'s referrals` : 'Your referrals',
        forName: forName ? `${forName.given_name} ${forName.family_name}` : null,
        forQuery: personId === user.personId ? '' : `?for=${encodeURIComponent(personId)}`,
        success: successFrom(request, {
          cancel: { heading: 'Referral cancelled', text: 'The service and the referrer can see that you cancelled it, and why.' },
        }),
        rows: rows.map((r) => ({
          ...r,
          statusLabel: statusLabels[r.status],
          statusClass: statusTagClass[r.status],
          urgencyLabel: urgencyLabels[r.urgency],
          history: (history.get(r.id) ?? []).map((h) => ({ ...h, label: historyLabel(h.action, Boolean(r.onwardReferralId)) })),
          canCancel: personId === user.personId && availableActions(r.status, 'person').includes('cancel'),
          kindLabel: r.kind === 'professional' ? null : kindLabels[r.kind],
        })),
      }),
    );
  });

  app.get('/people/:id/pathways', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'citizen');
    const personId = idParam(request, 'There is no such person record.');
    const access = await decideRecordAccess(db, {
      actor: user,
      personId,
      categories: ['demographics', 'social_care'],
      purpose: user.role === 'citizen' ? 'self' : 'care_coordination',
      action: 'read',
    });
    if (access.byCategory.demographics.scope === 'none') throw new HttpError(403, 'You cannot see this record: ' + access.reason + '.');
    const person = await personName(personId);
    if (!person) throw new HttpError(404, 'There is no such person record.');
    const [journeys, pathways] = await Promise.all([journeysOf(db, personId), listPathways(db)]);
    return reply.view(
      'referrals-pathways.njk',
      viewContext(request, reply, {
        title: 'Pathways',
        personId,
        person: { name: `${person.given_name} ${person.family_name}` },
        journeys,
        isSelf: user.role === 'citizen',
        pathwayItems: pathways.map((p) => ({ value: p.id, text: p.name, hint: { text: p.entry_criteria } })),
      }),
    );
  });

  app.post('/people/:id/pathways', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = idParam(request, 'There is no such person record.');
    await requirePersonForReferral(user, personId, 'write');
    const { pathway } = pathwayForm.parse(formBody(request));
    await db.transaction().execute((trx) => startJourney(trx, personId, pathway, user.id));
    return reply.redirect(`/people/${encodeURIComponent(personId)}/pathways`);
  });

  app.get('/pathways', async (request, reply) => {
    requireRole(request, 'manager');
    const [pathways, flow] = await Promise.all([listPathways(db), pathwayFlow(db)]);
    const shown = protectFlow(flow);
    const sections = pathways.map((p) => {
      const steps = shown.filter((f) => f.pathwayId === p.id);
      const chart = horizontalBarChart({
        id: `flow-${p.id}`,
        title: `${p.name}: median wait before each step starts, in working days`,
        description: `Each bar is one step of the pathway, in order. Its length is the median number of working days people waited from the step becoming ready to its start. ${SUPPRESSION_NOTE}`,
        data: steps.map((s) => ({ label: s.name.length > 28 ? `${s.name.slice(0, 27)}…` : s.name, value: s.medianWaitDays })),
        decimals: 1,
        axisTitle: 'Median wait (working days)',
      });
      return { ...p, steps, chart };
    });
    return reply.view('referrals-flow.njk', viewContext(request, reply, { title: 'Pathway flow', sections }));
  });
}
