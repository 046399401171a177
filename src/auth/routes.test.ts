// Where sign-in may send someone afterwards: a path on this site, never another site however the
// address is dressed up (a tab, CR/LF, backslashes or percent-encoding).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failedSignInMessage, safeNextPath } from './routes.ts';

test('after sign-in, only same-origin paths are followed', () => {
  for (const kept of ['/home', '/people/p-0000001', '/my-record?tab=plan', '/directory?q=food%20bank', '/a/b/../c'])
    assert.equal(safeNextPath(kept), kept, kept);
  const offSite = [
    '//evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '/\t/evil.example',
    '/%09/evil.example',
    '/%2F/evil.example',
    '/%5Cevil.example',
    '/\r\nSet-Cookie: a=b',
    '/%0d%0aSet-Cookie: a=b',
    'https://evil.example',
    'javascript:alert(1)',
    ' /home',
    '',
    '/%',
    '/home\u0000',
  ];
  for (const next of offSite) assert.equal(safeNextPath(next), '/home', JSON.stringify(next));
  assert.equal(safeNextPath(undefined), '/home');
  assert.equal(safeNextPath(['/a', '/b']), '/home');
  assert.equal(safeNextPath(`/${'a'.repeat(3000)}`), '/home', 'a very long path');
});

test('a failed sign-in names the lock rule, the same for every kind of failure', () => {
  assert.equal(
    failedSignInMessage({ maxAttempts: 5, lockMinutes: 15 }),
    'The username or password is not right. After 5 failed attempts in a row, an account is locked for 15 minutes.',
  );
});
