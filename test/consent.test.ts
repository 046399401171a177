// A person's rights, end to end over HTTP: choosing who sees what (effective at once),
// downloading everything held, asking for corrections; and break-glass with its review.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { verifyAuditChain } from '../src/audit/log.ts';

const form = (values: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
  return params.toString();
};

describe('consent, rights and break-glass', () => {
  let server: TestServer;
  let citizenId: string;
  let practitionerOrg: string;
  before(async () => {
    server = await startTestServer({ people: 2000, seed: 3 });
    const db = server.database.db;
    citizenId = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).person_id!;
    practitionerOrg = (
      await db.selectFrom('users').select('organisation_id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()
    ).organisation_id!;
  });
  after(async () => {
    await server?.close();
  });

  async function post(cookie: string, url: string, values: Record<string, string | string[]>, tokenPage = '/home') {
    const token = await csrfTokenFor(server.app, cookie, tokenPage);
    return server.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ ...values, _csrf: token }),
    });
  }

  /** How many of other agencies' health entries the practitioner sees on the person page. */
  async function otherAgencyHealthShown(cookie: string): Promise<boolean> {
    const page = await server.app.inject({ method: 'GET', url: `/people/${citizenId}`, headers: { cookie } });
    assert.equal(page.statusCode, 200);
    const health = page.body.split('<h2 class="govuk-heading-m">').find((s) => s.startsWith('Health'));
    return Boolean(health && !health.includes('withheld') && /– [^<]*(Health Centre|Surgery|Practice|Hospital|NHS)/.test(health));
  }

  test('a refusal the person makes takes effect on the very next look, and withdrawing it restores sharing', async () => {
    const citizen = await signIn(server.app, 'citizen');
    const practitioner = await signIn(server.app, 'practitioner');
    // Start from a clean slate: share everything with the network.
    await server.database.db
      .updateTable('consent_directives')
      .set({ withdrawn_at: new Date() })
      .where('person_id', '=', citizenId)
      .where('withdrawn_at', 'is', null)
      .execute();
    const grant = await post(
      citizen,
      '/my-record/sharing',
      { decision: 'permit', category: '*', recipient: 'network', purposes: ['direct_care', 'care_coordination'] },
      '/my-record/sharing',
    );
    assert.equal(grant.statusCode, 302);
    assert.equal(await otherAgencyHealthShown(practitioner), true, 'shared after consent');

    const refuse = await post(
      citizen,
      '/my-record/sharing',
      { decision: 'deny', category: 'health', recipient: 'network', purposes: 'direct_care' },
      '/my-record/sharing',
    );
    assert.equal(refuse.statusCode, 302);
    assert.equal(await otherAgencyHealthShown(practitioner), false, 'withheld straight after the refusal');

    const sharing = await server.app.inject({ method: 'GET', url: '/my-record/sharing', headers: { cookie: citizen } });
    assert.match(
      sharing.body,
      /Do not share health \(gp, hospital, mental health, drug and alcohol services\) with everyone involved in your care/,
    );
    const refusalId = await server.database.db
      .selectFrom('consent_directives')
      .select('id')
      .where('person_id', '=', citizenId)
      .where('decision', '=', 'deny')
      .where('withdrawn_at', 'is', null)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const withdraw = await post(citizen, `/my-record/sharing/${refusalId.id}/withdraw`, {}, '/my-record/sharing');
    assert.equal(withdraw.statusCode, 302);
    assert.equal(await otherAgencyHealthShown(practitioner), true, 'shared again once the refusal is withdrawn');
    const kept = await server.database.db
      .selectFrom('consent_directives')
      .select('withdrawn_at')
      .where('id', '=', refusalId.id)
      .executeTakeFirstOrThrow();
    assert.ok(kept.withdrawn_at, 'the withdrawn choice is kept in history, not deleted');
  });

  test('a sharing form with bad input explains the problem and records nothing', async () => {
    const citizen = await signIn(server.app, 'citizen');
    const count = async () =>
      Number(
        (await sql<{ n: number }>`select count(*) as n from consent_directives where person_id = ${citizenId}`.execute(server.database.db))
          .rows[0]!.n,
      );
    const before = await count();
    for (const [values, message] of [
      [{ decision: 'maybe', category: '*', recipient: 'network', purposes: 'direct_care' }, 'Choose whether to share or not to share'],
      [{ decision: 'permit', category: 'secrets', recipient: 'network', purposes: 'direct_care' }, 'Choose what information this is about'],
      [
        { decision: 'permit', category: '*', recipient: 'organisation:nope', purposes: 'direct_care' },
        'That organisation is not part of the care network',
      ],
      [{ decision: 'permit', category: '*', recipient: 'network', purposes: 'planning' }, 'Choose at least one reason'],
      [
        { decision: 'permit', category: '*', recipient: 'network', purposes: 'direct_care', until: '2001-01-01' },
        'The end date must be in the future',
      ],
    ] as const) {
      const response = await post(citizen, '/my-record/sharing', values, '/my-record/sharing');
      assert.equal(response.statusCode, 400, message);
      assert.ok(response.body.includes(message), message);
    }
    // The error summary links to the field that is wrong; what was chosen is kept.
    const refused = await post(
      citizen,
      '/my-record/sharing',
      { decision: 'deny', category: 'secrets', recipient: 'network', purposes: 'direct_care' },
      '/my-record/sharing',
    );
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body, /<a href="#category">Choose what information this is about<\/a>/);
    assert.match(refused.body, /value="deny" checked/, 'the choice not to share stays chosen');
    assert.match(refused.body, /<option value="network" selected>/, 'who it is about stays chosen');
    assert.equal(await count(), before);
  });

  test('the person downloads everything held, from every source, as JSON and as a FHIR Bundle', async () => {
    const citizen = await signIn(server.app, 'citizen');
    const json = await server.app.inject({ method: 'GET', url: '/my-record/download.json', headers: { cookie: citizen } });
    assert.equal(json.statusCode, 200);
    assert.match(String(json.headers['content-disposition']), /attachment/);
    const data = json.json();
    const sources = await sql<{
      n: number;
    }>`select count(*) as n from record_links where person_id = ${citizenId} and superseded_at is null`.execute(server.database.db);
    assert.equal(data.recordsHeldByEachService.length, Number(sources.rows[0]!.n));
    assert.ok(data.events.length > 0 && data.sharingChoices.length > 0);
    const fhir = await server.app.inject({ method: 'GET', url: '/my-record/download.fhir.json', headers: { cookie: citizen } });
    const bundle = fhir.json();
    assert.equal(bundle.resourceType, 'Bundle');
    const patient = bundle.entry[0].resource;
    assert.equal(patient.resourceType, 'Patient');
    assert.equal(
      patient.identifier.find((i: { system: string }) => i.system === 'https://fhir.nhs.uk/Id/nhs-number')?.value,
      data.person.nhsNumber,
    );
    assert.equal(
      bundle.entry.filter((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'Encounter').length,
      data.events.length,
    );
    const exported = await server.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('person_id', '=', citizenId)
      .where('action', '=', 'export')
      .executeTakeFirst();
    assert.ok(exported, 'the export is on the audit record');
  });

  test('a correction request reaches the data owner, who answers, and the person sees the answer', async () => {
    const citizen = await signIn(server.app, 'citizen');
    const sent = await post(
      citizen,
      '/my-record/corrections',
      { organisation: practitionerOrg, item: 'My phone number', wrong: 'It is an old number', right: '07700 900999' },
      '/my-record/corrections',
    );
    assert.equal(sent.statusCode, 302);
    const practitioner = await signIn(server.app, 'practitioner');
    const inbox = await server.app.inject({ method: 'GET', url: '/corrections', headers: { cookie: practitioner } });
    assert.match(inbox.body, /My phone number/);
    const request = await server.database.db
      .selectFrom('correction_requests')
      .select('id')
      .where('person_id', '=', citizenId)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const target = /<option value="(\d+:phone)"/.exec(inbox.body)?.[1];
    assert.ok(target, 'the practitioner chooses the field of their own record to correct');
    const answer = await post(
      practitioner,
      `/corrections/${request.id}`,
      { outcome: 'corrected', note: 'Updated in our system on 23 November', target, value: '07700 900999' },
      '/corrections',
    );
    assert.equal(answer.statusCode, 302);
    const mine = await server.app.inject({ method: 'GET', url: '/my-record/corrections', headers: { cookie: citizen } });
    assert.match(mine.body, /Corrected/);
    assert.match(mine.body, /Updated in our system on 23 November/);
    const again = await post(practitioner, `/corrections/${request.id}`, { outcome: 'declined', note: 'changed my mind' }, '/corrections');
    assert.equal(again.statusCode, 409, 'an answered request cannot be answered twice');
  });

  /** Someone the demo practitioner's organisation neither holds nor cares for, with no account and no emergency access yet. */
  async function strangerToPractitioner(): Promise<{ id: string; family_name: string }> {
    const stranger = await sql<{ id: string; family_name: string }>`
      select p.id, p.family_name from persons p where not exists (
        select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
        where l.person_id = p.id and l.superseded_at is null and o.id = ${practitionerOrg})
      and not exists (select 1 from care_relationships r where r.person_id = p.id and r.organisation_id = ${practitionerOrg})
      and not exists (select 1 from break_glass_grants g where g.person_id = p.id)
      and not exists (select 1 from users u where u.person_id = p.id) order by p.id limit 1`.execute(server.database.db);
    return stranger.rows[0]!;
  }

  test('break-glass: refused without a reason, allowed with one, shown to the person, reviewed by the privacy officer', async () => {
    const db = server.database.db;
    const target = await strangerToPractitioner();
    const practitioner = await signIn(server.app, 'practitioner');
    const refused = await server.app.inject({ method: 'GET', url: `/people/${target.id}`, headers: { cookie: practitioner } });
    assert.equal(refused.statusCode, 403);
    const noReason = await post(practitioner, `/people/${target.id}/break-glass`, { reason: 'urgent' });
    assert.equal(noReason.statusCode, 400);
    const ok = await post(practitioner, `/people/${target.id}/break-glass`, { reason: 'Unconscious in A&E, need medication history' });
    assert.equal(ok.statusCode, 302);
    const page = await server.app.inject({ method: 'GET', url: `/people/${target.id}`, headers: { cookie: practitioner } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /You are using emergency access/);
    assert.ok(page.body.includes(target.family_name));

    // The person is told, with the reason.
    await db
      .insertInto('users')
      .values({
        id: 'u-stranger',
        username: 'stranger',
        display_name: 'Stranger',
        role: 'citizen',
        password_hash: null,
        oidc_subject: null,
        person_id: target.id,
        practitioner_id: null,
        organisation_id: null,
        locked_until: null,
        last_sign_in_at: null,
      })
      .execute();
    const { whoLooked } = await import('../src/consent/index.ts');
    const looks = await whoLooked(db, target.id);
    const emergency = looks.find((l) => l.emergency);
    assert.ok(emergency);
    assert.match(emergency.summary, /used emergency access to your record.*Unconscious in A&E, need medication history/);

    // The privacy officer reviews it, and it leaves the list.
    const privacy = await signIn(server.app, 'privacy');
    const list = await server.app.inject({ method: 'GET', url: '/privacy', headers: { cookie: privacy } });
    assert.match(list.body, /Unconscious in A&amp;E, need medication history/);
    const grant = await db.selectFrom('break_glass_grants').select('id').where('person_id', '=', target.id).executeTakeFirstOrThrow();
    const reviewed = await post(
      privacy,
      `/privacy/break-glass/${grant.id}`,
      { outcome: 'appropriate', note: 'checked with A&E' },
      '/privacy',
    );
    assert.equal(reviewed.statusCode, 302);
    const after = await server.app.inject({ method: 'GET', url: '/privacy', headers: { cookie: privacy } });
    const waiting = after.body.slice(0, after.body.indexOf('Completed reviews'));
    assert.doesNotMatch(waiting, /Unconscious in A&amp;E/);
    assert.match(after.body.slice(after.body.indexOf('Completed reviews')), /Unconscious in A&amp;E/, 'listed among the completed reviews');
    assert.deepEqual((await verifyAuditChain(db)).problem, null);
  });

  // The person page reads its access facts in the same statement as the session (one round trip
  // fewer a page): what ends elsewhere must still count on the very next request.
  test('on the person page, emergency access that has run out and a session ended elsewhere stop the very next request', async () => {
    const db = server.database.db;
    const target = await strangerToPractitioner();
    const practitioner = await signIn(server.app, 'practitioner');
    const open = () => server.app.inject({ method: 'GET', url: `/people/${target.id}`, headers: { cookie: practitioner } });
    const ok = await post(practitioner, `/people/${target.id}/break-glass`, { reason: 'Found collapsed at home, need allergies' });
    assert.equal(ok.statusCode, 302);
    const during = await open();
    assert.equal(during.statusCode, 200);
    assert.ok(during.body.includes(target.family_name));

    // Its time runs out: the next look is refused, naming nothing of the person.
    await db
      .updateTable('break_glass_grants')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('person_id', '=', target.id)
      .execute();
    const ended = await open();
    assert.equal(ended.statusCode, 403);
    assert.ok(!ended.body.includes(target.family_name));

    // The session is ended in the database (signed out on another server): the next person page
    // asks to sign in and shows nothing, even of the practitioner's own people.
    const token = /joinery_session=([^;]+)/.exec(practitioner)![1]!;
    await db.deleteFrom('sessions').where('token_hash', '=', createHash('sha256').update(token).digest('hex')).execute();
    const signedOut = await server.app.inject({ method: 'GET', url: `/people/${citizenId}`, headers: { cookie: practitioner } });
    assert.equal(signedOut.statusCode, 302);
    assert.match(String(signedOut.headers.location), /^\/sign-in/);
  });

  test("a parent signs in, sees the child they act for, opens the child's record and manages its sharing", async () => {
    const db = server.database.db;
    const pair = await db
      .selectFrom('proxies as x')
      .innerJoin('persons as c', 'c.id', 'x.person_id')
      .select(['x.person_id', 'x.proxy_person_id', 'c.given_name', 'c.family_name'])
      .where('x.kind', '=', 'parent')
      .orderBy('x.id')
      .executeTakeFirstOrThrow();
    const { createAccount } = await import('../src/auth/accounts.ts');
    await createAccount(db, {
      username: 'parent-of-child',
      displayName: 'Parent',
      role: 'citizen',
      password: 'a long parent passphrase',
      personId: pair.proxy_person_id,
    });
    const cookie = await signIn(server.app, 'parent-of-child', 'a long parent passphrase');
    const home = await server.app.inject({ method: 'GET', url: '/home', headers: { cookie } });
    assert.match(home.body, /People you act for/);
    assert.ok(home.body.includes(`${pair.given_name} ${pair.family_name}`));
    const child = await server.app.inject({ method: 'GET', url: `/people/${pair.person_id}`, headers: { cookie } });
    assert.equal(child.statusCode, 200);
    const sharing = await server.app.inject({ method: 'GET', url: `/my-record/sharing?for=${pair.person_id}`, headers: { cookie } });
    assert.equal(sharing.statusCode, 200);
    assert.ok(sharing.body.includes(`${pair.given_name} ${pair.family_name}`));
    // Revoked: the access ends at once.
    await db
      .updateTable('proxies')
      .set({ revoked_at: new Date() })
      .where('person_id', '=', pair.person_id)
      .where('proxy_person_id', '=', pair.proxy_person_id)
      .execute();
    const after = await server.app.inject({ method: 'GET', url: `/people/${pair.person_id}`, headers: { cookie } });
    assert.equal(after.statusCode, 403);
  });
});
