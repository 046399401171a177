// Running an assessment against the shared record: prefill through the access decision (only
// what this reader may see is offered, each answer with its source), then score, store the
// FHIR QuestionnaireResponse and count what was reused versus asked ("tell it once").
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { ageOn, currentNeedRows, personEventsSince, personHouseholdFacts } from '../people/index.ts';
import { organisationsByIds } from '../network/index.ts';
import { currentAboutMe } from '../records/index.ts';
import type { SignedInUser } from '../auth/index.ts';
import { decideRecordAccess, type Category, type Purpose } from '../consent/index.ts';
import { categoryOfEvent, categoryOfNeed, isCategory } from '../consent/index.ts';
import type { CategoryDecision } from '../consent/index.ts';
import {
  answersFromResponse,
  askedAs,
  buildResponse,
  categoryOfQuestionnaire,
  enabledLinkIds,
  EXT,
  extensionOf,
  flattenItems,
  parseAnswers,
  scoreResponse,
  type AnswerError,
  type Answers,
  type Questionnaire,
  type QuestionnaireResponse,
  type ScoreResult,
} from './questionnaire.ts';
import {
  prefillQuestionnaire,
  tellItOnce,
  type AnswerFact,
  type EventFact,
  type NeedFact,
  type Prefilled,
  type PrefillFacts,
  type TellItOnceCounts,
} from './prefill.ts';
import { parseJson } from './store.ts';
import { appendPlanEvent } from './plans.ts';
import { NotAllowed } from '../platform/refused.ts';

export class AccessRefused extends NotAllowed {}

export function purposeFor(user: SignedInUser): Purpose {
  return user.role === 'citizen' ? 'self' : 'direct_care';
}

/** Whether an item recorded by an organisation may be shown under this decision. */
export function visibleUnder(
  decision: CategoryDecision | undefined,
  organisationId: string | null,
  ownOrganisationId: string | null,
): boolean {
  if (!decision) return false;
  if (decision.scope === 'all') return true;
  return decision.scope === 'own_organisation' && organisationId !== null && organisationId === ownOrganisationId;
}

interface RawFacts {
  facts: PrefillFacts;
  categories: Set<Category>;
}

async function loadRawFacts(
  db: Kysely<Database>,
  personId: string,
  linkIdsFromAnswers: string[],
  now: Date,
  wantsAboutMe = false,
): Promise<RawFacts> {
  const since = new Date(now.getTime() - 400 * 86_400_000);
  const [needs, events, person, responses, aboutMe] = await Promise.all([
    currentNeedRows(db, personId),
    personEventsSince(db, personId, since),
    personHouseholdFacts(db, personId),
    linkIdsFromAnswers.length === 0
      ? Promise.resolve([])
      : db
          .selectFrom('questionnaire_responses as r')
          .innerJoin('questionnaires as q', (j) =>
            j.onRef('q.id', '=', 'r.questionnaire_id').onRef('q.version', '=', 'r.questionnaire_version'),
          )
          .select(['r.response', 'r.authored_at', 'r.organisation_id', 'q.category', 'q.title'])
          .where('r.person_id', '=', personId)
          .where('r.authored_at', '>=', since)
          .execute(),
    // "About me", the person's own words: read only when a question asks for it.
    wantsAboutMe ? currentAboutMe(db, personId) : Promise.resolve(undefined),
  ]);
  // Every agency's name in one look-up; a need or event names an organisation the network knows.
  const organisations = await organisationsByIds(db, [
    ...needs.map((n) => n.organisationId),
    ...events.map((e) => e.organisationId),
    ...responses.map((r) => r.organisation_id),
  ]);
  const nameOf = (id: string | null) => (id === null ? null : (organisations.get(id)?.name ?? null));
  const categories = new Set<Category>();
  const needFacts: NeedFact[] = needs
    .filter((n) => organisations.has(n.organisationId))
    .map((n) => {
      const category = categoryOfNeed(n.code);
      categories.add(category);
      return {
        code: n.code,
        severity: n.severity,
        organisationId: n.organisationId,
        organisation: nameOf(n.organisationId)!,
        recordedAt: String(n.recordedAt),
        category,
      };
    });
  const eventFacts: EventFact[] = events
    .filter((e) => organisations.has(e.organisationId))
    .map((e) => {
      const category = categoryOfEvent(e.type);
      categories.add(category);
      return {
        type: e.type,
        at: new Date(e.at),
        value: e.value,
        organisationId: e.organisationId,
        organisation: nameOf(e.organisationId)!,
        category,
      };
    });
  const wanted = new Set(linkIdsFromAnswers);
  const answerFacts: AnswerFact[] = [];
  for (const r of responses) {
    const category = isCategory(r.category) ? r.category : 'social_care';
    const answers = answersFromResponse(parseJson<QuestionnaireResponse>(r.response));
    for (const [linkId, value] of Object.entries(answers)) {
      if (!wanted.has(linkId)) continue;
      categories.add(category);
      answerFacts.push({
        linkId,
        value,
        authoredAt: new Date(r.authored_at),
        organisationId: r.organisation_id,
        organisation: nameOf(r.organisation_id),
        category,
        questionnaire: r.title,
      });
    }
  }
  let household: PrefillFacts['household'] = null;
  if (person?.tenure && person.composition) {
    household = { tenure: person.tenure, composition: person.composition, category: 'housing' };
    categories.add('housing');
  }
  const age = person?.birthDate ? ageOn(String(person.birthDate), now) : null;
  if (age !== null) categories.add('demographics');
  const aboutMeFact = aboutMe
    ? {
        whatMatters: aboutMe.whatMatters ?? '',
        howToSupport: aboutMe.howToSupport ?? '',
        writtenAt: new Date(aboutMe.createdAt),
        category: 'about_me',
      }
    : null;
  if (aboutMeFact) categories.add('about_me');
  return { facts: { now, needs: needFacts, events: eventFacts, household, age, answers: answerFacts, aboutMe: aboutMeFact }, categories };
}

