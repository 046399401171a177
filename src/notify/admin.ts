// What the admin sees of notifications: how many are waiting, sent and failed, and each delivery
// with its state, attempts, last error, channel, sender and the account it was for. Never the
// message, an address or a number: the event's kind is all there is to see of what it said.
// Once the cause is mended (a mail server configured, an address added), the admin can send the
// failed ones again.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { appendAudit } from '../audit/index.ts';
import { userDisplayNameOf, userNameOf, type SignedInUser } from '../auth/index.ts';
import type { Channel, DeliveryStatus, OutboxKind } from './schema.ts';

export const deliveryStatuses: readonly DeliveryStatus[] = ['queued', 'sent', 'failed'];

export const kindLabels: Record<OutboxKind, string> = {
  new_message: 'New message',
  referral_step: 'Referral step',
  plan_review_due: 'Plan review coming up',
  correction_answered: 'Correction answered',
  emergency_access: 'Emergency access',
  account_email: 'Account email',
};

export interface DeliveryListing {
  id: number;
  kind: OutboxKind;
  channel: Channel;
  frequency: 'immediate' | 'daily';
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  sender: string | null;
  createdAt: Date;
  sentAt: Date | null;
  failedAt: Date | null;
  nextAttemptAt: Date;
  account: { username: string; displayName: string } | null;
}

export interface DeliveryCounts {
  queued: number;
  sent: number;
  failed: number;
}

export async function deliveryCounts(db: Kysely<Database>): Promise<DeliveryCounts> {
  const rows = (
    await sql<{ status: DeliveryStatus; n: number }>`select status, count(*)::int as n from notification_outbox group by status`.execute(db)
  ).rows;
  const counts: DeliveryCounts = { queued: 0, sent: 0, failed: 0 };
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}

export async function listDeliveries(db: Kysely<Database>, filter: { status?: DeliveryStatus; page?: number; perPage?: number } = {}) {
  const perPage = Math.max(1, Math.min(200, filter.perPage ?? 50));
  let query = db.selectFrom('notification_outbox as n');
  if (filter.status) query = query.where('n.status', '=', filter.status);
  const matching = Number((await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const pages = Math.max(1, Math.ceil(matching / perPage));
  const page = Math.min(Math.max(1, filter.page ?? 1), pages);
  const rows = await query
    .select([
      'n.id',
      'n.kind',
      'n.channel',
      'n.frequency',
      'n.status',
      'n.attempts',
      'n.last_error',
      'n.sender',
      'n.created_at',
      'n.sent_at',
      'n.failed_at',
      'n.next_attempt_at',
      userNameOf('n.user_id').as('username'),
      userDisplayNameOf('n.user_id').as('display_name'),
    ])
    .orderBy('n.created_at', 'desc')
    .orderBy('n.id', 'desc')
    .limit(perPage)
    .offset((page - 1) * perPage)
    .execute();
  const deliveries: DeliveryListing[] = rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    channel: r.channel,
    frequency: r.frequency,
    status: r.status,
    attempts: Number(r.attempts),
    lastError: r.last_error,
    sender: r.sender,
    createdAt: r.created_at,
    sentAt: r.sent_at,
    failedAt: r.failed_at,
    nextAttemptAt: r.next_attempt_at,
    account: r.username ? { username: r.username, displayName: r.display_name ?? r.username } : null,
  }));
  return { deliveries, matching, page, pages, perPage };
}

/**
 * Puts every failed notification back in the queue with its attempts counted afresh. Account
 * emails are not among them: their text was erased when they failed (a password reset link
 * must be asked for again). In the caller's transaction; returns how many will be sent again.
 */
export async function retryFailed(trx: Transaction<Database>, admin: SignedInUser, now: Date = new Date()): Promise<number> {
  if (admin.role !== 'admin') throw new Error('only administrators send failed notifications again');
  const result = await trx
    .updateTable('notification_outbox')
    .set({ status: 'queued', attempts: 0, next_attempt_at: now, failed_at: null })
    .where('status', '=', 'failed')
    .where('kind', '<>', 'account_email')
    .executeTakeFirst();
  const count = Number(result.numUpdatedRows);
  if (count > 0) {
    await appendAudit(trx, {
      actorUserId: admin.id,
      actorRole: admin.role,
      actorOrganisationId: admin.organisationId,
      action: 'retry_notifications',
      personId: null,
      category: null,
      purpose: null,
      decision: 'success',
      reason: `sent ${count} failed notification${count === 1 ? '' : 's'} again`,
    });
  }
  return count;
}
