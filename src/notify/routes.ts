// Notification pages and the server's dispatcher. /account/notifications: the signed-in user
// chooses how (email, text message, or not at all) and how often (straight away, or one summary a
// day) they are told; it reads and writes only the session's own account. /admin/notifications:
// administrators see deliveries and failures, never content. The dispatcher starts with the
// server and stops when it closes.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireRole, requireSignedIn, viewContext } from '../platform/http.ts';
import { successFrom, withDone } from '../platform/done.ts';
import { pageHref, pagination, showing } from '../platform/pagination.ts';
import { errorForLog } from '../platform/logger.ts';
import { formBody, parseForm, sentText, typedText } from '../platform/forms.ts';
import { contactDetailsOf } from '../auth/index.ts';
import { preferencesOf, setOwnPreferences, type PreferenceFieldError } from './notify.ts';
import { createNotificationDispatcher } from './dispatcher.ts';
import { sendersFromConfig, type Senders } from './senders.ts';
import { deliveryCounts, deliveryStatuses, kindLabels, listDeliveries, retryFailed } from './admin.ts';
import { eventWords } from './messages.ts';
import { notificationEvents, type DeliveryStatus } from './schema.ts';

const one = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * "Notifications": the ways ticked (the page offers three, so more than five is not read) and how
 * often. setOwnPreferences checks them, with the messages; the fields never fail here.
 */
const preferencesForm = z.object({
  channels: z.preprocess(
    (value) => (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string').slice(0, 5),
    z.array(z.string()),
  ),
  frequency: sentText(),
});

const statusLabels: Record<DeliveryStatus, string> = { queued: 'Waiting to send', sent: 'Sent', failed: 'Failed' };

export interface NotifyRouteOptions {
  /** Senders to use instead of those the configuration asks for (tests, other providers). */
  senders?: Senders;
}

export function registerNotifyRoutes(app: FastifyInstance, options: NotifyRouteOptions = {}): void {
  const { config, database } = app.joinery;
  const db = database.db;

  async function renderPreferences(
    request: FastifyRequest,
    reply: FastifyReply,
    values?: { channels: string[]; frequency: string },
    errors: PreferenceFieldError[] = [],
    status = 200,
  ) {
    const user = requireSignedIn(request);
    const [prefs, contact] = await Promise.all([preferencesOf(db, user.id), contactDetailsOf(db, user.id)]);
    const shown = values ?? {
      channels: prefs.chosen && prefs.channels.length === 0 ? ['none'] : prefs.channels,
      frequency: prefs.frequency,
    };
    const errorOf = (field: string) => errors.find((e) => e.field === field)?.message;
    return reply.code(status).view(
      'account-notifications.njk',
      viewContext(request, reply, {
        title: 'Notifications',
        errors,
        errorOf,
        prefs,
        hasEmail: Boolean(contact?.email),
        hasMobile: Boolean(contact?.mobile),
        errorList: errors.map((e) => ({ text: e.message, href: e.field === 'channels' ? '#channels' : '#frequency' })),
        channelItems: [
          {
            value: 'email',
            text: 'Email',
            checked: shown.channels.includes('email'),
            hint: { text: contact?.email ? `To the email address on your account` : 'Add an email address to your account first' },
          },
          {
            value: 'sms',
            text: 'Text message',
            checked: shown.channels.includes('sms'),
            hint: { text: contact?.mobile ? 'To the mobile number on your account' : 'Add a mobile phone number to your account first' },
          },
          { divider: 'or' },
          {
            value: 'none',
            text: 'Do not tell me',
            checked: shown.channels.includes('none'),
            behaviour: 'exclusive',
            hint: { text: 'You will see what is new when you sign in' },
          },
        ],
        frequencyItems: [
          {
            value: 'immediate',
            text: 'Straight away',
            checked: shown.frequency === 'immediate',
            hint: { text: 'One message each time something happens' },
          },
          {
            value: 'daily',
            text: 'Once a day',
            checked: shown.frequency === 'daily',
            hint: { text: `One message a day, at ${config.notify.digestHour}:00, if something happened` },
          },
        ],
        events: notificationEvents.map((e) => eventWords[e].label),
        success: errors.length ? null : successFrom(request, { saved: { heading: 'Your choices are saved' } }),
      }),
    );
  }

  app.get('/account/notifications', async (request, reply) => renderPreferences(request, reply));

  app.post('/account/notifications', async (request, reply) => {
    const user = requireSignedIn(request);
    const form = parseForm(preferencesForm, formBody(request));
    if (!form.ok) {
      const errors = Object.entries(form.fieldErrors).map(([field, message]) => ({ field, message }) as PreferenceFieldError);
      return renderPreferences(request, reply, { channels: [], frequency: typedText(form.values, 'frequency') }, errors, 400);
    }
    const values = form.value;
    const result = await setOwnPreferences(db, user, values);
    if (!result.ok) return renderPreferences(request, reply, values, result.errors, 400);
    return reply.redirect(withDone('/account/notifications', 'saved'));
  });

  app.get('/admin/notifications', async (request, reply) => {
    requireRole(request, 'admin');
    const query = (request.query ?? {}) as Record<string, unknown>;
    const status = (deliveryStatuses as readonly string[]).includes(one(query.status)) ? (one(query.status) as DeliveryStatus) : undefined;
    const page = /^\d{1,6}$/.test(one(query.page)) ? Number(one(query.page)) : 1;
    const [counts, result] = await Promise.all([deliveryCounts(db), listDeliveries(db, { status, page })]);
    const href = pageHref('/admin/notifications', { status });
    return reply.view(
      'admin-notifications.njk',
      viewContext(request, reply, {
        title: 'Notifications',
        counts,
        ...result,
        status: status ?? '',
        filtered: Boolean(status),
        kindLabels,
        statusLabels,
        ...showing(result.page, result.perPage, result.matching, result.deliveries.length),
        statusItems: [
          { value: '', text: 'Any state' },
          ...deliveryStatuses.map((s) => ({ value: s, text: statusLabels[s], selected: s === status })),
        ],
        pagination: pagination(result.page, result.pages, href, { numbered: true }),
        senders: { email: senders.email.name, sms: senders.sms.name },
        success: successFrom(request, {
          retried: {
            heading: 'Failed notifications are being sent again',
            text: 'Each is tried again straight away, with all its attempts.',
          },
          'none-failed': { heading: 'Nothing to send again', text: 'No notification had failed.' },
        }),
      }),
    );
  });

  app.post('/admin/notifications/retry', async (request, reply) => {
    const admin = requireRole(request, 'admin');
    const count = await db.transaction().execute((trx) => retryFailed(trx, admin));
    return reply.redirect(withDone('/admin/notifications', count > 0 ? 'retried' : 'none-failed'));
  });

  const senders = options.senders ?? sendersFromConfig(config.notify);
  const dispatcher = createNotificationDispatcher(db, {
    senders,
    publicUrl: () => app.joinery.config.publicUrl,
    digestHour: config.notify.digestHour,
    maxAttempts: config.notify.maxAttempts,
    intervalMs: 1000,
    onError: (error) => app.log.error({ err: errorForLog(error as Error) }, 'notification dispatch failed'),
  });
  app.addHook('onClose', async () => {
    await dispatcher.stop();
    await Promise.all([senders.email.close?.(), senders.sms.close?.()]);
  });
}
