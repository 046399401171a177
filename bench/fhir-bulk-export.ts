// FHIR Bulk Data $export at place scale, as a Bulk Data client sees it.
// Usage: node bench/fhir-bulk-export.ts [--people 20000] [--engine postgres|pglite] [--user practitioner] [--type T1,T2] [--runs 1]
//        [--schema NAME --keep] [--linking person_index|ground_truth]
// Loads a synthetic place into its own PostgreSQL schema (dropped afterwards unless --keep; a kept
// schema named again is used as it is, so a million people load once) or PGlite, serves it
// in this process, and as the user's token kicks off a system-level $export, polls until the
// manifest, and downloads every NDJSON file; --runs repeats the export on the same place. Prints
// one JSON object per run: the rows in the export's scope (every row of each type: each is either
// read and passed through the access decision, or, being about someone out of the user's reach,
// left out by the read), the access decisions audited for the export, resources written and
// downloaded (those the user may see), the seconds from kick-off to manifest and to the last
// byte, rows in scope per second, and this process's CPU seconds; then, with several runs, the
// median and worst. The machine's load average before and after is printed too: other work shares it.
import { parseArgs } from 'node:util';
import os from 'node:os';
import { sql } from 'kysely';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { resourceDefs } from '../src/fhir/resources.ts';
import { medianAndWorst, startPlaceServer } from './support/place-server.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '20000' },
    engine: { type: 'string', default: 'postgres' },
    user: { type: 'string', default: 'practitioner' },
    type: { type: 'string' },
    seed: { type: 'string', default: '2026' },
    runs: { type: 'string', default: '1' },
    schema: { type: 'string' },
    keep: { type: 'boolean', default: false },
    linking: { type: 'string', default: 'person_index' },
  },
});
const people = Number(values.people);
const server = await startPlaceServer({
  engine: values.engine === 'pglite' ? 'pglite' : 'postgres',
  people,
  seed: Number(values.seed),
  schema: values.schema,
  keep: values.keep,
  linking: values.linking === 'ground_truth' ? 'ground_truth' : 'person_index',
});
const { database, loadSeconds } = server;
const base = server.url;
{
  try {
    const { token } = await createApiTokenForUsername(database.db, values.user!, 'bench');
    const headers = { authorization: `Bearer ${token}`, accept: 'application/fhir+json' };
    // The rows in scope: every row of each type exported.
    const types = values.type ? values.type.split(',') : Object.keys(resourceDefs).filter((t) => t !== 'AuditEvent');
    let rowsInScope = 0;
    for (const t of types)
      rowsInScope += Number(
        (await sql<{ n: number }>`select count(*)::int as n from (${resourceDefs[t]!.base}) r`.execute(database.db)).rows[0]!.n,
      );
    const results: Array<Record<string, unknown> & { secondsToManifest: number }> = [];
    for (let run = 1; run <= Number(values.runs); run++) {
      const loadBefore = os.loadavg();
      const cpuBefore = process.cpuUsage();
      const started = new Date();
      const kick = await fetch(`${base}/fhir/$export${values.type ? `?_type=${values.type}` : ''}`, {
        headers: { ...headers, prefer: 'respond-async' },
      });
      if (kick.status !== 202) throw new Error(`kick-off answered ${kick.status}: ${await kick.text()}`);
      const statusUrl = kick.headers.get('content-location')!;
      let manifest: { output: Array<{ type: string; url: string; count: number }> } | undefined;
      while (!manifest) {
        const polled = await fetch(statusUrl, { headers });
        if (polled.status === 200) manifest = (await polled.json()) as typeof manifest;
        else if (polled.status === 202) await new Promise((resolve) => setTimeout(resolve, 250));
        else throw new Error(`status answered ${polled.status}: ${await polled.text()}`);
      }
      const manifestSeconds = (Date.now() - started.getTime()) / 1000;
      let downloaded = 0;
      const perType: Record<string, number> = {};
      for (const file of manifest.output) {
        const response = await fetch(file.url, { headers: { authorization: headers.authorization } });
        let rest = '';
        for await (const chunk of response.body!) {
          rest += Buffer.from(chunk as Uint8Array).toString('utf8');
          const parts = rest.split('\n');
          rest = parts.pop()!;
          downloaded += parts.filter((p) => p !== '').length;
        }
        perType[file.type] = (perType[file.type] ?? 0) + file.count;
      }
      const totalSeconds = (Date.now() - started.getTime()) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      const loadAfter = os.loadavg();
      // The decisions the export made (one per person and category asked, each audited).
      const decisions = Number(
        (
          await sql<{
            n: number;
          }>`select count(*)::int as n from audit_events where action = 'export' and at >= ${started.toISOString()}::timestamptz`.execute(
            database.db,
          )
        ).rows[0]!.n,
      );
      const result = {
        bench: 'fhir-bulk-export',
        engine: values.engine,
        people,
        user: values.user,
        run,
        date: new Date().toISOString(),
        loadSeconds: loadSeconds === null ? null : Math.round(loadSeconds),
        rowsInScope,
        decisionsAudited: decisions,
        resourcesExported: downloaded,
        perType,
        secondsToManifest: manifestSeconds,
        secondsToLastByte: totalSeconds,
        rowsInScopePerSecond: Math.round(rowsInScope / manifestSeconds),
        resourcesPerSecond: Math.round(downloaded / totalSeconds),
        processCpuSeconds: Math.round((cpu.user + cpu.system) / 10_000) / 100,
        loadAverageBefore: loadBefore.map((l) => Math.round(l * 100) / 100),
        loadAverageAfter: loadAfter.map((l) => Math.round(l * 100) / 100),
        cpus: os.cpus().length,
      };
      results.push(result);
      console.log(JSON.stringify(result));
    }
    if (results.length > 1) {
      const seconds = medianAndWorst(results.map((r) => r.secondsToManifest));
      console.log(
        JSON.stringify({
          runs: results.length,
          medianSecondsToManifest: seconds.median,
          worstSecondsToManifest: seconds.worst,
          medianRowsInScopePerSecond: Math.round(rowsInScope / seconds.median),
          worstRowsInScopePerSecond: Math.round(rowsInScope / seconds.worst),
        }),
      );
    }
  } finally {
    await server.close();
  }
}
