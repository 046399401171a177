// Batch linking of whole files: prepare, learn the model, score candidate pairs
// (comparison split across worker threads), cluster into persons.

import { availableParallelism } from 'node:os';
import { clusterRecords } from './cluster.ts';
import type { WeightedLink } from './cluster.ts';
import { comparePair, createComparator } from './comparisons.ts';
import { createComparePool } from './compare-pool.ts';
import { createScorer, matchWeight, probabilityFromWeight } from './model.ts';
import { fieldSpecsFor, prepareRecord } from './prepare.ts';
import { trainModel } from './train.ts';
import type { TrainingOptions } from './train.ts';
import type { FieldSpec, LinkageModel, LinkRecord, PreparedRecord } from './types.ts';

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
}

function cannotLinkKeyOf(specs: readonly FieldSpec[], records: readonly PreparedRecord[]): (record: number) => string | null {
  const slot = specs.findIndex((spec) => spec.kind === 'nhs_number');
  if (slot < 0) return () => null;
  return (record) => {
    const value = records[record]!.values[slot];
    return value?.valid ? value.value : null;
  };
}

export async function linkRecords(records: readonly LinkRecord[], options: LinkOptions = {}): Promise<LinkResult> {
  const { workers = Math.min(2, availableParallelism()), onProgress } = options;
  const specs = fieldSpecsFor(records);
  const prepared = records.map((record) => prepareRecord(specs, record));
  const pool = createComparePool(specs, prepared, workers);
  let training;
  try {
    training = await trainModel(specs, prepared, pool, options);
  } finally {
    await pool.close();
  }
  const { model, pairs, levels } = training;
  const threshold = options.clusterThreshold ?? model.linkThreshold;

  const scorer = createScorer(model);
  const fieldCount = specs.length;
  const n = prepared.length;
  const weightOfPair = new Map<number, number>();
  const links: WeightedLink[] = [];
  const uncertainPairs: WeightedLink[] = [];
  for (let pair = 0; pair < pairs.left.length; pair++) {
    const a = pairs.left[pair]!;
    const b = pairs.right[pair]!;
    const weight = matchWeight(scorer, levels, pair * fieldCount, prepared[a]!, prepared[b]!);
    const probability = probabilityFromWeight(weight);
    if (probability >= threshold) {
      links.push({ a, b, weight });
      weightOfPair.set(a * n + b, weight);
    } else if (options.collectUncertain && probability >= model.reviewThreshold) {
      uncertainPairs.push({ a, b, weight });
      weightOfPair.set(a * n + b, weight);
    }
  }
  onProgress?.({ stage: 'scoring', done: pairs.left.length, total: pairs.left.length });

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
  const clusterOf = clusterRecords(n, links, pairProbability, {
    threshold,
    cannotLinkKey: cannotLinkKeyOf(specs, prepared),
    exclusiveKey: options.exclusiveKey,
    mustLink: options.mustLink,
    cannotLink: options.cannotLink,
  });
  onProgress?.({ stage: 'clustering', done: 1, total: 1 });
  return {
    clusterOf, model, specs, candidatePairCount: pairs.left.length, linkCount: links.length,
    prepared, pairProbability, links, uncertainPairs,
  };
}
