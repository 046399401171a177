// FHIR create and update for the care record beyond the person and referrals: shared plans
// (CarePlan, Goal), sharing choices (Consent), assessments (QuestionnaireResponse) and the care
// network (CareTeam, EpisodeOfCare). Each goes through the owning module's own functions, after
// the same access decision the web page asks (audited), so the rules, validation and history are
// the web's. `ctx.db` is the database to write on: the server's, or a transaction Bundle's.
import type {
  CarePlan,
  CareTeam,
  Consent,
  EpisodeOfCare,
  Extension,
  Goal,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  Resource,
} from '@medplum/fhirtypes';
import type { SignedInUser } from '../auth/index.ts';
import { decideRecordAccess, type Category, type Purpose } from '../consent/index.ts';
import {
  AccessRefused,
  prepareAssessment,
  addGoal,
  createPlan,
  PlanInputError,
  plansOf,
  updateGoalStatus,
  updatePlan,
  flattenItems,
  isQuestion,
  activeFramework,
  loadQuestionnaire,
  activePlanIds,
  currentEnrolmentOf,
  isPlanMember,
  planPersonId,
  questionnaireIdByUrl,
} from '../plans/index.ts';
import {
  DirectiveInputError,
  parseDirectiveForm,
  recordDirective,
  relationshipOrganisationId,
  withdrawDirective,
} from '../consent/index.ts';
import { addToNetwork, endNetworkMembership, NetworkInputError } from '../records/index.ts';
import { peopleByIds } from '../people/index.ts';
import { inTransaction } from '../platform/db.ts';
import { purposeOf, readRow, type FhirContext } from './engine.ts';
import { FhirError, invalid } from './outcome.ts';
import { referenceId } from './params.ts';
import {
  CARE_PLAN_EXTENSION,
  CATEGORY_SYSTEM,
  END_REASON_EXTENSION,
  OUTCOME_SYSTEM,
  PURPOSE_SYSTEM,
  REASON_EXTENSION,
  RELATIONSHIP_KIND_SYSTEM,
  ROLE_EXTENSION,
} from './resources.ts';
import { bumpVersion, checkIfMatch, type WriteResult } from './writes.ts';
import { createWhole } from './clinical-writes.ts';

export interface Writer {
  /** `assignedId`: the id a transaction gave the entry beforehand, so entries before it can refer to it. */
  create?(ctx: FhirContext, resource: Resource, assignedId?: string): Promise<WriteResult>;
  update?(ctx: FhirContext, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult>;
}

const forbidden = (message: string) => new FhirError(403, 'forbidden', message);
const unprocessable = (message: string) => new FhirError(422, 'business-rule', message);

export function requireRoles(ctx: FhirContext, roles: Array<SignedInUser['role']>, what: string): void {
  if (!roles.includes(ctx.actor.role)) throw forbidden(`only ${roles.map((r) => `${r}s`).join(' and ')} can ${what}`);
}

/** The access decision for a write (audited, allow or deny); refuses when the category is not allowed. */
export async function requireWrite(
  ctx: FhirContext,
  personId: string,
  categories: Category[],
  what: string,
  purpose: Purpose = purposeOf(ctx.actor),
): Promise<void> {
  const access = await decideRecordAccess(ctx.db, { actor: ctx.actor, personId, categories, purpose, action: 'write' });
  if (access.byCategory[categories[0]!].scope === 'none') throw forbidden(`you cannot ${what}: ${access.reason}`);
}

export function sameId(resource: Resource, id: string): void {
  if (resource.id !== id) throw invalid(`the ${resource.resourceType} in the body must carry the id in the URL`);
}

/** The start of an update: the body's id, the writer's role, the current row (visible to them) at the version they expect. */
export async function currentForUpdate(
  ctx: FhirContext,
  resource: Resource,
  id: string,
  ifMatch: string | undefined,
  roles: Array<SignedInUser['role']>,
  doing: string,
): Promise<Awaited<ReturnType<typeof readRow>>> {
  sameId(resource, id);
  requireRoles(ctx, roles, doing);
  const current = await readRow(ctx, resource.resourceType, id, 'write');
  // One Joinery's tables could not take was kept as it was received: it is not edited through them.
  if (current.whole === true)
    throw new FhirError(
      405,
      'not-supported',
      `${resource.resourceType}/${id} is kept as it was received, outside Joinery's own records; send a new one instead of changing it`,
    );
  checkIfMatch(ifMatch, Number(current.version_id));
  return current;
}

function asInputError(error: unknown): never {
  if (error instanceof PlanInputError || error instanceof DirectiveInputError || error instanceof NetworkInputError)
    throw unprocessable(error.message);
  if (error instanceof AccessRefused) throw forbidden(`you cannot do this for this person: ${error.message}`);
  throw error;
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    return asInputError(error);
  }
}

