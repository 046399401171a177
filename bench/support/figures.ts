// Figures from benchmark runs: reading numbers out of a benchmark's JSON, and the median and the
// worst of several runs (never the best), which the README reports.

/** Reads a number at a dotted path in the first JSON object (that `where` accepts) which has it. */
export function at(path: string, where: (o: Record<string, unknown>) => boolean = () => true): (output: unknown[]) => number | undefined {
  return (output) => {
    for (const object of output) {
      if (typeof object !== 'object' || object === null || !where(object as Record<string, unknown>)) continue;
      let value: unknown = object;
      for (const key of path.split('.'))
        value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
      if (typeof value === 'number' && Number.isFinite(value)) return value;
    }
    return undefined;
  };
}

/**
 * Every top-level JSON object in a process's output, in order: one document, one object per line,
 * or several documents each printed across many lines (a progress line, then the pretty report).
 * Text between objects (progress messages) is skipped; an object that does not parse is dropped.
 */
export function jsonObjects(text: string): unknown[] {
  const objects: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (char === '\\') escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (depth > 0 && char === '"') inString = true;
    else if (char === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (char === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        try {
          objects.push(JSON.parse(text.slice(start, i + 1)));
        } catch {
          // Braces in a progress message, not a document: skip it.
        }
      }
    }
  }
  return objects;
}

export interface Figure {
  name: string;
  unit: string;
  better: 'lower' | 'higher';
  runs: number[];
  median: number;
  worst: number;
  baseline?: number;
  /** The median over the baseline's median, turned so that above 1 is always worse. */
  worseBy?: number;
}

/** Median and worst of the runs (worst: the slowest time, the lowest rate or score). */
export function summarise(better: 'lower' | 'higher', runs: readonly number[]): { median: number; worst: number } {
  if (runs.length === 0) throw new Error('no runs to summarise');
  const sorted = [...runs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, worst: better === 'lower' ? sorted.at(-1)! : sorted[0]! };
}

/** How much worse a median is than the baseline's: above 1 is worse whichever way is better. */
export function worseBy(better: 'lower' | 'higher', median: number, baseline: number | undefined): number | undefined {
  if (baseline === undefined || baseline === 0 || median === 0) return undefined;
  return better === 'lower' ? median / baseline : baseline / median;
}
