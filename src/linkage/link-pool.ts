// Runs the pair scans of batch linking on worker threads that share the columns and the
// block index (typed arrays over SharedArrayBuffers), handing out block ranges as threads
// free up. Small inputs run inline: starting a thread costs more than they do.

import { Worker } from 'node:worker_threads';
import { blockRanges, blockRule, BlockScratch, pairsInBlocks } from './blocking.ts';
import type { BlockIndex, RulePlan } from './blocking.ts';
import { PatternTally } from './estimate.ts';
import { compareListedPairs, scanForScoring, scanForTraining } from './pair-scan.ts';
import type { ScanData, ScoredPairs, ScoringTables, TrainingScan } from './pair-scan.ts';
import { createWeightHistogram, mergeWeightHistogram } from './weight-histogram.ts';

export type LinkJob =
  | { type: 'index'; id: number; index: BlockIndex }
  | { type: 'block'; id: number; plan: RulePlan; blockOf: Int32Array; ruleCount: number; rule: number }
  | { type: 'train'; id: number; from: number; to: number; sampleRate: number }
  | { type: 'tables'; id: number; tables: ScoringTables }
  | { type: 'score'; id: number; from: number; to: number; firstMeetings?: Uint8Array }
  | { type: 'compare'; id: number; left: Uint32Array; right: Uint32Array };

/** Pattern counts merged across ranges. */
export interface TrainingPatterns {
  pairCount: number;
  patterns: Uint8Array;
  counts: Float64Array;
}

export interface LinkPool {
  /** Builds each rule's blocks into its column of `blockOf` (blocking.ts blockRule), rules spread over the threads; their sizes by rule. */
  blockRules(plans: readonly RulePlan[], blockOf: Int32Array): Promise<Int32Array[]>;
  /** Hands the threads the block index (shared, not copied): the scans need it, comparing listed pairs does not. */
  useIndex(index: BlockIndex): Promise<void>;
  /** Counts every candidate pair and aggregates the comparison patterns of a `sampleRate` share. */
  train(sampleRate: number, onProgress?: (done: number, total: number) => void): Promise<TrainingPatterns>;
  /** Every candidate pair at or above the tables' minimum weight (and, if asked, every pair's weight in a histogram). */
  score(tables: ScoringTables, onProgress?: (done: number, total: number) => void): Promise<ScoredPairs>;
  /** Comparison vectors of listed pairs (random pairs for u). */
  compare(left: Uint32Array, right: Uint32Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Below this many candidate pairs everything runs on the calling thread. */
const INLINE_PAIR_LIMIT = 50_000;
/** Pairs per range handed to a thread: small enough to balance, big enough to amortise messages. */
const PAIRS_PER_RANGE = 250_000;

function mergePatterns(parts: readonly TrainingScan[], fieldCount: number): TrainingPatterns {
  const tally = new PatternTally(fieldCount);
  let pairCount = 0;
  for (const part of parts) {
    pairCount += part.pairCount;
    for (let p = 0; p < part.counts.length; p++) tally.add(part.patterns.subarray(p * fieldCount, (p + 1) * fieldCount), part.counts[p]!);
  }
  const { levels, counts } = tally.result();
  return { pairCount, patterns: levels, counts };
}

function concatScored(parts: readonly ScoredPairs[]): ScoredPairs {
  const total = parts.reduce((sum, part) => sum + part.left.length, 0);
  const firstHistogram = parts.find((part) => part.histogram)?.histogram;
  const merged: ScoredPairs = {
    left: new Uint32Array(total),
    right: new Uint32Array(total),
    weights: new Float64Array(total),
    scanned: 0,
    histogram: firstHistogram ? createWeightHistogram(firstHistogram.origin) : null,
  };
  let offset = 0;
  for (const part of parts) {
    merged.left.set(part.left, offset);
    merged.right.set(part.right, offset);
    merged.weights.set(part.weights, offset);
    merged.scanned += part.scanned;
    if (merged.histogram && part.histogram) mergeWeightHistogram(merged.histogram, part.histogram);
    offset += part.left.length;
  }
  return merged;
}

/**
 * Threads for the pair scans, started at once (with more than one worker) so that they load while
 * the calling thread goes on: comparing listed pairs (u's random pairs) needs only the prepared
 * values, so it can run while the caller builds the block index, handed over with useIndex.
 */
export function createLinkPool(data: ScanData, workerCount: number): LinkPool {
  let inline = true;
  let ranges: [number, number][] = [];
  let rangePairs: number[] = [];
  let totalPairs = 0;
  let workers: Worker[] | undefined;
  let nextId = 0;
  // Which pairs of each range's blocks are candidates, as training found (scoring then skips the check).
  let firstMeetings: Uint8Array[] | undefined;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();

  function start(): Worker[] {
    workers ??= Array.from({ length: workerCount }, () => {
      const worker = new Worker(new URL('./link-worker.ts', import.meta.url), { workerData: data });
      worker.on('message', (message: { id: number; result: unknown }) => {
        pending.get(message.id)?.resolve(message.result);
        pending.delete(message.id);
      });
      worker.on('error', (error) => {
        for (const waiting of pending.values()) waiting.reject(error);
        pending.clear();
      });
      return worker;
    });
    return workers;
  }
  if (workerCount > 1) start();

  function run<T>(worker: Worker, job: LinkJob, transfer: ArrayBuffer[] = []): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      pending.set(job.id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage(job, transfer);
    });
  }

