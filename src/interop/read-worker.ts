// Worker thread for readItems: reads and checks the feed, sending items in chunks while the
// importing thread has room for them.
import { parentPort, workerData } from 'node:worker_threads';
import { bundleItems, csvItems, ImportInputError, ndjsonItems, type InputItem } from './read-input.ts';
import { CHUNKS_AHEAD, type ReadMessage, type ReadRequest } from './read-items.ts';

const CHUNK_SIZE = 1000;
const request = workerData as ReadRequest;
const port = parentPort!;
let credit = CHUNKS_AHEAD;
let resume: (() => void) | null = null;
port.on('message', () => {
  credit++;
  resume?.();
  resume = null;
});

async function send(items: InputItem[]): Promise<void> {
  while (credit === 0) await new Promise<void>((resolve) => (resume = resolve));
  credit--;
  port.postMessage({ items } satisfies ReadMessage);
}

try {
  const items = request.format === 'csv' ? csvItems(request.file, request.mapping!, request.skipThrough)
    : request.format === 'ndjson' ? ndjsonItems(request.file, request.source, request.skipThrough)
      : bundleItems(request.file, request.source, request.skipThrough);
  let chunk: InputItem[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length >= CHUNK_SIZE) {
      await send(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await send(chunk);
  port.postMessage({ done: true } satisfies ReadMessage);
} catch (error) {
  port.postMessage({ error: (error as Error).message, inputError: error instanceof ImportInputError } satisfies ReadMessage);
}
port.close();
