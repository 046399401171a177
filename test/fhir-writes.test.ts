// Writing the care record through FHIR with a third-party client (fhir-kit-client): shared plans
// (CarePlan, Goal), sharing choices (Consent), assessments (QuestionnaireResponse) and the care
// network (CareTeam, EpisodeOfCare). Each is created, read back, updated with version checks, and
// validated against FHIR R4; users without access are refused with an OperationOutcome and nothing
// is written; the audit trail and other read-only types refuse writes and say why.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';
import type {
  Bundle,
  CapabilityStatement,
  CarePlan,
  CareTeam,
  Consent,
  EpisodeOfCare,
  Goal,
  Patient,
  Questionnaire,
  QuestionnaireItem,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  Resource,
} from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './support/server.ts';
import { createApiTokenForUsername } from '../src/interop/tokens.ts';
import { assertValid, refused } from './support/fhir.ts';
import {
  CARE_PLAN_EXTENSION,
  END_REASON_EXTENSION,
  NHS_NUMBER_SYSTEM,
  OUTCOME_SYSTEM,
  REASON_EXTENSION,
  ROLE_EXTENSION,
} from '../src/fhir/resources.ts';
import { nhsCheckDigit } from '../src/platform/nhs-number.ts';

let server: TestServer;
const clients: Record<string, Client> = {};
const tokens: Record<string, string> = {};

function nhsNumber(seed: number): string {
  for (let n = seed; ; n++) {
    const first9 = String(900000000 + (n % 99999999)).padStart(9, '0');
    const check = nhsCheckDigit(first9);
    if (check !== null) return first9 + String(check);
  }
}

