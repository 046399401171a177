// The `joinery link` pipeline without the terminal: read the CSV files, link,
// number the clusters, write the output. Shared by the CLI and the benchmark.

import { access, constants, open, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LinkInputError, parseMappings, readLinkColumns } from './csv-input.ts';
import type { FieldMapping } from './csv-input.ts';
import { linkColumns } from './link.ts';
import type { LinkResult } from './link.ts';
import { probabilityFromWeight } from './model.ts';
import type { PairLabel } from './evaluate.ts';
import type { RecordIds } from './prepare.ts';
import type { ProgressCallback } from './types.ts';

export interface LinkJob {
  /** One file: deduplicate it. Two files: link across them (duplicates within each still cluster). */
  inputs: readonly string[];
  idColumn: string;
  /** `SRC=FIELD[,SRC=FIELD...]` options as given on the command line. */
  maps: readonly string[];
  workers?: number;
  onProgress?: ProgressCallback;
  /** Count every candidate pair's weight (the model report's histogram). */
  weightHistogram?: boolean;
  /** Keep the pairs in the review band too (the model report measures them against labels; --review lists them). */
  collectUncertain?: boolean;
  /** Pairs a person decided (--decisions): the same are joined first, the different never share a person. */
  decisions?: readonly PairLabel[];
}

export interface ClusterRow {
  recordId: string;
  clusterId: string;
}

export interface LinkJobResult {
  mappings: FieldMapping[];
  rows: ClusterRow[];
  result: LinkResult;
  /** Each record's id by position in the input. */
  recordIds: RecordIds;
  /** The decided pairs (LinkJob.decisions) by record position, both kinds. */
  decidedPairs: readonly (readonly [number, number])[];
}

export async function runLinkJob(job: LinkJob): Promise<LinkJobResult> {
  if (job.inputs.length === 0) throw new LinkInputError('no input: give --input FILE (once to deduplicate, twice to link)');
  if (job.inputs.length > 2) throw new LinkInputError('at most two --input files can be linked');
  if (job.idColumn.trim() === '') throw new LinkInputError('no id column: give --id-column NAME');
  const mappings = parseMappings(job.maps);
  // Read straight into columns: a file of millions of records becomes a few typed arrays and
  // its distinct values, which linking lets go of once prepared (it keeps the record ids).
  const input = await readLinkColumns(job.inputs, job.idColumn, mappings);
  const decided = job.decisions ? decisionsByPosition(job.decisions, input.recordIds) : undefined;
  const result = await linkColumns(input, {
    workers: job.workers,
    onProgress: job.onProgress,
    weightHistogram: job.weightHistogram,
    collectUncertain: job.collectUncertain,
    mustLink: decided?.mustLink,
    cannotLink: decided?.cannotLink,
  });
  return {
    mappings,
    rows: clusterRows(input.recordIds, result.clusterOf),
    result,
    recordIds: input.recordIds,
    decidedPairs: decided ? [...decided.mustLink, ...decided.cannotLink] : [],
  };
}

/** Decided pairs by record position (the first record with each id, found in one pass over the ids); a record the input does not hold is bad input, named. */
function decisionsByPosition(
  decisions: readonly PairLabel[],
  ids: RecordIds,
): { mustLink: [number, number][]; cannotLink: [number, number][] } {
  const wanted = new Set(decisions.flatMap((decision) => [decision.recordA, decision.recordB]));
  const positionOf = new Map<string, number>();
  for (let position = 0; position < ids.count && positionOf.size < wanted.size; position++) {
    const id = ids.get(position);
    if (wanted.has(id) && !positionOf.has(id)) positionOf.set(id, position);
  }
  const mustLink: [number, number][] = [];
  const cannotLink: [number, number][] = [];
  for (const decision of decisions) {
    const a = positionOf.get(decision.recordA);
    const b = positionOf.get(decision.recordB);
    const unknown = a === undefined ? decision.recordA : b === undefined ? decision.recordB : undefined;
    if (unknown !== undefined) throw new LinkInputError(`decisions: record '${unknown}' is not in the input`);
    (decision.same ? mustLink : cannotLink).push([a!, b!]);
  }
  return { mustLink, cannotLink };
}

/** A pair worth a person's look: two records the model doubts, or linked records clustering kept apart. */
export interface DoubtfulPair {
  a: number;
  b: number;
  probability: number;
}

/**
 * The pairs a person should decide, most likely first: every pair in the review band (needs
 * `collectUncertain`) and every link above the threshold whose records clustering left in two
 * persons (a link the rest of a cluster did not bear out), leaving out pairs already decided.
 */
