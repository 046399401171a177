// The person's right of access: everything held about them, from every source, as JSON and as
// a FHIR R4 Bundle they can take elsewhere.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import { personSummary, recordsHeld, whoLooked } from '../people/index.ts';
import { directivesOf, lawfulBasesOf } from './directives.ts';
import { informalNetworkOf } from './informal-network.ts';
import { caseFindingObjectionsOf } from './objections.ts';
import { rightsRequestsOf } from './rights-requests.ts';
import { personalBudgetsOf } from '../budgets/index.ts';
import { categoryOfEvent, categoryOfNeed, categoryOfOrganisationKind, type Category } from './categories.ts';

/**
 * Everything held that the reader may see: `canSee` is the access decision for the person or
 * their proxy, per category (safeguarding stays out until a practitioner releases it, and a
 * proxy sees only their scope), applied to needs, events, agencies, bases and who looked.
 */
export async function personExport(db: Kysely<Database>, personId: string, canSee: (category: Category) => boolean) {
  const person = await personSummary(db, personId);
  if (!person) return undefined;
  const [records, needs, events, directives, lawfulBases, looks, corrections] = await Promise.all([
    recordsHeld(db, personId),
    sql<{ code: string; organisation: string; recorded_at: string; severity: number; current: boolean }>`
      select n.code, o.name as organisation, n.recorded_at, n.severity, n.current from needs n join organisations o on o.id = n.organisation_id
      where n.person_id = ${personId} order by n.recorded_at`.execute(db),
    sql<{ type: string; organisation: string; at: Date; value: number | null }>`
      select e.type, o.name as organisation, e.at, e.value from person_events e join organisations o on o.id = e.organisation_id
      where e.person_id = ${personId} order by e.at`.execute(db),
    directivesOf(db, personId),
    lawfulBasesOf(db, personId),
    whoLooked(db, personId, 1000),
    db.selectFrom('correction_requests as c').innerJoin('organisations as o', 'o.id', 'c.organisation_id')
      .select(['c.id', 'o.name as organisation', 'c.item_description', 'c.what_is_wrong', 'c.what_it_should_say', 'c.status', 'c.created_at', 'c.resolution_note'])
      .where('c.person_id', '=', personId).orderBy('c.created_at').execute(),
  ]);
  const [informal, objections, rightsRequests] = await Promise.all([
    canSee('about_me') ? informalNetworkOf(db, personId, true) : [],
    caseFindingObjectionsOf(db, personId),
    rightsRequestsOf(db, personId),
  ]);
  const [aboutMe, plans, referrals, messages, personalBudgets] = await Promise.all([
    canSee('about_me') ? aboutMeOf(db, personId) : [],
    canSee('plans') ? plansOf(db, personId) : [],
    referralsOf(db, personId, canSee),
    canSee('about_me') ? messagesOf(db, personId) : [],
    canSee('finances') ? personalBudgetsOf(db, personId) : [],
  ]);
  return {
    exportedAt: new Date().toISOString(),
    person,
    recordsHeldByEachService: records.filter((r) => canSee(categoryOfOrganisationKind(r.kind))).map((r) => ({ service: r.organisation, reference: r.sourceId, since: r.receivedAt, asRecorded: r.fields })),
    needs: needs.rows.filter((n) => canSee(categoryOfNeed(n.code))).map((n) => ({ need: n.code, category: categoryOfNeed(n.code), recordedBy: n.organisation, recordedOn: n.recorded_at, severity: n.severity, current: n.current })),
    events: events.rows.filter((e) => canSee(categoryOfEvent(e.type))).map((e) => ({ event: e.type, category: categoryOfEvent(e.type), recordedBy: e.organisation, at: e.at, value: e.value })),
    sharingChoices: directives,
    sharedWithoutConsent: lawfulBases.filter((b) => b.categoryCode === '*' || canSee(b.categoryCode as Category)),
    whoLooked: looks,
    correctionRequests: corrections,
    restrictionAndErasureRequests: rightsRequests.filter((r) => canSee(r.categoryCode as Category)).map((r) => ({
      asked: r.kind, of: r.organisation, category: r.category, which: r.what, why: r.why, received: r.receivedAt, dueBy: r.dueBy, status: r.statusLabel, answered: r.decidedAt, answer: r.decisionNote, restrictionLifted: r.liftedAt,
    })),
    objectionsToCaseFinding: objections.map((o) => ({ objected: o.objectedAt, reason: o.reason, withdrawn: o.withdrawnAt })),
    peopleWhoCanHelp: informal.map((m) => ({ name: m.name, who: m.kindLabel, relationship: m.relationship, contact: m.contact, mayKnow: m.mayKnowLabels, added: m.addedAt, removed: m.endedAt })),
    aboutMe,
    plans,
    referrals,
    messages,
    personalBudgets: personalBudgets.map((b) => ({
      financialYear: b.year, amountPence: b.amountPence, agreedOn: b.agreedOn, spentPence: b.spentPence, remainingPence: b.remainingPence,
      choices: b.choices.map((c) => ({ description: c.description, provider: c.provider, monthlyPence: c.monthly_pence, chosenOn: c.chosen_on })), spending: b.spend,
    })),
  };
}