const extensionString = (holder: { extension?: Extension[] } | undefined, url: string): string =>
  holder?.extension?.find((e) => e.url === url)?.valueString?.trim() ?? '';
const textOf = (concept: { text?: string; coding?: Array<{ code?: string; display?: string }> } | undefined): string =>
  concept?.text?.trim() || concept?.coding?.[0]?.display?.trim() || concept?.coding?.[0]?.code?.trim() || '';
const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

// ---------------------------------------------------------------------------------------------
// CarePlan: a shared plan (the plans module). Practitioners start and change plans, as on the web.

function planFields(resource: CarePlan): { title: string; strengths: string | null; endsOn: string | null } {
  const description = resource.description?.trim() ?? '';
  return {
    title: resource.title ?? '',
    strengths: description.replace(/^Strengths:\s*/i, '') || null,
    endsOn: resource.period?.end ? resource.period.end.slice(0, 10) : null,
  };
}

async function createCarePlan(ctx: FhirContext, resource: Resource, assignedId?: string): Promise<WriteResult> {
  const plan = resource as CarePlan;
  requireRoles(ctx, ['practitioner'], 'start a plan');
  // Another system's plan (an order, a proposal: Synthea's are orders) is kept as it came, not made a shared plan.
  if (plan.intent !== undefined && plan.intent !== 'plan')
    return createWhole(ctx, 'CarePlan', resource, { patientElement: 'subject', category: 'health' }, assignedId);
  const subject = plan.subject?.reference ?? '';
  if (subject.startsWith('Group/'))
    throw unprocessable(
      "a household plan is started on the person's plan page, where each member's agreement is recorded; start a plan for one Patient here",
    );
  const personId = referenceId(subject, 'Patient');
  await requireWrite(ctx, personId, ['plans'], 'start a plan for this person');
  if (plan.status !== 'active') throw unprocessable('a new plan starts active');
  if (plan.intent !== 'plan') throw unprocessable('a shared plan has intent "plan"');
  if (plan.goal?.length)
    throw unprocessable('add goals as Goal resources once the plan exists (extension urn:joinery:extension:care-plan names the plan)');
  if ((await peopleByIds(ctx.db, [personId])).length === 0)
    throw new FhirError(404, 'not-found', `Patient/${personId} is not known here, or you may not see it`);
  const enrolment = await currentEnrolmentOf(ctx.db, personId);
  const fields = planFields(plan);
  const id = await guarded(() =>
    inTransaction(ctx.db, (trx) =>
      createPlan(trx, ctx.actor, {
        personId,
        householdId: null,
        memberIds: [],
        title: fields.title,
        strengths: fields.strengths,
        endsOn: fields.endsOn,
        modelId: enrolment?.modelId ?? null,
        enrolmentId: enrolment?.id ?? null,
      }),
    ),
  );
  return { type: 'CarePlan', id, created: true };
}

