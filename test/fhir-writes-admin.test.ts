// Writing the service directory, the network's staff, family relationships and households
// through FHIR with a third-party client (fhir-kit-client). Each type is created, read back (and
// seen where people look: the directory pages, the Open Referral UK API), updated with version
// checks, refused for roles that may not, refused for bad bodies, and validated against FHIR R4;
// relationships that end and people who move household stay on record with who and when.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';
import type {
  Bundle,
  Group,
  HealthcareService,
  Location,
  Organization,
  Patient,
  Practitioner,
  PractitionerRole,
  RelatedPerson,
  Resource,
} from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { signIn, startTestServer, type TestServer } from './support/server.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { assertValid, refused } from './support/fhir.ts';
import {
  NEED_SYSTEM,
  NHS_NUMBER_SYSTEM,
  ORGANISATION_CODE_SYSTEM,
  ORGANISATION_KIND_SYSTEM,
  ORGANIZATION_EXTENSION,
  PERSON_SYSTEM,
  PRACTITIONER_ROLE_SYSTEM,
} from '../src/fhir/resources.ts';
import { nhsCheckDigit } from '../src/platform/nhs-number.ts';
import { orukId } from '../src/directory/ids.ts';

function nhsNumber(seed: number): string {
  for (let n = seed; ; n++) {
    const first9 = String(900000000 + (n % 99999999)).padStart(9, '0');
    const check = nhsCheckDigit(first9);
    if (check !== null) return first9 + String(check);
  }
}

const USERS = ['admin', 'practitioner', 'gp', 'manager', 'citizen'] as const;
type User = (typeof USERS)[number];

