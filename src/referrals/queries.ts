// Reading referrals: a service's inbox, what an organisation sent, one person's referrals, one
// referral with its history, and each service's waiting list from real referral data.
// Callers decide access to the person before showing names (see routes.ts).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { organisationNameOf, practitionerNameOf, serviceNameOf, teamNameOf } from '../network/index.ts';
import { personBirthDateOf, personFamilyNameOf, personGivenNameOf, recordsMergedInto } from '../people/index.ts';
import { ukDate } from './working-days.ts';
import type { ReferralStatus, Urgency } from './state.ts';

export interface ReferralFilters {
  /** 'open': not closed; 'waiting': not yet seen (sent, acknowledged or accepted, before first contact). */
  status?: ReferralStatus | 'open' | 'waiting';
  urgency?: Urgency;
  overdue?: boolean;
  serviceId?: string;
  teamId?: string;
}

export interface ReferralListRow {
  id: string;
  personId: string;
  givenName: string;
  familyName: string;
  birthDate: string | null;
  status: ReferralStatus;
  urgency: Urgency;
  sentAt: Date;
  service: string;
  serviceId: string;
  organisation: string;
  team: string;
  /** The sending organisation; for a resident's own request, "Self-referral" or "Self-assessment". */
  fromOrganisation: string;
  assigned: string | null;
  acknowledgeDue: string;
  firstContactDue: string;
  overdue: 'acknowledgement' | 'first contact' | null;
  onwardReferralId: string | null;
  onwardFromId: string | null;
  kind: 'professional' | 'self_referral' | 'self_assessment';
  /** Made without signing in: the receiving side knows the person only by what they typed (typedName). */
  typedOnly: boolean;
  typedName: string | null;
  typedBirthDate: string | null;
  preferredContact: string | null;
  reference: string | null;
  /** The address or number for the preferred way of contact. */
  contactValue: string | null;
}

export const kindLabels: Record<ReferralListRow['kind'], string> = {
  professional: 'Referral',
  self_referral: 'Self-referral',
  self_assessment: 'Self-assessment',
};

/** Which clock, if any, a referral has missed on `today` (a UK calendar date). */
export function overdueOf(
  r: { status: string; acknowledge_due: string; first_contact_due: string },
  today: string,
): ReferralListRow['overdue'] {
  if (r.status === 'sent' && today > r.acknowledge_due) return 'acknowledgement';
  if ((r.status === 'sent' || r.status === 'received' || r.status === 'accepted') && today > r.first_contact_due) return 'first contact';
  return null;
}

const urgencyOrder = sql`case r.urgency when 'urgent' then 0 when 'soon' then 1 else 2 end`;

// One statement for a whole page: names come from their owners' fragments (people, network),
// embedded here, so the list gains no round trip and names no other module's table.
function baseList(db: Kysely<Database>) {
  return db
    .selectFrom('referrals as r')
    .leftJoin('referral_self_details as d', 'd.referral_id', 'r.id')
    .select([
      'r.id',
      'r.person_id',
      'r.status',
      'r.urgency',
      'r.sent_at',
      'r.service_id',
      'r.acknowledge_due',
      'r.first_contact_due',
      'r.onward_referral_id',
      'r.onward_from_id',
      'r.kind',
      'r.relationship_id',
      'd.given_name as d_given',
      'd.family_name as d_family',
      'd.birth_date as d_birth',
      'd.preferred_contact',
      'd.reference',
      'd.email as d_email',
      'd.phone as d_phone',
    ])
    .select([
      personGivenNameOf('r.person_id').as('given_name'),
      personFamilyNameOf('r.person_id').as('family_name'),
      personBirthDateOf('r.person_id').as('birth_date'),
      serviceNameOf('r.service_id').as('service'),
      organisationNameOf('r.organisation_id').$castTo<string>().as('organisation'),
      organisationNameOf('r.from_organisation_id').as('from_organisation'),
      teamNameOf('r.team_id').as('team'),
      practitionerNameOf('r.assigned_practitioner_id').as('assigned'),
    ]);
}

type BaseRow = Awaited<ReturnType<ReturnType<typeof baseList>['execute']>>[number];

