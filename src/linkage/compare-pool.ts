// Splits pair comparison across worker threads (the expensive part of scoring).
// Small jobs run inline: starting a worker costs more than comparing a few thousand pairs.

import { Worker } from 'node:worker_threads';
import { compareIndexedPairs, createComparator } from './comparisons.ts';
import type { FieldSpec, PreparedRecord } from './types.ts';

export interface ComparePool {
  /** Comparison vectors (pairs × fields) for the pairs given as parallel index arrays. */
  compare(left: Uint32Array, right: Uint32Array, onProgress?: (done: number) => void): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Below this many pairs a job runs on the main thread. */
const INLINE_PAIR_LIMIT = 20_000;

interface WorkerMessage {
  type: 'progress' | 'done';
  id: number;
  done?: number;
  levels?: Uint8Array;
}

export function createComparePool(
  specs: readonly FieldSpec[],
  records: readonly PreparedRecord[],
  workerCount: number,
): ComparePool {
  const comparator = createComparator(specs);
  let workers: Worker[] | undefined;
  let nextId = 0;

  function startWorkers(): Worker[] {
    workers ??= Array.from(
      { length: workerCount },
      () => new Worker(new URL('./score-worker.ts', import.meta.url), { workerData: { specs, records } }),
    );
    return workers;
  }

  function runOnWorker(worker: Worker, left: Uint32Array, right: Uint32Array, onDone: (done: number) => void): Promise<Uint8Array> {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const onMessage = (message: WorkerMessage): void => {
        if (message.id !== id) return;
        if (message.type === 'progress') onDone(message.done ?? 0);
        else {
          worker.off('message', onMessage);
          worker.off('error', reject);
          resolve(message.levels!);
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.postMessage({ id, left, right });
    });
  }

  return {
    async compare(left, right, onProgress) {
      if (workerCount <= 1 || left.length < INLINE_PAIR_LIMIT) {
        return compareIndexedPairs(comparator, records, left, right, onProgress);
      }
      const pool = startWorkers();
      const fieldCount = specs.length;
      const chunk = Math.ceil(left.length / pool.length);
      const doneByWorker = new Array<number>(pool.length).fill(0);
      const parts = await Promise.all(
        pool.map((worker, w) =>
          runOnWorker(worker, left.slice(w * chunk, (w + 1) * chunk), right.slice(w * chunk, (w + 1) * chunk), (done) => {
            doneByWorker[w] = done;
            onProgress?.(doneByWorker.reduce((sum, count) => sum + count, 0));
          }),
        ),
      );
      const levels = new Uint8Array(left.length * fieldCount);
      parts.forEach((part, w) => levels.set(part, w * chunk * fieldCount));
      return levels;
    },
    async close() {
      if (workers) await Promise.all(workers.map((worker) => worker.terminate()));
      workers = undefined;
    },
  };
}
