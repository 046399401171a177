// An organisation keeps its own directory listings right: its practitioners (and an administrator
// of that organisation) change how to get in touch, opening times, description, cost and whether
// people may refer themselves, or confirm the listing is still right. Nobody else may: another
// organisation's staff, residents and place-wide roles are refused. Every change is audited
// (what changed, never the values) in the transaction that makes it. A listing not confirmed for
// six months is stale, and the organisation is told which.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { HttpError } from '../platform/http.ts';
import type { SignedInUser } from '../auth/index.ts';
import { appendAudit } from '../audit/index.ts';
import { changeService, serviceRecords, servicesUncheckedSince } from '../network/index.ts';
import { describeOpening, DAY_CODES } from './format.ts';
import { orukId } from './ids.ts';
import { changingDirectory } from './queries.ts';

/** A listing not confirmed for this many months is stale. */
export const STALE_AFTER_MONTHS = 6;
/** Opening-time rows the edit form offers (the listing's own, then empty ones to add). */
export const MAX_OPENING_ROWS = 6;

export interface OpeningRow {
  days: string[];
  opens: string;
  closes: string;
  notes: string;
}

/** The edit form's fields as the page shows them: the listing as kept, or what was typed. */
export interface ListingForm {
  description: string;
  phone: string;
  email: string;
  url: string;
  selfReferral: string;
  cost: string;
  costDescription: string;
  openings: OpeningRow[];
}

/**
 * A well-formed listing to save, as the edit form's schema (listing-form.ts) hands it over: the
 * description, a phone number or email address, the choices made, and each opening row either
 * unused or with days and an opening time before its closing time on the 24-hour clock.
 */
export interface ListingInput extends ListingForm {
  selfReferral: 'yes' | 'no';
  cost: 'free' | 'paid';
}

/** A time on the 24-hour clock as typed: 9:30, 09:30 or 09.30. */
export const OPENING_TIME = /^([01]?\d|2[0-3])[:.]([0-5]\d)$/;

/** The moment before which a check is stale. */
export function staleBefore(now: Date): Date {
  const at = new Date(now);
  at.setUTCMonth(at.getUTCMonth() - STALE_AFTER_MONTHS);
  return at;
}

/** The organisation's own staff who may keep its listings: a practitioner or an administrator of it. */
function keeperOrganisation(user: SignedInUser | undefined): string | null {
  if (!user || !user.organisationId) return null;
  return user.role === 'practitioner' || user.role === 'admin' ? user.organisationId : null;
}

/** Whether this user may change this service's listing (shown as an "Edit" link; enforced on every write). */
export function mayKeepListing(user: SignedInUser | undefined, serviceOrganisationId: string): boolean {
  return keeperOrganisation(user) === serviceOrganisationId;
}

async function serviceOwner(
  db: Kysely<Database> | Transaction<Database>,
  serviceId: string,
): Promise<{ id: string; name: string; organisation_id: string }> {
  const row = (await serviceRecords(db, [serviceId])).get(serviceId);
  if (!row) throw new HttpError(404, 'There is no such service in the directory.');
  return { id: row.id, name: row.name, organisation_id: row.organisationId };
}

async function requireKeeper(db: Kysely<Database> | Transaction<Database>, user: SignedInUser, serviceId: string) {
  const service = await serviceOwner(db, serviceId);
  if (!mayKeepListing(user, service.organisation_id)) {
    throw new HttpError(403, 'Only the organisation that runs this service can change its listing.');
  }
  return service;
}

