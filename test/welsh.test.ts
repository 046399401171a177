// Resident pages in Welsh over HTTP: choosing Cymraeg is remembered, the browser's language is the
// default, pages say lang="cy" and are in Welsh (dates too), error pages are Welsh, and
// professionals' pages stay English whatever the cookie says.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { csrfTokenFor, startTestServer, signIn, type TestServer } from './support/server.ts';
import { DEMO_PASSWORD } from '../src/demo/accounts.ts';
import { createAccount } from '../src/auth/accounts.ts';
import { catalogue } from '../src/platform/i18n/index.ts';
import { defaultOperatingModels } from '../src/plans/models.ts';

describe('resident pages in Welsh', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ people: 600, seed: 11 });
  });
  after(async () => {
    await server?.close();
  });

  const htmlLang = (body: string) => /<html lang="([^"]+)"/.exec(body)?.[1];
  const heading = (body: string) => /<h1[^>]*>([\s\S]*?)<\/h1>/.exec(body)?.[1]?.trim();

  test('?lang=cy turns the sign-in page Welsh and is remembered in a cookie; ?lang=en turns it back', async () => {
    const chosen = await server.app.inject({ method: 'GET', url: '/sign-in?lang=cy' });
    assert.equal(chosen.statusCode, 200);
    assert.equal(htmlLang(chosen.body), 'cy');
    assert.equal(chosen.headers['content-language'], 'cy');
    assert.equal(heading(chosen.body), 'Mewngofnodi i Joinery');
    assert.match(chosen.body, /<title>Mewngofnodi – Joinery<\/title>/);
    assert.match(chosen.body, /Neidio i&#39;r prif gynnwys/, 'the skip link');
    assert.match(chosen.body, /href="\/sign-in\?lang=en" hreflang="en"/, 'a link back to English');
    const cookie = chosen.cookies.find((c) => c.name === 'joinery_lang');
    assert.equal(cookie?.value, 'cy');
    assert.equal(cookie?.httpOnly, true);
    assert.ok((cookie?.maxAge ?? 0) > 30 * 86_400, 'kept for more than a visit');

    const later = await server.app.inject({ method: 'GET', url: '/sign-in', headers: { cookie: 'joinery_lang=cy' } });
    assert.equal(heading(later.body), 'Mewngofnodi i Joinery', 'the cookie keeps the choice');
    const back = await server.app.inject({ method: 'GET', url: '/sign-in?lang=en', headers: { cookie: 'joinery_lang=cy' } });
    assert.equal(htmlLang(back.body), 'en');
    assert.equal(heading(back.body), 'Sign in to Joinery');
    assert.equal(back.cookies.find((c) => c.name === 'joinery_lang')?.value, 'en');
  });

  test("without a choice, the browser's language decides; a cookie with nonsense in it is ignored", async () => {
    const welsh = await server.app.inject({ method: 'GET', url: '/sign-in', headers: { 'accept-language': 'cy-GB,cy;q=0.9,en;q=0.8' } });
    assert.equal(htmlLang(welsh.body), 'cy');
    assert.equal(
      welsh.cookies.find((c) => c.name === 'joinery_lang'),
      undefined,
      'nothing is stored until the resident chooses',
    );
    const english = await server.app.inject({ method: 'GET', url: '/sign-in', headers: { 'accept-language': 'fr, de;q=0.5' } });
    assert.equal(htmlLang(english.body), 'en');
    const odd = await server.app.inject({
      method: 'GET',
      url: '/sign-in',
      headers: { cookie: 'joinery_lang="><script>', 'accept-language': 'en' },
    });
    assert.equal(htmlLang(odd.body), 'en');
    assert.doesNotMatch(odd.body, /"><script>/);
  });

  test("a citizen's home page and record are in Welsh, with Welsh dates", async () => {
    const cookie = await signIn(server.app, 'citizen');
    const home = await server.app.inject({ method: 'GET', url: '/home', headers: { cookie: `${cookie}; joinery_lang=cy` } });
    assert.equal(home.statusCode, 200);
    assert.equal(htmlLang(home.body), 'cy');
    assert.match(heading(home.body) ?? '', /^Helo, /);
    assert.match(home.body, /Eich manylion/);
    assert.match(home.body, /Pwy sydd wedi edrych ar eich cofnod/);
    assert.match(home.body, /Allgofnodi/);
    assert.match(
      home.body,
      /\d{1,2} (Ionawr|Chwefror|Mawrth|Ebrill|Mai|Mehefin|Gorffennaf|Awst|Medi|Hydref|Tachwedd|Rhagfyr) \d{4}/,
      'a date written in Welsh',
    );
    assert.doesNotMatch(
      home.body,
      /\d{1,2} (January|February|March|April|June|July|August|September|October|November|December) \d{4}/,
      'no English dates',
    );

    const self = await server.app.inject({ method: 'GET', url: '/my-record', headers: { cookie: `${cookie}; joinery_lang=cy` } });
    const record = await server.app.inject({
      method: 'GET',
      url: self.headers.location as string,
      headers: { cookie: `${cookie}; joinery_lang=cy` },
    });
    assert.equal(record.statusCode, 200);
    assert.match(record.body, /Eich cofnod/);
    assert.match(record.body, /Pwy sydd wedi edrych/);
    assert.match(record.body, /Lawrlwytho eich cofnod \(JSON\)/);
  });

  test('error pages are Welsh for a resident who chose Welsh', async () => {
    const missing = await server.app.inject({ method: 'GET', url: '/no-such-page', headers: { cookie: 'joinery_lang=cy' } });
    assert.equal(missing.statusCode, 404);
    assert.equal(htmlLang(missing.body), 'cy');
    assert.equal(heading(missing.body), 'Heb ddod o hyd i&#39;r dudalen');
    assert.match(missing.body, /Mynd i&#39;r dechrau/);
    const cookie = await signIn(server.app, 'citizen');
    const refused = await server.app.inject({ method: 'GET', url: '/search', headers: { cookie: `${cookie}; joinery_lang=cy` } });
    assert.equal(refused.statusCode, 403);
    assert.equal(heading(refused.body), 'Nid oes gennych fynediad at hyn');
    assert.match(refused.body, /Nid yw eich rôl yn rhoi mynediad i&#39;r dudalen hon\./);
  });

  test("a resident's account and notification choices are in Welsh, errors and all", async () => {
    const cookie = `${await signIn(server.app, 'citizen')}; joinery_lang=cy`;
    const account = await server.app.inject({ method: 'GET', url: '/account', headers: { cookie } });
    assert.equal(heading(account.body), 'Eich cyfrif');
    assert.match(account.body, /Preswylydd/);
    const token = await csrfTokenFor(server.app, cookie, '/account');
    const bad = await server.app.inject({
      method: 'POST',
      url: '/account',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token, email: 'not an address', mobile: '' }).toString(),
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Mae problem wedi codi/);
    assert.match(bad.body, /Rhowch gyfeiriad e-bost yn y fformat cywir/);
    assert.match(bad.body, /value="not an address"/, 'what was typed is kept');
    const saved = await server.app.inject({
      method: 'POST',
      url: '/account',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        _csrf: token,
        email: 'preswylydd@example.net',
        mobile: '',
        currentPassword: DEMO_PASSWORD,
      }).toString(),
    });
    assert.equal(saved.statusCode, 302);
    const after = await server.app.inject({ method: 'GET', url: saved.headers.location as string, headers: { cookie } });
    assert.match(after.body, /Mae eich manylion cyswllt wedi&#39;u cadw/, 'the success banner');
    assert.match(after.body, /Llwyddiant/);
    const notifications = await server.app.inject({ method: 'GET', url: '/account/notifications', headers: { cookie } });
    assert.equal(heading(notifications.body), 'Hysbysiadau');
    assert.match(notifications.body, /Neges destun/);
    assert.match(notifications.body, /Un neges y dydd, am \d{1,2}:00, os digwyddodd rhywbeth/);
    assert.match(notifications.body, /Neges newydd/);
  });

  test('asking for a correction and giving feedback work in Welsh, refusals of bad input included', async () => {
    const cookie = `${await signIn(server.app, 'citizen')}; joinery_lang=cy`;
    const page = await server.app.inject({ method: 'GET', url: '/my-record/corrections', headers: { cookie } });
    assert.equal(heading(page.body), 'Gofyn am gywiriad');
    const token = await csrfTokenFor(server.app, cookie, '/my-record/corrections');
    const bad = await server.app.inject({
      method: 'POST',
      url: '/my-record/corrections',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token, organisation: '', item: '', wrong: '' }).toString(),
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Dewiswch y gwasanaeth sy&#39;n cadw&#39;r wybodaeth/);
    assert.match(bad.body, /Dywedwch beth sy&#39;n anghywir, mewn hyd at 2,000 nod/);
    const feedback = await server.app.inject({ method: 'GET', url: '/my-record/feedback', headers: { cookie } });
    assert.equal(heading(feedback.body), 'Rhoi adborth am wasanaeth');
    assert.match(feedback.body, /Sut oedd e\? \(1 gwael, 5 da iawn\)/);
  });

  test("the public directory, signed out, in Welsh: search choices, results, errors and a service's page", async () => {
    const cookie = 'joinery_lang=cy';
    const search = await server.app.inject({ method: 'GET', url: '/services', headers: { cookie } });
    assert.equal(search.statusCode, 200);
    assert.equal(htmlLang(search.body), 'cy');
    assert.equal(heading(search.body), 'Dod o hyd i wasanaeth');
    assert.match(search.body, /Gyda beth ydych chi angen help\?/);
    assert.match(search.body, />Unrhyw angen</);
    assert.match(search.body, />Iechyd, anabledd a gofal: Eiddilwch a chwympiadau</, 'need choices built by the route, in Welsh');
    assert.match(search.body, />O fewn 5 milltir</);
    assert.match(search.body, /o wasanaethau wedi&#39;u canfod/);
    const bad = await server.app.inject({ method: 'GET', url: '/services?distance=5', headers: { cookie } });
    assert.match(bad.body, /<title>Gwall: Dod o hyd i wasanaeth – Joinery<\/title>/);
    assert.match(bad.body, /Rhowch god post i chwilio yn ôl pellter/);
    const id = /href="\/services\/([^"/?]+)"/.exec(search.body)?.[1];
    assert.ok(id, 'a result links to its service');
    const service = await server.app.inject({ method: 'GET', url: `/services/${id}`, headers: { cookie } });
    assert.equal(service.statusCode, 200);
    assert.match(service.body, /Sut i gysylltu/);
    assert.match(service.body, /Oriau agor/);
    assert.match(service.body, /(Dydd (Llun|Mawrth|Mercher|Iau|Gwener|Sadwrn|Sul)|Bob dydd)/, 'opening times in Welsh');
    assert.doesNotMatch(service.body, /Monday|Tuesday|Wednesday|Thursday|Friday|Every day/);
  });

  test('about me and communication needs are in Welsh', async () => {
    const cookie = `${await signIn(server.app, 'citizen')}; joinery_lang=cy`;
    const aboutMe = await server.app.inject({ method: 'GET', url: '/my-record/about-me', headers: { cookie } });
    assert.equal(heading(aboutMe.body), 'Amdanaf i');
    assert.match(aboutMe.body, /Beth sy&#39;n bwysig i mi/);
    const token = await csrfTokenFor(server.app, cookie, '/my-record/about-me');
    const bad = await server.app.inject({
      method: 'POST',
      url: '/my-record/about-me',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token, what_matters: '' }).toString(),
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Ysgrifennwch beth sy&#39;n bwysig i chi/);
    const needs = await server.app.inject({ method: 'GET', url: '/my-record/communication-needs', headers: { cookie } });
    assert.equal(needs.statusCode, 200);
    assert.equal(heading(needs.body), 'Anghenion cyfathrebu');
    assert.match(needs.body, />Cymraeg</, 'languages named in Welsh');
    assert.match(needs.body, /Print bras/);
  });

  test('someone not signed in asks a service for help in Welsh, and is told what is missing in Welsh', async () => {
    const search = await server.app.inject({ method: 'GET', url: '/services?self=yes', headers: { cookie: 'joinery_lang=cy' } });
    const id = /href="\/services\/([^"/?]+)"/.exec(search.body)?.[1];
    assert.ok(id, 'a service that takes self-referrals');
    const form = await server.app.inject({ method: 'GET', url: `/services/${id}/refer-yourself`, headers: { cookie: 'joinery_lang=cy' } });
    assert.equal(form.statusCode, 200);
    assert.match(heading(form.body) ?? '', /^Gofyn i .* am help$/);
    assert.match(form.body, /Amdanoch chi/);
    assert.match(form.body, />\s*Diwrnod\s*</, "the date of birth's parts are labelled in Welsh");
    assert.match(form.body, /Pa mor fuan ydych chi angen help\?/);
    const csrf = form.cookies.find((c) => c.name === 'joinery_csrf')!;
    const token = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
    const submission = /name="submission" value="([^"]+)"/.exec(form.body)![1]!;
    const bad = await server.app.inject({
      method: 'POST',
      url: `/services/${id}/refer-yourself`,
      headers: { cookie: `joinery_lang=cy; joinery_csrf=${csrf.value}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token, submission }).toString(),
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Rhowch eich enw cyntaf/);
    assert.match(bad.body, /Rhowch eich dyddiad geni/);
    assert.match(bad.body, /Dewiswch pa mor fuan rydych angen help/);
  });

  test("a resident's sharing choices page is in Welsh, and so is a refused choice", async () => {
    const cookie = `${await signIn(server.app, 'citizen')}; joinery_lang=cy`;
    const page = await server.app.inject({ method: 'GET', url: '/my-record/sharing', headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.equal(heading(page.body), 'Pwy sy&#39;n gallu gweld eich cofnod');
    assert.match(page.body, /Gwneud dewis newydd/);
    assert.match(page.body, />Fy holl wybodaeth</);
    const token = await csrfTokenFor(server.app, cookie, '/my-record/sharing');
    const bad = await server.app.inject({
      method: 'POST',
      url: '/my-record/sharing',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token, category: 'health', recipient: 'network' }).toString(),
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Dewiswch a ydych am rannu neu beidio/);
  });

  test('a resident follows their referrals in Welsh', async () => {
    const cookie = `${await signIn(server.app, 'citizen')}; joinery_lang=cy`;
    const page = await server.app.inject({ method: 'GET', url: '/my-referrals', headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.equal(heading(page.body), 'Eich atgyfeiriadau');
    assert.match(page.body, /Beth sydd wedi digwydd/, "each referral's history");
    assert.match(page.body, /<strong>Wedi&#39;i anfon<\/strong> gan /, 'its steps named in Welsh');
    assert.doesNotMatch(page.body, /What has happened|Referred by /);
  });

  test("a resident's privacy rights page is in Welsh, refusals of bad input included", async () => {
    const cookie = `${await signIn(server.app, 'citizen')}; joinery_lang=cy`;
    const page = await server.app.inject({ method: 'GET', url: '/my-record/rights', headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.equal(heading(page.body), 'Eich hawliau preifatrwydd');
    assert.match(page.body, /Ei chyfyngu/);
    const token = await csrfTokenFor(server.app, cookie, '/my-record/rights');
    const bad = await server.app.inject({
      method: 'POST',
      url: '/my-record/rights/requests',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token }).toString(),
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Dewiswch a ydych am i wybodaeth gael ei chyfyngu neu ei dileu/);
  });

  test('a resident names people who can help, in Welsh', async () => {
    const cookie = `${await signIn(server.app, 'citizen')}; joinery_lang=cy`;
    const page = await server.app.inject({ method: 'GET', url: '/my-record/informal-network', headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.equal(heading(page.body), 'Teulu, ffrindiau a chymdogion a all helpu');
    const token = await csrfTokenFor(server.app, cookie, '/my-record/informal-network');
    const added = await server.app.inject({
      method: 'POST',
      url: '/my-record/informal-network',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        _csrf: token,
        name: 'Gwen',
        kind: 'neighbour',
        contact: '07700 900 123, mornings',
        mayKnow: 'appointments',
      }).toString(),
    });
    assert.equal(added.statusCode, 302);
    const after = await server.app.inject({ method: 'GET', url: added.headers.location as string, headers: { cookie } });
    assert.match(after.body, /Maen nhw wedi&#39;u hychwanegu at eich rhwydwaith/);
    assert.match(after.body, /<li>Fy apwyntiadau<\/li>/);
    assert.match(after.body, />\s*Cymydog\s*</);
  });

  test("a resident's care network page is in Welsh", async () => {
    const cookie = `${await signIn(server.app, 'citizen')}; joinery_lang=cy`;
    const self = await server.app.inject({ method: 'GET', url: '/my-record', headers: { cookie } });
    const page = await server.app.inject({ method: 'GET', url: `${self.headers.location as string}/network`, headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.equal(heading(page.body), 'Eich rhwydwaith');
    assert.match(page.body, /Yn rhan ers/);
    assert.match(page.body, /Prif ymarferydd/);
  });

  test("a resident's personal budget page is in Welsh", async () => {
    const cookie = `${await signIn(server.app, 'citizen')}; joinery_lang=cy`;
    const page = await server.app.inject({ method: 'GET', url: '/my-record/budget', headers: { cookie } });
    assert.equal(page.statusCode, 200);
    assert.equal(heading(page.body), 'Eich cyllideb bersonol');
  });

  // Every page a citizen reaches from their home page, and a parent's pages for the child they
  // act for, read in Welsh: none may show an English message the catalogue has in Welsh.
  test('no page a resident or a proxy reaches from home shows an English message the catalogue has in Welsh', async () => {
    const english = englishMessages();
    assert.ok(english.length > 500, 'the catalogue is read');
    const gaps: string[] = [];
    const visit = async (cookie: string, url: string) => {
      const page = await server.app.inject({ method: 'GET', url, headers: { cookie } });
      assert.equal(page.statusCode, 200, `${url} answers`);
      assert.equal(htmlLang(page.body), 'cy', `${url} is a Welsh page`);
      const text = asWritten.reduce((rest, written) => rest.split(written).join(' '), pageText(page.body));
      for (const message of english) if (text.includes(message)) gaps.push(`${url}: "${message}"`);
      return page.body;
    };
    const cookie = `${await signIn(server.app, 'citizen')}; joinery_lang=cy`;
    const self = await server.app.inject({ method: 'GET', url: '/my-record', headers: { cookie } });
    const record = self.headers.location as string;
    const personId = record.split('/').pop()!;
    // A conversation of their own, so the page of one can be read.
    const token = await csrfTokenFor(server.app, cookie, '/my-record/messages');
    const sent = await server.app.inject({
      method: 'POST',
      url: '/my-record/messages',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: token, topic: 'Ymweliad dydd Iau', body: 'A allwch chi ddod yn y bore?' }).toString(),
    });
    assert.equal(sent.statusCode, 302);
    const recordPage = await visit(cookie, record);
    const referrals = await visit(cookie, '/my-referrals');
    const referral = /href="(\/referrals\/[^"/?]+)"/.exec(referrals)?.[1];
    assert.ok(referral, 'the demo citizen has a referral to open');
    const messages = await visit(cookie, '/my-record/messages');
    const thread = /href="(\/my-record\/messages\/[^"?]+)"/.exec(messages)?.[1];
    assert.ok(thread, 'a conversation to open');
    const household = /href="(\/households\/[^"]+)"/.exec(recordPage)?.[1];
    const funding = await visit(cookie, `/people/${personId}/funding`);
    const decision = /href="(\/funding\/[^"]+)"/.exec(funding)?.[1];
    assert.ok(decision, 'a funding decision to open');
    for (const url of [
      '/home',
      `/people/${personId}/plan`,
      referral,
      thread,
      '/my-record/sharing',
      '/my-record/rights',
      '/my-record/case-finding',
      '/my-record/informal-network',
      '/my-record/budget',
      '/my-record/about-me',
      '/my-record/communication-needs',
      '/my-record/what-matters',
      '/my-record/corrections',
      '/my-record/feedback',
      `/people/${personId}/network`,
      `/people/${personId}/pathways`,
      decision,
      `/people/${personId}/household-budget`,
      `/people/${personId}/household-referrals`,
      ...(household ? [household] : []),
      '/account',
      '/account/notifications',
      '/services',
      '/outcomes',
    ])
      await visit(cookie, url);

    // A parent, for the child they act for.
    const db = server.database.db;
    const pair = await db
      .selectFrom('proxies')
      .select(['person_id', 'proxy_person_id'])
      .where('kind', '=', 'parent')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    await createAccount(db, {
      username: 'welsh-parent',
      displayName: 'Rhiant',
      role: 'citizen',
      password: DEMO_PASSWORD,
      personId: pair.proxy_person_id,
    });
    const parent = `${await signIn(server.app, 'welsh-parent')}; joinery_lang=cy`;
    const child = pair.person_id;
    for (const url of [
      '/home',
      `/people/${child}`,
      `/people/${child}/plan`,
      `/my-referrals?for=${child}`,
      `/my-record/sharing?for=${child}`,
      `/my-record/rights?for=${child}`,
      `/my-record/informal-network?for=${child}`,
      `/my-record/messages?for=${child}`,
    ])
      await visit(parent, url);
    // "What matters to you" refused in Welsh too: its title, summary and each field's error.
    const whatMatters = await server.app.inject({ method: 'GET', url: '/my-record/what-matters', headers: { cookie } });
    const refused = await server.app.inject({
      method: 'POST',
      url: '/my-record/what-matters',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        _csrf: await csrfTokenFor(server.app, cookie, '/my-record/what-matters'),
        submission: /name="submission" value="([^"]+)"/.exec(whatMatters.body)![1]!,
        email: 'not an address',
      }).toString(),
    });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body, /<title>Gwall: Beth sy&#39;n bwysig i chi – Joinery<\/title>/);
    assert.match(refused.body, /Dewiswch o leiaf un math o help sydd ei angen arnoch/);
    assert.match(refused.body, /Dywedwch wrthym beth sy&#39;n bwysig i chi, yn eich geiriau eich hun/);
    // The parent reads the child's plan about the child, and why they may, in Welsh.
    const childPlan = await server.app.inject({ method: 'GET', url: `/people/${child}/plan`, headers: { cookie: parent } });
    assert.match(childPlan.body, /Cynllun a rennir/);
    assert.match(childPlan.body, /Pam rydych chi&#39;n gweld hyn: yn gweithredu ar ran y person fel ei ddirprwy cofrestredig\./);
    assert.deepEqual(gaps, [], 'English left on Welsh pages');
  });

  test("professionals' pages stay English, with no language switcher, whatever the cookie or browser say", async () => {
    const cookie = await signIn(server.app, 'practitioner');
    const home = await server.app.inject({
      method: 'GET',
      url: '/home?lang=cy',
      headers: { cookie: `${cookie}; joinery_lang=cy`, 'accept-language': 'cy' },
    });
    assert.equal(home.statusCode, 200);
    assert.equal(htmlLang(home.body), 'en');
    assert.match(home.body, /Sign out/);
    assert.doesNotMatch(home.body, /Cymraeg/);
    assert.equal(
      home.cookies.find((c) => c.name === 'joinery_lang'),
      undefined,
    );
  });
});

// Every English message of the catalogues, of a length that cannot be a name or a word Welsh
// borrows, whose Welsh differs: one of them on a Welsh page is a gap in the translation. A
// message with placeholders is checked by its literal parts.
function englishMessages(): string[] {
  const en = catalogue('en');
  const cy = catalogue('cy');
  const leaves = (node: unknown, theirs: unknown, out: Array<[string, unknown]>) => {
    if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) leaves(value, (theirs as Record<string, unknown> | undefined)?.[key], out);
    } else if (typeof node === 'string') out.push([node, theirs]);
    return out;
  };
  const found = new Set<string>();
  for (const [english, welsh] of leaves(en, cy, [])) {
    if (typeof welsh !== 'string' || welsh === english) continue;
    for (const part of english.split(/\{\{[#*]?\w+\}\}/)) {
      const words = part
        .trim()
        .replace(/^[,.:;()]+|[,:;(]+$/g, '')
        .trim();
      // Three words or more: shorter labels ("Mental health", "named coordinator") are also
      // found inside the names of services and what people wrote, which are shown as written.
      if (words.length >= 12 && words.split(' ').length >= 3 && !welsh.includes(words)) found.add(words);
    }
  }
  return [...found];
}

// What the demo's configuration writes is shown as written, like names (README, Welsh and
// English): an operating model's words are taken out of a page before it is checked, so a
// catalogue message they happen to hold ("Progress measured with") is not taken for a gap.
const asWritten = defaultOperatingModels
  .flatMap((m) => [
    m.summary,
    ...m.config.principles,
    m.config.deliveryPartners.description,
    m.config.anchor?.description ?? '',
    m.config.paymentByResults?.description ?? '',
  ])
  .filter((text) => text.length > 0)
  .sort((x, y) => y.length - x.length);

/** What a reader sees of a page: its text and the labels read aloud, entities decoded. */
function pageText(html: string): string {
  const body = html
    .replace(/<(script|style)[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]*\baria-label="([^"]*)"[^>]*>/g, ' $1 ')
    .replace(/<[^>]+>/g, ' ');
  return body
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}
