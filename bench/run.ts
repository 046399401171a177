// One command for the figures the README reports: runs the key benchmarks (linkage on Joinery's
// place and on foreign data, bulk import, the access decision, the person page and search, the
// needs dashboard) several times each, one at a time, and prints the median and the worst of the
// runs with how busy the machine was before each run, and each median as a ratio to a committed
// baseline (bench/baseline.json), so a regression shows in any later change. Never the best run:
// a figure met once, on a lucky run, is not met.
//
//   node bench/run.ts [--people 20000] [--runs 3] [--only linkage,import,...] [--rate 400] [--workers 1]
//                     [--baseline bench/baseline.json] [--write-baseline] [--out results.json]
//
// --people scales every benchmark (the default fits a 2-core machine in about 15 minutes for
// three runs each); the foreign-data files have twice as many records as --people. Each
// benchmark runs as its own process and prints its own JSON (see its header for what it does).
// Prints one JSON object on stdout and a table on stderr.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createProgress } from '../src/platform/progress.ts';
import { at, jsonObjects, summarise, worseBy, type Figure } from './support/figures.ts';

const here = dirname(fileURLToPath(import.meta.url));

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    only: { type: 'string' },
    rate: { type: 'string', default: '400' },
    // Processes serving the person page (joinery serve --workers): one per core is the usual choice.
    workers: { type: 'string', default: '1' },
    baseline: { type: 'string', default: join(here, 'baseline.json') },
    'write-baseline': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

/** One figure a benchmark prints, and which way is better. */
interface Metric {
  name: string;
  unit: string;
  better: 'lower' | 'higher';
  pick: (output: unknown[]) => number | undefined;
}

interface Benchmark {
  id: string;
  what: string;
  script: string;
  args: (people: number) => string[];
  metrics: Metric[];
}

const BENCHMARKS: Benchmark[] = [
  {
    id: 'linkage',
    what: 'batch linking, online matching and bulk matching on the generated place',
    script: 'linkage-synthetic.ts',
    args: (people) => ['--people', String(people), '--online', '1000', '--bulk', String(Math.min(200_000, people * 2))],
    metrics: [
      { name: 'linkage F1 (generated place)', unit: '', better: 'higher', pick: at('f1') },
      { name: 'batch link time', unit: 's', better: 'lower', pick: at('linkSeconds') },
      { name: 'batch link peak RSS', unit: 'MiB', better: 'lower', pick: at('linkPeakRssMiB') },
      { name: 'online match p99', unit: 'ms', better: 'lower', pick: at('online.p99ms') },
      { name: 'bulk matching rate', unit: 'records/s', better: 'higher', pick: at('bulk.recordsPerSecond') },
    ],
  },
  {
    id: 'foreign',
    what: 'linking foreign-shaped files without NHS numbers (bench/foreign-data.ts)',
    script: 'linkage-foreign.ts',
    args: (people) => ['--records', String(people * 2), '--shape', 'A,B,H'],
    metrics: [
      { name: 'linkage F1 (foreign shape A)', unit: '', better: 'higher', pick: at('pairs.f1', (o) => o.shape === 'A') },
      { name: 'linkage precision (foreign shape A)', unit: '', better: 'higher', pick: at('pairs.precision', (o) => o.shape === 'A') },
      { name: 'linkage F1 (foreign shape B)', unit: '', better: 'higher', pick: at('pairs.f1', (o) => o.shape === 'B') },
      { name: 'linkage precision (foreign shape B)', unit: '', better: 'higher', pick: at('pairs.precision', (o) => o.shape === 'B') },
      { name: 'linkage F1 (historical register H)', unit: '', better: 'higher', pick: at('pairs.f1', (o) => o.shape === 'H') },
      {
        name: 'linkage precision (historical register H)',
        unit: '',
        better: 'higher',
        pick: at('pairs.precision', (o) => o.shape === 'H'),
      },
    ],
  },
  {
    id: 'import',
    what: 'bulk import into PostgreSQL, linking as it goes',
    script: 'import-rate.ts',
    args: (people) => ['--people', String(Math.max(2000, Math.round(people / 4))), '--copies', '2', '--skip-pglite', '--linked-only'],
    metrics: [
      { name: 'import rate, linking as it goes', unit: 'records/s', better: 'higher', pick: at('results.0.withLinking.recordsPerSecond') },
    ],
  },
  {
    id: 'import-messy',
    what: 'bulk import of a messy feed of people new to the place (no NHS numbers), linking as it goes',
    script: 'import-rate.ts',
    args: (people) => [
      '--people',
      String(Math.max(2000, Math.round(people / 4))),
      '--copies',
      '4',
      '--skip-pglite',
      '--linked-only',
      '--feed',
      'messy',
    ],
    metrics: [
      {
        name: 'import rate, messy feed of new people',
        unit: 'records/s',
        better: 'higher',
        pick: at('results.0.withLinking.recordsPerSecond'),
      },
    ],
  },
  {
    id: 'access',
    what: 'the access decision on PostgreSQL',
    script: 'access-decision.ts',
    args: (people) => ['--people', String(people * 5), '--samples', '3000'],
    metrics: [
      { name: 'access decision p99', unit: 'ms', better: 'lower', pick: at('decisionForAllCategoriesMs.p99') },
      { name: 'access decision with audit p99', unit: 'ms', better: 'lower', pick: at('decisionWithAuditMs.p99') },
    ],
  },
  {
    id: 'page',
    what: 'the person page and person search on PostgreSQL',
    script: 'person-page.ts',
    args: (people) => ['--people', String(people), '--rate', values.rate!, '--seconds', '15', '--workers', values.workers!],
    metrics: [
      { name: 'person page p99, paced', unit: 'ms', better: 'lower', pick: at('personPage.serverMs.p99') },
      { name: 'person page p99, autocannon bursts', unit: 'ms', better: 'lower', pick: at('personPageAutocannonBursts.serverMs.p99') },
      { name: 'person search p99', unit: 'ms', better: 'lower', pick: at('search.ms.p99') },
      { name: 'person search finds its person', unit: 'share', better: 'higher', pick: at('search.foundShare') },
      // CPU per request hardly moves when other work shares the machine, unlike the latencies above.
      {
        name: 'person page CPU, server + PostgreSQL',
        unit: 'µs',
        better: 'lower',
        pick: at('personPageAutocannonBursts.cpuUsPerRequest.total'),
      },
      { name: 'person search CPU, server + PostgreSQL', unit: 'µs', better: 'lower', pick: at('search.cpuUsPerQuery.total') },
    ],
  },
  {
    id: 'dashboard',
    what: 'the needs and inequality dashboard (PGlite, loaded in memory)',
    script: 'insight-dashboard.ts',
    args: (people) => ['--engine', 'pglite', '--people', String(people)],
    metrics: [
      { name: 'dashboard, per request', unit: 's', better: 'lower', pick: at('dashboard.medianSeconds') },
      { name: 'case-finding, all rules', unit: 's', better: 'lower', pick: at('casefinding.seconds') },
    ],
  },
];

