// The budget pages' forms as Zod schemas, one per form, checked by the routes with parseForm:
// each checks the form's shape (amounts in pounds, shares as percentages, a choice from the
// options, text lengths) with the message the person filling it in reads. What depends on the
// records (dates in order, shares adding up, who may hold or decide, is the partner real) and
// whether this user may act at all, the use cases decide, with their own messages.
import { z } from 'zod';
import { choiceOf, poundsAsPence, ticked, trimmedText } from '../platform/forms.ts';
import type { Share } from './funding.ts';

const ID = /^[A-Za-z0-9_-]{1,80}$/;

/** Text up to `max` characters (what it must say, the use case checks). */
const upTo = (max: number, message: string) => trimmedText.pipe(z.string().max(max, message));

const SHARES_MESSAGE = 'Enter each share as a percentage, for example 60 or 33.33';

/** Each partner's share (`share-<partner id>`, a percentage such as "60" or "33.33%") as basis points; blank or 0 is no share. */
function sharesOf(form: Record<string, unknown>, partnerIds: readonly string[]): Share[] | null {
  const shares: Share[] = [];
  for (const partnerId of partnerIds) {
    const raw = form[`share-${partnerId}`];
    const text = (typeof raw === 'string' ? raw.trim() : '').replace(/%$/, '');
    if (text === '' || Number(text) === 0) continue;
    if (!/^\d{1,3}(\.\d{1,2})?$/.test(text)) return null;
    shares.push({ partnerId, basisPoints: Math.round(Number(text) * 100) });
  }
  return shares;
}

/** "Record a funding decision" for a person, with each funding partner's share of the weekly cost. */
export function fundingDecisionForm(partnerIds: readonly string[]) {
  return z
    .looseObject({
      package: upTo(300, 'Describe the care package in 300 characters or fewer'),
      weekly: poundsAsPence('Enter the weekly cost in pounds, for example 850 or 912.50'),
      starts: trimmedText,
      ends: trimmedText,
      evidence: upTo(2000, 'Write the evidence in 2,000 characters or fewer'),
      decided: trimmedText,
    })
    .transform((form, ctx) => {
      const shares = sharesOf(form, partnerIds);
      if (!shares) {
        ctx.addIssue({ code: 'custom', path: ['shares'], message: SHARES_MESSAGE });
        return z.NEVER;
      }
      return {
        package: form.package,
        weeklyPence: form.weekly,
        startsOn: form.starts,
        endsOn: form.ends,
        shares,
        evidence: form.evidence,
        decidedOn: form.decided,
      };
    });
}

/** "Dispute our share" of a funding decision: which partner's share, and why. */
export const disputeForm = z.object({
  partner: trimmedText,
  reason: upTo(2000, 'Say why in 2,000 characters or fewer'),
});

/** Resolving a dispute: the decision stands, or changes to new shares (for the partners the form lists), and why. */
export const resolutionForm = z
  .looseObject({
    outcome: choiceOf('Choose whether the decision stands or changes', ['upheld', 'changed']),
    resolution_reason: upTo(2000, 'Say why in 2,000 characters or fewer'),
    decided: trimmedText,
    partners: trimmedText,
  })
  .transform((form, ctx) => {
    const outcome = form.outcome as 'upheld' | 'changed';
    const shares =
      outcome === 'changed'
        ? sharesOf(
            form,
            form.partners
              .slice(0, 500)
              .split(',')
              .filter((p) => ID.test(p)),
          )
        : undefined;
    if (shares === null) {
      ctx.addIssue({ code: 'custom', path: ['shares'], message: SHARES_MESSAGE });
      return z.NEVER;
    }
    return { outcome, reason: form.resolution_reason, decidedOn: form.decided, shares };
  });

/** Appointing a colleague as a budget holder of a partner (the use case checks both are real and theirs). */
export const appointHolderForm = z.object({ partnerId: trimmedText, practitionerId: trimmedText });

/** Ending a budget holder's appointment: the partner it is for. */
export const endHolderForm = z.object({ partnerId: trimmedText });

/** A manager's proposed change to a pooled fund: a partner's contribution, or an allocation to a service, pathway or locality. */
export const fundChangeForm = z
  .object({
    fund: trimmedText,
    kind: trimmedText.transform((kind): 'contribution' | 'allocation' => (kind === 'contribution' ? 'contribution' : 'allocation')),
    target: trimmedText,
    partner: trimmedText,
    year: trimmedText,
    amount: poundsAsPence('Enter an amount in pounds, for example 25000 or -1500.50', { digits: 10, negative: true }),
    reason: upTo(500, 'Say why in 500 characters or fewer'),
  })
  .transform((form, ctx) => {
    const [targetKind, targetId] = form.target.includes(':') ? (form.target.split(/:(.*)/s) as [string, string]) : ['', ''];
    if (form.kind === 'allocation' && !['service', 'pathway', 'locality'].includes(targetKind)) {
      ctx.addIssue({ code: 'custom', path: ['target'], message: 'Choose what the money is allocated to' });
      return z.NEVER;
    }
    return {
      fundId: form.fund,
      financialYear: Number(form.year),
      kind: form.kind,
      partnerId: form.kind === 'contribution' ? form.partner : null,
      targetKind: form.kind === 'allocation' ? (targetKind as 'service' | 'pathway' | 'locality') : null,
      targetId: form.kind === 'allocation' ? targetId : null,
      amountPence: form.amount,
      reason: form.reason,
    };
  });

/** Approving or rejecting a proposed change (the two buttons; anything but approval is a rejection, as it always was). */
export const changeDecisionForm = z.object({
  decision: trimmedText.transform((decision) => (decision === 'approved' ? 'approved' : 'rejected')),
});

/** "Set up a household budget": how much, what for, and from when. */
export const householdBudgetForm = z.object({
  amount: poundsAsPence('Enter an amount in pounds, for example 4800 or 120.50'),
  purpose: upTo(300, 'Say what the budget is for in 300 characters or fewer'),
  agreed: trimmedText,
});

/** An adult's agreement to the household budget, or its withdrawal, and how they said so. */
export const householdBudgetAgreementForm = z.object({
  member: trimmedText.pipe(z.string().regex(ID, 'Choose whose agreement this is')),
  agrees: ticked(),
  evidence: upTo(500, 'Say how the person told you in 500 characters or fewer'),
});

/** Spending from the household budget: how much, on what, and when. */
export const householdSpendForm = z.object({
  spend_amount: poundsAsPence('Enter an amount in pounds, for example 4800 or 120.50'),
  description: upTo(300, 'Say what the money was spent on in 300 characters or fewer'),
  on: trimmedText,
});