export interface PrefillResult {
  prefilled: Record<string, Prefilled>;
  /** Answers the network holds that this reader may not be shown (not counted for silent categories). */
  withheld: number;
}

/**
 * Prefilled answers for this actor: the facts the network holds, filtered by the access decision
 * (audited, once per category consulted), then run through the questionnaire's prefill rules.
 */
export async function prefillFor(
  db: Kysely<Database>,
  actor: SignedInUser,
  personId: string,
  q: Questionnaire,
  now: Date = new Date(),
): Promise<PrefillResult> {
  const expressions = flattenItems(q.item).map((f) => extensionOf(f.item, EXT.prefill)?.valueExpression?.expression ?? '');
  const answerLinkIds = expressions.filter((e) => e.startsWith('answer:')).map((e) => e.split(':')[1] ?? '');
  const { facts, categories } = await loadRawFacts(
    db,
    personId,
    answerLinkIds,
    now,
    expressions.some((e) => e.startsWith('about-me:')),
  );
  const all = prefillQuestionnaire(q, facts);
  if (categories.size === 0 || Object.keys(all).length === 0) return { prefilled: {}, withheld: 0 };
  const access = await decideRecordAccess(db, { actor, personId, categories: [...categories], purpose: purposeFor(actor), action: 'read' });
  const own = actor.organisationId;
  const ok = (category: string, organisationId: string | null) =>
    visibleUnder(access.byCategory[category as Category], organisationId, own);
  const visibleFacts: PrefillFacts = {
    now,
    needs: facts.needs.filter((n) => ok(n.category, n.organisationId)),
    events: facts.events.filter((e) => ok(e.category, e.organisationId)),
    household: facts.household && ok(facts.household.category, null) ? facts.household : null,
    age: ok('demographics', null) ? facts.age : null,
    answers: facts.answers.filter((a) => ok(a.category, a.organisationId)),
    aboutMe: facts.aboutMe && ok(facts.aboutMe.category, null) ? facts.aboutMe : null,
  };
  const prefilled = prefillQuestionnaire(q, visibleFacts);
  const silent = new Set(['criminal_justice', 'children_safeguarding']);
  const withheld = Object.entries(all).filter(([linkId, p]) => !prefilled[linkId] && !silent.has(p.source.category)).length;
  return { prefilled, withheld };
}

export interface SubmitInput {
  actor: SignedInUser;
  personId: string;
  questionnaire: Questionnaire;
  /** Form values keyed by linkId. */
  raw: Record<string, string | undefined>;
  /**
   * From a form: the follow-up questions it showed. A follow-up the answers enable that was not
   * shown is asked before anything is saved (the form comes back with it). Omitted by API clients.
   */
  asked?: string[];
  now?: Date;
}

export type SubmitResult =
  | { ok: false; errors: AnswerError[]; answers: Answers; followUps: string[] }
  | { ok: true; responseId: string; score: ScoreResult; counts: TellItOnceCounts; response: QuestionnaireResponse };

