// FHIR search with _revinclude over HTTP: a practitioner's token asks for Patients with the
// Observations and ServiceRequests about them (each included resource through the access
// decision), one Patient at a time (a partner opening a record) and twenty of the practitioner's
// caseload at a time (a partner syncing), and the latency of each request is timed at the client.
// Usage: node bench/fhir-revinclude.ts [--people 2000] [--engine pglite|postgres] [--requests 200] [--pages 50] [--runs 1]
//        [--schema NAME --keep] [--linking person_index|ground_truth] [--seed S]
// Prints one JSON object a run: p50, p99 and worst per kind of request, in milliseconds, this
// process's CPU per request (it serves them) and the machine's load average; with several runs,
// the median and worst p99 of each kind. A kept PostgreSQL schema named again is used as it is.
import { parseArgs } from 'node:util';
import type { Bundle } from '@medplum/fhirtypes';
import os from 'node:os';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { medianAndWorst, startPlaceServer } from './support/place-server.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '2000' },
    engine: { type: 'string', default: 'pglite' },
    requests: { type: 'string', default: '200' },
    pages: { type: 'string', default: '50' },
    runs: { type: 'string', default: '1' },
    seed: { type: 'string', default: '7' },
    schema: { type: 'string' },
    keep: { type: 'boolean', default: false },
    linking: { type: 'string', default: 'person_index' },
  },
});

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const summary = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    requests: sorted.length,
    p50_ms: Math.round(percentile(sorted, 50)),
    p99_ms: Math.round(percentile(sorted, 99)),
    worst_ms: Math.round(sorted.at(-1) ?? 0),
  };
};

const server = await startPlaceServer({
  engine: values.engine === 'postgres' ? 'postgres' : 'pglite',
  people: Number(values.people),
  seed: Number(values.seed),
  schema: values.schema,
  keep: values.keep,
  linking: values.linking === 'ground_truth' ? 'ground_truth' : 'person_index',
});
try {
  const token = (await createApiTokenForUsername(server.database.db, 'practitioner', 'revinclude bench')).token;
  const headers = { authorization: `Bearer ${token}`, accept: 'application/fhir+json' };
  const rev = '_revinclude=Observation:subject&_revinclude=ServiceRequest:subject';
  async function timed(path: string): Promise<{ ms: number; bundle: Bundle }> {
    const started = performance.now();
    const response = await fetch(`${server.url}${path}`, { headers });
    const bundle = (await response.json()) as Bundle;
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${JSON.stringify(bundle).slice(0, 300)}`);
    return { ms: performance.now() - started, bundle };
  }

  // The practitioner's caseload (their organisation's working relationships), twenty Patients a page.
  const practitioner = await server.database.db
    .selectFrom('users')
    .select('organisation_id')
    .where('username', '=', 'practitioner')
    .executeTakeFirstOrThrow();
  const patients = (
    await server.database.db
      .selectFrom('care_relationships')
      .select('person_id')
      .distinct()
      .where('organisation_id', '=', practitioner.organisation_id!)
      .where('ended_at', 'is', null)
      .orderBy('person_id')
      .execute()
  ).map((r) => r.person_id);
  if (patients.length === 0) throw new Error('the practitioner has no caseload');
  const runs: Array<{ one: number; page: number }> = [];
  for (let run = 1; run <= Number(values.runs); run++) {
    const loadBefore = os.loadavg();
    const cpuBefore = process.cpuUsage();
    const paging: number[] = [];
    let included = 0;
    for (let page = 0; page < Number(values.pages); page++) {
      const ids = Array.from({ length: 20 }, (_, i) => patients[(page * 20 + i) % patients.length]!);
      const { ms, bundle } = await timed(`/fhir/Patient?_id=${[...new Set(ids)].join(',')}&${rev}&_count=20`);
      paging.push(ms);
      included += (bundle.entry ?? []).filter((e) => e.search?.mode === 'include').length;
    }

    // One Patient at a time, as a partner opening a record does.
    const single: number[] = [];
    for (let i = 0; i < Number(values.requests); i++) {
      single.push((await timed(`/fhir/Patient?_id=${patients[i % patients.length]}&${rev}`)).ms);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const one = summary(single);
    const pageOf20 = summary(paging);
    runs.push({ one: one.p99_ms, page: pageOf20.p99_ms });
    console.log(
      JSON.stringify({
        benchmark: 'fhir-revinclude',
        engine: values.engine,
        people: Number(values.people),
        run,
        date: new Date().toISOString(),
        loadSeconds: server.loadSeconds === null ? null : Math.round(server.loadSeconds),
        caseload: patients.length,
        resources_included_per_page: Math.round(included / Math.max(1, paging.length)),
        one_patient: one,
        page_of_20: pageOf20,
        // This process serves the requests and sends them, so its CPU a request bounds the server's.
        process_cpu_ms_per_request: Math.round(((cpu.user + cpu.system) / 1000 / (single.length + paging.length)) * 100) / 100,
        loadAverageBefore: loadBefore.map((l) => Math.round(l * 100) / 100),
        loadAverageAfter: os.loadavg().map((l) => Math.round(l * 100) / 100),
        cpus: os.cpus().length,
      }),
    );
  }
  if (runs.length > 1) {
    const one = medianAndWorst(runs.map((r) => r.one));
    const page = medianAndWorst(runs.map((r) => r.page));
    console.log(
      JSON.stringify({
        runs: runs.length,
        one_patient_p99_ms: { median: one.median, worst: one.worst },
        page_of_20_p99_ms: { median: page.median, worst: page.worst },
      }),
    );
  }
} finally {
  await server.close();
}
