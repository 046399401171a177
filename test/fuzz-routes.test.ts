// Every route, fed odd and hostile input by every kind of user: the answer is a clear 4xx (or a
// normal page), never a 500 and never a stack trace or internal path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';

let server: TestServer;
const sessions: Array<{ who: string; cookie: string | null; token: string | null }> = [];

before(async () => {
  server = await startTestServer({ people: 1500, seed: 21 });
  sessions.push({ who: 'anonymous', cookie: null, token: null });
  for (const username of ['citizen', 'practitioner', 'manager', 'admin']) {
    const cookie = await signIn(server.app, username);
    sessions.push({ who: username, cookie, token: await csrfTokenFor(server.app, cookie) });
  }
});
after(async () => {
  await server?.close();
});

const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    "' or 1=1 --",
    '../../etc/passwd',
    '%00',
    'a\u0000b',
    '<script>alert(1)</script>',
    '9'.repeat(400),
    '-1',
    '0',
    '1e309',
    'NaN',
    '{}',
    '[]',
    'null',
    '\u202e',
    '😀',
  ),
);

function fillPath(url: string, values: string[]): string {
  let i = 0;
  return url
    .replace(/:[A-Za-z_]+/g, () => encodeURIComponent(values[i++ % values.length] ?? 'x'))
    .replace(/\*$/, encodeURIComponent(values[0] ?? 'x'));
}

test('no route answers 500 or leaks internals, whatever it is sent', async (t) => {
  const routes = server.app.routeList.filter((r) => r.method === 'GET' || r.method === 'POST');
  assert.ok(routes.length > 20, 'routes are enumerated');
  const problems: string[] = [];
  let requests = 0;
  for (const route of routes) {
    const samples = fc.sample(
      fc.record({
        path: fc.array(hostileText, { minLength: 1, maxLength: 3 }),
        query: fc.dictionary(
          fc.constantFrom('q', 'page', 'per_page', 'for', 'postcode', 'age', 'status', 'id', 'search', 'next'),
          hostileText,
          { maxKeys: 3 },
        ),
        body: fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(hostileText, fc.array(hostileText, { maxLength: 3 })), { maxKeys: 6 }),
        asJson: fc.boolean(),
      }),
      { numRuns: 6, seed: routes.indexOf(route) + 1 },
    );
    for (const session of sessions) {
      for (const sample of samples) {
        const url = `${fillPath(route.url, sample.path)}?${new URLSearchParams(sample.query).toString()}`;
        const headers: Record<string, string> = session.cookie ? { cookie: session.cookie } : {};
        let payload: string | undefined;
        if (route.method === 'POST') {
          const body: Record<string, unknown> = { ...sample.body, ...(session.token ? { _csrf: session.token } : {}) };
          if (sample.asJson) {
            headers['content-type'] = 'application/json';
            payload = JSON.stringify(body);
          } else {
            headers['content-type'] = 'application/x-www-form-urlencoded';
            const params = new URLSearchParams();
            for (const [k, v] of Object.entries(body)) for (const item of [v].flat()) params.append(k, String(item));
            payload = params.toString();
          }
        }
        requests += 1;
        const response = await server.app.inject({ method: route.method as 'GET' | 'POST', url, headers, payload });
        if (response.statusCode >= 500)
          problems.push(`${route.method} ${route.url} as ${session.who}: ${response.statusCode} for ${url.slice(0, 80)}`);
        if (/\.ts:\d+|node_modules\/|\bat [\w.<>]+ \(|syntax error at/.test(response.body) || /SELECT .* FROM /.test(response.body))
          problems.push(`${route.method} ${route.url} as ${session.who}: internals in the body`);
      }
    }
  }
  t.diagnostic(`fuzzed ${routes.length} routes with ${requests} requests`);
  assert.deepEqual(problems.slice(0, 20), []);
});
