// Linkage quality on foreign data (bench/foreign-data.ts: shapes Joinery's generator never
// writes, no NHS numbers): each file is written to CSV and linked by the same pipeline as
// `joinery link`, then scored against its labels as `--labels` does, with recall per error
// type (true pairs where either record went through that error).
//
//   node bench/linkage-foreign.ts [--records 1000,50000] [--shape A,B,H] [--seed 1] [--workers 2]
//
// Prints one JSON object per line, one per shape and size.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateClusters } from '../src/linkage/evaluate.ts';
import { runLinkJob } from '../src/linkage/job.ts';
import { foreignData, writeForeignData } from './foreign-data.ts';
import type { Shape } from './foreign-data.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000,50000' },
    shape: { type: 'string', default: 'A,B,H' },
    seed: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
  },
});

const round = (value: number, digits = 4): number => Number(value.toFixed(digits));
const directory = mkdtempSync(join(tmpdir(), 'joinery-foreign-'));
try {
  for (const size of values.records.split(',').map((text) => Number(text.replace(/_/g, '')))) {
    for (const shape of values.shape.toUpperCase().split(',') as Shape[]) {
      const data = foreignData({ records: size, seed: Number(values.seed), shape });
      const files = writeForeignData(data, join(directory, `${shape}-${size}`));
      const started = performance.now();
      const { rows, result } = await runLinkJob({
        inputs: [files.recordsFile],
        idColumn: data.idColumn,
        maps: [data.map],
        workers: Number(values.workers),
      });
      const seconds = (performance.now() - started) / 1000;
      const labels = new Map(data.truth.map(([id, cluster]) => [id, String(cluster)]));
      const evaluation = evaluateClusters(rows, labels);

      // Recall per error type: a true pair counts under every error either of its records went through.
      const membersOf = new Map<number, number[]>();
      data.truth.forEach(([, cluster], record) => {
        const members = membersOf.get(cluster);
        if (members) members.push(record);
        else membersOf.set(cluster, [record]);
      });
      const found = new Map<string, [number, number]>();
      for (const members of membersOf.values()) {
        for (let x = 0; x < members.length; x++) {
          for (let y = x + 1; y < members.length; y++) {
            const a = members[x]!;
            const b = members[y]!;
            const joined = rows[a]!.clusterId === rows[b]!.clusterId;
            for (const kind of new Set([...data.errorsOf[a]!, ...data.errorsOf[b]!])) {
              const tally = found.get(kind) ?? [0, 0];
              tally[0] += joined ? 1 : 0;
              tally[1]++;
              found.set(kind, tally);
            }
          }
        }
      }
      const recallByError = Object.fromEntries(
        [...found].sort().map(([kind, [joined, total]]) => [kind, { recall: round(joined / total, 3), pairs: total }]),
      );
      console.log(
        JSON.stringify({
          shape,
          records: rows.length,
          people: data.people,
          candidatePairs: result.candidatePairCount,
          pairs: {
            precision: round(evaluation.pairs.precision),
            recall: round(evaluation.pairs.recall),
            f1: round(evaluation.pairs.f1),
            wrong: evaluation.pairs.falsePositives,
            missed: evaluation.pairs.falseNegatives,
          },
          persons: {
            precision: round(evaluation.clusters.precision),
            recall: round(evaluation.clusters.recall),
            f1: round(evaluation.clusters.f1),
          },
          seconds: round(seconds, 2),
          recallByError,
        }),
      );
    }
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
