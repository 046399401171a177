// Scoring a linkage against labels a data-quality officer holds (record_id,cluster_id):
// pairwise precision and recall say how many joined pairs are right and how many true
// pairs were found; cluster precision and recall say how many persons came out exactly right.
// Labels can also be decided pairs (record_a,record_b,same), such as a review queue's decisions.

import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { LinkInputError } from './csv-input.ts';

export interface Scores {
  precision: number;
  recall: number;
  f1: number;
}

export interface Evaluation {
  /** Records both in the output and in the labels (the only ones scored). */
  labelled: number;
  /** Output records the labels do not mention. */
  unlabelled: number;
  pairs: Scores & { truePositives: number; falsePositives: number; falseNegatives: number };
  /** A predicted cluster counts when it holds exactly the records of one true cluster. */
  clusters: Scores & { exact: number; predicted: number; true: number };
}

function scores(truePositives: number, predicted: number, actual: number): Scores {
  const precision = predicted === 0 ? 1 : truePositives / predicted;
  const recall = actual === 0 ? 1 : truePositives / actual;
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

const pairsOf = (size: number): number => (size * (size - 1)) / 2;

/** Scores predicted clusters against true ones, from counts per cluster (linear in records). */
export function evaluateClusters(
  rows: readonly { recordId: string; clusterId: string }[],
  labels: ReadonlyMap<string, string>,
): Evaluation {
  const predictedSize = new Map<string, number>();
  const trueSize = new Map<string, number>();
  const cellSize = new Map<string, number>();
  /** Per predicted cluster: its one true cluster, or null once it holds two. */
  const trueOfPredicted = new Map<string, string | null>();
  let labelled = 0;
  for (const { recordId, clusterId } of rows) {
    const truth = labels.get(recordId);
    if (truth === undefined) continue;
    labelled++;
    predictedSize.set(clusterId, (predictedSize.get(clusterId) ?? 0) + 1);
    trueSize.set(truth, (trueSize.get(truth) ?? 0) + 1);
    const cell = `${clusterId}\u0000${truth}`;
    cellSize.set(cell, (cellSize.get(cell) ?? 0) + 1);
    const seen = trueOfPredicted.get(clusterId);
    trueOfPredicted.set(clusterId, seen === undefined || seen === truth ? truth : null);
  }
  let truePositives = 0;
  for (const size of cellSize.values()) truePositives += pairsOf(size);
  let predictedPairs = 0;
  for (const size of predictedSize.values()) predictedPairs += pairsOf(size);
  let truePairs = 0;
  for (const size of trueSize.values()) truePairs += pairsOf(size);
  let exact = 0;
  for (const [cluster, truth] of trueOfPredicted) if (truth !== null && trueSize.get(truth) === predictedSize.get(cluster)) exact++;
  return {
    labelled,
    unlabelled: rows.length - labelled,
    pairs: {
      ...scores(truePositives, predictedPairs, truePairs),
      truePositives,
      falsePositives: predictedPairs - truePositives,
      falseNegatives: truePairs - truePositives,
    },
    clusters: { ...scores(exact, predictedSize.size, trueSize.size), exact, predicted: predictedSize.size, true: trueSize.size },
  };
}

async function readLabelRows(path: string): Promise<Record<string, string>[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new LinkInputError(`cannot read labels file '${path}'`);
  }
  try {
    return parse(text, { columns: true, bom: true, trim: true, skip_empty_lines: true }) as Record<string, string>[];
  } catch (error) {
    throw new LinkInputError(`cannot parse labels '${path}' as CSV: ${(error as Error).message}`);
  }
}

const LABEL_SHAPES = 'record_id,cluster_id (who is who) or record_a,record_b,same (decided pairs)';

/** Reads record_id,cluster_id labels (the same shape `joinery link` writes). */
export async function readLabels(path: string): Promise<Map<string, string>> {
  const labels = await readAnyLabels(path);
  if (labels.kind !== 'clusters') throw new LinkInputError(`labels file '${path}' needs columns record_id,cluster_id`);
  return labels.clusters;
}

export type Labels = { kind: 'clusters'; clusters: Map<string, string> } | { kind: 'pairs'; pairs: PairLabel[] };

/** Reads labels of either shape, told apart by their columns. */
export async function readAnyLabels(path: string): Promise<Labels> {
  const rows = await readLabelRows(path);
  const first = rows[0];
  if (first && 'record_id' in first && 'cluster_id' in first) {
    return { kind: 'clusters', clusters: new Map(rows.map((row) => [row.record_id!, row.cluster_id!])) };
  }
  if (first && 'record_a' in first && 'record_b' in first && 'same' in first)
    return { kind: 'pairs', pairs: pairLabelsFromRows(rows, path) };
  throw new LinkInputError(`labels file '${path}' needs columns ${LABEL_SHAPES}`);
}

const figure = (value: number): string => value.toFixed(3);
const count = (value: number): string => value.toLocaleString('en-GB');

