// Batch linking of whole files: prepare, block, learn the model, score candidate pairs
// (scans split across worker threads sharing the columns), cluster into persons.

import { availableParallelism } from 'node:os';
import { clusterLinks } from './cluster.ts';
import type { ClusterOptions, WeightedLink } from './cluster.ts';
import { compareDate, comparePair, createComparator, levelLabels } from './comparisons.ts';
import { createLinkPool } from './link-pool.ts';
import { damerauLevenshtein } from './string-metrics.ts';
import { createScorer, log2Odds, matchWeight, probabilityFromWeight, termFrequencyU } from './model.ts';
import type { Scorer } from './model.ts';
import { scanDataOf } from './pair-scan.ts';
import type { ScoringTables } from './pair-scan.ts';
import { fieldSpecsForColumns, prepareColumns, preparedRecordAt, rawColumnsFromRecords } from './prepare.ts';
import type { PreparedColumns, PreparedTable, RawColumns } from './prepare.ts';
import { blockRecords, blockRecordsOnThreads, DEFAULT_MAX_BLOCK_SIZE, sampleForU, trainModel } from './train.ts';
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

/** Valid NHS numbers as value numbers per record (-1: none): records holding two different ones are never one person. */
function cannotLinkNumbersOf(specs: readonly FieldSpec[], table: PreparedTable): Int32Array | undefined {
  const slot = specs.findIndex((spec) => spec.kind === 'nhs_number');
  if (slot < 0) return undefined;
  const valid = Uint8Array.from(table.dictionaries[slot]!, (value) => (value.valid ? 1 : 0));
  return Int32Array.from({ length: table.recordCount }, (_, record) => {
    const id = table.ids[record * table.fieldCount + slot]!;
    return id >= 0 && valid[id] === 1 ? id : -1;
  });
}

/**
 * Birth dates for clustering (cluster.ts `birthDates`): whether a record has none, and whether
 * two records' dates say two people: both known, over a year apart (compareDate's last level),
 * and further apart than two copies of one date drift: more than two digits different, and more
 * than one once day and month are swapped. Undefined without a birth date field.
 */
function birthDatesOf(specs: readonly FieldSpec[], table: PreparedTable): ClusterOptions['birthDates'] {
  const slot = specs.findIndex((spec) => spec.kind === 'birth_date');
  if (slot < 0) return undefined;
  const dictionary = table.dictionaries[slot]!;
  const otherwise = levelLabels('birth_date').length - 1;
  const idOf = (record: number) => table.ids[record * table.fieldCount + slot]!;
  return {
    missing: (record) => idOf(record) < 0,
    contradict: (a, b) => {
      const x = idOf(a);
      const y = idOf(b);
      if (x < 0 || y < 0 || x === y) return false;
      const first = dictionary[x]!;
      const second = dictionary[y]!;
      return (
        compareDate(first, second) === otherwise &&
        damerauLevenshtein(first.value, second.value, 3) > 2 &&
        damerauLevenshtein(first.swapped, second.value, 2) > 1
      );
    },
  };
}

/**
 * Weights of pairs by record numbers (a < b), in an open-addressing hash table of typed arrays:
 * a Map would hold a heap number per key at a million people (keys reach a * n + b ~ 4e12).
 */
class PairWeights {
  private keys: Float64Array;
  private weights: Float64Array;
  private size = 0;
  private readonly recordCount: number;

  constructor(recordCount: number, expected: number) {
    this.recordCount = recordCount;
    let capacity = 1024;
    while (capacity < expected * 2) capacity *= 2;
    this.keys = new Float64Array(capacity).fill(-1);
    this.weights = new Float64Array(capacity);
  }

  private slotOf(key: number): number {
    const mask = this.keys.length - 1;
    const low = key >>> 0;
    const high = Math.floor(key / 4294967296) >>> 0;
    let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    let slot = h & mask;
    while (this.keys[slot] !== -1 && this.keys[slot] !== key) slot = (slot + 1) & mask;
    return slot;
  }

  get(a: number, b: number): number | undefined {
    const slot = this.slotOf(a < b ? a * this.recordCount + b : b * this.recordCount + a);
    return this.keys[slot] === -1 ? undefined : this.weights[slot];
  }

  set(a: number, b: number, weight: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const key = a < b ? a * this.recordCount + b : b * this.recordCount + a;
    const slot = this.slotOf(key);
    if (this.keys[slot] === -1) this.size++;
    this.keys[slot] = key;
    this.weights[slot] = weight;
  }

  private grow(): void {
    const { keys, weights } = this;
    this.keys = new Float64Array(keys.length * 2).fill(-1);
    this.weights = new Float64Array(keys.length * 2);
    for (let old = 0; old < keys.length; old++) {
      if (keys[old] === -1) continue;
      const slot = this.slotOf(keys[old]!);
      this.keys[slot] = keys[old]!;
      this.weights[slot] = weights[old]!;
    }
  }
}

/** The model's weights as the scoring loop reads them, exact-match weights resolved per dictionary value. */
export function scoringTables(scorer: Scorer, columns: PreparedColumns, minimumProbability: number): ScoringTables {
  const { model } = scorer;
  return {
    priorWeight: scorer.priorWeight,
    weights: scorer.weights,
    exactWeightById: model.fields.map((_, slot) =>
      scorer.frequencies[slot]
        ? Float64Array.from(
            columns.dictionaries[slot]!,
            (value) => scorer.logExactM[slot]! - Math.log2(termFrequencyU(scorer, slot, value.value)),
          )
        : null,
    ),
    minimumWeight: log2Odds(minimumProbability),
    person: scorer.person,
  };
}

