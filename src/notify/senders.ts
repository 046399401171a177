// How messages leave Joinery: a Sender per channel. Email goes through an SMTP server
// (nodemailer) or GOV.UK Notify; text messages through GOV.UK Notify (its published client), or
// any other Sender given to the dispatcher. Without configuration a channel's sender refuses
// every message with the reason, so the admin sees why nothing went out: nothing is dropped.
import nodemailer from 'nodemailer';
import { NotifyClient } from 'notifications-node-client';
import type { NotifyConfig } from '../platform/config.ts';
import type { Channel } from './schema.ts';

export interface OutgoingMessage {
  /** Email address, or mobile number as +44…. */
  to: string;
  subject: string;
  text: string;
  /** The outbox row's id, as a reference the provider can report back. */
  reference: string;
}

export interface Sender {
  /** Shown to the admin: which route a message took. */
  readonly name: string;
  /** Resolves when the provider took the message; rejects with a SendFailure or any error. */
  send(message: OutgoingMessage): Promise<void>;
  close?(): Promise<void>;
}

export type Senders = Record<Channel, Sender>;

/** A failure whose message is safe to show an admin (no address, no content). */
export class SendFailure extends Error {
  override name = 'SendFailure';
  /** No later attempt could succeed (the account is disabled): failed at once, not retried. */
  readonly final: boolean;
  constructor(message: string, options: { final?: boolean } = {}) {
    super(message);
    this.final = options.final ?? false;
  }
}

const SEND_TIMEOUT_MS = 30_000;

/**
 * What went wrong, in words an admin can act on, without the recipient's address or number
 * (mail servers often quote the address back in their refusals).
 */
export function failureText(error: unknown): string {
  if (error instanceof SendFailure) return error.message;
  const e = error as {
    code?: string;
    responseCode?: number;
    response?: { status?: number; data?: { errors?: Array<{ message?: string }> } };
    message?: string;
  };
  const notifyErrors = e.response?.data?.errors
    ?.map((x) => x.message)
    .filter(Boolean)
    .join('; ');
  const raw = notifyErrors || (typeof e.message === 'string' ? e.message : String(error));
  const clean = raw
    .replace(/[^\s<>"']+@[^\s<>"']+/g, '[address]')
    .replace(/\+?\d[\d\s-]{7,}\d/g, '[number]')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
  const code = e.responseCode
    ? `the mail server answered ${e.responseCode}`
    : e.response?.status
      ? `GOV.UK Notify answered ${e.response.status}`
      : e.code
        ? `${e.code}`
        : 'sending failed';
  return `${code}: ${clean}`;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SendFailure(`${what} did not answer within ${SEND_TIMEOUT_MS / 1000} seconds`)), SEND_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Email through an SMTP server: smtp:// (STARTTLS when the server offers it) or smtps://. */
export function smtpSender(smtpUrl: string, from: string): Sender {
  const transport = nodemailer.createTransport({ url: smtpUrl, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 });
  return {
    name: 'smtp',
    async send(message) {
      await withTimeout(
        transport.sendMail({
          from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          headers: { 'X-Joinery-Reference': message.reference },
        }),
        'the mail server',
      );
    },
    async close() {
      transport.close();
    },
  };
}

function notifyClient(config: NotifyConfig): NotifyClient {
  return config.notifyBaseUrl ? new NotifyClient(config.notifyBaseUrl, config.notifyApiKey!) : new NotifyClient(config.notifyApiKey!);
}

/** Text messages through GOV.UK Notify: a template whose whole content is ((body)). */
export function notifySmsSender(client: NotifyClient, templateId: string): Sender {
  return {
    name: 'govuk-notify',
    async send(message) {
      await withTimeout(
        client.sendSms(templateId, message.to, { personalisation: { body: message.text }, reference: message.reference }),
        'GOV.UK Notify',
      );
    },
  };
}

/** Email through GOV.UK Notify: a template with subject ((subject)) and content ((body)). */
export function notifyEmailSender(client: NotifyClient, templateId: string): Sender {
  return {
    name: 'govuk-notify',
    async send(message) {
      await withTimeout(
        client.sendEmail(templateId, message.to, {
          personalisation: { subject: message.subject, body: message.text },
          reference: message.reference,
        }),
        'GOV.UK Notify',
      );
    },
  };
}

/** A channel nobody configured: every message fails with what to set, and the admin sees it. */
export function notConfiguredSender(channel: Channel): Sender {
  const what =
    channel === 'email'
      ? 'email is not configured: set SMTP_URL, or NOTIFY_API_KEY with NOTIFY_EMAIL_TEMPLATE_ID'
      : 'text messages are not configured: set NOTIFY_API_KEY with NOTIFY_SMS_TEMPLATE_ID';
  return {
    name: 'not-configured',
    async send() {
      throw new SendFailure(what);
    },
  };
}

/** The senders the configuration asks for: SMTP first for email, then Notify; Notify for text messages. */
export function sendersFromConfig(config: NotifyConfig): Senders {
  const client = config.notifyApiKey ? notifyClient(config) : undefined;
  const email = config.smtpUrl
    ? smtpSender(config.smtpUrl, config.from)
    : client && config.notifyEmailTemplateId
      ? notifyEmailSender(client, config.notifyEmailTemplateId)
      : notConfiguredSender('email');
  const sms = client && config.notifySmsTemplateId ? notifySmsSender(client, config.notifySmsTemplateId) : notConfiguredSender('sms');
  return { email, sms };
}
