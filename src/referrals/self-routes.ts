// A resident's own front door to services: "Refer yourself" on a service that accepts it
// (signed in, for themselves or someone they act for, or not signed in with contact details),
// its confirmation with a reference number, and "What matters to me", a short self-assessment
// routed to the right team with a promised call-back date. Routes parse; self-referral.ts and
// self-assessment.ts decide who may ask, for whom, and what the service sees.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, viewContext } from '../platform/http.ts';
import { dateInputItems, dateParts, type DatePart } from '../platform/date-input.ts';
import type { SignedInUser } from '../auth/index.ts';
import { categories, categoryLabels, proxiesOf, type Category } from '../consent/index.ts';
import { writtenDay } from '../platform/dates.ts';
import { localityNames } from '../place/index.ts';
import { agesText, personFacts } from './eligibility.ts';
import {
  contactPrefill,
  preferredContactLabels,
  preferredContacts,
  selfReferralByKey,
  selfReferralSenderAccount,
  selfReferralService,
  sendSelfReferral,
  SelfReferralInputError,
  subjectFor,
  type FieldError,
} from './self-referral.ts';
import { newSubmissionKey } from './self-details.ts';
import { accountOfferFor } from './request-routes.ts';
import { callBackBy, routeSelfAssessment, sendSelfAssessment } from './self-assessment.ts';
import { formBody, parseForm } from '../platform/forms.ts';
import { selfAssessmentForm, selfReferralForm } from './forms.ts';

type Body = Record<string, unknown>;
type Query = Record<string, string | string[] | undefined>;
const first = (v: unknown): string => (Array.isArray(v) ? String(v[0] ?? '') : typeof v === 'string' ? v : '');
const ID = /^[A-Za-z0-9_-]{1,80}$/;

/** The need taxonomy of the directory, passed in by routes.ts (the directory has no front door to import it from yet). */
export interface NeedTaxonomy {
  groups: ReadonlyArray<{ code: string; name: string }>;
  terms: ReadonlyArray<{ code: string; group: string; name: string; description: string }>;
}

/**
 * Anonymous forms are the ones a script would hammer: a budget per client address (per account
 * when signed in), on top of CSRF (the token is bound to the signed-out visitor's cookie) and the
 * one-request-per-form key.
 */
const FORM_RATE_LIMIT = {
  max: 20,
  timeWindow: '1 hour',
  keyGenerator: (request: FastifyRequest) => (request.user ? `self-user:${request.user.id}` : `self-address:${request.ip}`),
};

/** Where each field's error takes the reader. */
function errorHref(e: FieldError): string {
  if (e.field === 'dob') return `#dob-${e.parts?.[0] ?? 'day'}`;
  if (e.field === 'preferred_contact') return '#preferred_contact';
  if (e.field === 'urgency') return '#urgency';
  if (e.field === 'onward_consent') return '#onward_consent';
  if (e.field === 'categories') return '#categories';
  if (e.field === 'needs') return '#needs';
  if (e.field === 'service') return '#service-eligibility';
  if (e.field === 'submission') return '#submit';
  return `#${e.field}`;
}

/** A refused form's problems as the pages list them: each field's message, and the date boxes it names. */
function problemsOf(refused: { fieldErrors: Record<string, string>; parts: Record<string, string[]> }): FieldError[] {
  return Object.entries(refused.fieldErrors).map(([field, text]) => ({
    field,
    text,
    parts: refused.parts[field] as DatePart[] | undefined,
  }));
}

function errorsView(errors: FieldError[]) {
  const byField: Record<string, string> = {};
  for (const e of errors) byField[e.field] ??= e.text;
  return {
    errorList: errors.map((e) => ({ text: e.text, href: errorHref(e) })),
    errorFor: byField,
    dobParts: errors.find((e) => e.field === 'dob')?.parts ?? [],
  };
}

const radio = (values: Body, name: string, value: string, text: string, extra: Record<string, unknown> = {}) => ({
  value,
  text,
  checked: first(values[name]) === value,
  ...extra,
});

