// The plan page, assessments, and the outcomes framework in the browser. Every read and write
// of a person's plan or assessments passes the access decision: category 'plans' for the plan,
// the questionnaire's own category for its responses, per household member for their goals.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, requireSignedIn, viewContext } from '../platform/http.ts';
import type { SignedInUser } from '../auth/index.ts';
import { suppressSmall } from '../platform/disclosure.ts';
import { personSummary } from '../people/index.ts';
import {
  activeFramework,
  ensurePlansDefaults,
  listQuestionnaires,
  loadOperatingModels,
  loadQuestionnaire,
  outcomeMappings,
} from './store.ts';
import { AccessRefused, prefillFor, submitAssessment, tellItOnceByForm, type ResponseSummary } from './assessments.ts';
import { addAction, PlanInputError, recordReview, type PlanDetail } from './plans.ts';
import { AGREEMENT } from './place-goal-answers.ts';
import {
  actionsForOrganisation,
  addGoalFromPage,
  completeActionFromPage,
  decideAssessmentAccess,
  decideStartPlan,
  enrolmentsByModel,
  goalPersonFor,
  planMember,
  planPage,
  planToChange,
  savedAssessment,
  startPlanFromPage,
  type PlanToChange,
} from './use-cases.ts';
import {
  askedAs,
  enabledLinkIds,
  EXT,
  extensionOf,
  flattenItems,
  isQuestion,
  scoringOf,
  type AnswerError,
  type Answers,
  type Questionnaire,
  type QuestionnaireItem,
} from './questionnaire.ts';
import type { Prefilled } from './prefill.ts';
import { discardDraft, draftFor, saveDraft, type Draft } from './drafts.ts';
import { lineChart } from './line-chart.ts';
import { addMonths, nextAssessmentDue, type OperatingModel } from './models.ts';
import { writtenDate } from '../platform/dates.ts';
import { translatorFor, type Language } from '../platform/i18n/index.ts';
import { errorForLog } from '../platform/logger.ts';
import { noticeReviewsDue, ukToday } from './reviews-due.ts';
import { registerTeamRoutes } from './team-routes.ts';
import { registerFeedbackRoutes } from './feedback-routes.ts';
import { formBody, parseForm, type ParsedForm } from '../platform/forms.ts';
import { actionForm, assessmentForm, backForm, goalForm, newPlanForm, REVIEW_FIELD_IDS, reviewForm } from './forms.ts';

