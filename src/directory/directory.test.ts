// The public Open Referral UK API and directory import/export, on PGlite and on PostgreSQL:
// every response checked against the official UK profile schemas (HSDS 3.0).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { testDatabaseTargets } from '../testing.ts';
import type { DatabaseHandle } from '../platform/db.ts';
import { startTestServer, type TestServer } from '../../test/support/server.ts';
import { ORUK_SCHEMA_DIR, orukErrors, type OrukSchemaName } from './validator.ts';
import { exportDirectory, importDirectory } from './transfer.ts';
import { needTermId } from './taxonomy.ts';
import { orukId, uuidV5, isUuid } from './ids.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let validated = 0;
function assertValid(schema: OrukSchemaName, value: unknown, what: string): void {
  assert.deepEqual(orukErrors(schema, value), [], `${what} validates against ${schema}`);
  validated++;
}

const PAGE_KEYS = ['total_items', 'total_pages', 'page_number', 'size', 'first_page', 'last_page', 'empty', 'contents'];

function assertPage(body: Json, itemSchema: OrukSchemaName, what: string): void {
  assert.deepEqual(Object.keys(body).sort(), [...PAGE_KEYS].sort(), `${what} has the ORUK paging envelope`);
  assert.equal(body.size, body.contents.length);
  assert.equal(body.empty, body.contents.length === 0);
  body.contents.forEach((item: unknown, i: number) => assertValid(itemSchema, item, `${what} item ${i}`));
  validated++; // the envelope itself
}

const example = (name: string): unknown => JSON.parse(fs.readFileSync(path.join(ORUK_SCHEMA_DIR, 'examples', `${name}.json`), 'utf8'));

