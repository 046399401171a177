// Learns a linkage model from the data alone: blocking rules from the mapped
// fields, u from random pairs, m and the prior by EM on (a sample of) the blocked pairs.

import { blockingPlan, blockingRulesFor, buildBlockIndex, compileRules, finishBlockIndex, newBlockOf, pairsInBlocks } from './blocking.ts';
import type { BlockIndex } from './blocking.ts';
import { levelLabels } from './comparisons.ts';
import type { LinkPool } from './link-pool.ts';
import type { PreparedTable } from './prepare.ts';
import {
  combineU,
  exactAgreementShare,
  expectationMaximisation,
  initialMixture,
  mFromAnchors,
  mFromIdentitySessions,
  levelDistribution,
  randomPairs,
} from './estimate.ts';
import type { EmResult } from './estimate.ts';
import type { BlockingRule, FieldKind, FieldSpec, LinkageModel, PreparedValue, ProgressCallback } from './types.ts';

export interface TrainingOptions {
  /** Random pairs sampled to estimate u. */
  uSamplePairs?: number;
  maxBlockSize?: number;
  /** Candidate pairs whose comparison patterns EM learns from (a random share beyond this). */
  trainingPairs?: number;
  linkThreshold?: number;
  reviewThreshold?: number;
  onProgress?: ProgressCallback;
}

export const DEFAULT_MAX_BLOCK_SIZE = 60;
export const DEFAULT_LINK_THRESHOLD = 0.95;
export const DEFAULT_REVIEW_THRESHOLD = 0.5;
// EM's estimates settle long before this many pairs; more only costs time.
const DEFAULT_TRAINING_PAIRS = 2_000_000;
// Anchor pairs (equal valid NHS numbers) needed before their field agreement is trusted as m.
const MINIMUM_ANCHOR_PAIRS = 1000;
// Pairs a session of identity-field EM needs before its m is used.
const MINIMUM_SESSION_PAIRS = 50;
/** What identifies a person when there is no identifier: each is learnt with the others held agreeing. */
const IDENTITY_KINDS: ReadonlySet<FieldKind> = new Set(['given_name', 'family_name', 'birth_date']);
// Enough for levels with u around 1e-4; exact levels are counted exactly from value frequencies.
const DEFAULT_U_SAMPLE_PAIRS = 400_000;

/** Exact matches on these are weighed by how common the value is. */
const TERM_FREQUENCY_KINDS: ReadonlySet<FieldKind> = new Set(['given_name', 'family_name', 'postcode', 'address', 'text']);

export interface TrainingResult {
  model: LinkageModel;
  /** Distinct candidate pairs the blocking rules produce. */
  candidatePairCount: number;
  /** Candidate pairs whose comparison patterns EM learnt from. */
  trainingPairCount: number;
  em: EmResult;
}

/** Relative frequency of each value among the records holding one (term-frequency adjustment). */
function termFrequencyTable(dictionary: readonly PreparedValue[], counts: Int32Array, present: number): Map<string, number> {
  const table = new Map<string, number>();
  dictionary.forEach((value, id) => table.set(value.value, counts[id]! / present));
  return table;
}

function estimateU(specs: readonly FieldSpec[], table: PreparedTable, sampleLevels: Uint8Array): number[][] {
  const recordCount = table.recordCount;
  const floor = 1 / Math.max(2, recordCount * recordCount);
  return specs.map((spec, slot) => {
    const levelCount = levelLabels(spec.kind).length;
    const sampled = levelDistribution(sampleLevels, specs.length, slot, levelCount);
    return combineU(sampled, exactAgreementShare(table.counts[slot]!, table.present[slot]!), floor);
  });
}

/** Random pairs being compared for u: how many, and (when done) their comparison vectors. */
export interface USample {
  pairs: number;
  levels: Promise<Uint8Array>;
}

/**
 * Starts comparing random pairs for u (as many as `samplePairs`, fewer when there are fewer
 * pairs): they need only the prepared values, so the pool's threads can compare them while
 * the caller builds the block index.
 */
export function sampleForU(table: PreparedTable, pool: LinkPool, samplePairs = DEFAULT_U_SAMPLE_PAIRS): USample {
  const n = table.recordCount;
  const pairs = Math.max(0, Math.min(samplePairs, Math.round((n * (n - 1)) / 2)));
  const sample = randomPairs(n, pairs);
  return { pairs, levels: pool.compare(sample.left, sample.right) };
}

/** The blocking rules for the data and its block index, with typed arrays worker threads can share. */
export function blockRecords(
  specs: readonly FieldSpec[],
  table: PreparedTable,
  maxBlockSize = DEFAULT_MAX_BLOCK_SIZE,
  shared = false,
): { rules: BlockingRule[]; index: BlockIndex } {
  const rules = blockingRulesFor(specs, (slot) => ({ counts: table.counts[slot]!, present: table.present[slot]! }));
  return { rules, index: buildBlockIndex(compileRules(rules, specs), table, maxBlockSize, shared) };
}

