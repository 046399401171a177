// Scoring a linkage against labels a data-quality officer holds (record_id,cluster_id):
// pairwise precision and recall say how many joined pairs are right and how many true
// pairs were found; cluster precision and recall say how many persons came out exactly right.

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
      truePositives, falsePositives: predictedPairs - truePositives, falseNegatives: truePairs - truePositives,
    },
    clusters: { ...scores(exact, predictedSize.size, trueSize.size), exact, predicted: predictedSize.size, true: trueSize.size },
  };
}

/** Reads record_id,cluster_id labels (the same shape `joinery link` writes). */
export async function readLabels(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new LinkInputError(`cannot read labels file '${path}'`);
  }
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, bom: true, trim: true, skip_empty_lines: true }) as Record<string, string>[];
  } catch (error) {
    throw new LinkInputError(`cannot parse labels '${path}' as CSV: ${(error as Error).message}`);
  }
  const first = rows[0];
  if (!first || !('record_id' in first) || !('cluster_id' in first)) {
    throw new LinkInputError(`labels file '${path}' needs columns record_id,cluster_id`);
  }
  return new Map(rows.map((row) => [row.record_id!, row.cluster_id!]));
}

const figure = (value: number): string => value.toFixed(3);
const count = (value: number): string => value.toLocaleString('en-GB');

/** The evaluation as a short table for a person reading a terminal. */
export function formatEvaluation(evaluation: Evaluation, labelsPath: string): string {
  const { pairs, clusters } = evaluation;
  return [
    `Against ${labelsPath}: ${count(evaluation.labelled)} records labelled`
      + (evaluation.unlabelled > 0 ? ` (${count(evaluation.unlabelled)} ${evaluation.unlabelled === 1 ? 'record' : 'records'} not in the labels left out)` : ''),
    '             precision  recall  F1',
    `  pairs      ${figure(pairs.precision)}      ${figure(pairs.recall)}   ${figure(pairs.f1)}`
      + `   ${count(pairs.truePositives)} pairs joined rightly, ${count(pairs.falsePositives)} wrongly, ${count(pairs.falseNegatives)} missed`,
    `  persons    ${figure(clusters.precision)}      ${figure(clusters.recall)}   ${figure(clusters.f1)}`
      + `   ${count(clusters.exact)} of ${count(clusters.predicted)} persons found are exactly one true person; ${count(clusters.true)} true persons`,
  ].join('\n');
}
