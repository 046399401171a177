// Role home pages and the person page: thin handlers over module queries.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { formBody, parseForm, requiredText, typedText } from '../platform/forms.ts';
import {
  categories,
  categoryOfOrganisationKind,
  decideAccess,
  decideRecordAccessAndRead,
  visibleToReader,
  type Category,
  type RecordAccess,
} from '../consent/index.ts';
import type { PersonCostRow } from '../budgets/index.ts';
import { accessFactsBesideSession, startBreakGlass } from '../consent/index.ts';
import { buildSharedRecord, proxiesOf, whoLooked } from '../consent/index.ts';
import { countAuditEvents } from '../audit/index.ts';
import { placeSummary, populationByLocality, needsByDeprivation, RESIDENTS_HINT } from '../place/index.ts';
import { heldFieldRows, personSummary } from '../people/index.ts';
import { personPage } from './person-page.ts';
import { placeTotals, recordsBySource } from './admin-home.ts';
import { formatPounds, horizontalBarChart } from '../ui/index.ts';
import { caseloadQuery, practitionerHome } from './practitioner-home.ts';
import { personPagePanels, personPagePanelsColumn, personPagePanelsFrom } from '../records/index.ts';
import { accountCountsByRole, type SignedInUser } from '../auth/index.ts';
import { agenciesHoldingPerson, recordsHeldOfPerson } from '../linkage/index.ts';
import { financialYearLabel } from '../budgets/index.ts';

const PERSON_ID = /^[A-Za-z0-9_-]{1,64}$/;

function personIdParam(request: FastifyRequest): string {
  const id = (request.params as { id?: string }).id ?? '';
  if (!PERSON_ID.test(id)) throw new HttpError(404, 'There is no such person record.');
  return id;
}

/** The person page's access facts, read by the session look-up's own statement (one round trip fewer a page). */
const personPageSession = {
  sessionBeside: (request: FastifyRequest) => {
    const id = (request.params as { id?: string }).id ?? '';
    return PERSON_ID.test(id) ? accessFactsBesideSession(id, new Date()) : undefined;
  },
};

async function citizenHome(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, user: SignedInUser) {
  const db = app.joinery.database.db;
  if (!user.personId) throw new HttpError(403, 'This account is not linked to a person record.');
  const decision = await decideAccess(db, {
    actor: user,
    personId: user.personId,
    category: 'demographics',
    purpose: 'self',
    action: 'read',
  });
  if (!decision.allowed) throw new HttpError(403, decision.reason);
  const [person, agencies, looks, actingFor] = await Promise.all([
    personSummary(db, user.personId),
    agenciesHoldingPerson(db, user.personId),
    whoLooked(db, user.personId, 5, request.language),
    proxiesOf(db, user.personId),
  ]);
  return reply.view('home-citizen.njk', viewContext(request, reply, { title: 'Your care network', person, agencies, looks, actingFor }));
}

async function practitionerHomePage(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, user: SignedInUser) {
  if (!user.organisationId) throw new HttpError(403, 'This account is not linked to an organisation.');
  const home = await practitionerHome(app.joinery.database.db, user, caseloadQuery(request.query));
  return reply.view('home-practitioner.njk', viewContext(request, reply, { title: 'Your work', ...home }));
}

async function managerHome(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
  const db = app.joinery.database.db;
  const [summary, localities, deciles] = await Promise.all([placeSummary(db), populationByLocality(db), needsByDeprivation(db)]);
  const needsChart = horizontalBarChart({
    id: 'needs-by-decile',
    title: 'Current needs per 1,000 residents, by deprivation decile',
    description: 'Decile 1 is the most deprived tenth of small areas. Bars show current recorded needs per 1,000 residents.',
    data: deciles.map((d) => ({
      label: `Decile ${d.decile}${d.decile === 1 ? ' (most deprived)' : d.decile === 10 ? ' (least)' : ''}`,
      value: d.needsPer1000,
    })),
    decimals: 0,
    axisTitle: 'Current needs per 1,000 residents',
  });
  return reply.view(
    'home-manager.njk',
    viewContext(request, reply, { title: 'Your place', summary, localities, deciles, needsChart, residentsHint: RESIDENTS_HINT }),
  );
}

