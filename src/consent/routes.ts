// The person's rights in the browser: sharing choices, downloads, corrections; and the
// practitioner's correction inbox and the privacy officer's break-glass review list.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, requireSignedIn, viewContext } from '../platform/http.ts';
import { categories, decideRecordAccess } from './access.ts';
import { categoryOfOrganisationKind, type Category } from './categories.ts';
import { endProxy, proxiesFor, ProxyRefused } from './proxies.ts';
import { appendAudit } from '../audit/index.ts';
import type { SignedInUser } from '../auth/index.ts';
import { categoryLabels } from './categories.ts';
import { DirectiveInputError, directiveForm, directivesOf, lawfulBasesOf, recordDirective, withdrawDirective } from './directives.ts';
import { personExport, toFhirBundle, type ExportSections } from './export.ts';
import { breakGlassReviewList, completedBreakGlassReviews, emergencyUses, reviewBreakGlass } from './break-glass.ts';
import { whoCanSeeWhat } from './summary.ts';
import { heldFieldLabel, heldFieldValue, personSummary } from '../people/index.ts';
import { agenciesHoldingPerson } from '../linkage/index.ts';
import { allOrganisations } from '../network/index.ts';
import {
  answerCorrection,
  askForCorrection,
  correctableFields,
  CorrectionInputError,
  correctionRequestForm,
  correctionRequestsAbout,
  correctionsAskedOf,
} from './corrections.ts';
import { formBody, parseForm, type FormBody } from '../platform/forms.ts';
import { breakGlassReviewForm, correctionAnswerForm } from './forms.ts';
import { successFrom, withDone, type SuccessMessage } from '../platform/done.ts';
import { dateInputItems, dateParts } from '../platform/date-input.ts';

const sharingDone: Record<string, SuccessMessage> = {
  saved: {
    heading: 'Your choice has been saved',
    text: 'It takes effect straight away: the next time anyone opens the record, it counts.',
  },
  withdrawn: { heading: 'Your choice has been withdrawn', text: 'It takes effect straight away.' },
  'proxy-ended': { heading: 'Their access has ended', text: 'They can no longer see the record or make choices for it.' },
};
const correctionsDone: Record<string, SuccessMessage> = {
  sent: { heading: 'Your request has been sent', text: 'The service that holds the information must answer it. You can follow it here.' },
};
const inboxDone: Record<string, SuccessMessage> = {
  corrected: { heading: 'The record has been corrected', text: 'The old value is kept in its history, and the person has been told.' },
  declined: { heading: 'Your answer has been sent', text: 'The person can see it on their corrections page.' },
};
const privacyDone: Record<string, SuccessMessage> = {
  reviewed: { heading: 'Your review has been recorded', text: 'It is listed under completed reviews.' },
};

type Body = FormBody;

/** The person a citizen acts on: themselves, or (?for=) someone they are a registered proxy for. */
async function subjectOf(
  app: FastifyInstance,
  request: FastifyRequest,
  user: SignedInUser,
  action: 'read' | 'write' | 'export',
): Promise<string> {
  const requested = (request.query as Record<string, unknown> | undefined)?.for;
  const personId = typeof requested === 'string' && requested !== '' ? requested : user.personId;
  if (!personId || !/^[A-Za-z0-9_-]{1,64}$/.test(personId)) throw new HttpError(403, 'This account is not linked to a person record.');
  const access = await decideRecordAccess(app.joinery.database.db, {
    actor: user,
    personId,
    categories: ['demographics'],
    purpose: 'self',
    action,
  });
  if (!access.allowed) throw new HttpError(403, 'You can only manage your own record, or that of someone you are a registered proxy for.');
  return personId;
}

const forSuffix = (user: SignedInUser, personId: string) => (personId === user.personId ? '' : `?for=${encodeURIComponent(personId)}`);

