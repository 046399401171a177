// Worker thread for batch linking: holds the shared columns and block index, and runs
// training, scoring and comparison jobs over the ranges it is handed.

import { parentPort, workerData } from 'node:worker_threads';
import { BlockScratch, blockRule } from './blocking.ts';
import { compareListedPairs, scanForScoring, scanForTraining } from './pair-scan.ts';
import type { ScanData, ScoringTables } from './pair-scan.ts';
import type { LinkJob } from './link-pool.ts';

const data = workerData as ScanData;
const port = parentPort!;
let tables: ScoringTables | undefined;
const scratch = new BlockScratch();

port.on('message', (job: LinkJob) => {
  switch (job.type) {
    case 'block': {
      const sizes = blockRule(job.plan, data.ids, data.fieldCount, job.blockOf, job.ruleCount, job.rule, scratch);
      port.postMessage({ id: job.id, result: sizes }, [sizes.buffer as ArrayBuffer]);
      break;
    }
    case 'index':
      data.index = job.index;
      port.postMessage({ id: job.id, result: null });
      break;
    case 'train': {
      const result = scanForTraining(data, job.from, job.to, job.sampleRate);
      port.postMessage({ id: job.id, result }, [
        result.patterns.buffer as ArrayBuffer,
        result.counts.buffer as ArrayBuffer,
        result.firstMeetings.buffer as ArrayBuffer,
      ]);
      break;
    }
    case 'tables':
      tables = job.tables;
      port.postMessage({ id: job.id, result: null });
      break;
    case 'score': {
      const result = scanForScoring(data, job.from, job.to, tables!, job.firstMeetings);
      port.postMessage({ id: job.id, result }, [
        result.left.buffer as ArrayBuffer,
        result.right.buffer as ArrayBuffer,
        result.weights.buffer as ArrayBuffer,
      ]);
      break;
    }
    case 'compare': {
      const result = compareListedPairs(data, job.left, job.right);
      port.postMessage({ id: job.id, result }, [result.buffer as ArrayBuffer]);
      break;
    }
  }
});