/** The listing as the edit form shows it (the organisation's own staff only). */
export async function listingForEdit(
  db: Kysely<Database>,
  user: SignedInUser,
  serviceId: string,
): Promise<{ name: string; organisationId: string; form: ListingForm; lastCheckedAt: Date | null }> {
  const service = await requireKeeper(db, user, serviceId);
  const [row, contact, phone, costs, schedules] = await Promise.all([
    Promise.all([
      serviceRecords(db, [serviceId]).then((m) => m.get(serviceId)!),
      db.selectFrom('directory_service_details').select(['url', 'email', 'fees']).where('service_id', '=', serviceId).executeTakeFirst(),
    ]).then(([s, d]) => ({
      description: s.description,
      accepts_self_referral: s.acceptsSelfReferral,
      last_checked_at: s.lastCheckedAt,
      url: d?.url ?? null,
      email: d?.email ?? null,
      fees: d?.fees ?? null,
    })),
    db
      .selectFrom('directory_contacts')
      .select(['id', 'email'])
      .where('service_id', '=', serviceId)
      .orderBy('sort')
      .orderBy('id')
      .executeTakeFirst(),
    db
      .selectFrom('directory_phones')
      .innerJoin('directory_contacts as c', 'c.id', 'directory_phones.contact_id')
      .select('directory_phones.number')
      .where('c.service_id', '=', serviceId)
      .orderBy('c.sort')
      .orderBy('directory_phones.sort')
      .executeTakeFirst(),
    db
      .selectFrom('directory_cost_options')
      .select(['amount', 'amount_description', 'option'])
      .where('service_id', '=', serviceId)
      .orderBy('sort')
      .execute(),
    db
      .selectFrom('directory_schedules')
      .select(['byday', 'opens_at', 'closes_at', 'notes'])
      .where('service_id', '=', serviceId)
      .orderBy('sort')
      .orderBy('id')
      .execute(),
  ]);
  const paid = costs.some((c) => (c.amount ?? 0) > 0);
  const hhmm = (t: string | null) => (t ?? '').slice(0, 5);
  return {
    name: service.name,
    organisationId: service.organisation_id,
    lastCheckedAt: row.last_checked_at,
    form: {
      description: row.description,
      phone: phone?.number ?? '',
      email: contact?.email ?? row.email ?? '',
      url: row.url ?? '',
      selfReferral: row.accepts_self_referral ? 'yes' : 'no',
      cost: paid ? 'paid' : 'free',
      costDescription: paid
        ? (costs.find((c) => (c.amount ?? 0) > 0)?.amount_description ?? row.fees ?? '')
        : (costs[0]?.amount_description ?? ''),
      openings: schedules.map((s) => ({
        days: (s.byday ?? '').split(',').filter(Boolean),
        opens: hhmm(s.opens_at),
        closes: hhmm(s.closes_at),
        notes: s.notes ?? '',
      })),
    },
  };
}

const normaliseTime = (t: string): string => {
  const m = OPENING_TIME.exec(t)!;
  return `${m[1]!.padStart(2, '0')}:${m[2]}`;
};

