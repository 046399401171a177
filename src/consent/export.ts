// The person's right of access: everything held about them, from every source, as JSON and as
// a FHIR R4 Bundle they can take elsewhere. The sections other modules hold (plans, "about me"
// and messages, referrals, personal budgets) are read through ExportSections, which app.ts
// answers with those modules' reads: they sit above consent, as they ask its access decision.
// Which sections and items the reader may see is decided here.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { eventHistoryOf, needHistoryOf, personSummary } from '../people/index.ts';
import { recordsHeldOfPerson } from '../linkage/index.ts';
import { directivesOf, lawfulBasesOf } from './directives.ts';
import { informalNetworkOf } from './informal-network.ts';
import { caseFindingObjectionsOf } from './objections.ts';
import { rightsRequestsOf } from './rights-requests.ts';
import { whoLooked } from './who-looked.ts';
import { correctionRequestsAbout } from './corrections.ts';
import { categoryOfEvent, categoryOfNeed, categoryOfOrganisationKind, type Category } from './categories.ts';

/** A plan as the person's own copy shows it (the plans module's plansOfPersonForExport): these fields, and any others as given. */
export interface ExportPlan {
  title: string;
  status: string;
  strengths: string | null;
  started: Date;
  goals: Array<{ goal: string; status: string; set: Date }>;
  actions: Array<{ action: string; by: string; due: string | null; status: string }>;
}

/** A message about the person (records' messagesAboutPersonForExport). */
export interface ExportMessage {
  from: string;
  sent: Date;
  message: string;
}

/** A version of "about me" (records' aboutMeVersionsOf). */
export interface ExportAboutMe {
  whatMatters: string;
  howToSupport: string;
  writtenByRole: string;
  createdAt: Date;
}

/** A referral about the person with the kinds of the organisations it went to and came from (referrals' referralsAboutPerson). */
export interface ExportReferral {
  id: string;
  service: string | null;
  organisation: string;
  kind: string;
  from_organisation: string | null;
  from_kind: string | null;
  sent_at: Date;
  status: string;
  urgency: string;
  reason: string;
  person_words: string | null;
  shared_categories: unknown;
  decline_reason: string | null;
  closed_at: Date | null;
}

/** A step in a referral's history (referrals' referralHistories). */
export interface ExportReferralEvent {
  referral_id: string;
  at: Date;
  action: string;
  to_status: string;
  by_label: string | null;
}

/** A personal budget with its choices and spending (budgets' personalBudgetsOf); the values are shown as given. */
export interface ExportPersonalBudget {
  year: unknown;
  amountPence: number;
  agreedOn: unknown;
  spentPence: number;
  remainingPence: number;
  choices: Array<{ description: unknown; provider: unknown; monthly_pence: number; chosen_on: unknown }>;
  spend: unknown;
}

/**
 * The export's sections that other modules hold, each read whole for the person (app.ts passes
 * the owning modules' functions). They only fetch: personExport decides what the reader may see.
 */
export interface ExportSections {
  plansOf(db: Kysely<Database>, personId: string): Promise<ExportPlan[]>;
  aboutMeVersionsOf(db: Kysely<Database>, personId: string): Promise<ExportAboutMe[]>;
  messagesAbout(db: Kysely<Database>, personId: string): Promise<ExportMessage[]>;
  referralsAbout(db: Kysely<Database>, personId: string): Promise<ExportReferral[]>;
  referralHistories(db: Kysely<Database>, referralIds: readonly string[]): Promise<ExportReferralEvent[]>;
  personalBudgetsOf(db: Kysely<Database>, personId: string): Promise<ExportPersonalBudget[]>;
}

/**
 * Everything held that the reader may see: `canSee` is the access decision for the person or
 * their proxy, per category (safeguarding stays out until a practitioner releases it, and a
 * proxy sees only their scope), applied to needs, events, agencies, bases and who looked.
 */
