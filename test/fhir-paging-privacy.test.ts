// FHIR search paging tells nothing about rows the access decision hides: a practitioner who may
// see some of a person's Observations (their own organisation's) but not others (another agency's
// arrests and GP consultations) gets, for every _count, _offset, next link, _total and _include,
// exactly the Bundle they would get if the hidden rows did not exist; and audit trails they may
// not see page as empty, with no next link to count them by.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { NHS_NUMBER_SYSTEM } from '../src/fhir/resources.ts';
import { nhsCheckDigit } from '../src/platform/nhs-number.ts';
import { assertValid } from './support/fhir.ts';

function nhsNumber(seed: number): string {
  for (let n = seed; ; n++) {
    const first9 = String(900000000 + (n % 99999999)).padStart(9, '0');
    const check = nhsCheckDigit(first9);
    if (check !== null) return first9 + String(check);
  }
}

// The person's events in id order: V is the practitioner's own organisation's (visible), H another
// agency's (hidden: no sharing directive, and arrests are criminal justice). Hidden rows come
// first, between the visible ones and after the last, where each kind of leak would show.
const LAYOUT = 'HHVHVVHHHVHH';

for (const target of await testDatabaseTargets()) {
  describe(`FHIR search paging over hidden rows on ${target.kind}`, () => {
    let server: TestServer;
    let token: string;
    let personId: string;
    let visibleIds: string[];
    let hiddenIds: string[];
    let allIds: string[];

    async function get(path: string): Promise<Bundle> {
      const response = await fetch(`${server.url}${path}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
      });
      assert.equal(response.status, 200, `GET ${path}`);
      const bundle = (await response.json()) as Bundle;
      assertValid(bundle, `search Bundle for ${path}`);
      return bundle;
    }
    /** A Bundle without its timestamp, the one part that rightly differs between two requests. */
    const stable = ({ timestamp: _timestamp, ...rest }: Bundle) => rest;
    const pathOf = (url: string) => new URL(url).pathname + new URL(url).search;
    const ids = (bundle: Bundle) => (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!);

    /** Every page a client can reach or make up: offsets past the end of all rows, and the next-link walks. */
    async function everyPage(): Promise<unknown[]> {
      const pages: unknown[] = [];
      const queries = [
        `subject=Patient/${personId}&_count=1`,
        `subject=Patient/${personId}&_count=1&_total=accurate`,
        `patient=${personId}&_count=2&_include=Observation:patient`,
        `subject=Patient/${personId}&code=arrest,social_care_assessment&_count=1`,
      ];
      for (const query of queries) {
        for (let offset = 0; offset <= LAYOUT.length + 1; offset++)
          pages.push(stable(await get(`/fhir/Observation?${query}&_offset=${offset}`)));
        // The position a next link carries, made up to start at each row, hidden ones included.
        for (const id of allIds) pages.push(stable(await get(`/fhir/Observation?${query}&_after=${id}`)));
        let path: string | undefined = `/fhir/Observation?${query}`;
        for (let page = 0; path && page <= LAYOUT.length; page++) {
          const bundle = await get(path);
          pages.push(stable(bundle));
          const next = bundle.link?.find((l) => l.relation === 'next')?.url;
          path = next ? pathOf(next) : undefined;
        }
      }
      return pages;
    }

    before(async () => {
      server = await startTestServer({ people: 600, database: await target.open() });
      token = (await createApiTokenForUsername(server.database.db, 'practitioner', 'paging privacy test')).token;
      // Registering the person gives the practitioner's organisation a working relationship with them.
      const created = await fetch(`${server.url}/fhir/Patient`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify({
          resourceType: 'Patient',
          identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(6161) }],
          name: [{ family: 'Pagewell', given: ['Hester'] }],
          birthDate: '1984-03-02',
          gender: 'female',
        }),
      });
      assert.equal(created.status, 201);
      personId = ((await created.json()) as Patient).id!;
      const db = server.database.db;
      const own = (await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow())
        .organisation_id!;
      const other =
        (await db
          .selectFrom('organisations')
          .select('id')
          .where('id', '<>', own)
          .where('kind', '=', 'probation')
          .orderBy('id')
          .executeTakeFirst()) ??
        (await db.selectFrom('organisations').select('id').where('id', '<>', own).orderBy('id').executeTakeFirstOrThrow());
      visibleIds = [];
      hiddenIds = [];
      for (const [i, kind] of [...LAYOUT].entries()) {
        const row = await db
          .insertInto('person_events')
          .values({
            person_id: personId,
            at: new Date(Date.UTC(2024, 0, i + 1)),
            value: null,
            ...(kind === 'V'
              ? { organisation_id: own, type: 'social_care_assessment' }
              : { organisation_id: other.id, type: i % 2 === 0 ? 'arrest' : 'gp_consultation' }),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        (kind === 'V' ? visibleIds : hiddenIds).push(String(row.id));
      }
      allIds = [...visibleIds, ...hiddenIds].sort();
      assert.equal(
        allIds.map((id) => (visibleIds.includes(id) ? 'V' : 'H')).join(''),
        LAYOUT,
        'the search order (by id) interleaves the rows as laid out',
      );
    });
    after(async () => server?.close());

    test('a practitioner pages through exactly the rows they may see, one full page at a time, and no further', async () => {
      const ones: string[][] = [];
      let path: string | undefined = `/fhir/Observation?subject=Patient/${personId}&_count=1`;
      while (path) {
        const bundle = await get(path);
        ones.push(ids(bundle));
        const next = bundle.link?.find((l) => l.relation === 'next')?.url;
        path = next ? pathOf(next) : undefined;
        assert.ok(ones.length <= LAYOUT.length, 'the next links come to an end');
      }
      assert.deepEqual(
        ones,
        visibleIds.map((id) => [id]),
        'one visible Observation per page, every one once, and no empty page at the end',
      );

      const twos = await get(`/fhir/Observation?subject=Patient/${personId}&_count=2`);
      assert.deepEqual(ids(twos), visibleIds.slice(0, 2), 'the first page is full');
      const second = await get(pathOf(twos.link!.find((l) => l.relation === 'next')!.url));
      assert.deepEqual(ids(second), visibleIds.slice(2, 4));
      assert.equal(
        second.link?.find((l) => l.relation === 'next'),
        undefined,
        'no next link when no further row is visible',
      );
      assert.equal(second.total, visibleIds.length, 'the last page knows the total: the rows the practitioner may see');
      assert.equal(twos.total, undefined, 'no total before the end unless asked for');
      const counted = await get(`/fhir/Observation?subject=Patient/${personId}&_count=1&_total=accurate`);
      assert.equal(counted.total, visibleIds.length, '_total=accurate counts only the visible rows');
      assert.equal((await get(`/fhir/Observation?subject=Patient/${personId}&_total=none`)).total, undefined);

      // previous goes back a page at a time, to exactly the page before.
      const pages: Bundle[] = [];
      let at: string | undefined = `/fhir/Observation?subject=Patient/${personId}&_count=1`;
      while (at) {
        const bundle = await get(at);
        pages.push(bundle);
        const next = bundle.link?.find((l) => l.relation === 'next')?.url;
        at = next ? pathOf(next) : undefined;
      }
      for (let i = 1; i < pages.length; i++) {
        const previous = pages[i]!.link?.find((l) => l.relation === 'previous')?.url;
        assert.ok(previous, `page ${i + 1} has a previous link`);
        assert.match(previous, /_before=/, "previous is a cursor from the page's first row, not a scan from the start");
        assert.deepEqual(ids(await get(pathOf(previous))), ids(pages[i - 1]!), `page ${i + 1}'s previous is page ${i}`);
      }
      assert.equal(
        pages[0]!.link?.find((l) => l.relation === 'previous'),
        undefined,
      );
      assert.ok(
        pages.every((p) => (p.entry ?? []).length > 0 || !p.link?.some((l) => l.relation === 'next')),
        'no empty page with a next link',
      );

      for (let offset = 0; offset < visibleIds.length; offset++) {
        const bundle = await get(`/fhir/Observation?subject=Patient/${personId}&_count=1&_offset=${offset}`);
        assert.deepEqual(ids(bundle), [visibleIds[offset]], `_offset=${offset} is the ${offset + 1}th row the practitioner may see`);
      }
    });

    test('every Bundle (entries, links, total) is the same as if the hidden rows did not exist', async () => {
      const withHidden = await everyPage();
      const shown = JSON.stringify(withHidden);
      for (const id of hiddenIds)
        assert.ok(!shown.includes(`"Observation/${id}"`) && !shown.includes(`"id":"${id}"`), `hidden Observation ${id} is never shown`);
      await server.database.db.deleteFrom('person_events').where('id', 'in', hiddenIds.map(Number)).execute();
      const withoutHidden = await everyPage();
      assert.deepEqual(withHidden, withoutHidden);
    });

    test('an audit trail the practitioner may not see pages as empty, without a next link to count it by', async () => {
      const held = await server.database.db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('person_id', '=', personId)
        .executeTakeFirstOrThrow();
      assert.ok(Number(held.n) > 3, 'the person has an audit trail of several events');
      for (let offset = 0; offset <= 3; offset++) {
        const bundle = await get(`/fhir/AuditEvent?patient=${personId}&_count=1&_total=accurate&_offset=${offset}`);
        assert.equal(bundle.entry, undefined, `no AuditEvent at _offset=${offset}`);
        assert.equal(bundle.total, 0, 'none that they may see');
        assert.deepEqual(
          bundle.link?.map((l) => l.relation),
          offset > 0 ? ['self', 'previous'] : ['self'],
          `_offset=${offset}: no next link`,
        );
      }
    });
  });
}