/** The evaluation as a short table for a person reading a terminal. */
export function formatEvaluation(evaluation: Evaluation, labelsPath: string): string {
  const { pairs, clusters } = evaluation;
  return [
    `Against ${labelsPath}: ${count(evaluation.labelled)} records labelled` +
      (evaluation.unlabelled > 0
        ? ` (${count(evaluation.unlabelled)} ${evaluation.unlabelled === 1 ? 'record' : 'records'} not in the labels left out)`
        : ''),
    '             precision  recall  F1',
    `  pairs      ${figure(pairs.precision)}      ${figure(pairs.recall)}   ${figure(pairs.f1)}` +
      `   ${count(pairs.truePositives)} pairs joined rightly, ${count(pairs.falsePositives)} wrongly, ${count(pairs.falseNegatives)} missed`,
    `  persons    ${figure(clusters.precision)}      ${figure(clusters.recall)}   ${figure(clusters.f1)}` +
      `   ${count(clusters.exact)} of ${count(clusters.predicted)} persons found are exactly one true person; ${count(clusters.true)} true persons`,
  ].join('\n');
}

/** A pair a person has labelled: the same person or not. */
export interface PairLabel {
  recordA: string;
  recordB: string;
  same: boolean;
}

export interface PairEvaluation {
  /** Labelled pairs whose two records are both in the output. */
  labelled: number;
  /** Labelled pairs with a record the output does not hold. */
  missing: number;
  pairs: Scores & { truePositives: number; falsePositives: number; falseNegatives: number; trueNegatives: number };
}

/**
 * Scores an output against pairs someone decided (a review queue's decisions, a clerical
 * sample): precision among labelled pairs it joined, recall among labelled same pairs. Only the
 * labelled pairs count, so these figures describe the doubtful pairs people were asked about.
 */
export function evaluatePairLabels(rows: readonly { recordId: string; clusterId: string }[], labels: readonly PairLabel[]): PairEvaluation {
  const clusterOf = new Map(rows.map((row) => [row.recordId, row.clusterId]));
  let truePositives = 0;
  let falsePositives = 0;
  let falseNegatives = 0;
  let trueNegatives = 0;
  let missing = 0;
  for (const label of labels) {
    const a = clusterOf.get(label.recordA);
    const b = clusterOf.get(label.recordB);
    if (a === undefined || b === undefined) {
      missing++;
      continue;
    }
    const joined = a === b;
    if (joined && label.same) truePositives++;
    else if (joined) falsePositives++;
    else if (label.same) falseNegatives++;
    else trueNegatives++;
  }
  return {
    labelled: labels.length - missing,
    missing,
    pairs: {
      ...scores(truePositives, truePositives + falsePositives, truePositives + falseNegatives),
      truePositives,
      falsePositives,
      falseNegatives,
      trueNegatives,
    },
  };
}

const SAME_WORDS = new Set(['1', 'true', 'yes', 'same', 'match', 'y']);
const DIFFERENT_WORDS = new Set(['0', 'false', 'no', 'different', 'non-match', 'nonmatch', 'n']);

/**
 * Reads pairs a person decided for `joinery link --decisions`: record_a,record_b,same, the shape
 * `--review` writes. A row whose `same` is left blank is not decided yet and is skipped.
 */
export async function readDecisions(path: string): Promise<PairLabel[]> {
  const rows = await readLabelRows(path);
  const first = rows[0];
  if (first && !('record_a' in first && 'record_b' in first && 'same' in first)) {
    throw new LinkInputError(`decisions file '${path}' needs columns record_a,record_b,same (as --review writes)`);
  }
  const decided = (row: Record<string, string>) => (row.same ?? '').trim() !== '';
  return pairLabelsFromRows(
    rows.filter(decided),
    path,
    rows.flatMap((row, i) => (decided(row) ? [i + 2] : [])),
    'decisions file',
  );
}

/** Parses record_a,record_b,same rows (the shape `joinery review-labels` writes); `lines` are their line numbers in the file. */
export function pairLabelsFromRows(
  rows: readonly Record<string, string>[],
  path: string,
  lines?: readonly number[],
  what = 'labels file',
): PairLabel[] {
  return rows.map((row, i) => {
    const line = lines?.[i] ?? i + 2;
    const word = (row.same ?? '').trim().toLowerCase();
    if (!SAME_WORDS.has(word) && !DIFFERENT_WORDS.has(word)) {
      throw new LinkInputError(`${what} '${path}' row ${line}: 'same' must be yes or no (or true/false, 1/0), got '${row.same ?? ''}'`);
    }
    if (!row.record_a || !row.record_b)
      throw new LinkInputError(`labels file '${path}' row ${line}: record_a and record_b are both needed`);
    return { recordA: row.record_a, recordB: row.record_b, same: SAME_WORDS.has(word) };
  });
}

/** The pair evaluation as a short table for a terminal. */
export function formatPairEvaluation(evaluation: PairEvaluation, labelsPath: string): string {
  const { pairs } = evaluation;
  return [
    `Against the labelled pairs in ${labelsPath}: ${count(evaluation.labelled)} pairs scored` +
      (evaluation.missing > 0 ? ` (${count(evaluation.missing)} with a record not in this output left out)` : ''),
    '             precision  recall  F1',
    `  pairs      ${figure(pairs.precision)}      ${figure(pairs.recall)}   ${figure(pairs.f1)}` +
      `   ${count(pairs.truePositives)} joined rightly, ${count(pairs.falsePositives)} wrongly, ${count(pairs.falseNegatives)} missed, ${count(pairs.trueNegatives)} rightly kept apart`,
  ].join('\n');
}