/**
 * A completed assessment checked and scored, and how to store it: `store` writes it in the
 * caller's transaction. The checks (the access decision, audited allow or deny) run first, on
 * `db`, so a refusal stays on the record whatever happens to the caller's transaction.
 */
export type PreparedAssessment =
  Extract<SubmitResult, { ok: false }> | { ok: true; store: (trx: Transaction<Database>) => Promise<Extract<SubmitResult, { ok: true }>> };

/** Checks, scores and stores a completed assessment, in its own transaction (the web form's unit of work). */
export async function submitAssessment(db: Kysely<Database>, input: SubmitInput): Promise<SubmitResult> {
  const prepared = await prepareAssessment(db, input);
  return prepared.ok ? db.transaction().execute(prepared.store) : prepared;
}

/** Checks and scores a completed assessment, to be stored by the caller. The actor must be allowed to write the form's category. */
export async function prepareAssessment(db: Kysely<Database>, input: SubmitInput): Promise<PreparedAssessment> {
  const { actor, personId, questionnaire: q } = input;
  const now = input.now ?? new Date();
  const category = categoryOfQuestionnaire(q) as Category;
  const access = await decideRecordAccess(db, { actor, personId, categories: [category], purpose: purposeFor(actor), action: 'write' });
  if (!access.allowed) throw new AccessRefused(access.reason);
  const { answers, errors } = parseAnswers(q, input.raw);
  const layout = askedAs(q);
  const enabled = enabledLinkIds(q, answers);
  const followUps =
    input.asked === undefined
      ? []
      : [...enabled].filter((linkId) => layout.get(linkId)?.kind === 'follow-up' && !input.asked!.includes(linkId));
  if (errors.length > 0 || followUps.length > 0)
    return { ok: false, errors: errors.filter((e) => !followUps.includes(e.linkId)), answers, followUps };
  // Prefill again on the server, through the access decision: the client's word is not trusted.
  const { prefilled } = await prefillFor(db, actor, personId, q, now);
  const { counts, reused } = tellItOnce(answers, prefilled);
  const score = scoreResponse(q, answers);
  const id = randomUUID();
  const response = buildResponse(q, answers, {
    subjectReference: `Patient/${personId}`,
    authored: now.toISOString(),
    author: actor.practitionerId
      ? { reference: `Practitioner/${actor.practitionerId}`, display: actor.displayName }
      : { reference: `RelatedPerson/${actor.personId ?? actor.id}`, display: actor.displayName },
    reused,
    score,
  });
  response.id = id;
  const enrolment = await db
    .selectFrom('model_enrolments as e')
    .innerJoin('operating_models as m', 'm.id', 'e.model_id')
    .select(['e.id'])
    .where('e.person_id', '=', personId)
    .where('e.ended_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb(sql<string>`m.config->'assessment'->>'questionnaireId'`, '=', q.id),
        eb(sql<string>`m.config->'identification'->>'questionnaireId'`, '=', q.id),
      ]),
    )
    .orderBy('e.enrolled_at', 'desc')
    .executeTakeFirst();
  const store = async (trx: Transaction<Database>) => {
    await trx
      .insertInto('questionnaire_responses')
      .values({
        id,
        questionnaire_id: q.id,
        questionnaire_version: q.version,
        person_id: personId,
        organisation_id: actor.organisationId,
        practitioner_id: actor.practitionerId,
        author_user_id: actor.id,
        author_role: actor.role,
        enrolment_id: enrolment?.id ?? null,
        authored_at: now,
        response: JSON.stringify(response),
        total_score: score.total,
        domain_scores: JSON.stringify(score.domains),
        rules_met: JSON.stringify(score.rules),
        complete: score.complete,
        items_answered: counts.answered,
        items_reused: counts.reused,
        items_asked: counts.asked,
        items_changed: counts.changed,
      })
      .execute();
    const sources = Object.entries(reused);
    if (sources.length > 0) {
      await trx
        .insertInto('response_prefill_sources')
        .values(
          sources.map(([linkId, s]) => ({
            response_id: id,
            link_id: linkId,
            kind: s.kind,
            category: s.category,
            organisation_id: s.organisationId,
            recorded_at: s.recordedAt,
            detail: s.detail,
          })),
        )
        .execute();
    }
    // The assessment is saved: the author's draft of it has done its job.
    await trx
      .deleteFrom('assessment_drafts')
      .where('author_user_id', '=', actor.id)
      .where('person_id', '=', personId)
      .where('questionnaire_id', '=', q.id)
      .execute();
    const plans = await trx
      .selectFrom('plan_members as m')
      .innerJoin('plans as p', 'p.id', 'm.plan_id')
      .select('p.id')
      .where('m.person_id', '=', personId)
      .where('p.status', '=', 'active')
      .execute();
    for (const plan of plans) {
      await appendPlanEvent(
        trx,
        plan.id,
        actor,
        'assessment',
        `${q.title} completed${score.total !== null ? `: total ${score.total}` : ''}`,
        { responseId: id, personId, questionnaireId: q.id, total: score.total },
        now,
      );
    }
    return { ok: true as const, responseId: id, score, counts, response };
  };
  return { ok: true, store };
}

