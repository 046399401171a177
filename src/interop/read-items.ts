// Reads a feed on a worker thread, so parsing and checking rows runs beside matching and
// storing on this one. Items arrive in chunks, in input-line order; the worker stays a few
// chunks ahead and no further, so a big file is never held in memory.
import { Worker } from 'node:worker_threads';
import { ImportInputError, type ColumnMapping, type ImportFormat, type InputItem } from './read-input.ts';

export interface ReadRequest {
  file: string;
  format: ImportFormat;
  mapping?: ColumnMapping;
  source: string;
  /** Input lines already done (a resumed import): read again only to know their record ids. */
  skipThrough: number;
  /** Some lines are not UTF-8: read line by line (see scanFile). */
  mixed: boolean;
  /** A Bundle's clinical entry types, passed over (the fhir module keeps them; see clinical-entries.ts). */
  clinicalTypes: readonly string[];
}

export type ReadMessage = { items: InputItem[] } | { done: true } | { error: string; inputError: boolean };

/** Chunks the worker may send before this side has taken them. */
export const CHUNKS_AHEAD = 8;

export async function* readItems(request: ReadRequest): AsyncGenerator<InputItem> {
  const worker = new Worker(new URL('./read-worker.ts', import.meta.url), { workerData: request });
  const queue: ReadMessage[] = [];
  let wake: (() => void) | null = null;
  const arrive = (message: ReadMessage) => {
    queue.push(message);
    wake?.();
    wake = null;
  };
  worker.on('message', arrive);
  worker.on('error', (error: Error) => arrive({ error: error.message, inputError: false }));
  worker.on('exit', () => arrive({ error: 'the file reader stopped unexpectedly', inputError: false }));
  try {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const message = queue.shift()!;
      if ('items' in message) {
        worker.postMessage('more');
        yield* message.items;
      } else if ('done' in message) return;
      else throw message.inputError ? new ImportInputError(message.error) : new Error(`reading the file failed: ${message.error}`);
    }
  } finally {
    worker.removeAllListeners();
    await worker.terminate();
  }
}