/** The registry's pendingMigrations, handed in by app.ts (the administrator's home lists migrations not yet run). */
type PendingMigrations = (db: Kysely<Database>) => Promise<string[]>;

async function adminHome(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, pendingMigrations: PendingMigrations) {
  const { database } = app.joinery;
  const db = database.db;
  const [counts, usersByRole, sources] = await Promise.all([placeTotals(db), accountCountsByRole(db), recordsBySource(db)]);
  const [auditEvents, pending] = await Promise.all([countAuditEvents(db), pendingMigrations(db)]);
  return reply.view(
    'home-admin.njk',
    viewContext(request, reply, {
      title: 'System administration',
      database: { kind: database.kind, location: database.location },
      counts,
      usersByRole,
      sources,
      auditEvents,
      pending,
    }),
  );
}

/** "Emergency access": why it is needed, kept with the access for the privacy officer's review. */
const breakGlassForm = z.object({
  reason: requiredText('Say why you need emergency access, in 10 to 500 characters', { min: 10, max: 500 }),
});

export function registerWebRoutes(app: FastifyInstance, pendingMigrations: PendingMigrations): void {
  app.get('/home', async (request, reply) => {
    const user = requireRole(request, 'citizen', 'practitioner', 'manager', 'admin', 'data_quality', 'privacy_officer');
    switch (user.role) {
      case 'citizen':
        return citizenHome(app, request, reply, user);
      case 'practitioner':
        return practitionerHomePage(app, request, reply, user);
      case 'manager':
        return managerHome(app, request, reply);
      case 'admin':
        return adminHome(app, request, reply, pendingMigrations);
      case 'data_quality':
        return reply.redirect('/linkage/review');
      case 'privacy_officer':
        return reply.redirect('/privacy');
    }
  });

  app.get('/my-record', async (request, reply) => {
    const user = requireRole(request, 'citizen');
    if (!user.personId) throw new HttpError(403, 'This account is not linked to a person record.');
    return reply.redirect(`/people/${encodeURIComponent(user.personId)}`);
  });

  app.get('/people/:id', { config: personPageSession }, async (request, reply) => {
    const user = requireRole(request, 'citizen', 'practitioner', 'manager', 'admin', 'data_quality', 'privacy_officer');
    const personId = personIdParam(request);
    const db = app.joinery.database.db;
    // Data-quality reviewers compare candidate pairs on the review page and never open a record here.
    const purpose = user.role === 'citizen' ? 'self' : 'direct_care';
    const seen = (access: RecordAccess) => access.allowed && access.byCategory.demographics.scope !== 'none';
    // Categories the cost panel shows (the money, and who paid it), for the record of what was disclosed.
    const costShown = new Set<Category>();
    // The page's reads, then one audit append: the decision and what the page shows (what the
    // person is told was looked at), durable before the page is rendered.
    const { access, data } = await decideRecordAccessAndRead(
      db,
      { actor: user, personId, categories, purpose, action: 'read' },
      async (access) => {
        if (!seen(access)) return undefined;
        // Whole-system cost: money is 'finances', and who was paid is information of the payer's own
        // category (a probation payment says the person is known to probation), so a row is shown
        // only when both are. Without the household total, which this decision does not cover.
        const own = user.organisationId;
        const cost =
          access.byCategory.finances.scope === 'none'
            ? null
            : (row: PersonCostRow) => {
                const payer = row.organisation_kind === null ? null : categoryOfOrganisationKind(row.organisation_kind);
                const visible =
                  visibleToReader(access.byCategory, 'finances', row.organisation_id, own) &&
                  (payer === null || visibleToReader(access.byCategory, payer, row.organisation_id, own));
                if (visible) {
                  costShown.add('finances');
                  if (payer) costShown.add(payer);
                }
                return visible;
              };
        // Communication needs are contact details: shown with basic details, to the person and
        // whoever may contact them. A practitioner's panels ride in the page's own statement.
        const panels = personPagePanelsColumn(db, user, personId);
        const [page, looks, held, panelsRead] = await Promise.all([
          personPage(db, personId, { timelineLimit: 300, aboutMe: access.byCategory.about_me.scope === 'all', cost, beside: panels }),
          user.role === 'citizen' ? whoLooked(db, personId, 20, request.language) : Promise.resolve([]),
          user.role === 'citizen' ? recordsHeldOfPerson(db, personId) : Promise.resolve([]),
          panels ? undefined : personPagePanels(db, user, personId),
        ]);
        const { communicationNeeds, inCareTeam } = panelsRead ?? personPagePanelsFrom(user, page?.beside);
        if (!page) return { page, looks, held, communicationNeeds, inCareTeam, view: undefined };
        const view = buildSharedRecord(access.byCategory, user.organisationId, {
          needs: page.needs,
          events: page.timeline,
          agencies: page.agencies,
        });
        return { page, looks, held, communicationNeeds, inCareTeam, view };
      },
      {
        surface: 'the person page',
        // What this page shows, on the audit record beside the decision (a person reading their own record discloses nothing).
        shown: (data, access) => {
          const shown = new Set<Category>();
          if (!data?.page || !data.view || user.personId === personId) return shown;
          shown.add('demographics');
          for (const category of costShown) shown.add(category);
          for (const section of data.view.sections) if (section.needs.length > 0 || section.events.length > 0) shown.add(section.category);
          for (const agency of data.view.agencies) shown.add(categoryOfOrganisationKind(agency.kind));
          if (data.page.aboutMe && access.byCategory.about_me.scope === 'all') shown.add('about_me');
          return shown;
        },
      },
      request.sessionBeside,
    );
    const demographics = access.byCategory.demographics;
    // Refusals look the same whether or not the person exists, so ids cannot be probed.
    if (!data || !seen(access)) {
      return reply.code(403).view(
        'person-refused.njk',
        viewContext(request, reply, {
          title: 'You cannot see this record',
          reason: access.reason,
          personId,
          canBreakGlass: user.role === 'practitioner',
        }),
      );
    }
    const aboutMeVisible = access.byCategory.about_me.scope === 'all';
    const finances = access.byCategory.finances;
    const { page, looks, held, communicationNeeds, inCareTeam, view } = data;
    if (!page || !view) throw new HttpError(404, 'There is no such person record.');
    const { person, aboutMe, householdId, cost } = page;
    const isSelf = user.role === 'citizen';
    const wholeSystemCost = cost === null ? null : { scope: finances.scope, reason: finances.reason, cost: { ...cost, household: null } };
    return reply.view(
      'person.njk',
      viewContext(request, reply, {
        wholeSystemCost,
        gbp: formatPounds,
        fyLabel: financialYearLabel,
        title: `${person.givenName} ${person.familyName}`,
        person,
        view,
        looks,
        isSelf,
        held: held.map((r) => ({
          ...r,
          rows: heldFieldRows(r.fields, request.language).map((f) => ({ key: { text: f.label }, value: { text: f.value } })),
        })),
        breakGlass: access.breakGlass,
        demographicsReason: demographics.reason,
        aboutMe,
        aboutMeVisible,
        aboutMeReason: access.byCategory.about_me.reason,
        householdId,
        needs: communicationNeeds,
        needsShown: user.role === 'citizen' || user.role === 'practitioner',
        inCareTeam,
      }),
    );
  });

  app.post('/people/:id/break-glass', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = personIdParam(request);
    const form = parseForm(breakGlassForm, formBody(request));
    if (!form.ok) {
      return reply.code(400).view(
        'person-refused.njk',
        viewContext(request, reply, {
          title: 'You cannot see this record',
          reason: 'Emergency access needs a reason.',
          personId,
          canBreakGlass: true,
          error: form.errors[0]!.text,
          typedReason: typedText(form.values, 'reason'),
        }),
      );
    }
    const { reason } = form.value;
    await app.joinery.database.db.transaction().execute((trx) => startBreakGlass(trx, user, personId, reason));
    return reply.redirect(`/people/${encodeURIComponent(personId)}`);
  });
}