export function doubtfulPairs(result: LinkResult, decidedPairs: readonly (readonly [number, number])[] = []): DoubtfulPair[] {
  const decidedKeys = new Set(decidedPairs.map(([a, b]) => `${Math.min(a, b)} ${Math.max(a, b)}`));
  const pairs: DoubtfulPair[] = [];
  const consider = (a: number, b: number, weight: number) => {
    if (decidedKeys.has(`${Math.min(a, b)} ${Math.max(a, b)}`)) return;
    pairs.push({ a, b, probability: probabilityFromWeight(weight) });
  };
  for (const link of result.uncertainPairs)
    if (result.clusterOf[link.a] !== result.clusterOf[link.b]) consider(link.a, link.b, link.weight);
  for (const link of result.links) if (result.clusterOf[link.a] !== result.clusterOf[link.b]) consider(link.a, link.b, link.weight);
  return pairs.sort((x, y) => y.probability - x.probability || x.a - y.a || x.b - y.b);
}

/**
 * Writes the pairs for a person to decide: record_a,record_b,match_probability,same (left blank
 * to fill in with yes or no), then each mapped field of the two records as the comparison saw it
 * (normalised). The file goes back as --decisions once filled in.
 */
export async function writeReviewCsv(
  path: string,
  result: LinkResult,
  pairs: readonly DoubtfulPair[],
  recordIds: RecordIds,
): Promise<void> {
  const keys = result.specs.map((spec) => spec.key);
  const header = ['record_a', 'record_b', 'match_probability', 'same', ...keys.flatMap((key) => [`a ${key}`, `b ${key}`])];
  await writeCsvFile(
    path,
    'review file',
    header,
    (function* () {
      for (const pair of pairs) {
        const a = result.prepared[pair.a]!;
        const b = result.prepared[pair.b]!;
        const values = keys.flatMap((_, slot) => [a.values[slot]?.value ?? '', b.values[slot]?.value ?? '']);
        yield [recordIds.get(pair.a), recordIds.get(pair.b), pair.probability.toFixed(4), '', ...values].map(csvField).join(',');
      }
    })(),
  );
}

/**
 * One row per record: its id and cluster number (from 1), worked out when read. A row holds only
 * its position, so a million rows cost a few dozen megabytes, not a string or two each.
 */
function clusterRows(ids: RecordIds, clusterOf: readonly number[]): ClusterRow[] {
  class Row implements ClusterRow {
    readonly position: number;
    constructor(position: number) {
      this.position = position;
    }
    get recordId(): string {
      return ids.get(this.position);
    }
    get clusterId(): string {
      return String(clusterOf[this.position]! + 1);
    }
  }
  return Array.from({ length: ids.count }, (_, position) => new Row(position));
}

/** A CSV field as csv-stringify writes it: quoted when it holds a comma, a quote or a line break. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Writes record_id,cluster_id rows. */
export async function writeClusterCsv(path: string, rows: readonly ClusterRow[]): Promise<void> {
  await writeCsvFile(
    path,
    'output file',
    ['record_id', 'cluster_id'],
    (function* () {
      for (const row of rows) yield `${csvField(row.recordId)},${csvField(row.clusterId)}`;
    })(),
  );
}

/** Writes a CSV file from its lines, a chunk at a time (the whole file is never one string); `what` names it in a failure. */
async function writeCsvFile(path: string, what: string, header: readonly string[], lines: Iterable<string>): Promise<void> {
  try {
    const file = await open(path, 'w');
    try {
      let chunk = header.map(csvField).join(',') + '\n';
      for (const line of lines) {
        chunk += line + '\n';
        if (chunk.length >= 1 << 20) {
          await file.write(chunk);
          chunk = '';
        }
      }
      await file.write(chunk);
    } finally {
      await file.close();
    }
  } catch (error) {
    throw new LinkInputError(`cannot write ${what} '${path}': ${(error as Error).message}`);
  }
}

/**
 * Fails at once, before a long run, when a file could not be written at the end: its folder is
 * missing or read-only, or the path is a folder.
 */
export async function checkWritable(path: string, what: string): Promise<void> {
  const existing = await stat(path).catch(() => null);
  if (existing?.isDirectory()) throw new LinkInputError(`cannot write ${what} '${path}': it is a folder`);
  try {
    await access(existing ? path : dirname(path), constants.W_OK);
  } catch {
    throw new LinkInputError(
      existing
        ? `cannot write ${what} '${path}': permission denied`
        : `cannot write ${what} '${path}': folder '${dirname(path)}' does not exist or cannot be written`,
    );
  }
}

export async function writeReportFile(path: string, html: string): Promise<void> {
  try {
    await writeFile(path, html);
  } catch (error) {
    throw new LinkInputError(`cannot write report file '${path}': ${(error as Error).message}`);
  }
}
