// Worker thread for readItems: reads and checks the feed, sending items in chunks while the
// importing thread has room for them. A record id given again later in the same file is set
// aside (the first is kept): stored, the later row would silently replace the first. The ids
// are kept here, off the importing thread's heap; a resumed import reads the lines it has done
// again only to learn them.
import { parentPort, workerData } from 'node:worker_threads';
import { bundleItems, csvItems, ImportInputError, ndjsonItems, rowText, type InputItem } from './read-input.ts';
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

/** Longest record id quoted in a reason (ids are at most 200 characters). */
const QUOTED_ID = 40;

try {
  const items =
    request.format === 'csv'
      ? csvItems(request.file, request.mapping!, request.mixed)
      : request.format === 'ndjson'
        ? ndjsonItems(request.file, request.source, request.mixed)
        : bundleItems(request.file, request.source, request.clinicalTypes, request.mixed);
  const firstLineOf = new Map<string, number>();
  let chunk: InputItem[] = [];
  for await (const read of items) {
    let item: InputItem = read;
    if ('record' in read) {
      const { sourceId } = read.record;
      const first = firstLineOf.get(sourceId);
      if (first === undefined) {
        firstLineOf.set(sourceId, read.line);
        // Without what it was read from: that stays on this thread.
        item = { line: read.line, record: read.record };
      } else {
        const shown = sourceId.length > QUOTED_ID ? `${sourceId.slice(0, QUOTED_ID)}…` : sourceId;
        item = {
          line: read.line,
          error: `the record id ${shown} was already given on line ${first}; the first is kept`,
          row: rowText(read.raw),
          duplicate: true,
        };
      }
    }
    if (item.line <= request.skipThrough) continue;
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