async function updateCarePlan(ctx: FhirContext, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult> {
  const plan = resource as CarePlan;
  const current = await currentForUpdate(ctx, plan, id, ifMatch, ['practitioner'], 'change a plan');
  await requireWrite(ctx, String(current.person_id), ['plans'], 'change this plan');
  const subject =
    current.subject_kind === 'household' && current.household_id
      ? `Group/${String(current.household_id)}`
      : `Patient/${String(current.person_id)}`;
  if ((plan.subject?.reference ?? '') !== subject) throw unprocessable(`a plan stays with its subject (${subject})`);
  const goals = (plan.goal ?? []).map((g) => referenceId(g.reference ?? '', 'Goal'));
  if (!sameSet(goals, (current.goal_ids as string[]) ?? []))
    throw unprocessable('goals are added and changed as Goal resources, not through CarePlan.goal');
  const status = plan.status === 'active' ? 'active' : plan.status === 'completed' || plan.status === 'revoked' ? 'closed' : null;
  if (!status) throw unprocessable('a plan is either active or completed (closed)');
  const fields = planFields(plan);
  const changed = await guarded(() =>
    inTransaction(ctx.db, (trx) =>
      updatePlan(trx, ctx.actor, id, { title: fields.title, strengths: fields.strengths, endsOn: fields.endsOn, status }),
    ),
  );
  if (changed) await bumpVersion(ctx.db, 'CarePlan', id);
  return { type: 'CarePlan', id, created: false };
}

// ---------------------------------------------------------------------------------------------
// Goal: a goal in a shared plan. Practitioners in the person's network, or the person, as on the web.

const goalStatuses: Record<string, 'open' | 'achieved' | 'stopped'> = {
  proposed: 'open',
  planned: 'open',
  accepted: 'open',
  active: 'open',
  completed: 'achieved',
  cancelled: 'stopped',
};

function outcomeCodes(goal: Goal): string[] {
  return (goal.category ?? [])
    .flatMap((c) => (c.coding ?? []).filter((k) => !k.system || k.system === OUTCOME_SYSTEM).map((k) => k.code ?? ''))
    .filter((c) => c !== '');
}

async function createGoal(ctx: FhirContext, resource: Resource): Promise<WriteResult> {
  const goal = resource as Goal;
  requireRoles(ctx, ['practitioner', 'citizen'], 'set goals');
  const personId = referenceId(goal.subject?.reference ?? '', 'Patient');
  await requireWrite(ctx, personId, ['plans'], 'set goals for this person');
  const planRef = goal.extension?.find((e) => e.url === CARE_PLAN_EXTENSION)?.valueReference?.reference;
  let planId: string | undefined;
  if (planRef) {
    planId = referenceId(planRef, 'CarePlan');
    if (!(await isPlanMember(ctx.db, planId, personId))) throw unprocessable(`${planRef} is not a plan this person is part of`);
  } else {
    const candidates = await plansOf(ctx.db, personId);
    const active = await activePlanIds(ctx.db, candidates);
    planId = candidates.find((c) => active.includes(c));
    if (!planId)
      throw unprocessable(
        'the person has no active plan: create a CarePlan first, or name the plan in extension urn:joinery:extension:care-plan',
      );
  }
  const planSubject = await planPersonId(ctx.db, planId);
  if (planSubject === undefined) throw new Error(`plan ${planId} has gone`);
  // The plan's own subject is asked about as well, as the web does for a household member's goal.
  if (planSubject !== personId) await requireWrite(ctx, planSubject, ['plans'], 'change this plan');
  if (!goalStatuses[goal.lifecycleStatus] || goalStatuses[goal.lifecycleStatus] !== 'open')
    throw unprocessable('a new goal starts active (or proposed, planned, accepted)');
  const framework = await activeFramework(ctx.db);
  const known = new Set(framework.outcomes.map((o) => o.code));
  const id = await guarded(() =>
    inTransaction(ctx.db, (trx) =>
      addGoal(
        trx,
        ctx.actor,
        planId,
        {
          personId,
          text: textOf(goal.description),
          outcomeCodes: outcomeCodes(goal),
          setBy: ctx.actor.role === 'citizen' ? 'person' : 'practitioner',
        },
        known,
      ),
    ),
  );
  return { type: 'Goal', id, created: true };
}

async function updateGoal(ctx: FhirContext, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult> {
  const goal = resource as Goal;
  const current = await currentForUpdate(ctx, goal, id, ifMatch, ['practitioner', 'citizen'], 'change goals');
  const personId = String(current.person_id);
  await requireWrite(ctx, personId, ['plans'], 'change this goal');
  const planSubject = await planPersonId(ctx.db, String(current.plan_id));
  if (planSubject === undefined) throw new Error(`plan ${String(current.plan_id)} has gone`);
  if (planSubject !== personId) await requireWrite(ctx, planSubject, ['plans'], 'change this plan');
  const codes = Array.isArray(current.outcome_codes)
    ? (current.outcome_codes as string[])
    : typeof current.outcome_codes === 'string'
      ? (JSON.parse(current.outcome_codes) as string[])
      : [];
  if (
    textOf(goal.description) !== String(current.text) ||
    !sameSet(outcomeCodes(goal), codes.map(String)) ||
    goal.subject?.reference !== `Patient/${personId}`
  ) {
    throw unprocessable(
      "only a goal's lifecycleStatus changes: its words, outcomes and person stay as agreed; add a new Goal for a different one",
    );
  }
  const status = goalStatuses[goal.lifecycleStatus];
  if (!status) throw unprocessable('a goal is active, completed (achieved) or cancelled (stopped)');
  if (goal.lifecycleStatus === 'proposed' || goal.lifecycleStatus === 'planned' || goal.lifecycleStatus === 'accepted') {
    if (current.goal_status !== 'open') throw unprocessable('a goal that was achieved or stopped can be made active again, not proposed');
  }
  const changed = await guarded(() =>
    inTransaction(ctx.db, (trx) => updateGoalStatus(trx, ctx.actor, String(current.plan_id), id, status)),
  );
  if (changed) await bumpVersion(ctx.db, 'Goal', id);
  return { type: 'Goal', id, created: false };
}

// ---------------------------------------------------------------------------------------------
// Consent: the person's sharing choices (the consent module). The person or their registered
// proxy only, as on the web ("Who can see your record"); practitioners do not record them.

interface ConsentFields {
  category: string;
  decision: string;
  recipient: string;
  purposes: string[];
  until: string;
}

function consentFields(consent: Consent): ConsentFields {
  const provision = consent.provision;
  if (!provision) throw invalid('Consent.provision must say what is shared (type, class, actor, purpose)');
  const classes = (provision.class ?? []).filter((c) => !c.system || c.system === CATEGORY_SYSTEM).map((c) => c.code ?? '');
  if (classes.length > 1) throw unprocessable('record one sharing choice per category of information (one provision.class)');
  const actors = provision.actor ?? [];
  if (actors.length > 1) throw unprocessable('record one sharing choice per recipient (one provision.actor)');
  const reference = actors[0]?.reference?.reference;
  let recipient = 'network';
  if (reference) recipient = `organisation:${referenceId(reference, 'Organization')}`;
  else if (actors[0]?.reference?.display?.startsWith('Team '))
    throw unprocessable('sharing with a team is not offered; choose an Organization or the whole care network');
  return {
    category: classes[0] ?? '*',
    decision: provision.type ?? '',
    recipient,
    purposes: (provision.purpose ?? []).filter((p) => !p.system || p.system === PURPOSE_SYSTEM).map((p) => p.code ?? ''),
    until: provision.period?.end ? provision.period.end.slice(0, 10) : '',
  };
}

async function requireSelfOrProxy(ctx: FhirContext, personId: string): Promise<void> {
  requireRoles(ctx, ['citizen'], 'record sharing choices (the person, or their registered proxy)');
  const access = await decideRecordAccess(ctx.db, {
    actor: ctx.actor,
    personId,
    categories: ['demographics'],
    purpose: 'self',
    action: 'write',
  });
  if (!access.allowed) throw forbidden('you can record sharing choices only for yourself, or for someone you are a registered proxy for');
}

async function createConsent(ctx: FhirContext, resource: Resource): Promise<WriteResult> {
  const consent = resource as Consent;
  const personId = referenceId(consent.patient?.reference ?? '', 'Patient');
  await requireSelfOrProxy(ctx, personId);
  if (consent.status !== 'active') throw unprocessable('a sharing choice is recorded active; withdraw one with status inactive');
  if (consent.provision?.period?.start && new Date(consent.provision.period.start) > new Date())
    throw unprocessable('a sharing choice takes effect when it is recorded; provision.period.start cannot be in the future');
  const fields = consentFields(consent);
  const id = await guarded(async () =>
    inTransaction(ctx.db, (trx) => recordDirective(trx, ctx.actor, personId, parseDirectiveForm({ ...fields }))),
  );
  return { type: 'Consent', id: String(id), created: true };
}

async function updateConsent(ctx: FhirContext, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult> {
  const consent = resource as Consent;
  sameId(consent, id);
  const current = await readRow(ctx, 'Consent', id, 'write');
  const personId = String(current.person_id);
  await requireSelfOrProxy(ctx, personId);
  checkIfMatch(ifMatch, Number(current.version_id));
  const fields = consentFields(consent);
  const until = current.valid_until ? new Date(current.valid_until as string).toISOString().slice(0, 10) : '';
  const recipient =
    current.recipient_kind === 'organisation' ? `organisation:${String(current.recipient_id)}` : String(current.recipient_kind);
  if (
    consent.patient?.reference !== `Patient/${personId}` ||
    fields.category !== current.category ||
    fields.decision !== current.decision ||
    fields.recipient !== recipient ||
    !sameSet(fields.purposes, (current.purposes as string[]) ?? []) ||
    fields.until !== until
  ) {
    throw unprocessable(
      'a sharing choice is never edited, so that what the person said stays on record: withdraw it (status inactive) and record a new one',
    );
  }
  if (consent.status === current.status) return { type: 'Consent', id, created: false };
  if (consent.status !== 'inactive') throw unprocessable('a withdrawn sharing choice is not put back: record a new one');
  const changed = await inTransaction(ctx.db, (trx) => withdrawDirective(trx, ctx.actor, personId, Number(id)));
  if (changed) await bumpVersion(ctx.db, 'Consent', id);
  return { type: 'Consent', id, created: false };
}

// ---------------------------------------------------------------------------------------------
// QuestionnaireResponse: a completed assessment (the plans module), by a practitioner, as on the web.

function answerText(answer: NonNullable<QuestionnaireResponseItem['answer']>[number]): string {
  if (answer.valueCoding) return answer.valueCoding.code ?? '';
  if (answer.valueBoolean !== undefined) return answer.valueBoolean ? 'true' : 'false';
  if (answer.valueInteger !== undefined) return String(answer.valueInteger);
  if (answer.valueDecimal !== undefined) return String(answer.valueDecimal);
  if (answer.valueDate !== undefined) return answer.valueDate;
  if (answer.valueString !== undefined) return answer.valueString;
  throw unprocessable('answers are given as valueCoding, valueBoolean, valueInteger, valueDecimal, valueDate or valueString');
}

async function createQuestionnaireResponse(ctx: FhirContext, resource: Resource): Promise<WriteResult> {
  const response = resource as QuestionnaireResponse;
  requireRoles(ctx, ['practitioner'], 'record assessments');
  const canonical = response.questionnaire ?? '';
  const [target, version] = canonical.split('|') as [string, string | undefined];
  let questionnaireId: string | undefined;
  if (/^(?:.*\/)?Questionnaire\/[A-Za-z0-9\-.]{1,64}$/.test(target)) questionnaireId = referenceId(target, 'Questionnaire');
  else if (target) {
    questionnaireId = await questionnaireIdByUrl(ctx.db, target);
  }
  const q = questionnaireId ? await loadQuestionnaire(ctx.db, questionnaireId) : undefined;
  // Answers to a form Joinery does not have (or to none named) are kept as received, about the
  // person, as health: they cannot be checked or scored, and their meaning is the sender's.
  if (!q) return createWhole(ctx, 'QuestionnaireResponse', response, { patientElement: 'subject', category: 'health' });
  const personId = referenceId(response.subject?.reference ?? '', 'Patient');
  if (version && version !== q.version) throw unprocessable(`only the current version (${q.version}) of this form is completed here`);
  if (response.status !== 'completed') throw unprocessable('only completed assessments are recorded');
  const questions = new Set(
    flattenItems(q.item)
      .filter((f) => isQuestion(f.item))
      .map((f) => f.item.linkId),
  );
  const raw: Record<string, string> = {};
  const visit = (items: QuestionnaireResponseItem[] | undefined) => {
    for (const item of items ?? []) {
      if (item.answer?.length) {
        if (!questions.has(item.linkId)) throw unprocessable(`"${item.linkId.slice(0, 64)}" is not a question of this form`);
        if (item.answer.length > 1) throw unprocessable(`give one answer to "${item.linkId.slice(0, 64)}"`);
        raw[item.linkId] = answerText(item.answer[0]!);
      }
      visit(item.item);
    }
  };
  visit(response.item);
  const result = await guarded(async () => {
    // Checked first (the access decision stays on the record if refused), then stored in the write's transaction.
    const prepared = await prepareAssessment(ctx.db, { actor: ctx.actor, personId, questionnaire: q, raw });
    return prepared.ok ? inTransaction(ctx.db, prepared.store) : prepared;
  });
  if (!result.ok)
    throw unprocessable(
      result.errors
        .map((e) => `${e.linkId}: ${e.text}`)
        .slice(0, 10)
        .join('; '),
    );
  return { type: 'QuestionnaireResponse', id: result.responseId, created: true };
}

// ---------------------------------------------------------------------------------------------
// CareTeam and EpisodeOfCare: the person's care network (the records module). Joining or leaving
// is a recorded act with a reason, by a practitioner who may see the person, as on the web.

async function requireNetworkWrite(ctx: FhirContext, personId: string): Promise<void> {
  requireRoles(ctx, ['practitioner'], "change a person's care network");
  const access = await decideRecordAccess(ctx.db, {
    actor: ctx.actor,
    personId,
    categories: ['demographics', 'about_me'],
    purpose: 'care_coordination',
    action: 'write',
  });
  if (!access.allowed || access.byCategory.demographics.scope === 'none')
    throw forbidden(`you cannot change this person's care network: ${access.reason}`);
}

interface Participant {
  id: number;
  practitioner_id: string | null;
  organisation_id: string;
  kind: string;
  role_label: string | null;
}
const memberRef = (p: Participant) => (p.practitioner_id ? `Practitioner/${p.practitioner_id}` : `Organization/${p.organisation_id}`);

async function updateCareTeam(ctx: FhirContext, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult> {
  const team = resource as CareTeam;
  const current = await currentForUpdate(ctx, team, id, ifMatch, ['practitioner'], "change a person's care network");
  await requireNetworkWrite(ctx, id);
  if (team.subject?.reference !== `Patient/${id}`) throw unprocessable(`CareTeam/${id} is the care network of Patient/${id}`);
  // Only what this reader was shown can be removed: members withheld from them are kept.
  const shown = (current.participants as Participant[]) ?? [];
  const currentRoles = new Map<string, Set<string>>();
  for (const p of shown)
    (currentRoles.get(memberRef(p)) ?? currentRoles.set(memberRef(p), new Set()).get(memberRef(p))!).add(p.role_label ?? p.kind);
  const wanted = new Map<string, { role: string; reason: string }>();
  for (const p of team.participant ?? []) {
    const ref = p.member?.reference;
    if (!ref) throw invalid('each CareTeam.participant needs a member reference');
    const [type, memberId] = ref.split('/').slice(-2) as [string, string];
    const normalised = `${type}/${referenceId(`${type}/${memberId}`)}`;
    const role = textOf(p.role?.[0]);
    const roles = currentRoles.get(normalised);
    if (roles) {
      if (role && !roles.has(role))
        throw unprocessable(`${normalised}'s role is not changed here: end their membership and add them again with the new role`);
      continue;
    }
    if (type !== 'Practitioner')
      throw unprocessable('add a named practitioner (Practitioner/<id>); organisations join a care network through referrals and plans');
    wanted.set(normalised, { role, reason: extensionString(p, REASON_EXTENSION) });
  }
  const kept = new Set((team.participant ?? []).map((p) => p.member?.reference?.split('/').slice(-2).join('/')));
  const leaving = shown.filter((p) => !kept.has(memberRef(p)));
  const leaveReason = extensionString(team, END_REASON_EXTENSION);
  for (const p of leaving) {
    if (!shown.some((q) => memberRef(q) === memberRef(p) && q.kind === 'network')) {
      throw unprocessable(`${memberRef(p)} is in the care network through a ${p.kind}; that ends when the ${p.kind} closes`);
    }
  }
  if (leaving.length > 0 && leaveReason.length < 5)
    throw unprocessable(
      "say why members are leaving the care network, in the CareTeam's extension urn:joinery:extension:end-reason (at least 5 characters)",
    );
  let changed = false;
  await guarded(async () => {
    for (const [ref, { role, reason }] of wanted) {
      await inTransaction(ctx.db, (trx) =>
        addToNetwork(trx, ctx.actor, id, { practitionerId: ref.split('/')[1]!, roleLabel: role, reason }),
      );
      changed = true;
    }
    for (const p of leaving.filter((l) => l.kind === 'network')) {
      if (await inTransaction(ctx.db, (trx) => endNetworkMembership(trx, ctx.actor, id, p.id, leaveReason))) changed = true;
    }
  });
  if (changed) await bumpVersion(ctx.db, 'CareTeam', id);
  return { type: 'CareTeam', id, created: false };
}

async function createEpisodeOfCare(ctx: FhirContext, resource: Resource): Promise<WriteResult> {
  const episode = resource as EpisodeOfCare;
  const personId = referenceId(episode.patient?.reference ?? '', 'Patient');
  await requireNetworkWrite(ctx, personId);
  if (episode.status !== 'active') throw unprocessable('a care network membership starts active');
  const kinds = (episode.type ?? []).flatMap((t) =>
    (t.coding ?? []).filter((c) => c.system === RELATIONSHIP_KIND_SYSTEM).map((c) => c.code),
  );
  if (kinds.some((k) => k !== 'network'))
    throw unprocessable('only care network memberships (type network) are made here; referrals are sent as ServiceRequest');
  const manager = episode.careManager?.reference;
  if (!manager) throw invalid('EpisodeOfCare.careManager must name the Practitioner joining the care network');
  const practitionerId = referenceId(manager, 'Practitioner');
  const id = await guarded(() =>
    inTransaction(ctx.db, (trx) =>
      addToNetwork(trx, ctx.actor, personId, {
        practitionerId,
        roleLabel: extensionString(episode, ROLE_EXTENSION),
        reason: extensionString(episode, REASON_EXTENSION),
      }),
    ),
  );
  if (episode.managingOrganization?.reference) {
    const organisationId = await relationshipOrganisationId(ctx.db, id);
    if (organisationId === undefined) throw new Error(`care relationship ${id} has gone`);
    if (referenceId(episode.managingOrganization.reference, 'Organization') !== organisationId)
      throw unprocessable("managingOrganization must be the practitioner's own organisation");
  }
  await bumpVersion(ctx.db, 'CareTeam', personId);
  return { type: 'EpisodeOfCare', id: String(id), created: true };
}

async function updateEpisodeOfCare(ctx: FhirContext, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult> {
  const episode = resource as EpisodeOfCare;
  const current = await currentForUpdate(ctx, episode, id, ifMatch, ['practitioner'], "change a person's care network");
  const personId = String(current.person_id);
  await requireNetworkWrite(ctx, personId);
  const same = (ref: string | undefined, type: string, value: unknown) => (value ? ref === `${type}/${String(value)}` : !ref);
  if (
    !same(episode.patient?.reference, 'Patient', personId) ||
    !same(episode.careManager?.reference, 'Practitioner', current.practitioner_id) ||
    !same(episode.managingOrganization?.reference, 'Organization', current.organisation_id)
  ) {
    throw unprocessable(
      "only an episode's status changes here (finished ends a care network membership); its person, practitioner and organisation stay",
    );
  }
  if (episode.status === current.status) return { type: 'EpisodeOfCare', id, created: false };
  if (episode.status !== 'finished' || current.status !== 'active')
    throw unprocessable('an ended membership is not restarted: make a new EpisodeOfCare');
  if (current.kind !== 'network')
    throw unprocessable(`this episode is a ${String(current.kind)}; it ends when the ${String(current.kind)} closes`);
  const reason = extensionString(episode, END_REASON_EXTENSION);
  const ended = await guarded(() => inTransaction(ctx.db, (trx) => endNetworkMembership(trx, ctx.actor, personId, Number(id), reason)));
  if (!ended) throw new FhirError(409, 'conflict', `EpisodeOfCare/${id} has already ended`);
  await bumpVersion(ctx.db, 'EpisodeOfCare', id);
  await bumpVersion(ctx.db, 'CareTeam', personId);
  return { type: 'EpisodeOfCare', id, created: false };
}

export const careWriters: Record<string, Writer> = {
  CarePlan: { create: createCarePlan, update: updateCarePlan },
  Goal: { create: createGoal, update: updateGoal },
  Consent: { create: createConsent, update: updateConsent },
  QuestionnaireResponse: { create: createQuestionnaireResponse },
  CareTeam: {
    create: (ctx, resource, assignedId) =>
      createWhole(ctx, 'CareTeam', resource, { patientElement: 'subject', category: 'health' }, assignedId),
    update: updateCareTeam,
  },
  EpisodeOfCare: { create: createEpisodeOfCare, update: updateEpisodeOfCare },
};