/** blockRecords with the rules' blocks built on the pool's threads (the table in SharedArrayBuffers). */
export async function blockRecordsOnThreads(
  specs: readonly FieldSpec[],
  table: PreparedTable,
  pool: LinkPool,
  maxBlockSize = DEFAULT_MAX_BLOCK_SIZE,
): Promise<{ rules: BlockingRule[]; index: BlockIndex }> {
  const rules = blockingRulesFor(specs, (slot) => ({ counts: table.counts[slot]!, present: table.present[slot]! }));
  const compiled = compileRules(rules, specs);
  const blockOf = newBlockOf(table.recordCount, rules.length, true);
  const sizes = await pool.blockRules(blockingPlan(compiled, table), blockOf);
  return { rules, index: finishBlockIndex(blockOf, sizes, table.recordCount, maxBlockSize, true) };
}

/**
 * Learns the model: u from random pairs (and exact value frequencies), m and the share
 * of matches by EM over the comparison patterns of a sample of the candidate pairs
 * (every pair up to `trainingPairs`; beyond that an even random share).
 */
export async function trainModel(
  specs: readonly FieldSpec[],
  table: PreparedTable,
  blocking: { rules: BlockingRule[]; index: BlockIndex },
  pool: LinkPool,
  options: TrainingOptions = {},
  uSample?: USample,
): Promise<TrainingResult> {
  const {
    uSamplePairs = DEFAULT_U_SAMPLE_PAIRS,
    trainingPairs = DEFAULT_TRAINING_PAIRS,
    linkThreshold = DEFAULT_LINK_THRESHOLD,
    reviewThreshold = DEFAULT_REVIEW_THRESHOLD,
    onProgress,
  } = options;
  const n = table.recordCount;
  const totalPairs = (n * (n - 1)) / 2;

  const sample = uSample ?? sampleForU(table, pool, uSamplePairs);
  onProgress?.({ stage: 'estimating u', done: 0, total: sample.pairs });
  // Value counts (from preparing) serve both u's exact levels and the term frequencies.
  const u = estimateU(specs, table, await sample.levels);
  onProgress?.({ stage: 'estimating u', done: sample.pairs, total: sample.pairs });

  const blockedPairs = pairsInBlocks(blocking.index, 0, blocking.index.blockCount);
  const sampleRate = Math.min(1, trainingPairs / Math.max(1, blockedPairs));
  const training = await pool.train(sampleRate, (done, total) => onProgress?.({ stage: 'estimating m', done, total }));
  const levelCounts = specs.map((spec) => levelLabels(spec.kind).length);
  const patterns = { fieldCount: specs.length, levels: training.patterns, counts: training.counts, patternOfPair: new Uint32Array(0) };
  const start = initialMixture(levelCounts, u);
  const anchorField = specs.findIndex((spec) => spec.kind === 'nhs_number');
  const anchoredM = anchorField < 0 ? null : mFromAnchors(patterns, anchorField, levelCounts, MINIMUM_ANCHOR_PAIRS);
  // With anchors, the other fields' m is known; EM learns the identifier's own m and the prior.
  // Without, m comes from one EM session per identity field and EM learns only the prior.
  const identityFields = specs.flatMap((spec, slot) => (IDENTITY_KINDS.has(spec.kind) ? [slot] : []));
  const labels = specs.map((spec) => levelLabels(spec.kind));
  const sessionM = anchoredM
    ? null
    : mFromIdentitySessions(
        patterns,
        levelCounts,
        u,
        identityFields,
        (field, level) => level === 0 || labels[field]![level]?.startsWith('swapped_with') === true,
        MINIMUM_SESSION_PAIRS,
      );
  const em = anchoredM
    ? expectationMaximisation(patterns, levelCounts, { ...start, m: anchoredM }, { fixedM: specs.map((_, slot) => slot !== anchorField) })
    : sessionM
      ? expectationMaximisation(patterns, levelCounts, { ...start, m: sessionM.m }, { fixedM: specs.map(() => true) })
      : expectationMaximisation(patterns, levelCounts, start);

  // EM's prior is among blocked pairs; scoring uses u from random pairs, so the
  // prior must be the chance that two random records match.
  const expectedMatches = em.lambda * training.pairCount;
  const priorMatchProbability = Math.min(0.5, Math.max(1e-12, expectedMatches / Math.max(1, totalPairs)));

  const termFrequencies: Record<string, Map<string, number>> = {};
  specs.forEach((spec, slot) => {
    if (TERM_FREQUENCY_KINDS.has(spec.kind))
      termFrequencies[spec.key] = termFrequencyTable(table.dictionaries[slot]!, table.counts[slot]!, table.present[slot]!);
  });

  const model: LinkageModel = {
    fields: specs.map((spec, slot) => ({
      spec,
      termFrequency: TERM_FREQUENCY_KINDS.has(spec.kind),
      levels: levelLabels(spec.kind).map((label, level) => ({ label, m: em.m[slot]![level]!, u: u[slot]![level]! })),
    })),
    priorMatchProbability,
    blockingRules: blocking.rules,
    termFrequencies,
    maxBlockSize: blocking.index.maxBlockSize,
    linkThreshold,
    reviewThreshold,
  };
  const trainingPairCount = training.counts.reduce((sum, count) => sum + count, 0);
  return { model, candidatePairCount: training.pairCount, trainingPairCount, em };
}