function toListRow(r: BaseRow, today: string): ReferralListRow {
  return {
    id: r.id,
    personId: r.person_id,
    givenName: r.given_name,
    familyName: r.family_name,
    birthDate: r.birth_date,
    status: r.status,
    urgency: r.urgency,
    sentAt: r.sent_at,
    service: r.service,
    serviceId: r.service_id,
    team: r.team,
    organisation: r.organisation,
    fromOrganisation: r.from_organisation ?? kindLabels[r.kind],
    assigned: r.assigned,
    acknowledgeDue: r.acknowledge_due,
    firstContactDue: r.first_contact_due,
    overdue: overdueOf(r, today),
    onwardReferralId: r.onward_referral_id,
    onwardFromId: r.onward_from_id,
    kind: r.kind,
    typedOnly: r.kind !== 'professional' && r.relationship_id === null,
    typedName: r.d_given ? `${r.d_given} ${r.d_family}` : null,
    typedBirthDate: r.d_birth ? String(r.d_birth).slice(0, 10) : null,
    preferredContact: r.preferred_contact ?? null,
    reference: r.reference ?? null,
    contactValue: r.preferred_contact === 'email' ? r.d_email : r.preferred_contact ? r.d_phone : null,
  };
}

export interface ListPage {
  total: number;
  rows: ReferralListRow[];
}

/** Referrals to (side 'to') or from (side 'from') an organisation, filtered, most urgent and oldest first. */
export async function listReferrals(
  db: Kysely<Database>,
  side: 'to' | 'from',
  organisationId: string,
  filters: ReferralFilters,
  page = 1,
  perPage = 50,
  now: Date = new Date(),
): Promise<ListPage> {
  const today = ukDate(now);
  let q = baseList(db).where(side === 'to' ? 'r.organisation_id' : 'r.from_organisation_id', '=', organisationId);
  if (filters.status === 'open') q = q.where('r.status', 'in', ['sent', 'received', 'accepted', 'in_progress']);
  else if (filters.status === 'waiting') q = q.where('r.status', 'in', ['sent', 'received', 'accepted']);
  else if (filters.status) q = q.where('r.status', '=', filters.status);
  if (filters.urgency) q = q.where('r.urgency', '=', filters.urgency);
  if (filters.serviceId) q = q.where('r.service_id', '=', filters.serviceId);
  if (filters.teamId) q = q.where('r.team_id', '=', filters.teamId);
  if (filters.overdue) {
    q = q.where((eb) =>
      eb.or([
        eb.and([eb('r.status', '=', 'sent'), eb('r.acknowledge_due', '<', today)]),
        eb.and([eb('r.status', 'in', ['sent', 'received', 'accepted']), eb('r.first_contact_due', '<', today)]),
      ]),
    );
  }
  const counted = await q
    .clearSelect()
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  const rows = await q
    .orderBy(sql`case when r.status in ('sent', 'received', 'accepted', 'in_progress') then 0 else 1 end`)
    .orderBy(urgencyOrder)
    .orderBy('r.sent_at', 'asc')
    .limit(perPage)
    .offset((page - 1) * perPage)
    .execute();
  return { total: Number(counted.n), rows: rows.map((r) => toListRow(r, today)) };
}

export async function referralsOfPerson(db: Kysely<Database>, personId: string, now: Date = new Date()): Promise<ReferralListRow[]> {
  // Also those filed against a record later merged into this one (a request held for a reviewer
  // is filed against a provisional person until the reviewer joins the two).
  const rows = await baseList(db)
    .where((eb) => eb.or([eb('r.person_id', '=', personId), sql<boolean>`r.person_id in ${recordsMergedInto(personId)}`]))
    .orderBy('r.sent_at', 'desc')
    .execute();
  return rows.map((r) => toListRow(r, ukDate(now)));
}

export interface ReferralEventView {
  at: Date;
  action: string;
  toStatus: string;
  byLabel: string;
  note: string | null;
}

export async function referralHistory(db: Kysely<Database>, ids: string[]): Promise<Map<string, ReferralEventView[]>> {
  const map = new Map<string, ReferralEventView[]>();
  if (ids.length === 0) return map;
  const rows = await db
    .selectFrom('referral_events')
    .select(['referral_id', 'at', 'action', 'to_status', 'by_label', 'note'])
    .where('referral_id', 'in', ids)
    .orderBy('at')
    .orderBy('id')
    .execute();
  for (const r of rows)
    map.set(r.referral_id, [
      ...(map.get(r.referral_id) ?? []),
      { at: r.at, action: r.action, toStatus: r.to_status, byLabel: r.by_label, note: r.note },
    ]);
  return map;
}

