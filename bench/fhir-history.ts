// FHIR _history over HTTP as a partner syncing would: a practitioner's token walks system history
// (`/fhir/_history`), a type's history (`/fhir/Observation/_history`) and instance histories
// (`/fhir/Patient/<id>/_history`) page by page through the `next` links, every version through the
// access decision. Times each request at the client and the CPU the server spent on it (the server
// runs in this process, so on PGlite the database's work is counted too; on PostgreSQL only the
// server's). Run several times: each run prints the machine's load before it, and the summary is
// the median and the worst of the runs, never the best.
// Usage: node bench/fhir-history.ts [--people 1200] [--engine pglite|postgres] [--pages 20] [--count 50] [--runs 3]
// Prints one JSON object.
import { parseArgs } from 'node:util';
import os from 'node:os';
import type { Bundle } from '@medplum/fhirtypes';
import { startTestServer } from '../test/support/server.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { summarise } from './support/figures.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '1200' },
    engine: { type: 'string', default: 'pglite' },
    pages: { type: 'string', default: '20' },
    count: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
  },
});
const pagesPerWalk = Number(values.pages);
const count = Number(values.count);
const runs = Number(values.runs);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round = (n: number, places = 1) => Math.round(n * 10 ** places) / 10 ** places;

interface Timed {
  ms: number;
  cpuUs: number;
  entries: number;
  next?: string;
}

interface Walk {
  pages: number;
  entries: number;
  p50Ms: number;
  p99Ms: number;
  worstMs: number;
  cpuUsPerPage: number;
}

const target = (await testDatabaseTargets()).find((t) => t.kind === values.engine);
if (!target) throw new Error(`no ${values.engine} database to run on`);
const server = await startTestServer({ people: Number(values.people), database: await target.open() });
try {
  const token = (await createApiTokenForUsername(server.database.db, 'practitioner', 'history bench')).token;
  const headers = { authorization: `Bearer ${token}`, accept: 'application/fhir+json' };

  async function timed(url: string): Promise<Timed> {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const response = await fetch(url.startsWith('http') ? url : `${server.url}${url}`, { headers });
    const bundle = (await response.json()) as Bundle;
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    if (response.status !== 200) throw new Error(`${url}: ${response.status} ${JSON.stringify(bundle).slice(0, 300)}`);
    return {
      ms,
      cpuUs: cpu.user + cpu.system,
      entries: bundle.entry?.length ?? 0,
      next: bundle.link?.find((l) => l.relation === 'next')?.url,
    };
  }

  /** Follows `next` from `first` for up to `pages` pages. */
  async function walk(first: string, pages: number): Promise<Timed[]> {
    const seen: Timed[] = [];
    let url: string | undefined = first;
    while (url && seen.length < pages) {
      const page = await timed(url);
      seen.push(page);
      url = page.next;
    }
    return seen;
  }

  const summary = (pages: Timed[]): Walk => {
    const sorted = pages.map((p) => p.ms).sort((a, b) => a - b);
    return {
      pages: pages.length,
      entries: pages.reduce((sum, p) => sum + p.entries, 0),
      p50Ms: round(percentile(sorted, 50)),
      p99Ms: round(percentile(sorted, 99)),
      worstMs: round(sorted.at(-1) ?? 0),
      cpuUsPerPage: Math.round(pages.reduce((sum, p) => sum + p.cpuUs, 0) / Math.max(1, pages.length)),
    };
  };

  // Patients the practitioner may see: the first pages of a plain search name them.
  const firstPatients = (await (
    await fetch(`${server.url}/fhir/Patient?_count=${pagesPerWalk}&_elements=id`, { headers })
  ).json()) as Bundle;
  const patients = (firstPatients.entry ?? []).map((e) => e.resource!.id!);
  if (patients.length === 0) throw new Error('the practitioner sees no Patient');

  const perRun: Array<{ loadAverage: number; system: Walk; type: Walk; instance: Walk }> = [];
  for (let run = 0; run < runs; run++) {
    const loadAverage = round(os.loadavg()[0]!, 2);
    const system = summary(await walk(`/fhir/_history?_count=${count}`, pagesPerWalk));
    const type = summary(await walk(`/fhir/Observation/_history?_count=${count}`, pagesPerWalk));
    const instancePages: Timed[] = [];
    for (const id of patients) instancePages.push(...(await walk(`/fhir/Patient/${id}/_history?_count=${count}`, 1)));
    const instance = summary(instancePages);
    perRun.push({ loadAverage, system, type, instance });
    process.stderr.write(
      `run ${run + 1}/${runs} (load ${loadAverage}): system p99 ${system.p99Ms} ms, ${system.cpuUsPerPage} CPU-µs a page; type p99 ${type.p99Ms} ms; instance p99 ${instance.p99Ms} ms\n`,
    );
  }
  const of = (kind: 'system' | 'type' | 'instance') => ({
    pagesPerRun: perRun[0]![kind].pages,
    entriesPerRun: perRun[0]![kind].entries,
    p99Ms: summarise(
      'lower',
      perRun.map((r) => r[kind].p99Ms),
    ),
    cpuUsPerPage: summarise(
      'lower',
      perRun.map((r) => r[kind].cpuUsPerPage),
    ),
  });
  console.log(
    JSON.stringify({
      benchmark: 'fhir-history',
      engine: values.engine,
      people: Number(values.people),
      count,
      runs,
      cpuCounted: values.engine === 'pglite' ? 'server and database (one process)' : 'server only',
      loadAverageBeforeRuns: perRun.map((r) => r.loadAverage),
      quiet: perRun.every((r) => r.loadAverage < 0.5),
      system: of('system'),
      type: of('type'),
      instance: of('instance'),
    }),
  );
} finally {
  await server.close();
}
