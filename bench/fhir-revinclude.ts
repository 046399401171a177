// FHIR search with _revinclude over HTTP: a practitioner's token asks for Patients with the
// Observations and ServiceRequests about them (each included resource through the access
// decision), one Patient at a time (a partner opening a record) and page by page through every
// Patient (a partner syncing), and the latency of each request is timed at the client.
// Usage: node bench/fhir-revinclude.ts [--people 2000] [--engine pglite|postgres] [--requests 200] [--pages 50]
// Prints one JSON object: p50, p99 and worst per kind of request, in milliseconds.
import { parseArgs } from 'node:util';
import type { Bundle } from '@medplum/fhirtypes';
import { startTestServer } from '../test/support/server.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '2000' },
    engine: { type: 'string', default: 'pglite' },
    requests: { type: 'string', default: '200' },
    pages: { type: 'string', default: '50' },
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

const target = (await testDatabaseTargets()).find((t) => t.kind === values.engine);
if (!target) throw new Error(`no ${values.engine} database to run on`);
const server = await startTestServer({ people: Number(values.people), database: await target.open() });
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

  // Page by page through every Patient the practitioner may see, with what refers to them.
  const paging: number[] = [];
  const patients: string[] = [];
  let included = 0;
  let path: string | undefined = `/fhir/Patient?${rev}&_count=20`;
  for (let page = 0; path && page < Number(values.pages); page++) {
    const { ms, bundle }: { ms: number; bundle: Bundle } = await timed(path);
    paging.push(ms);
    for (const entry of bundle.entry ?? []) {
      if (entry.search?.mode === 'match') patients.push(entry.resource!.id!);
      else if (entry.search?.mode === 'include') included++;
    }
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    path = next ? new URL(next).pathname + new URL(next).search : undefined;
  }
  if (patients.length === 0) throw new Error('the practitioner sees no Patients');

  // One Patient at a time, as a partner opening a record does.
  const single: number[] = [];
  for (let i = 0; i < Number(values.requests); i++) {
    single.push((await timed(`/fhir/Patient?_id=${patients[i % patients.length]}&${rev}`)).ms);
  }
  console.log(
    JSON.stringify({
      benchmark: 'fhir-revinclude',
      engine: values.engine,
      people: Number(values.people),
      patients_seen: patients.length,
      resources_included: included,
      one_patient: summary(single),
      page_of_20: summary(paging),
    }),
  );
} finally {
  await server.close();
}
