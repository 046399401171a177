// Benchmark: writes a synthetic place of `--people N` (default 100,000) to a temporary directory
// and prints one JSON line: { people, seconds, peoplePerSecond, files, bytes }.
// Usage: node bench/synth-generate.ts --people 1000000 [--seed 1] [--keep]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writePlaceCsv } from '../src/synth/write-csv.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
  },
});

const outDir = await mkdtemp(join(tmpdir(), 'joinery-synth-'));
try {
  const summary = await writePlaceCsv({ seed: Number(values.seed), people: Number(values.people), outDir });
  console.log(
    JSON.stringify({
      people: summary.people,
      seconds: Math.round(summary.seconds * 100) / 100,
      peoplePerSecond: Math.round(summary.people / summary.seconds),
      files: summary.files,
      bytes: summary.bytes,
      ...(values.keep ? { outDir } : {}),
    }),
  );
} finally {
  if (!values.keep) await rm(outDir, { recursive: true, force: true });
}
