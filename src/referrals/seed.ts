// Realistic referral histories and pathway journeys for the demo place: deterministic from the
// seed, relative to the day the place is loaded, so the inbox has overdue referrals, declines
// with onward routes and the flow charts have real waits. A few thousand rows, bulk inserted.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../schema.ts';
import { practitionersWithOrganisationTable, servicesWithOrganisation } from '../network/index.ts';
import { currentNeedsTable, needsWithCodes, personProfiles } from '../people/index.ts';
import { bulkInsert } from '../platform/bulk.ts';
import { streamFor, type Rng } from '../synth/index.ts';
import { categoryOfNeed, isCategory, seedDirectives, seedRelationships } from '../consent/index.ts';
import { addWorkingDays, ukDate } from './working-days.ts';
import { pathwayDefinitions, stagesOf, type PathwayDefinition } from './pathway-definitions.ts';
import { contactMethodLabels, type ContactMethod, type ReferralStatus, type Urgency } from './state.ts';
import { writtenDay } from '../platform/dates.ts';

const DAY = 86_400_000;

interface Svc {
  id: string;
  name: string;
  organisation_id: string;
  organisation: string;
  team_id: string;
  needs: string[];
  ack: number;
  fc: number;
  kind: string;
  min_age: number | null;
  max_age: number | null;
}
interface Prac {
  id: string;
  organisation_id: string;
  team_id: string;
  label: string;
}

interface ReferralRow {
  id: string;
  person_id: string;
  from_organisation_id: string;
  from_team_id: string | null;
  from_practitioner_id: string | null;
  service_id: string;
  organisation_id: string;
  team_id: string;
  assigned_practitioner_id: string | null;
  reason: string;
  person_words: string | null;
  urgency: Urgency;
  shared_categories: string[];
  status: ReferralStatus;
  sent_at: Date;
  acknowledged_at: Date | null;
  accepted_at: Date | null;
  first_contact_at: Date | null;
  first_contact_on: string | null;
  first_contact_method: ContactMethod | null;
  closed_at: Date | null;
  acknowledge_due: string;
  first_contact_due: string;
  decline_reason: string | null;
  onward_from_id: string | null;
  onward_referral_id: string | null;
  journey_id: number | null;
  step_code: string | null;
}
interface EventRow {
  referral_id: string;
  at: Date;
  action: string;
  from_status: string | null;
  to_status: string;
  by_organisation_id: string;
  by_label: string;
  note: string | null;
}

interface Plan {
  personId: string;
  from: Prac;
  service: Svc;
  reason: string;
  words: string | null;
  urgency: Urgency;
  categories: string[];
  sentAt: Date;
  ackAt: Date | null;
  acceptAt: Date | null;
  startAt: Date | null;
  closeAt: Date | null;
  outcome: 'completed' | 'cancelled' | 'declined' | null;
  declineReason?: string;
  onwardFromId?: string | null;
  journeyId?: number | null;
  stepCode?: string | null;
  cancelNote?: string;
}

const REASONS: Record<string, string[]> = {
  homelessness: [
    'Sofa-surfing since the end of their tenancy and has nowhere to stay next week.',
    'Served a section 21 notice; at risk of homelessness within 56 days.',
  ],
  housing_unsuitable: ['Home has stairs they can no longer manage safely.', 'Damp and overcrowding affecting their health.'],
  substance_misuse: ['Drinking daily and wants help to cut down.', 'Using heroin again after release; asked for treatment.'],
  offending: ['Recently released on licence and needs support to settle.', 'On a community order and struggling to keep appointments.'],
  mental_health: ['Low mood and not sleeping for several weeks; asked for support.', 'Increasing anxiety, stopped going out.'],
  long_term_condition: ['Diabetes poorly controlled; needs a review and care plan.', 'COPD with two admissions this winter.'],
  frailty_falls: ['Two falls in the last month; lives alone.', 'Struggling with washing and dressing since coming home from hospital.'],
  social_isolation: ['Lives alone and has not seen anyone for weeks.', 'Recently bereaved and very isolated.'],
  carer_strain: ['Caring for their partner full time and exhausted.', 'Young person caring for a parent with MS.'],
  learning_disability: ['Needs support to manage daily living and money.'],
  financial_hardship: ['Benefits stopped after a missed appointment; no money for food or gas.', 'Rent arrears and debts building up.'],
  domestic_abuse: ['Disclosed controlling behaviour from their partner; wants a safety plan.'],
  child_school_attendance: ['Attendance below 80% this term.', 'Missing school to look after younger siblings.'],
  child_wellbeing: ['Withdrawn in class and not eating lunch.', 'Wellbeing screen flagged high anxiety.'],
  child_safeguarding: ['Concerns raised by school about bruising.'],
  end_of_life: ['Nearing the end of life and wants to stay at home.'],
};
const WORDS = [
  'I just want to be able to stay in my own home.',
  'I keep having to tell my story over and over.',
  'I want to get back to work.',
  'I need help before things get worse.',
  'Please call my daughter as well as me.',
  'I want to see my kids more.',
  null,
  null,
  null,
];
/** How first contacts were made, in rotation (not drawn from the random stream, so the rest of the place is unchanged). */
const CONTACT_METHODS: ContactMethod[] = ['phone', 'visit', 'phone', 'letter', 'phone', 'video', 'visit', 'other'];
const DECLINES = [
  'Outside our eligibility criteria: age.',
  'We have no capacity this quarter; a partner service can see them sooner.',
  'Needs are better met by a specialist service.',
  'Lives outside our area.',
];

