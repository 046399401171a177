// The plans module's front door: its tables first (the migration registry reads them while the
// module's other files may still load); shared care plans and their goals, assessments against
// questionnaires and the outcomes framework they score, plans falling due for review, the
// module's pages, and its demo seeding. Other modules import only this file.
export { plansMigrations, type PlansTables } from './schema.ts';
// Plans, goals and assessments as tables to select from in another module's statement (the FHIR API; imports nothing).
export {
  goalsOfPlans,
  goalsTable,
  planLastEventAtSql,
  plansTable,
  plansWithMember,
  questionnaireResponsesTable,
  questionnairesTable,
} from './tables.ts';
// The outcomes framework next: it imports nothing, and insight reads it as its files load.
export { defaultNeedOutcomes } from './framework.ts';
export { addGoal, createPlan, PlanInputError, plansOf, updateGoalStatus, updatePlan } from './plans.ts';
export { AccessRefused, prepareAssessment, submitAssessment } from './assessments.ts';
export { flattenItems, isQuestion } from './questionnaire.ts';
export { activeFramework, ensurePlansDefaults, loadQuestionnaire } from './store.ts';
// Whose plan, its members, active plans, a person's operating model and a form by url (FHIR's plan writes).
export { activePlanIds, currentEnrolmentOf, isPlanMember, planPersonId, questionnaireIdByUrl } from './plan-reads.ts';
// Who is enrolled, has a lead practitioner or is on an active plan, as tables case-finding's rules embed.
export { peopleEnrolledIn, peopleOnActivePlans, peopleWithLeadPractitioner } from './plan-reads.ts';
export { plansDueForReview, REVIEW_DUE_WITHIN_DAYS, type PlansDue } from './reviews-due.ts';
export { registerPlansRoutes } from './routes.ts';
export { setUpPlansDemo } from './demo.ts';
export { seedPlans } from './seed.ts';
// The person's plans, goals, actions and reviews for their own copy of their record.
export { plansOfPersonForExport } from './person-export.ts';
// Outcomes people feel (issue 22): scores over time, goals' latest attainment and goal attainment scaling, and the models' names, for the insight refresh.
export { measurementRows, type MeasurementRow } from './measurements.ts';
export { latestGoalGas, latestGoalScores, operatingModelNames, type GoalGas, type GoalScore } from './outcome-sources.ts';
// Person-reported measures for each place goal: asked at reviews and beside service feedback (both pages here),
// read by insight.
export {
  checkPlaceGoalAnswers,
  latestPlaceGoalAnswers,
  PlaceGoalAnswerRefused,
  recordPlaceGoalAnswers,
  type PlaceGoalAnswer,
} from './place-goal-answers.ts';
