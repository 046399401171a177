// Resident pages in English and Welsh: messages, Welsh's six plural forms, the English fallback,
// choosing the language, the switcher's links, templates' t() and dates, and that every message
// English has is in Welsh too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import nunjucks from 'nunjucks';
import {
  catalogue,
  catalogueKeys,
  chooseLanguage,
  hasMessage,
  keysMissingFrom,
  languageFromAcceptLanguage,
  languageLinks,
  translateText,
  translatorFor,
  translatorsFrom,
} from './index.ts';
import { addViewFilters } from '../http.ts';

test('messages are looked up by key, with values put in their place, in each language', () => {
  assert.equal(translatorFor('en')('signIn.title'), 'Sign in');
  assert.equal(translatorFor('cy')('signIn.title'), 'Mewngofnodi');
  assert.equal(translatorFor('cy')('home.hello', { name: 'Siân' }), 'Helo, Siân');
  assert.equal(
    translatorFor('cy')('record.recordedBy', { organisation: 'Meddygfa <Glan-yr-afon>', date: '3 Tachwedd 2026' }),
    'cofnodwyd gan Meddygfa <Glan-yr-afon> ar 3 Tachwedd 2026',
    'values are not escaped here: the template escapes what it prints, once',
  );
  assert.equal(translatorFor('fr')('signIn.title'), 'Sign in', 'a language not shipped is English');
});

test('Welsh counts take their six plural forms; English its two', () => {
  const cy = translatorFor('cy');
  const en = translatorFor('en');
  const range = 'ar 3 Tachwedd 2026';
  assert.deepEqual(
    [0, 1, 2, 3, 4, 6, 11].map((count) => cy('whoLooked.times', { count, range })),
    [
      'dim un waith ar 3 Tachwedd 2026',
      'unwaith ar 3 Tachwedd 2026',
      'ddwywaith ar 3 Tachwedd 2026',
      'deirgwaith ar 3 Tachwedd 2026',
      '4 gwaith ar 3 Tachwedd 2026',
      'chwe gwaith ar 3 Tachwedd 2026',
      '11 gwaith ar 3 Tachwedd 2026',
    ],
  );
  assert.deepEqual(
    [1, 2, 12].map((count) => en('whoLooked.times', { count, range: 'on 3 November 2026' })),
    ['once on 3 November 2026', '2 times on 3 November 2026', '12 times on 3 November 2026'],
  );
  assert.equal(cy('record.details.householdSize', { count: 1 }), '1 person');
  assert.equal(cy('record.details.householdSize', { count: 2 }), '2 berson');
  assert.equal(
    cy('record.details.householdSize', { count: 5 }),
    '5 o bobl',
    'forms Welsh does not spell out fall to "other", not to English',
  );
  assert.equal(cy('record.details.householdSize', { count: 6 }), '6 o bobl');
});

test('a message Welsh lacks is shown in English rather than as its key', () => {
  assert.equal(hasMessage('cy', 'signIn.title'), true);
  assert.equal(hasMessage('cy', 'no.such.key'), false);
  // What a page half-way through being translated meets: a key only English has.
  const { translate } = translatorsFrom({
    en: { page: { heading: 'Your messages', count_one: '{{count}} message', count_other: '{{count}} messages' } },
    cy: { page: {} },
  });
  assert.equal(translate('cy')('page.heading'), 'Your messages');
  assert.equal(translate('cy')('page.count', { count: 2 }), '2 messages');
  assert.equal(
    translate('cy')('page.nothing'),
    'page.nothing',
    'a key nobody wrote shows itself, so the test of missing keys and a reader both notice',
  );
  assert.equal(translateText('cy', 'Sign in to continue.'), 'Mewngofnodwch i barhau.');
  assert.equal(translateText('cy', 'Some words no catalogue has.'), 'Some words no catalogue has.');
  assert.equal(translateText('en', 'Sign in to continue.'), 'Sign in to continue.');
  assert.equal(
    translateText('cy', 'The username or password is not right. After 5 failed attempts in a row, an account is locked for 15 minutes.'),
    "Nid yw'r enw defnyddiwr neu'r cyfrinair yn gywir. Ar ôl 5 ymgais aflwyddiannus yn olynol, caiff cyfrif ei gloi am 15 munud.",
    'numbers inside a text are carried over',
  );
  assert.equal(
    translateText('cy', 'One message a day, at 8:00, if something happened'),
    'Un neges y dydd, am 8:00, os digwyddodd rhywbeth',
  );
  assert.equal(
    translateText('cy', 'One message a day, at 8:00, if something happened, and more'),
    'One message a day, at 8:00, if something happened, and more',
    'a pattern matches whole texts only',
  );
});

