// Referral and pathway pages: send a referral from a person's record, each organisation's
// inbox (filters, bulk acknowledge and assign) and sent list, one referral with its history and
// actions, the person's own "My referrals", pathways on a person's record and the flow for managers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { decideRecordAccess } from '../consent/index.ts';
import type { SignedInUser } from '../auth/accounts.ts';
import { categories, categoryLabels, type Category } from '../consent/index.ts';
import { horizontalBarChart } from '../web/charts.ts';
import { SUPPRESSION_NOTE } from '../platform/disclosure.ts';
import { applyReferralAction, bulkReferralAction, parseReferralForm, partiesOf, ReferralInputError, sendReferral } from './referrals.ts';
import { listReferrals, overdueOf, referralById, referralHistory, referralsOfPerson, waitingLists, type ReferralFilters, type ReferralListRow } from './queries.ts';
import { actionLabels, availableActions, isReferralStatus, isUrgency, statusLabels, urgencies, type ActionKind, type ReferralAction, type ReferralStatus } from './state.ts';
import { journeysOf, listPathways, pathwayFlow, protectFlow, startJourney } from './pathways.ts';
import { ukDate } from './working-days.ts';

type Body = Record<string, unknown>;
type Query = Record<string, string | string[] | undefined>;
const bodyOf = (request: FastifyRequest): Body => (request.body && typeof request.body === 'object' ? (request.body as Body) : {});
const first = (v: unknown): string => (Array.isArray(v) ? String(v[0] ?? '') : typeof v === 'string' ? v : '');
const ID = /^[A-Za-z0-9_-]{1,80}$/;

function idParam(request: FastifyRequest, message: string): string {
  const id = (request.params as { id?: string }).id ?? '';
  if (!ID.test(id)) throw new HttpError(404, message);
  return id;
}

export const urgencyLabels: Record<string, string> = { routine: 'Routine', soon: 'Soon', urgent: 'Urgent' };
const statusTagClass: Record<ReferralStatus, string> = {
  sent: 'govuk-tag--blue', received: 'govuk-tag--light-blue', accepted: 'govuk-tag--turquoise', declined: 'govuk-tag--orange',
  in_progress: 'govuk-tag--purple', completed: 'govuk-tag--green', cancelled: 'govuk-tag--grey',
};

/** Whose names the actor may see on a list: one access decision per person, each audited as a list. */
async function visibleNames(db: Kysely<Database>, user: SignedInUser, personIds: string[]): Promise<Set<string>> {
  const visible = new Set<string>();
  for (const personId of [...new Set(personIds)]) {
    const access = await decideRecordAccess(db, { actor: user, personId, categories: ['demographics'], purpose: user.role === 'citizen' ? 'self' : 'care_coordination', action: 'list' });
    if (access.byCategory.demographics.scope !== 'none') visible.add(personId);
  }
  return visible;
}

