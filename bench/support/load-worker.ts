// Runs autocannon in its own process, so the load generator does not share the server's event
// loop (real clients are other machines): the server time then measures the server alone.
// Started with child_process.fork; takes one LoadJob message and answers with a LoadResult.
//
// Two ways to send the load: 'autocannon' (its rate limit lets each of the connections send its
// share of a second's requests back to back at the start of the second: bursts of concurrent
// requests), and 'paced' (an open model: one request every 1/rate seconds whatever the answers,
// as independent users arrive).
import http from 'node:http';
import autocannon from 'autocannon';

export interface LoadJob {
  mode: 'autocannon' | 'paced';
  url: string;
  cookie: string;
  paths: string[];
  connections: number;
  rate: number;
  seconds: number;
}

export interface LoadResult {
  requests: { total: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number; max: number };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** One request every 1/rate seconds for `seconds`, on keep-alive sockets; latencies in ms. */
async function paced(job: LoadJob): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections * 4 });
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const total = Math.round(job.rate * job.seconds);
  const started = performance.now();
  const sent: Promise<void>[] = [];
  for (let k = 0; k < total; k++) {
    const due = started + (k * 1000) / job.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const path = job.paths[k % job.paths.length]!;
    const t0 = performance.now();
    sent.push(
      new Promise<void>((resolve) => {
        const request = http.get(`${job.url}${path}`, { agent, headers: { cookie: job.cookie } }, (response) => {
          response.resume();
          response.on('end', () => {
            latencies.push(performance.now() - t0);
            if ((response.statusCode ?? 0) >= 300) non2xx++;
            resolve();
          });
        });
        request.on('error', () => {
          errors++;
          resolve();
        });
      }),
    );
  }
  await Promise.all(sent);
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: { total, average: Math.round((total / elapsed) * 100) / 100 },
    non2xx,
    errors,
    timeouts: 0,
    latency: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies.at(-1) ?? 0 },
  };
}

async function withAutocannon(job: LoadJob): Promise<LoadResult> {
  let next = 0;
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    overallRate: job.rate,
    duration: job.seconds,
    requests: [
      { method: 'GET', headers: { cookie: job.cookie }, setupRequest: (req) => ({ ...req, path: job.paths[next++ % job.paths.length]! }) },
    ],
  });
  return {
    requests: { total: result.requests.total, average: result.requests.average },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latency: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  };
}

process.once('message', (job: LoadJob) => {
  void (job.mode === 'paced' ? paced(job) : withAutocannon(job)).then((answer) => {
    process.send!(answer, () => process.exit(0));
  });
});