export async function personExport(
  db: Kysely<Database>,
  personId: string,
  canSee: (category: Category) => boolean,
  sections: ExportSections,
) {
  const person = await personSummary(db, personId);
  if (!person) return undefined;
  const [records, needs, events, directives, lawfulBases, looks, corrections] = await Promise.all([
    recordsHeldOfPerson(db, personId),
    needHistoryOf(db, personId),
    eventHistoryOf(db, personId),
    directivesOf(db, personId),
    lawfulBasesOf(db, personId),
    whoLooked(db, personId, 1000),
    correctionRequestsAbout(db, personId, 'oldest'),
  ]);
  const [informal, objections, rightsRequests] = await Promise.all([
    canSee('about_me') ? informalNetworkOf(db, personId, true) : [],
    caseFindingObjectionsOf(db, personId),
    rightsRequestsOf(db, personId),
  ]);
  const [aboutMe, plans, referrals, messages, personalBudgets] = await Promise.all([
    canSee('about_me') ? aboutMeOf(db, personId, sections) : [],
    canSee('plans') ? sections.plansOf(db, personId) : [],
    referralsOf(db, personId, canSee, sections),
    canSee('about_me') ? sections.messagesAbout(db, personId) : [],
    canSee('finances') ? sections.personalBudgetsOf(db, personId) : [],
  ]);
  return {
    exportedAt: new Date().toISOString(),
    person,
    recordsHeldByEachService: records
      .filter((r) => canSee(categoryOfOrganisationKind(r.kind)))
      .map((r) => ({ service: r.organisation, reference: r.sourceId, since: r.receivedAt, asRecorded: r.fields })),
    needs: needs
      .filter((n) => canSee(categoryOfNeed(n.code)))
      .map((n) => ({
        need: n.code,
        category: categoryOfNeed(n.code),
        recordedBy: n.organisation,
        recordedOn: n.recorded_at,
        severity: n.severity,
        current: n.current,
      })),
    events: events
      .filter((e) => canSee(categoryOfEvent(e.type)))
      .map((e) => ({ event: e.type, category: categoryOfEvent(e.type), recordedBy: e.organisation, at: e.at, value: e.value })),
    // The choices in their sentences, as before: the parts a page words in its language add nothing here.
    sharingChoices: directives.map(({ choice: _choice, by: _by, ...choice }) => choice),
    sharedWithoutConsent: lawfulBases
      .filter((b) => b.categoryCode === '*' || canSee(b.categoryCode as Category))
      .map(({ basisCode: _basisCode, ...basis }) => basis),
    whoLooked: looks,
    // What the person asked and the answer, as the download has always carried them.
    correctionRequests: corrections.map((c) => ({
      id: c.id,
      organisation: c.organisation,
      item_description: c.item_description,
      what_is_wrong: c.what_is_wrong,
      what_it_should_say: c.what_it_should_say,
      status: c.status,
      created_at: c.created_at,
      resolution_note: c.resolution_note,
    })),
    restrictionAndErasureRequests: rightsRequests
      .filter((r) => canSee(r.categoryCode as Category))
      .map((r) => ({
        asked: r.kind,
        of: r.organisation,
        category: r.category,
        which: r.what,
        why: r.why,
        received: r.receivedAt,
        dueBy: r.dueBy,
        status: r.statusLabel,
        answered: r.decidedAt,
        answer: r.decisionNote,
        restrictionLifted: r.liftedAt,
      })),
    objectionsToCaseFinding: objections.map((o) => ({ objected: o.objectedAt, reason: o.reason, withdrawn: o.withdrawnAt })),
    peopleWhoCanHelp: informal.map((m) => ({
      name: m.name,
      who: m.kindLabel,
      relationship: m.relationship,
      contact: m.contact,
      mayKnow: m.mayKnowLabels,
      added: m.addedAt,
      removed: m.endedAt,
    })),
    aboutMe,
    plans,
    referrals,
    messages,
    personalBudgets: personalBudgets.map((b) => ({
      financialYear: b.year,
      amountPence: b.amountPence,
      agreedOn: b.agreedOn,
      spentPence: b.spentPence,
      remainingPence: b.remainingPence,
      choices: b.choices.map((c) => ({
        description: c.description,
        provider: c.provider,
        monthlyPence: c.monthly_pence,
        chosenOn: c.chosen_on,
      })),
      spending: b.spend,
    })),
  };
}

/** "About me", every version, in the person's own words (the records module reads them). */
async function aboutMeOf(db: Kysely<Database>, personId: string, sections: ExportSections) {
  return (await sections.aboutMeVersionsOf(db, personId)).map((r) => ({
    whatMatters: r.whatMatters,
    howToSupport: r.howToSupport,
    writtenBy: r.writtenByRole === 'citizen' ? 'you or someone acting for you' : r.writtenByRole,
    written: r.createdAt,
  }));
}

