// Public API of the record-linkage engine.

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
