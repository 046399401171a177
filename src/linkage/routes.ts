// The data-quality pages: the review queue, one item with both records and the waterfall of the
// explanation, the decision form, merging the two persons of an item (with a confirmation page),
// a decided item read-only, and the merge history with un-merge. Reviewers never open a person
// page: every name shown passes the access decision for identity review (people in the queue, or
// in a merge that can still be undone), and of a candidate only names are shown. That decision
// and its record are consent's, handed in by app.ts (consent sits above linkage: its access
// facts read linkage's person index).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import type { SignedInUser } from '../auth/index.ts';
import { personById } from '../people/index.ts';
import {
  decidedReview,
  decideReview,
  mergeFromReview,
  recentDecisions,
  reviewItem,
  reviewPersons,
  reviewQueue,
  reviewStatus,
  ReviewError,
  type ReviewItem,
} from './review.ts';
import { MergeError, mergeHistoryOf, mergeOfReview, mergeSummary, unmerge, type MergeSummary } from './merge.ts';
import { FIELD_LABELS, levelInWords, signedBits, waterfallChart } from './waterfall.ts';
import { writtenDate, writtenDay } from '../platform/dates.ts';
import { formBody, parseForm, type FormBody, type FormError } from '../platform/forms.ts';
import { mergeForm, REVIEW_DECISION_FIELD_IDS, reviewDecisionForm, undoMergeForm } from './forms.ts';

function numberParam(request: FastifyRequest, name: string, notFound: string): number {
  const raw = (request.params as Record<string, string | undefined>)[name] ?? '';
  if (!/^[0-9]{1,15}$/.test(raw)) throw new HttpError(404, notFound);
  return Number(raw);
}

const PERSON_ID = /^[A-Za-z0-9_.:-]{1,100}$/;

const REASONS: Record<string, string> = {
  uncertain: 'Scores in the uncertain band',
  ambiguous: 'Matches two people strongly',
};

const DECISIONS: Record<string, string> = {
  same: 'Same person',
  different: 'Not the same person',
  withdrawn: 'Answered by another review of the same record',
};

const timeFormat = new Intl.DateTimeFormat('en-GB', { hour: 'numeric', minute: '2-digit', hour12: true, timeZone: 'Europe/London' });

/** "7 November 2026 at 2:05pm". */
function writtenWhen(at: Date | null): string {
  return at ? `${writtenDate(at)} at ${timeFormat.format(at).replace(/\s/g, '').toLowerCase()}` : '';
}

/** The reason as typed, to fill the form in again (a repeated field counts as empty). */
const typedReason = (body: FormBody): string => (typeof body.reason === 'string' ? body.reason : '');

/**
 * Consent's access decision and its record of what was shown, as these pages use them: may the
 * reviewer read a person's demographics for identity review, and the "disclose" event a page
 * writes for the person's "who looked". app.ts passes consent's decideAccess and recordDisclosure.
 */
export interface IdentityReviewAccess {
  decideAccess(
    db: Kysely<Database>,
    request: { actor: SignedInUser; personId: string; category: 'demographics'; purpose: 'identity_review'; action: 'read' },
  ): Promise<{ allowed: boolean; reason: string }>;
  recordDisclosure(
    db: Kysely<Database>,
    actor: SignedInUser,
    personId: string,
    purpose: 'identity_review',
    shown: Iterable<'demographics'>,
    surface: string,
  ): Promise<void>;
}

