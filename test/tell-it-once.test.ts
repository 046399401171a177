// Tell it once, completed (issue 20): "about me" and earlier answers prefill every assessment
// that asks the same thing, through the access decision; the outcomes page counts, place-wide,
// what was reused and what was asked again; and an assessment in progress is kept as a draft on
// the server, so a session that times out loses nothing. Write-side: nobody else gets, or writes,
// someone's draft.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, DEMO_PASSWORD, type TestServer } from './support/server.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { shippedQuestionnaires } from '../src/plans/instruments.ts';
import { EXT, extensionOf, flattenItems, isQuestion } from '../src/plans/questionnaire.ts';

const form = (values: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
  return params.toString();
};

let server: TestServer;
let personId: string;
const cookies: Record<string, string> = {};
const ons4 = () => `/people/${personId}/assessments/ons4-wellbeing`;

async function get(url: string, cookie: string) {
  return server.app.inject({ method: 'GET', url, headers: { cookie } });
}
async function post(
  cookie: string,
  url: string,
  values: Record<string, string | string[]>,
  tokenPage: string,
  headers: Record<string, string> = {},
) {
  const token = await csrfTokenFor(server.app, cookie, tokenPage);
  return server.app.inject({
    method: 'POST',
    url,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: form({ ...values, _csrf: token }),
  });
}
const drafts = async () => server.database.db.selectFrom('assessment_drafts').selectAll().where('person_id', '=', personId).execute();
/** The value a form field shows (input value or textarea content). */
const fieldValue = (html: string, name: string) =>
  new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(html)?.[1] ??
  new RegExp(`name="${name}"[^>]*>([^<]*)</textarea>`).exec(html)?.[1]?.trim();

before(async () => {
  server = await startTestServer({ people: 2000, seed: 3 });
  const db = server.database.db;
  personId = (await db.selectFrom('users').select('person_id').where('username', '=', 'citizen').executeTakeFirstOrThrow()).person_id!;
  const me = await db
    .selectFrom('users')
    .select(['organisation_id', 'practitioner_id'])
    .where('username', '=', 'practitioner')
    .executeTakeFirstOrThrow();
  const colleague = await db
    .selectFrom('practitioners')
    .select('id')
    .where('organisation_id', '=', me.organisation_id!)
    .where('id', '<>', me.practitioner_id!)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  await createAccount(db, {
    username: 'tio-colleague',
    displayName: 'Colleague',
    role: 'practitioner',
    password: DEMO_PASSWORD,
    practitionerId: colleague.id,
    organisationId: me.organisation_id!,
  });
  const stranger = await sql<{ id: string; organisation_id: string }>`
    select pr.id, pr.organisation_id from practitioners pr join organisations o on o.id = pr.organisation_id
    where not exists (select 1 from record_links l join source_records s on s.id = l.source_record_id where l.person_id = ${personId} and l.superseded_at is null and s.source = o.source_code)
      and not exists (select 1 from care_relationships r where r.person_id = ${personId} and r.organisation_id = o.id and r.ended_at is null)
    order by pr.id limit 1`.execute(db);
  await createAccount(db, {
    username: 'tio-stranger',
    displayName: 'Stranger',
    role: 'practitioner',
    password: DEMO_PASSWORD,
    practitionerId: stranger.rows[0]!.id,
    organisationId: stranger.rows[0]!.organisation_id,
  });
  for (const u of ['citizen', 'practitioner', 'tio-colleague', 'tio-stranger', 'manager']) cookies[u] = await signIn(server.app, u);
});

after(async () => {
  await server?.close();
});