/** A raw request, for headers fhir-kit-client does not give back. */
async function send(method: string, path: string, as: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}/fhir/${path}`, {
    method,
    headers: { authorization: `Bearer ${tokens[as]}`, 'content-type': 'application/fhir+json', ...headers },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Resource };
}

let personId: string;
let outcomeCodes: string[];
const count = async (table: 'plans' | 'plan_goals' | 'consent_directives' | 'questionnaire_responses' | 'care_relationships') =>
  Number(
    (
      await server.database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

before(async () => {
  server = await startTestServer({ people: 1200 });
  for (const user of ['practitioner', 'citizen', 'manager', 'privacy']) {
    tokens[user] = (await createApiTokenForUsername(server.database.db, user, 'writes test')).token;
    clients[user] = new Client({ baseUrl: `${server.url}/fhir`, bearerToken: tokens[user] });
  }
  // Registering a person gives the practitioner's organisation a working relationship with them.
  const patient = (await clients.practitioner!.create({
    resourceType: 'Patient',
    body: {
      resourceType: 'Patient',
      identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber(5150) }],
      name: [{ family: 'Planwright', given: ['Petra'] }],
      birthDate: '1979-08-12',
      gender: 'female',
    },
  })) as unknown as Patient;
  personId = patient.id!;
  outcomeCodes = (await server.database.db.selectFrom('outcomes').select('code').orderBy('sort').limit(2).execute()).map((o) => o.code);
  assert.ok(outcomeCodes.length > 0, 'the outcomes framework is installed');
});
after(async () => server?.close());

describe('FHIR writes for the care record', () => {
  test('the CapabilityStatement lists exactly the writes offered, and says why the others are not', async () => {
    const statement = (await clients.practitioner!.capabilityStatement()) as unknown as CapabilityStatement;
    assertValid(statement, 'CapabilityStatement');
    const interactions = Object.fromEntries(
      statement.rest![0]!.resource!.map((r) => [
        r.type,
        r
          .interaction!.map((i) => i.code)
          .filter((c) => c === 'create' || c === 'update')
          .sort(),
      ]),
    );
    assert.deepEqual(interactions, {
      Patient: ['create', 'update'],
      RelatedPerson: ['create', 'update'],
      Group: ['create', 'update'],
      Organization: ['create', 'update'],
      Practitioner: ['create', 'update'],
      PractitionerRole: ['create', 'update'],
      // A CareTeam POSTed is another system's, kept whole; the person's own network changes through PUT.
      CareTeam: ['create', 'update'],
      HealthcareService: ['create', 'update'],
      Location: ['create', 'update'],
      Consent: ['create', 'update'],
      EpisodeOfCare: ['create', 'update'],
      AuditEvent: [],
      ServiceRequest: ['create'],
      Task: ['update'],
      // A partner's own Subscriptions (rest-hook), kept beside the outbox's webhooks.
      Subscription: ['create', 'update'],
      CarePlan: ['create', 'update'],
      Goal: ['create', 'update'],
      Questionnaire: [],
      QuestionnaireResponse: ['create'],
      // Clinical resources are kept whole as received (test/fhir-clinical.test.ts); an agency's events stay read-only.
      Observation: ['create', 'update'],
      Encounter: ['create', 'update'],
      Condition: ['create', 'update'],
      MedicationRequest: ['create', 'update'],
      Immunization: ['create', 'update'],
      AllergyIntolerance: ['create', 'update'],
      DiagnosticReport: ['create', 'update'],
      Procedure: ['create', 'update'],
      Claim: ['create', 'update'],
      ExplanationOfBenefit: ['create', 'update'],
      DocumentReference: ['create', 'update'],
      ImagingStudy: ['create', 'update'],
      MedicationAdministration: ['create', 'update'],
      Device: ['create', 'update'],
      SupplyDelivery: ['create', 'update'],
      Provenance: ['create', 'update'],
      // A product named by prescriptions: a different one is a new Medication.
      Medication: ['create'],
    });
    const audit = statement.rest![0]!.resource!.find((r) => r.type === 'AuditEvent')!;
    assert.match(audit.documentation ?? '', /audit trail/);
  });

  test('a practitioner starts a plan, adds a goal, marks it achieved and closes the plan; versions are checked', async () => {
    const client = clients.practitioner!;
    const created = await send('POST', 'CarePlan', 'practitioner', {
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      subject: { reference: `Patient/${personId}` },
      title: 'Back to work by spring',
      description: 'Strengths: determined, good with people',
      period: { end: '2027-06-30' },
    });
    assert.equal(created.status, 201);
    const plan = created.body as CarePlan;
    assertValid(plan, 'created CarePlan');
    assert.equal(created.headers.get('location'), `${server.url}/fhir/CarePlan/${plan.id}/_history/1`);
    assert.equal(created.headers.get('etag'), 'W/"1"');
    assert.equal(plan.title, 'Back to work by spring');
    assert.equal(plan.description, 'Strengths: determined, good with people');
    assert.equal(plan.period?.end, '2027-06-30');

    const goal = (await client.create({
      resourceType: 'Goal',
      body: {
        resourceType: 'Goal',
        lifecycleStatus: 'active',
        description: { text: 'I want a part-time job I enjoy' },
        subject: { reference: `Patient/${personId}` },
        category: outcomeCodes.map((c) => ({ coding: [{ system: OUTCOME_SYSTEM, code: c }] })),
        extension: [{ url: CARE_PLAN_EXTENSION, valueReference: { reference: `CarePlan/${plan.id}` } }],
      },
    })) as unknown as Goal;
    assertValid(goal, 'created Goal');
    assert.equal(goal.description.text, 'I want a part-time job I enjoy');
    assert.equal(goal.lifecycleStatus, 'active');
    const withGoal = (await client.read({ resourceType: 'CarePlan', id: plan.id! })) as unknown as CarePlan;
    assert.deepEqual(
      withGoal.goal?.map((g) => g.reference),
      [`Goal/${goal.id}`],
      'the plan lists its new goal',
    );

    const achieved = (await client.update({
      resourceType: 'Goal',
      id: goal.id!,
      body: { ...goal, lifecycleStatus: 'completed' },
      options: { headers: { 'if-match': 'W/"1"' } },
    })) as unknown as Goal;
    assert.equal(achieved.lifecycleStatus, 'completed');
    assert.equal(achieved.achievementStatus?.coding?.[0]?.code, 'achieved');
    assert.equal(achieved.meta?.versionId, '2');
    assertValid(achieved, 'updated Goal');
    await assert.rejects(
      client.update({
        resourceType: 'Goal',
        id: goal.id!,
        body: { ...achieved, lifecycleStatus: 'cancelled' },
        options: { headers: { 'if-match': 'W/"1"' } },
      }),
      refused(412),
    );
    await assert.rejects(
      client.update({ resourceType: 'Goal', id: goal.id!, body: { ...achieved, description: { text: 'Something else entirely' } } }),
      refused(422, /words/),
    );
    assert.equal(
      ((await client.read({ resourceType: 'Goal', id: goal.id! })) as unknown as Goal).description.text,
      'I want a part-time job I enjoy',
      'the words are unchanged',
    );

    const renamed = (await client.update({
      resourceType: 'CarePlan',
      id: plan.id!,
      body: { ...withGoal, title: 'Work and money by spring' },
      options: { headers: { 'if-match': `W/"${withGoal.meta?.versionId}"` } },
    })) as unknown as CarePlan;
    assert.equal(renamed.title, 'Work and money by spring');
    assert.equal(Number(renamed.meta?.versionId), Number(withGoal.meta?.versionId) + 1);
    const closed = (await client.update({
      resourceType: 'CarePlan',
      id: plan.id!,
      body: { ...renamed, status: 'completed' },
    })) as unknown as CarePlan;
    assert.equal(closed.status, 'completed');
    assertValid(closed, 'closed CarePlan');
    const found = (await client.search({
      resourceType: 'CarePlan',
      searchParams: { patient: personId, status: 'completed' },
    })) as unknown as Bundle;
    assert.deepEqual(
      found.entry?.map((e) => e.resource?.id),
      [plan.id],
    );
    // The plan's history (what the web page shows) records each change.
    const events = await server.database.db
      .selectFrom('plan_events')
      .select('kind')
      .where('plan_id', '=', plan.id!)
      .orderBy('id')
      .execute();
    assert.deepEqual(
      events.map((e) => e.kind),
      ['created', 'goal_added', 'goal_status', 'updated', 'closed'],
    );
  });

  test('plans and goals are refused, and nothing written, for users without access', async () => {
    const stranger = await server.database.db
      .selectFrom('persons')
      .select('id')
      .where('id', 'not in', server.database.db.selectFrom('care_relationships').select('person_id'))
      .where('id', 'not in', server.database.db.selectFrom('referrals').select('person_id'))
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const [plans, goals] = [await count('plans'), await count('plan_goals')];
    const body = {
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      subject: { reference: `Patient/${stranger.id}` },
      title: 'Not my place',
    };
    await assert.rejects(clients.practitioner!.create({ resourceType: 'CarePlan', body }), refused(403, /cannot start a plan/));
    await assert.rejects(
      clients.manager!.create({ resourceType: 'CarePlan', body: { ...body, subject: { reference: `Patient/${personId}` } } }),
      refused(403, /only practitioners/),
    );
    await assert.rejects(
      clients.citizen!.create({
        resourceType: 'Goal',
        body: {
          resourceType: 'Goal',
          lifecycleStatus: 'active',
          description: { text: "Someone else's goal" },
          subject: { reference: `Patient/${personId}` },
          category: [{ coding: [{ system: OUTCOME_SYSTEM, code: outcomeCodes[0] }] }],
        },
      }),
      refused(403),
    );
    const someGoal = await server.database.db
      .selectFrom('plan_goals')
      .select('id')
      .where('person_id', '=', personId)
      .executeTakeFirstOrThrow();
    await assert.rejects(
      clients.manager!.update({
        resourceType: 'Goal',
        id: someGoal.id,
        body: {
          resourceType: 'Goal',
          id: someGoal.id,
          lifecycleStatus: 'cancelled',
          description: { text: 'x' },
          subject: { reference: `Patient/${personId}` },
        },
      }),
      refused(403),
    );
    assert.deepEqual([await count('plans'), await count('plan_goals')], [plans, goals], 'nothing was written');
    // The refusal is on the audit trail.
    const denied = await server.database.db
      .selectFrom('audit_events')
      .select('reason')
      .where('person_id', '=', stranger.id)
      .where('action', '=', 'write')
      .where('decision', '=', 'deny')
      .execute();
    assert.ok(denied.length > 0, 'the refused write is audited');
  });

  test('a citizen records a sharing choice and withdraws it; practitioners cannot record or see one', async () => {
    const me = (
      await server.database.db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()
    ).person_id!;
    const org = await server.database.db.selectFrom('organisations').select('id').orderBy('id').executeTakeFirstOrThrow();
    const body = {
      resourceType: 'Consent',
      status: 'active',
      patient: { reference: `Patient/${me}` },
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      policyRule: { text: 'Joinery sharing choice' },
      provision: {
        type: 'permit',
        period: { end: '2030-01-31' },
        class: [{ system: 'urn:joinery:code:category', code: 'housing' }],
        purpose: [{ system: 'urn:joinery:code:purpose', code: 'direct_care' }],
        actor: [
          {
            role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] },
            reference: { reference: `Organization/${org.id}` },
          },
        ],
      },
    };
    const created = await send('POST', 'Consent', 'citizen', body);
    assert.equal(created.status, 201);
    const consent = created.body as Consent;
    assertValid(consent, 'created Consent');
    assert.equal(consent.status, 'active');
    assert.equal(consent.provision?.type, 'permit');
    assert.equal(consent.provision?.class?.[0]?.code, 'housing');
    assert.equal(consent.provision?.actor?.[0]?.reference.reference, `Organization/${org.id}`);
    assert.equal(consent.provision?.period?.end?.slice(0, 10), '2030-01-31');
    assert.match(created.headers.get('location') ?? '', new RegExp(`/fhir/Consent/${consent.id}/_history/1$`));
    // The choice is in force: the access decision now sees it.
    const inForce = await server.database.db
      .selectFrom('consent_directives')
      .select(['decision', 'withdrawn_at'])
      .where('id', '=', Number(consent.id))
      .executeTakeFirstOrThrow();
    assert.deepEqual(inForce, { decision: 'permit', withdrawn_at: null });

    await assert.rejects(clients.practitioner!.read({ resourceType: 'Consent', id: consent.id! }), refused(404));
    const before = await count('consent_directives');
    await assert.rejects(
      clients.practitioner!.create({ resourceType: 'Consent', body }),
      refused(403, /person, or their registered proxy/),
    );
    const someoneElse = await server.database.db
      .selectFrom('persons')
      .select('id')
      .where('id', '!=', me)
      .where('id', 'not in', server.database.db.selectFrom('proxies').select('person_id'))
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await assert.rejects(
      clients.citizen!.create({ resourceType: 'Consent', body: { ...body, patient: { reference: `Patient/${someoneElse.id}` } } }),
      refused(403, /only for yourself/),
    );
    await assert.rejects(
      clients.citizen!.create({
        resourceType: 'Consent',
        body: { ...body, provision: { ...body.provision, purpose: [{ system: 'urn:joinery:code:purpose', code: 'planning' }] } },
      }),
      refused(422),
    );
    assert.equal(await count('consent_directives'), before, 'nothing was written');

    await assert.rejects(
      clients.citizen!.update({
        resourceType: 'Consent',
        id: consent.id!,
        body: { ...consent, provision: { ...consent.provision, type: 'deny' } },
      }),
      refused(422, /never edited/),
    );
    const withdrawn = (await clients.citizen!.update({
      resourceType: 'Consent',
      id: consent.id!,
      body: { ...consent, status: 'inactive' },
      options: { headers: { 'if-match': 'W/"1"' } },
    })) as unknown as Consent;
    assert.equal(withdrawn.status, 'inactive');
    assert.equal(withdrawn.meta?.versionId, '2');
    assertValid(withdrawn, 'withdrawn Consent');
    assert.notEqual(
      (
        await server.database.db
          .selectFrom('consent_directives')
          .select('withdrawn_at')
          .where('id', '=', Number(consent.id))
          .executeTakeFirstOrThrow()
      ).withdrawn_at,
      null,
    );
    await assert.rejects(
      clients.citizen!.update({ resourceType: 'Consent', id: consent.id!, body: { ...withdrawn, status: 'active' } }),
      refused(422, /record a new one/),
    );
    // Nobody else changes it: not a practitioner, not the privacy officer (who sees aggregates only).
    await assert.rejects(clients.privacy!.update({ resourceType: 'Consent', id: consent.id!, body: { ...withdrawn } }), refused(404));
    await assert.rejects(clients.practitioner!.update({ resourceType: 'Consent', id: consent.id!, body: { ...withdrawn } }), refused(404));
  });

  test('a practitioner records a completed assessment; it is scored and cannot be changed afterwards', async () => {
    const client = clients.practitioner!;
    const forms = (await client.search({ resourceType: 'Questionnaire', searchParams: { _count: 50 } })) as unknown as Bundle;
    const q =
      forms
        .entry!.map((e) => e.resource as Questionnaire)
        .find((f) => (f.extension ?? []).some((x) => x.url.endsWith('record-category') && x.valueCode === 'social_care')) ??
      (forms.entry![0]!.resource as Questionnaire);
    const answer = (item: QuestionnaireItem): QuestionnaireResponseItem['answer'] => {
      switch (item.type) {
        case 'choice':
          return [{ valueCoding: item.answerOption![0]!.valueCoding }];
        case 'boolean':
          return [{ valueBoolean: false }];
        case 'integer':
          return [{ valueInteger: item.extension?.find((x) => x.url.endsWith('minValue'))?.valueInteger ?? 0 }];
        case 'decimal':
          return [{ valueDecimal: item.extension?.find((x) => x.url.endsWith('minValue'))?.valueDecimal ?? 0 }];
        case 'date':
          return [{ valueDate: '2026-01-15' }];
        default:
          return [{ valueString: 'Doing fine' }];
      }
    };
    const items = (list: QuestionnaireItem[]): QuestionnaireResponseItem[] =>
      list
        .filter((i) => i.type !== 'display')
        .map((i) => (i.type === 'group' ? { linkId: i.linkId, item: items(i.item ?? []) } : { linkId: i.linkId, answer: answer(i) }));
    const before = await count('questionnaire_responses');
    const created = (await client.create({
      resourceType: 'QuestionnaireResponse',
      body: {
        resourceType: 'QuestionnaireResponse',
        questionnaire: `Questionnaire/${q.id}`,
        status: 'completed',
        subject: { reference: `Patient/${personId}` },
        item: items(q.item ?? []),
      },
    })) as unknown as QuestionnaireResponse;
    assertValid(created, 'created QuestionnaireResponse');
    assert.equal(created.status, 'completed');
    assert.equal(created.subject?.reference, `Patient/${personId}`);
    assert.equal(created.questionnaire, `Questionnaire/${q.id}`);
    assert.equal(await count('questionnaire_responses'), before + 1);
    const stored = await server.database.db
      .selectFrom('questionnaire_responses')
      .select(['person_id', 'items_answered'])
      .where('id', '=', created.id!)
      .executeTakeFirstOrThrow();
    assert.equal(stored.person_id, personId);
    assert.ok(stored.items_answered > 0, 'the answers were stored and counted');
    const read = (await client.read({ resourceType: 'QuestionnaireResponse', id: created.id! })) as unknown as QuestionnaireResponse;
    assert.deepEqual(
      read.item?.map((i) => i.linkId),
      created.item?.map((i) => i.linkId),
    );

    await assert.rejects(
      client.update({ resourceType: 'QuestionnaireResponse', id: created.id!, body: { ...created } }),
      refused(405, /record of what was said/),
    );
    await assert.rejects(
      client.create({
        resourceType: 'QuestionnaireResponse',
        body: {
          resourceType: 'QuestionnaireResponse',
          questionnaire: `Questionnaire/${q.id}`,
          status: 'completed',
          subject: { reference: `Patient/${personId}` },
          item: [{ linkId: 'no-such-question', answer: [{ valueString: 'x' }] }],
        },
      }),
      refused(422, /not a question/),
    );
    await assert.rejects(
      clients.citizen!.create({ resourceType: 'QuestionnaireResponse', body: { ...created, id: undefined } }),
      refused(403),
    );
    assert.equal(await count('questionnaire_responses'), before + 1, 'refused assessments were not stored');
  });

  test('the care network: a colleague joins through CareTeam with a reason, leaves with a reason; EpisodeOfCare does the same', async () => {
    const client = clients.practitioner!;
    const me = await server.database.db
      .selectFrom('users')
      .select(['organisation_id', 'practitioner_id'])
      .where('username', '=', 'practitioner')
      .executeTakeFirstOrThrow();
    const colleagues = await server.database.db
      .selectFrom('practitioners')
      .select('id')
      .where('organisation_id', '=', me.organisation_id!)
      .where('id', '!=', me.practitioner_id!)
      .orderBy('id')
      .limit(2)
      .execute();
    assert.equal(colleagues.length, 2, 'the organisation has colleagues');
    const [colleague, second] = colleagues as [{ id: string }, { id: string }];

    const team = (await client.read({ resourceType: 'CareTeam', id: personId })) as unknown as CareTeam;
    const joined = (await client.update({
      resourceType: 'CareTeam',
      id: personId,
      options: { headers: { 'if-match': `W/"${team.meta?.versionId}"` } },
      body: {
        ...team,
        participant: [
          ...(team.participant ?? []),
          {
            role: [{ text: 'employment support' }],
            member: { reference: `Practitioner/${colleague.id}` },
            extension: [{ url: REASON_EXTENSION, valueString: 'helping with the back to work goal' }],
          },
        ],
      },
    })) as unknown as CareTeam;
    assertValid(joined, 'CareTeam after joining');
    assert.ok(
      joined.participant?.some((p) => p.member?.reference === `Practitioner/${colleague.id}` && p.role?.[0]?.text === 'employment support'),
      'the colleague is in the network',
    );
    assert.equal(Number(joined.meta?.versionId), Number(team.meta?.versionId) + 1);
    const row = await server.database.db
      .selectFrom('care_relationships')
      .select(['kind', 'reason', 'recorded_by'])
      .where('person_id', '=', personId)
      .where('practitioner_id', '=', colleague.id)
      .where('ended_at', 'is', null)
      .executeTakeFirstOrThrow();
    assert.equal(row.kind, 'network');
    assert.equal(row.reason, 'helping with the back to work goal');

    // Leaving needs a reason; without one nothing changes.
    const without = { ...joined, participant: joined.participant!.filter((p) => p.member?.reference !== `Practitioner/${colleague.id}`) };
    await assert.rejects(client.update({ resourceType: 'CareTeam', id: personId, body: without }), refused(422, /say why/));
    const left = (await client.update({
      resourceType: 'CareTeam',
      id: personId,
      body: { ...without, extension: [{ url: END_REASON_EXTENSION, valueString: 'goal achieved, no longer needed' }] },
    })) as unknown as CareTeam;
    assert.ok(!left.participant?.some((p) => p.member?.reference === `Practitioner/${colleague.id}`), 'the colleague has left the network');
    const audit = await server.database.db
      .selectFrom('audit_events')
      .select('reason')
      .where('person_id', '=', personId)
      .where('reason', 'like', 'left the care network%')
      .execute();
    assert.equal(audit.length, 1, 'leaving is on the audit trail with its reason');
    // A participant there through a case (the registration) is not removed here.
    await assert.rejects(
      client.update({
        resourceType: 'CareTeam',
        id: personId,
        body: { ...left, participant: [], extension: [{ url: END_REASON_EXTENSION, valueString: 'trying to remove everyone' }] },
      }),
      refused(422, /case/),
    );

    const episode = await send('POST', 'EpisodeOfCare', 'practitioner', {
      resourceType: 'EpisodeOfCare',
      status: 'active',
      patient: { reference: `Patient/${personId}` },
      careManager: { reference: `Practitioner/${second.id}` },
      extension: [
        { url: ROLE_EXTENSION, valueString: 'money advice' },
        { url: REASON_EXTENSION, valueString: 'debts with the council' },
      ],
    });
    assert.equal(episode.status, 201);
    const created = episode.body as EpisodeOfCare;
    assertValid(created, 'created EpisodeOfCare');
    assert.equal(created.status, 'active');
    assert.equal(created.careManager?.reference, `Practitioner/${second.id}`);
    assert.ok(created.extension?.some((x) => x.url === ROLE_EXTENSION && x.valueString === 'money advice'));
    const inTeam = (await client.read({ resourceType: 'CareTeam', id: personId })) as unknown as CareTeam;
    assert.ok(
      inTeam.participant?.some((p) => p.member?.reference === `Practitioner/${second.id}`),
      'the CareTeam shows the new member',
    );
    await assert.rejects(
      client.update({ resourceType: 'EpisodeOfCare', id: created.id!, body: { ...created, status: 'finished' } }),
      refused(422, /say why/i),
    );
    const finished = (await client.update({
      resourceType: 'EpisodeOfCare',
      id: created.id!,
      body: {
        ...created,
        status: 'finished',
        extension: [...created.extension!, { url: END_REASON_EXTENSION, valueString: 'debts settled' }],
      },
      options: { headers: { 'if-match': 'W/"1"' } },
    })) as unknown as EpisodeOfCare;
    assert.equal(finished.status, 'finished');
    assert.ok(finished.period?.end, 'the episode has an end');
    assertValid(finished, 'finished EpisodeOfCare');

    // Someone who may not see the person changes nothing.
    const relationships = await count('care_relationships');
    await assert.rejects(clients.citizen!.update({ resourceType: 'CareTeam', id: personId, body: { ...left } }), refused(403));
    await assert.rejects(
      clients.manager!.create({ resourceType: 'EpisodeOfCare', body: { ...created, id: undefined, status: 'active' } }),
      refused(403),
    );
    assert.equal(await count('care_relationships'), relationships);
    // A CareTeam POSTed is another system's team, kept beside the network (test/fhir-synthea-export.test.ts):
    // naming a colleague in it makes no one a member.
    const networkBefore = await client.read({ resourceType: 'CareTeam', id: personId });
    const kept = await client.create({
      resourceType: 'CareTeam',
      body: {
        resourceType: 'CareTeam',
        subject: { reference: `Patient/${personId}` },
        participant: [{ member: { reference: `Practitioner/${second.id}` } }],
      },
    });
    assert.notEqual(kept.id, personId);
    assert.equal(await count('care_relationships'), relationships, 'no one joined the care network');
    assert.deepEqual(await client.read({ resourceType: 'CareTeam', id: personId }), networkBefore);
  });

  test('a transaction Bundle starts a plan with a goal, all or nothing', async () => {
    const response = (await clients.practitioner!.transaction({
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:6a0f7e59-0000-4000-8000-00000000aa01',
            resource: {
              resourceType: 'CarePlan',
              status: 'active',
              intent: 'plan',
              subject: { reference: `Patient/${personId}` },
              title: 'Housing first',
            },
            request: { method: 'POST', url: 'CarePlan' },
          },
          {
            resource: {
              resourceType: 'Goal',
              lifecycleStatus: 'active',
              description: { text: 'A home of my own' },
              subject: { reference: `Patient/${personId}` },
              category: [{ coding: [{ system: OUTCOME_SYSTEM, code: outcomeCodes[0] }] }],
              extension: [{ url: CARE_PLAN_EXTENSION, valueReference: { reference: 'urn:uuid:6a0f7e59-0000-4000-8000-00000000aa01' } }],
            },
            request: { method: 'POST', url: 'Goal' },
          },
        ],
      } as never,
    })) as unknown as Bundle;
    assertValid(response, 'transaction-response');
    assert.deepEqual(
      response.entry!.map((e) => e.response?.status.slice(0, 3)),
      ['201', '201'],
    );
    const planId = response.entry![0]!.resource!.id!;
    const goal = response.entry![1]!.resource as Goal;
    assert.equal(
      goal.extension?.find((x) => x.url === CARE_PLAN_EXTENSION)?.valueReference?.reference,
      `CarePlan/${planId}`,
      'the goal is in the plan made by the same Bundle',
    );

    const plans = await count('plans');
    await assert.rejects(
      clients.practitioner!.transaction({
        body: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              resource: {
                resourceType: 'CarePlan',
                status: 'active',
                intent: 'plan',
                subject: { reference: `Patient/${personId}` },
                title: 'Rolled back',
              },
              request: { method: 'POST', url: 'CarePlan' },
            },
            {
              resource: {
                resourceType: 'AuditEvent',
                type: { code: 'x' },
                recorded: '2026-01-01T00:00:00Z',
                agent: [{ requestor: true }],
                source: { observer: { display: 'x' } },
              },
              request: { method: 'POST', url: 'AuditEvent' },
            },
          ],
        } as never,
      }),
      refused(405),
    );
    assert.equal(await count('plans'), plans, 'the failed transaction started no plan');
  });

  test('a transaction Bundle whose last entry fails leaves nothing of the entries before it: no plan, goal, plan history or network member', async () => {
    const me = await server.database.db
      .selectFrom('users')
      .select(['organisation_id', 'practitioner_id'])
      .where('username', '=', 'practitioner')
      .executeTakeFirstOrThrow();
    const inNetwork = server.database.db
      .selectFrom('care_relationships')
      .select('practitioner_id')
      .where('person_id', '=', personId)
      .where('ended_at', 'is', null)
      .where('practitioner_id', 'is not', null);
    const colleague = await server.database.db
      .selectFrom('practitioners')
      .select('id')
      .where('organisation_id', '=', me.organisation_id!)
      .where('id', 'not in', inNetwork.$narrowType<{ practitioner_id: string }>())
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const team = (await clients.practitioner!.read({ resourceType: 'CareTeam', id: personId })) as unknown as CareTeam;
    const events = async () =>
      Number(
        (
          await server.database.db
            .selectFrom('plan_events')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = [await count('plans'), await count('plan_goals'), await count('care_relationships'), await events()];
    const plan = 'urn:uuid:6a0f7e59-0000-4000-8000-00000000aa02';
    await assert.rejects(
      clients.practitioner!.transaction({
        body: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              fullUrl: plan,
              resource: {
                resourceType: 'CarePlan',
                status: 'active',
                intent: 'plan',
                subject: { reference: `Patient/${personId}` },
                title: 'Never started',
              },
              request: { method: 'POST', url: 'CarePlan' },
            },
            {
              resource: {
                resourceType: 'Goal',
                lifecycleStatus: 'active',
                description: { text: 'A goal of a plan never started' },
                subject: { reference: `Patient/${personId}` },
                category: [{ coding: [{ system: OUTCOME_SYSTEM, code: outcomeCodes[0] }] }],
                extension: [{ url: CARE_PLAN_EXTENSION, valueReference: { reference: plan } }],
              },
              request: { method: 'POST', url: 'Goal' },
            },
            {
              resource: {
                ...team,
                participant: [
                  ...(team.participant ?? []),
                  {
                    role: [{ text: 'debt advice' }],
                    member: { reference: `Practitioner/${colleague.id}` },
                    extension: [{ url: REASON_EXTENSION, valueString: 'joined by a Bundle that fails' }],
                  },
                ],
              },
              request: { method: 'PUT', url: `CareTeam/${personId}` },
            },
            // Written last (PUTs follow POSTs, in order): a goal nobody has.
            {
              resource: {
                resourceType: 'Goal',
                id: '00000000-0000-4000-8000-00000000dead',
                lifecycleStatus: 'cancelled',
                description: { text: 'x' },
                subject: { reference: `Patient/${personId}` },
              },
              request: { method: 'PUT', url: 'Goal/00000000-0000-4000-8000-00000000dead' },
            },
          ],
        } as never,
      }),
      refused(404),
    );
    assert.deepEqual(
      [await count('plans'), await count('plan_goals'), await count('care_relationships'), await events()],
      before,
      'plans, goals, plan history and network members are as they were',
    );
    const joinedAnyway = await server.database.db
      .selectFrom('care_relationships')
      .select('id')
      .where('person_id', '=', personId)
      .where('practitioner_id', '=', colleague.id)
      .where('reason', '=', 'joined by a Bundle that fails')
      .execute();
    assert.deepEqual(joinedAnyway, [], 'the colleague did not join the network');
  });

  test('the audit trail and other read-only types refuse writes, saying why', async () => {
    const auditEvent = {
      resourceType: 'AuditEvent',
      type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110110' },
      recorded: '2026-01-01T00:00:00Z',
      agent: [{ requestor: true }],
      source: { observer: { display: 'Forger' } },
    };
    const before = Number(
      (
        await server.database.db
          .selectFrom('audit_events')
          .select((eb) => eb.fn.max('seq').as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    for (const as of ['practitioner', 'privacy', 'citizen']) {
      await assert.rejects(clients[as]!.create({ resourceType: 'AuditEvent', body: auditEvent }), refused(405, /audit trail/));
    }
    const mine = (await clients.privacy!.search({ resourceType: 'AuditEvent', searchParams: { _count: 1 } })) as unknown as Bundle;
    const existing = mine.entry?.[0]?.resource;
    if (existing)
      await assert.rejects(
        clients.privacy!.update({ resourceType: 'AuditEvent', id: existing.id!, body: { ...existing, outcomeDesc: 'edited' } as never }),
        refused(405, /never changed/),
      );
    const forged = await server.database.db
      .selectFrom('audit_events')
      .select('seq')
      .where('seq', '>', before)
      .where('reason', 'like', '%Forger%')
      .execute();
    assert.equal(forged.length, 0, 'no audit event was written from a request');
    // An Observation about no Patient has nowhere to be kept; an agency's event is not changed here.
    await assert.rejects(
      clients.practitioner!.create({
        resourceType: 'Observation',
        body: { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
      }),
      refused(400, /must reference the Patient/),
    );
    const event = await server.database.db.selectFrom('person_events').select(['id', 'person_id']).orderBy('id').executeTakeFirstOrThrow();
    await assert.rejects(
      clients.practitioner!.update({
        resourceType: 'Observation',
        id: String(event.id),
        body: {
          resourceType: 'Observation',
          id: String(event.id),
          status: 'final',
          code: { text: 'x' },
          subject: { reference: `Patient/${event.person_id}` },
        },
      }),
      (error: { response?: { status?: number } }) => [404, 405].includes(error.response?.status ?? 0),
      'not changed: refused, or not even shown',
    );
    await assert.rejects(
      clients.practitioner!.create({ resourceType: 'Questionnaire', body: { resourceType: 'Questionnaire', status: 'active' } }),
      refused(405, /outcomes framework/),
    );
    await assert.rejects(
      clients.practitioner!.update({
        resourceType: 'ServiceRequest',
        id: 'x1',
        body: {
          resourceType: 'ServiceRequest',
          id: 'x1',
          status: 'active',
          intent: 'order',
          subject: { reference: `Patient/${personId}` },
        },
      }),
      refused(405, /Task/),
    );
  });
});