test('every message a resident can see in English has a Welsh one', () => {
  assert.deepEqual(keysMissingFrom('cy'), [], 'keys in en.json without Welsh in cy.json');
  const welsh = catalogueKeys(catalogue('cy'));
  const english = new Set(catalogueKeys(catalogue('en')).map((key) => key.replace(/_(zero|one|two|few|many|other)$/, '')));
  assert.deepEqual(
    welsh.filter((key) => !english.has(key.replace(/_(zero|one|two|few|many|other)$/, ''))),
    [],
    'Welsh keys English does not have (a typo, or a page that no longer asks)',
  );
  for (const key of welsh)
    assert.notEqual(
      translatorFor('cy')(key.replace(/_(zero|one|two|few|many|other)$/, ''), { count: 1 }).trim(),
      '',
      `${key} is not blank`,
    );
});

test("the language is the one chosen now, else the one chosen before, else the browser's", () => {
  assert.deepEqual(chooseLanguage({ query: 'cy', cookie: 'en', acceptLanguage: 'en' }), { language: 'cy', chosenNow: true });
  assert.deepEqual(chooseLanguage({ query: 'xx', cookie: 'cy', acceptLanguage: 'en' }), { language: 'cy', chosenNow: false });
  assert.deepEqual(
    chooseLanguage({ query: ['cy', 'en'], cookie: undefined, acceptLanguage: undefined }),
    { language: 'en', chosenNow: false },
    'a repeated parameter is no choice',
  );
  assert.deepEqual(chooseLanguage({ acceptLanguage: 'cy-GB,cy;q=0.9,en;q=0.8' }), { language: 'cy', chosenNow: false });
  assert.equal(languageFromAcceptLanguage('fr-FR, en;q=0.5, cy;q=0.7'), 'cy', 'best quality first, skipping languages not shipped');
  assert.equal(languageFromAcceptLanguage('en-GB,en;q=0.9'), 'en');
  assert.equal(languageFromAcceptLanguage('cy;q=0, en;q=0.1'), 'en', 'q=0 means not wanted');
  assert.equal(languageFromAcceptLanguage('de, fr'), undefined);
  assert.equal(languageFromAcceptLanguage(''), undefined);
});

test('the switcher links to the same page in each language, on this site only', () => {
  assert.deepEqual(
    languageLinks('/directory?q=food%20bank&page=2', 'en').map((l) => [l.name, l.href, l.current]),
    [
      ['English', '/directory?q=food+bank&page=2&lang=en', true],
      ['Cymraeg', '/directory?q=food+bank&page=2&lang=cy', false],
    ],
  );
  assert.equal(languageLinks('/home?lang=en', 'en')[1]!.href, '/home?lang=cy', 'the old choice is replaced, not repeated');
  assert.equal(languageLinks('//evil.example/x', 'en')[1]!.href, '/?lang=cy');
  assert.equal(languageLinks('/\\evil.example', 'en')[1]!.href, '/?lang=cy');
});

