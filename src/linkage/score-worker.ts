// Worker thread: computes comparison vectors for its share of the candidate pairs.

import { parentPort, workerData } from 'node:worker_threads';
import { compareIndexedPairs, createComparator } from './comparisons.ts';
import type { FieldSpec, PreparedRecord } from './types.ts';

interface CompareRequest {
  id: number;
  left: Uint32Array;
  right: Uint32Array;
}

const { specs, records } = workerData as { specs: FieldSpec[]; records: PreparedRecord[] };
const comparator = createComparator(specs);
const port = parentPort!;

port.on('message', (request: CompareRequest) => {
  const levels = compareIndexedPairs(comparator, records, request.left, request.right, (done) =>
    port.postMessage({ type: 'progress', id: request.id, done }),
  );
  port.postMessage({ type: 'done', id: request.id, levels }, [levels.buffer as ArrayBuffer]);
});
