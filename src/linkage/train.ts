// Learns a linkage model from the data alone: blocking rules from the mapped
// fields, u from random pairs, m and the prior by EM on the blocked pairs.

import { blockingRulesFor, candidatePairs, compileRules } from './blocking.ts';
import type { CandidatePairs } from './blocking.ts';
import { levelLabels } from './comparisons.ts';
import type { ComparePool } from './compare-pool.ts';
import {
  aggregatePatterns,
  combineU,
  exactAgreementShare,
  expectationMaximisation,
  initialMixture,
  levelDistribution,
  randomPairs,
  valueCounts,
} from './estimate.ts';
import type { EmResult } from './estimate.ts';
import type { FieldKind, FieldSpec, LinkageModel, PreparedRecord, ProgressCallback } from './types.ts';

export interface TrainingOptions {
  /** Random pairs sampled to estimate u. */
  uSamplePairs?: number;
  maxBlockSize?: number;
  linkThreshold?: number;
  reviewThreshold?: number;
  onProgress?: ProgressCallback;
}

export const DEFAULT_MAX_BLOCK_SIZE = 2000;
export const DEFAULT_LINK_THRESHOLD = 0.95;
export const DEFAULT_REVIEW_THRESHOLD = 0.5;
// Enough for levels with u around 1e-4; exact levels are counted exactly from value frequencies.
const DEFAULT_U_SAMPLE_PAIRS = 400_000;

/** Exact matches on these are weighed by how common the value is. */
const TERM_FREQUENCY_KINDS: ReadonlySet<FieldKind> = new Set(['given_name', 'family_name', 'postcode', 'address', 'text']);

export interface TrainingResult {
  model: LinkageModel;
  pairs: CandidatePairs;
  /** Comparison vectors of the candidate pairs (pairs × fields). */
  levels: Uint8Array;
  em: EmResult;
}

function termFrequencyTable(records: readonly PreparedRecord[], slot: number): Map<string, number> {
  const { counts, present } = valueCounts(records, slot);
  const table = new Map<string, number>();
  for (const [value, count] of counts) table.set(value, count / present);
  return table;
}

function estimateU(
  specs: readonly FieldSpec[],
  records: readonly PreparedRecord[],
  sampleLevels: Uint8Array,
): number[][] {
  const floor = 1 / Math.max(2, records.length * records.length);
  return specs.map((spec, slot) => {
    const levelCount = levelLabels(spec.kind).length;
    const sampled = levelDistribution(sampleLevels, specs.length, slot, levelCount);
    const { counts, present } = valueCounts(records, slot);
    return combineU(sampled, exactAgreementShare(counts, present), floor);
  });
}

export async function trainModel(
  specs: readonly FieldSpec[],
  records: readonly PreparedRecord[],
  pool: ComparePool,
  options: TrainingOptions = {},
): Promise<TrainingResult> {
  const {
    uSamplePairs = DEFAULT_U_SAMPLE_PAIRS,
    maxBlockSize = DEFAULT_MAX_BLOCK_SIZE,
    linkThreshold = DEFAULT_LINK_THRESHOLD,
    reviewThreshold = DEFAULT_REVIEW_THRESHOLD,
    onProgress,
  } = options;
  const n = records.length;
  const totalPairs = (n * (n - 1)) / 2;

  onProgress?.({ stage: 'blocking', done: 0, total: 1 });
  const blockingRules = blockingRulesFor(specs, records);
  const pairs = candidatePairs(compileRules(blockingRules, specs), records, maxBlockSize);
  onProgress?.({ stage: 'blocking', done: 1, total: 1 });

  const sampleSize = Math.max(0, Math.min(uSamplePairs, Math.round(totalPairs)));
  const sample = randomPairs(n, sampleSize);
  const sampleLevels = await pool.compare(sample.left, sample.right, (done) =>
    onProgress?.({ stage: 'estimating u', done, total: sampleSize }),
  );
  const u = estimateU(specs, records, sampleLevels);

  const levels = await pool.compare(pairs.left, pairs.right, (done) =>
    onProgress?.({ stage: 'comparing pairs', done, total: pairs.left.length }),
  );
  const levelCounts = specs.map((spec) => levelLabels(spec.kind).length);
  const em = expectationMaximisation(aggregatePatterns(levels, specs.length), levelCounts, initialMixture(levelCounts, u));
  onProgress?.({ stage: 'estimating m', done: 1, total: 1 });

  // EM's prior is among blocked pairs; scoring uses u from random pairs, so the
  // prior must be the chance that two random records match.
  const expectedMatches = em.lambda * pairs.left.length;
  const priorMatchProbability = Math.min(0.5, Math.max(1e-12, expectedMatches / Math.max(1, totalPairs)));

  const termFrequencies: Record<string, Map<string, number>> = {};
  specs.forEach((spec, slot) => {
    if (TERM_FREQUENCY_KINDS.has(spec.kind)) termFrequencies[spec.key] = termFrequencyTable(records, slot);
  });

  const model: LinkageModel = {
    fields: specs.map((spec, slot) => ({
      spec,
      termFrequency: TERM_FREQUENCY_KINDS.has(spec.kind),
      levels: levelLabels(spec.kind).map((label, level) => ({ label, m: em.m[slot]![level]!, u: u[slot]![level]! })),
    })),
    priorMatchProbability,
    blockingRules,
    termFrequencies,
    maxBlockSize,
    linkThreshold,
    reviewThreshold,
  };
  return { model, pairs, levels, em };
}