type Body = Record<string, unknown>;
const str = (body: Body, key: string): string => {
  const v = body[key];
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '';
};
const list = (body: Body, key: string): string[] => {
  const v = body[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
};
const ID = /^[A-Za-z0-9_.:-]{1,100}$/;

/** The success banner after each plan job (the page then shows the change itself). */
const DONE = {
  started: 'Plan started',
  goal: 'Goal added',
  action: 'Action added: the organisation doing it sees it in their plan actions',
  actionDone: 'Action marked done',
  review: 'Review recorded',
} as const;

function param(request: FastifyRequest, name: string, notFound: string): string {
  const value = (request.params as Record<string, string | undefined>)[name] ?? '';
  if (!ID.test(value)) throw new HttpError(404, notFound);
  return value;
}

const monthFormats: Record<Language, Intl.DateTimeFormat> = {
  en: new Intl.DateTimeFormat('en-GB', { month: 'short', year: 'numeric', timeZone: 'Europe/London' }),
  cy: new Intl.DateTimeFormat('cy', { month: 'short', year: 'numeric', timeZone: 'Europe/London' }),
};
const monthLabel = (d: Date | string, language: Language = 'en') => monthFormats[language].format(new Date(d));
const dayLabel = (d: Date | string, language: Language = 'en') => writtenDate(new Date(d), language);

/**
 * Scores over time: a chart of lines once there are two points, and always the table of every
 * figure, in the page's language (a resident's plan may be Welsh). Instruments' and areas' names
 * are shown as the instrument writes them.
 */
interface ChartBlock {
  id: string;
  title: string;
  svg: string;
  single: string | null;
  head: string[];
  rows: Array<{ label: string; cells: string[] }>;
  note: string;
}

function assessmentChart(q: Questionnaire, responses: ResponseSummary[], language: Language): ChartBlock {
  const t = translatorFor(language);
  const config = scoringOf(q);
  const xLabels = responses.map((r) => monthLabel(r.authoredAt, language));
  const max = Math.max(...config.domains.map((d) => d.max), 1);
  const min = Math.min(...config.domains.map((d) => d.min), 0);
  const series = config.domains.map((d) => ({ label: d.display, values: responses.map((r) => r.domains[d.code] ?? null) }));
  const higherBetter = config.domains.every((d) => d.higherIsBetter);
  // One assessment is one point per area: dots on top of each other say nothing a table does not.
  const svg =
    responses.length < 2
      ? ''
      : lineChart({
          id: `chart-${q.id}`,
          title: t('plan.chart.scoresTitle', { title: q.title }),
          description: t('plan.chart.scoresDescription', {
            n: responses.length,
            first: xLabels[0] ?? '',
            last: xLabels[xLabels.length - 1] ?? '',
            min,
            max,
          }),
          xLabels,
          series,
          yMin: min,
          yMax: max,
          xTitle: t('plan.chart.dateOfAssessment'),
          yTitle: t('plan.chart.score', { min, max }),
          yLabel: higherBetter
            ? t('plan.chart.higherBetter')
            : config.domains.some((d) => d.higherIsBetter)
              ? t('plan.chart.mixed')
              : t('plan.chart.lowerBetter'),
        });
  const rows = config.domains.map((d) => ({
    label: d.display,
    cells: responses.map((r) => (r.domains[d.code] ?? t('plan.chart.notScored')).toString()),
  }));
  if (config.total === 'sum')
    rows.push({ label: t('plan.chart.total'), cells: responses.map((r) => (r.total ?? t('plan.chart.notScored')).toString()) });
  for (const rule of config.rules)
    rows.push({
      label: rule.display.split(':')[0]!,
      cells: responses.map((r) => (r.rules[rule.code] ? t('plan.chart.yes') : t('plan.chart.no'))),
    });
  return {
    id: `chart-${q.id}`,
    title: q.title,
    svg,
    head: responses.map((r) => dayLabel(r.authoredAt, language)),
    rows,
    note: q.description,
    single:
      responses.length === 1 ? t('plan.chart.singleAssessment', { date: dayLabel(responses[0]!.authoredAt, language), min, max }) : null,
  };
}

function reviewChart(plan: PlanDetail, language: Language): ChartBlock | null {
  if (plan.reviews.length === 0) return null;
  const t = translatorFor(language);
  const visibleGoals = new Set(plan.goals.map((g) => g.id));
  const means = plan.reviews.map((r) => {
    const s = Object.entries(r.scores)
      .filter(([g]) => visibleGoals.has(g))
      .map(([, v]) => v);
    return s.length ? Math.round((s.reduce((a, b) => a + b, 0) / s.length) * 10) / 10 : null;
  });
  const share = plan.reviews.map((r) => (r.actionsTotal ? Math.round((r.actionsDone / r.actionsTotal) * 100) / 10 : null));
  const xLabels = plan.reviews.map((r) => dayLabel(r.reviewedOn, language));
  const svg =
    plan.reviews.length < 2
      ? ''
      : lineChart({
          id: `chart-review-${plan.id}`,
          title: t('plan.chart.reviewTitle'),
          description: t('plan.chart.reviewDescription', { n: plan.reviews.length }),
          xLabels,
          yMin: 0,
          yMax: 10,
          xTitle: t('plan.chart.dateOfReview'),
          yTitle: t('plan.chart.progress'),
          yLabel: t('plan.chart.higherBetter'),
          series: [
            { label: t('plan.chart.goalsAverageScale'), values: means },
            ...plan.goals.map((g, i) => ({
              label: t('plan.chart.goalN', { n: i + 1 }),
              values: plan.reviews.map((r) => r.scores[g.id] ?? null),
            })),
            { label: t('plan.chart.actionsDoneScale'), values: share },
          ],
        });
  return {
    id: `chart-review-${plan.id}`,
    title: t('plan.chart.reviewTitle'),
    svg,
    head: xLabels,
    rows: [
      ...plan.goals.map((g, i) => ({
        label: t('plan.chart.goalText', { n: i + 1, text: g.text }),
        cells: plan.reviews.map((r) => (r.scores[g.id] ?? t('plan.chart.notScored')).toString()),
      })),
      // Goal attainment scaling, for the goals ever rated: where each stood against what was expected.
      ...plan.goals.flatMap((g, i) =>
        plan.reviews.some((r) => r.gas[g.id] !== undefined)
          ? [
              {
                label: t('plan.chart.goalExpected', { n: i + 1 }),
                cells: plan.reviews.map((r) => {
                  const level = r.gas[g.id];
                  return level === undefined ? t('plan.chart.notRated') : level > 0 ? `+${level}` : level < 0 ? `−${-level}` : '0';
                }),
              },
            ]
          : [],
      ),
      { label: t('plan.chart.goalsAverage'), cells: means.map((m) => (m ?? t('plan.chart.notScored')).toString()) },
      {
        label: t('plan.chart.actionsDone'),
        cells: plan.reviews.map((r) => t('plan.chart.actionsOf', { done: r.actionsDone, total: r.actionsTotal })),
      },
    ],
    note: t('plan.chart.reviewNote'),
    single: plan.reviews.length === 1 ? t('plan.chart.singleReview', { date: xLabels[0] }) : null,
  };
}

interface FormOption {
  value: string;
  text: string;
  checked: boolean;
  reveal: FormQuestion | null;
}

interface FormQuestion {
  linkId: string;
  id: string;
  name: string;
  type: string;
  text: string;
  followUp: boolean;
  options: FormOption[];
  value: string;
  prefill: { detail: string; organisation: string | null; recordedAt: string | null } | null;
  error: string | null;
  hintText: string;
}

/**
 * The assessment form: each group's questions in order, a question revealed by one answer nested
 * under that answer, and follow-ups (enabled by several answers) only once the answers enable
 * them. `asked` lists the follow-ups on the form, so the server knows which were seen.
 */
function formModel(q: Questionnaire, values: Answers, prefilled: Record<string, Prefilled>, errors: AnswerError[]) {
  const enabled = enabledLinkIds(q, values);
  const layout = askedAs(q);
  const asked: string[] = [];
  const toQuestion = (item: QuestionnaireItem): FormQuestion => {
    const value = values[item.linkId];
    const p = prefilled[item.linkId];
    const reveals = flattenItems(q.item)
      .map((f) => f.item)
      .filter((i) => {
        const how = layout.get(i.linkId);
        return how?.kind === 'reveal' && how.under === item.linkId;
      });
    return {
      linkId: item.linkId,
      id: `q-${item.linkId}`,
      name: `q-${item.linkId}`,
      type: item.type,
      text: item.text,
      followUp: layout.get(item.linkId)?.kind === 'follow-up',
      options: (item.answerOption ?? []).map((o) => {
        const revealed = reveals.find((r) => (layout.get(r.linkId) as { option: string }).option === o.valueCoding.code);
        return {
          value: o.valueCoding.code,
          text: o.valueCoding.display ?? o.valueCoding.code,
          checked: value === o.valueCoding.code,
          reveal: revealed ? toQuestion(revealed) : null,
        };
      }),
      value: value === undefined ? '' : String(value),
      prefill: p ? { detail: p.source.detail, organisation: p.source.organisation, recordedAt: p.source.recordedAt } : null,
      error: errors.find((e) => e.linkId === item.linkId)?.text ?? null,
      hintText: [
        p
          ? `Already known from the shared record: ${p.source.detail}${p.source.recordedAt ? `, ${dayLabel(p.source.recordedAt)}` : ''}. Change it if it is no longer right.`
          : null,
        extensionOf(item, EXT.hint)?.valueString ?? null,
      ]
        .filter(Boolean)
        .join(' '),
    };
  };
  const shown = (item: QuestionnaireItem) => {
    const how = layout.get(item.linkId)?.kind ?? 'always';
    if (how === 'reveal') return false;
    if (how === 'follow-up') {
      if (!enabled.has(item.linkId)) return false;
      asked.push(item.linkId);
    }
    return true;
  };
  const groups = q.item.map((group) => ({
    linkId: group.linkId,
    title: group.type === 'group' ? group.text : '',
    questions: (group.type === 'group' ? (group.item ?? []) : [group]).filter(isQuestion).filter(shown).map(toQuestion),
  }));
  return { groups, asked };
}

export function registerPlansRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;
  app.addHook('onReady', async () => {
    await ensurePlansDefaults(db);
  });
  // Residents are told when a plan review comes up: checked at start and every hour by each server
  // (each notice is written once, whichever server gets there first).
  let reviewNoticeTimer: NodeJS.Timeout | undefined;
  const noticeReviews = () =>
    noticeReviewsDue(db, ukToday()).catch((error: unknown) =>
      app.log.error({ err: errorForLog(error as Error) }, 'plan review notices failed'),
    );
  app.addHook('onReady', async () => {
    reviewNoticeTimer = setInterval(() => void noticeReviews(), 3_600_000).unref();
    void noticeReviews();
  });
  app.addHook('onClose', async () => clearInterval(reviewNoticeTimer));
  // Integrated teams: their pages, shared worklists and duty cover (team-routes.ts).
  registerTeamRoutes(app);
  // Feedback on a service, with the place's goals asked beside it (feedback-routes.ts).
  registerFeedbackRoutes(app);

  async function frameworkOutcomes() {
    const framework = await activeFramework(db);
    return { framework, known: new Set(framework.outcomes.map((o) => o.code)) };
  }

  /** The person's plan page, with every access decision applied (in the use case). */
  async function renderPlanPage(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const page = await planPage(db, user, personId, (request.query as Record<string, unknown>).plan);
    if (page.refused) {
      return reply.code(403).view(
        'person-refused.njk',
        viewContext(request, reply, {
          title: 'You cannot see this record',
          reason: page.reason,
          personId,
          canBreakGlass: user.role === 'practitioner',
        }),
      );
    }
    const {
      person,
      framework,
      planList,
      plan,
      plansDecision,
      responses: visibleResponses,
      models,
      questionnaires,
      tellItOnce: tio,
      organisations,
      household,
    } = page;
    const outcomeLabel = new Map(framework.outcomes.map((o) => [o.code, o.label]));
    const planIds = planList.map((p) => p.id);
    const charts: ChartBlock[] = page.questionnairesAnswered.map((a) => assessmentChart(a.questionnaire, a.responses, request.language));
    const modelById = new Map<string, OperatingModel>(models.map((m) => [m.id, m]));
    const enrolmentViews = page.enrolments.map((e) => {
      const model = modelById.get(e.modelId);
      const last = visibleResponses.filter((r) => r.questionnaireId === model?.config.assessment.questionnaireId).at(-1);
      return {
        model,
        enrolledAt: e.enrolledAt,
        plannedEnd: e.plannedEnd,
        consent: e.consentRecordedAt,
        lead: e.lead,
        leadRole: e.leadRoleLabel,
        organisation: e.organisation,
        assessmentDue: model ? nextAssessmentDue(model.config, last?.authoredAt ?? null, new Date(e.enrolledAt)) : null,
        assessmentTitle: questionnaires.find((q) => q.id === model?.config.assessment.questionnaireId)?.title ?? '',
      };
    });
    const model = plan?.modelId ? modelById.get(plan.modelId) : enrolmentViews[0]?.model;
    const sections = model?.config.planSections ?? ['goals', 'actions', 'strengths', 'connections'];
    const partnerKinds = new Set(model?.config.deliveryPartners.organisationKinds ?? []);
    const today = new Date().toISOString().slice(0, 10);
    // What was typed into the form that was refused, to show it again.
    const typed = (extra.values ?? null) as Body | null;
    const notes = new Map((plan?.reviews ?? []).map((r) => [r.id, r.note]));
    return reply.code(status).view(
      'plans-person.njk',
      viewContext(request, reply, {
        title: `Plan: ${person.givenName} ${person.familyName}`,
        person,
        personId,
        // Their own plan is "yours"; a parent or carer reading the plan of someone they act for
        // reads it about that person, as a practitioner does (in the page's language).
        isSelf: user.role === 'citizen' && user.personId === personId,
        isPractitioner: user.role === 'practitioner',
        ownOrganisationId: user.organisationId,
        plan,
        planIds,
        sections,
        planList: plansDecision.scope === 'none' ? [] : planList.map((p) => ({ ...p, current: p.id === plan?.id })),
        history: (plan?.events ?? []).slice(0, 40).map((e) => ({ ...e, note: e.reviewId ? (notes.get(e.reviewId) ?? null) : null })),
        model,
        enrolments: enrolmentViews,
        charts,
        reviewChart: plan ? reviewChart(plan, request.language) : null,
        tellItOnce: tio,
        plansReason: plansDecision.reason,
        plansScope: plansDecision.scope,
        outcomes: framework.outcomes,
        agreement: AGREEMENT,
        outcomeLabel: Object.fromEntries(outcomeLabel),
        outcomeItems: framework.outcomes.map((o) => ({ value: o.code, text: o.label, hint: { text: o.statement } })),
        membersText: plan ? plan.members.map((m) => m.name).join(', ') : '',
        memberItems: plan ? plan.members.map((m) => ({ value: m.personId, text: m.name, selected: m.personId === personId })) : [],
        goalItems: [
          { value: '', text: 'Not linked to one goal' },
          ...(plan?.goals ?? []).map((g, i) => ({ value: g.id, text: `Goal ${i + 1}: ${g.text}` })),
        ],
        questionnaires,
        qItems: questionnaires.map((q) => ({ value: q.id, text: q.title })),
        householdMembers: household.map((h) => ({ id: h.id, name: `${h.givenName} ${h.familyName}` })),
        hhItems: household.map((h) => ({
          value: h.id,
          text: `${h.givenName} ${h.familyName}`,
          checked: typed ? list(typed, 'members').includes(h.id) : false,
        })),
        consentItems: [
          {
            value: 'yes',
            text: 'Each person added has agreed to be part of this plan (you join their care network; they can see that you did)',
            checked: typed ? str(typed, 'memberConsent') === 'yes' : false,
          },
        ],
        organisationOptions: [
          { value: '', text: 'Choose an organisation' },
          ...organisations.filter((o) => partnerKinds.has(o.kind)).map((o) => ({ value: o.id, text: `${o.name} (delivery partner)` })),
          ...organisations.filter((o) => !partnerKinds.has(o.kind)).map((o) => ({ value: o.id, text: o.name })),
        ],
        defaultDue: addMonths(today, 1),
        defaultReview: addMonths(today, model?.config.reviewEveryMonths ?? 3),
        today,
        ...extra,
      }),
    );
  }

  app.get('/people/:id/plan', async (request, reply) => {
    const user = requireRole(request, 'citizen', 'practitioner');
    const personId = param(request, 'id', 'There is no such person record.');
    const q = request.query as Record<string, unknown>;
    const saved = typeof q.saved === 'string' && ID.test(q.saved) ? await savedAssessment(db, personId, q.saved) : null;
    const done = typeof q.done === 'string' && Object.hasOwn(DONE, q.done) ? DONE[q.done as keyof typeof DONE] : null;
    return renderPlanPage(request, reply, user, personId, { saved, done });
  });

  app.get('/my-plan', async (request, reply) => {
    const user = requireRole(request, 'citizen');
    if (!user.personId) throw new HttpError(403, 'This account is not linked to a person record.');
    return reply.redirect(`/people/${encodeURIComponent(user.personId)}/plan`);
  });

  // ---------------------------------------------------------------------------------------------
  // Assessments

  async function renderAssessment(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    q: Questionnaire,
    values: Answers | null,
    errors: AnswerError[],
    status = 200,
    followUps: string[] = [],
    draft: Draft | null = null,
  ) {
    const person = await personSummary(db, personId);
    if (!person) throw new HttpError(404, 'There is no such person record.');
    const { prefilled, withheld } = await prefillFor(db, user, personId, q);
    // What was typed, else the author's draft over the prefilled answers, else the prefilled answers.
    const fromPrefill = Object.fromEntries(Object.entries(prefilled).map(([k, p]) => [k, p.value]));
    const initial: Answers = values ?? (draft ? { ...fromPrefill, ...draft.answers } : fromPrefill);
    const questions = flattenItems(q.item).filter((f) => isQuestion(f.item)).length;
    const { groups, asked } = formModel(q, initial, prefilled, errors);
    const items = flattenItems(q.item).map((f) => f.item);
    return reply.code(status).view(
      'plans-assessment.njk',
      viewContext(request, reply, {
        title: `${q.title}: ${person.givenName} ${person.familyName}`,
        person,
        personId,
        questionnaire: q,
        groups,
        asked,
        followUps: followUps.map((linkId) => ({ text: items.find((i) => i.linkId === linkId)?.text ?? linkId, href: `#q-${linkId}` })),
        prefilledCount: Object.keys(prefilled).length,
        questions,
        withheld,
        errors: errors.map((e) => ({ text: e.text, href: `#q-${e.linkId}` })),
        draft: draft ? { savedAt: draft.savedAt } : null,
        draftSaved: (request.query as Record<string, unknown> | undefined)?.done === 'draft',
      }),
    );
  }

  /** The answers a form sent, keyed by linkId, and the questions it asked. */
  const assessmentAnswers = (q: Questionnaire, request: FastifyRequest) =>
    assessmentForm(flattenItems(q.item).flatMap(({ item }) => (isQuestion(item) ? [item.linkId] : []))).parse(formBody(request));

  async function assessmentOf(request: FastifyRequest) {
    const personId = param(request, 'id', 'There is no such person record.');
    const q = await loadQuestionnaire(db, param(request, 'qid', 'There is no such assessment.'));
    if (!q) throw new HttpError(404, 'There is no such assessment.');
    return { personId, q };
  }

  // Saving a draft: on each change (the page's script asks for JSON) or "Save and come back later".
  app.post('/people/:id/assessments/:qid/draft', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const { personId, q } = await assessmentOf(request);
    const { answers, asked } = assessmentAnswers(q, request);
    let savedAt: Date;
    try {
      savedAt = await saveDraft(db, user, personId, q, answers, asked);
    } catch (error) {
      if (error instanceof AccessRefused) throw new HttpError(403, `You cannot assess this person: ${error.message}.`);
      throw error;
    }
    if (String(request.headers.accept ?? '').includes('application/json')) {
      return reply.send({
        savedAt: savedAt.toISOString(),
        text: `Draft saved at ${savedAt.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/London' })}`,
      });
    }
    return reply.redirect(`/people/${encodeURIComponent(personId)}/assessments/${encodeURIComponent(q.id)}?done=draft`);
  });

  app.post('/people/:id/assessments/:qid/draft/discard', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const { personId, q } = await assessmentOf(request);
    await discardDraft(db, user, personId, q.id);
    return reply.redirect(`/people/${encodeURIComponent(personId)}/assessments/${encodeURIComponent(q.id)}`);
  });

  app.get('/people/:id/assessments/start', async (request, reply) => {
    requireRole(request, 'practitioner');
    const personId = param(request, 'id', 'There is no such person record.');
    const qid = String((request.query as Record<string, unknown>).qid ?? '');
    if (!ID.test(qid)) throw new HttpError(404, 'There is no such assessment.');
    return reply.redirect(`/people/${encodeURIComponent(personId)}/assessments/${encodeURIComponent(qid)}`);
  });

  app.get('/people/:id/assessments/:qid', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = param(request, 'id', 'There is no such person record.');
    const q = await loadQuestionnaire(db, param(request, 'qid', 'There is no such assessment.'));
    if (!q) throw new HttpError(404, 'There is no such assessment.');
    await decideAssessmentAccess(db, user, personId, q, 'read');
    return renderAssessment(request, reply, user, personId, q, null, [], 200, [], await draftFor(db, user, personId, q));
  });

  app.post('/people/:id/assessments/:qid', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = param(request, 'id', 'There is no such person record.');
    const q = await loadQuestionnaire(db, param(request, 'qid', 'There is no such assessment.'));
    if (!q) throw new HttpError(404, 'There is no such assessment.');
    const { answers: raw, asked } = assessmentAnswers(q, request);
    let result;
    try {
      result = await submitAssessment(db, { actor: user, personId, questionnaire: q, raw, asked });
    } catch (error) {
      if (error instanceof AccessRefused) throw new HttpError(403, `You cannot assess this person: ${error.message}.`);
      throw error;
    }
    if (!result.ok) {
      // Not saved yet, but nothing typed is lost: it is kept as the author's draft.
      await saveDraft(db, user, personId, q, raw, asked);
      const typed = {
        ...result.answers,
        ...Object.fromEntries(Object.entries(raw).filter(([k, v]) => v && result.answers[k] === undefined)),
      };
      // Follow-up questions alone are not a mistake: the form comes back with them to answer.
      return renderAssessment(
        request,
        reply,
        user,
        personId,
        q,
        typed,
        result.errors,
        result.errors.length > 0 ? 400 : 200,
        result.followUps,
      );
    }
    return reply.redirect(`/people/${encodeURIComponent(personId)}/plan?saved=${encodeURIComponent(result.responseId)}#assessments`);
  });

  // ---------------------------------------------------------------------------------------------
  // Plans

  const planFor = (request: FastifyRequest, user: SignedInUser) =>
    planToChange(db, user, param(request, 'planId', 'There is no such plan.'));

  const backTo = async (back: string | null, plan: PlanToChange, done: keyof typeof DONE) => {
    const member = back ? await planMember(db, plan.id, back) : null;
    return `/people/${encodeURIComponent(member ?? plan.person_id)}/plan?plan=${encodeURIComponent(plan.id)}&done=${done}`;
  };

  /** Runs a plan change; a refusal shows the plan page again with the error and what was typed in that form. */
  async function withPlanErrors(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    form: 'plan' | 'goal' | 'action' | 'review',
    work: () => Promise<void>,
    redirect: string | (() => string),
  ) {
    try {
      await work();
    } catch (error) {
      if (error instanceof PlanInputError)
        return renderPlanPage(
          request,
          reply,
          user,
          personId,
          { error: { field: error.field, text: error.message }, errorForm: form, values: formBody(request) },
          400,
        );
      throw error;
    }
    return reply.redirect(typeof redirect === 'string' ? redirect : redirect());
  }

  /**
   * A plan form its schema refused: the plan page again (deciding access to it as ever) with the
   * first message (the page shows one at a time, beside its field) and what was typed in that form.
   */
  function planFormRefused(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    personId: string,
    form: 'plan' | 'goal' | 'action' | 'review',
    refused: Extract<ParsedForm<unknown>, { ok: false }>,
    fieldIds: Readonly<Record<string, string>> = {},
  ) {
    const [field, text] = Object.entries(refused.fieldErrors)[0]!;
    return renderPlanPage(
      request,
      reply,
      user,
      personId,
      { error: { field: fieldIds[field] ?? field, text }, errorForm: form, values: refused.values },
      400,
    );
  }

  app.post('/people/:id/plans', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const personId = param(request, 'id', 'There is no such person record.');
    await decideStartPlan(db, user, personId);
    const form = parseForm(newPlanForm, formBody(request));
    if (!form.ok) return planFormRefused(request, reply, user, personId, 'plan', form);
    const { members, memberConsent, title, strengths, connections, nextReviewOn } = form.value;
    let planId = '';
    return withPlanErrors(
      request,
      reply,
      user,
      personId,
      'plan',
      async () => {
        planId = await startPlanFromPage(db, user, {
          personId,
          memberIds: members,
          membersAgreed: memberConsent,
          title,
          strengths,
          connections,
          nextReviewOn,
        });
      },
      () => `/people/${encodeURIComponent(personId)}/plan?plan=${encodeURIComponent(planId)}&done=started`,
    );
  });

  app.post('/plans/:planId/goals', async (request, reply) => {
    const user = requireRole(request, 'practitioner', 'citizen');
    const plan = await planFor(request, user);
    const body = formBody(request);
    // Whose goal it is passes its own decision before anything about the form is shown.
    const goalPerson = await goalPersonFor(db, user, plan, goalForm.shape.goalPerson.parse(body.goalPerson));
    const back = goalForm.shape.back.parse(body.back);
    const form = parseForm(goalForm, body);
    if (!form.ok) return planFormRefused(request, reply, user, back ?? plan.person_id, 'goal', form);
    return withPlanErrors(
      request,
      reply,
      user,
      back ?? plan.person_id,
      'goal',
      () =>
        db.transaction().execute(async (trx) => {
          await addGoalFromPage(trx, user, plan.id, {
            personId: goalPerson ?? null,
            text: form.value.goalText,
            outcomeCodes: form.value.outcomes,
            setBy: user.role === 'citizen' ? 'person' : 'practitioner',
          });
        }),
      await backTo(back, plan, 'goal'),
    );
  });

  app.post('/plans/:planId/actions', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const plan = await planFor(request, user);
    const form = parseForm(actionForm, formBody(request));
    if (!form.ok) return planFormRefused(request, reply, user, plan.person_id, 'action', form);
    const { goalId, description, assignedOrganisationId, dueOn, back } = form.value;
    return withPlanErrors(
      request,
      reply,
      user,
      plan.person_id,
      'action',
      () =>
        db.transaction().execute(async (trx) => {
          await addAction(trx, user, plan.id, {
            goalId,
            description,
            assignedOrganisationId,
            assignedPractitionerId: null,
            dueOn,
          });
        }),
      await backTo(back, plan, 'action'),
    );
  });

  app.post('/plans/:planId/actions/:actionId/done', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const plan = await planFor(request, user);
    const actionId = param(request, 'actionId', 'There is no such action.');
    await db.transaction().execute((trx) => completeActionFromPage(trx, user, plan, actionId));
    const { back } = backForm.parse(formBody(request));
    return reply.redirect(await backTo(back, plan, 'actionDone'));
  });

  app.post('/plans/:planId/reviews', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const plan = await planFor(request, user);
    const form = parseForm(reviewForm, formBody(request));
    if (!form.ok) return planFormRefused(request, reply, user, plan.person_id, 'review', form, REVIEW_FIELD_IDS);
    const { reviewedOn, scores, gas, said, note, nextReviewOn, back } = form.value;
    return withPlanErrors(
      request,
      reply,
      user,
      plan.person_id,
      'review',
      () =>
        db.transaction().execute(async (trx) => {
          await recordReview(trx, user, plan.id, { reviewedOn, scores, gas, said, note, nextReviewOn });
        }),
      await backTo(back, plan, 'review'),
    );
  });

  // ---------------------------------------------------------------------------------------------
  // A partner's worklist: open actions assigned to my organisation.

  app.get('/plans/actions', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const rows = await actionsForOrganisation(db, user);
    const today = new Date().toISOString().slice(0, 10);
    return reply.view(
      'plans-actions.njk',
      viewContext(request, reply, {
        title: 'Plan actions for your organisation',
        actions: rows.map((r) => ({ ...r, due: r.due_on.slice(0, 10), overdue: r.due_on.slice(0, 10) < today })),
      }),
    );
  });

  // ---------------------------------------------------------------------------------------------
  // The common language: framework, assessments, models and "tell it once" (aggregates only).

  app.get('/outcomes', async (request, reply) => {
    requireSignedIn(request);
    const { framework } = await frameworkOutcomes();
    const [mappings, questionnaires, models, byForm] = await Promise.all([
      outcomeMappings(db, framework.id),
      listQuestionnaires(db),
      loadOperatingModels(db),
      tellItOnceByForm(db),
    ]);
    const outcomes = framework.outcomes.map((o) => ({
      ...o,
      needs: mappings.filter((m) => m.sourceKind === 'need' && m.outcomeCode === o.code).map((m) => m.sourceCode),
      domains: mappings.filter((m) => m.sourceKind === 'domain' && m.outcomeCode === o.code).length,
      questions: mappings.filter((m) => m.sourceKind === 'question' && m.outcomeCode === o.code).length,
    }));
    const counts = await enrolmentsByModel(db);
    // Place-wide "tell it once": the forms shown in full (a form used with fewer than 5 people is
    // left out, so its figures cannot be worked out from the total and the other rows).
    const shownForms = byForm.filter((f) => !(f.people > 0 && f.people < 5));
    const placeWide = {
      answered: shownForms.reduce((n, f) => n + f.answered, 0),
      reused: shownForms.reduce((n, f) => n + f.reused, 0),
      asked: shownForms.reduce((n, f) => n + f.asked, 0),
      leftOut: shownForms.length < byForm.length,
    };
    return reply.view(
      'plans-outcomes.njk',
      viewContext(request, reply, {
        placeWide,
        title: 'Outcomes, assessments and operating models',
        framework,
        outcomes,
        questionnaires,
        models: models.map((m) => ({
          ...m,
          people: suppressSmall(counts.get(m.id) ?? 0),
          assessmentTitle:
            questionnaires.find((q) => q.id === m.config.assessment.questionnaireId)?.title ?? m.config.assessment.questionnaireId,
        })),
        byForm: byForm.map((f) => ({
          ...f,
          responses: suppressSmall(f.responses),
          people: suppressSmall(f.people),
          share: f.answered ? Math.round((f.reused / f.answered) * 100) : 0,
          suppressed: f.people > 0 && f.people < 5,
        })),
      }),
    );
  });
}