/** Fewer records than this are linked on the calling thread alone. */
const THREADED_MINIMUM_RECORDS = 5000;

export async function linkRecords(records: readonly LinkRecord[], options: LinkOptions = {}): Promise<LinkResult> {
  return linkColumns(rawColumnsFromRecords(records), options);
}

/**
 * Links records given as raw columns (csv-input.ts reads files straight into them). Once the
 * values are prepared, `input.rawIds` and `input.raw` are let go (emptied), so a caller holding
 * the input keeps only its record ids.
 */
export async function linkColumns(input: RawColumns, options: LinkOptions = {}): Promise<LinkResult> {
  const { workers = Math.min(2, availableParallelism()), onProgress } = options;
  const n = input.count;
  // Threads only pay for themselves beyond a few thousand records.
  const threaded = workers > 1 && n >= THREADED_MINIMUM_RECORDS;
  const recordIds = input.recordIds;
  onProgress?.({ stage: 'preparing', done: 0, total: n });
  const specs = fieldSpecsForColumns(input);
  const table = prepareColumns(specs, input, threaded);
  input.rawIds = new Int32Array(0);
  input.raw = [];
  // The threads start now: they compare u's random pairs, then build the blocks rule by rule.
  const pool = createLinkPool(
    scanDataOf(
      table,
      specs.map((spec) => spec.kind),
    ),
    threaded ? workers : 1,
  );
  let training;
  let scorer: Scorer;
  let scored;
  const threshold = options.clusterThreshold;
  try {
    const uSample = sampleForU(table, pool, options.uSamplePairs);
    onProgress?.({ stage: 'blocking', done: 0, total: 1 });
    const maxBlockSize = options.maxBlockSize ?? DEFAULT_MAX_BLOCK_SIZE;
    const blocking = threaded ? await blockRecordsOnThreads(specs, table, pool, maxBlockSize) : blockRecords(specs, table, maxBlockSize);
    onProgress?.({ stage: 'blocking', done: 1, total: 1 });
    await pool.useIndex(blocking.index);
    training = await trainModel(specs, table, blocking, pool, options, uSample);
    const clusterThreshold = threshold ?? training.model.linkThreshold;
    const keepFrom = options.collectUncertain ? Math.min(training.model.reviewThreshold, clusterThreshold) : clusterThreshold;
    scorer = createScorer(training.model);
    const tables = scoringTables(scorer, table, keepFrom);
    if (options.weightHistogram) tables.histogramOrigin = log2Odds(clusterThreshold);
    scored = await pool.score(tables, (done, total) => onProgress?.({ stage: 'scoring', done, total }));
  } finally {
    await pool.close();
  }
  const { model } = training;
  const clusterThreshold = threshold ?? model.linkThreshold;

  const fieldCount = specs.length;
  const scoredWeights = new PairWeights(n, scored.left.length);
  for (let pair = 0; pair < scored.left.length; pair++) scoredWeights.set(scored.left[pair]!, scored.right[pair]!, scored.weights[pair]!);

  const comparator = createComparator(specs);
  const scratch = new Uint8Array(fieldCount);
  const pairProbability = (a: number, b: number): number => {
    let weight = scoredWeights.get(a, b);
    if (weight === undefined) {
      const recordA = preparedRecordAt(table, a, recordIds.get(a));
      const recordB = preparedRecordAt(table, b, recordIds.get(b));
      comparePair(comparator, recordA, recordB, scratch, 0);
      weight = matchWeight(scorer, scratch, 0, recordA, recordB);
      scoredWeights.set(a, b, weight);
    }
    return probabilityFromWeight(weight);
  };
  onProgress?.({ stage: 'clustering', done: 0, total: 1 });
  const clusterOf = clusterLinks(n, scored, pairProbability, {
    threshold: clusterThreshold,
    cannotLinkNumbers: cannotLinkNumbersOf(specs, table),
    birthDates: birthDatesOf(specs, table),
    exclusiveKey: options.exclusiveKey,
    mustLink: options.mustLink,
    cannotLink: options.cannotLink,
  });
  onProgress?.({ stage: 'clustering', done: 1, total: 1 });

  // Made on first use: a command-line run needs none of these objects, and at a million people
  // they would be millions.
  let prepared: PreparedRecord[] | undefined;
  let linked: { links: WeightedLink[]; uncertainPairs: WeightedLink[] } | undefined;
  const linkLists = () => {
    if (!linked) {
      linked = { links: [], uncertainPairs: [] };
      for (let pair = 0; pair < scored.left.length; pair++) {
        const link = { a: scored.left[pair]!, b: scored.right[pair]!, weight: scored.weights[pair]! };
        (probabilityFromWeight(link.weight) >= clusterThreshold ? linked.links : linked.uncertainPairs).push(link);
      }
    }
    return linked;
  };
  let linkCount = 0;
  for (let pair = 0; pair < scored.weights.length; pair++)
    if (probabilityFromWeight(scored.weights[pair]!) >= clusterThreshold) linkCount++;
  return {
    clusterOf,
    model,
    specs,
    candidatePairCount: training.candidatePairCount,
    linkCount,
    get prepared() {
      prepared ??= Array.from({ length: n }, (_, record) => preparedRecordAt(table, record, recordIds.get(record)));
      return prepared;
    },
    pairProbability,
    get links() {
      return linkLists().links;
    },
    get uncertainPairs() {
      return linkLists().uncertainPairs;
    },
    // No blocks at all means no ranges were scanned, so no histogram came back: an empty one.
    weightHistogram: options.weightHistogram ? (scored.histogram ?? createWeightHistogram(log2Odds(clusterThreshold))) : null,
  };
}