for (const target of await testDatabaseTargets()) {
  describe(`FHIR writes for the directory, staff, relationships and households on ${target.kind}`, () => {
    let server: TestServer;
    const clients = {} as Record<User, Client>;
    const tokens = {} as Record<User, string>;

    /** A raw request, for headers fhir-kit-client does not give back. */
    async function send(method: string, path: string, as: User, body?: unknown, headers: Record<string, string> = {}) {
      const response = await fetch(`${server.url}/fhir/${path}`, {
        method,
        headers: { authorization: `Bearer ${tokens[as]}`, 'content-type': 'application/fhir+json', ...headers },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as Resource };
    }
    const count = async (table: 'organisations' | 'services' | 'directory_locations' | 'practitioners' | 'relationships' | 'households') =>
      Number(
        (
          await server.database.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const oruk = async (path: string) => {
      const response = await fetch(`${server.url}/oruk/${path}`);
      assert.equal(response.status, 200, `GET /oruk/${path}`);
      return (await response.json()) as Record<string, unknown>;
    };

    before(async () => {
      server = await startTestServer({ people: 600, database: await target.open() });
      for (const user of USERS) {
        tokens[user] = (await createApiTokenForUsername(server.database.db, user, 'admin writes test')).token;
        clients[user] = new Client({ baseUrl: `${server.url}/fhir`, bearerToken: tokens[user] });
      }
    });
    after(async () => server?.close());

    /** A person the practitioner registers (which gives their organisation a working relationship with them). */
    async function register(family: string, given: string, seed: number, birthDate: string): Promise<string> {
      const patient = (await clients.practitioner.create({
        resourceType: 'Patient',
        body: {
          resourceType: 'Patient',
          identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(seed) }],
          name: [{ family, given: [given] }],
          birthDate,
          gender: 'female',
        },
      })) as unknown as Patient;
      return patient.id!;
    }

    test('an administrator adds an organisation, a location and a service; the directory pages and the ORUK API show them', async () => {
      const created = await send('POST', 'Organization', 'admin', {
        resourceType: 'Organization',
        name: "Riverford Men's Shed",
        identifier: [{ system: ORGANISATION_CODE_SYSTEM, value: 'MENSHED' }],
        type: [{ coding: [{ system: ORGANISATION_KIND_SYSTEM, code: 'charity' }] }],
        telecom: [
          { system: 'phone', value: '01632 960123' },
          { system: 'email', value: 'hello@menshed.example' },
          { system: 'url', value: 'https://menshed.example' },
        ],
        address: [{ postalCode: 'rv1 1aa' }],
      });
      assert.equal(created.status, 201);
      const org = created.body as Organization;
      assertValid(org, 'created Organization');
      assert.equal(created.headers.get('location'), `${server.url}/fhir/Organization/${org.id}/_history/1`);
      assert.equal(org.name, "Riverford Men's Shed");
      assert.equal(org.identifier?.[0]?.value, 'MENSHED');
      assert.equal(org.type?.[0]?.coding?.[0]?.code, 'charity');
      assert.deepEqual(
        org.telecom?.map((t) => t.value),
        ['01632 960123', 'hello@menshed.example', 'https://menshed.example'],
      );
      assert.equal(org.address?.[0]?.postalCode, 'RV1 1AA', 'the postcode is normalised as the directory does');
      assert.ok(org.meta?.lastUpdated, 'a new organisation says when it was made');
      const audited = await server.database.db
        .selectFrom('audit_events')
        .select(['actor_role', 'person_id'])
        .where('reason', 'like', `directory: added Organization/${org.id}%`)
        .execute();
      assert.deepEqual(audited, [{ actor_role: 'admin', person_id: null }], 'the change is on the audit trail, naming the administrator');

      const postcode = await server.database.db
        .selectFrom('postcodes')
        .select(['postcode', 'lat', 'lon'])
        .orderBy('postcode')
        .executeTakeFirstOrThrow();
      const location = (await clients.admin.create({
        resourceType: 'Location',
        body: {
          resourceType: 'Location',
          name: 'The Shed',
          description: 'Workshop behind the library',
          address: { line: ['2 Mill Lane'], city: 'Riverford', postalCode: postcode.postcode },
          managingOrganization: { reference: `Organization/${org.id}` },
        },
      })) as unknown as Location;
      assertValid(location, 'created Location');
      assert.deepEqual(location.address?.line, ['2 Mill Lane']);
      assert.deepEqual(
        location.position,
        { latitude: postcode.lat, longitude: postcode.lon },
        'without a position, the postcode places it on the map',
      );
      assert.equal(location.managingOrganization?.reference, `Organization/${org.id}`);

      const service = (await clients.admin.create({
        resourceType: 'HealthcareService',
        body: {
          resourceType: 'HealthcareService',
          providedBy: { reference: `Organization/${org.id}` },
          name: 'Shed sessions',
          comment: 'Woodwork and company for men who feel alone.',
          category: [{ coding: [{ system: NEED_SYSTEM, code: 'social_isolation' }] }],
          location: [{ reference: `Location/${location.id}` }],
          eligibility: [{ comment: 'Men over 18' }],
          telecom: [{ system: 'email', value: 'sessions@menshed.example' }],
        },
      })) as unknown as HealthcareService;
      assertValid(service, 'created HealthcareService');
      assert.equal(service.active, true);
      assert.equal(service.category?.[0]?.coding?.[0]?.code, 'social_isolation');
      assert.deepEqual(
        service.location?.map((l) => l.reference),
        [`Location/${location.id}`],
      );
      assert.equal(service.eligibility?.[0]?.comment, 'Men over 18');

      // The ORUK API and the directory pages read the same tables.
      const orukService = await oruk(`services/${orukId('service', service.id!)}`);
      assert.equal(orukService.name, 'Shed sessions');
      assert.equal(orukService.status, 'active');
      assert.equal((orukService.organization as { name: string }).name, "Riverford Men's Shed");
      const orukLocation = (
        orukService.service_at_locations as Array<{ location: { name: string; addresses: Array<{ address_1: string }> } }>
      )[0]!.location;
      assert.equal(orukLocation.name, 'The Shed');
      assert.equal(orukLocation.addresses[0]!.address_1, '2 Mill Lane');
      assert.deepEqual(
        (orukService.attributes as Array<{ taxonomy_term: { term: string } }>).map((a) => a.taxonomy_term.term),
        ['social_isolation'],
      );
      const cookie = await signIn(server.app, 'citizen');
      const page = await server.app.inject({
        method: 'GET',
        url: `/directory?q=${encodeURIComponent('Shed sessions')}`,
        headers: { cookie },
      });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Shed sessions/, 'the directory search finds the new service');

      // Updates with version checks: the organisation is renamed, the service made inactive.
      const renamed = (await clients.admin.update({
        resourceType: 'Organization',
        id: org.id!,
        body: { ...org, name: 'Riverford Shed' },
        options: { headers: { 'if-match': 'W/"1"' } },
      })) as unknown as Organization;
      assert.equal(renamed.name, 'Riverford Shed');
      assert.equal(renamed.meta?.versionId, '2');
      assertValid(renamed, 'updated Organization');
      await assert.rejects(
        clients.admin.update({
          resourceType: 'Organization',
          id: org.id!,
          body: { ...renamed, name: 'Stale' },
          options: { headers: { 'if-match': 'W/"1"' } },
        }),
        refused(412, /version 2/),
      );
      assert.equal(
        (await oruk(`organizations/${orukId('organization', org.id!)}`)).name,
        'Riverford Shed',
        'the ORUK API shows the new name',
      );

      const moved = (await clients.admin.update({
        resourceType: 'Location',
        id: location.id!,
        body: { ...location, address: { line: ['3 Mill Lane'], city: 'Riverford', postalCode: postcode.postcode } },
        options: { headers: { 'if-match': 'W/"1"' } },
      })) as unknown as Location;
      assert.deepEqual(moved.address?.line, ['3 Mill Lane']);
      assert.equal(moved.meta?.versionId, '2');

      const closed = (await clients.admin.update({
        resourceType: 'HealthcareService',
        id: service.id!,
        body: { ...service, active: false },
        options: { headers: { 'if-match': 'W/"1"' } },
      })) as unknown as HealthcareService;
      assert.equal(closed.active, false);
      assert.equal(closed.meta?.versionId, '2');
      assertValid(closed, 'updated HealthcareService');
      assert.equal(
        (await oruk(`services/${orukId('service', service.id!)}`)).status,
        'inactive',
        'the ORUK API shows the service inactive',
      );

      // Searches find the new items; a transaction Bundle adds an organisation and its service together.
      const found = (await clients.practitioner.search({
        resourceType: 'HealthcareService',
        searchParams: { organization: org.id! },
      })) as unknown as Bundle;
      assert.deepEqual(
        found.entry?.map((e) => e.resource?.id),
        [service.id],
      );
      const bundle = (await clients.admin.transaction({
        body: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              fullUrl: 'urn:uuid:0d3c4a9e-0000-4000-8000-0000000000b1',
              resource: { resourceType: 'Organization', name: 'Riverford Repair Café' },
              request: { method: 'POST', url: 'Organization' },
            },
            {
              resource: {
                resourceType: 'HealthcareService',
                name: 'Repair evenings',
                providedBy: { reference: 'urn:uuid:0d3c4a9e-0000-4000-8000-0000000000b1' },
                category: [{ coding: [{ system: NEED_SYSTEM, code: 'financial_hardship' }] }],
              },
              request: { method: 'POST', url: 'HealthcareService' },
            },
          ],
        } as never,
      })) as unknown as Bundle;
      assertValid(bundle, 'transaction-response');
      assert.deepEqual(
        bundle.entry!.map((e) => e.response?.status.slice(0, 3)),
        ['201', '201'],
      );
      assert.equal(
        (bundle.entry![1]!.resource as HealthcareService).providedBy?.reference,
        `Organization/${bundle.entry![0]!.resource!.id}`,
      );
    });

    test('only administrators change the directory, and bad items are refused with the reason', async () => {
      const before = [await count('organisations'), await count('services'), await count('directory_locations')];
      for (const as of ['practitioner', 'manager', 'citizen'] as const) {
        await assert.rejects(
          clients[as].create({ resourceType: 'Organization', body: { resourceType: 'Organization', name: 'Sneaky charity' } }),
          refused(403, /only admins/),
        );
        await assert.rejects(
          clients[as].create({ resourceType: 'Location', body: { resourceType: 'Location', name: 'Sneaky hall' } }),
          refused(403, /only admins/),
        );
      }
      const anyService = (await clients.admin.search({
        resourceType: 'HealthcareService',
        searchParams: { _count: 1 },
      })) as unknown as Bundle;
      const existing = anyService.entry![0]!.resource as HealthcareService;
      await assert.rejects(
        clients.practitioner.update({
          resourceType: 'HealthcareService',
          id: existing.id!,
          body: { ...existing, name: 'Renamed by a practitioner' },
        }),
        refused(403),
      );
      assert.notEqual(
        ((await clients.admin.read({ resourceType: 'HealthcareService', id: existing.id! })) as unknown as HealthcareService).name,
        'Renamed by a practitioner',
      );

      await assert.rejects(
        clients.admin.create({
          resourceType: 'Organization',
          body: { resourceType: 'Organization', telecom: [{ system: 'email', value: 'x@y.example' }] },
        }),
        refused(400, /name/),
      );
      await assert.rejects(
        clients.admin.create({
          resourceType: 'Organization',
          body: { resourceType: 'Organization', name: 'Bad mail', telecom: [{ system: 'email', value: 'not an email' }] },
        }),
        refused(400, /email/),
      );
      await assert.rejects(
        clients.admin.create({
          resourceType: 'Organization',
          body: {
            resourceType: 'Organization',
            name: 'Odd kind',
            type: [{ coding: [{ system: ORGANISATION_KIND_SYSTEM, code: 'spaceport' }] }],
          },
        }),
        refused(422, /kind of member organisation/),
      );
      await assert.rejects(
        clients.admin.create({
          resourceType: 'Location',
          body: { resourceType: 'Location', name: 'Nowhere', address: { line: ['1 High Street'], postalCode: 'NOT A CODE' } },
        }),
        refused(400, /postcode/),
      );
      await assert.rejects(
        clients.admin.create({ resourceType: 'HealthcareService', body: { resourceType: 'HealthcareService', name: 'No provider' } }),
        refused(400, /providedBy/),
      );
      await assert.rejects(
        clients.admin.create({
          resourceType: 'HealthcareService',
          body: {
            resourceType: 'HealthcareService',
            name: 'Odd need',
            providedBy: { reference: `Organization/${existing.providedBy!.reference!.split('/')[1]}` },
            category: [{ coding: [{ system: NEED_SYSTEM, code: 'dragons' }] }],
          },
        }),
        refused(422, /taxonomy/),
      );
      const otherOrg = (
        await server.database.db
          .selectFrom('organisations')
          .select('id')
          .where('id', '!=', existing.providedBy!.reference!.split('/')[1]!)
          .orderBy('id')
          .executeTakeFirstOrThrow()
      ).id;
      await assert.rejects(
        clients.admin.update({
          resourceType: 'HealthcareService',
          id: existing.id!,
          body: { ...existing, providedBy: { reference: `Organization/${otherOrg}` } },
        }),
        refused(422, /stays with the organisation/),
      );
      assert.deepEqual(
        [await count('organisations'), await count('services'), await count('directory_locations')],
        before,
        'nothing was written',
      );
    });

    test('an administrator adds a practitioner and gives them a role; a colleague who signs in keeps their account', async () => {
      const org = (await server.database.db.selectFrom('organisations').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
      const otherOrg = (
        await server.database.db.selectFrom('organisations').select('id').where('id', '!=', org).orderBy('id').executeTakeFirstOrThrow()
      ).id;
      const practitioner = (await clients.admin.create({
        resourceType: 'Practitioner',
        body: {
          resourceType: 'Practitioner',
          name: [{ family: 'Okafor', given: ['Ada'] }],
          telecom: [{ system: 'email', value: 'ada.okafor@work.example' }],
          extension: [{ url: ORGANIZATION_EXTENSION, valueReference: { reference: `Organization/${org}` } }],
        },
      })) as unknown as Practitioner;
      assertValid(practitioner, 'created Practitioner');
      assert.equal(practitioner.active, true);
      assert.equal(practitioner.name?.[0]?.family, 'Okafor');
      assert.equal(practitioner.telecom?.[0]?.value, 'ada.okafor@work.example');
      await assert.rejects(
        clients.admin.read({ resourceType: 'PractitionerRole', id: practitioner.id! }),
        refused(404),
        'no role until one is given',
      );

      const role = await send('POST', 'PractitionerRole', 'admin', {
        resourceType: 'PractitionerRole',
        practitioner: { reference: `Practitioner/${practitioner.id}` },
        organization: { reference: `Organization/${org}` },
        code: [{ text: 'Link worker' }],
      });
      assert.equal(role.status, 201);
      const given = role.body as PractitionerRole;
      assertValid(given, 'created PractitionerRole');
      assert.equal(given.id, practitioner.id, "a practitioner's role has their id");
      assert.equal(given.code?.[0]?.coding?.[0]?.code, 'link_worker');
      assert.equal(given.organization?.reference, `Organization/${org}`);
      await assert.rejects(
        clients.admin.create({ resourceType: 'PractitionerRole', body: { ...given, id: undefined } }),
        refused(409, /already has a role/),
      );
      const colleagues = (await clients.practitioner.search({
        resourceType: 'PractitionerRole',
        searchParams: { organization: org, role: 'link_worker' },
      })) as unknown as Bundle;
      assert.ok(
        colleagues.entry?.some((e) => e.resource?.id === practitioner.id),
        'colleagues find the new link worker',
      );

      const current = (await clients.admin.read({ resourceType: 'Practitioner', id: practitioner.id! })) as unknown as Practitioner;
      const renamed = (await clients.admin.update({
        resourceType: 'Practitioner',
        id: practitioner.id!,
        body: { ...current, name: [{ family: 'Okafor-Reid', given: ['Ada'] }] },
        options: { headers: { 'if-match': `W/"${current.meta?.versionId}"` } },
      })) as unknown as Practitioner;
      assert.equal(renamed.name?.[0]?.family, 'Okafor-Reid');
      assert.equal(Number(renamed.meta?.versionId), Number(current.meta?.versionId) + 1);
      await assert.rejects(
        clients.admin.update({
          resourceType: 'Practitioner',
          id: practitioner.id!,
          body: { ...renamed, active: false },
          options: { headers: { 'if-match': `W/"${current.meta?.versionId}"` } },
        }),
        refused(412),
      );

      const moved = (await clients.admin.update({
        resourceType: 'PractitionerRole',
        id: practitioner.id!,
        body: {
          ...given,
          organization: { reference: `Organization/${otherOrg}` },
          code: [{ coding: [{ system: PRACTITIONER_ROLE_SYSTEM, code: 'social_worker' }] }],
          active: false,
        },
        options: { headers: { 'if-match': 'W/"1"' } },
      })) as unknown as PractitionerRole;
      assertValid(moved, 'updated PractitionerRole');
      assert.equal(moved.organization?.reference, `Organization/${otherOrg}`);
      assert.equal(moved.code?.[0]?.coding?.[0]?.code, 'social_worker');
      assert.equal(moved.active, false);
      assert.equal(
        ((await clients.admin.read({ resourceType: 'Practitioner', id: practitioner.id! })) as unknown as Practitioner).active,
        false,
        'they no longer work in the network',
      );

      // A transaction Bundle adds a practitioner and their role together.
      const both = (await clients.admin.transaction({
        body: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              fullUrl: 'urn:uuid:5e1b2c3d-0000-4000-8000-0000000000c1',
              resource: {
                resourceType: 'Practitioner',
                name: [{ family: 'Achebe', given: ['Chinua'] }],
                extension: [{ url: ORGANIZATION_EXTENSION, valueReference: { reference: `Organization/${org}` } }],
              },
              request: { method: 'POST', url: 'Practitioner' },
            },
            {
              resource: {
                resourceType: 'PractitionerRole',
                practitioner: { reference: 'urn:uuid:5e1b2c3d-0000-4000-8000-0000000000c1' },
                organization: { reference: `Organization/${org}` },
                code: [{ text: 'housing officer' }],
              },
              request: { method: 'POST', url: 'PractitionerRole' },
            },
          ],
        } as never,
      })) as unknown as Bundle;
      assertValid(both, 'transaction-response');
      assert.deepEqual(
        both.entry!.map((e) => e.response?.status.slice(0, 3)),
        ['201', '201'],
      );
      assert.equal((both.entry![1]!.resource as PractitionerRole).code?.[0]?.coding?.[0]?.code, 'housing_officer');
      assert.equal(both.entry![1]!.resource!.id, both.entry![0]!.resource!.id);

      // Someone who signs in: their details change, their account and its organisation do not.
      const account = await server.database.db
        .selectFrom('users')
        .select(['id', 'practitioner_id', 'organisation_id', 'display_name', 'password_hash'])
        .where('username', '=', 'practitioner')
        .executeTakeFirstOrThrow();
      const signsIn = (await clients.admin.read({
        resourceType: 'PractitionerRole',
        id: account.practitioner_id!,
      })) as unknown as PractitionerRole;
      const elsewhere = signsIn.organization?.reference === `Organization/${org}` ? otherOrg : org;
      await assert.rejects(
        clients.admin.update({
          resourceType: 'PractitionerRole',
          id: signsIn.id!,
          body: { ...signsIn, organization: { reference: `Organization/${elsewhere}` } },
        }),
        refused(422, /signs in/),
      );
      const person = (await clients.admin.read({ resourceType: 'Practitioner', id: account.practitioner_id! })) as unknown as Practitioner;
      await clients.admin.update({
        resourceType: 'Practitioner',
        id: person.id!,
        body: { ...person, telecom: [{ system: 'email', value: 'new.address@work.example' }] },
      });
      assert.deepEqual(
        await server.database.db
          .selectFrom('users')
          .select(['id', 'practitioner_id', 'organisation_id', 'display_name', 'password_hash'])
          .where('username', '=', 'practitioner')
          .executeTakeFirstOrThrow(),
        account,
        'the account is untouched',
      );
      assert.equal(
        ((await clients.practitioner.read({ resourceType: 'Practitioner', id: person.id! })) as unknown as Practitioner).telecom?.[0]
          ?.value,
        'new.address@work.example',
      );
    });

    test('someone who signs in is moved to another organisation with their account, not through PractitionerRole', async () => {
      const db = server.database.db;
      const signer = await db
        .selectFrom('users')
        .select('practitioner_id')
        .where('username', '=', 'practitioner')
        .executeTakeFirstOrThrow();
      const practitionerId = signer.practitioner_id!;
      const before = await db.selectFrom('practitioners').selectAll().where('id', '=', practitionerId).executeTakeFirstOrThrow();
      const elsewhere = (
        await db.selectFrom('organisations').select('id').where('id', '<>', before.organisation_id).orderBy('id').executeTakeFirstOrThrow()
      ).id;
      const role = (await clients.admin.read({ resourceType: 'PractitionerRole', id: practitionerId })) as unknown as PractitionerRole;
      await assert.rejects(
        clients.admin.update({
          resourceType: 'PractitionerRole',
          id: practitionerId,
          body: { ...role, organization: { reference: `Organization/${elsewhere}` } },
        }),
        refused(422, /signs in to Joinery/),
      );
      assert.deepEqual(
        await db.selectFrom('practitioners').selectAll().where('id', '=', practitionerId).executeTakeFirstOrThrow(),
        before,
        'nothing changed',
      );
    });

    test('only administrators change staff, and bad practitioners are refused', async () => {
      const before = await count('practitioners');
      const org = (await server.database.db.selectFrom('organisations').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
      const body = {
        resourceType: 'Practitioner',
        name: [{ family: 'Nobody', given: ['Sam'] }],
        extension: [{ url: ORGANIZATION_EXTENSION, valueReference: { reference: `Organization/${org}` } }],
      };
      for (const as of ['practitioner', 'manager', 'citizen'] as const)
        await assert.rejects(clients[as].create({ resourceType: 'Practitioner', body }), refused(403, /only admins/));
      const someone = ((await clients.admin.search({ resourceType: 'PractitionerRole', searchParams: { _count: 1 } })) as unknown as Bundle)
        .entry![0]!.resource as PractitionerRole;
      await assert.rejects(
        clients.practitioner.update({ resourceType: 'PractitionerRole', id: someone.id!, body: { ...someone, code: [{ text: 'boss' }] } }),
        refused(403),
      );
      // Without a member organisation they are someone outside the network: kept as received, not made staff.
      const outside = (await clients.admin.create({
        resourceType: 'Practitioner',
        body: { ...body, extension: undefined },
      })) as unknown as Practitioner;
      assert.deepEqual(outside.name, body.name);
      assert.equal(
        await server.database.db.selectFrom('practitioners').select('id').where('id', '=', outside.id!).executeTakeFirst(),
        undefined,
        'not on the staff',
      );
      await assert.rejects(
        clients.admin.create({ resourceType: 'Practitioner', body: { ...body, name: [{ given: ['Sam'] }] } }),
        refused(400, /family name/),
      );
      await assert.rejects(
        clients.admin.create({ resourceType: 'Practitioner', body: { ...body, telecom: [{ system: 'email', value: 'sam at work' }] } }),
        refused(400, /email/),
      );
      await assert.rejects(
        clients.admin.create({
          resourceType: 'Practitioner',
          body: { ...body, extension: [{ url: ORGANIZATION_EXTENSION, valueReference: { reference: 'Organization/no-such-org' } }] },
        }),
        refused(404, /organisation/),
      );
      await assert.rejects(
        clients.admin.update({
          resourceType: 'PractitionerRole',
          id: someone.id!,
          body: { ...someone, practitioner: { reference: 'Practitioner/someone-else' } },
        }),
        refused(422, /stays the same/),
      );
      assert.equal(await count('practitioners'), before, 'nothing was written');
    });

    test('a practitioner records that one person cares for another, then ends it; the ended relationship stays on record with who and when', async () => {
      const mother = await register('Halloran', 'Nora', 7301, '1948-03-02');
      const daughter = await register('Halloran', 'Siobhan', 7402, '1975-11-20');
      const created = await send('POST', 'RelatedPerson', 'practitioner', {
        resourceType: 'RelatedPerson',
        patient: { reference: `Patient/${mother}` },
        identifier: [{ system: PERSON_SYSTEM, value: daughter }],
        relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'CAREGIVER' }] }],
      });
      assert.equal(created.status, 201);
      const carer = created.body as RelatedPerson;
      assertValid(carer, 'created RelatedPerson');
      assert.equal(carer.patient.reference, `Patient/${mother}`);
      assert.equal(carer.name?.[0]?.given?.[0], 'Siobhan', "the related person's name is their own record's");
      assert.equal(carer.relationship?.[0]?.text, 'carer');
      assert.equal(carer.active, true);
      assert.ok(carer.period?.start, 'it says when it was recorded');
      // Recorded both ways: the daughter's record shows the mother she cares for.
      const hers = (await clients.practitioner.search({
        resourceType: 'RelatedPerson',
        searchParams: { patient: daughter },
      })) as unknown as Bundle;
      assert.deepEqual(
        hers.entry?.map((e) => (e.resource as RelatedPerson).relationship?.[0]?.text),
        ['cared_for'],
      );
      await assert.rejects(
        clients.practitioner.create({ resourceType: 'RelatedPerson', body: { ...carer, id: undefined, meta: undefined } }),
        refused(409, /already recorded/),
      );

      await assert.rejects(
        clients.practitioner.update({
          resourceType: 'RelatedPerson',
          id: carer.id!,
          body: { ...carer, active: false },
          options: { headers: { 'if-match': 'W/"7"' } },
        }),
        refused(412),
      );
      const ended = (await clients.practitioner.update({
        resourceType: 'RelatedPerson',
        id: carer.id!,
        body: { ...carer, active: false },
        options: { headers: { 'if-match': 'W/"1"' } },
      })) as unknown as RelatedPerson;
      assertValid(ended, 'ended RelatedPerson');
      assert.equal(ended.id, carer.id, 'the relationship keeps its id');
      assert.equal(ended.active, false);
      assert.ok(ended.period?.end, 'it says when it ended');
      assert.equal(ended.meta?.versionId, '2');
      const active = (await clients.practitioner.search({
        resourceType: 'RelatedPerson',
        searchParams: { patient: mother, active: 'true' },
      })) as unknown as Bundle;
      assert.equal(active.entry?.length ?? 0, 0, 'an ended relationship no longer shows as active');
      const practitionerUser = (
        await server.database.db.selectFrom('users').select('id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
      ).id;
      const rows = await server.database.db
        .selectFrom('relationships')
        .select(['person_id', 'type', 'recorded_by', 'ended_by', 'ended_at'])
        .where('person_id', 'in', [mother, daughter])
        .orderBy('person_id')
        .execute();
      assert.equal(rows.length, 2, 'both rows are kept');
      for (const row of rows) {
        assert.equal(row.recorded_by, practitionerUser);
        assert.equal(row.ended_by, practitionerUser, 'who ended it is kept');
        assert.ok(row.ended_at, 'when it ended is kept');
      }
      await assert.rejects(
        clients.practitioner.update({ resourceType: 'RelatedPerson', id: carer.id!, body: { ...ended, active: true } }),
        refused(422, /not restarted/),
      );
      const audits = await server.database.db
        .selectFrom('audit_events')
        .select(['person_id', 'decision'])
        .where('action', '=', 'write')
        .where('person_id', 'in', [mother, daughter])
        .where('actor_user_id', '=', practitionerUser)
        .execute();
      assert.ok(
        audits.some((a) => a.person_id === daughter && a.decision === 'allow'),
        'the access decision for the related person is on the audit trail',
      );
    });

    test('relationships are refused for people the writer may not change, and for bad bodies', async () => {
      const person = await register('Quayle', 'Ivy', 7503, '1990-01-15');
      const other = await register('Quayle', 'Tom', 7604, '1988-06-30');
      const before = await count('relationships');
      const body = {
        resourceType: 'RelatedPerson',
        patient: { reference: `Patient/${person}` },
        identifier: [{ system: PERSON_SYSTEM, value: other }],
        relationship: [{ text: 'partner' }],
      };
      for (const as of ['gp', 'manager', 'citizen', 'admin'] as const)
        await assert.rejects(clients[as].create({ resourceType: 'RelatedPerson', body }), refused(403));
      // Someone who is not a Patient here is kept as received, about the Patient: no relationship between people is recorded.
      const outside = (await clients.practitioner.create({
        resourceType: 'RelatedPerson',
        body: { ...body, identifier: undefined, name: [{ family: 'Quayle', given: ['Neighbour'] }] },
      })) as unknown as { patient: { reference: string } };
      assert.equal(outside.patient.reference, `Patient/${person}`);
      await assert.rejects(
        clients.gp.create({ resourceType: 'RelatedPerson', body: { ...body, identifier: undefined } }),
        refused(403),
        'nor by one with no part in their care',
      );
      assert.equal(await count('relationships'), before);
      await assert.rejects(
        clients.practitioner.create({ resourceType: 'RelatedPerson', body: { ...body, relationship: [{ text: 'neighbour' }] } }),
        refused(422, /parent, child/),
      );
      await assert.rejects(
        clients.practitioner.create({
          resourceType: 'RelatedPerson',
          body: { ...body, identifier: [{ system: PERSON_SYSTEM, value: person }] },
        }),
        refused(422, /themselves/),
      );
      await assert.rejects(
        clients.practitioner.create({
          resourceType: 'RelatedPerson',
          body: { ...body, identifier: [{ system: PERSON_SYSTEM, value: 'no-such-person' }] },
        }),
        refused(404),
      );
      assert.equal(await count('relationships'), before, 'nothing was written');
      const partner = (await clients.practitioner.create({ resourceType: 'RelatedPerson', body })) as unknown as RelatedPerson;
      assert.equal(partner.relationship?.[0]?.coding?.[0]?.code, 'SIGOTHR');
      await assert.rejects(
        clients.practitioner.update({
          resourceType: 'RelatedPerson',
          id: partner.id!,
          body: { ...partner, relationship: [{ text: 'spouse' }] },
        }),
        refused(422, /end it/),
      );
      await assert.rejects(
        clients.gp.update({ resourceType: 'RelatedPerson', id: partner.id!, body: { ...partner, active: false } }),
        refused(404),
      );
      assert.equal(
        ((await clients.practitioner.read({ resourceType: 'RelatedPerson', id: partner.id! })) as unknown as RelatedPerson).active,
        true,
        'the refused update ended nothing',
      );
    });

    /** People the practitioner's organisation works with, each from a different household (so they may change their details). */
    async function writablePeople(n: number, skip: string[] = []): Promise<string[]> {
      const user = await server.database.db
        .selectFrom('users')
        .select(['id', 'organisation_id'])
        .where('username', '=', 'practitioner')
        .executeTakeFirstOrThrow();
      const rows = await sql<{ id: string; household_id: string }>`
        select distinct on (p.household_id) p.id, p.household_id from persons p join care_relationships c on c.person_id = p.id
        where c.organisation_id = ${user.organisation_id} and c.ended_at is null and p.household_id is not null and p.merged_into is null
          and not (p.id = any(${skip}::text[]))
        order by p.household_id, p.id limit ${n}`.execute(server.database.db);
      assert.equal(rows.rows.length, n, `the synthetic place has ${n} people the practitioner works with`);
      return rows.rows.map((r) => r.id);
    }
    const householdOf = async (personId: string) =>
      (await server.database.db.selectFrom('persons').select('household_id').where('id', '=', personId).executeTakeFirstOrThrow())
        .household_id;

    test('a practitioner makes a household and changes who lives in it; nobody is left without a household, and every move is kept', async () => {
      const [x, y, z] = await writablePeople(3);
      const before = { x: await householdOf(x!), y: await householdOf(y!), z: await householdOf(z!) };
      const member = (id: string) => ({ entity: { reference: `Patient/${id}` } });
      const created = await send('POST', 'Group', 'practitioner', {
        resourceType: 'Group',
        type: 'person',
        actual: true,
        member: [member(x!), member(y!)],
      });
      assert.equal(created.status, 201);
      const group = created.body as Group;
      assertValid(group, 'created Group');
      assert.deepEqual(group.member?.map((m) => m.entity.reference).sort(), [`Patient/${x}`, `Patient/${y}`].sort());
      assert.equal(await householdOf(x!), group.id);
      const practitionerUser = (
        await server.database.db.selectFrom('users').select('id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
      ).id;
      const movesIn = await server.database.db
        .selectFrom('household_moves')
        .select(['person_id', 'from_household_id', 'moved_by'])
        .where('to_household_id', '=', group.id!)
        .orderBy('person_id')
        .execute();
      assert.deepEqual(
        movesIn,
        [
          { person_id: x, from_household_id: before.x, moved_by: practitionerUser },
          { person_id: y, from_household_id: before.y, moved_by: practitionerUser },
        ].sort((a, b) => a.person_id!.localeCompare(b.person_id!)),
      );
      const theirs = (await clients.practitioner.search({
        resourceType: 'Group',
        searchParams: { member: `Patient/${x}` },
      })) as unknown as Bundle;
      assert.deepEqual(
        theirs.entry?.map((e) => e.resource?.id),
        [group.id],
        'searching by member finds the new household',
      );

      // Z moves in; Y is left out and gets a household of their own.
      await assert.rejects(
        clients.practitioner.update({
          resourceType: 'Group',
          id: group.id!,
          body: { ...group, member: [member(x!), member(z!)] },
          options: { headers: { 'if-match': 'W/"9"' } },
        }),
        refused(412),
      );
      assert.equal(await householdOf(z!), before.z, 'the refused update moved nobody');
      const changed = (await clients.practitioner.update({
        resourceType: 'Group',
        id: group.id!,
        body: { ...group, member: [member(x!), member(z!)] },
        options: { headers: { 'if-match': `W/"${group.meta?.versionId}"` } },
      })) as unknown as Group;
      assertValid(changed, 'updated Group');
      assert.deepEqual(changed.member?.map((m) => m.entity.reference).sort(), [`Patient/${x}`, `Patient/${z}`].sort());
      assert.equal(Number(changed.meta?.versionId), Number(group.meta?.versionId) + 1);
      const yNow = await householdOf(y!);
      assert.ok(yNow && yNow !== group.id && yNow !== before.y, 'the person left out has a new household of their own');
      const own = (await clients.practitioner.read({ resourceType: 'Group', id: yNow })) as unknown as Group;
      assert.deepEqual(
        own.member?.map((m) => m.entity.reference),
        [`Patient/${y}`],
      );
      const history = await server.database.db
        .selectFrom('household_moves')
        .select(['from_household_id', 'to_household_id', 'moved_by', 'moved_at'])
        .where('person_id', '=', y!)
        .orderBy('id')
        .execute();
      assert.deepEqual(
        history.map((h) => [h.from_household_id, h.to_household_id]),
        [
          [before.y, group.id],
          [group.id, yNow],
        ],
        "both of Y's moves are on record",
      );
      assert.ok(history.every((h) => h.moved_by === practitionerUser && h.moved_at instanceof Date));
      const zMove = await server.database.db
        .selectFrom('household_moves')
        .select(['from_household_id'])
        .where('person_id', '=', z!)
        .execute();
      assert.deepEqual(zMove, [{ from_household_id: before.z }]);
      const audits = await server.database.db
        .selectFrom('audit_events')
        .select('decision')
        .where('action', '=', 'write')
        .where('person_id', '=', z!)
        .where('actor_user_id', '=', practitionerUser)
        .execute();
      assert.ok(
        audits.some((a) => a.decision === 'allow'),
        'the access decision for the person moved is on the audit trail',
      );
    });

    test('households are refused for people the writer may not change, and for bad bodies', async () => {
      const [x, y] = await writablePeople(2);
      const member = (id: string) => ({ entity: { reference: `Patient/${id}` } });
      // Newly registered people: only the registering organisation works with them.
      const mine = [await register('Penhaligon', 'Rose', 7705, '1970-02-02'), await register('Penhaligon', 'Jack', 7806, '1969-09-09')];
      const gpPatient = (await clients.gp.create({
        resourceType: 'Patient',
        body: {
          resourceType: 'Patient',
          identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(7907) }],
          name: [{ family: 'Tremayne', given: ['Kit'] }],
          birthDate: '1960-05-05',
          gender: 'male',
        },
      })) as unknown as Patient;
      const households = await count('households');
      const body = { resourceType: 'Group', type: 'person', actual: true, member: [member(x!), member(y!)] };
      for (const as of ['gp', 'manager', 'citizen', 'admin'] as const) {
        await assert.rejects(
          clients[as].create({ resourceType: 'Group', body: { ...body, member: mine.map(member) } }),
          refused(403),
          `${as} may not move people they do not work with`,
        );
      }
      await assert.rejects(
        clients.practitioner.create({ resourceType: 'Group', body: { ...body, member: [member(x!), member(gpPatient.id!)] } }),
        refused(403),
        'someone the practitioner does not work with cannot be moved',
      );
      await assert.rejects(
        clients.practitioner.create({ resourceType: 'Group', body: { ...body, type: 'animal' } }),
        refused(422, /type person/),
      );
      await assert.rejects(
        clients.practitioner.create({ resourceType: 'Group', body: { ...body, member: [member(x!), member(x!)] } }),
        refused(400, /more than once/),
      );
      await assert.rejects(
        clients.practitioner.create({ resourceType: 'Group', body: { ...body, member: [{ entity: { reference: 'Organization/x' } }] } }),
        refused(400, /Patient/),
      );
      assert.equal(await count('households'), households, 'no household was made');
      const made = (await clients.practitioner.create({ resourceType: 'Group', body })) as unknown as Group;
      await assert.rejects(
        clients.practitioner.update({ resourceType: 'Group', id: made.id!, body: { ...made, member: [] } }),
        refused(422, /not emptied/),
      );
      await assert.rejects(
        clients.practitioner.update({
          resourceType: 'Group',
          id: made.id!,
          body: { ...made, member: [...made.member!, member(gpPatient.id!)] },
        }),
        refused(403),
      );
      assert.equal(
        ((await clients.practitioner.read({ resourceType: 'Group', id: made.id! })) as unknown as Group).member?.length,
        2,
        'the refused updates moved nobody',
      );
    });
  });
}
