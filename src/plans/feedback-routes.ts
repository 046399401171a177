// Feedback on a service the person uses (/my-record/feedback), with the place's goals asked beside
// it: the person's rating and comment (kept by the records module) and what they say about each
// place goal (kept here, place-goal-answers.ts) are saved together, or neither. The person's
// earlier feedback and answers are shown back to them. The page is about the citizen themselves,
// or someone they are a registered proxy for (records decides which).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireSignedIn, viewContext } from '../platform/http.ts';
import { successFrom, withDone } from '../platform/done.ts';
import { agenciesHoldingPerson } from '../linkage/index.ts';
import { serviceById, servicesOfOrganisations } from '../network/index.ts';
import { citizenSubject, feedbackGivenBy, saveServiceFeedback } from '../records/index.ts';
import {
  AGREEMENT,
  checkPlaceGoalAnswers,
  PlaceGoalAnswerRefused,
  placeGoalAnswersOf,
  placeGoalQuestions,
  recordPlaceGoalAnswers,
} from './place-goal-answers.ts';
import { formBody, parseForm } from '../platform/forms.ts';
import { feedbackForm } from './forms.ts';

export function registerFeedbackRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  // Feedback on a service the person uses.
  async function renderFeedback(
    request: FastifyRequest,
    reply: FastifyReply,
    personId: string,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const agencies = await agenciesHoldingPerson(db, personId);
    const services = await servicesOfOrganisations(
      db,
      agencies.map((a) => a.organisationId),
    );
    const given = await feedbackGivenBy(db, personId);
    // The place's goals, asked beside the feedback; the person's answers so far shown back to them.
    const questions = await placeGoalQuestions(db);
    const statementOf = new Map(questions.map((q) => [q.code, q.statement]));
    const said = (await placeGoalAnswersOf(db, personId)).map((a) => ({
      statement: statementOf.get(a.code) ?? a.code,
      value: a.answer,
      at: a.answeredAt,
    }));
    const success = extra.error
      ? null
      : successFrom(request, {
          sent: {
            heading: 'Thank you: your feedback has been sent',
            text: 'You can see it below, with any feedback you have given before.',
          },
        });
    return reply.code(status).view(
      'records-feedback.njk',
      viewContext(request, reply, {
        title: 'Give feedback on a service',
        services,
        given,
        questions,
        agreement: AGREEMENT,
        said,
        success,
        ...extra,
      }),
    );
  }

  app.get('/my-record/feedback', async (request, reply) => {
    const user = requireSignedIn(request);
    return renderFeedback(request, reply, await citizenSubject(db, request, user, 'read'));
  });

  app.post('/my-record/feedback', async (request, reply) => {
    const user = requireSignedIn(request);
    const personId = await citizenSubject(db, request, user, 'write');
    const body = formBody(request);
    const form = parseForm(feedbackForm, body);
    if (!form.ok) {
      const [errorField, error] = Object.entries(form.fieldErrors)[0]!;
      return renderFeedback(request, reply, personId, { error, errorField, values: body }, 400);
    }
    const { rating, comment } = form.value;
    // Only a service of an organisation holding the person's records can be rated.
    const agencies = await agenciesHoldingPerson(db, personId);
    const service = await serviceById(db, form.value.service);
    if (!service || !agencies.some((a) => a.organisationId === service.organisationId))
      return renderFeedback(request, reply, personId, { error: 'Choose a service you use', errorField: 'service', values: body }, 400);
    let said: Array<[string, number]>;
    try {
      said = await checkPlaceGoalAnswers(db, form.value.said);
    } catch (error) {
      if (!(error instanceof PlaceGoalAnswerRefused)) throw error;
      return renderFeedback(request, reply, personId, { error: error.message, errorField: error.field, values: body }, 400);
    }
    // The feedback and what the person says about the place's goals are saved together, or neither.
    await db.transaction().execute(async (trx) => {
      await saveServiceFeedback(trx, { serviceId: service.id, personId, rating, comment });
      await recordPlaceGoalAnswers(trx, user, { personId, answers: said, source: 'feedback', serviceId: service.id });
    });
    return reply.redirect(withDone('/my-record/feedback', 'sent'));
  });
}
