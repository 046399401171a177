// The life of a referral as a small pure function: which actions are allowed in which state,
// by whom, and what each one needs. Every step is recorded as an event; nothing else moves a
// referral. Closed loop: a referral can only leave the receiving service's hands by being
// accepted, handed on (declined with an onward service), declined with a reason the referrer
// and the person see (when there is nowhere to hand it on to, for example the person said no),
// or cancelled with a reason.

export const referralStatuses = ['sent', 'received', 'accepted', 'declined', 'in_progress', 'completed', 'cancelled'] as const;
export type ReferralStatus = (typeof referralStatuses)[number];

export const openStatuses: readonly ReferralStatus[] = ['sent', 'received', 'accepted', 'in_progress'];
export const closedStatuses: readonly ReferralStatus[] = ['declined', 'completed', 'cancelled'];

export const urgencies = ['routine', 'soon', 'urgent'] as const;
export type Urgency = (typeof urgencies)[number];

/** Who is acting, relative to this referral. */
export type Party = 'referrer' | 'receiver' | 'person';

/** How a first contact was made. */
export const contactMethods = ['phone', 'visit', 'letter', 'video', 'other'] as const;
export type ContactMethod = (typeof contactMethods)[number];
export const contactMethodLabels: Record<ContactMethod, string> = {
  phone: 'Phone call',
  visit: 'Visit in person',
  letter: 'Letter',
  video: 'Video call',
  other: 'Another way',
};
export function isContactMethod(value: unknown): value is ContactMethod {
  return typeof value === 'string' && (contactMethods as readonly string[]).includes(value);
}

/** The first contact as the receiving service recorded it: a UK calendar date (YYYY-MM-DD) and how. */
export interface FirstContact {
  on: string;
  method: ContactMethod;
}

export type ReferralAction =
  | { kind: 'acknowledge' }
  /** eligibilityNote: why the service accepts someone outside who it says it is for. */
  | { kind: 'accept'; eligibilityNote?: string }
  /** Either hand on to another service, or (notHandedOn) decline with the reason alone. */
  | { kind: 'decline'; reason: string; onwardServiceId: string | null; notHandedOn?: boolean }
  | { kind: 'start'; contact: FirstContact }
  | { kind: 'complete'; note?: string }
  | { kind: 'cancel'; reason: string }
  | { kind: 'assign'; practitionerId: string };

export type ActionKind = ReferralAction['kind'];
export const actionKinds: readonly ActionKind[] = ['acknowledge', 'accept', 'decline', 'start', 'complete', 'cancel', 'assign'];

export interface ReferralState {
  status: ReferralStatus;
  /** The service the referral is with (an onward route must go somewhere else). */
  serviceId: string;
}

export type TransitionResult =
  | {
      ok: true;
      status: ReferralStatus;
      /** The receiving team's relationship with the person ends (the referral has closed). */
      closes: boolean;
      /** Decline only: the onward referral to create and link (null: declined without handing on). */
      onwardServiceId: string | null;
    }
  | { ok: false; error: string; field?: string };

/** Statuses each action may start from, and who may take it. */
const rules: Record<ActionKind, { from: readonly ReferralStatus[]; by: readonly Party[]; to: ReferralStatus | null }> = {
  acknowledge: { from: ['sent'], by: ['receiver'], to: 'received' },
  accept: { from: ['received'], by: ['receiver'], to: 'accepted' },
  decline: { from: ['sent', 'received'], by: ['receiver'], to: 'declined' },
  start: { from: ['accepted'], by: ['receiver'], to: 'in_progress' },
  complete: { from: ['in_progress'], by: ['receiver'], to: 'completed' },
  cancel: { from: openStatuses, by: ['referrer', 'receiver', 'person'], to: 'cancelled' },
  // Assigning keeps the status: it is recorded as a step of the history all the same.
  assign: { from: openStatuses, by: ['receiver'], to: null },
};

/** What one step of the history is called; a decline says whether it was handed on. */
export function historyLabel(action: string, handedOn: boolean): string {
  if (action === 'send') return 'Sent';
  if (action === 'decline') return handedOn ? 'Declined and handed on' : 'Declined, not handed on';
  return actionLabels[action as ActionKind] ?? action;
}

export const actionLabels: Record<ActionKind, string> = {
  acknowledge: 'Acknowledged',
  accept: 'Accepted',
  decline: 'Declined',
  start: 'First contact made',
  complete: 'Completed',
  cancel: 'Cancelled',
  assign: 'Assigned to a practitioner',
};

export const statusLabels: Record<ReferralStatus, string> = {
  sent: 'Sent',
  received: 'Acknowledged',
  accepted: 'Accepted',
  declined: 'Declined',
  in_progress: 'In progress',
  completed: 'Completed',
  cancelled: 'Cancelled',
};

export function isOpen(status: ReferralStatus): boolean {
  return openStatuses.includes(status);
}

export function isReferralStatus(value: unknown): value is ReferralStatus {
  return typeof value === 'string' && (referralStatuses as readonly string[]).includes(value);
}

export function isUrgency(value: unknown): value is Urgency {
  return typeof value === 'string' && (urgencies as readonly string[]).includes(value);
}

/** The actions a party could take now (for showing buttons). */
export function availableActions(status: ReferralStatus, party: Party): ActionKind[] {
  return actionKinds.filter((k) => rules[k].from.includes(status) && rules[k].by.includes(party));
}

/** Applies one action; refuses anything not allowed, with a message for the person acting. */
export function transition(state: ReferralState, action: ReferralAction, party: Party): TransitionResult {
  const rule = rules[action.kind];
  if (!rule.by.includes(party)) return { ok: false, error: `Only the ${rule.by.join(' or ')} can do that` };
  if (!rule.from.includes(state.status)) {
    return {
      ok: false,
      error: `A referral that is ${statusLabels[state.status].toLowerCase()} cannot be ${actionLabels[action.kind].toLowerCase()}`,
    };
  }
  if (action.kind === 'decline') {
    if (action.reason.trim().length === 0) return { ok: false, error: 'Say why your service cannot help', field: 'reason' };
    if (action.notHandedOn) return { ok: true, status: 'declined', closes: true, onwardServiceId: null };
    if (!action.onwardServiceId)
      return {
        ok: false,
        error: 'Choose a service to hand this referral on to, so nobody is dropped, or choose not to hand it on',
        field: 'onward',
      };
    if (action.onwardServiceId === state.serviceId)
      return { ok: false, error: 'Choose a different service to hand this referral on to', field: 'onward' };
    return { ok: true, status: 'declined', closes: true, onwardServiceId: action.onwardServiceId };
  }
  if (action.kind === 'cancel' && action.reason.trim().length === 0)
    return { ok: false, error: 'Say why the referral is being cancelled', field: 'reason' };
  if (action.kind === 'assign' && !action.practitionerId) return { ok: false, error: 'Choose a practitioner', field: 'practitioner' };
  if (action.kind === 'start') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(action.contact.on)) return { ok: false, error: 'Enter the date of first contact', field: 'contact' };
    if (!isContactMethod(action.contact.method)) return { ok: false, error: 'Choose how the first contact was made', field: 'method' };
  }
  const status = rule.to ?? state.status;
  return { ok: true, status, closes: !isOpen(status), onwardServiceId: null };
}
