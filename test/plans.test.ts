// HTTP tests for shared plans and assessments on the demo place: the coordinator's plan page
// with charts, an assessment with prefilled answers, a household plan with actions for two
// agencies, a partner marking an action done, the citizen's own goal, and refusals.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';

describe('shared plans and assessments over HTTP', () => {
  let server: TestServer;
  let coordinator: string;
  let personId: string;
  let otherMember: string;
  before(async () => {
    server = await startTestServer();
    coordinator = await signIn(server.app, 'coordinator');
    const db = server.database.db;
    const row = (
      await sql<{ person_id: string; other: string }>`
      select e.person_id, (select m.id from persons m where m.household_id = p.household_id and m.id <> p.id order by m.id limit 1) as other
      from model_enrolments e join users u on u.practitioner_id = e.lead_practitioner_id and u.username = 'coordinator'
      join persons p on p.id = e.person_id
      where e.model_id = 'md-coordination' and exists (select 1 from persons m where m.household_id = p.household_id and m.id <> p.id)
      order by e.person_id limit 1`.execute(db)
    ).rows[0];
    assert.ok(row, 'the coordinator has someone with a household on their caseload');
    personId = row.person_id;
    otherMember = row.other;
  });
  after(async () => {
    await server?.close();
  });

  const form = async (cookie: string, url: string, fields: Record<string, string | string[]>, tokenUrl = `/people/${personId}/plan`) => {
    const token = await csrfTokenFor(server.app, cookie, tokenUrl);
    const body = new URLSearchParams({ _csrf: token });
    for (const [k, v] of Object.entries(fields)) for (const item of [v].flat()) body.append(k, item);
    return server.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: body.toString(),
    });
  };

  test('the plan page shows the model, goals, actions, charts with their tables, and history', async () => {
    const page = await server.app.inject({ method: 'GET', url: `/people/${personId}/plan`, headers: { cookie: coordinator } });
    assert.equal(page.statusCode, 200);
    for (const text of [
      'Coordinated support for multiple disadvantage',
      'Named coordinator',
      'Goals, in the person',
      'Multiple disadvantage assessment: every figure',
      'Progress at each review',
      'History of this plan',
      'Tell it once',
    ]) {
      assert.ok(page.body.includes(text), `plan page shows "${text}"`);
    }
    assert.match(page.body, /<svg class="joinery-chart" role="img"/);
    assert.ok(!/style="/.test(page.body), 'no inline styles');
  });

  test('an assessment is prefilled from the shared record, and saving it adds a point to the chart', async () => {
    const form1 = await server.app.inject({
      method: 'GET',
      url: `/people/${personId}/assessments/md-assessment`,
      headers: { cookie: coordinator },
    });
    assert.equal(form1.statusCode, 200);
    assert.ok(form1.body.includes('Already known from the shared record'), 'some answers are prefilled, with their source');
    const checked = [...form1.body.matchAll(/name="(q-[a-z-]+)" type="radio" value="([a-z0-9_]+)" checked/g)].map(
      (m) => [m[1]!, m[2]!] as const,
    );
    assert.ok(checked.length > 0);
    const before = (
      await sql<{
        n: number;
      }>`select count(*)::int as n from questionnaire_responses where person_id = ${personId} and questionnaire_id = 'md-assessment'`.execute(
        server.database.db,
      )
    ).rows[0]!.n;
    const answers: Record<string, string> = {
      'q-engagement': 'eng1',
      'q-social': 'soc1',
      'q-harm-any': 'no',
      'q-others-any': 'no',
      'q-exploited': 'exp0',
      'q-stress': 'str1',
      'q-substances': 'no',
      'q-impulse': 'imp1',
      'q-housing': 'hou1',
    };
    for (const [name, value] of checked) if (!(name in answers) || name === 'q-tenure' || name === 'q-police') answers[name] = value;
    const bad = await form(coordinator, `/people/${personId}/assessments/md-assessment`, { ...answers, 'q-harm-any': 'yes' });
    assert.equal(bad.statusCode, 400);
    assert.ok(bad.body.includes('There is a problem') && bad.body.includes('How serious and how recent was it?'));
    const saved = await form(coordinator, `/people/${personId}/assessments/md-assessment`, answers);
    assert.equal(saved.statusCode, 302);
    assert.match(String(saved.headers.location), /\/plan\?saved=/);
    const page = await server.app.inject({ method: 'GET', url: String(saved.headers.location), headers: { cookie: coordinator } });
    assert.ok(page.body.includes('Multiple disadvantage assessment saved'));
    const after = (
      await sql<{
        n: number;
        reused: number;
      }>`select count(*)::int as n, max(items_reused) as reused from questionnaire_responses where person_id = ${personId} and questionnaire_id = 'md-assessment'`.execute(
        server.database.db,
      )
    ).rows[0]!;
    assert.equal(after.n, before + 1);
  });

  test('a household plan with actions for two agencies; the partner sees it in their worklist and marks it done', async () => {
    const db = server.database.db;
    const created = await form(coordinator, `/people/${personId}/plans`, {
      title: 'Our household plan',
      members: [otherMember],
      memberConsent: 'yes',
      nextReviewOn: '2027-02-01',
    });
    assert.equal(created.statusCode, 302);
    const planId = new URL(String(created.headers.location), 'http://x').searchParams.get('plan')!;
    const plan = await db.selectFrom('plans').select(['subject_kind']).where('id', '=', planId).executeTakeFirstOrThrow();
    assert.equal(plan.subject_kind, 'household');
    const goal = await form(coordinator, `/plans/${planId}/goals`, {
      goalText: 'A quieter home for all of us',
      outcomes: ['HOME', 'WELL'],
      back: personId,
    });
    assert.equal(goal.statusCode, 302);
    const goalId = (await db.selectFrom('plan_goals').select('id').where('plan_id', '=', planId).executeTakeFirstOrThrow()).id;
    const housing = await db.selectFrom('organisations').select(['id']).where('kind', '=', 'council_housing').executeTakeFirstOrThrow();
    const gp = await db
      .selectFrom('organisations')
      .select(['id'])
      .where('kind', '=', 'gp_practice')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    for (const [org, text] of [
      [housing.id, 'Repairs to the damp bedroom'],
      [gp.id, 'Review medication together'],
    ] as const) {
      const r = await form(coordinator, `/plans/${planId}/actions`, {
        description: text,
        assignedOrganisationId: org,
        goalId,
        dueOn: '2026-12-15',
        back: personId,
      });
      assert.equal(r.statusCode, 302);
    }
    const missing = await form(coordinator, `/plans/${planId}/actions`, {
      description: 'No organisation',
      assignedOrganisationId: '',
      dueOn: '2026-12-15',
      back: personId,
    });
    assert.equal(missing.statusCode, 400);
    // A housing officer joins as the partner.
    const officer = await db
      .selectFrom('practitioners')
      .select(['id', 'organisation_id', 'team_id'])
      .where('organisation_id', '=', housing.id)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    if (!(await db.selectFrom('users').select('id').where('username', '=', 'plans-partner').executeTakeFirst())) {
      await createAccount(db, {
        username: 'plans-partner',
        displayName: 'Pat Partner',
        role: 'practitioner',
        password: DEMO_PASSWORD,
        practitionerId: officer.id,
        organisationId: officer.organisation_id,
      });
    }
    const partner = await signIn(server.app, 'plans-partner');
    const worklist = await server.app.inject({ method: 'GET', url: '/plans/actions', headers: { cookie: partner } });
    assert.ok(worklist.body.includes('Repairs to the damp bedroom'));
    const actionId = (
      await db
        .selectFrom('plan_actions')
        .select('id')
        .where('plan_id', '=', planId)
        .where('assigned_organisation_id', '=', housing.id)
        .executeTakeFirstOrThrow()
    ).id;
    const gpAction = (
      await db
        .selectFrom('plan_actions')
        .select('id')
        .where('plan_id', '=', planId)
        .where('assigned_organisation_id', '=', gp.id)
        .executeTakeFirstOrThrow()
    ).id;
    const notTheirs = await form(partner, `/plans/${planId}/actions/${gpAction}/done`, { back: personId });
    assert.equal(notTheirs.statusCode, 403);
    const done = await form(partner, `/plans/${planId}/actions/${actionId}/done`, { back: personId });
    assert.equal(done.statusCode, 302);
    const review = await form(coordinator, `/plans/${planId}/reviews`, {
      reviewedOn: '2026-12-20',
      [`goal-${goalId}`]: '5',
      note: 'Better',
      nextReviewOn: '2027-03-20',
      back: personId,
    });
    assert.equal(review.statusCode, 302);
    const page = await server.app.inject({
      method: 'GET',
      url: `/people/${personId}/plan?plan=${planId}`,
      headers: { cookie: coordinator },
    });
    assert.ok(page.body.includes('1 of 2'), 'the review records one of two actions done');
    assert.ok(
      page.body.includes('Action done: &quot;Repairs to the damp bedroom&quot;') ||
        page.body.includes('Action done: “Repairs') ||
        page.body.includes('Action done: "Repairs'),
    );
  });

  test('someone outside the network is refused; the citizen adds a goal in their own words', async () => {
    const db = server.database.db;
    const outsiderPr = (
      await sql<{ id: string; organisation_id: string }>`
      select pr.id, pr.organisation_id from practitioners pr join organisations o on o.id = pr.organisation_id
      where not exists (select 1 from care_relationships r where r.person_id = ${personId} and r.organisation_id = pr.organisation_id)
        and not exists (select 1 from record_links l join source_records s on s.id = l.source_record_id where l.person_id = ${personId} and s.source = o.source_code)
      order by pr.id limit 1`.execute(db)
    ).rows[0]!;
    await createAccount(db, {
      username: 'plans-outsider',
      displayName: 'Out Sider',
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: outsiderPr.id,
      organisationId: outsiderPr.organisation_id,
    });
    const outsider = await signIn(server.app, 'plans-outsider');
    const page = await server.app.inject({ method: 'GET', url: `/people/${personId}/plan`, headers: { cookie: outsider } });
    assert.equal(page.statusCode, 403);
    const planId = (await db.selectFrom('plans').select('id').where('person_id', '=', personId).executeTakeFirstOrThrow()).id;
    const write = await form(outsider, `/plans/${planId}/goals`, { goalText: 'Sneaky goal', outcomes: 'HOME' }, '/home');
    assert.equal(write.statusCode, 403);
    const assess = await server.app.inject({
      method: 'GET',
      url: `/people/${personId}/assessments/md-assessment`,
      headers: { cookie: outsider },
    });
    assert.equal(assess.statusCode, 403);

    const citizen = await signIn(server.app, 'citizen');
    const mine = await server.app.inject({ method: 'GET', url: '/my-plan', headers: { cookie: citizen } });
    assert.equal(mine.statusCode, 302);
    const citizenPage = await server.app.inject({ method: 'GET', url: String(mine.headers.location), headers: { cookie: citizen } });
    assert.equal(citizenPage.statusCode, 200);
    assert.ok(citizenPage.body.includes('Your plan'));
    const citizenPlan = /action="\/plans\/([^/]+)\/goals"/.exec(citizenPage.body)?.[1];
    assert.ok(citizenPlan, 'the citizen can add goals');
    const added = await form(
      citizen,
      `/plans/${citizenPlan}/goals`,
      { goalText: 'Walk to the park with my dog every day', outcomes: ['WELL', 'CONN'] },
      String(mine.headers.location),
    );
    assert.equal(added.statusCode, 302);
    const goal = await db
      .selectFrom('plan_goals')
      .select(['set_by', 'text'])
      .where('plan_id', '=', citizenPlan)
      .where('text', 'like', 'Walk to the park%')
      .executeTakeFirstOrThrow();
    assert.equal(goal.set_by, 'person');
    const other = await server.app.inject({ method: 'GET', url: `/people/${personId}/plan`, headers: { cookie: citizen } });
    assert.equal(other.statusCode, 403);
  });

  test('the outcomes page shows the framework, operating models and tell-it-once figures', async () => {
    const manager = await signIn(server.app, 'manager');
    const page = await server.app.inject({ method: 'GET', url: '/outcomes', headers: { cookie: manager } });
    assert.equal(page.statusCode, 200);
    for (const text of [
      'Place-wide goals',
      'I live in accommodation that suits me.',
      'Children&#39;s zone',
      'Housing first',
      'Local area coordination',
      'Answers reused',
    ]) {
      assert.ok(page.body.includes(text), `outcomes page shows ${text}`);
    }
  });

  // Issue 21: everyday plan work without dead ends.

  test('a household member ticked without their agreement is an error that keeps what was typed; nothing is created', async () => {
    const db = server.database.db;
    const row = (
      await sql<{ person_id: string; member: string; name: string }>`
      select e.person_id, m.id as member, m.given_name || ' ' || m.family_name as name
      from model_enrolments e join users u on u.practitioner_id = e.lead_practitioner_id and u.username = 'coordinator'
      join persons p on p.id = e.person_id join persons m on m.household_id = p.household_id and m.id <> p.id
      where e.model_id = 'md-coordination' and e.person_id <> ${personId}
        and not exists (select 1 from care_relationships r where r.person_id = m.id and r.ended_at is null and r.organisation_id = u.organisation_id)
      order by e.person_id, m.id limit 1`.execute(db)
    ).rows[0];
    assert.ok(row, "a coordinator's person has a household member the coordinator does not care for yet");
    const counts = async () =>
      (
        await sql<{ plans: number; relationships: number }>`
      select (select count(*)::int from plan_members where person_id = ${row.person_id}) as plans,
             (select count(*)::int from care_relationships where person_id = ${row.member}) as relationships`.execute(db)
      ).rows[0]!;
    const before = await counts();
    const url = `/people/${row.person_id}/plan`;
    const noAgreement = await form(
      coordinator,
      `/people/${row.person_id}/plans`,
      { title: 'A warmer home for us both', members: [row.member], strengths: 'Loves cooking', nextReviewOn: '2027-03-01' },
      url,
    );
    assert.equal(noAgreement.statusCode, 400);
    assert.ok(noAgreement.body.includes('There is a problem'), 'an error summary');
    assert.match(noAgreement.body, /href="#memberConsent"/, 'the summary links to the agreement box');
    assert.ok(noAgreement.body.includes(`Confirm that ${row.name.replace(/'/g, '&#39;')} has agreed to be part of this plan`));
    assert.ok(noAgreement.body.includes('value="A warmer home for us both"'), 'the name typed is kept');
    assert.ok(noAgreement.body.includes('Loves cooking'), 'the strengths typed are kept');
    assert.match(noAgreement.body, new RegExp(`value="${row.member}" checked`), 'the member stays ticked');
    assert.deepEqual(await counts(), before, "no plan, and nobody joins the member's network");

    // A refused plan must not bring the practitioner into the member's network either.
    const shortName = await form(
      coordinator,
      `/people/${row.person_id}/plans`,
      { title: 'A', members: [row.member], memberConsent: 'yes' },
      url,
    );
    assert.equal(shortName.statusCode, 400);
    assert.match(shortName.body, /href="#title"/);
    assert.match(shortName.body, /name="memberConsent" type="checkbox" value="yes" checked/, 'the agreement stays ticked');
    assert.deepEqual(await counts(), before, 'a refused plan opens no relationship');

    const agreed = await form(
      coordinator,
      `/people/${row.person_id}/plans`,
      { title: 'A warmer home for us both', members: [row.member], memberConsent: 'yes' },
      url,
    );
    assert.equal(agreed.statusCode, 302);
    const planId = new URL(String(agreed.headers.location), 'http://x').searchParams.get('plan')!;
    const members = await db.selectFrom('plan_members').select('person_id').where('plan_id', '=', planId).execute();
    assert.deepEqual(members.map((m) => m.person_id).sort(), [row.person_id, row.member].sort(), 'both are in the plan');
  });

  test('plans are listed by the names people gave them', async () => {
    const url = `/people/${personId}/plan`;
    for (const title of ['Move to a ground-floor flat', 'Back to work by the summer']) {
      const created = await form(coordinator, `/people/${personId}/plans`, { title }, url);
      assert.equal(created.statusCode, 302);
    }
    const page = await server.app.inject({ method: 'GET', url, headers: { cookie: coordinator } });
    const list = /data-testid="plan-list">([\s\S]*?)<\/ul>/.exec(page.body)?.[1] ?? '';
    assert.ok(
      list.includes('Move to a ground-floor flat') && list.includes('Back to work by the summer'),
      'each plan is listed by its name',
    );
    assert.doesNotMatch(page.body, />plan \d+</, 'no unnamed "plan 2"');
    assert.doesNotMatch(page.body, />this plan</);
  });

  test("an empty review is refused, keeping the form; a review's note is shown in the plan's history", async () => {
    const db = server.database.db;
    const url = `/people/${personId}/plan`;
    const created = await form(coordinator, `/people/${personId}/plans`, { title: 'Reviews that say something' }, url);
    const planId = new URL(String(created.headers.location), 'http://x').searchParams.get('plan')!;
    await form(coordinator, `/plans/${planId}/goals`, { goalText: 'Sleep through the night', outcomes: ['WELL'], back: personId }, url);
    const goalId = (await db.selectFrom('plan_goals').select('id').where('plan_id', '=', planId).executeTakeFirstOrThrow()).id;
    const empty = await form(
      coordinator,
      `/plans/${planId}/reviews`,
      { reviewedOn: '2026-12-20', [`goal-${goalId}`]: '', note: '', nextReviewOn: '2027-03-20', back: personId },
      url,
    );
    assert.equal(empty.statusCode, 400, 'an empty review is not saved');
    assert.ok(empty.body.includes('Score at least one goal from 0 to 10, or write what has changed'));
    assert.match(empty.body, new RegExp(`href="#goal-${goalId}"`));
    assert.ok(empty.body.includes('value="2026-12-20"'), 'the review date typed is kept');
    assert.equal((await db.selectFrom('plan_reviews').select('id').where('plan_id', '=', planId).execute()).length, 0);

    const saved = await form(
      coordinator,
      `/plans/${planId}/reviews`,
      {
        reviewedOn: '2026-12-20',
        [`goal-${goalId}`]: '3',
        note: 'Sleeping better since the new mattress',
        nextReviewOn: '2027-03-20',
        back: personId,
      },
      url,
    );
    assert.equal(saved.statusCode, 302);
    const page = await server.app.inject({ method: 'GET', url: String(saved.headers.location), headers: { cookie: coordinator } });
    assert.ok(page.body.includes('Review recorded'), 'a success banner');
    const history = page.body.slice(page.body.indexOf('id="history"'));
    assert.ok(history.includes('Sleeping better since the new mattress'), "the review's note is in the plan's history");
  });

  test('one assessment is shown as a table, not a chart of dots on top of each other; charts have titled axes', async () => {
    const db = server.database.db;
    const row = (
      await sql<{ person_id: string }>`
      select e.person_id from model_enrolments e join users u on u.practitioner_id = e.lead_practitioner_id and u.username = 'coordinator'
      where e.model_id = 'md-coordination' and e.person_id <> ${personId}
        and not exists (select 1 from questionnaire_responses r where r.person_id = e.person_id and r.questionnaire_id = 'carers-assessment')
        and (select count(*) from questionnaire_responses r where r.person_id = e.person_id and r.questionnaire_id = 'md-assessment') >= 2
      order by e.person_id limit 1`.execute(db)
    ).rows[0];
    assert.ok(row, 'a person with two or more assessments of one kind and none of another');
    const url = `/people/${row.person_id}/plan`;
    const saved = await form(
      coordinator,
      `/people/${row.person_id}/assessments/carers-assessment`,
      {
        'q-care-hours': 'h1',
        'q-care-nights': 'no',
        'q-carer-health': 'ch1',
        'q-life-balance': 'lb1',
        'q-lonely': 'lo1',
        'q-money-worries': 'mo1',
        'q-emergency': 'yes',
      },
      url,
    );
    assert.equal(saved.statusCode, 302);
    const page = await server.app.inject({ method: 'GET', url, headers: { cookie: coordinator } });
    assert.ok(!page.body.includes('id="chart-carers-assessment-title"'), 'no chart for a single assessment');
    assert.ok(page.body.includes('Carer&#39;s assessment: every figure'), 'its table is there');
    assert.ok(page.body.includes('One assessment so far'), 'the page says why there is no chart yet');
    const chart = /<svg[^>]*aria-labelledby="chart-md-assessment-title[\s\S]*?<\/svg>/.exec(page.body)?.[0] ?? '';
    assert.ok(chart, 'two or more assessments are charted');
    assert.ok(chart.includes('Date of assessment'), 'the horizontal axis is titled');
    assert.match(chart, /Score \(0 to 4\)/, 'the vertical axis is titled');
  });

  test('conditional questions are revealed under the answer that needs them; no "answer only if" text', async () => {
    const page = await server.app.inject({
      method: 'GET',
      url: `/people/${personId}/assessments/md-assessment`,
      headers: { cookie: coordinator },
    });
    assert.equal(page.statusCode, 200);
    assert.ok(!/answer only if/i.test(page.body), 'no "Answer only if" instructions');
    const reveal = page.body.indexOf('id="conditional-q-harm-any"');
    assert.ok(reveal > 0, 'the "Yes" answer reveals a question');
    assert.ok(
      reveal < page.body.indexOf('name="q-harm-level"') &&
        page.body.indexOf('name="q-harm-level"') < page.body.indexOf('name="q-others-any"'),
      'how serious it was is asked under "Yes"',
    );
  });

  test('a follow-up enabled by several answers is asked before saving, without JavaScript', async () => {
    const db = server.database.db;
    const count = async () =>
      (
        await db
          .selectFrom('questionnaire_responses')
          .select('id')
          .where('person_id', '=', personId)
          .where('questionnaire_id', '=', 'carers-assessment')
          .execute()
      ).length;
    const before = await count();
    const answers = {
      'q-care-hours': 'h2',
      'q-care-nights': 'no',
      'q-carer-health': 'ch3',
      'q-life-balance': 'lb1',
      'q-lonely': 'lo1',
      'q-money-worries': 'mo1',
      'q-emergency': 'yes',
    };
    const first = await form(coordinator, `/people/${personId}/assessments/carers-assessment`, answers);
    assert.equal(first.statusCode, 200);
    assert.ok(first.body.includes('Your answers need one more question before the assessment is saved'));
    assert.ok(first.body.includes('Have you been able to talk to your GP about this?'));
    assert.ok(!/answer only if/i.test(first.body));
    assert.match(first.body, /name="asked" value="carer-gp"/);
    assert.match(first.body, /name="q-carer-health" type="radio" value="ch3" checked/, 'the answers given are kept');
    assert.equal(await count(), before, 'nothing saved yet');
    const second = await form(coordinator, `/people/${personId}/assessments/carers-assessment`, {
      ...answers,
      asked: 'carer-gp',
      'q-carer-gp': 'no',
    });
    assert.equal(second.statusCode, 302);
    assert.equal(await count(), before + 1);
  });
});
