// Which resources a FHIR write gave a new version. A write reaches further than the resource it
// names (a Task moves its ServiceRequest on, a household move changes each mover's Patient), and
// every version made must be kept for _history: bumpVersion and stampCreated note each one here,
// and the write's caller (history.ts) keeps them once the write is done. No dependencies, so the
// writers can import it without reaching the history code.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Touched {
  type: string;
  id: string;
}

const touched = new AsyncLocalStorage<Touched[]>();

/** Notes that a resource got a new version in the write under way (nothing, outside one). */
export function noteVersion(type: string, id: string): void {
  const list = touched.getStore();
  if (list && !list.some((t) => t.type === type && t.id === id)) list.push({ type, id });
}

/** Runs a write, and gives back what it returned with every resource it gave a new version. */
export async function collectVersions<T>(work: () => Promise<T>): Promise<{ result: T; touched: Touched[] }> {
  const list: Touched[] = [];
  const result = await touched.run(list, work);
  return { result, touched: list };
}