export async function seedDemoReferrals(
  db: Kysely<Database>,
  seed = 2026,
  now: Date = new Date(),
): Promise<{ referrals: number; journeys: number }> {
  const existing = await db.selectFrom('referrals').select('id').limit(1).executeTakeFirst();
  if (existing) return { referrals: 0, journeys: 0 };
  const rng = streamFor(seed, 0x4e7e4a1);
  const services = (
    await sql<Svc>`
    select s.id, s.name, s.organisation_id, s.organisation_name as organisation, s.team_id, s.needs, s.acknowledge_within_days as ack, s.first_contact_within_days as fc,
           s.organisation_kind as kind, s.min_age, s.max_age
    from ${servicesWithOrganisation} s order by s.id`.execute(db)
  ).rows;
  if (services.length === 0) return { referrals: 0, journeys: 0 };
  const pracs = (
    await sql<Prac>`select p.id, p.organisation_id, p.team_id, p.given_name || ' ' || p.family_name || ', ' || p.organisation_name as label
    from ${practitionersWithOrganisationTable} p order by p.id`.execute(db)
  ).rows;
  const pracsByOrg = new Map<string, Prac[]>();
  for (const p of pracs) pracsByOrg.set(p.organisation_id, [...(pracsByOrg.get(p.organisation_id) ?? []), p]);
  const pracsByTeam = new Map<string, Prac[]>();
  for (const p of pracs) pracsByTeam.set(p.team_id, [...(pracsByTeam.get(p.team_id) ?? []), p]);
  const pickPrac = (r: Rng, orgId: string): Prac | undefined => {
    const l = pracsByOrg.get(orgId);
    return l?.length ? r.pick(l) : undefined;
  };
  const servicesByNeed = new Map<string, Svc[]>();
  for (const s of services) for (const n of s.needs) servicesByNeed.set(n, [...(servicesByNeed.get(n) ?? []), s]);
  const ageOn = (birth: string | null) => (birth ? Math.floor((now.getTime() - Date.parse(birth)) / (365.25 * DAY)) : 40);
  const fits = (s: Svc, age: number) => (s.min_age === null || age >= s.min_age) && (s.max_age === null || age <= s.max_age);

  const referrals: ReferralRow[] = [];
  const events: EventRow[] = [];
  let n = 0;
  const nextId = () => `ref-demo-${String(++n).padStart(5, '0')}`;

  /** Builds one referral and its history from planned times; only what has happened by now is kept. */
  function build(plan: Plan): ReferralRow {
    const id = nextId();
    const method = CONTACT_METHODS[n % CONTACT_METHODS.length]!;
    const sentDay = ukDate(plan.sentAt);
    let close = plan.closeAt && plan.closeAt <= now ? plan.closeAt : null;
    // Nothing happens after a cancellation, and nothing is recorded before it happened.
    const cutoff = plan.outcome === 'cancelled' && close ? close : now;
    const past = (d: Date | null) => (d && d <= cutoff && d <= now ? d : null);
    const ack = past(plan.ackAt);
    const accept = ack ? past(plan.acceptAt) : null;
    const start = accept ? past(plan.startAt) : null;
    if (plan.outcome === 'completed' && !start) close = null;
    if (plan.outcome === 'declined' && !ack) close = null;
    const receiver = pickPrac(rng, plan.service.organisation_id);
    const by = receiver?.label ?? plan.service.organisation;
    let status = 'sent' as ReferralStatus;
    const ev = (at: Date, action: string, to: ReferralStatus, note: string | null = null, who = by, org = plan.service.organisation_id) => {
      events.push({
        referral_id: id,
        at,
        action,
        from_status: action === 'send' ? null : status,
        to_status: to,
        by_organisation_id: org,
        by_label: who,
        note,
      });
      status = to;
    };
    ev(
      plan.sentAt,
      'send',
      'sent',
      plan.onwardFromId ? 'Created automatically when the previous service declined, so nobody is dropped' : null,
      plan.from.label,
      plan.from.organisation_id,
    );
    if (plan.outcome === 'cancelled' && close && (!ack || close < ack)) {
      ev(
        close,
        'cancel',
        'cancelled',
        plan.cancelNote ?? "No longer needed: the person's circumstances changed",
        plan.from.label,
        plan.from.organisation_id,
      );
    } else {
      if (ack) ev(ack, 'acknowledge', 'received');
      if (plan.outcome === 'declined' && close) ev(close, 'decline', 'declined', plan.declineReason ?? null);
      else {
        if (accept) ev(accept, 'accept', 'accepted');
        if (start) ev(start, 'start', 'in_progress', `${contactMethodLabels[method]} on ${writtenDay(ukDate(start))}`);
        if (close && plan.outcome === 'completed') ev(close, 'complete', 'completed', 'Support finished; goals reviewed with the person');
        if (close && plan.outcome === 'cancelled')
          ev(close, 'cancel', 'cancelled', plan.cancelNote ?? 'The person moved out of the area', by);
      }
    }
    const team = pracsByTeam.get(plan.service.team_id);
    const row: ReferralRow = {
      id,
      person_id: plan.personId,
      from_organisation_id: plan.from.organisation_id,
      from_team_id: plan.from.team_id,
      from_practitioner_id: plan.from.id,
      service_id: plan.service.id,
      organisation_id: plan.service.organisation_id,
      team_id: plan.service.team_id,
      assigned_practitioner_id: ack && team?.length && rng.chance(0.7) ? rng.pick(team).id : null,
      reason: plan.reason,
      person_words: plan.words,
      urgency: plan.urgency,
      shared_categories: plan.categories,
      status,
      sent_at: plan.sentAt,
      acknowledged_at: ack,
      accepted_at: status === 'declined' ? null : accept,
      first_contact_at: status === 'declined' ? null : start,
      first_contact_on: status === 'declined' || !start ? null : ukDate(start),
      first_contact_method: status === 'declined' || !start ? null : method,
      closed_at: status === 'declined' || status === 'completed' || status === 'cancelled' ? events[events.length - 1]!.at : null,
      acknowledge_due: addWorkingDays(sentDay, plan.service.ack),
      first_contact_due: addWorkingDays(sentDay, plan.service.fc),
      decline_reason: status === 'declined' ? (plan.declineReason ?? 'Cannot help') : null,
      onward_from_id: plan.onwardFromId ?? null,
      onward_referral_id: null,
      journey_id: plan.journeyId ?? null,
      step_code: plan.stepCode ?? null,
    };
    referrals.push(row);
    return row;
  }

  const hours = (d: number) => d * DAY;
  /** Realistic delays: most services acknowledge within their clock, some are late; waits vary log-normally. */
  function standardTimes(r: Rng, svc: Svc, sentAt: Date) {
    const ackDays = r.chance(0.75) ? r.next() * svc.ack * 1.3 : svc.ack * 1.4 + 1 + r.next() * 5;
    const ackAt = new Date(sentAt.getTime() + hours(ackDays) + 3_600_000);
    const acceptAt = new Date(ackAt.getTime() + hours(r.next() * 3));
    const wait = Math.max(1, svc.fc * 1.3 * Math.exp(0.55 * r.normal()));
    const startAt = new Date(Math.max(acceptAt.getTime() + 3_600_000, sentAt.getTime() + hours(wait)));
    const closeAt = new Date(startAt.getTime() + hours(10 + r.next() * 80));
    return { ackAt, acceptAt, startAt, closeAt };
  }

  // 1. Referrals between services, from people's current needs.
  const needRows = (
    await sql<{ person_id: string; code: string; organisation_id: string; birth_date: string | null }>`
    select n.person_id, n.code, n.organisation_id, p.birth_date from ${currentNeedsTable} n join ${personProfiles} p on p.person_id = n.person_id
    order by md5(n.person_id || n.code || ${String(seed)}) limit 900`.execute(db)
  ).rows;
  for (const need of needRows) {
    if (referrals.length >= 360) break;
    const age = ageOn(need.birth_date);
    const targets = (servicesByNeed.get(need.code) ?? []).filter((s) => s.organisation_id !== need.organisation_id && fits(s, age));
    const from = pickPrac(rng, need.organisation_id);
    if (targets.length === 0 || !from) continue;
    const service = rng.pick(targets);
    const daysAgo = Math.pow(rng.next(), 2) * 240;
    const sentAt = new Date(now.getTime() - hours(daysAgo));
    const t = standardTimes(rng, service, sentAt);
    const roll = rng.next();
    const outcome = roll < 0.1 ? 'declined' : roll < 0.15 ? 'cancelled' : 'completed';
    const urgency: Urgency = rng.chance(0.12) ? 'urgent' : rng.chance(0.25) ? 'soon' : 'routine';
    const categories = [...new Set(['demographics', categoryOfNeed(need.code), ...(rng.chance(0.5) ? ['about_me'] : [])])];
    const plan: Plan = {
      personId: need.person_id,
      from,
      service,
      reason: rng.pick(REASONS[need.code] ?? ['Needs support from your service.']),
      words: rng.pick(WORDS),
      urgency,
      categories,
      sentAt,
      ackAt: t.ackAt,
      acceptAt: t.acceptAt,
      startAt: t.startAt,
      closeAt:
        outcome === 'declined'
          ? new Date(t.ackAt.getTime() + hours(0.2 + rng.next() * 2))
          : outcome === 'cancelled'
            ? new Date(sentAt.getTime() + hours(3 + rng.next() * 30))
            : t.closeAt,
      outcome,
      declineReason: rng.pick(DECLINES),
    };
    const row = build(plan);
    if (row.status === 'declined') {
      // Handed on: the onward referral goes to another service for the same need (or any adult service).
      const onwardTargets = (servicesByNeed.get(need.code) ?? []).filter((s) => s.id !== service.id && fits(s, age));
      const onward = onwardTargets.length ? rng.pick(onwardTargets) : services.find((s) => s.id !== service.id)!;
      const at = row.closed_at!;
      const receiverPrac = pickPrac(rng, service.organisation_id) ?? from;
      const ot = standardTimes(rng, onward, at);
      const onwardRow = build({
        personId: need.person_id,
        from: receiverPrac,
        service: onward,
        reason: `Handed on by ${service.name}: ${row.decline_reason}\n\nOriginal reason: ${plan.reason}`,
        words: plan.words,
        urgency,
        categories,
        sentAt: at,
        ackAt: ot.ackAt,
        acceptAt: ot.acceptAt,
        startAt: ot.startAt,
        closeAt: ot.closeAt,
        outcome: 'completed',
        onwardFromId: row.id,
      });
      row.onward_referral_id = onwardRow.id;
      events
        .filter((e) => e.referral_id === row.id && e.action === 'decline')
        .forEach((e) => {
          e.note = `${row.decline_reason} Handed on to ${onward.name} (${onward.organisation}).`;
        });
    }
  }

  // 2. Pathway journeys, each step served by a referral.
  const journeys: Array<{
    id: number;
    person_id: string;
    pathway_id: string;
    status: 'active' | 'completed' | 'left';
    started_at: Date;
    ended_at: Date | null;
    left_at_step: string | null;
  }> = [];
  const jsteps: Array<{
    journey_id: number;
    step_code: string;
    status: 'waiting' | 'in_progress' | 'done' | 'dropped';
    ready_at: Date;
    started_at: Date | null;
    completed_at: Date | null;
    referral_id: string | null;
  }> = [];
  const cohorts: Record<string, RawBuilder<{ id: string }>> = {
    'hospital-discharge': sql`select p.person_id as id from ${personProfiles} p where p.birth_date < current_date - interval '65 years' and exists (select 1 from ${needsWithCodes(['frailty_falls', 'long_term_condition'], { current: true })} n where n.person_id = p.person_id) order by md5(p.person_id || 'hd') limit 90`,
    'multiple-disadvantage': sql`select n.person_id as id from ${needsWithCodes(['homelessness', 'substance_misuse', 'offending', 'mental_health'], { current: true })} n group by n.person_id having count(distinct n.code) >= 2 order by md5(n.person_id || 'md') limit 60`,
    'childrens-zone': sql`select p.person_id as id from ${personProfiles} p where p.birth_date between current_date - interval '17 years' and current_date - interval '4 years' and exists (select 1 from ${needsWithCodes(['child_school_attendance', 'child_wellbeing'], { current: true })} n where n.person_id = p.person_id) order by md5(p.person_id || 'cz') limit 60`,
  };
  let journeyId = 0;
  for (const def of pathwayDefinitions as PathwayDefinition[]) {
    const people = (await (cohorts[def.id] ?? sql<{ id: string }>`select null::text as id where false`).execute(db)).rows;
    const stages = stagesOf(def);
    for (const person of people) {
      const id = ++journeyId;
      const startedAt = new Date(now.getTime() - hours(3 + rng.next() * 220));
      let ready = startedAt;
      let status: 'active' | 'completed' | 'left' = 'active';
      let endedAt: Date | null = null;
      let leftAt: string | null = null;
      let previous: Prac | undefined;
      for (const stage of stages) {
        let stageEnd = ready;
        let stageOpen = false;
        for (const step of stage) {
          const candidates = services.filter(
            (s) => s.kind === step.ownerKind && (step.serviceName === null || s.name === step.serviceName),
          );
          const service = candidates.length ? candidates[Math.floor(rng.next() * candidates.length)]! : rng.pick(services);
          const wait = Math.max(0.2, step.expectedDays * 1.4 * Math.exp(0.6 * rng.normal()));
          const startAt = new Date(ready.getTime() + hours(wait));
          const drop = rng.chance(0.07);
          const doneAt = new Date(
            startAt.getTime() + hours(step.code === 'review' || step.code === 'support-plan' ? 20 + rng.next() * 40 : 2 + rng.next() * 25),
          );
          const from = previous ?? pickPrac(rng, service.organisation_id) ?? pracs[0]!;
          const ackAt = new Date(ready.getTime() + hours(Math.min(wait * 0.5, 0.2 + rng.next() * 2)));
          const dropAt = new Date(ready.getTime() + hours(wait * 0.6));
          const row = build({
            personId: person.id,
            from,
            service,
            reason: `${def.name}: ${step.name}. ${step.entryCriteria}.`,
            words: rng.pick(WORDS),
            urgency: def.id === 'hospital-discharge' ? 'urgent' : 'routine',
            categories: ['demographics', 'health', 'social_care', 'housing'].slice(0, 2 + (id % 3)),
            sentAt: ready,
            ackAt,
            acceptAt: new Date(ackAt.getTime() + hours(Math.min(wait * 0.3, 0.5))),
            startAt,
            closeAt: drop ? dropAt : doneAt,
            outcome: drop ? 'cancelled' : 'completed',
            journeyId: id,
            stepCode: step.code,
            cancelNote: 'The person stopped engaging with this step',
          });
          const stepStatus =
            row.status === 'cancelled'
              ? 'dropped'
              : row.status === 'completed'
                ? 'done'
                : row.status === 'in_progress'
                  ? 'in_progress'
                  : 'waiting';
          jsteps.push({
            journey_id: id,
            step_code: step.code,
            status: stepStatus,
            ready_at: ready,
            started_at: row.first_contact_at,
            completed_at: stepStatus === 'done' ? row.closed_at : null,
            referral_id: row.id,
          });
          if (stepStatus === 'dropped') {
            status = 'left';
            endedAt = row.closed_at;
            leftAt = step.code;
          }
          if (stepStatus !== 'done') stageOpen = true;
          else if (row.closed_at! > stageEnd) stageEnd = row.closed_at!;
        }
        previous = pickPrac(rng, services.find((s) => s.kind === stage[0]!.ownerKind)?.organisation_id ?? '') ?? previous;
        if (status === 'left' || stageOpen) break;
        ready = stageEnd;
      }
      if (
        status === 'active' &&
        jsteps.filter((s) => s.journey_id === id).length === def.steps.length &&
        jsteps.filter((s) => s.journey_id === id).every((s) => s.status === 'done')
      ) {
        status = 'completed';
        endedAt = new Date(Math.max(...jsteps.filter((s) => s.journey_id === id).map((s) => s.completed_at!.getTime())));
      }
      journeys.push({
        id,
        person_id: person.id,
        pathway_id: def.id,
        status,
        started_at: startedAt,
        ended_at: endedAt,
        left_at_step: leftAt,
      });
    }
  }

  await db.transaction().execute(async (trx) => {
    const ts = (d: Date | null) => (d ? d.toISOString() : null);
    await bulkInsert(
      trx,
      'referrals',
      [
        { name: 'id', type: 'text', value: (r: ReferralRow) => r.id },
        { name: 'person_id', type: 'text', value: (r) => r.person_id },
        { name: 'from_organisation_id', type: 'text', value: (r) => r.from_organisation_id },
        { name: 'from_team_id', type: 'text', value: (r) => r.from_team_id },
        { name: 'from_practitioner_id', type: 'text', value: (r) => r.from_practitioner_id },
        { name: 'service_id', type: 'text', value: (r) => r.service_id },
        { name: 'organisation_id', type: 'text', value: (r) => r.organisation_id },
        { name: 'team_id', type: 'text', value: (r) => r.team_id },
        { name: 'assigned_practitioner_id', type: 'text', value: (r) => r.assigned_practitioner_id },
        { name: 'reason', type: 'text', value: (r) => r.reason },
        { name: 'person_words', type: 'text', value: (r) => r.person_words },
        { name: 'urgency', type: 'text', value: (r) => r.urgency },
        { name: 'shared_categories', type: 'jsonb', value: (r) => r.shared_categories },
        { name: 'sharing_basis', type: 'text', value: () => 'consent' },
        { name: 'onward_consent', type: 'boolean', value: () => true },
        { name: 'status', type: 'text', value: (r) => r.status },
        { name: 'sent_at', type: 'timestamptz', value: (r) => ts(r.sent_at) },
        { name: 'acknowledged_at', type: 'timestamptz', value: (r) => ts(r.acknowledged_at) },
        { name: 'accepted_at', type: 'timestamptz', value: (r) => ts(r.accepted_at) },
        { name: 'first_contact_at', type: 'timestamptz', value: (r) => ts(r.first_contact_at) },
        { name: 'first_contact_on', type: 'date', value: (r) => r.first_contact_on },
        { name: 'first_contact_method', type: 'text', value: (r) => r.first_contact_method },
        { name: 'closed_at', type: 'timestamptz', value: (r) => ts(r.closed_at) },
        { name: 'acknowledge_due', type: 'date', value: (r) => r.acknowledge_due },
        { name: 'first_contact_due', type: 'date', value: (r) => r.first_contact_due },
        { name: 'decline_reason', type: 'text', value: (r) => r.decline_reason },
        { name: 'onward_from_id', type: 'text', value: () => null },
        { name: 'onward_referral_id', type: 'text', value: () => null },
        { name: 'journey_id', type: 'int8', value: () => null },
        { name: 'step_code', type: 'text', value: (r) => r.step_code },
      ],
      referrals.map((r) => (r.status === 'declined' ? { ...r, status: 'cancelled' as const } : r)),
    );
    // Links between referrals, and the declined state (its check needs the onward link), after every row exists.
    const linked = referrals.filter((r) => r.onward_from_id || r.onward_referral_id || r.status === 'declined' || r.journey_id !== null);
    await bulkInsert(
      trx,
      'pathway_journeys',
      [
        { name: 'id', type: 'int8', value: (j: (typeof journeys)[number]) => j.id },
        { name: 'person_id', type: 'text', value: (j) => j.person_id },
        { name: 'pathway_id', type: 'text', value: (j) => j.pathway_id },
        { name: 'status', type: 'text', value: (j) => j.status },
        { name: 'started_at', type: 'timestamptz', value: (j) => ts(j.started_at) },
        { name: 'ended_at', type: 'timestamptz', value: (j) => ts(j.ended_at) },
        { name: 'left_at_step', type: 'text', value: (j) => j.left_at_step },
        { name: 'started_by', type: 'text', value: () => null },
      ],
      journeys,
    );
    await sql`select setval(pg_get_serial_sequence('pathway_journeys', 'id'), greatest(1, (select coalesce(max(id), 0) from pathway_journeys)))`.execute(
      trx,
    );
    for (let i = 0; i < linked.length; i += 2000) {
      const chunk = linked.slice(i, i + 2000);
      await sql`update referrals r set status = u.status, onward_from_id = u.onward_from_id, onward_referral_id = u.onward_referral_id, journey_id = u.journey_id
        from unnest(${chunk.map((r) => r.id)}::text[], ${chunk.map((r) => r.status)}::text[], ${chunk.map((r) => r.onward_from_id)}::text[], ${chunk.map((r) => r.onward_referral_id)}::text[], ${chunk.map((r) => r.journey_id)}::int8[])
          as u(id, status, onward_from_id, onward_referral_id, journey_id)
        where r.id = u.id`.execute(trx);
    }
    await bulkInsert(
      trx,
      'pathway_journey_steps',
      [
        { name: 'journey_id', type: 'int8', value: (s: (typeof jsteps)[number]) => s.journey_id },
        { name: 'step_code', type: 'text', value: (s) => s.step_code },
        { name: 'status', type: 'text', value: (s) => s.status },
        { name: 'ready_at', type: 'timestamptz', value: (s) => ts(s.ready_at) },
        { name: 'started_at', type: 'timestamptz', value: (s) => ts(s.started_at) },
        { name: 'completed_at', type: 'timestamptz', value: (s) => ts(s.completed_at) },
        { name: 'referral_id', type: 'text', value: (s) => s.referral_id },
      ],
      jsteps,
    );
    await bulkInsert(
      trx,
      'referral_events',
      [
        { name: 'referral_id', type: 'text', value: (e: EventRow) => e.referral_id },
        { name: 'at', type: 'timestamptz', value: (e) => ts(e.at) },
        { name: 'action', type: 'text', value: (e) => e.action },
        { name: 'from_status', type: 'text', value: (e) => e.from_status },
        { name: 'to_status', type: 'text', value: (e) => e.to_status },
        { name: 'by_organisation_id', type: 'text', value: (e) => e.by_organisation_id },
        { name: 'by_label', type: 'text', value: (e) => e.by_label },
        { name: 'note', type: 'text', value: (e) => e.note },
      ],
      events,
      10_000,
    );
    // The receiving organisation's relationship with each person (as a referral sent now opens
    // it): open while the referral is, ended when it closed.
    const serviceNames = new Map(services.map((svc) => [svc.id, svc.name]));
    const relationshipIds = await seedRelationships(
      trx,
      referrals.map((r) => ({
        personId: r.person_id,
        organisationId: r.organisation_id,
        teamId: null,
        practitionerId: null,
        kind: 'referral' as const,
        roleLabel: 'receiving service',
        reason: `open referral to ${serviceNames.get(r.service_id) ?? 'a service'}`,
        startedAt: r.sent_at,
        endedAt: r.closed_at,
      })),
    );
    await sql`update referrals r set relationship_id = u.relationship_id
      from unnest(${referrals.map((r) => r.id)}::text[], ${relationshipIds}::bigint[]) as u(id, relationship_id) where r.id = u.id`.execute(
      trx,
    );
    // What each person agreed to share with the receiving organisation, as the referrer recorded
    // it: once per person, organisation and category, from the first referral that asked. A later
    // referral to an organisation the person already shares with adds nothing (it used to write the
    // same active choice again, so people saw it twice on their sharing page).
    const shared = new Set<string>();
    const firstAsked = referrals
      .filter((r) => r.onward_from_id === null)
      .sort((a, b) => a.sent_at.getTime() - b.sent_at.getTime() || (a.id < b.id ? -1 : 1));
    await seedDirectives(
      trx,
      firstAsked
        .map((r) => ({
          ...r,
          shared_categories: r.shared_categories.filter((c) => {
            const key = `${r.person_id}|${r.organisation_id}|${c}`;
            if (shared.has(key)) return false;
            shared.add(key);
            return true;
          }),
        }))
        .flatMap((r) =>
          r.shared_categories.filter(isCategory).map((category) => ({
            personId: r.person_id,
            category,
            recipientKind: 'organisation' as const,
            recipientId: r.organisation_id,
            decision: 'permit' as const,
            recordedAt: r.sent_at,
            validUntil: null,
            withdrawnAt: null,
            recordedFor: 'practitioner' as const,
            note: `when referring you to ${serviceNames.get(r.service_id) ?? 'a service'}`,
            evidence: 'you agreed when the referral was made',
          })),
        ),
    );
  });
  return { referrals: referrals.length, journeys: journeys.length };
}
