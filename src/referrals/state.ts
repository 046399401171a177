// The life of a referral as a small pure function: which actions are allowed in which state,
// by whom, and what each one needs. Every step is recorded as an event; nothing else moves a
// referral. Closed loop: a referral can only leave the receiving service's hands by being
// accepted, handed on (declined WITH an onward service) or cancelled with a reason.

export const referralStatuses = ['sent', 'received', 'accepted', 'declined', 'in_progress', 'completed', 'cancelled'] as const;
export type ReferralStatus = (typeof referralStatuses)[number];

export const openStatuses: readonly ReferralStatus[] = ['sent', 'received', 'accepted', 'in_progress'];
export const closedStatuses: readonly ReferralStatus[] = ['declined', 'completed', 'cancelled'];

export const urgencies = ['routine', 'soon', 'urgent'] as const;
export type Urgency = (typeof urgencies)[number];

/** Who is acting, relative to this referral. */
export type Party = 'referrer' | 'receiver' | 'person';

export type ReferralAction =
  | { kind: 'acknowledge' }
  | { kind: 'accept' }
  | { kind: 'decline'; reason: string; onwardServiceId: string | null }
  | { kind: 'start' }
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
    /** Decline only: the onward referral to create and link. */
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

export const actionLabels: Record<ActionKind, string> = {
  acknowledge: 'Acknowledged',
  accept: 'Accepted',
  decline: 'Declined and handed on',
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
    return { ok: false, error: `A referral that is ${statusLabels[state.status].toLowerCase()} cannot be ${actionLabels[action.kind].toLowerCase()}` };
  }
  if (action.kind === 'decline') {
    if (action.reason.trim().length === 0) return { ok: false, error: 'Say why your service cannot help', field: 'reason' };
    if (!action.onwardServiceId) return { ok: false, error: 'Choose a service to hand this referral on to, so nobody is dropped', field: 'onward' };
    if (action.onwardServiceId === state.serviceId) return { ok: false, error: 'Choose a different service to hand this referral on to', field: 'onward' };
    return { ok: true, status: 'declined', closes: true, onwardServiceId: action.onwardServiceId };
  }
  if (action.kind === 'cancel' && action.reason.trim().length === 0) return { ok: false, error: 'Say why the referral is being cancelled', field: 'reason' };
  if (action.kind === 'assign' && !action.practitionerId) return { ok: false, error: 'Choose a practitioner', field: 'practitioner' };
  const status = rule.to ?? state.status;
  return { ok: true, status, closes: !isOpen(status), onwardServiceId: null };
}