  /** Hands ranges to whichever thread is free; results come back in range order. */
  async function overRanges<T>(
    makeJob: (from: number, to: number, range: number) => LinkJob,
    onProgress?: (done: number, total: number) => void,
  ): Promise<T[]> {
    const pool = start();
    const results = new Array<T>(ranges.length);
    let next = 0;
    let done = 0;
    await Promise.all(
      pool.map(async (worker) => {
        while (next < ranges.length) {
          const r = next++;
          const [from, to] = ranges[r]!;
          results[r] = await run<T>(worker, makeJob(from, to, r));
          done += rangePairs[r]!;
          onProgress?.(done, totalPairs);
        }
      }),
    );
    return results;
  }

  return {
    async blockRules(plans, blockOf) {
      const ruleCount = plans.length;
      if (workerCount <= 1) {
        const scratch = new BlockScratch();
        return plans.map((plan, rule) => blockRule(plan, data.ids, data.fieldCount, blockOf, ruleCount, rule, scratch));
      }
      const sizes = new Array<Int32Array>(ruleCount);
      // Costliest first (two-part keys), so that no thread is left with a long rule at the end.
      const order = plans.map((_, rule) => rule).sort((x, y) => (plans[y]?.length ?? 0) - (plans[x]?.length ?? 0) || x - y);
      let next = 0;
      await Promise.all(
        start().map(async (worker) => {
          while (next < order.length) {
            const rule = order[next++]!;
            sizes[rule] = await run<Int32Array>(worker, { type: 'block', id: nextId++, plan: plans[rule]!, blockOf, ruleCount, rule });
          }
        }),
      );
      return sizes;
    },
    async useIndex(index) {
      data.index = index;
      const blockCount = index.blockCount;
      ranges = blockRanges(index, PAIRS_PER_RANGE);
      rangePairs = ranges.map(([from, to]) => pairsInBlocks(index, from, to));
      totalPairs = rangePairs.reduce((sum, pairs) => sum + pairs, 0);
      inline = workerCount <= 1 || pairsInBlocks(index, 0, blockCount) < INLINE_PAIR_LIMIT;
      if (workers) await Promise.all(workers.map((worker) => run(worker, { type: 'index', id: nextId++, index })));
    },
    async train(sampleRate, onProgress) {
      const totalBlocks = data.index.blockCount;
      if (inline) {
        const result = scanForTraining(data, 0, totalBlocks, sampleRate);
        firstMeetings = [result.firstMeetings];
        onProgress?.(totalPairs, totalPairs);
        return mergePatterns([result], data.kinds.length);
      }
      const parts = await overRanges<TrainingScan>((from, to) => ({ type: 'train', id: nextId++, from, to, sampleRate }), onProgress);
      firstMeetings = parts.map((part) => part.firstMeetings);
      return mergePatterns(parts, data.kinds.length);
    },
    async score(tables, onProgress) {
      const totalBlocks = data.index.blockCount;
      if (inline) {
        const result = scanForScoring(data, 0, totalBlocks, tables, firstMeetings?.[0]);
        onProgress?.(totalPairs, totalPairs);
        return result;
      }
      await Promise.all(start().map((worker) => run(worker, { type: 'tables', id: nextId++, tables })));
      return concatScored(
        await overRanges<ScoredPairs>(
          (from, to, range) => ({ type: 'score', id: nextId++, from, to, firstMeetings: firstMeetings?.[range] }),
          onProgress,
        ),
      );
    },
    async compare(left, right) {
      if (workerCount <= 1 || left.length < INLINE_PAIR_LIMIT) return compareListedPairs(data, left, right);
      const pool = start();
      const chunk = Math.ceil(left.length / pool.length);
      const parts = await Promise.all(
        pool.map((worker, w) =>
          run<Uint8Array>(worker, {
            type: 'compare',
            id: nextId++,
            left: left.slice(w * chunk, (w + 1) * chunk),
            right: right.slice(w * chunk, (w + 1) * chunk),
          }),
        ),
      );
      const levels = new Uint8Array(left.length * data.kinds.length);
      let offset = 0;
      for (const part of parts) {
        levels.set(part, offset);
        offset += part.length;
      }
      return levels;
    },
    async close() {
      if (workers) await Promise.all(workers.map((worker) => worker.terminate()));
      workers = undefined;
    },
  };
}