export function registerLinkageRoutes(app: FastifyInstance, { decideAccess, recordDisclosure }: IdentityReviewAccess): void {
  const db = app.joinery.database.db;

  /**
   * The names of these persons where the access decision for identity review allows (each look
   * decided and audited, and what was shown recorded for the person's "who looked"); null where not.
   */
  async function namesFor(user: SignedInUser, personIds: string[], surface: string): Promise<Map<string, string | null>> {
    const names = new Map<string, string | null>();
    for (const personId of new Set(personIds)) {
      const decision = await decideAccess(db, {
        actor: user,
        personId,
        category: 'demographics',
        purpose: 'identity_review',
        action: 'read',
      });
      if (!decision.allowed) {
        names.set(personId, null);
        continue;
      }
      const person = await personById(db, personId);
      names.set(personId, person ? `${person.givenName} ${person.familyName}`.trim() : null);
      if (person) await recordDisclosure(db, user, personId, 'identity_review', ['demographics'], surface);
    }
    return names;
  }

  /** Both persons of an open item may be compared: each look is an access decision for identity review, audited. */
  async function openItem(user: SignedInUser, id: number): Promise<ReviewItem> {
    const persons = await reviewPersons(db, id);
    if (!persons) throw new HttpError(404, 'There is no such review item.');
    for (const personId of persons) {
      const decision = await decideAccess(db, {
        actor: user,
        personId,
        category: 'demographics',
        purpose: 'identity_review',
        action: 'read',
      });
      if (!decision.allowed) throw new HttpError(403, decision.reason);
    }
    const item = await reviewItem(db, id);
    if (!item) throw new HttpError(404, 'There is no such review item.');
    for (const personId of persons)
      await recordDisclosure(db, user, personId, 'identity_review', ['demographics'], 'the linkage review page');
    return item;
  }

  function itemView(item: ReviewItem) {
    return {
      item,
      rows: item.left.fields.map((field, i) => ({
        name: field.name,
        left: field.name === 'Date of birth' ? writtenDay(field.value) : field.value,
        right: item.right.fields[i]?.value ?? '',
      })),
      chart: waterfallChart({ id: `waterfall-${item.id}`, explanation: item.explanation }),
      weights: [
        { field: 'Starting odds (prior)', level: '', bits: signedBits(item.explanation.prior) },
        ...item.explanation.fields.map((field) => ({
          field: FIELD_LABELS[field.field] ?? field.field,
          level: levelInWords(field.level),
          bits: signedBits(field.weight),
        })),
        ...(item.explanation.personCheck
          ? [
              {
                field: 'Person check',
                level: item.explanation.personCheck.reason,
                bits: signedBits(item.explanation.total - item.explanation.personCheck.uncapped),
              },
            ]
          : []),
        { field: 'Match weight', level: '', bits: signedBits(item.explanation.total) },
      ],
      percent: (item.explanation.probability * 100).toFixed(1),
      canMerge:
        item.status === 'open' && item.left.personId !== '' && item.left.personId !== item.right.personId && item.otherRecordsOfCurrent > 0,
    };
  }

  async function renderDecided(request: FastifyRequest, reply: FastifyReply, id: number, notice: string | null = null) {
    const decided = await decidedReview(db, id);
    if (!decided) throw new HttpError(404, 'There is no such review item.');
    const merge = await mergeOfReview(db, id);
    return reply.view(
      'linkage-review-decided.njk',
      viewContext(request, reply, {
        title: `Review ${decided.id}: ${DECISIONS[decided.status] ?? decided.status}`,
        decided,
        decision: DECISIONS[decided.status] ?? decided.status,
        reasonText: REASONS[decided.reason] ?? decided.reason,
        percent: (decided.probability * 100).toFixed(1),
        added: writtenDate(decided.createdAt),
        when: writtenWhen(decided.decidedAt),
        merge,
        notice,
      }),
    );
  }

  app.get('/linkage/review', async (request, reply) => {
    requireRole(request, 'data_quality');
    const [queue, recent] = await Promise.all([reviewQueue(db, 100), recentDecisions(db, 10)]);
    const query = request.query as { decided?: string; item?: string };
    const decided = query.decided && /^(same|different)$/.test(query.decided) ? query.decided : null;
    return reply.view(
      'linkage-review.njk',
      viewContext(request, reply, {
        title: 'Records to review',
        queue,
        items: queue.items.map((item) => ({
          ...item,
          reasonText: REASONS[item.reason] ?? item.reason,
          percent: (item.probability * 100).toFixed(1),
        })),
        recent: recent.map((r) => ({ ...r, decision: DECISIONS[r.status] ?? r.status, when: writtenWhen(r.decidedAt) })),
        decided,
        decidedItem: decided && query.item && /^[0-9]{1,15}$/.test(query.item) ? Number(query.item) : null,
      }),
    );
  });

  app.get('/linkage/review/:id', async (request, reply) => {
    const user = requireRole(request, 'data_quality');
    const id = numberParam(request, 'id', 'There is no such review item.');
    const status = await reviewStatus(db, id);
    if (!status) throw new HttpError(404, 'There is no such review item.');
    // A decided item is a record of the decision; its people have left the queue, so neither is shown.
    if (status !== 'open')
      return renderDecided(
        request,
        reply,
        id,
        (request.query as { already?: string }).already
          ? 'Someone else decided this item before your decision was saved. Their decision stands.'
          : null,
      );
    const item = await openItem(user, id);
    return reply.view(
      'linkage-review-item.njk',
      viewContext(request, reply, { title: `Review ${item.id}: are these the same person?`, ...itemView(item), errors: null, values: {} }),
    );
  });

  app.post('/linkage/review/:id', async (request, reply) => {
    const user = requireRole(request, 'data_quality');
    const id = numberParam(request, 'id', 'There is no such review item.');
    const body = formBody(request);
    // The form again, with what was typed and the error: never a dead end. openItem decides
    // whether the reviewer may see the item's people before anything of theirs is drawn.
    const again = async (errors: FormError[]) => {
      const item = await openItem(user, id);
      return reply.code(400).view(
        'linkage-review-item.njk',
        viewContext(request, reply, {
          title: `Error: Review ${item.id}: are these the same person?`,
          ...itemView(item),
          values: { reason: typedReason(body) },
          errors,
        }),
      );
    };
    const form = parseForm(reviewDecisionForm, body);
    if (!form.ok)
      return again(form.errors.map((e) => ({ ...e, href: `#${REVIEW_DECISION_FIELD_IDS[e.href.slice(1)] ?? e.href.slice(1)}` })));
    const { decision, reason } = form.value;
    try {
      await decideReview(db, id, decision, { id: user.id, role: user.role, organisationId: user.organisationId }, reason);
    } catch (error) {
      if (!(error instanceof ReviewError)) throw error;
      if (error.status === 409) return reply.redirect(`/linkage/review/${id}?already=1`, 303);
      if (error.status !== 400) throw new HttpError(error.status, error.message);
      return again([{ text: error.message, href: '#reason' }]);
    }
    return reply.redirect(`/linkage/review?decided=${decision}&item=${id}`, 303);
  });

  // ---------------------------------------------------------------------------------------------
  // Merging the two persons of an item: what will happen, then the merge.

  async function renderMergeConfirm(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    id: number,
    values: { reason: string },
    errors: Array<{ text: string; href: string }> | null,
  ) {
    const item = await openItem(user, id);
    if (!itemView(item).canMerge) return reply.redirect(`/linkage/review/${id}`, 303);
    const names = await namesFor(user, [item.left.personId, item.right.personId], 'the merge confirmation page');
    return reply.code(errors ? 400 : 200).view(
      'linkage-merge-confirm.njk',
      viewContext(request, reply, {
        title: `${errors ? 'Error: ' : ''}Merge these two people?`,
        item,
        current: names.get(item.left.personId) ?? 'the person this record is linked to now',
        candidate: names.get(item.right.personId) ?? 'the candidate',
        records: item.otherRecordsOfCurrent + 1,
        values,
        errors,
      }),
    );
  }

  app.get('/linkage/review/:id/merge', async (request, reply) => {
    const user = requireRole(request, 'data_quality');
    const id = numberParam(request, 'id', 'There is no such review item.');
    const status = await reviewStatus(db, id);
    if (!status) throw new HttpError(404, 'There is no such review item.');
    if (status !== 'open') return reply.redirect(`/linkage/review/${id}`, 303);
    return renderMergeConfirm(request, reply, user, id, { reason: '' }, null);
  });

  app.post('/linkage/review/:id/merge', async (request, reply) => {
    const user = requireRole(request, 'data_quality');
    const id = numberParam(request, 'id', 'There is no such review item.');
    const body = formBody(request);
    const form = parseForm(mergeForm, body);
    if (!form.ok) return renderMergeConfirm(request, reply, user, id, { reason: typedReason(body) }, form.errors);
    const { reason } = form.value;
    let mergeId: number;
    try {
      ({ mergeId } = await mergeFromReview(db, id, { id: user.id, role: user.role, organisationId: user.organisationId }, reason));
    } catch (error) {
      if (!(error instanceof ReviewError)) throw error;
      if (error.status === 400) return renderMergeConfirm(request, reply, user, id, { reason }, [{ text: error.message, href: '#reason' }]);
      if (error.status === 409 && /already been decided/.test(error.message)) return reply.redirect(`/linkage/review/${id}?already=1`, 303);
      throw new HttpError(error.status, error.message);
    }
    return reply.redirect(`/linkage/merges/${mergeId}?done=merged`, 303);
  });

  // ---------------------------------------------------------------------------------------------
  // The merge history: one merge, a person's merges, and undoing a merge.

  async function mergeView(user: SignedInUser, merge: MergeSummary, surface: string) {
    const names = await namesFor(user, [merge.survivorId, merge.mergedId], surface);
    return {
      merge,
      survivor: names.get(merge.survivorId) ?? null,
      merged: names.get(merge.mergedId) ?? null,
      mergedWhen: writtenWhen(merge.mergedAt),
      unmergedWhen: writtenWhen(merge.unmergedAt),
    };
  }

  async function mergeFor(request: FastifyRequest): Promise<MergeSummary> {
    const merge = await mergeSummary(db, numberParam(request, 'id', 'There is no such merge.'));
    if (!merge) throw new HttpError(404, 'There is no such merge.');
    return merge;
  }

  app.get('/linkage/merges/:id', async (request, reply) => {
    const user = requireRole(request, 'data_quality');
    const merge = await mergeFor(request);
    const done = (request.query as { done?: string }).done;
    const view = await mergeView(user, merge, 'the merge history');
    return reply.view(
      'linkage-merge.njk',
      viewContext(request, reply, {
        title: `Merge ${merge.id}`,
        ...view,
        done: done === 'merged' || done === 'undone' ? done : null,
      }),
    );
  });

  async function renderUndoConfirm(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    merge: MergeSummary,
    values: { reason: string },
    errors: Array<{ text: string; href: string }> | null,
  ) {
    const view = await mergeView(user, merge, 'the un-merge confirmation page');
    return reply.code(errors ? 400 : 200).view(
      'linkage-unmerge-confirm.njk',
      viewContext(request, reply, {
        title: `${errors ? 'Error: ' : ''}Undo merge ${merge.id}?`,
        ...view,
        values,
        errors,
      }),
    );
  }

  app.get('/linkage/merges/:id/undo', async (request, reply) => {
    const user = requireRole(request, 'data_quality');
    const merge = await mergeFor(request);
    if (merge.unmergedAt) return reply.redirect(`/linkage/merges/${merge.id}`, 303);
    return renderUndoConfirm(request, reply, user, merge, { reason: '' }, null);
  });

  app.post('/linkage/merges/:id/undo', async (request, reply) => {
    const user = requireRole(request, 'data_quality');
    const merge = await mergeFor(request);
    const body = formBody(request);
    const form = parseForm(undoMergeForm, body);
    if (!form.ok) return renderUndoConfirm(request, reply, user, merge, { reason: typedReason(body) }, form.errors);
    const { reason } = form.value;
    try {
      await unmerge(db, merge.id, { id: user.id, role: user.role, organisationId: user.organisationId }, reason);
    } catch (error) {
      // Undone already (by someone else, or a second click): the merge page says by whom and when.
      if (error instanceof MergeError) return reply.redirect(`/linkage/merges/${merge.id}`, 303);
      throw error;
    }
    return reply.redirect(`/linkage/merges/${merge.id}?done=undone`, 303);
  });

  app.get('/linkage/people/:personId/merges', async (request, reply) => {
    const user = requireRole(request, 'data_quality');
    const personId = (request.params as { personId?: string }).personId ?? '';
    if (!PERSON_ID.test(personId)) throw new HttpError(404, 'There is no such person record.');
    const decision = await decideAccess(db, {
      actor: user,
      personId,
      category: 'demographics',
      purpose: 'identity_review',
      action: 'read',
    });
    if (!decision.allowed) throw new HttpError(403, `You cannot see this person's merge history: ${decision.reason}.`);
    const merges = await mergeHistoryOf(db, personId);
    const names = await namesFor(user, [personId, ...merges.flatMap((m) => [m.survivorId, m.mergedId])], 'the merge history');
    return reply.view(
      'linkage-merge-history.njk',
      viewContext(request, reply, {
        title: `Merge history: ${names.get(personId) ?? 'person record'}`,
        name: names.get(personId) ?? 'this person',
        merges: merges.map((m) => ({
          ...m,
          mergedWhen: writtenWhen(m.mergedAt),
          unmergedWhen: writtenWhen(m.unmergedAt),
          survivor: names.get(m.survivorId) ?? 'a person record not shown',
          merged: names.get(m.mergedId) ?? 'a person record not shown',
        })),
      }),
    );
  });
}