/** "About me", every version, in the person's own words. */
async function aboutMeOf(db: Kysely<Database>, personId: string) {
  const rows = await db.selectFrom('about_me_versions').select(['what_matters', 'how_to_support', 'written_by_role', 'created_at'])
    .where('person_id', '=', personId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  return rows.map((r) => ({ whatMatters: r.what_matters, howToSupport: r.how_to_support, writtenBy: r.written_by_role === 'citizen' ? 'you or someone acting for you' : r.written_by_role, written: r.created_at }));
}

/**
 * The person's plans: what the plan says and the goals, actions and reviews about them. In a
 * household's plan, another member's own goals (and actions towards them) are theirs, not this
 * person's, and are left out, as are the other members' names.
 */
async function plansOf(db: Kysely<Database>, personId: string) {
  const plans = await db.selectFrom('plan_members as m').innerJoin('plans as p', 'p.id', 'm.plan_id').leftJoin('organisations as o', 'o.id', 'p.organisation_id')
    .select(['p.id', 'p.title', 'p.subject_kind', 'p.status', 'p.strengths', 'p.created_at', 'p.next_review_on', 'o.name as organisation'])
    .where('m.person_id', '=', personId).orderBy('p.created_at', 'desc').execute();
  if (plans.length === 0) return [];
  const ids = plans.map((p) => p.id);
  const [goals, actions, reviews] = await Promise.all([
    db.selectFrom('plan_goals as g').select(['g.id', 'g.plan_id', 'g.person_id', 'g.text', 'g.set_by', 'g.status', 'g.created_at']).where('g.plan_id', 'in', ids).orderBy('g.created_at').execute(),
    db.selectFrom('plan_actions as a').innerJoin('organisations as o', 'o.id', 'a.assigned_organisation_id')
      .select(['a.plan_id', 'a.goal_id', 'a.description', 'o.name as organisation', 'a.due_on', 'a.status', 'a.completed_at']).where('a.plan_id', 'in', ids).orderBy('a.due_on').execute(),
    db.selectFrom('plan_reviews as r').select(['r.plan_id', 'r.reviewed_on', 'r.note', 'r.actions_done', 'r.actions_total', 'r.next_review_on']).where('r.plan_id', 'in', ids).orderBy('r.reviewed_on').execute(),
  ]);
  const ours = goals.filter((g) => g.person_id === null || g.person_id === personId);
  const ourGoalIds = new Set(ours.map((g) => g.id));
  return plans.map((p) => ({
    title: p.title, about: p.subject_kind === 'household' ? 'your household' : 'you', status: p.status, ledBy: p.organisation, strengths: p.strengths,
    started: p.created_at, nextReview: p.next_review_on,
    goals: ours.filter((g) => g.plan_id === p.id).map((g) => ({ goal: g.text, setBy: g.set_by === 'person' ? 'you' : 'a practitioner', status: g.status, set: g.created_at })),
    actions: actions.filter((a) => a.plan_id === p.id && (a.goal_id === null || ourGoalIds.has(a.goal_id)))
      .map((a) => ({ action: a.description, by: a.organisation, due: a.due_on, status: a.status, completed: a.completed_at })),
    reviews: reviews.filter((r) => r.plan_id === p.id).map((r) => ({ on: r.reviewed_on, note: r.note, actionsDone: r.actions_done, actionsTotal: r.actions_total, nextReview: r.next_review_on })),
  }));
}

/** Referrals about the person, each shown only when both the sending and receiving services' categories may be seen (probation says criminal justice). */
async function referralsOf(db: Kysely<Database>, personId: string, canSee: (category: Category) => boolean) {
  const rows = await db.selectFrom('referrals as r').innerJoin('services as s', 's.id', 'r.service_id')
    .innerJoin('organisations as o', 'o.id', 'r.organisation_id').leftJoin('organisations as fo', 'fo.id', 'r.from_organisation_id')
    .select(['r.id', 'r.sent_at', 'r.status', 'r.urgency', 'r.reason', 'r.person_words', 'r.shared_categories', 'r.decline_reason', 'r.closed_at',
      's.name as service', 'o.name as organisation', 'o.kind', 'fo.name as from_organisation', 'fo.kind as from_kind'])
    .where('r.person_id', '=', personId).orderBy('r.sent_at', 'desc').execute();
  // A request the person made themselves has no sending organisation to hide.
  const visible = rows.filter((r) => canSee(categoryOfOrganisationKind(r.kind)) && (r.from_kind === null || canSee(categoryOfOrganisationKind(r.from_kind))));
  const history = visible.length === 0 ? [] : await db.selectFrom('referral_events').select(['referral_id', 'at', 'action', 'to_status', 'by_label'])
    .where('referral_id', 'in', visible.map((r) => r.id)).orderBy('at').orderBy('id').execute();
  return visible.map((r) => ({
    service: r.service, organisation: r.organisation, from: r.from_organisation ?? 'you asked yourself', sent: r.sent_at, status: r.status, urgency: r.urgency, reason: r.reason,
    inYourWords: r.person_words, sharedWithThem: r.shared_categories, declineReason: r.decline_reason, closed: r.closed_at,
    history: history.filter((h) => h.referral_id === r.id).map((h) => ({ at: h.at, what: h.action.replace(/_/g, ' '), status: h.to_status.replace(/_/g, ' '), by: h.by_label })),
  }));
}

/** Messages between the person (or someone acting for them) and their lead practitioner. */
async function messagesOf(db: Kysely<Database>, personId: string) {
  const rows = await db.selectFrom('messages as m').innerJoin('users as u', 'u.id', 'm.from_user_id')
    .select(['m.body', 'm.sent_at', 'm.from_role', 'u.display_name', 'u.person_id']).where('m.person_id', '=', personId).orderBy('m.sent_at').execute();
  return rows.map((m) => ({ from: m.person_id === personId ? 'you' : m.display_name, sent: m.sent_at, message: m.body }));
}

type PersonExport = NonNullable<Awaited<ReturnType<typeof personExport>>>;

/**
 * A FHIR R4 collection Bundle: Patient, a Condition per need, an Encounter per event, a CarePlan
 * (with its Goals) per plan, a ServiceRequest per referral and a Communication per message.
 */
export function toFhirBundle(data: PersonExport): Record<string, unknown> {
  const p = data.person;
  const patientRef = `urn:uuid:patient-${p.id}`;
  const entries: Array<Record<string, unknown>> = [];
  entries.push({
    fullUrl: patientRef,
    resource: {
      resourceType: 'Patient',
      identifier: [
        ...(p.nhsNumber ? [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: p.nhsNumber }] : []),
        { system: 'urn:joinery:person', value: p.id },
      ],
      name: [{ use: 'official', family: p.familyName, given: [p.givenName] }],
      ...(p.sex ? { gender: p.sex } : {}),
      ...(p.birthDate ? { birthDate: p.birthDate } : {}),
      ...(p.addressLine ? { address: [{ use: 'home', line: [p.addressLine], postalCode: p.postcode ?? undefined, country: 'GB' }] } : {}),
      telecom: [
        ...(p.phone ? [{ system: 'phone', value: p.phone }] : []),
        ...(p.email ? [{ system: 'email', value: p.email }] : []),
      ],
    },
  });
  data.needs.forEach((n, i) => entries.push({
    fullUrl: `urn:uuid:condition-${p.id}-${i}`,
    resource: {
      resourceType: 'Condition',
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: n.current ? 'active' : 'resolved' }] },
      category: [{ text: n.category.replace(/_/g, ' ') }],
      code: { text: n.need.replace(/_/g, ' ') },
      subject: { reference: patientRef },
      recordedDate: n.recordedOn,
      recorder: { display: n.recordedBy },
    },
  }));
  data.events.forEach((e, i) => entries.push({
    fullUrl: `urn:uuid:encounter-${p.id}-${i}`,
    resource: {
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
      type: [{ text: e.event.replace(/_/g, ' ') }],
      subject: { reference: patientRef },
      period: { start: new Date(e.at).toISOString() },
      serviceProvider: { display: e.recordedBy },
    },
  }));
  data.plans.forEach((plan, i) => {
    const goalRefs = plan.goals.map((_, j) => `urn:uuid:goal-${p.id}-${i}-${j}`);
    plan.goals.forEach((g, j) => entries.push({
      fullUrl: goalRefs[j],
      resource: {
        resourceType: 'Goal', lifecycleStatus: g.status === 'achieved' ? 'completed' : g.status === 'stopped' ? 'cancelled' : 'active',
        description: { text: g.goal }, subject: { reference: patientRef }, startDate: new Date(g.set).toISOString().slice(0, 10),
      },
    }));
    entries.push({
      fullUrl: `urn:uuid:careplan-${p.id}-${i}`,
      resource: {
        resourceType: 'CarePlan', status: plan.status === 'closed' ? 'completed' : 'active', intent: 'plan', title: plan.title, subject: { reference: patientRef },
        created: new Date(plan.started).toISOString(), ...(plan.strengths ? { description: plan.strengths } : {}),
        goal: goalRefs.map((reference) => ({ reference })),
        activity: plan.actions.map((a) => ({ detail: { status: a.status === 'done' ? 'completed' : a.status === 'cancelled' ? 'cancelled' : 'not-started', description: a.action, scheduledString: a.due, performer: [{ display: a.by }] } })),
      },
    });
  });
  data.referrals.forEach((r, i) => entries.push({
    fullUrl: `urn:uuid:servicerequest-${p.id}-${i}`,
    resource: {
      resourceType: 'ServiceRequest', status: r.status === 'completed' ? 'completed' : r.status === 'declined' || r.status === 'cancelled' ? 'revoked' : 'active',
      intent: 'order', priority: r.urgency === 'urgent' ? 'urgent' : r.urgency === 'soon' ? 'asap' : 'routine', subject: { reference: patientRef },
      authoredOn: new Date(r.sent).toISOString(), requester: { display: r.from }, performer: [{ display: `${r.service}, ${r.organisation}` }], reasonCode: [{ text: r.reason }],
    },
  }));
  data.messages.forEach((m, i) => entries.push({
    fullUrl: `urn:uuid:communication-${p.id}-${i}`,
    resource: {
      resourceType: 'Communication', status: 'completed', subject: { reference: patientRef }, sent: new Date(m.sent).toISOString(),
      sender: { display: m.from }, payload: [{ contentString: m.message }],
    },
  }));
  return { resourceType: 'Bundle', type: 'collection', timestamp: data.exportedAt, entry: entries };
}