export function registerSelfReferralRoutes(app: FastifyInstance, taxonomy: NeedTaxonomy): void {
  const db = app.joinery.database.db;
  const needName = (code: string) => taxonomy.terms.find((t) => t.code === code)?.name ?? code;

  /** Residents and visitors only: a practitioner refers from the person's record; other roles ask nobody for help here. */
  function residentOrVisitor(request: FastifyRequest): SignedInUser | null {
    const user = request.user ?? null;
    if (user && user.role !== 'citizen')
      throw new HttpError(
        403,
        'This page is for residents asking for help themselves. Practitioners refer people from their record or the directory.',
      );
    // An account made from an earlier request is nobody's yet: it asks as someone not signed in
    // would (typing who they are), and follows the new request too.
    return user && user.personId ? user : null;
  }
  const followerOf = (request: FastifyRequest): string | null =>
    request.user && request.user.role === 'citizen' && !request.user.personId ? request.user.id : null;

  async function whoItems(user: SignedInUser, chosen: string) {
    const actingFor = user.personId ? await proxiesOf(db, user.personId) : [];
    if (actingFor.length === 0) return [];
    return [
      { value: '', text: 'Me', checked: chosen === '' || chosen === user.personId },
      ...actingFor.map((p) => ({
        value: p.personId,
        text: `${p.name} (you act for them as their ${p.kind})`,
        checked: chosen === p.personId,
      })),
    ];
  }

  async function renderReferYourself(
    request: FastifyRequest,
    reply: FastifyReply,
    serviceId: string,
    values: Body,
    errors: FieldError[] = [],
    status = 200,
  ) {
    const user = residentOrVisitor(request);
    const service = await selfReferralService(db, serviceId);
    if (!service) throw new HttpError(404, 'There is no such service in the directory.');
    if (!service.accepts_self_referral) {
      throw new HttpError(
        404,
        `${service.name} does not take requests from residents themselves. Ask a professional involved in your care (for example your GP) to refer you.`,
      );
    }
    const localities = await localityNames(db, service.locality_ids);
    const prefill = user?.personId && !('email' in values) ? await contactPrefill(db, user.personId) : null;
    const shown: Body = { ...values, ...(prefill ? { email: prefill.email, phone: prefill.phone } : {}) };
    const chosenCats = new Set(
      (Array.isArray(shown.categories) ? shown.categories : shown.categories ? [shown.categories] : []).map(String),
    );
    const ev = errorsView(errors);
    return reply.code(status).view(
      'referrals-refer-yourself.njk',
      viewContext(request, reply, {
        title: `${errors.length ? 'Error: ' : ''}Ask ${service.name} for help`,
        service,
        signedIn: Boolean(user),
        ages: agesText(service.min_age, service.max_age),
        localities: localities.join(', '),
        whoItems: user ? await whoItems(user, first(shown.for)) : [],
        values: shown,
        submission: /^[a-f0-9-]{36}$/.test(first(shown.submission)) ? first(shown.submission) : newSubmissionKey(),
        dobItems: dateInputItems(dateParts(shown, 'dob'), ev.dobParts as DatePart[]),
        contactItems: preferredContacts.map((c) => radio(shown, 'preferred_contact', c, preferredContactLabels[c])),
        urgencyItems: [
          radio(shown, 'urgency', 'routine', 'In the next few weeks'),
          radio(shown, 'urgency', 'soon', 'Soon: it is getting harder to cope'),
        ],
        onwardItems: [radio(shown, 'onward_consent', 'yes', 'Yes'), radio(shown, 'onward_consent', 'no', 'No, ask me first')],
        categoryItems: categories
          .filter((c: Category) => c !== 'demographics' && c !== 'children_safeguarding')
          .map((c: Category) => ({ value: c, text: categoryLabels[c], checked: chosenCats.has(c) })),
        ...ev,
      }),
    );
  }

  app.get('/services/:id/refer-yourself', async (request, reply) => {
    const id = (request.params as { id?: string }).id ?? '';
    if (!ID.test(id)) throw new HttpError(404, 'There is no such service in the directory.');
    const query = request.query as Query;
    return renderReferYourself(request, reply, id, { for: first(query.for) });
  });

  app.post('/services/:id/refer-yourself', { config: { rateLimit: FORM_RATE_LIMIT } }, async (request, reply) => {
    const id = (request.params as { id?: string }).id ?? '';
    if (!ID.test(id)) throw new HttpError(404, 'There is no such service in the directory.');
    const user = residentOrVisitor(request);
    const body = formBody(request);
    const form = parseForm(selfReferralForm(id, Boolean(user)), body);
    if (!form.ok) return renderReferYourself(request, reply, id, body, problemsOf(form), 400);
    const input = form.value;
    try {
      await sendSelfReferral(db, user, first(body.for) || null, input, new Date(), followerOf(request));
      return reply.redirect(`/services/${encodeURIComponent(id)}/refer-yourself/sent?key=${encodeURIComponent(input.submissionKey)}`);
    } catch (error) {
      if (error instanceof SelfReferralInputError) {
        if (error.status === 403 || error.status === 404) throw new HttpError(error.status, error.errors[0]?.text ?? 'You cannot do this.');
        return renderReferYourself(request, reply, id, body, error.errors, error.status);
      }
      throw error;
    }
  });

  // The confirmation: the reference, how and by when they will hear back. The same page whether or
  // not the person index knew them, and nothing from any record.
  app.get('/services/:id/refer-yourself/sent', async (request, reply) => {
    const key = first((request.query as Query).key);
    const sent = await selfReferralByKey(db, key);
    if (!sent) throw new HttpError(404, 'There is no such request.');
    const user = request.user ?? null;
    return reply.view(
      'referrals-self-sent.njk',
      viewContext(request, reply, {
        title: 'Your request has been sent',
        sent,
        signedIn: Boolean(user && user.role === 'citizen' && user.personId),
        kind: 'self_referral',
        followsRequests: Boolean(followerOf(request)),
        // Not signed in with an email address given: offer an account that follows this request (request-routes.ts).
        ...(await accountOfferFor(db, request, sent.referralId)),
        serviceId: (request.params as { id?: string }).id ?? '',
        submissionKey: key,
        contactBy: preferredContactLabels[sent.preferredContact].toLowerCase(),
        due: writtenDay(sent.firstContactDue, request.language),
      }),
    );
  });

  // "What matters to me": signed in, for themselves or someone they act for.
  async function renderWhatMatters(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    values: Body,
    errors: FieldError[] = [],
    status = 200,
  ) {
    const subject = await subjectFor(db, user, first(values.for) || null).catch((e: unknown) => {
      if (e instanceof SelfReferralInputError) throw new HttpError(403, e.errors[0]!.text);
      throw e;
    });
    const prefill = !('email' in values) ? await contactPrefill(db, user.personId!) : null;
    const shown: Body = { ...values, ...(prefill ? { email: prefill.email, phone: prefill.phone } : {}) };
    const chosen = new Set((Array.isArray(shown.needs) ? shown.needs : shown.needs ? [shown.needs] : []).map(String));
    const ev = errorsView(errors);
    // Said before they send: the routing is the same rule that will send it.
    const facts = await personFacts(db, subject.personId);
    const preview = chosen.size ? await routeSelfAssessment(db, [...chosen], facts) : null;
    return reply.code(status).view(
      'referrals-what-matters.njk',
      viewContext(request, reply, {
        title: `${errors.length ? 'Error: ' : ''}What matters to you`,
        whoItems: await whoItems(user, first(shown.for)),
        values: shown,
        submission: /^[a-f0-9-]{36}$/.test(first(shown.submission)) ? first(shown.submission) : newSubmissionKey(),
        needGroups: taxonomy.groups.map((g) => ({
          name: g.name,
          items: taxonomy.terms
            .filter((t) => t.group === g.code)
            .map((t) => ({ value: t.code, text: t.name, hint: { text: t.description }, checked: chosen.has(t.code) })),
        })),
        contactItems: preferredContacts.map((c) => radio(shown, 'preferred_contact', c, preferredContactLabels[c])),
        preview: preview ? { ...preview, callBack: writtenDay(callBackBy(preview.firstContactWithinDays), request.language) } : null,
        // Kept as "about me" unless they say not (first shown ticked).
        aboutMeChecked: !('submission' in values) || first(values.about_me) === 'yes',
        ...ev,
      }),
    );
  }

  app.get('/my-record/what-matters', async (request, reply) => {
    const user = request.user;
    if (!user) throw new HttpError(401, 'Sign in to tell us what matters to you.');
    if (user.role !== 'citizen') throw new HttpError(403, 'This page is for residents and the people who act for them.');
    return renderWhatMatters(request, reply, user, { for: first((request.query as Query).for) });
  });

  app.post('/my-record/what-matters', { config: { rateLimit: FORM_RATE_LIMIT } }, async (request, reply) => {
    const user = request.user;
    if (!user) throw new HttpError(401, 'Sign in to tell us what matters to you.');
    if (user.role !== 'citizen') throw new HttpError(403, 'This page is for residents and the people who act for them.');
    const body = formBody(request);
    const form = parseForm(selfAssessmentForm(new Set(taxonomy.terms.map((t) => t.code))), body);
    // The form again goes through renderWhatMatters, whose access decision (may this user act for the person) comes first.
    if (!form.ok) return renderWhatMatters(request, reply, user, body, problemsOf(form), 400);
    const input = form.value;
    try {
      await sendSelfAssessment(db, user, first(body.for) || null, input, needName);
      return reply.redirect(`/my-record/what-matters/sent?key=${encodeURIComponent(input.submissionKey)}`);
    } catch (error) {
      if (error instanceof SelfReferralInputError) {
        if (error.status === 403 || error.status === 404) throw new HttpError(error.status, error.errors[0]?.text ?? 'You cannot do this.');
        return renderWhatMatters(request, reply, user, body, error.errors, error.status);
      }
      throw error;
    }
  });

  app.get('/my-record/what-matters/sent', async (request, reply) => {
    const user = request.user;
    if (!user) throw new HttpError(401, 'Sign in to see your request.');
    const sent = await selfReferralByKey(db, first((request.query as Query).key));
    // Only the one who sent it: the key alone is not enough for a signed-in page.
    if (!sent || (await selfReferralSenderAccount(db, sent.referralId)) !== user.id) throw new HttpError(404, 'There is no such request.');
    return reply.view(
      'referrals-self-sent.njk',
      viewContext(request, reply, {
        title: 'Your answers have been sent',
        sent,
        signedIn: true,
        kind: 'self_assessment',
        contactBy: preferredContactLabels[sent.preferredContact].toLowerCase(),
        due: writtenDay(sent.firstContactDue, request.language),
      }),
    );
  });
}
