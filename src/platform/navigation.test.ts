// The header's sections per role: what each kind of user can reach from every page, and which
// section a page is shown as being in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { navigationFor } from './navigation.ts';
import { translatorFor } from './i18n/index.ts';

const hrefs = (role: string | undefined, path = '/x') => navigationFor(role, path, translatorFor('en')).map((item) => item.href);
const current = (role: string | undefined, path: string) =>
  navigationFor(role, path, translatorFor('en'))
    .filter((item) => item.current)
    .map((item) => item.href);

test('each role sees its own sections, in order, and the signed out see only the way in', () => {
  assert.deepEqual(hrefs('practitioner'), [
    '/home',
    '/directory',
    '/search',
    '/messages',
    '/referrals/inbox',
    '/corrections',
    '/plans/actions',
    '/outcomes',
    '/insight/worklist',
  ]);
  assert.deepEqual(hrefs('manager'), ['/home', '/directory', '/outcomes', '/insight', '/localities', '/pathways', '/budgets']);
  assert.deepEqual(hrefs('admin'), ['/home', '/directory', '/admin/accounts', '/admin/tokens', '/admin/feeds', '/admin/notifications']);
  assert.deepEqual(hrefs('privacy_officer'), ['/home', '/directory', '/privacy']);
  assert.deepEqual(hrefs('data_quality'), ['/home', '/directory', '/linkage/review']);
  assert.deepEqual(hrefs('citizen'), [
    '/home',
    '/directory',
    '/my-record',
    '/my-record/sharing',
    '/my-plan',
    '/my-record/budget',
    '/my-referrals',
  ]);
  assert.deepEqual(hrefs(undefined), ['/services', '/sign-in']);
});

test('a page is shown in its section: its own path, or under a section that has pages beneath it', () => {
  assert.deepEqual(current('practitioner', '/referrals/r-1'), ['/referrals/inbox']);
  assert.deepEqual(current('manager', '/insight/run/3'), ['/insight']);
  assert.deepEqual(current('practitioner', '/insight/worklist'), ['/insight/worklist']);
  assert.deepEqual(current('citizen', '/people/p-1/plan'), ['/my-plan']);
  assert.deepEqual(current('citizen', '/my-record/sharing'), ['/my-record/sharing']);
  assert.deepEqual(current(undefined, '/services/s-1'), ['/services']);
  assert.deepEqual(current('practitioner', '/people/p-1'), []);
});

test("a resident's sections are named in their language", () => {
  const english = navigationFor('citizen', '/home', translatorFor('en')).map((item) => item.text);
  const welsh = navigationFor('citizen', '/home', translatorFor('cy')).map((item) => item.text);
  assert.equal(welsh.length, english.length);
  assert.notDeepEqual(welsh, english);
});
