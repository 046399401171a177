// The linkage module's public surface: the record-linkage engine (link files, match one record,
// explain a pair), the person index in the database (every agency record linked to a person,
// with the one decision for each arriving record), and the `joinery link` / `joinery index`
// commands. Other modules import only this file.

// The module's tables first: the migration registry reads them while its other files may still load.
export { linkageMigrations, type LinkageTables } from './migrations.ts';
export type {
  BlockingRule,
  FieldModel,
  FieldName,
  FieldSpec,
  LevelParameters,
  LinkageModel,
  LinkRecord,
  ProgressCallback,
  ProgressEvent,
} from './types.ts';
export { FIELD_NAMES } from './types.ts';
export { linkRecords } from './link.ts';
export type { LinkOptions, LinkResult } from './link.ts';
export { explainPair } from './explain.ts';
export type { FieldExplanation, PairExplanation } from './explain.ts';
export { addRecord, createLinkageIndex, matchAndAdd, matchRecord } from './online.ts';
export type { CandidatePerson, LinkageIndex, MatchDecision, MatchResult } from './online.ts';
export { modelFromJson, modelToJson, probabilityFromWeight } from './model.ts';
export { isValidNhsNumber } from './normalise.ts';
export { runLinkJob, writeClusterCsv } from './job.ts';
export { registerLinkCommand } from './cli.ts';
export { registerIndexCommand, registerReviewLabelsCommand } from './cli.ts';
export { registerLinkageRoutes } from './routes.ts';

// The person index in the database.
export type { SourceFields } from './link-writes.ts';
export { bestValues, linkRecordsToKnownPersons } from './link-writes.ts';
export { decideLink, planLinks, receiveSourceRecord, storeAndLinkBatch, storeBatch, writeLinkPlan } from './receive.ts';
export type {
  BatchOutcome,
  BatchResult,
  IncomingRecord,
  LinkDecision,
  LinkPlan,
  ReceiveResult,
  RecordOutcome,
  StoredBatch,
} from './receive.ts';
export { indexPlaceRecords, pairwiseScores } from './person-index.ts';
export type { IndexOptions, IndexSummary } from './person-index.ts';
export { acquireIndexLock, forgetIndexState, indexState, withIndexLock } from './index-state.ts';
export type { IndexState } from './index-state.ts';
export { EARLIEST_BIRTH_DATE, isCalendarDate } from './normalise.ts';
// Which agencies hold a person's records, as functions and as fragments other modules embed in
// their own single statement (the access decision, the person page); and whether a person's
// identity is under review (what a data-quality reviewer's access turns on).
export {
  agenciesHoldingPerson,
  agenciesHoldingPersonSql,
  heldSourcesSql,
  organisationHoldsPerson,
  peopleHeldByOrganisationCount,
  peopleHeldByOrganisationKinds,
  personHeldByOrganisation,
  personHeldUnderSourceSql,
  recordsHeldOfPeople,
  recordsHeldOfPerson,
  recordsReceivedBySource,
  currentLinkOfRecord,
  currentPeopleOfRecords,
  currentRecordsUnderSource,
  peopleWithRecordUnder,
  sourceCountsOfPeople,
  peopleKnownToSources,
  recordCountsBySource,
  sourceRecordCount,
  type AgencyHolding,
  type HeldRecord,
} from './holdings.ts';
export { personInReviewQueue, personInUndoableMerge } from './identity-review.ts';
// Who was merged into a person, for a statement that shows the merge (the FHIR Patient's links).
export { peopleMergedInto, peopleMergedIntoSql } from './merge.ts';