export interface ResponseSummary {
  id: string;
  questionnaireId: string;
  title: string;
  category: string;
  authoredAt: Date;
  organisationId: string | null;
  organisation: string | null;
  total: number | null;
  domains: Record<string, number | null>;
  rules: Record<string, boolean>;
  reused: number;
  asked: number;
}

/** Every response about the person (callers filter by the access decision with visibleUnder). */
export async function responsesAbout(db: Kysely<Database>, personId: string): Promise<ResponseSummary[]> {
  const rows = await db
    .selectFrom('questionnaire_responses as r')
    .innerJoin('questionnaires as q', (j) => j.onRef('q.id', '=', 'r.questionnaire_id').onRef('q.version', '=', 'r.questionnaire_version'))
    .select([
      'r.id',
      'r.questionnaire_id',
      'q.title',
      'q.category',
      'r.authored_at',
      'r.organisation_id',
      'r.total_score',
      'r.domain_scores',
      'r.rules_met',
      'r.items_reused',
      'r.items_asked',
    ])
    .where('r.person_id', '=', personId)
    .orderBy('r.authored_at')
    .orderBy('r.id')
    .execute();
  const organisations = await organisationsByIds(
    db,
    rows.map((r) => r.organisation_id),
  );
  return rows.map((r) => ({
    id: r.id,
    questionnaireId: r.questionnaire_id,
    title: r.title,
    category: r.category,
    authoredAt: new Date(r.authored_at),
    organisationId: r.organisation_id,
    organisation: r.organisation_id === null ? null : (organisations.get(r.organisation_id)?.name ?? null),
    total: r.total_score,
    domains: parseJson(r.domain_scores),
    rules: parseJson(r.rules_met),
    reused: r.items_reused,
    asked: r.items_asked,
  }));
}

/** "Tell it once" per form: answers reused from the shared record versus asked again. */
export async function tellItOnceByForm(db: Kysely<Database>): Promise<
  Array<{
    questionnaireId: string;
    title: string;
    responses: number;
    answered: number;
    reused: number;
    asked: number;
    changed: number;
    people: number;
  }>
> {
  const rows = await sql<{
    questionnaire_id: string;
    title: string;
    responses: number;
    answered: number;
    reused: number;
    asked: number;
    changed: number;
    people: number;
  }>`
    select r.questionnaire_id, min(q.title) as title, count(*)::int as responses, sum(r.items_answered)::int as answered,
           sum(r.items_reused)::int as reused, sum(r.items_asked)::int as asked, sum(r.items_changed)::int as changed, count(distinct r.person_id)::int as people
    from questionnaire_responses r join questionnaires q on q.id = r.questionnaire_id and q.version = r.questionnaire_version
    group by r.questionnaire_id order by r.questionnaire_id`.execute(db);
  return rows.rows.map((r) => ({
    questionnaireId: r.questionnaire_id,
    title: r.title,
    responses: Number(r.responses),
    answered: Number(r.answered),
    reused: Number(r.reused),
    asked: Number(r.asked),
    changed: Number(r.changed),
    people: Number(r.people),
  }));
}

/** "Tell it once" for one person: over all their assessments, answers reused versus asked. */
export async function tellItOnceForPerson(
  db: Kysely<Database>,
  personId: string,
): Promise<{ responses: number; reused: number; asked: number }> {
  const row = await db
    .selectFrom('questionnaire_responses')
    .select([
      (eb) => eb.fn.countAll<number>().as('responses'),
      (eb) => eb.fn.sum<number>('items_reused').as('reused'),
      (eb) => eb.fn.sum<number>('items_asked').as('asked'),
    ])
    .where('person_id', '=', personId)
    .executeTakeFirst();
  return { responses: Number(row?.responses ?? 0), reused: Number(row?.reused ?? 0), asked: Number(row?.asked ?? 0) };
}