export async function referralById(db: Kysely<Database>, id: string) {
  return db
    .selectFrom('referrals as r')
    .leftJoin('pathway_journeys as j', 'j.id', 'r.journey_id')
    .leftJoin('pathways as pw', 'pw.id', 'j.pathway_id')
    .selectAll('r')
    .select([
      serviceNameOf('r.service_id').as('service'),
      organisationNameOf('r.organisation_id').$castTo<string>().as('organisation'),
      organisationNameOf('r.from_organisation_id').as('from_organisation'),
      teamNameOf('r.team_id').as('team'),
      practitionerNameOf('r.assigned_practitioner_id').as('assigned'),
      'pw.name as pathway',
    ])
    .where('r.id', '=', id)
    .executeTakeFirst();
}

export interface WaitingList {
  serviceId: string;
  waiting: number;
  medianDaysToFirstContact: number | null;
  measuredOn: number;
}

/**
 * Each service's waiting list from its own referrals: how many are waiting for first contact now,
 * and the typical (median) calendar days from sending to first contact over the last year.
 */
export async function waitingLists(db: Kysely<Database>, serviceIds: string[], now: Date = new Date()): Promise<Map<string, WaitingList>> {
  const map = new Map<string, WaitingList>();
  if (serviceIds.length === 0) return map;
  const since = new Date(now.getTime() - 365 * 86_400_000);
  const rows = (
    await sql<{ service_id: string; waiting: number; median: number | null; measured: number }>`
    select r.service_id,
      count(*) filter (where r.status in ('sent', 'received', 'accepted')) as waiting,
      percentile_cont(0.5) within group (order by extract(epoch from (r.first_contact_at - r.sent_at)) / 86400) filter (where r.first_contact_at is not null and r.sent_at >= ${since}) as median,
      count(*) filter (where r.first_contact_at is not null and r.sent_at >= ${since}) as measured
    from referrals r where r.service_id in (${sql.join(serviceIds)})
    group by r.service_id`.execute(db)
  ).rows;
  for (const id of serviceIds) map.set(id, { serviceId: id, waiting: 0, medianDaysToFirstContact: null, measuredOn: 0 });
  for (const r of rows) {
    map.set(r.service_id, {
      serviceId: r.service_id,
      waiting: Number(r.waiting),
      medianDaysToFirstContact: r.median === null ? null : Math.round(Number(r.median)),
      measuredOn: Number(r.measured),
    });
  }
  return map;
}

/** Counts for a worklist panel: open referrals to and from the organisation, and how many are overdue. */
export async function referralCounts(db: Kysely<Database>, organisationId: string, now: Date = new Date()) {
  const today = ukDate(now);
  const row = (
    await sql<{ inbox: number; inbox_overdue: number; sent_open: number; sent_overdue: number }>`
    select
      count(*) filter (where organisation_id = ${organisationId} and status in ('sent', 'received', 'accepted', 'in_progress')) as inbox,
      count(*) filter (where organisation_id = ${organisationId} and ((status = 'sent' and acknowledge_due < ${today}) or (status in ('sent', 'received', 'accepted') and first_contact_due < ${today}))) as inbox_overdue,
      count(*) filter (where from_organisation_id = ${organisationId} and status in ('sent', 'received', 'accepted', 'in_progress')) as sent_open,
      count(*) filter (where from_organisation_id = ${organisationId} and ((status = 'sent' and acknowledge_due < ${today}) or (status in ('sent', 'received', 'accepted') and first_contact_due < ${today}))) as sent_overdue
    from referrals where organisation_id = ${organisationId} or from_organisation_id = ${organisationId}`.execute(db)
  ).rows[0]!;
  return {
    inbox: Number(row.inbox),
    inboxOverdue: Number(row.inbox_overdue),
    sentOpen: Number(row.sent_open),
    sentOverdue: Number(row.sent_overdue),
  };
}

/** A few referrals named by id (an onward referral and the one it came from): status, service and organisation, for a link. */
export async function referralSummaries(db: Kysely<Database>, ids: readonly string[]) {
  if (ids.length === 0) return [];
  return db
    .selectFrom('referrals as x')
    .select([
      'x.id',
      'x.status',
      serviceNameOf('x.service_id').as('service'),
      organisationNameOf('x.organisation_id').$castTo<string>().as('organisation'),
    ])
    .where('x.id', 'in', ids)
    .execute();
}