/** Referrals about the person, each shown only when both the sending and receiving services' categories may be seen (probation says criminal justice). */
async function referralsOf(db: Kysely<Database>, personId: string, canSee: (category: Category) => boolean, sections: ExportSections) {
  const rows = await sections.referralsAbout(db, personId);
  // A request the person made themselves has no sending organisation to hide.
  const visible = rows.filter(
    (r) => canSee(categoryOfOrganisationKind(r.kind)) && (r.from_kind === null || canSee(categoryOfOrganisationKind(r.from_kind))),
  );
  const history = await sections.referralHistories(
    db,
    visible.map((r) => r.id),
  );
  return visible.map((r) => ({
    service: r.service,
    organisation: r.organisation,
    from: r.from_organisation ?? 'you asked yourself',
    sent: r.sent_at,
    status: r.status,
    urgency: r.urgency,
    reason: r.reason,
    inYourWords: r.person_words,
    sharedWithThem: r.shared_categories,
    declineReason: r.decline_reason,
    closed: r.closed_at,
    history: history
      .filter((h) => h.referral_id === r.id)
      .map((h) => ({ at: h.at, what: h.action.replace(/_/g, ' '), status: h.to_status.replace(/_/g, ' '), by: h.by_label })),
  }));
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
      telecom: [...(p.phone ? [{ system: 'phone', value: p.phone }] : []), ...(p.email ? [{ system: 'email', value: p.email }] : [])],
    },
  });
  data.needs.forEach((n, i) =>
    entries.push({
      fullUrl: `urn:uuid:condition-${p.id}-${i}`,
      resource: {
        resourceType: 'Condition',
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: n.current ? 'active' : 'resolved' }],
        },
        category: [{ text: n.category.replace(/_/g, ' ') }],
        code: { text: n.need.replace(/_/g, ' ') },
        subject: { reference: patientRef },
        recordedDate: n.recordedOn,
        recorder: { display: n.recordedBy },
      },
    }),
  );
  data.events.forEach((e, i) =>
    entries.push({
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
    }),
  );
  data.plans.forEach((plan, i) => {
    const goalRefs = plan.goals.map((_, j) => `urn:uuid:goal-${p.id}-${i}-${j}`);
    plan.goals.forEach((g, j) =>
      entries.push({
        fullUrl: goalRefs[j],
        resource: {
          resourceType: 'Goal',
          lifecycleStatus: g.status === 'achieved' ? 'completed' : g.status === 'stopped' ? 'cancelled' : 'active',
          description: { text: g.goal },
          subject: { reference: patientRef },
          startDate: new Date(g.set).toISOString().slice(0, 10),
        },
      }),
    );
    entries.push({
      fullUrl: `urn:uuid:careplan-${p.id}-${i}`,
      resource: {
        resourceType: 'CarePlan',
        status: plan.status === 'closed' ? 'completed' : 'active',
        intent: 'plan',
        title: plan.title,
        subject: { reference: patientRef },
        created: new Date(plan.started).toISOString(),
        ...(plan.strengths ? { description: plan.strengths } : {}),
        goal: goalRefs.map((reference) => ({ reference })),
        activity: plan.actions.map((a) => ({
          detail: {
            status: a.status === 'done' ? 'completed' : a.status === 'cancelled' ? 'cancelled' : 'not-started',
            description: a.action,
            scheduledString: a.due,
            performer: [{ display: a.by }],
          },
        })),
      },
    });
  });
  data.referrals.forEach((r, i) =>
    entries.push({
      fullUrl: `urn:uuid:servicerequest-${p.id}-${i}`,
      resource: {
        resourceType: 'ServiceRequest',
        status: r.status === 'completed' ? 'completed' : r.status === 'declined' || r.status === 'cancelled' ? 'revoked' : 'active',
        intent: 'order',
        priority: r.urgency === 'urgent' ? 'urgent' : r.urgency === 'soon' ? 'asap' : 'routine',
        subject: { reference: patientRef },
        authoredOn: new Date(r.sent).toISOString(),
        requester: { display: r.from },
        performer: [{ display: `${r.service}, ${r.organisation}` }],
        reasonCode: [{ text: r.reason }],
      },
    }),
  );
  data.messages.forEach((m, i) =>
    entries.push({
      fullUrl: `urn:uuid:communication-${p.id}-${i}`,
      resource: {
        resourceType: 'Communication',
        status: 'completed',
        subject: { reference: patientRef },
        sent: new Date(m.sent).toISOString(),
        sender: { display: m.from },
        payload: [{ contentString: m.message }],
      },
    }),
  );
  return { resourceType: 'Bundle', type: 'collection', timestamp: data.exportedAt, entry: entries };
}
