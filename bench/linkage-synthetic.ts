// Benchmark: link every agency record of a synthetic place (deduplication, the same pipeline as
// `joinery link`: the records go in as columns, as the command reads a file) and score it against
// the generator's truth; then time online matching of single records against an index of everyone.
//
//   node bench/linkage-synthetic.ts [--people 100000] [--seed 7] [--workers 2] [--online 2000] [--bulk 200000]
//   node bench/linkage-synthetic.ts --people 1000000 --csv DIR
//
// With --csv the same records are written to DIR/records.csv and DIR/truth.csv (record_id,cluster_id)
// instead of being linked, and the `joinery link` arguments that link them are printed: the CLI's
// figures (reading the file included) on the same records.
//
// Prints one JSON object: people, records, pairwise precision/recall/F1, seconds, peak RSS,
// online p50/p99 in milliseconds, and the bulk matching rate: --bulk records sent again under new ids
// (as a bulk import does: raw fields interned once, decision-only matching, then added), on this
// thread alone, with no database.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createPlaceFrame, generateHouseholds } from '../src/synth/generate.ts';
import { linkColumns } from '../src/linkage/link.ts';
import { RawColumnsBuilder } from '../src/linkage/prepare.ts';
import {
  addInternedRecord,
  addPreparedRecord,
  createLinkageIndex,
  internFields,
  matchInternedRecord,
  matchRecord,
} from '../src/linkage/online.ts';
import { pairwiseScores } from '../src/linkage/person-index.ts';
import type { LinkRecord } from '../src/linkage/types.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '7' },
    workers: { type: 'string', default: '2' },
    online: { type: 'string', default: '2000' },
    bulk: { type: 'string', default: '200000' },
    csv: { type: 'string' },
  },
});
const people = Number(values.people.replace(/_/g, ''));
const seed = Number(values.seed);
const onlineSamples = Number(values.online);

function peakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

// The records are held as `joinery link` holds a file it reads: in columns (each distinct value of
// a field once), ids in a list, not an object per record, so the process measures linking rather
// than the generator's output. `recordAt` makes a record's object when one is needed.
const FIELDS = ['given_name', 'family_name', 'birth_date', 'sex', 'postcode', 'address', 'nhs_number', 'phone', 'email'] as const;
const started = performance.now();
const builder = new RawColumnsBuilder(FIELDS);
const ids: string[] = [];
const truth: string[] = [];
let generatedPeople = 0;
for (const bundle of generateHouseholds(createPlaceFrame({ seed, people }), { seed, people })) {
  generatedPeople += bundle.people.length;
  for (const r of bundle.sourceRecords) {
    builder.beginRecord();
    [r.givenName, r.familyName, r.birthDate, r.sex, r.postcode, r.addressLine, r.nhsNumber, r.phone, r.email].forEach((value, column) => {
      if (value) builder.setValue(column, value);
    });
    ids.push(`${r.source}:${r.sourceId}`);
    truth.push(r.truePersonId);
  }
}
const input = builder.build({ count: ids.length, get: (record) => ids[record]! });
// Linking lets go of the columns once prepared: keep them for the records asked for afterwards.
const { rawIds, raw } = input;
function recordAt(record: number): LinkRecord {
  const fields: LinkRecord['fields'] = {};
  FIELDS.forEach((field, column) => {
    const number = rawIds[record * FIELDS.length + column]!;
    if (number >= 0) fields[field] = raw[column]![number]!;
  });
  return { id: ids[record]!, fields, text: {} };
}
const recordCount = ids.length;
const generated = performance.now();

