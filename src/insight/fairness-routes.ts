// Fair case-finding pages. Managers and commissioners: /insight/fairness, each rule's bias table
// (aggregates only, small numbers suppressed). Anyone, signed in or not: /case-finding-rules, the
// public register of rules in plain English. A resident (or their proxy, ?for=): /my-record/case-finding,
// every time a rule found them, with the way to object (the consent module's objection).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError, requireRole, requireSignedIn, viewContext } from '../platform/http.ts';
import { SUPPRESSION_NOTE } from '../platform/disclosure.ts';
import type { SignedInUser } from '../auth/index.ts';
import { caseFindingObjectionsFor, categories, decideRecordAccess } from '../consent/index.ts';
import { ensureInsight } from './refresh.ts';
import { ensureCaseFindingRun } from './casefind.ts';
import { WARN_RATIO } from './fairness.ts';
import { caseFindingAbout, fairnessReport, ruleRegister } from './fairness-report.ts';

const count = (v: number | null): string => (v === null ? 'suppressed' : v.toLocaleString('en-GB'));
const num = (v: number | null, d: number): string =>
  v === null ? '' : v.toLocaleString('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });

/** The person a resident reads about: themselves or (?for=) someone they are a proxy for; decided by the access decision. */
async function subjectOf(
  app: FastifyInstance,
  request: FastifyRequest,
  user: SignedInUser,
): Promise<{ personId: string; seesEverything: boolean }> {
  const requested = (request.query as Record<string, unknown> | undefined)?.for;
  const personId = typeof requested === 'string' && requested !== '' ? requested : user.personId;
  if (!personId || !/^[A-Za-z0-9_-]{1,64}$/.test(personId)) throw new HttpError(403, 'This account is not linked to a person record.');
  const access = await decideRecordAccess(app.joinery.database.db, { actor: user, personId, categories, purpose: 'self', action: 'read' });
  if (access.byCategory.demographics.scope !== 'all')
    throw new HttpError(403, 'You can only see your own record, or that of someone you are a registered proxy for.');
  // What a rule found can come from any part of the record: shown only to a reader who may see every part.
  return { personId, seesEverything: categories.every((c) => access.byCategory[c].scope === 'all') };
}

export function registerFairnessRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  app.get('/insight/fairness', async (request, reply) => {
    requireRole(request, 'manager');
    await ensureInsight(db);
    await ensureCaseFindingRun(db);
    const report = await fairnessReport(db);
    return reply.view(
      'insight-fairness.njk',
      viewContext(request, reply, {
        title: 'Fair case-finding',
        suppressionNote: SUPPRESSION_NOTE,
        threshold: WARN_RATIO.toFixed(1),
        count,
        num,
        rules: report,
      }),
    );
  });

  app.get('/case-finding-rules', async (request, reply) => {
    const rules = await ruleRegister(db);
    return reply.view(
      'casefinding-register.njk',
      viewContext(request, reply, { title: 'The checks that find people who may need help', rules }),
    );
  });

  app.get('/my-record/case-finding', async (request, reply) => {
    const user = requireSignedIn(request);
    const { personId, seesEverything } = await subjectOf(app, request, user);
    const [found, objections] = await Promise.all([caseFindingAbout(db, personId), caseFindingObjectionsFor(db, [personId])]);
    const isSelf = personId === user.personId;
    return reply.view(
      'casefinding-found.njk',
      viewContext(request, reply, {
        title: isSelf ? 'Checks that found you' : 'Checks that found them',
        isSelf,
        found,
        seesEverything,
        objectedAt: objections.get(personId) ?? null,
        forSuffix: isSelf ? '' : `?for=${encodeURIComponent(personId)}`,
      }),
    );
  });
}
