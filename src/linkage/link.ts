// Batch linking of whole files: prepare, block, learn the model, score candidate pairs
// (scans split across worker threads sharing the columns), cluster into persons.

import { availableParallelism } from 'node:os';
import { clusterRecords } from './cluster.ts';
import type { WeightedLink } from './cluster.ts';
import { comparePair, createComparator } from './comparisons.ts';
import { createLinkPool } from './link-pool.ts';
import { createScorer, log2Odds, matchWeight, probabilityFromWeight, termFrequencyU } from './model.ts';
import type { Scorer } from './model.ts';
import type { ScoringTables } from './pair-scan.ts';
import { fieldSpecsFor, prepareTable } from './prepare.ts';
import type { PreparedColumns } from './prepare.ts';
import { blockRecords, DEFAULT_MAX_BLOCK_SIZE, trainModel } from './train.ts';
import type { TrainingOptions } from './train.ts';
import type { FieldSpec, LinkageModel, LinkRecord, PreparedRecord } from './types.ts';
import { createWeightHistogram } from './weight-histogram.ts';
import type { WeightHistogram } from './weight-histogram.ts';

export interface LinkOptions extends TrainingOptions {
  /** Worker threads for pair comparison (default: up to 2, one per core). */
  workers?: number;
  /** Match probability for records to end in one cluster (default: the model's link threshold). */
  clusterThreshold?: number;
  /** Records with two different keys never share a cluster (e.g. two registered persons). */
  exclusiveKey?: (record: number) => string | null;
  /** Record pairs a reviewer decided are the same person / not the same person. */
  mustLink?: readonly (readonly [number, number])[];
  cannotLink?: readonly (readonly [number, number])[];
  /** Also return the candidate pairs scoring between the review and the cluster threshold. */
  collectUncertain?: boolean;
  /**
   * Also count every candidate pair's match weight into a histogram (the model report). Every
   * pair is then scored in full rather than given up once it cannot link, so scoring takes longer;
   * memory does not grow.
   */
  weightHistogram?: boolean;
}

export interface LinkResult {
  /** Cluster number of each input record, in input order. */
  clusterOf: number[];
  model: LinkageModel;
  specs: FieldSpec[];
  candidatePairCount: number;
  /** Candidate pairs at or above the cluster threshold. */
  linkCount: number;
  /** The records as compared, in input order. */
  prepared: PreparedRecord[];
  /** Match probability of any two records (input positions), scored on demand and cached. */
  pairProbability: (a: number, b: number) => number;
  /** Candidate pairs at or above the cluster threshold (strong evidence), weights in bits. */
  links: WeightedLink[];
  /** With `collectUncertain`: candidate pairs in the review band (below the cluster threshold). */
  uncertainPairs: WeightedLink[];
  /** With `weightHistogram`: every candidate pair's weight, in bins with an edge at the cluster threshold. */
  weightHistogram: WeightHistogram | null;
}

function cannotLinkKeyOf(specs: readonly FieldSpec[], records: readonly PreparedRecord[]): (record: number) => string | null {
  const slot = specs.findIndex((spec) => spec.kind === 'nhs_number');
  if (slot < 0) return () => null;
  return (record) => {
    const value = records[record]!.values[slot];
    return value?.valid ? value.value : null;
  };
}

/** The model's weights as the scoring loop reads them, exact-match weights resolved per dictionary value. */
export function scoringTables(scorer: Scorer, columns: PreparedColumns, minimumProbability: number): ScoringTables {
  const { model } = scorer;
  return {
    priorWeight: scorer.priorWeight,
    weights: scorer.weights,
    exactWeightById: model.fields.map((_, slot) =>
      scorer.frequencies[slot]
        ? Float64Array.from(columns.dictionaries[slot]!, (value) => scorer.logExactM[slot]! - Math.log2(termFrequencyU(scorer, slot, value.value)))
        : null,
    ),
    minimumWeight: log2Odds(minimumProbability),
    person: scorer.person,
  };
}

export async function linkRecords(records: readonly LinkRecord[], options: LinkOptions = {}): Promise<LinkResult> {
  const { workers = Math.min(2, availableParallelism()), onProgress } = options;
  const threaded = workers > 1;
  onProgress?.({ stage: 'preparing', done: 0, total: records.length });
  const specs = fieldSpecsFor(records);
  const table = prepareTable(specs, records, threaded);
  const prepared = table.records;
  onProgress?.({ stage: 'blocking', done: 0, total: 1 });
  const blocking = blockRecords(specs, table, options.maxBlockSize ?? DEFAULT_MAX_BLOCK_SIZE, threaded);
  onProgress?.({ stage: 'blocking', done: 1, total: 1 });
  const pool = createLinkPool({ kinds: specs.map((spec) => spec.kind), fieldCount: table.fieldCount, ids: table.ids, dictionaries: table.dictionaries, index: blocking.index }, workers);
  let training;
  let scorer: Scorer;
  let scored;
  const threshold = options.clusterThreshold;
  try {
    training = await trainModel(specs, prepared, blocking, pool, options);
    const clusterThreshold = threshold ?? training.model.linkThreshold;
    const keepFrom = options.collectUncertain ? Math.min(training.model.reviewThreshold, clusterThreshold) : clusterThreshold;
    scorer = createScorer(training.model);
    const tables = scoringTables(scorer, table, keepFrom);
    if (options.weightHistogram) tables.histogramOrigin = log2Odds(clusterThreshold);
    scored = await pool.score(tables, (done, total) =>
      onProgress?.({ stage: 'scoring', done, total }),
    );
  } finally {
    await pool.close();
  }
  const { model } = training;
  const clusterThreshold = threshold ?? model.linkThreshold;

  const fieldCount = specs.length;
  const n = prepared.length;
  const weightOfPair = new Map<number, number>();
  const links: WeightedLink[] = [];
  const uncertainPairs: WeightedLink[] = [];
  for (let pair = 0; pair < scored.left.length; pair++) {
    const a = scored.left[pair]!;
    const b = scored.right[pair]!;
    const weight = scored.weights[pair]!;
    if (probabilityFromWeight(weight) >= clusterThreshold) links.push({ a, b, weight });
    else uncertainPairs.push({ a, b, weight });
    weightOfPair.set(a * n + b, weight);
  }

  const comparator = createComparator(specs);
  const scratch = new Uint8Array(fieldCount);
  const pairProbability = (a: number, b: number): number => {
    const key = a < b ? a * n + b : b * n + a;
    let weight = weightOfPair.get(key);
    if (weight === undefined) {
      comparePair(comparator, prepared[a]!, prepared[b]!, scratch, 0);
      weight = matchWeight(scorer, scratch, 0, prepared[a]!, prepared[b]!);
      weightOfPair.set(key, weight);
    }
    return probabilityFromWeight(weight);
  };
  onProgress?.({ stage: 'clustering', done: 0, total: 1 });
  const clusterOf = clusterRecords(n, links, pairProbability, {
    threshold: clusterThreshold,
    cannotLinkKey: cannotLinkKeyOf(specs, prepared),
    exclusiveKey: options.exclusiveKey,
    mustLink: options.mustLink,
    cannotLink: options.cannotLink,
  });
  onProgress?.({ stage: 'clustering', done: 1, total: 1 });
  return {
    clusterOf, model, specs, candidatePairCount: training.candidatePairCount, linkCount: links.length,
    prepared, pairProbability, links, uncertainPairs,
    // No blocks at all means no ranges were scanned, so no histogram came back: an empty one.
    weightHistogram: options.weightHistogram ? scored.histogram ?? createWeightHistogram(log2Odds(clusterThreshold)) : null,
  };
}
