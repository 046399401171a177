// Contact details as people type them: email addresses checked the GOV.UK way (something, an @,
// a domain with a dot), mobile numbers in any usual UK form kept as +44…, landlines refused with
// words that say what to enter instead, and an empty box meaning "none".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkContactDetails, checkEmail, checkMobile } from './contact-details.ts';

test('email addresses', () => {
  assert.deepEqual(checkEmail('  Resident.One+joinery@example.org '), { value: 'Resident.One+joinery@example.org' });
  assert.deepEqual(checkEmail(''), { value: null });
  for (const wrong of ['resident', 'resident@example', 'resident at example.org', '@example.org', 'a@b@example.org']) {
    assert.deepEqual(checkEmail(wrong), { error: 'Enter an email address in the correct format, like name@example.com' }, wrong);
  }
  assert.deepEqual(checkEmail(`${'a'.repeat(250)}@example.org`), { error: 'Email address must be 254 characters or fewer' });
});

test('mobile numbers', () => {
  for (const typed of ['07700 900982', '07700-900-982', '+44 7700 900982', '0044 7700 900982', '+44 (0)7700 900982', '(07700) 900982']) {
    assert.deepEqual(checkMobile(typed), { value: '+447700900982' }, typed);
  }
  assert.deepEqual(checkMobile('+33 6 12 34 56 78'), { value: '+33612345678' });
  assert.deepEqual(checkMobile(''), { value: null });
  assert.deepEqual(checkMobile('0161 496 0000'), { error: 'Enter a UK mobile phone number, like 07700 900 982' });
  assert.deepEqual(checkMobile('07700 9009'), { error: 'Enter a UK mobile phone number, like 07700 900 982' });
  assert.deepEqual(checkMobile('call me'), { error: 'Enter a mobile phone number, like 07700 900 982 or +44 7700 900 982' });
});

test('both fields at once: every error, by field', () => {
  assert.deepEqual(checkContactDetails({ email: 'x', mobile: 'y' }), {
    ok: false,
    errors: [
      { field: 'email', message: 'Enter an email address in the correct format, like name@example.com' },
      { field: 'mobile', message: 'Enter a mobile phone number, like 07700 900 982 or +44 7700 900 982' },
    ],
  });
  assert.deepEqual(checkContactDetails({ email: '', mobile: '' }), { ok: true, details: { email: null, mobile: null } });
});