function present(rows: ReferralListRow[], visible: Set<string>) {
  return rows.map((r) => ({
    ...r, name: visible.has(r.personId) ? `${r.givenName} ${r.familyName}` : 'Name withheld', nameVisible: visible.has(r.personId),
    givenName: undefined, familyName: undefined, birthDate: visible.has(r.personId) ? r.birthDate : null,
    statusLabel: statusLabels[r.status], statusClass: statusTagClass[r.status], urgencyLabel: urgencyLabels[r.urgency],
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
  return { filters, form: { status: filters.status ?? '', urgency: filters.urgency ?? '', service: filters.serviceId ?? '', team: filters.teamId ?? '', overdue: overdue ? '1' : '' } };
}

const option = (value: string, text: string, selected: string) => ({ value, text, selected: value === selected });

async function allServicesWithWaits(db: Kysely<Database>) {
  const services = await db.selectFrom('services as s').innerJoin('organisations as o', 'o.id', 's.organisation_id')
    .select(['s.id', 's.name', 'o.name as organisation', 's.acknowledge_within_days', 's.first_contact_within_days'])
    .orderBy('o.name').orderBy('s.name').execute();
  const waits = await waitingLists(db, services.map((s) => s.id));
  return services.map((s) => ({ ...s, wait: waits.get(s.id)! }));
}

function waitText(w: { waiting: number; medianDaysToFirstContact: number | null; measuredOn: number }): string {
  const typical = w.medianDaysToFirstContact === null || w.measuredOn < 5 ? 'typical wait not yet known' : `typically ${w.medianDaysToFirstContact} days to first contact`;
  return `${w.waiting} waiting, ${typical}`;
}

export function registerReferralRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  async function renderList(request: FastifyRequest, reply: FastifyReply, side: 'to' | 'from') {
    const user = requireRole(request, 'practitioner');
    if (!user.organisationId) throw new HttpError(403, 'This account is not linked to an organisation.');
    const query = request.query as Query;
    const { filters, form } = filtersFrom(query);
    const pageRaw = first(query.page);
    const page = /^\d{1,5}$/.test(pageRaw) && Number(pageRaw) >= 1 ? Number(pageRaw) : 1;
    const result = await listReferrals(db, side, user.organisationId, filters, page, 50);
    const visible = await visibleNames(db, user, result.rows.map((r) => r.personId));
    const [organisation, services, teams, practitioners] = await Promise.all([
      db.selectFrom('organisations').select(['name']).where('id', '=', user.organisationId).executeTakeFirst(),
      db.selectFrom('services').select(['id', 'name']).where('organisation_id', '=', user.organisationId).orderBy('name').execute(),
      db.selectFrom('teams').select(['id', 'name']).where('organisation_id', '=', user.organisationId).orderBy('name').execute(),
      db.selectFrom('practitioners').select(['id', 'given_name', 'family_name', 'role']).where('organisation_id', '=', user.organisationId).orderBy('family_name').orderBy('given_name').execute(),
    ]);
    const params = new URLSearchParams(Object.entries(form).filter(([, v]) => v));
    const pageHref = (n: number) => `?${new URLSearchParams([...params.entries(), ['page', String(n)]]).toString()}`;
    const totalPages = Math.ceil(result.total / 50);
    const done = first(query.done);
    const refused = first(query.refused);
    return reply.view(side === 'to' ? 'referrals-inbox.njk' : 'referrals-sent.njk', viewContext(request, reply, {
      title: side === 'to' ? 'Referral inbox' : 'Referrals you sent', organisation, total: result.total, rows: present(result.rows, visible), form,
      statusItems: [option('', 'Any status', form.status!), option('open', 'Open (not closed)', form.status!), option('waiting', 'Waiting (not yet seen)', form.status!), ...Object.entries(statusLabels).map(([v, t]) => option(v, t, form.status!))],
      urgencyItems: [option('', 'Any urgency', form.urgency!), ...urgencies.map((u) => option(u, urgencyLabels[u]!, form.urgency!))],
      serviceItems: [option('', 'All services', form.service!), ...services.map((s) => option(s.id, s.name, form.service!))],
      teamItems: [option('', 'All teams', form.team!), ...teams.map((t) => option(t.id, t.name, form.team!))],
      practitionerItems: [{ value: '', text: 'Choose a practitioner' }, ...practitioners.map((p) => ({ value: p.id, text: `${p.given_name} ${p.family_name} (${p.role.replace(/_/g, ' ')})` }))],
      pagination: totalPages > 1 ? { previous: page > 1 ? { href: pageHref(page - 1) } : undefined, next: page < totalPages ? { href: pageHref(page + 1) } : undefined } : null,
      page, totalPages,
      bulkMessage: /^\d{1,4}$/.test(done) ? { done: Number(done), refused: /^\d{1,4}$/.test(refused) ? Number(refused) : 0 } : null,
      today: ukDate(new Date()),
    }));
  }

  app.get('/referrals', async (request, reply) => {
    requireRole(request, 'practitioner');
    return reply.redirect('/referrals/inbox');
  });
  app.get('/referrals/inbox', async (request, reply) => renderList(request, reply, 'to'));
  app.get('/referrals/sent', async (request, reply) => renderList(request, reply, 'from'));

  app.post('/referrals/bulk', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const body = bodyOf(request);
    const ids = (Array.isArray(body.ids) ? body.ids : body.ids === undefined ? [] : [body.ids]).map(String).filter((id) => ID.test(id)).slice(0, 200);
    const kind = first(body.action);
    let action: ReferralAction;
    if (kind === 'acknowledge') action = { kind: 'acknowledge' };
    else if (kind === 'assign') action = { kind: 'assign', practitionerId: first(body.practitioner) };
    else throw new HttpError(400, 'Choose what to do with the selected referrals.');
    if (ids.length === 0) throw new HttpError(400, 'Select at least one referral.');
    if (action.kind === 'assign' && !ID.test(action.practitionerId)) throw new HttpError(400, 'Choose a practitioner to assign the selected referrals to.');
    const outcome = await bulkReferralAction(db, user, ids, action);
    const back = first(body.back);
    const query = /^[a-z0-9=&_%-]{0,300}$/i.test(back) ? back : '';
    return reply.redirect(`/referrals/inbox?${query ? `${query}&` : ''}done=${outcome.done}&refused=${outcome.refused.length}`);
  });

  async function renderReferForm(request: FastifyRequest, reply: FastifyReply, user: SignedInUser, personId: string, extra: Record<string, unknown> = {}, status = 200) {
    const person = await db.selectFrom('persons').select(['given_name', 'family_name']).where('id', '=', personId).executeTakeFirst();
    if (!person) throw new HttpError(404, 'There is no such person record.');
    const values = (extra.values ?? {}) as Body;
    const services = await allServicesWithWaits(db);
    const chosenService = first(values.service) || first((request.query as Query).service);
    const journeys = await journeysOf(db, personId);
    const steps = journeys.filter((j) => j.status === 'active').flatMap((j) => j.steps.filter((s) => s.status === 'waiting' && !s.referralId).map((s) => ({ value: `${j.id}:${s.code}`, text: `${j.pathway}: ${s.name}` })));
    const chosenCats = new Set((Array.isArray(values.categories) ? values.categories : values.categories ? [values.categories] : ['demographics']).map(String));
    return reply.code(status).view('referrals-new.njk', viewContext(request, reply, {
      title: `${extra.error ? 'Error: ' : ''}Refer to a service`, personId, person: { name: `${person.given_name} ${person.family_name}` },
      serviceItems: [{ value: '', text: 'Choose a service' }, ...services.map((s) => ({ value: s.id, text: `${s.name}, ${s.organisation} (${waitText(s.wait)})`, selected: s.id === chosenService }))],
      categoryItems: categories.map((c: Category) => ({ value: c, text: categoryLabels[c], checked: chosenCats.has(c) })),
      stepItems: steps.length ? [{ value: '', text: 'Not part of a pathway' }, ...steps.map((s) => ({ ...s, selected: s.value === first(values.step) }))] : [],
      values, ...extra,
    }));
  }

  async function requirePersonForReferral(user: SignedInUser, personId: string, action: 'read' | 'write') {
    const access = await decideRecordAccess(db, { actor: user, personId, categories: ['demographics'], purpose: 'care_coordination', action });
    if (access.byCategory.demographics.scope === 'none') throw new HttpError(403, access.reason.charAt(0).toUpperCase() + access.reason.slice(1) + '.');
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
    const body = bodyOf(request);
    try {
      const input = parseReferralForm(personId, body);
      const id = await sendReferral(db, user, input);
      return reply.redirect(`/referrals/${id}`);
    } catch (error) {
      if (error instanceof ReferralInputError) {
        if (error.status === 403) throw new HttpError(403, error.message);
        await requirePersonForReferral(user, personId, 'read');
        return renderReferForm(request, reply, user, personId, { error: { field: error.field, text: error.message }, values: body }, 400);
      }
      throw error;
    }
  });

  async function loadReferralFor(user: SignedInUser, id: string) {
    const r = await referralById(db, id);
    if (!r) throw new HttpError(404, 'There is no such referral.');
    const parties = partiesOf(user, r);
    if (parties.length === 0) throw new HttpError(403, 'This referral is not to or from your organisation.');
    return { r, parties };
  }

  async function renderReferral(request: FastifyRequest, reply: FastifyReply, user: SignedInUser, id: string, extra: Record<string, unknown> = {}, status = 200) {
    const { r, parties } = await loadReferralFor(user, id);
    const access = await decideRecordAccess(db, { actor: user, personId: r.person_id, categories: ['demographics'], purpose: user.role === 'citizen' ? 'self' : 'care_coordination', action: 'read' });
    const nameVisible = access.byCategory.demographics.scope !== 'none';
    const person = nameVisible ? await db.selectFrom('persons').select(['given_name', 'family_name', 'birth_date']).where('id', '=', r.person_id).executeTakeFirst() : undefined;
    const history = (await referralHistory(db, [r.id])).get(r.id) ?? [];
    const actions = new Set<ActionKind>(parties.flatMap((p) => availableActions(r.status, p)));
    const linked = [r.onward_referral_id, r.onward_from_id].filter((x): x is string => Boolean(x));
    const links = linked.length ? await db.selectFrom('referrals as x').innerJoin('services as s', 's.id', 'x.service_id').innerJoin('organisations as o', 'o.id', 'x.organisation_id')
      .select(['x.id', 'x.status', 's.name as service', 'o.name as organisation']).where('x.id', 'in', linked).execute() : [];
    const isReceiver = parties.includes('receiver');
    const [practitioners, services] = isReceiver && (actions.has('assign') || actions.has('decline')) ? await Promise.all([
      db.selectFrom('practitioners').select(['id', 'given_name', 'family_name', 'role']).where('organisation_id', '=', r.organisation_id).orderBy('family_name').execute(),
      allServicesWithWaits(db),
    ]) : [[], []];
    const today = ukDate(new Date());
    return reply.code(status).view('referrals-detail.njk', viewContext(request, reply, {
      title: `Referral to ${r.service}`, r, parties, isReceiver, isPerson: parties.includes('person'), nameVisible, accessReason: access.reason,
      person: person ? { name: `${person.given_name} ${person.family_name}`, birthDate: person.birth_date } : null,
      statusLabel: statusLabels[r.status], statusClass: statusTagClass[r.status], urgencyLabel: urgencyLabels[r.urgency],
      overdue: overdueOf(r, today), assigned: r.a_given ? `${r.a_given} ${r.a_family}` : null,
      shared: (r.shared_categories ?? []).map((c) => categoryLabels[c as Category] ?? c),
      history: history.map((h) => ({ ...h, label: h.action === 'send' ? 'Sent' : actionLabels[h.action as ActionKind] ?? h.action })),
      actions: [...actions],
      onward: links.find((l) => l.id === r.onward_referral_id) ?? null,
      onwardFrom: links.find((l) => l.id === r.onward_from_id) ?? null,
      practitionerItems: [{ value: '', text: 'Choose a practitioner' }, ...practitioners.map((p) => ({ value: p.id, text: `${p.given_name} ${p.family_name} (${p.role.replace(/_/g, ' ')})`, selected: p.id === r.assigned_practitioner_id }))],
      onwardItems: [{ value: '', text: 'Choose a service' }, ...services.filter((s) => s.id !== r.service_id).map((s) => ({ value: s.id, text: `${s.name}, ${s.organisation} (${waitText(s.wait)})`, selected: s.id === first((extra.values as Body | undefined)?.onward) }))],
      ...extra,
    }));
  }

  app.get('/referrals/:id', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'citizen');
    return renderReferral(request, reply, user, idParam(request, 'There is no such referral.'));
  });

  app.post('/referrals/:id/:action', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'citizen');
    const id = idParam(request, 'There is no such referral.');
    const kind = (request.params as { action?: string }).action ?? '';
    const body = bodyOf(request);
    let action: ReferralAction;
    switch (kind) {
      case 'acknowledge': case 'accept': case 'start': action = { kind }; break;
      case 'complete': action = { kind, note: first(body.note).slice(0, 1000) }; break;
      case 'decline': action = { kind, reason: first(body.reason).slice(0, 1000), onwardServiceId: ID.test(first(body.onward)) ? first(body.onward) : null }; break;
      case 'cancel': action = { kind, reason: first(body.reason).slice(0, 1000) }; break;
      case 'assign': action = { kind, practitionerId: ID.test(first(body.practitioner)) ? first(body.practitioner) : '' }; break;
      default: throw new HttpError(404, 'There is no such action.');
    }
    try {
      await applyReferralAction(db, user, id, action);
    } catch (error) {
      if (error instanceof ReferralInputError) {
        if (error.status === 403 || error.status === 404) throw new HttpError(error.status, error.message);
        return renderReferral(request, reply, user, id, { error: { field: error.field, text: error.message, action: kind }, values: body }, error.status);
      }
      throw error;
    }
    return reply.redirect(user.role === 'citizen' ? '/my-referrals' : `/referrals/${id}`);
  });

  app.get('/my-referrals', async (request, reply) => {
    const user = requireRole(request, 'citizen');
    if (!user.personId) throw new HttpError(403, 'This account is not linked to a person record.');
    const access = await decideRecordAccess(db, { actor: user, personId: user.personId, categories: ['social_care'], purpose: 'self', action: 'read' });
    if (!access.allowed) throw new HttpError(403, access.reason);
    const rows = await referralsOfPerson(db, user.personId);
    const history = await referralHistory(db, rows.map((r) => r.id));
    return reply.view('referrals-mine.njk', viewContext(request, reply, {
      title: 'Your referrals',
      rows: rows.map((r) => ({
        ...r, statusLabel: statusLabels[r.status], statusClass: statusTagClass[r.status], urgencyLabel: urgencyLabels[r.urgency],
        history: (history.get(r.id) ?? []).map((h) => ({ ...h, label: h.action === 'send' ? 'Sent' : actionLabels[h.action as ActionKind] ?? h.action })),
        canCancel: availableActions(r.status, 'person').includes('cancel'),
      })),
    }));
  });

  app.get('/people/:id/pathways', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'citizen');
    const personId = idParam(request, 'There is no such person record.');
    const access = await decideRecordAccess(db, { actor: user, personId, categories: ['demographics', 'social_care'], purpose: user.role === 'citizen' ? 'self' : 'care_coordination', action: 'read' });
    if (access.byCategory.demographics.scope === 'none') throw new HttpError(403, 'You cannot see this record: ' + access.reason + '.');
    const person = await db.selectFrom('persons').select(['given_name', 'family_name']).where('id', '=', personId).executeTakeFirst();
    if (!person) throw new HttpError(404, 'There is no such person record.');
    const [journeys, pathways] = await Promise.all([journeysOf(db, personId), listPathways(db)]);
    return reply.view('referrals-pathways.njk', viewContext(request, reply, {
      title: 'Pathways', personId, person: { name: `${person.given_name} ${person.family_name}` }, journeys, isSelf: user.role === 'citizen',
      pathwayItems: pathways.map((p) => ({ value: p.id, text: p.name, hint: { text: p.entry_criteria } })),
    }));
  });

  app.post('/people/:id/pathways', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = idParam(request, 'There is no such person record.');
    await requirePersonForReferral(user, personId, 'write');
    const pathwayId = first(bodyOf(request).pathway);
    const known = await db.selectFrom('pathways').select('id').where('id', '=', pathwayId).executeTakeFirst();
    if (!known) throw new HttpError(400, 'Choose a pathway from the list.');
    await startJourney(db, personId, pathwayId, user.id);
    return reply.redirect(`/people/${encodeURIComponent(personId)}/pathways`);
  });

  app.get('/pathways', async (request, reply) => {
    requireRole(request, 'manager');
    const [pathways, flow] = await Promise.all([listPathways(db), pathwayFlow(db)]);
    const shown = protectFlow(flow);
    const sections = pathways.map((p) => {
      const steps = shown.filter((f) => f.pathwayId === p.id);
      const chart = horizontalBarChart({
        id: `flow-${p.id}`, title: `${p.name}: median wait before each step starts, in working days`,
        description: `Each bar is one step of the pathway, in order. Its length is the median number of working days people waited from the step becoming ready to its start. ${SUPPRESSION_NOTE}`,
        data: steps.map((s) => ({ label: s.name.length > 28 ? `${s.name.slice(0, 27)}…` : s.name, value: s.medianWaitDays })), decimals: 1, axisTitle: 'Median wait (working days)',
      });
      return { ...p, steps, chart };
    });
    return reply.view('referrals-flow.njk', viewContext(request, reply, { title: 'Pathway flow', sections }));
  });
}
