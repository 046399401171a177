// The import API over HTTP (bearer tokens): save a mapping, upload a CSV, watch its progress,
// read its row errors; webhooks subscribed through the API; and the OpenAPI description.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { resourceDefs } from '../src/fhir/resources.ts';
import { outboxTopics, webhookRequest } from '../src/interop/outbox.ts';
import { columnMappingRequest } from '../src/interop/import.ts';
import { openApiSchemaOf } from '../src/platform/forms.ts';

let server: TestServer;
let admin: string;
let practitioner: string;

before(async () => {
  server = await startTestServer({ people: 800 });
  admin = (await createApiTokenForUsername(server.database.db, 'admin', 'api test')).token;
  practitioner = (await createApiTokenForUsername(server.database.db, 'practitioner', 'api test')).token;
});
after(async () => server?.close());

const call = (path: string, token: string | null, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, {
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string> | undefined) },
  });

describe('import API', () => {
  test('an agency uploads a CSV with a saved mapping; progress and row errors are reported', async () => {
    const saved = await call('/api/import-mappings/school-feed/v1', admin, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ idColumn: 'Pupil', columns: { given_name: 'First', family_name: 'Last', birth_date: 'Born' } }),
    });
    assert.equal(saved.status, 200);
    const people = await server.database.db
      .selectFrom('persons')
      .select(['given_name', 'family_name', 'birth_date'])
      .orderBy('id')
      .limit(30)
      .execute();
    const csv = [
      'Pupil,First,Last,Born',
      ...people.map((p, i) => `S${i},${p.given_name},${p.family_name},${p.birth_date ?? ''}`),
      'S99,,,',
      'S100,Ann,Lee,2090-01-01',
    ].join('\n');
    const upload = await call('/api/imports?source=school-feed&mapping=v1&name=pupils.csv', admin, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: csv,
    });
    assert.equal(upload.status, 202);
    const job = (await upload.json()) as { jobId: number; links: { self: string } };
    let status: { status: string; stored: number; errors: number; percent: number | null } | undefined;
    for (let i = 0; i < 200; i++) {
      status = (await (await call(job.links.self, admin)).json()) as typeof status;
      if (status!.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status?.status, 'done');
    assert.equal(status?.stored, 30);
    assert.equal(status?.errors, 2);
    assert.equal(status?.percent, 100);
    const errors = (await (await call(`${job.links.self}/errors`, admin)).json()) as { errors: Array<{ line: number; message: string }> };
    assert.deepEqual(
      errors.errors.map((e) => e.line),
      [32, 33],
    );
    assert.match(errors.errors[1]!.message, /future/);
    const listed = (await (await call('/api/imports', admin)).json()) as {
      jobs: Array<{ fileName: string; stored: number; links: { self: string } }>;
    };
    assert.deepEqual(
      listed.jobs.map((j) => [j.links.self, j.fileName, j.stored])[0],
      [job.links.self, 'pupils.csv', 30],
      'the newest job is listed first, with its link',
    );
  });

  test('only integration roles may import; no token, no entry; bad input is a clear 400', async () => {
    assert.equal((await call('/api/imports', null)).status, 401);
    assert.equal((await call('/api/imports', 'jnt_nope')).status, 401);
    assert.equal((await call('/api/imports', practitioner)).status, 403);
    const noMapping = await call('/api/imports?source=x', admin, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'a,b\n1,2',
    });
    assert.equal(noMapping.status, 400);
    assert.match(((await noMapping.json()) as { error: string }).error, /mapping/);
    // A mapping that names a field Joinery does not take, a column that is not a name, or no id
    // column is refused saying which, and nothing is saved (non-text columns used to be dropped).
    for (const [body, says] of [
      [{ idColumn: 'Pupil', columns: { given_name: 'First', shoe_size: 'Shoes' } }, /^columns: "shoe_size" is not a field Joinery takes/],
      [{ idColumn: 'Pupil', columns: { given_name: 7 } }, /^columns\.given_name: name each column with a string/],
      [{ idColumn: '', columns: { given_name: 'First' } }, /^idColumn: say which column holds/],
      ['Pupil', /^send \{"idColumn"/],
    ] as const) {
      const response = await call('/api/import-mappings/school-feed/refused', admin, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(((await response.json()) as { error: string }).error, says);
    }
    assert.equal(
      (await server.database.db.selectFrom('import_mappings').select('name').where('name', '=', 'refused').execute()).length,
      0,
      'a refused mapping is not saved',
    );
    assert.equal((await call('/api/imports/999999', admin)).status, 404);
  });

  test('webhooks are subscribed through the API by an administrator', async () => {
    const created = await call('/api/webhooks', admin, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', topics: ['referral.status'] }),
    });
    assert.equal(created.status, 201);
    const body = (await created.json()) as { id: string; secret: string };
    assert.match(body.secret, /^whsec_/);
    const list = (await (await call('/api/webhooks', admin)).json()) as { webhooks: Array<{ id: string; secret?: string }> };
    assert.ok(
      list.webhooks.some((w) => w.id === body.id && w.secret === undefined),
      'listed without its secret',
    );
    const listed = list.webhooks.find((w) => w.id === body.id) as unknown as { deliveries: Record<string, number> };
    assert.deepEqual(
      Object.keys(listed.deliveries).sort(),
      ['delivered', 'failed', 'pending', 'skipped'],
      'each with its deliveries counted by state',
    );
    const refused = await call('/api/webhooks', admin, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://192.0.2.1/hook' }),
    });
    assert.equal(refused.status, 400);
    assert.equal((await call('/api/webhooks', practitioner)).status, 403);
    // Bad bodies are refused with the field and what to send, and subscribe nothing (a lone topic
    // sent as a string used to subscribe the URL to every topic).
    const subscriptions = async () => (await server.database.db.selectFrom('webhook_subscriptions').select('id').execute()).length;
    const before = await subscriptions();
    for (const [body, says] of [
      [{ url: 'http://127.0.0.1:9/hook', topics: 'referral.status' }, /^topics: send the topics as a list/],
      [{ url: 'http://127.0.0.1:9/hook', topics: ['referral.status', 'nope'] }, /^topics\.1: "nope" is not a topic; use referral\.status/],
      [{ url: 'http://127.0.0.1:9/hook', topics: [] }, /^topics: choose at least one topic/],
      [{ topics: ['referral.status'] }, /^url: send the URL/],
      [['http://127.0.0.1:9/hook'], /^send a JSON object/],
    ] as const) {
      const response = await call('/api/webhooks', admin, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(((await response.json()) as { error: string }).error, says);
    }
    assert.equal(await subscriptions(), before, 'a refused body subscribes nothing');
  });

  test('/openapi.json describes the FHIR API and the JSON API', async () => {
    const response = await fetch(`${server.url}/openapi.json`);
    assert.equal(response.status, 200);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    // The webhook body's schema is the one the API checks requests against (drawn from it, not retyped).
    type Body = { requestBody: { content: { 'application/json': { schema: { properties: { topics: { items: { enum: string[] } } } } } } } };
    const webhookBody = (doc.paths['/api/webhooks']!.post as Body).requestBody.content['application/json'].schema;
    assert.deepEqual(webhookBody, openApiSchemaOf(webhookRequest));
    assert.deepEqual(webhookBody.properties.topics.items.enum, [...outboxTopics]);
    const components = (doc as unknown as { components: { schemas: Record<string, unknown> } }).components.schemas;
    assert.deepEqual(components.ColumnMapping, openApiSchemaOf(columnMappingRequest), 'the mapping body too');
    assert.match(doc.openapi, /^3\.1/);
    for (const type of Object.keys(resourceDefs)) {
      assert.ok(doc.paths[`/fhir/${type}`]?.get, `search ${type}`);
      assert.ok(doc.paths[`/fhir/${type}/{id}`]?.get, `read ${type}`);
    }
    assert.ok(doc.paths['/fhir/Patient']!.post && doc.paths['/fhir/Patient/{id}']!.put && doc.paths['/fhir/Task/{id}']!.put);
    for (const path of [
      '/fhir/metadata',
      '/fhir',
      '/api/imports',
      '/api/imports/{id}',
      '/api/imports/{id}/errors',
      '/api/import-mappings/{source}/{name}',
      '/api/webhooks',
    ])
      assert.ok(doc.paths[path], path);
    // Every route the app serves under /fhir and /api/imports|webhooks is described.
    const routes = (server.app as unknown as { routeList: Array<{ method: string; url: string }> }).routeList.filter((r) =>
      /^\/api\/(imports|import-mappings|webhooks)/.test(r.url),
    );
    for (const route of routes) {
      const path = route.url.replace(/:(\w+)/g, '{$1}');
      assert.ok(doc.paths[path]?.[route.method.toLowerCase()], `${route.method} ${route.url} is described`);
    }
  });
});
