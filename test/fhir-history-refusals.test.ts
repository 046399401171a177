// History, $everything, compartment search and PATCH refuse what the access decision refuses, on
// PGlite and PostgreSQL. Another agency's practitioner sees none of a person's health, in history
// as in a read; while the person agrees, they see it, earlier versions too; once the person
// withdraws, history, vread, type history, $everything and compartment search are closed again,
// and an earlier Patient version's health elements are hidden (history is no side door). A
// practitioner with no part in the person's care gets nothing at all. A stale If-Match is a 412;
// an invalid patch (a required element removed, the id or resourceType changed, a failed test, a
// malformed or unresolvable op), a patch of what the token may read but not write, and a patch by
// someone not shown all of a Patient (its GP) are refused, and each refusal leaves the resource,
// its version and its history as they were. A practitioner who may see few people gets type and
// system history pages filled from later versions, with no one they may not see.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Bundle, Consent, Observation, OperationOutcome, Patient, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer, apiTokenForNewPractitioner } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { testDatabaseTargets } from '../src/testing.ts';
import { assertValid } from './support/fhir.ts';

for (const target of await testDatabaseTargets()) {
  describe(`history, $everything and patch refusals on ${target.kind}`, () => {
    let server: TestServer;
    const tokens: Record<string, string> = {};
    let personId: string;
    let ownOrg: string;
    let housingOrg: string;
    let observationId: string;
    let gpVersion: string;
    let consentId: string;

    async function call(
      as: string,
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<{ status: number; body: Resource }> {
      const r = await fetch(`${server.url}/fhir/${path}`, {
        method,
        headers: { authorization: `Bearer ${tokens[as]}`, 'content-type': 'application/fhir+json', ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const answer = (await r.json()) as Resource;
      assertValid(answer, `${method} ${path}`);
      return { status: r.status, body: answer };
    }
    const get = (as: string, path: string) => call(as, 'GET', path);
    const patch = (as: string, path: string, ops: unknown, headers: Record<string, string> = {}) =>
      call(as, 'PATCH', path, ops, { 'content-type': 'application/json-patch+json', ...headers });
    async function ok(as: string, path: string): Promise<Resource> {
      const r = await get(as, path);
      assert.equal(r.status, 200, `${as} GET ${path}: ${JSON.stringify(r.body).slice(0, 300)}`);
      return r.body;
    }
    async function refusedWith(status: number, r: Promise<{ status: number; body: Resource }>, text?: RegExp): Promise<void> {
      const answer = await r;
      assert.equal(answer.status, status, JSON.stringify(answer.body).slice(0, 300));
      assert.equal(answer.body.resourceType, 'OperationOutcome');
      if (text) assert.match((answer.body as OperationOutcome).issue[0]!.diagnostics ?? '', text);
    }
    const ids = (bundle: Resource) => ((bundle as Bundle).entry ?? []).map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);
    const kept = async () =>
      Number((await sql<{ n: number }>`select count(*)::int as n from fhir_history`.execute(server.database.db)).rows[0]!.n);

    const practitionerOf = (username: string, organisationId: string) =>
      apiTokenForNewPractitioner(server, username, organisationId, 'history refusals');
    async function caseWith(organisationId: string): Promise<void> {
      await server.database.db
        .insertInto('care_relationships')
        .values({
          person_id: personId,
          organisation_id: organisationId,
          team_id: null,
          practitioner_id: null,
          kind: 'case',
          role_label: null,
          reason: 'history refusals test',
          ended_at: null,
          recorded_by: null,
        })
        .execute();
    }

    before(async () => {
      server = await startTestServer({ people: 300, database: await target.open() });
      const db = server.database.db;
      for (const user of ['practitioner', 'citizen']) tokens[user] = (await createApiTokenForUsername(db, user, 'history refusals')).token;
      const users = await db.selectFrom('users').select(['username', 'organisation_id', 'person_id']).execute();
      ownOrg = users.find((u) => u.username === 'practitioner')!.organisation_id!;
      personId = users.find((u) => u.username === 'citizen')!.person_id!;
      housingOrg = (
        await db
          .selectFrom('organisations')
          .select('id')
          .where('id', '<>', ownOrg)
          .where('kind', '=', 'council_housing')
          .orderBy('id')
          .executeTakeFirstOrThrow()
      ).id;
      const strangerOrg = (
        await db
          .selectFrom('organisations')
          .select('id')
          .where('id', 'not in', [ownOrg, housingOrg])
          .orderBy('id')
          .executeTakeFirstOrThrow()
      ).id;
      tokens.housing = await practitionerOf('history-housing', housingOrg);
      tokens.stranger = await practitionerOf('history-stranger', strangerOrg);
      // The demo citizen shares everything with the whole network: they withdraw that first, so
      // what another agency sees of their health is only what they agree to below.
      const choices = (await ok('citizen', `Consent?patient=Patient/${personId}&status=active&_count=100`)) as Bundle;
      for (const entry of choices.entry ?? []) {
        const withdrawn = await call('citizen', 'PUT', `Consent/${entry.resource!.id}`, { ...entry.resource, status: 'inactive' });
        assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
      }
      // Both agencies work with the person; the stranger's has no part in their care.
      await caseWith(ownOrg);
      await caseWith(housingOrg);
      await sql`delete from care_relationships where person_id = ${personId} and organisation_id = ${strangerOrg}`.execute(db);

      // Health recorded by the practitioner's organisation, then changed: two versions.
      const created = await call('practitioner', 'POST', 'Observation', {
        resourceType: 'Observation',
        status: 'preliminary',
        code: { coding: [{ system: 'http://loinc.org', code: '72166-2', display: 'Tobacco smoking status' }] },
        subject: { reference: `Patient/${personId}` },
        effectiveDateTime: '2026-10-01T09:00:00Z',
        valueString: 'Smokes 10 a day',
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      observationId = created.body.id!;
      const patched = await patch('practitioner', `Observation/${observationId}`, [{ op: 'replace', path: '/status', value: 'final' }]);
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.meta?.versionId, '2');

      // A Patient version naming the person's GP (a health element), then one without.
      const patient = (await ok('practitioner', `Patient/${personId}`)) as Patient;
      const withGp = await call('practitioner', 'PUT', `Patient/${personId}`, {
        ...patient,
        generalPractitioner: [{ reference: `Organization/${ownOrg}`, display: 'Their GP practice' }],
      });
      assert.equal(withGp.status, 200, JSON.stringify(withGp.body));
      assert.equal((withGp.body as Patient).generalPractitioner?.length, 1);
      gpVersion = withGp.body.meta!.versionId!;
      const withoutGp = await patch('practitioner', `Patient/${personId}`, [{ op: 'remove', path: '/generalPractitioner' }]);
      assert.equal(withoutGp.status, 200, JSON.stringify(withoutGp.body));
      assert.equal((withoutGp.body as Patient).generalPractitioner, undefined);
      assert.equal(Number(withoutGp.body.meta!.versionId), Number(gpVersion) + 1);
      // The version before the GP was added (the person's record as it stood) is kept too.
      assert.equal((await get('practitioner', `Patient/${personId}/_history/${Number(gpVersion) - 1}`)).status, 200);
    });
    after(async () => server?.close());

    /** What another agency sees of the person's health, everywhere history and $everything reach. */
    async function housingSeesHealth(): Promise<boolean> {
      const read = await get('housing', `Observation/${observationId}`);
      const history = await get('housing', `Observation/${observationId}/_history`);
      const first = await get('housing', `Observation/${observationId}/_history/1`);
      const typeHistory = await ok('housing', `Observation/_history?_count=500`);
      const everything = await ok('housing', `Patient/${personId}/$everything?_count=500`);
      const compartment = await ok('housing', `Patient/${personId}/Observation?_count=500`);
      const gp = (await ok('housing', `Patient/${personId}/_history/${gpVersion}`)) as Patient;
      const patientHistory = await ok('housing', `Patient/${personId}/_history`);
      const views = {
        read: read.status === 200,
        history: history.status === 200,
        vread: first.status === 200,
        typeHistory: ids(typeHistory).includes(`Observation/${observationId}`),
        everything: ids(everything).includes(`Observation/${observationId}`),
        compartment: ids(compartment).includes(`Observation/${observationId}`),
        gp: gp.generalPractitioner !== undefined,
        patientHistoryGp: ((patientHistory as Bundle).entry ?? []).some((e) => (e.resource as Patient).generalPractitioner !== undefined),
      };
      const seen = Object.values(views);
      assert.ok(
        seen.every((v) => v === seen[0]),
        `every way in agrees: ${JSON.stringify(views)}`,
      );
      if (!views.read) {
        assert.equal(read.status, 404);
        assert.equal(history.status, 404);
        assert.equal(first.status, 404);
      }
      return views.read;
    }

    test("another agency sees none of the person's health in history until the person agrees, and none again once they withdraw", async () => {
      assert.equal(await housingSeesHealth(), false, 'no agreement: nothing');
      // The person's demographics are shown to those in their care, history included.
      const history = (await ok('housing', `Patient/${personId}/_history`)) as Bundle;
      assert.ok((history.entry ?? []).length >= 3);

      const consent = await call('citizen', 'POST', 'Consent', {
        resourceType: 'Consent',
        status: 'active',
        patient: { reference: `Patient/${personId}` },
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        policyRule: { text: 'Joinery sharing choice' },
        provision: {
          type: 'permit',
          class: [{ system: 'urn:joinery:code:category', code: 'health' }],
          purpose: [{ system: 'urn:joinery:code:purpose', code: 'direct_care' }],
          actor: [
            {
              role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
              reference: { reference: `Organization/${housingOrg}` },
            },
          ],
        },
      });
      assert.equal(consent.status, 201, JSON.stringify(consent.body));
      consentId = consent.body.id!;
      assert.equal(await housingSeesHealth(), true, 'agreed: the health and its history');
      const versions = (await ok('housing', `Observation/${observationId}/_history`)) as Bundle;
      assert.deepEqual(
        versions.entry!.map((e) => [(e.resource as Observation).meta!.versionId, (e.resource as Observation).status]),
        [
          ['2', 'final'],
          ['1', 'preliminary'],
        ],
      );

      const withdrawn = await call('citizen', 'PUT', `Consent/${consentId}`, { ...(consent.body as Consent), status: 'inactive' });
      assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
      assert.equal(await housingSeesHealth(), false, 'withdrawn: history is no side door');
      // The practitioner's own organisation still sees all of it.
      assert.equal(((await ok('practitioner', `Observation/${observationId}/_history`)) as Bundle).entry!.length, 2);
      assert.ok(((await ok('practitioner', `Patient/${personId}/_history/${gpVersion}`)) as Patient).generalPractitioner);
    });

    test("a practitioner with no part in the person's care gets nothing: no history, no $everything, no compartment, no patch", async () => {
      const before = await kept();
      for (const path of [
        `Patient/${personId}/_history`,
        `Patient/${personId}/_history/1`,
        `Patient/${personId}/$everything`,
        `Patient/${personId}/Observation`,
        `Patient/${personId}/CareTeam`,
        `Observation/${observationId}/_history`,
        `Observation/${observationId}/_history/1`,
      ])
        await refusedWith(404, get('stranger', path));
      const patients = await ok('stranger', 'Patient/_history?_count=500');
      assert.ok(!ids(patients).includes(`Patient/${personId}`));
      await refusedWith(404, patch('stranger', `Patient/${personId}`, [{ op: 'replace', path: '/gender', value: 'other' }]));
      await refusedWith(404, patch('stranger', `Observation/${observationId}`, [{ op: 'replace', path: '/status', value: 'amended' }]));
      assert.equal(await kept(), before, 'nothing kept for a refused patch');
    });

    test('someone not shown all of a Patient may not patch it: nothing they cannot see is lost or handed to them', async () => {
      const gp = await patch('practitioner', `Patient/${personId}`, [
        { op: 'add', path: '/generalPractitioner', value: [{ reference: `Organization/${ownOrg}`, display: 'Their GP practice' }] },
      ]);
      assert.equal(gp.status, 200, JSON.stringify(gp.body));
      const seen = (await ok('housing', `Patient/${personId}`)) as Patient;
      assert.equal(seen.generalPractitioner, undefined, 'the housing officer is not shown the GP');
      const before = await kept();
      await refusedWith(
        403,
        patch('housing', `Patient/${personId}`, [{ op: 'add', path: '/maritalStatus', value: { text: 'Married' } }]),
        /may see all of Patient/,
      );
      assert.deepEqual(await ok('housing', `Patient/${personId}`), seen, 'nothing changed');
      const now = (await ok('practitioner', `Patient/${personId}`)) as Patient;
      assert.equal(now.generalPractitioner?.[0]?.display, 'Their GP practice', 'the GP is still there');
      assert.equal(now.meta!.versionId, gp.body.meta!.versionId);
      assert.equal(await kept(), before, 'no version kept');
      const removed = await patch('practitioner', `Patient/${personId}`, [{ op: 'remove', path: '/generalPractitioner' }]);
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
    });

    test('a stale If-Match and invalid patches are refused, and each leaves the resource and its history as they were', async () => {
      const path = `Observation/${observationId}`;
      const before = (await ok('practitioner', path)) as Observation;
      const historyBefore = await kept();
      const refusals: Array<[number, unknown, Record<string, string>?, RegExp?]> = [
        [412, [{ op: 'replace', path: '/status', value: 'amended' }], { 'if-match': 'W/"1"' }, /changed since version 1/],
        [400, [{ op: 'remove', path: '/status' }], {}, /status/],
        [400, [{ op: 'remove', path: '/code' }], {}, /code/],
        [422, [{ op: 'replace', path: '/id', value: 'someone-else' }], {}, /id/],
        [422, [{ op: 'replace', path: '/resourceType', value: 'Condition' }], {}, /resourceType/],
        [
          422,
          [
            { op: 'test', path: '/status', value: 'preliminary' },
            { op: 'replace', path: '/status', value: 'amended' },
          ],
          {},
          /test/i,
        ],
        [422, [{ op: 'remove', path: '/note/0' }], {}],
        [400, [{ op: 'frobnicate', path: '/status' }], {}, /malformed/],
        [400, { op: 'replace', path: '/status', value: 'amended' }, {}, /array of operations/],
      ];
      for (const [status, ops, headers, text] of refusals) {
        await refusedWith(status, patch('practitioner', path, ops, headers ?? {}), text);
        const now = (await ok('practitioner', path)) as Observation;
        assert.deepEqual(now, before, `${JSON.stringify(ops)}: the resource is unchanged`);
      }
      // A Patient patched without its name is refused as the update would be.
      const patient = (await ok('practitioner', `Patient/${personId}`)) as Patient;
      await refusedWith(400, patch('practitioner', `Patient/${personId}`, [{ op: 'remove', path: '/name' }]));
      await refusedWith(415, call('practitioner', 'PATCH', `Patient/${personId}`, { resourceType: 'Parameters' }), /JSON Patch/);
      assert.deepEqual(await ok('practitioner', `Patient/${personId}`), patient);
      assert.equal(await kept(), historyBefore, 'no version kept for a refused patch');
      assert.equal(((await ok('practitioner', `${path}/_history`)) as Bundle).entry!.length, 2);
    });

    test('what the token may read but not write is refused, and nothing changes', async () => {
      const before = await kept();
      // The person reads their own record, but changes it through the people who hold it.
      const mine = (await ok('citizen', `Patient/${personId}`)) as Patient;
      await refusedWith(403, patch('citizen', `Patient/${personId}`, [{ op: 'replace', path: '/gender', value: 'other' }]));
      assert.deepEqual(await ok('citizen', `Patient/${personId}`), mine);
      // The person's own audit trail is read-only.
      const audit = (await ok('citizen', `AuditEvent?patient=Patient/${personId}&_count=1`)) as Bundle;
      const event = audit.entry![0]!.resource!;
      await refusedWith(405, patch('citizen', `AuditEvent/${event.id}`, [{ op: 'replace', path: '/outcome', value: '4' }]));
      // Another agency may read what the person agreed to share, but not change what it did not record.
      const consent = await call('citizen', 'POST', 'Consent', {
        resourceType: 'Consent',
        status: 'active',
        patient: { reference: `Patient/${personId}` },
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        policyRule: { text: 'Joinery sharing choice' },
        provision: {
          type: 'permit',
          class: [{ system: 'urn:joinery:code:category', code: 'health' }],
          purpose: [{ system: 'urn:joinery:code:purpose', code: 'direct_care' }],
          actor: [
            {
              role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
              reference: { reference: `Organization/${housingOrg}` },
            },
          ],
        },
      });
      assert.equal(consent.status, 201);
      const theirs = (await ok('housing', `Observation/${observationId}`)) as Observation;
      await refusedWith(
        403,
        patch('housing', `Observation/${observationId}`, [{ op: 'replace', path: '/valueString', value: 'Stopped smoking' }]),
        /another organisation/,
      );
      assert.deepEqual(await ok('housing', `Observation/${observationId}`), theirs);
      assert.equal(await kept(), before + (await keptForConsent(consent.body.id!)), 'no version kept for a refused patch');
    });

    /** Versions the Consent create itself kept (its first). */
    async function keptForConsent(id: string): Promise<number> {
      return Number(
        (
          await sql<{
            n: number;
          }>`select count(*)::int as n from fhir_history where resource_type = 'Consent' and resource_id = ${id}`.execute(
            server.database.db,
          )
        ).rows[0]!.n,
      );
    }

    test('a transaction that fails keeps no version; one that succeeds keeps the version it replaced', async () => {
      const before = await kept();
      const current = (await ok('practitioner', `Observation/${observationId}`)) as Observation;
      const failing = await call('practitioner', 'POST', '', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: { ...current, valueString: 'Smokes 5 a day' },
            request: { method: 'PUT', url: `Observation/${observationId}` },
          },
          {
            resource: { ...current, id: undefined, status: 'final', subject: { reference: 'Patient/no-such-person' } },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      });
      assert.notEqual(failing.status, 200);
      assert.equal(await kept(), before, 'rolled back with the transaction');
      assert.deepEqual(await ok('practitioner', `Observation/${observationId}`), current);

      const done = await call('practitioner', 'POST', '', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { ...current, valueString: 'Smokes 5 a day' }, request: { method: 'PUT', url: `Observation/${observationId}` } },
        ],
      });
      assert.equal(done.status, 200, JSON.stringify(done.body).slice(0, 500));
      const history = (await ok('practitioner', `Observation/${observationId}/_history`)) as Bundle;
      assert.deepEqual(
        history.entry!.map((e) => (e.resource as Observation).valueString),
        ['Smokes 5 a day', 'Smokes 10 a day', 'Smokes 10 a day'],
      );
    });

    test("a citizen's token gets in history only themselves and whom they act for, and a proxy ended takes that person out at once", async () => {
      const db = server.database.db;
      const citizen = await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow();
      tokens.citizenHistory = (await createApiTokenForUsername(db, 'citizen', 'history reach test')).token;
      // Someone the citizen starts to act for: history reads only the people in the reader's reach, so the proxy must bring them in.
      const cared = (
        await sql<{
          id: string;
        }>`select id from persons where merged_into is null and id <> ${citizen.person_id} order by created_at desc, id limit 1`.execute(db)
      ).rows[0]!.id;
      const proxy = await db
        .insertInto('proxies')
        .values({
          person_id: cared,
          proxy_person_id: citizen.person_id!,
          kind: 'carer',
          permitted_by: 'history reach test',
          valid_until: null,
          revoked_at: null,
          revoked_by: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const patientsIn = async (start: string) => {
        const found = new Set<string>();
        let next: string | undefined = start;
        for (let pages = 0; next !== undefined; pages++) {
          assert.ok(pages < 200, 'history ends');
          const page = (await ok('citizenHistory', next)) as Bundle;
          for (const e of page.entry ?? []) if (e.resource!.resourceType === 'Patient') found.add(e.resource!.id!);
          next = page.link?.find((l) => l.relation === 'next')?.url?.replace(/^.*\/fhir\//, '');
        }
        return [...found].sort();
      };
      const searched = async () =>
        ids(await ok('citizenHistory', 'Patient?_count=500'))
          .map((id) => id.replace('Patient/', ''))
          .sort();
      try {
        const acting = await searched();
        assert.ok(acting.includes(cared) && acting.includes(citizen.person_id!), 'the search shows themselves and the person they act for');
        for (const start of ['_history?_type=Patient&_count=3', 'Patient/_history?_count=3'])
          assert.deepEqual(await patientsIn(start), acting, start);
        await db
          .updateTable('proxies')
          .set({ revoked_at: new Date(), revoked_by: 'history reach test' })
          .where('id', '=', proxy.id)
          .execute();
        const after = await searched();
        assert.ok(!after.includes(cared), 'the search no longer shows them');
        for (const start of ['_history?_type=Patient&_count=3', 'Patient/_history?_count=3']) {
          const shown = await patientsIn(start);
          assert.ok(!shown.includes(cared), `${start}: the person they no longer act for is gone`);
          assert.deepEqual(shown, after, start);
        }
      } finally {
        await db.deleteFrom('proxies').where('id', '=', proxy.id).execute();
      }
    });

    test("a citizen's token finds by phone or email only themselves and whom they act for, and history's count counts only what they see", async () => {
      const db = server.database.db;
      const citizen = await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow();
      tokens.citizenContacts = (await createApiTokenForUsername(db, 'citizen', 'contact search reach test')).token;
      const [cared, stranger] = (
        await sql<{
          id: string;
        }>`select id from persons where merged_into is null and id <> ${citizen.person_id} order by created_at desc, id limit 2`.execute(db)
      ).rows.map((r) => r.id);
      // Values nobody else has, so a match can only be the person given them.
      await db
        .updateTable('persons')
        .set({ phone: '07700 900 811', email: 'cared.attack@example.test' })
        .where('id', '=', cared!)
        .execute();
      await db
        .updateTable('persons')
        .set({ phone: '07700 900 822', email: 'stranger.attack@example.test' })
        .where('id', '=', stranger!)
        .execute();
      const found = async (query: string) => ids(await ok('citizenContacts', `Patient?${query}`)).map((id) => id.replace('Patient/', ''));
      const walked = async (start: string) => {
        let entries = 0;
        let next: string | undefined = start;
        for (let pages = 0; next !== undefined; pages++) {
          assert.ok(pages < 300, 'history ends');
          const page = (await ok('citizenContacts', next)) as Bundle;
          entries += page.entry?.length ?? 0;
          next = page.link?.find((l) => l.relation === 'next')?.url?.replace(/^.*\/fhir\//, '');
        }
        return entries;
      };
      const counted = async (path: string) => ((await ok('citizenContacts', `${path}?_summary=count`)) as Bundle).total;
      const byContact = ['phone=07700900811', 'email=cared.attack@example.test', 'telecom=phone|07700%20900%20811'];
      for (const query of [...byContact, 'phone=07700900822', 'email=STRANGER.attack@example.test', 'telecom=07700900822'])
        assert.deepEqual(await found(query), [], `${query}: someone the citizen does not act for is not found`);
      const proxy = await db
        .insertInto('proxies')
        .values({
          person_id: cared!,
          proxy_person_id: citizen.person_id!,
          kind: 'carer',
          permitted_by: 'contact search reach test',
          valid_until: null,
          revoked_at: null,
          revoked_by: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      try {
        for (const query of byContact) assert.deepEqual(await found(query), [cared], `${query}: the person they act for is found`);
        assert.deepEqual(await found('phone=07700900822'), [], 'acting for one person shows no one else');
        // The count is of what the walk shows, never of versions the citizen may not see.
        assert.equal(await counted('Patient/_history'), await walked('Patient/_history?_count=5'));
        assert.equal(await counted(`Patient/${cared}/_history`), await walked(`Patient/${cared}/_history?_count=5`));
        await refusedWith(404, get('citizenContacts', `Patient/${stranger}/_history?_summary=count`));
        await db
          .updateTable('proxies')
          .set({ revoked_at: new Date(), revoked_by: 'contact search reach test' })
          .where('id', '=', proxy.id)
          .execute();
        for (const query of byContact) assert.deepEqual(await found(query), [], `${query}: gone once the proxy ends`);
        await refusedWith(404, get('citizenContacts', `Patient/${cared}/_history?_summary=count`));
      } finally {
        await db.deleteFrom('proxies').where('id', '=', proxy.id).execute();
      }
    });

    test('a practitioner who may see few people gets full history pages from later versions, and never anyone else', async () => {
      const db = server.database.db;
      // An agency with a worker and no case of its own but three people's (the oldest records, so
      // most newer versions before theirs are refused and a page must read on past them).
      const agency = (
        await db
          .selectFrom('organisations as o')
          .innerJoin('practitioners as p', 'p.organisation_id', 'o.id')
          .select('o.id')
          .where('o.id', 'not in', [ownOrg, housingOrg])
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom('users').select('users.id').whereRef('users.practitioner_id', '=', 'p.id'))),
          )
          .orderBy('o.id', 'desc')
          .executeTakeFirstOrThrow()
      ).id;
      tokens.few = await practitionerOf('history-few', agency);
      await sql`delete from care_relationships where organisation_id = ${agency}`.execute(db);
      const theirs = (
        await sql<{ id: string }>`select id from persons where merged_into is null order by created_at, id limit 3`.execute(db)
      ).rows.map((p) => p.id);
      for (const id of theirs)
        await db
          .insertInto('care_relationships')
          .values({
            person_id: id,
            organisation_id: agency,
            team_id: null,
            practitioner_id: null,
            kind: 'case',
            role_label: null,
            reason: 'history paging test',
            ended_at: null,
            recorded_by: null,
          })
          .execute();
      // Whom they may see, as a search of Patients tells it (the same access decision).
      const seen = new Set(ids(await ok('few', 'Patient?_count=500')).map((id) => id.replace('Patient/', '')));
      for (const id of theirs) assert.ok(seen.has(id), `their case ${id} is shown to them`);
      const everyone = Number((await sql<{ n: number }>`select count(*)::int as n from persons`.execute(db)).rows[0]!.n);
      assert.ok(seen.size * 10 < everyone, `they may see few of the ${everyone} people (${seen.size})`);
      const personOf = (r: Resource) =>
        r.resourceType === 'Patient'
          ? r.id!
          : ((r as { patient?: { reference?: string } }).patient?.reference ?? '').replace('Patient/', '');
      for (const start of ['Patient/_history?_count=2', '_history?_type=Patient,EpisodeOfCare&_count=2']) {
        const shown: Resource[] = [];
        let next: string | undefined = start;
        let pages = 0;
        while (next !== undefined) {
          const page = (await ok('few', next)) as Bundle;
          const entries = (page.entry ?? []).map((e) => e.resource!);
          next = page.link?.find((l) => l.relation === 'next')?.url?.replace(/^.*\/fhir\//, '');
          if (next !== undefined) assert.equal(entries.length, 2, `${start}: a page with a next link is full`);
          shown.push(...entries);
          pages += 1;
          assert.ok(pages < 200, 'history ends');
        }
        for (const r of shown) assert.ok(seen.has(personOf(r)), `${start}: ${r.resourceType}/${r.id} is about someone they may see`);
        const patients = new Set(shown.filter((r) => r.resourceType === 'Patient').map((r) => r.id!));
        assert.deepEqual([...patients].sort(), [...seen].sort(), `${start}: every Patient they may see is in the history`);
        if (start.includes('EpisodeOfCare'))
          for (const id of theirs)
            assert.ok(
              shown.some((r) => r.resourceType === 'EpisodeOfCare' && personOf(r) === id),
              `their case with ${id}`,
            );
      }
    });
  });
}