describe('tell it once', () => {
  test('every question asked in more than one assessment is prefilled from earlier answers, unless it is about a single day', () => {
    // "How happy / anxious did you feel yesterday?" is about one day: an earlier answer is not this one.
    const askedFresh = new Set(['ons-happy', 'ons-anxious']);
    const seen = new Map<string, string[]>();
    for (const q of shippedQuestionnaires) {
      for (const { item } of flattenItems(q.item)) if (isQuestion(item)) seen.set(item.linkId, [...(seen.get(item.linkId) ?? []), q.id]);
    }
    const missing: string[] = [];
    for (const q of shippedQuestionnaires) {
      for (const { item } of flattenItems(q.item)) {
        if (!isQuestion(item) || (seen.get(item.linkId)?.length ?? 0) < 2 || askedFresh.has(item.linkId)) continue;
        if (!extensionOf(item, EXT.prefill)) missing.push(`${q.id}: ${item.linkId}`);
      }
    }
    assert.deepEqual(missing, []);
    const matters = flattenItems(shippedQuestionnaires.find((q) => q.id === 'md-assessment')!.item).find(
      (f) => f.item.linkId === 'matters',
    )!.item;
    assert.equal(extensionOf(matters, EXT.prefill)?.valueExpression?.expression, 'about-me:what_matters');
  });

  test('"about me" prefills "what matters most", only while the person shares it', async () => {
    const wrote = await post(
      cookies.citizen!,
      '/my-record/about-me',
      { what_matters: 'Getting back to my allotment', how_to_support: 'Call in the morning' },
      '/my-record/about-me',
    );
    assert.equal(wrote.statusCode, 302);
    const shared = await post(
      cookies.citizen!,
      '/my-record/sharing',
      { decision: 'permit', category: 'about_me', recipient: 'network', purposes: ['direct_care', 'care_coordination'] },
      '/my-record/sharing',
    );
    assert.equal(shared.statusCode, 302);
    const page = await get(`/people/${personId}/assessments/md-assessment`, cookies.practitioner!);
    assert.equal(page.statusCode, 200);
    assert.equal(fieldValue(page.body, 'q-matters'), 'Getting back to my allotment');
    assert.match(page.body, /in the person&#39;s own words|in the person's own words/);

    const refused = await post(
      cookies.citizen!,
      '/my-record/sharing',
      { decision: 'deny', category: 'about_me', recipient: 'network', purposes: ['direct_care', 'care_coordination'] },
      '/my-record/sharing',
    );
    assert.equal(refused.statusCode, 302);
    const withheld = await get(`/people/${personId}/assessments/md-assessment`, cookies.practitioner!);
    assert.ok(!withheld.body.includes('Getting back to my allotment'), 'not offered once the person stops sharing it');
  });

  test('earlier answers prefill the same question in another assessment, and reuse is counted', async () => {
    const db = server.database.db;
    const first = await post(
      cookies.practitioner!,
      ons4(),
      { 'q-ons-life-satisfaction': '7', 'q-ons-worthwhile': '8', 'q-ons-happy': '6', 'q-ons-anxious': '3' },
      ons4(),
    );
    assert.equal(first.statusCode, 302);
    const carers = await get(`/people/${personId}/assessments/carers-assessment`, cookies.practitioner!);
    assert.equal(carers.statusCode, 200);
    assert.equal(fieldValue(carers.body, 'q-ons-life-satisfaction'), '7', 'asked in the carers assessment too: prefilled');
    assert.equal(fieldValue(carers.body, 'q-ons-worthwhile'), '8');
    const again = await get(ons4(), cookies.practitioner!);
    assert.equal(fieldValue(again.body, 'q-ons-life-satisfaction'), '7');
    assert.equal(fieldValue(again.body, 'q-ons-happy') ?? '', '', '"yesterday" is asked afresh');
    const second = await post(
      cookies.practitioner!,
      ons4(),
      { 'q-ons-life-satisfaction': '7', 'q-ons-worthwhile': '6', 'q-ons-happy': '5', 'q-ons-anxious': '4' },
      ons4(),
    );
    assert.equal(second.statusCode, 302);
    const latest = await db
      .selectFrom('questionnaire_responses')
      .select(['items_answered', 'items_reused', 'items_asked', 'items_changed'])
      .where('person_id', '=', personId)
      .where('questionnaire_id', '=', 'ons4-wellbeing')
      .orderBy('authored_at', 'desc')
      .executeTakeFirstOrThrow();
    assert.deepEqual({ ...latest }, { items_answered: 4, items_reused: 1, items_asked: 3, items_changed: 1 });
  });

  test('the outcomes page says, place-wide, how many answers were reused and how many asked again', async () => {
    const rows = await sql<{ answered: number; reused: number; asked: number; people: number }>`
      select sum(items_answered)::int as answered, sum(items_reused)::int as reused, sum(items_asked)::int as asked, count(distinct person_id)::int as people
      from questionnaire_responses group by questionnaire_id`.execute(server.database.db);
    const shown = rows.rows.filter((r) => r.people >= 5);
    const total = (k: 'answered' | 'reused' | 'asked') => shown.reduce((n, r) => n + Number(r[k]), 0).toLocaleString('en-GB');
    const page = await get('/outcomes', cookies.manager!);
    assert.equal(page.statusCode, 200);
    assert.ok(
      page.body.includes(
        `Of ${total('answered')} answers, ${total('reused')} were reused from what people had told us before, and ${total('asked')} were asked again.`,
      ),
      'the place-wide sentence',
    );
  });
});

describe('assessment drafts', () => {
  test('answers are kept as a draft; after the session times out the practitioner signs in again and carries on', async () => {
    const db = server.database.db;
    const saved = await post(cookies.practitioner!, `${ons4()}/draft`, { 'q-ons-life-satisfaction': '9', 'q-ons-happy': '2' }, ons4(), {
      accept: 'application/json',
    });
    assert.equal(saved.statusCode, 200);
    assert.match(saved.json().text, /^Draft saved at \d\d:\d\d$/);
    assert.equal((await drafts()).length, 1);

    // The session times out before the assessment is saved.
    const userId = (await db.selectFrom('users').select('id').where('username', '=', 'practitioner').executeTakeFirstOrThrow()).id;
    await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
    const lost = await server.app.inject({
      method: 'POST',
      url: ons4(),
      headers: { cookie: cookies.practitioner!, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ 'q-ons-life-satisfaction': '9' }),
    });
    assert.notEqual(lost.statusCode, 302, 'nothing is saved without a session');

    cookies.practitioner = await signIn(server.app, 'practitioner');
    const back = await get(ons4(), cookies.practitioner);
    assert.match(back.body, /You are carrying on from your draft saved on/);
    assert.equal(fieldValue(back.body, 'q-ons-life-satisfaction'), '9');
    assert.equal(fieldValue(back.body, 'q-ons-happy'), '2');

    // Saving the assessment ends the draft.
    const done = await post(
      cookies.practitioner,
      ons4(),
      { 'q-ons-life-satisfaction': '9', 'q-ons-worthwhile': '7', 'q-ons-happy': '2', 'q-ons-anxious': '5' },
      ons4(),
    );
    assert.equal(done.statusCode, 302);
    assert.equal((await drafts()).length, 0);
  });

  test('"Save and come back later" without a script, and a form sent back with mistakes, both keep a draft', async () => {
    const later = await post(cookies.practitioner!, `${ons4()}/draft`, { 'q-ons-worthwhile': '3' }, ons4());
    assert.equal(later.statusCode, 302);
    assert.match(String(later.headers.location), /done=draft/);
    const banner = await get(String(later.headers.location), cookies.practitioner!);
    assert.match(banner.body, /Your answers are saved as a draft/);
    const discard = await post(cookies.practitioner!, `${ons4()}/draft/discard`, {}, ons4());
    assert.equal(discard.statusCode, 302);
    assert.equal((await drafts()).length, 0);

    const bad = await post(cookies.practitioner!, ons4(), { 'q-ons-life-satisfaction': '11', 'q-ons-worthwhile': '4' }, ons4());
    assert.equal(bad.statusCode, 400);
    const [draft] = await drafts();
    assert.deepEqual(draft?.answers, { 'ons-life-satisfaction': '11', 'ons-worthwhile': '4' });
  });

  test("a draft is its author's alone: a colleague, a stranger, the person and a manager neither see nor write it", async () => {
    const before = await drafts();
    const colleague = await get(ons4(), cookies['tio-colleague']!);
    assert.equal(colleague.statusCode, 200);
    assert.doesNotMatch(colleague.body, /carrying on from your draft/);
    assert.notEqual(fieldValue(colleague.body, 'q-ons-life-satisfaction'), '11');
    const strangerWrite = await post(cookies['tio-stranger']!, `${ons4()}/draft`, { 'q-ons-life-satisfaction': '1' }, '/home');
    assert.equal(strangerWrite.statusCode, 403);
    assert.equal((await get(ons4(), cookies['tio-stranger']!)).statusCode, 403);
    assert.equal((await post(cookies.citizen!, `${ons4()}/draft`, { 'q-ons-life-satisfaction': '1' }, '/home')).statusCode, 403);
    assert.equal((await post(cookies.manager!, `${ons4()}/draft`, { 'q-ons-life-satisfaction': '1' }, '/outcomes')).statusCode, 403);
    // A colleague's discard touches only their own (absent) draft.
    await post(cookies['tio-colleague']!, `${ons4()}/draft/discard`, {}, ons4());
    assert.deepEqual(await drafts(), before);
  });
});
