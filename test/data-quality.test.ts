// Issue 21 for the data-quality officer, over HTTP: the review queue and its items name agencies,
// say comparisons in words and write dates as people do; a refused decision shows the form again;
// a decided item is a read-only record of who decided what and when; the two people of an item
// can be merged from a confirmation page and the merge undone from the merge history; and none
// of it opens a person page. The privacy officer's review form keeps what was typed, too.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startTestServer, signIn, csrfTokenFor, type TestServer } from './support/server.ts';
import { lateRecordsInReview, type ReviewFixture } from './support/linkage.ts';

const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

describe("the data-quality officer's review jobs (issue 21)", () => {
  let server: TestServer;
  let reviewer: string;
  let agencyName: string;
  const items: ReviewFixture[] = [];
  before(async () => {
    server = await startTestServer();
    const db = server.database.db;
    agencyName = (await db.selectFrom('organisations').select('name').where('source_code', '=', 'HA01').executeTakeFirstOrThrow()).name;
    items.push(...(await lateRecordsInReview(db, 4, 'dq-late')));
    reviewer = await signIn(server.app, 'dataquality');
  });
  after(async () => {
    await server?.close();
  });

  const get = (cookie: string, url: string) => server.app.inject({ method: 'GET', url, headers: { cookie } });
  const post = async (cookie: string, url: string, fields: Record<string, string>, tokenUrl = '/linkage/review') => {
    const token = await csrfTokenFor(server.app, cookie, tokenUrl);
    return server.app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token, ...fields }).toString(),
    });
  };

  test('the queue and an item name the agency, say each comparison in words and write dates as people do', async () => {
    const queue = await get(reviewer, '/linkage/review');
    assert.equal(queue.statusCode, 200);
    assert.ok(queue.body.includes(agencyName), 'the agency by its name');
    assert.ok(!/>\s*HA01\s*</.test(queue.body), 'not by its code');
    const item = await get(reviewer, `/linkage/review/${items[0]!.reviewId}`);
    assert.equal(item.statusCode, 200);
    const text = textOf(item.body);
    assert.ok(text.includes(`Record held by ${agencyName}`));
    const year = items[0]!.fields.birth_date.slice(0, 4);
    assert.ok(text.includes(`1 January ${year}`), 'the date of birth written out');
    assert.ok(!text.includes(`${year}-01-01`), 'not as an ISO date');
    const weights = /Weight of each field[\s\S]*?<\/table>/.exec(item.body)?.[0] ?? '';
    assert.ok(weights, 'the weights table');
    assert.doesNotMatch(weights, />\s*(else|null|exact|jaro[^<]*|damerau[^<]*)\s*</, 'no comparison level codes');
    assert.match(textOf(weights), /Same|Different|Not given on one side|similar/);
  });

  test('"Not the same person" without a reason shows the form again with an error summary', async () => {
    const { reviewId } = items[1]!;
    const response = await post(reviewer, `/linkage/review/${reviewId}`, { decision: 'different', reason: '' });
    assert.equal(response.statusCode, 400);
    assert.ok(response.body.includes('There is a problem'), 'an error summary');
    assert.match(response.body, /href="#reason"/);
    assert.ok(response.body.includes('Give a reason why these are not the same person'));
    assert.ok(
      response.body.includes('Are these the same person?') && response.body.includes('joinery-compare'),
      'the item is still there to decide',
    );
    assert.match(response.body, /<title>Error: /);
    const row = await server.database.db
      .selectFrom('linkage_reviews')
      .select('status')
      .where('id', '=', reviewId)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, 'open', 'nothing decided');
  });

  test("a decided item is shown read-only: who decided what, when and why, and nobody's details", async () => {
    const { reviewId, fields } = items[1]!;
    const decided = await post(reviewer, `/linkage/review/${reviewId}`, {
      decision: 'different',
      reason: 'Different middle initial on the housing file',
    });
    assert.equal(decided.statusCode, 303);
    const page = await get(reviewer, `/linkage/review/${reviewId}`);
    assert.equal(page.statusCode, 200, 'not 403');
    const text = textOf(page.body);
    const reviewerName = (
      await server.database.db.selectFrom('users').select('display_name').where('username', '=', 'dataquality').executeTakeFirstOrThrow()
    ).display_name;
    assert.ok(text.includes('Decided: not the same person'));
    assert.ok(text.includes(reviewerName), 'who decided');
    assert.ok(text.includes('Different middle initial on the housing file'), 'why');
    assert.match(
      text,
      /\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December) \d{4} at \d{1,2}:\d{2}(am|pm)/,
      'when',
    );
    assert.ok(text.includes(agencyName));
    assert.ok(!text.includes(fields.family_name), 'neither person is shown once decided');
    assert.ok(!page.body.includes('<form method="post" action="/linkage/review/'), 'no decision form');
    assert.match(String(decided.headers.location), new RegExp(`item=${reviewId}`));
    const queue = await get(reviewer, String(decided.headers.location));
    assert.ok(queue.body.includes(`href="/linkage/review/${reviewId}"`), 'the success banner links to the decided item');
  });

  test('the two people of an item are merged from a confirmation page, and the merge undone from the merge history', async () => {
    const db = server.database.db;
    const { reviewId, sourceRecordId, personId: current } = items[2]!;
    const review = await db
      .selectFrom('linkage_reviews')
      .select('candidate_person_id')
      .where('id', '=', reviewId)
      .executeTakeFirstOrThrow();
    const candidate = review.candidate_person_id;
    // The person the record is linked to has another agency's record too: "Same person" would leave it behind.
    const other = await db
      .insertInto('source_records')
      .values({ source: 'HOUS', source_id: `dq-other-${reviewId}`, fields: items[2]!.fields })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('record_links')
      .values({ source_record_id: other.id, person_id: current, method: 'test_fixture', match_probability: 1, superseded_at: null })
      .execute();
    const names = new Map(
      (await db.selectFrom('persons').select(['id', 'given_name', 'family_name']).where('id', 'in', [current, candidate]).execute()).map(
        (p) => [p.id, `${p.given_name} ${p.family_name}`],
      ),
    );

    const item = await get(reviewer, `/linkage/review/${reviewId}`);
    assert.ok(item.body.includes(`href="/linkage/review/${reviewId}/merge"`), 'the item offers a merge');
    const confirm = await get(reviewer, `/linkage/review/${reviewId}/merge`);
    assert.equal(confirm.statusCode, 200);
    const confirmText = textOf(confirm.body);
    assert.ok(confirmText.includes(`Merge ${names.get(current)} into ${names.get(candidate)}?`), 'the confirmation names both people');
    const held = (
      await sql<{ n: number }>`select count(*)::int as n from record_links where person_id = ${current} and superseded_at is null`.execute(
        db,
      )
    ).rows[0]!.n;
    assert.ok(
      confirmText.includes(`all ${held} agency records linked to ${names.get(current)} will be linked to ${names.get(candidate)}`),
      'and says what will happen',
    );
    assert.ok(confirmText.includes('can be undone'));

    const noReason = await post(reviewer, `/linkage/review/${reviewId}/merge`, { reason: '' });
    assert.equal(noReason.statusCode, 400);
    assert.ok(noReason.body.includes('There is a problem') && noReason.body.includes('href="#reason"'));
    assert.equal(
      (await db.selectFrom('person_merges').select('id').where('review_id', '=', reviewId).execute()).length,
      0,
      'nothing merged',
    );

    const merged = await post(reviewer, `/linkage/review/${reviewId}/merge`, {
      reason: 'Same tenancy, same date of birth on the GP record',
    });
    assert.equal(merged.statusCode, 303);
    const mergeUrl = String(merged.headers.location);
    assert.match(mergeUrl, /^\/linkage\/merges\/\d+\?done=merged$/);
    const mergeId = Number(/merges\/(\d+)/.exec(mergeUrl)![1]);
    const links = await db
      .selectFrom('record_links')
      .select(['source_record_id', 'person_id'])
      .where('source_record_id', 'in', [sourceRecordId, other.id])
      .where('superseded_at', 'is', null)
      .execute();
    assert.deepEqual(
      links.map((l) => l.person_id),
      [candidate, candidate],
      'both records moved to the candidate',
    );
    assert.equal(
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from record_links where person_id = ${current} and superseded_at is null`.execute(db)
      ).rows[0]!.n,
      0,
      'every record of theirs moved',
    );
    assert.equal(
      (await db.selectFrom('linkage_reviews').select('status').where('id', '=', reviewId).executeTakeFirstOrThrow()).status,
      'same',
    );
    const success = textOf((await get(reviewer, mergeUrl)).body);
    assert.ok(success.includes(`${names.get(current)} is merged into ${names.get(candidate)}`), 'a success banner naming both');

    const history = await get(reviewer, `/linkage/people/${candidate}/merges`);
    assert.equal(history.statusCode, 200);
    assert.ok(history.body.includes(`href="/linkage/merges/${mergeId}/undo"`), "the person's merge history offers to undo it");
    const undo = await get(reviewer, `/linkage/merges/${mergeId}/undo`);
    assert.ok(textOf(undo.body).includes(`Undo the merge of ${names.get(current)} into ${names.get(candidate)}?`));
    const undoNoReason = await post(reviewer, `/linkage/merges/${mergeId}/undo`, { reason: '' });
    assert.equal(undoNoReason.statusCode, 400);
    assert.ok(undoNoReason.body.includes('There is a problem'));
    const undone = await post(reviewer, `/linkage/merges/${mergeId}/undo`, { reason: 'The GP record was a namesake' });
    assert.equal(undone.statusCode, 303);
    assert.ok(textOf((await get(reviewer, String(undone.headers.location))).body).includes(`Merge ${mergeId} undone`));
    const back = await db
      .selectFrom('record_links')
      .select('person_id')
      .where('source_record_id', '=', other.id)
      .where('superseded_at', 'is', null)
      .executeTakeFirstOrThrow();
    assert.equal(back.person_id, current, 'the other record is back with the person it was linked to');
    const decidedItem = textOf((await get(reviewer, `/linkage/review/${reviewId}`)).body);
    assert.ok(decidedItem.includes(`See merge ${mergeId}`), 'the decided item links to its merge');
  });

  test('merging never opens a person page, and only data-quality officers may merge', async () => {
    const db = server.database.db;
    const { reviewId, personId: current } = items[3]!;
    const review = await db
      .selectFrom('linkage_reviews')
      .select('candidate_person_id')
      .where('id', '=', reviewId)
      .executeTakeFirstOrThrow();
    const other = await db
      .insertInto('source_records')
      .values({ source: 'HOUS', source_id: `dq-other-${reviewId}`, fields: items[3]!.fields })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('record_links')
      .values({ source_record_id: other.id, person_id: current, method: 'test_fixture', match_probability: 1, superseded_at: null })
      .execute();
    const practitioner = await signIn(server.app, 'practitioner');
    const refused = await post(practitioner, `/linkage/review/${reviewId}/merge`, { reason: 'trying' }, '/home');
    assert.equal(refused.statusCode, 403, 'a practitioner cannot merge');
    assert.equal((await get(practitioner, `/linkage/review/${reviewId}/merge`)).statusCode, 403);
    const merged = await post(reviewer, `/linkage/review/${reviewId}/merge`, { reason: 'One person registered twice' });
    assert.equal(merged.statusCode, 303);
    for (const person of [review.candidate_person_id, current]) {
      assert.equal((await get(reviewer, `/people/${person}`)).statusCode, 403, 'the reviewer still cannot open the person page');
      assert.equal((await get(reviewer, `/people/${person}/plan`)).statusCode, 403);
    }
    const stranger = (
      await sql<{
        id: string;
      }>`select id from persons p where merged_into is null and not exists (select 1 from person_merges m where m.survivor_id = p.id or m.merged_id = p.id)
      and not exists (select 1 from linkage_reviews r where r.candidate_person_id = p.id) order by id limit 1`.execute(db)
    ).rows[0]!;
    assert.equal(
      (await get(reviewer, `/linkage/people/${stranger.id}/merges`)).statusCode,
      403,
      'nor the merge history of someone outside the queue and its merges',
    );
  });

  test('a decision, merge or undo form with problems links the reason, keeps what was typed and changes nothing; from someone who may not review it is refused without the names', async () => {
    const db = server.database.db;
    const [fixture] = await lateRecordsInReview(db, 1, 'dq-forms');
    const { reviewId, personId: current, fields } = fixture!;
    // Another agency's record of the same person, so the two people of the item may be merged.
    const other = await db
      .insertInto('source_records')
      .values({ source: 'HOUS', source_id: `dq-forms-other-${reviewId}`, fields })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('record_links')
      .values({ source_record_id: other.id, person_id: current, method: 'test_fixture', match_probability: 1, superseded_at: null })
      .execute();
    const status = async () =>
      (await db.selectFrom('linkage_reviews').select('status').where('id', '=', reviewId).executeTakeFirstOrThrow()).status;
    const merges = async () => (await db.selectFrom('person_merges').select('id').where('review_id', '=', reviewId).execute()).length;
    // Longer than the record keeps: it was cut short and saved without a word.
    const long = `${'The dates of birth differ by a year. '.repeat(14)}The end.`;

    const tooLong = await post(reviewer, `/linkage/review/${reviewId}`, { decision: 'different', reason: long });
    assert.equal(tooLong.statusCode, 400);
    assert.ok(tooLong.body.includes('href="#reason"') && tooLong.body.includes('Write the reason in 500 characters or fewer'));
    assert.ok(tooLong.body.includes(`${long}</textarea>`), 'the reason as typed is kept');
    const noChoice = await post(reviewer, `/linkage/review/${reviewId}`, { reason: 'Typed before choosing' });
    assert.equal(noChoice.statusCode, 400);
    assert.ok(noChoice.body.includes('href="#reason"'), 'a missing choice links to the box just above the buttons');
    assert.ok(noChoice.body.includes('Typed before choosing</textarea>'));
    assert.equal(await status(), 'open', 'nothing decided');

    const mergeTooLong = await post(reviewer, `/linkage/review/${reviewId}/merge`, { reason: long });
    assert.equal(mergeTooLong.statusCode, 400);
    assert.ok(mergeTooLong.body.includes('href="#reason"') && mergeTooLong.body.includes(`${long}</textarea>`));
    assert.equal(await merges(), 0, 'nothing merged');
    assert.equal(await status(), 'open');

    // Someone who may not review identities sends the same bad forms: refused before any name is drawn.
    const candidate = (
      await db.selectFrom('linkage_reviews').select('candidate_person_id').where('id', '=', reviewId).executeTakeFirstOrThrow()
    ).candidate_person_id;
    const names = (
      await db.selectFrom('persons').select(['given_name', 'family_name']).where('id', 'in', [current, candidate]).execute()
    ).map((p) => `${p.given_name} ${p.family_name}`);
    const practitioner = await signIn(server.app, 'practitioner');
    for (const [url, values] of [
      [`/linkage/review/${reviewId}`, { decision: 'different', reason: '' }],
      [`/linkage/review/${reviewId}/merge`, { reason: '' }],
    ] as const) {
      const refused = await post(practitioner, url, values, '/home');
      assert.equal(refused.statusCode, 403, url);
      for (const name of names) assert.ok(!refused.body.includes(name), `${url} does not name ${name}`);
    }

    const merged = await post(reviewer, `/linkage/review/${reviewId}/merge`, { reason: 'Same tenancy and GP' });
    assert.equal(merged.statusCode, 303);
    const mergeId = Number(/merges\/(\d+)/.exec(String(merged.headers.location))![1]);
    const undoTooLong = await post(reviewer, `/linkage/merges/${mergeId}/undo`, { reason: long });
    assert.equal(undoTooLong.statusCode, 400);
    assert.ok(undoTooLong.body.includes('href="#reason"') && undoTooLong.body.includes(`${long}</textarea>`));
    const refusedUndo = await post(practitioner, `/linkage/merges/${mergeId}/undo`, { reason: '' }, '/home');
    assert.equal(refusedUndo.statusCode, 403);
    for (const name of names) assert.ok(!refusedUndo.body.includes(name));
    const stillMerged = await db.selectFrom('person_merges').select('unmerged_at').where('id', '=', mergeId).executeTakeFirstOrThrow();
    assert.equal(stillMerged.unmerged_at, null, 'not undone');
  });

  test("the privacy officer's review form without an answer shows the form again with an error summary, keeping the note", async () => {
    const db = server.database.db;
    const practitionerUser = await db
      .selectFrom('users')
      .select(['organisation_id'])
      .where('username', '=', 'practitioner')
      .executeTakeFirstOrThrow();
    const stranger = (
      await sql<{ id: string }>`
      select p.id from persons p where merged_into is null
        and not exists (select 1 from care_relationships r where r.person_id = p.id and r.organisation_id = ${practitionerUser.organisation_id})
        and not exists (select 1 from record_links l join source_records s on s.id = l.source_record_id join organisations o on o.source_code = s.source
                        where l.person_id = p.id and l.superseded_at is null and o.id = ${practitionerUser.organisation_id})
      order by p.id limit 1`.execute(db)
    ).rows[0]!;
    const practitioner = await signIn(server.app, 'practitioner');
    const opened = await post(
      practitioner,
      `/people/${stranger.id}/break-glass`,
      { reason: 'Found collapsed at the bus station' },
      '/home',
    );
    assert.equal(opened.statusCode, 302);
    const grant = await db.selectFrom('break_glass_grants').select('id').where('person_id', '=', stranger.id).executeTakeFirstOrThrow();
    const privacy = await signIn(server.app, 'privacy');
    const response = await post(privacy, `/privacy/break-glass/${grant.id}`, { note: 'Spoke to the duty manager' }, '/privacy');
    assert.equal(response.statusCode, 400);
    assert.ok(response.body.includes('There is a problem'), 'an error summary, not a dead end');
    assert.match(response.body, new RegExp(`href="#outcome-${grant.id}"`));
    assert.ok(response.body.includes('Spoke to the duty manager'), 'the note typed is kept');
    assert.ok(response.body.includes('Found collapsed at the bus station'), 'the emergency access is still there to review');
    const row = await db.selectFrom('break_glass_grants').select('reviewed_at').where('id', '=', grant.id).executeTakeFirstOrThrow();
    assert.equal(row.reviewed_at, null, 'nothing reviewed');
  });
});