/** CPU busy jiffies and total jiffies across all cores, from /proc/stat. */
function cpuTimes(): { busy: number; total: number } | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

/** Cores' worth of other work on the machine while nothing of ours runs, over a few seconds. */
async function otherWork(seconds = 3): Promise<number | null> {
  const before = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = cpuTimes();
  if (!before || !after || after.total === before.total) return null;
  return ((after.busy - before.busy) / (after.total - before.total)) * os.cpus().length;
}

function runScript(script: string, args: string[]): Promise<{ output: unknown[]; seconds: number; error?: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, script), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const lastError =
        stderr
          .trim()
          .split('\n')
          .filter((line) => !line.startsWith('{'))
          .at(-1) ?? '';
      resolve({ output: jsonObjects(stdout.trim()), seconds, ...(code === 0 ? {} : { error: `exit ${code}: ${lastError}` }) });
    });
  });
}

const people = Number(values.people);
const runs = Number(values.runs);
if (!Number.isInteger(people) || people < 1000)
  throw new Error(`--people must be a whole number of at least 1,000, got '${values.people}'`);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number of at least 1, got '${values.runs}'`);
const only = values.only
  ?.split(',')
  .map((id) => id.trim())
  .filter(Boolean);
const unknown = only?.filter((id) => !BENCHMARKS.some((b) => b.id === id)) ?? [];
if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}: choose from ${BENCHMARKS.map((b) => b.id).join(', ')}`);
const chosen = BENCHMARKS.filter((b) => !only || only.includes(b.id));

type Baseline = { people: number; date: string; figures: Record<string, number> };
const baseline: Baseline | undefined = existsSync(values.baseline!)
  ? (JSON.parse(readFileSync(values.baseline!, 'utf8')) as Baseline)
  : undefined;
const comparable = baseline !== undefined && baseline.people === people;