test("items a route built in English (radios, checkboxes, error lists) are shown in the page's language", () => {
  const env = new nunjucks.Environment(undefined, { autoescape: true });
  addViewFilters(env);
  const items = [
    { value: 'email', text: 'Email', hint: { text: 'Add an email address to your account first' } },
    { divider: 'or' },
    { value: 'x', text: 'Something only English has' },
  ];
  const page = '{% for i in items | tItems %}{{ i.text or i.divider }}/{{ i.hint.text if i.hint else "" }};{% endfor %}';
  assert.equal(
    env.renderString(page, { items, lang: 'cy' }),
    'E-bost/Ychwanegwch gyfeiriad e-bost at eich cyfrif yn gyntaf;neu/;Something only English has/;',
  );
  assert.equal(
    env.renderString(page, { items, lang: 'en' }),
    'Email/Add an email address to your account first;or/;Something only English has/;',
  );
  assert.equal(items[0]!.text, 'Email', "the route's own items are left as they were");
});

test("templates write t() and dates in the page's language, and escape what they print", () => {
  const env = new nunjucks.Environment(undefined, { autoescape: true });
  addViewFilters(env);
  const page =
    '{{ t("home.hello", { name: name }) }} | {{ t("record.details.householdSize", { count: 2 }) }} | {{ when | date }} | {{ at | datetime }}';
  const values = { name: '<b>Siân</b>', when: '2026-11-07', at: new Date('2026-07-01T13:05:00Z') };
  assert.equal(
    env.renderString(page, { ...values, lang: 'cy' }),
    'Helo, &lt;b&gt;Siân&lt;/b&gt; | 2 berson | 7 Tachwedd 2026 | 1 Gorff 2026, 14:05',
  );
  assert.equal(
    env.renderString(page, { ...values, lang: 'en' }),
    'Hello, &lt;b&gt;Siân&lt;/b&gt; | 2 people | 7 November 2026 | 1 Jul 2026, 14:05',
  );
  assert.equal(
    env.renderString(page, values),
    'Hello, &lt;b&gt;Siân&lt;/b&gt; | 2 people | 7 November 2026 | 1 Jul 2026, 14:05',
    'no language is English',
  );
  assert.equal(
    env.renderString('{{ tText(message) }}', { lang: 'cy', message: 'There is no such person record.' }),
    'Nid oes cofnod person o&#39;r fath.',
  );
});

test('tList lists codes in the page\'s language, with the Welsh "a" or "ac" and its mutation', () => {
  const env = new nunjucks.Environment(undefined, { autoescape: true });
  addViewFilters(env);
  const page = '{{ tList(codes, "categoryWords.") }}';
  assert.equal(env.renderString(page, { codes: ['health', 'housing', 'plans'], lang: 'en' }), 'health, housing and plans');
  assert.equal(env.renderString(page, { codes: ['health', 'housing', 'plans'], lang: 'cy' }), 'iechyd, tai a chynlluniau');
  assert.equal(env.renderString(page, { codes: ['housing', 'education'], lang: 'cy' }), 'tai ac ysgol');
  assert.equal(env.renderString(page, { codes: ['finances'], lang: 'cy' }), 'arian');
});

test("a plan's history, written in English when it happened, reads in Welsh with what people wrote kept", () => {
  assert.equal(
    translateText('cy', 'Goal added by the person, in their own words: "Get back to work"'),
    'Ychwanegwyd nod gan y person, yn ei eiriau ei hun: "Get back to work"',
  );
  assert.equal(translateText('cy', 'Goal marked achieved: "Get back to work"'), 'Nod wedi\'i gyflawni: "Get back to work"');
  assert.equal(
    translateText('cy', 'Plan reviewed: 1 of 2 actions done, goals 5.5 out of 10 on average; next review 2027-03-01'),
    "Adolygwyd y cynllun: 1 o 2 cam gweithredu wedi'u gwneud, nodau 5.5 allan o 10 ar gyfartaledd; adolygiad nesaf 2027-03-01",
  );
  assert.equal(
    translateText('cy', 'Plan "A settled home" started for a household of 3'),
    'Dechreuwyd y cynllun "A settled home" ar gyfer aelwyd o 3',
  );
});