/** Saves the organisation's changes to its listing, which also counts as checking it. */
async function updateListingNow(
  db: Kysely<Database>,
  user: SignedInUser,
  serviceId: string,
  form: ListingInput,
  now: Date = new Date(),
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const service = await requireKeeper(trx, user, serviceId);
    await changeService(trx, serviceId, {
      description: form.description,
      acceptsSelfReferral: form.selfReferral === 'yes',
      lastCheckedAt: now,
      lastCheckedBy: user.practitionerId,
    });
    await trx
      .updateTable('directory_service_details')
      .set({
        url: form.url || null,
        email: form.email || null,
        fees: form.cost === 'paid' ? form.costDescription : 'Free',
        last_modified: now,
      })
      .where('service_id', '=', serviceId)
      .execute();

    // How to get in touch: the listing's first contact carries the phone and email.
    const contact = await trx
      .selectFrom('directory_contacts')
      .select('id')
      .where('service_id', '=', serviceId)
      .orderBy('sort')
      .orderBy('id')
      .executeTakeFirst();
    const contactId = contact?.id ?? orukId('contact', serviceId);
    if (contact)
      await trx
        .updateTable('directory_contacts')
        .set({ email: form.email || null })
        .where('id', '=', contactId)
        .execute();
    else
      await trx
        .insertInto('directory_contacts')
        .values({ id: contactId, service_id: serviceId, name: 'Referrals and enquiries', title: null, email: form.email || null, sort: 0 })
        .execute();
    const phone = await trx
      .selectFrom('directory_phones')
      .select('id')
      .where('contact_id', '=', contactId)
      .orderBy('sort')
      .orderBy('id')
      .executeTakeFirst();
    if (form.phone && phone) await trx.updateTable('directory_phones').set({ number: form.phone }).where('id', '=', phone.id).execute();
    else if (form.phone)
      await trx
        .insertInto('directory_phones')
        .values({
          id: orukId('phone', `${serviceId}#${now.getTime()}`),
          contact_id: contactId,
          number: form.phone,
          description: 'Referrals and enquiries',
          sort: 0,
        })
        .execute();
    else if (phone) await trx.deleteFrom('directory_phones').where('id', '=', phone.id).execute();

    // Cost: one option saying whether, and what, people pay.
    await trx.deleteFrom('directory_cost_options').where('service_id', '=', serviceId).execute();
    await trx
      .insertInto('directory_cost_options')
      .values(
        form.cost === 'paid'
          ? {
              id: orukId('cost_option', `${serviceId}#${now.getTime()}`),
              service_id: serviceId,
              option: 'Charge',
              amount: paidAmount(form.costDescription),
              amount_description: form.costDescription,
              valid_from: null,
              valid_to: null,
              sort: 0,
            }
          : {
              id: orukId('cost_option', `${serviceId}#${now.getTime()}`),
              service_id: serviceId,
              option: 'Free',
              amount: 0,
              amount_description: form.costDescription || 'No charge to the person using the service',
              valid_from: null,
              valid_to: null,
              sort: 0,
            },
      )
      .execute();

    // Opening times: the rows given replace the service's own schedule.
    await trx.deleteFrom('directory_schedules').where('service_id', '=', serviceId).execute();
    const rows = form.openings.filter((o) => o.days.length > 0);
    if (rows.length > 0) {
      await trx
        .insertInto('directory_schedules')
        .values(
          rows.map((o, i) => {
            const byday = DAY_CODES.filter((d) => o.days.includes(d)).join(',');
            const opens = `${normaliseTime(o.opens)}:00`;
            const closes = `${normaliseTime(o.closes)}:00`;
            return {
              id: orukId('schedule', `${serviceId}#${now.getTime()}#${i}`),
              service_id: serviceId,
              service_at_location_id: null,
              valid_from: null,
              valid_to: null,
              dtstart: null,
              freq: 'WEEKLY',
              interval: 1,
              byday,
              bymonthday: null,
              description: describeOpening(byday, opens, closes),
              opens_at: opens,
              closes_at: closes,
              schedule_link: null,
              attending_type: null,
              notes: o.notes || null,
              sort: i,
            };
          }),
        )
        .execute();
    }
    await appendAudit(trx, {
      actorUserId: user.id,
      actorRole: user.role,
      actorOrganisationId: user.organisationId,
      action: 'write',
      personId: null,
      category: null,
      purpose: null,
      decision: 'success',
      reason: `Updated the directory listing of ${service.name} (${service.id}): description, contact, opening times, cost and self-referral`,
    });
  });
}

/** Saves the organisation's changes to its listing (which also counts as checking it); the pages' cache is forgotten. */
export const updateListing = changingDirectory(updateListingNow);

/** A charge's amount for the ORUK cost option: the first sum of money in the words, else 1 (a charge of unknown size). */
function paidAmount(description: string): number {
  const m = /£\s?(\d+(?:\.\d{1,2})?)/.exec(description);
  return m ? Math.max(0.01, Number(m[1])) : 1;
}

/** "Checked, still right": the organisation confirms its listing without changing it. */
async function confirmListingNow(db: Kysely<Database>, user: SignedInUser, serviceId: string, now: Date = new Date()): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const service = await requireKeeper(trx, user, serviceId);
    await changeService(trx, serviceId, { lastCheckedAt: now, lastCheckedBy: user.practitionerId });
    await appendAudit(trx, {
      actorUserId: user.id,
      actorRole: user.role,
      actorOrganisationId: user.organisationId,
      action: 'write',
      personId: null,
      category: null,
      purpose: null,
      decision: 'success',
      reason: `Confirmed the directory listing of ${service.name} (${service.id}) is still right`,
    });
  });
}

/** "Checked, still right", forgetting the pages' cache. */
export const confirmListing = changingDirectory(confirmListingNow);

export interface StaleListing {
  id: string;
  name: string;
  lastCheckedAt: Date | null;
}

/** The user's organisation's listings not confirmed for six months (none for anyone who cannot keep listings). */
export async function staleListingsFor(
  db: Kysely<Database>,
  user: SignedInUser | undefined,
  now: Date = new Date(),
): Promise<StaleListing[]> {
  const organisationId = keeperOrganisation(user);
  if (!organisationId) return [];
  const before = staleBefore(now);
  return servicesUncheckedSince(db, organisationId, before);
}