if (values.csv !== undefined) {
  const directory = values.csv;
  mkdirSync(directory, { recursive: true });
  const columns = FIELDS;
  const quoted = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  const write = (path: string, header: string, line: (i: number) => string): void => {
    const fd = openSync(path, 'w');
    let chunk = header + '\n';
    for (let i = 0; i < recordCount; i++) {
      chunk += line(i) + '\n';
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
    closeSync(fd);
  };
  const recordsFile = join(directory, 'records.csv');
  const truthFile = join(directory, 'truth.csv');
  write(recordsFile, ['record_id', ...columns].join(','), (i) => {
    const record = recordAt(i);
    return [record.id, ...columns.map((column) => record.fields[column] ?? '')].map(quoted).join(',');
  });
  write(truthFile, 'record_id,cluster_id', (i) => `${quoted(ids[i]!)},${truth[i]}`);
  process.stdout.write(
    JSON.stringify(
      {
        people: generatedPeople,
        records: recordCount,
        recordsFile,
        truthFile,
        link: [
          '--input',
          recordsFile,
          '--id-column',
          'record_id',
          '--map',
          columns.map((column) => `${column}=${column}`).join(','),
          '--labels',
          truthFile,
        ],
      },
      null,
      2,
    ) + '\n',
  );
  process.exit(0);
}

// Seconds from the start of linking to the start of each stage.
const stageStarts: Record<string, number> = {};
const result = await linkColumns(input, {
  workers: Number(values.workers),
  onProgress: (event) => {
    stageStarts[event.stage] ??= Math.round((performance.now() - generated) / 100) / 10;
  },
});
const linked = performance.now();
const linkPeakRssMiB = peakRssMiB();
const scores = pairwiseScores(result.clusterOf.map(String), truth);

// Online: an index of every record but a held-out sample, then each held-out record alone.
const step = Math.max(1, Math.floor(recordCount / onlineSamples));
const heldOut = new Set<number>();
for (let i = 0; i < recordCount && heldOut.size < onlineSamples; i += step) heldOut.add(i);
const index = createLinkageIndex(result.model);
for (let i = 0; i < recordCount; i++) if (!heldOut.has(i)) addPreparedRecord(index, result.prepared[i]!, `c${result.clusterOf[i]}`);
const indexed = performance.now();
const clusterSize = new Map<number, number>();
for (let i = 0; i < recordCount; i++)
  if (!heldOut.has(i)) clusterSize.set(result.clusterOf[i]!, (clusterSize.get(result.clusterOf[i]!) ?? 0) + 1);
const latencies: number[] = [];
const decisions: Record<string, number> = { link: 0, review: 0, new: 0 };
let correctOnline = 0;
for (const i of heldOut) {
  const t0 = performance.now();
  const match = matchRecord(index, result.model, recordAt(i));
  latencies.push(performance.now() - t0);
  decisions[match.decision] = (decisions[match.decision] ?? 0) + 1;
  const alone = !clusterSize.has(result.clusterOf[i]!);
  if (alone ? match.decision === 'new' : match.decision === 'link' && match.personId === `c${result.clusterOf[i]}`) correctOnline++;
}
latencies.sort((a, b) => a - b);

// Bulk: records sent again under new ids, spread over the whole place.
const bulkCount = Math.min(Number(values.bulk), recordCount);
const bulkStep = recordCount / Math.max(1, bulkCount);
const bulkDecisions: Record<string, number> = { link: 0, review: 0, new: 0 };
const bulkStarted = performance.now();
for (let k = 0; k < bulkCount; k++) {
  const record = recordAt(Math.floor(k * bulkStep));
  const interned = internFields(index, `again:${k}`, record.fields);
  const match = matchInternedRecord(index, result.model, interned, { decisionOnly: true });
  bulkDecisions[match.decision] = (bulkDecisions[match.decision] ?? 0) + 1;
  addInternedRecord(index, interned, match.personId ?? `again:${k}`);
}
const bulkSeconds = (performance.now() - bulkStarted) / 1000;
const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;
process.stdout.write(
  JSON.stringify(
    {
      people: generatedPeople,
      records: recordCount,
      candidatePairs: result.candidatePairCount,
      precision: round(scores.precision),
      recall: round(scores.recall),
      f1: round(scores.f1),
      generateSeconds: round((generated - started) / 1000, 1),
      linkSeconds: round((linked - generated) / 1000, 1),
      stageStarts,
      linkPeakRssMiB,
      peakRssMiB: peakRssMiB(),
      online: {
        indexedRecords: recordCount - heldOut.size,
        indexSeconds: round((indexed - linked) / 1000, 1),
        samples: latencies.length,
        p50ms: round(quantile(0.5), 3),
        p99ms: round(quantile(0.99), 3),
        decisions,
        agreesWithBatch: round(correctOnline / Math.max(1, latencies.length), 3),
      },
      bulk: {
        records: bulkCount,
        seconds: round(bulkSeconds, 2),
        recordsPerSecond: Math.round(bulkCount / bulkSeconds),
        decisions: bulkDecisions,
      },
    },
    null,
    2,
  ) + '\n',
);