const startedAt = new Date();
const progress = createProgress('Benchmarks', chosen.length * runs);
const figures: Figure[] = [];
const runLog: Array<{
  benchmark: string;
  run: number;
  seconds: number;
  otherWorkCores: number | null;
  loadAverage: number[];
  error?: string;
}> = [];
// A figure a benchmark stopped printing (renamed, or its output no longer parses) must not vanish quietly.
const missing: string[] = [];
let done = 0;
for (const benchmark of chosen) {
  const collected = new Map<string, number[]>(benchmark.metrics.map((m) => [m.name, []]));
  for (let run = 1; run <= runs; run++) {
    progress.update(done, `${benchmark.id} run ${run} of ${runs}`);
    const otherWorkCores = await otherWork();
    const loadAverage = os.loadavg().map((value) => Math.round(value * 100) / 100);
    const result = await runScript(benchmark.script, benchmark.args(people));
    runLog.push({
      benchmark: benchmark.id,
      run,
      seconds: Math.round(result.seconds),
      otherWorkCores: otherWorkCores === null ? null : Math.round(otherWorkCores * 100) / 100,
      loadAverage,
      ...(result.error ? { error: result.error } : {}),
    });
    for (const metric of benchmark.metrics) {
      const value = metric.pick(result.output);
      if (value !== undefined) collected.get(metric.name)!.push(value);
    }
    done++;
  }
  for (const metric of benchmark.metrics) {
    const values = collected.get(metric.name)!;
    if (values.length < runs) missing.push(`${metric.name}: ${runs - values.length} of ${runs} runs printed no figure`);
    if (values.length === 0) continue;
    const { median, worst } = summarise(metric.better, values);
    const base = comparable ? baseline!.figures[metric.name] : undefined;
    const ratio = worseBy(metric.better, median, base);
    figures.push({
      name: metric.name,
      unit: metric.unit,
      better: metric.better,
      runs: values,
      median,
      worst,
      ...(base === undefined ? {} : { baseline: base }),
      ...(ratio === undefined ? {} : { worseBy: Math.round(ratio * 100) / 100 }),
    });
  }
}
progress.stop();

const busiest = Math.max(0, ...runLog.map((r) => r.otherWorkCores ?? 0));
// Quiet: less than a fifth of one core of other work before every run.
const quiet = runLog.every((r) => r.otherWorkCores !== null && r.otherWorkCores < 0.2);
const report = {
  benchmark: 'bench/run.ts',
  date: startedAt.toISOString(),
  people,
  runsEach: runs,
  personPageRate: Number(values.rate),
  machine: {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  },
  quiet,
  busiestOtherWorkCores: Math.round(busiest * 100) / 100,
  baseline: baseline ? { date: baseline.date, people: baseline.people, comparable } : null,
  figures,
  runs: runLog,
};

const round = (value: number): string =>
  Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-GB') : Number(value.toPrecision(Math.abs(value) < 1 ? 4 : 3)).toString();
process.stderr.write(
  `\n${chosen.length} benchmarks × ${runs} runs at ${people.toLocaleString('en-GB')} people, ${startedAt.toISOString().slice(0, 16)}Z; ` +
    `${quiet ? 'quiet machine' : `NOT quiet: up to ${report.busiestOtherWorkCores} cores of other work before a run`}\n`,
);
for (const figure of figures) {
  const ratio = figure.worseBy === undefined ? '' : `  ×${figure.worseBy.toFixed(2)} of baseline${figure.worseBy > 1.1 ? ' (worse)' : ''}`;
  process.stderr.write(
    `  ${figure.name.padEnd(40)} median ${round(figure.median)} ${figure.unit}, worst ${round(figure.worst)} ${figure.unit}${ratio}\n`,
  );
}
for (const failed of runLog.filter((r) => r.error))
  process.stderr.write(`  ${failed.benchmark} run ${failed.run} failed: ${failed.error}\n`);
for (const gap of missing) process.stderr.write(`  no figure: ${gap}\n`);
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
if (values['write-baseline']) {
  // With --only, the figures not run now keep their baseline (same size only), so one benchmark can be re-based alone.
  const kept = only && comparable ? baseline!.figures : {};
  const written: Baseline = {
    people,
    date: startedAt.toISOString(),
    figures: { ...kept, ...Object.fromEntries(figures.map((f) => [f.name, f.median])) },
  };
  writeFileSync(
    values.baseline!,
    `${JSON.stringify({ ...written, quiet, busiestOtherWorkCores: report.busiestOtherWorkCores }, null, 2)}\n`,
  );
  process.stderr.write(`Baseline written to ${values.baseline}\n`);
}
if (runLog.some((r) => r.error) || missing.length > 0) process.exitCode = 1;
