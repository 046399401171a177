// The linkage review pages for the data quality role: the queue, one item with both records
// and the waterfall of the explanation, and the decision form.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import { decideAccess } from '../consent/index.ts';
import { decideReview, reviewItem, reviewPersons, reviewQueue, ReviewError } from './review.ts';
import { FIELD_LABELS, signedBits, waterfallChart } from './waterfall.ts';

function reviewIdParam(request: FastifyRequest): number {
  const raw = (request.params as { id?: string }).id ?? '';
  if (!/^[0-9]{1,15}$/.test(raw)) throw new HttpError(404, 'There is no such review item.');
  return Number(raw);
}

const REASONS: Record<string, string> = {
  uncertain: 'Scores in the uncertain band',
  ambiguous: 'Matches two people strongly',
};

export function registerLinkageRoutes(app: FastifyInstance): void {
  app.get('/linkage/review', async (request, reply) => {
    requireRole(request, 'data_quality');
    const db = app.joinery.database.db;
    const queue = await reviewQueue(db, 100);
    const decided = (request.query as { decided?: string }).decided;
    return reply.view('linkage-review.njk', viewContext(request, reply, {
      title: 'Records to review',
      queue,
      items: queue.items.map((item) => ({ ...item, reasonText: REASONS[item.reason] ?? item.reason, percent: (item.probability * 100).toFixed(1) })),
      decided: decided && /^(same|different)$/.test(decided) ? decided : null,
    }));
  });

  app.get('/linkage/review/:id', async (request, reply) => {
    const user = requireRole(request, 'data_quality');
    const db = app.joinery.database.db;
    const id = reviewIdParam(request);
    const persons = await reviewPersons(db, id);
    if (!persons) throw new HttpError(404, 'There is no such review item.');
    // The pair is compared, not opened: the candidate's fields other than names are shown only as
    // how they compare. Each look is still an access decision for identity review, audited.
    for (const personId of persons) {
      const decision = await decideAccess(db, { actor: user, personId, category: 'demographics', purpose: 'identity_review', action: 'read' });
      if (!decision.allowed) throw new HttpError(403, decision.reason);
    }
    const item = await reviewItem(db, id);
    if (!item) throw new HttpError(404, 'There is no such review item.');
    return reply.view('linkage-review-item.njk', viewContext(request, reply, {
      title: `Review ${item.id}: are these the same person?`,
      item,
      rows: item.left.fields.map((field, i) => ({ name: field.name, left: field.value, right: item.right.fields[i]?.value ?? '' })),
      chart: waterfallChart({ id: `waterfall-${item.id}`, explanation: item.explanation }),
      weights: [
        { field: 'Starting odds (prior)', level: '', bits: signedBits(item.explanation.prior) },
        ...item.explanation.fields.map((field) => ({
          field: FIELD_LABELS[field.field] ?? field.field,
          level: field.level === 'null' ? 'missing on one side' : field.level.replace(/_/g, ' '),
          bits: signedBits(field.weight),
        })),
        ...(item.explanation.personCheck
          ? [{ field: 'Person check', level: item.explanation.personCheck.reason, bits: signedBits(item.explanation.total - item.explanation.personCheck.uncapped) }]
          : []),
        { field: 'Match weight', level: '', bits: signedBits(item.explanation.total) },
      ],
      percent: (item.explanation.probability * 100).toFixed(1),
      errors: null,
    }));
  });

  app.post('/linkage/review/:id', async (request, reply) => {
    const user = requireRole(request, 'data_quality');
    const db = app.joinery.database.db;
    const id = reviewIdParam(request);
    const body = (request.body ?? {}) as { decision?: unknown; reason?: unknown };
    const decision = body.decision === 'same' ? 'same' : body.decision === 'different' ? 'different' : null;
    if (!decision) throw new HttpError(400, 'Choose "Same person" or "Not the same person".');
    const reason = (typeof body.reason === 'string' ? body.reason : '').trim().slice(0, 500);
    try {
      await decideReview(db, id, decision, { id: user.id, role: user.role, organisationId: user.organisationId }, reason || (decision === 'same' ? 'same person' : ''));
    } catch (error) {
      if (error instanceof ReviewError) throw new HttpError(error.status, error.message);
      throw error;
    }
    return reply.redirect(`/linkage/review?decided=${decision}`, 303);
  });
}