describe('the validator accepts the official examples and refuses broken ones', () => {
  test('every official example validates against its schema', () => {
    assertValid('compiled/service', example('service_full'), 'examples/service_full');
    assertValid('compiled/organization', example('organization_full'), 'examples/organization_full');
    assertValid('taxonomy', example('taxonomy'), 'examples/taxonomy');
    assertValid('taxonomy_term', example('taxonomy_term'), 'examples/taxonomy_term');
    const sal = example('service_at_location_full') as Json;
    assertValid('compiled/service_at_location', sal, 'examples/service_at_location_full');
    for (const [name, schema] of [
      ['service_list', 'compiled/service_list'],
      ['organization_list', 'compiled/organization_list'],
      ['taxonomy_list', 'taxonomy'],
      ['taxonomy_term_list', 'taxonomy_term'],
      ['service_at_location_list', 'compiled/service_at_location_list'],
    ] as const) {
      assertPage(example(name) as Json, schema, `examples/${name}`);
    }
  });

  test('a broken record is refused, naming the field', () => {
    const broken = structuredClone(example('service_full')) as Json;
    broken.status = 'open';
    broken.schedules[0].id = 'not-a-uuid';
    const errors = orukErrors('compiled/service', broken);
    assert.ok(errors.length > 0);
    assert.match(errors.join('\n'), /schedules\[0\]\.id must match format "uuid"|status must be one of/);
  });

  test('links must be web addresses: javascript:, data: and vbscript: urls and websites are refused', () => {
    for (const link of [
      'javascript:alert(document.cookie)',
      'JAVASCRIPT:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
      'https://',
      'http:/evil.example',
    ]) {
      const service = structuredClone(example('service_full')) as Json;
      service.url = link;
      assert.deepEqual(orukErrors('compiled/service', service), ['url must be a web address starting http:// or https://'], link);
      const organization = structuredClone(example('organization_full')) as Json;
      organization.website = link;
      assert.ok(orukErrors('compiled/organization', organization).length > 0, `website ${link}`);
    }
    const service = structuredClone(example('service_full')) as Json;
    service.url = 'https://www.riverford.example/services/food-bank?day=mon';
    assert.deepEqual(orukErrors('compiled/service', service), []);
  });

  test('ids are stable UUIDs, and UUIDs are kept as they are', () => {
    assert.equal(orukId('service', 'org-gp-01-svc1'), orukId('service', 'org-gp-01-svc1'));
    assert.notEqual(orukId('service', 'org-gp-01-svc1'), orukId('organization', 'org-gp-01-svc1'));
    assert.ok(isUuid(orukId('service', 'x')));
    assert.equal(orukId('service', '3F7B145D-84AF-42D7-8FAE-EACA714B02B2'), '3f7b145d-84af-42d7-8fae-eaca714b02b2');
    // RFC 9562 test vector: uuid v5 of "www.example.com" in the DNS namespace.
    assert.equal(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});

for (const target of await testDatabaseTargets()) {
  describe(`the Open Referral UK API on ${target.kind}`, () => {
    let server: TestServer;
    let serviceCount: number;
    let postcode: string;
    const get = async (url: string) => {
      const response = await server.app.inject({ method: 'GET', url });
      return { status: response.statusCode, body: response.json() as Json, type: String(response.headers['content-type']) };
    };
    before(async () => {
      server = await startTestServer({ database: await target.open() });
      serviceCount = Number((await sql<{ n: number }>`select count(*) as n from services`.execute(server.database.db)).rows[0]!.n);
      postcode = (
        await server.database.db
          .selectFrom('organisations')
          .select('postcode')
          .where('kind', '=', 'gp_practice')
          .orderBy('id')
          .executeTakeFirstOrThrow()
      ).postcode;
    });
    after(async () => {
      await server?.close();
    });

    test('/oruk/ describes the API and the HSDS version', async () => {
      const { status, body } = await get('/oruk/');
      assert.equal(status, 200);
      assert.equal(body.version, '3.0');
      assert.match(body.openapi_url, /^https:\/\/.+openapi\.json$/);
    });

    test('/oruk/services pages through every service, each page and item valid', async () => {
      const seen = new Set<string>();
      let page = 1;
      for (;;) {
        const { status, body, type } = await get(`/oruk/services?per_page=10&page=${page}`);
        assert.equal(status, 200);
        assert.match(type, /^application\/json/);
        assertPage(body, 'compiled/service_list', `services page ${page}`);
        assert.equal(body.total_items, serviceCount);
        assert.equal(body.page_number, page);
        assert.equal(body.first_page, page === 1);
        for (const s of body.contents) seen.add(s.id);
        if (body.last_page) break;
        assert.equal(body.size, 10);
        page++;
      }
      assert.equal(page, Math.ceil(serviceCount / 10));
      assert.equal(seen.size, serviceCount, 'every service once');
      const beyond = await get(`/oruk/services?per_page=10&page=${page + 1}`);
      assertPage(beyond.body, 'compiled/service_list', 'a page past the end');
      assert.equal(beyond.body.empty, true);
      assert.equal(beyond.body.total_items, serviceCount);
    });

    test('search, need, age, opening time and distance filters find the right services', async () => {
      const food = await get('/oruk/services?search=food%20parcels');
      assertPage(food.body, 'compiled/service_list', 'search=food parcels');
      assert.deepEqual(
        food.body.contents.map((s: Json) => s.name),
        ['Emergency food parcels'],
      );

      const mental = await get(`/oruk/services?per_page=100&taxonomy_term_id=${needTermId('mental_health')}`);
      assertPage(mental.body, 'compiled/service_list', 'taxonomy_term_id=mental_health');
      assert.ok(mental.body.total_items >= 5);
      for (const s of mental.body.contents) {
        const full = await get(`/oruk/services/${s.id}`);
        assert.ok(
          full.body.attributes.some((a: Json) => a.taxonomy_term.term === 'mental_health'),
          `${s.name} meets mental health needs`,
        );
      }
      // A parent term finds the services of its children.
      const group = await get(`/oruk/services?per_page=100&taxonomy_term_id=${needTermId('group_mind')}`);
      assertPage(group.body, 'compiled/service_list', 'taxonomy_term_id=group');
      const substance = await get(`/oruk/services?per_page=100&taxonomy_term_id=${needTermId('substance_misuse')}`);
      const groupIds = new Set(group.body.contents.map((s: Json) => s.id));
      for (const s of [...mental.body.contents, ...substance.body.contents]) assert.ok(groupIds.has(s.id));

      const older = await get('/oruk/services?per_page=100&minimum_age=60');
      assertPage(older.body, 'compiled/service_list', 'minimum_age=60');
      assert.ok(older.body.total_items > 0);
      for (const s of older.body.contents) assert.ok(s.minimum_age >= 60);
      const children = await get('/oruk/services?per_page=100&maximum_age=17');
      assertPage(children.body, 'compiled/service_list', 'maximum_age=17');
      for (const s of children.body.contents) assert.ok(s.maximum_age <= 17);
      const age15 = await get('/oruk/services?per_page=100&age=15');
      for (const s of age15.body.contents)
        assert.ok((s.minimum_age ?? 0) <= 15 && (s.maximum_age ?? 200) >= 15, `${s.name} takes a 15-year-old`);
      assert.ok(!age15.body.contents.some((s: Json) => s.name === 'Befriending'));

      const saturday = await get('/oruk/services?per_page=100&day=SA');
      assertPage(saturday.body, 'compiled/service_list', 'day=SA');
      assert.ok(saturday.body.contents.some((s: Json) => s.name === 'Emergency food parcels'));
      assert.ok(!saturday.body.contents.some((s: Json) => s.name === 'Long-term conditions clinic'));
      const evening = await get('/oruk/services?per_page=100&start_time=18:00');
      assert.deepEqual([...new Set(evening.body.contents.map((s: Json) => s.name))], ['Crisis café']);

      const near = await get(
        `/oruk/services?per_page=100&postcode=${encodeURIComponent(postcode.toLowerCase().replace(' ', ''))}&proximity=2000`,
      );
      assertPage(near.body, 'compiled/service_list', 'postcode+proximity');
      assert.ok(near.body.total_items > 0 && near.body.total_items < serviceCount);
      const sal = await get(`/oruk/service_at_locations?per_page=100&postcode=${encodeURIComponent(postcode)}&proximity=2000`);
      assertPage(sal.body, 'compiled/service_at_location_list', 'service_at_locations near a postcode');
      const distances = sal.body.contents.map((x: Json) => x.distance as number);
      assert.ok(distances.every((d: number) => d <= 2000));
      assert.deepEqual(
        distances,
        [...distances].sort((a, b) => a - b),
        'nearest first',
      );
    });

    test('/oruk/services/{id} gives the full service for every service, with no practitioner details', async () => {
      const list = await get('/oruk/services?per_page=500');
      const practitioners = await server.database.db.selectFrom('practitioners').select(['family_name', 'email']).execute();
      const surnames = new Set(practitioners.map((p) => p.family_name));
      for (const s of list.body.contents) {
        const { status, body } = await get(`/oruk/services/${s.id}`);
        assert.equal(status, 200);
        assertValid('compiled/service', body, `service ${s.name}`);
        assert.equal(body.id, s.id);
        assert.equal(body.organization.id, s.organization_id);
        assert.ok(body.schedules.length > 0, 'has opening times');
        assert.ok(body.service_at_locations[0].location.addresses[0].postal_code, 'has an address');
        assert.ok(body.attributes.length > 0, 'has needs');
        for (const c of body.contacts) for (const p of c.phones) assertValid('phone', p, 'phone');
        const text = JSON.stringify(body);
        for (const p of practitioners) assert.ok(!text.includes(p.email), 'no practitioner email');
        for (const c of body.contacts) assert.ok(!surnames.has(String(c.name).split(' ').at(-1) ?? ''), 'contacts are roles, not people');
      }
    });

    test('service_at_locations, organizations, taxonomies and terms validate, lists and items', async () => {
      const sals = await get('/oruk/service_at_locations?per_page=20');
      assertPage(sals.body, 'compiled/service_at_location_list', 'service_at_locations');
      assert.equal(sals.body.total_items, serviceCount);
      for (const x of sals.body.contents.slice(0, 5)) {
        const one = await get(`/oruk/service_at_locations/${x.id}`);
        assert.equal(one.status, 200);
        assertValid('compiled/service_at_location', one.body, 'service_at_location');
        assert.equal(one.body.service.id, x.service_id);
      }

      const organisations = Number(
        (await sql<{ n: number }>`select count(*) as n from organisations`.execute(server.database.db)).rows[0]!.n,
      );
      let page = 1;
      const orgIds: string[] = [];
      for (;;) {
        const { body } = await get(`/oruk/organizations?per_page=7&page=${page}`);
        assertPage(body, 'compiled/organization_list', `organizations page ${page}`);
        assert.equal(body.total_items, organisations);
        orgIds.push(...body.contents.map((o: Json) => o.id));
        if (body.last_page) break;
        page++;
      }
      assert.equal(new Set(orgIds).size, organisations);
      for (const id of orgIds.slice(0, 6)) {
        const { status, body } = await get(`/oruk/organizations/${id}`);
        assert.equal(status, 200);
        assertValid('compiled/organization', body, 'organization');
        assert.ok(body.services.length > 0);
      }
      const searched = await get('/oruk/organizations?search=food%20bank');
      assert.deepEqual(
        searched.body.contents.map((o: Json) => o.name),
        ['Riverford Food Bank'],
      );

      const taxonomies = await get('/oruk/taxonomies');
      assertPage(taxonomies.body, 'taxonomy', 'taxonomies');
      assert.equal(taxonomies.body.contents[0].name, 'Joinery needs');
      const taxonomy = await get(`/oruk/taxonomies/${taxonomies.body.contents[0].id}`);
      assertValid('taxonomy', taxonomy.body, 'taxonomy');
      assert.equal(taxonomy.body.taxonomy_terms.length, 22);
      const terms = await get('/oruk/taxonomy_terms?per_page=10&page=3');
      assertPage(terms.body, 'taxonomy_term', 'taxonomy_terms page 3');
      assert.deepEqual([terms.body.total_items, terms.body.total_pages, terms.body.size, terms.body.last_page], [23, 3, 3, true]);
      const term = await get(`/oruk/taxonomy_terms/${needTermId('domestic_abuse')}`);
      assertValid('taxonomy_term', term.body, 'taxonomy_term');
      assert.equal(term.body.name, 'Domestic abuse');
      assert.equal(term.body.parent_id, needTermId('group_safety'));
    });

    test('unknown ids and paths answer 404 in JSON', async () => {
      for (const url of [
        '/oruk/services/3f7b145d-84af-42d7-8fae-eaca714b02b2',
        '/oruk/services/org-gp-01-svc1',
        '/oruk/organizations/0bc248fa-dc27-4650-9ba4-8f1a24ef16a2',
        '/oruk/taxonomy_terms/nope',
        '/oruk/taxonomies/3f7b145d-84af-42d7-8fae-eaca714b02b2',
        '/oruk/service_at_locations/3f7b145d-84af-42d7-8fae-eaca714b02b2',
        '/oruk/locations',
      ]) {
        const { status, body, type } = await get(url);
        assert.equal(status, 404, url);
        assert.match(type, /^application\/json/);
        assert.equal(typeof body.message, 'string');
      }
    });

    test('bad parameters answer 400 naming the parameter, never 500', async () => {
      const cases: Array<[string, RegExp]> = [
        ['/oruk/services?page=0', /^page must be a whole number from 1/],
        ['/oruk/services?per_page=abc', /^per_page must be a whole number/],
        ['/oruk/services?per_page=100000', /^per_page must be a whole number from 1 to 500/],
        ['/oruk/services?page=1&page=2', /^page was given 2 times/],
        ['/oruk/services?taxonomy_term_id=housing', /^taxonomy_term_id must be a UUID/],
        ['/oruk/services?taxonomy_id=1', /^taxonomy_id must be a UUID/],
        ['/oruk/services?minimum_age=-3', /^minimum_age must be a number from 0 to 150/],
        ['/oruk/services?proximity=1000', /^proximity needs a postcode/],
        ['/oruk/services?postcode=ZZ9%209ZZ', /^postcode "ZZ9 9ZZ" is not a postcode this directory knows/],
        ['/oruk/services?postcode=%27%3B%20drop%20table', /is not a postcode this directory knows/],
        ['/oruk/service_at_locations?postcode=RV1%201AA&proximity=far', /^proximity must be a number/],
        ['/oruk/services?day=Funday', /^day must be a day of the week/],
        ['/oruk/services?start_time=25:00', /^start_time must be a time of day/],
        ['/oruk/taxonomy_terms?per_page=0', /^per_page must be a whole number/],
        ['/oruk/organizations?search=' + 'x'.repeat(201), /^search must be at most 200 characters/],
      ];
      for (const [url, message] of cases) {
        const { status, body } = await get(url);
        assert.equal(status, 400, url);
        assert.match(body.message, message, url);
      }
    });
  });

  describe(`directory export and import on ${target.kind}`, () => {
    // One database open at a time: on a shared PostgreSQL server, Kysely's migrator mistakes
    // another open test schema's migration tables for its own.
    let empty: DatabaseHandle | undefined;
    let exported: Json[];
    after(async () => {
      await empty?.close();
    });

    const counts = async (db: DatabaseHandle['db']) =>
      (
        await sql<Record<string, number>>`
      select (select count(*) from services) as services, (select count(*) from organisations) as organisations,
             (select count(*) from directory_schedules) as schedules, (select count(*) from directory_locations) as locations,
             (select count(*) from directory_service_terms) as needs`.execute(db)
      ).rows[0]!;

    test('the export is a valid ORUK service package, and importing it back into its source changes nothing', async () => {
      const server = await startTestServer({ database: await target.open(), seed: 11, people: 1500 });
      try {
        const source = server.database;
        exported = await exportDirectory(source.db);
        assertValid('compiled/service_package', exported, 'the export');
        assert.ok(exported.length > 30);
        assert.deepEqual(
          exported.map((s) => s.id),
          exported.map((s) => s.id).sort(),
          'in id order',
        );
        // Ids map back to the network's own ids, so nothing is duplicated.
        const before = await counts(source.db);
        await importDirectory(source.db, exported);
        assert.deepEqual(await counts(source.db), before);
        assert.deepEqual(await exportDirectory(source.db), exported);
      } finally {
        await server.close();
      }
    });

    test('export → import into an empty database → export gives the same JSON; importing again changes nothing', async () => {
      empty = await target.open();
      const first = await importDirectory(empty.db, exported);
      assert.equal(first.services, exported.length);
      const again = await exportDirectory(empty.db);
      assert.deepEqual(again, exported);
      const before = await counts(empty.db);
      await importDirectory(empty.db, JSON.parse(JSON.stringify(exported)));
      assert.deepEqual(await counts(empty.db), before);
      assert.deepEqual(await exportDirectory(empty.db), exported);
    });

    test('an edit in the file is applied on re-import', async () => {
      const edited = structuredClone(exported);
      edited[0]!.name = 'Renamed service';
      edited[0]!.schedules = edited[0]!.schedules.slice(0, 1);
      edited[0]!.schedules[0].opens_at = '07:30:00';
      await importDirectory(empty!.db, edited);
      const after = (await exportDirectory(empty!.db)) as Json[];
      assert.equal(after[0]!.name, 'Renamed service');
      assert.equal(after[0]!.schedules.length, 1);
      assert.equal(after[0]!.schedules[0].opens_at, '07:30:00');
      await importDirectory(empty!.db, exported);
      assert.deepEqual(await exportDirectory(empty!.db), exported);
      await empty!.close();
      empty = undefined;
    });

    test('bad input is refused with the first problem named, and nothing is half-imported', async () => {
      const fresh = await target.open();
      try {
        const cases: Array<[unknown, RegExp]> = [
          [{ services: 3 }, /expected an Open Referral UK service package/],
          [[{ ...exported[0], id: 'svc-1' }], /^services\[0\]\.id must match format "uuid"$/],
          [
            [exported[0], { ...exported[1], status: 'open' }],
            /^services\[1\]\.status must be one of "active", "inactive", "defunct", "temporarily closed"$/,
          ],
          [
            [exported[0], { ...exported[1], organization: undefined, organization_id: '3f7b145d-84af-42d7-8fae-eaca714b02b2' }],
            /services\[1\] \(".+"\): organization_id 3f7b145d-84af-42d7-8fae-eaca714b02b2 is not given in full/,
          ],
          [[exported[0], { ...exported[1], minimum_age: 12.5 }], /services\[1\] \(".+"\)\.minimum_age must be a whole number of years/],
          [[exported[0], { ...exported[1], schedules: exported[0]!.schedules }], /schedule id .+ is also used by services\[0\]/],
        ];
        for (const [input, message] of cases) {
          await assert.rejects(importDirectory(fresh.db, input), (error: Error) => {
            assert.equal(error.name, 'DirectoryImportError');
            assert.match(error.message, message);
            return true;
          });
        }
        assert.deepEqual(await counts(fresh.db), { services: 0, organisations: 0, schedules: 0, locations: 0, needs: 0 });

        // A clash found only by the database, after the first services were written: all rolled back.
        await importDirectory(fresh.db, exported.slice(0, 3));
        const before = await counts(fresh.db);
        const clash = structuredClone(exported.slice(3, 6));
        clash[2]!.contacts[0].id = exported[0]!.contacts[0].id;
        await assert.rejects(importDirectory(fresh.db, clash), /nothing was imported/);
        assert.deepEqual(await counts(fresh.db), before);
      } finally {
        await fresh.close();
      }
    });
  });
}

test('responses were checked against the schemas', (t) => {
  // Reported with the test output: how many API responses and objects validated with 0 errors.
  t.diagnostic(`ORUK schema validations passed: ${validated}`);
  assert.ok(validated > 500);
});
