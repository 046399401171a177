// What a notification says. Deliberately nothing personal: not who, not what about, not which
// service; only that something happened in Joinery and a link to sign in and read it. Whoever
// sees the phone's lock screen or a shared inbox learns no more than that.
import type { NotificationEvent } from './schema.ts';

interface EventWords {
  /** Email subject, and the line for the event in a daily summary. */
  subject: string;
  /** The one sentence saying what happened. */
  sentence: string;
  /** Where the link goes when the caller names nowhere more exact. */
  defaultPath: string;
  /** What the person chooses on their preferences page. */
  label: string;
}

export const eventWords: Record<NotificationEvent, EventWords> = {
  new_message: {
    subject: 'New message in Joinery',
    sentence: 'You have a new message in Joinery.',
    defaultPath: '/home',
    label: 'A new message',
  },
  referral_step: {
    subject: 'News about a referral in Joinery',
    sentence: 'There is news about a referral in Joinery.',
    defaultPath: '/my-referrals',
    label: 'A referral moves to its next step',
  },
  plan_review_due: {
    subject: 'A plan review is coming up in Joinery',
    sentence: 'A review of a plan in Joinery is coming up.',
    defaultPath: '/my-plan',
    label: 'A plan review is coming up',
  },
  correction_answered: {
    subject: 'Your correction request has an answer in Joinery',
    sentence: 'A request to correct a record has been answered in Joinery.',
    defaultPath: '/my-record/corrections',
    label: 'A request to correct a record is answered',
  },
  emergency_access: {
    subject: 'A record was opened with emergency access in Joinery',
    sentence: 'A practitioner used emergency access to open a record you are linked to in Joinery: yours, or that of someone you act for.',
    defaultPath: '/home',
    label: 'Someone uses emergency access to open a record',
  },
};

export interface Message {
  subject: string;
  text: string;
}

/** The message for one event: the sentence, and the link to sign in and see it. */
export function eventMessage(event: NotificationEvent, publicUrl: string, path: string | null): Message {
  const words = eventWords[event];
  return {
    subject: words.subject,
    text: `${words.sentence}\n\nSign in to read it: ${publicUrl}${path ?? words.defaultPath}\n\nThis message says no more, to keep your information private. You can choose how and how often Joinery tells you things: ${publicUrl}/account/notifications`,
  };
}

/** One message for a day's events: how many of each kind, and one link to sign in. */
export function digestMessage(events: Array<{ event: NotificationEvent; path: string | null }>, publicUrl: string): Message {
  const counts = new Map<NotificationEvent, number>();
  for (const e of events) counts.set(e.event, (counts.get(e.event) ?? 0) + 1);
  const lines = [...counts].map(([event, n]) => `- ${eventWords[event].label}${n > 1 ? ` (${n} times)` : ''}`);
  const paths = [...new Set(events.map((e) => e.path ?? eventWords[e.event].defaultPath))];
  const where = paths.length === 1 ? paths[0]! : '/home';
  return {
    subject: `Your Joinery summary: ${events.length} new ${events.length === 1 ? 'update' : 'updates'}`,
    text: `Since your last summary, in Joinery:\n${lines.join('\n')}\n\nSign in to read them: ${publicUrl}${where}\n\nThis message says no more, to keep your information private. You can choose how and how often Joinery tells you things: ${publicUrl}/account/notifications`,
  };
}

/** A text message: the same words, shorter. */
export function smsText(message: Message): string {
  return message.text.split('\n\nThis message says no more')[0]!.replace(/\n+/g, ' ');
}
