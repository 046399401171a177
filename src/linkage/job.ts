// The `joinery link` pipeline without the terminal: read the CSV files, link,
// number the clusters, write the output. Shared by the CLI and the benchmark.

import { access, constants, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { LinkInputError, parseMappings, readLinkRecords } from './csv-input.ts';
import type { FieldMapping } from './csv-input.ts';
import { linkRecords } from './link.ts';
import type { LinkResult } from './link.ts';
import type { LinkRecord, ProgressCallback } from './types.ts';

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
  /** Keep the pairs in the review band too (the model report measures them against labels). */
  collectUncertain?: boolean;
}

export interface ClusterRow {
  recordId: string;
  clusterId: string;
}

export interface LinkJobResult {
  records: LinkRecord[];
  mappings: FieldMapping[];
  rows: ClusterRow[];
  result: LinkResult;
}

export async function runLinkJob(job: LinkJob): Promise<LinkJobResult> {
  if (job.inputs.length === 0) throw new LinkInputError('no input: give --input FILE (once to deduplicate, twice to link)');
  if (job.inputs.length > 2) throw new LinkInputError('at most two --input files can be linked');
  if (job.idColumn.trim() === '') throw new LinkInputError('no id column: give --id-column NAME');
  const mappings = parseMappings(job.maps);
  const records: LinkRecord[] = [];
  for (const input of job.inputs) {
    // One by one: spreading millions of records into push() overflows the call stack.
    for (const record of await readLinkRecords(input, job.idColumn, mappings)) records.push(record);
  }
  const result = await linkRecords(records, {
    workers: job.workers, onProgress: job.onProgress, weightHistogram: job.weightHistogram, collectUncertain: job.collectUncertain,
  });
  const rows = records.map((record, index) => ({ recordId: record.id, clusterId: String(result.clusterOf[index]! + 1) }));
  return { records, mappings, rows, result };
}

export async function writeClusterCsv(path: string, rows: readonly ClusterRow[]): Promise<void> {
  const csv = stringify(
    rows.map((row) => [row.recordId, row.clusterId]),
    { header: true, columns: ['record_id', 'cluster_id'] },
  );
  try {
    await writeFile(path, csv);
  } catch (error) {
    throw new LinkInputError(`cannot write output file '${path}': ${(error as Error).message}`);
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
    throw new LinkInputError(existing
      ? `cannot write ${what} '${path}': permission denied`
      : `cannot write ${what} '${path}': folder '${dirname(path)}' does not exist or cannot be written`);
  }
}

export async function writeReportFile(path: string, html: string): Promise<void> {
  try {
    await writeFile(path, html);
  } catch (error) {
    throw new LinkInputError(`cannot write report file '${path}': ${(error as Error).message}`);
  }
}