/** `exportSections`: the person's export's sections held by modules above consent (app.ts's exportSections). */
export function registerConsentRoutes(app: FastifyInstance, exportSections: ExportSections): void {
  const db = app.joinery.database.db;

  async function renderSharing(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const [person, directives, allBases, allAgencies, actingForMe, access] = await Promise.all([
      personSummary(db, personId),
      directivesOf(db, personId),
      lawfulBasesOf(db, personId),
      agenciesHoldingPerson(db, personId),
      proxiesFor(db, personId),
      decideRecordAccess(db, { actor: user, personId, categories, purpose: 'self', action: 'read' }),
    ]);
    // The same categories as every other surface: what the reader may not see is not listed here either.
    const canSee = (category: string) => category === '*' || access.byCategory[category as Category]?.scope === 'all';
    const bases = allBases.filter((b) => canSee(b.categoryCode));
    const agencies = allAgencies.filter((a) => canSee(categoryOfOrganisationKind(a.kind)));
    const summary = await whoCanSeeWhat(db, user, personId, canSee);
    // Every organisation in the directory can be chosen, grouped by kind; those holding a record come first.
    const holding = new Set(agencies.map((a) => a.organisationId));
    const directory = (await allOrganisations(db)).sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
    const directoryGroups = [
      ...Map.groupBy(
        directory.filter((o) => !holding.has(o.id)),
        (o) => o.kind,
      ),
    ].map(([kind, list]) => ({ kind, organisations: list }));
    const error = extra.error as { field: string } | undefined;
    const values = (extra.values ?? {}) as Record<string, unknown>;
    return reply.code(status).view(
      'sharing.njk',
      viewContext(request, reply, {
        title: 'Who can see your record',
        person,
        bases,
        agencies,
        actingForMe,
        directoryGroups,
        forSuffix: forSuffix(user, personId),
        isSelf: personId === user.personId,
        summary,
        directives: directives.filter((d) => d.status === 'in force' || d.status === 'not yet started'),
        earlierDirectives: directives.filter((d) => d.status === 'withdrawn' || d.status === 'expired'),
        categoryOptions: [{ value: '*', text: 'All of my information' }, ...categories.map((c) => ({ value: c, text: categoryLabels[c] }))],
        success: error ? null : successFrom(request, sharingDone),
        untilItems: dateInputItems(dateParts(values, 'until'), error?.field === 'until' ? ['day', 'month', 'year'] : []),
        purposesChosen: extra.values ? [values.purposes].flat().filter((p) => typeof p === 'string') : ['direct_care', 'care_coordination'],
        ...extra,
      }),
    );
  }

  app.get('/my-record/sharing', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await subjectOf(app, request, user, 'read');
    return renderSharing(request, reply, user, personId);
  });

  app.post('/my-record/sharing', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await subjectOf(app, request, user, 'write');
    const body = formBody(request);
    const form = parseForm(directiveForm(), body);
    if (!form.ok) {
      const [field, text] = Object.entries(form.fieldErrors)[0]!;
      return renderSharing(request, reply, user, personId, { error: { field, text }, values: body }, 400);
    }
    try {
      await db.transaction().execute((trx) => recordDirective(trx, user, personId, form.value));
    } catch (error) {
      if (error instanceof DirectiveInputError)
        return renderSharing(request, reply, user, personId, { error: { field: error.field, text: error.message }, values: body }, 400);
      throw error;
    }
    return reply.redirect(withDone(`/my-record/sharing${forSuffix(user, personId)}`, 'saved'));
  });

  app.post('/my-record/sharing/:id/withdraw', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await subjectOf(app, request, user, 'write');
    const id = Number((request.params as { id: string }).id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(404, 'There is no such sharing choice.');
    const changed = await db.transaction().execute((trx) => withdrawDirective(trx, user, personId, id));
    if (!changed) throw new HttpError(404, 'There is no such sharing choice in force.');
    return reply.redirect(withDone(`/my-record/sharing${forSuffix(user, personId)}`, 'withdrawn'));
  });

  // The person ends someone's power to act for them (a child ending a parent's early, an adult a
  // carer's), or a proxy steps down: either way it ends at once.
  app.post('/my-record/proxies/:id/end', async (request, reply) => {
    const user = requireRole(request, 'citizen');
    const id = Number((request.params as { id: string }).id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(404, 'There is no such proxy.');
    try {
      const ended = await db.transaction().execute((trx) => endProxy(trx, user, id, 'ended by the person or their proxy'));
      if (!ended) throw new HttpError(404, 'There is no such proxy in force.');
    } catch (error) {
      if (error instanceof ProxyRefused) throw new HttpError(403, error.message);
      throw error;
    }
    return reply.redirect(user.personId ? withDone('/my-record/sharing', 'proxy-ended') : '/');
  });

  app.get('/my-record/download.json', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await subjectOf(app, request, user, 'export');
    const access = await decideRecordAccess(db, { actor: user, personId, categories, purpose: 'self', action: 'export' });
    const data = await personExport(db, personId, (category) => access.byCategory[category].scope === 'all', exportSections);
    if (!data) throw new HttpError(404, 'There is no such person record.');
    return reply
      .header('content-disposition', 'attachment; filename="my-record.json"')
      .type('application/json')
      .send(JSON.stringify(data, null, 2));
  });

  app.get('/my-record/download.fhir.json', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await subjectOf(app, request, user, 'export');
    const access = await decideRecordAccess(db, { actor: user, personId, categories, purpose: 'self', action: 'export' });
    const data = await personExport(db, personId, (category) => access.byCategory[category].scope === 'all', exportSections);
    if (!data) throw new HttpError(404, 'There is no such person record.');
    return reply
      .header('content-disposition', 'attachment; filename="my-record.fhir.json"')
      .type('application/fhir+json')
      .send(JSON.stringify(toFhirBundle(data), null, 2));
  });

  async function renderCorrections(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const [agencies, requests] = await Promise.all([agenciesHoldingPerson(db, personId), correctionRequestsAbout(db, personId)]);
    const withChanges = requests.map((r) => ({
      ...r,
      change: r.corrected_field
        ? {
            label: heldFieldLabel(r.corrected_field),
            from: r.corrected_from ? heldFieldValue(r.corrected_field, r.corrected_from) : 'nothing',
            to: heldFieldValue(r.corrected_field, r.corrected_to ?? ''),
          }
        : null,
    }));
    return reply.code(status).view(
      'corrections.njk',
      viewContext(request, reply, {
        title: 'Ask for a correction',
        agencies,
        requests: withChanges,
        forSuffix: forSuffix(user, personId),
        success: extra.errors ? null : successFrom(request, correctionsDone),
        ...extra,
      }),
    );
  }

  app.get('/my-record/corrections', async (request, reply) => {
    const user = requireSignedIn(request);
    return renderCorrections(request, reply, user, await subjectOf(app, request, user, 'read'));
  });

  app.post('/my-record/corrections', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await subjectOf(app, request, user, 'write');
    const agencies = await agenciesHoldingPerson(db, personId);
    const form = parseForm(correctionRequestForm(agencies.map((a) => a.organisationId)), formBody(request));
    if (!form.ok)
      return renderCorrections(
        request,
        reply,
        user,
        personId,
        { errors: form.errors, values: form.values, fieldErrors: form.fieldErrors },
        400,
      );
    await db.transaction().execute((trx) => askForCorrection(trx, user, personId, form.value));
    return reply.redirect(withDone(`/my-record/corrections${forSuffix(user, personId)}`, 'sent'));
  });

  // The data owner's inbox: corrections asked of the practitioner's organisation.
  async function renderInbox(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    extra: { error?: { requestId: number; field: string; text: string }; values?: Body } = {},
    status = 200,
  ) {
    if (!user.organisationId) throw new HttpError(403, 'This account is not linked to an organisation.');
    const rows = await correctionsAskedOf(db, user);
    const fields = await correctableFields(
      db,
      user.organisationId,
      rows.filter((r) => r.status === 'open').map((r) => r.person_id),
    );
    const error = extra.error;
    return reply.code(status).view(
      'corrections-inbox.njk',
      viewContext(request, reply, {
        title: 'Corrections asked of your organisation',
        success: error ? null : successFrom(request, inboxDone),
        errors: error ? [{ text: error.text, href: `#${error.field}-${error.requestId}` }] : [],
        rows: rows.map((r) => {
          const mine = error?.requestId === Number(r.id);
          const values = mine ? (extra.values ?? {}) : {};
          return {
            ...r,
            id: Number(r.id),
            error: mine ? error : null,
            values: {
              outcome: values.outcome,
              target: values.target,
              value: typeof values.value === 'string' ? values.value : (r.what_it_should_say ?? ''),
              note: values.note,
            },
            fields: fields.get(r.person_id) ?? [],
            change: r.corrected_field
              ? {
                  label: heldFieldLabel(r.corrected_field),
                  from: r.corrected_from ? heldFieldValue(r.corrected_field, r.corrected_from) : 'nothing',
                  to: heldFieldValue(r.corrected_field, r.corrected_to ?? ''),
                }
              : null,
          };
        }),
      }),
    );
  }

  app.get('/corrections', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    return renderInbox(request, reply, user);
  });

  app.post('/corrections/:id', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const id = Number((request.params as { id: string }).id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(404, 'There is no such correction request for your organisation.');
    const body = formBody(request);
    const form = parseForm(correctionAnswerForm, body);
    // The inbox shown again is the organisation's own: the error shows only at a request it holds.
    if (!form.ok) {
      const [field, text] = Object.entries(form.fieldErrors)[0]!;
      return renderInbox(request, reply, user, { error: { requestId: id, field, text }, values: body }, 400);
    }
    const { outcome } = form.value;
    try {
      await answerCorrection(db, user, id, form.value);
    } catch (error) {
      if (error instanceof CorrectionInputError)
        return renderInbox(request, reply, user, { error: { requestId: id, field: error.field, text: error.message }, values: body }, 400);
      throw error;
    }
    return reply.redirect(withDone('/corrections', outcome));
  });

  /** The privacy officer's list; a refused review shows it again with the error at its card and what was typed. */
  async function renderPrivacy(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    refused: { grantId: number; text: string; note: string } | null = null,
  ) {
    const [grants, completed] = await Promise.all([breakGlassReviewList(db), completedBreakGlassReviews(db)]);
    const uses = await emergencyUses(
      db,
      grants.map((g) => g.id),
    );
    // Names on the list, and what was looked at during each emergency access, are reads about each person.
    await appendAudit(
      db,
      ...[...grants, ...completed].map((g) => ({
        actorUserId: user.id,
        actorRole: user.role,
        actorOrganisationId: user.organisationId,
        action: 'list',
        personId: g.personId,
        category: 'demographics',
        purpose: 'safeguarding',
        decision: 'allow' as const,
        reason: 'privacy officer reviewing emergency access',
      })),
    );
    return reply.code(refused ? 400 : 200).view(
      'privacy-review.njk',
      viewContext(request, reply, {
        title: 'Emergency access to review',
        completed,
        success: refused ? null : successFrom(request, privacyDone),
        grants: grants.map((g) => ({
          ...g,
          use: uses.get(g.id),
          error: refused?.grantId === g.id ? refused.text : null,
          note: refused?.grantId === g.id ? refused.note : '',
        })),
        errors: refused ? [{ text: refused.text, href: `#outcome-${refused.grantId}` }] : [],
      }),
    );
  }

  app.get('/privacy', async (request, reply) => renderPrivacy(request, reply, requireRole(request, 'privacy_officer')));

  app.post('/privacy/break-glass/:id', async (request, reply) => {
    const user = requireRole(request, 'privacy_officer');
    const id = Number((request.params as { id: string }).id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(404, 'There is no such emergency access waiting for review.');
    const body = formBody(request);
    const form = parseForm(breakGlassReviewForm, body);
    if (!form.ok)
      return renderPrivacy(request, reply, user, {
        grantId: id,
        text: form.errors[0]!.text,
        note: breakGlassReviewForm.shape.note.parse(body.note),
      });
    const { outcome, note } = form.value;
    if (!(await db.transaction().execute((trx) => reviewBreakGlass(trx, user, id, outcome, note))))
      throw new HttpError(404, 'There is no such emergency access waiting for review.');
    return reply.redirect(withDone('/privacy', 'reviewed'));
  });
}
