// The form parser a GOV.UK page relies on: one message a field, linking to it, in the schema's
// order; what was typed kept for the form shown again; text trimmed, an empty optional field
// null, and a choice outside the options offered refused. A JSON body refused with a 400 naming
// its field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import {
  checkboxes,
  choiceOf,
  optionalDate,
  optionalId,
  optionalText,
  parseForm,
  parseJsonBody,
  poundsAsPence,
  requiredDate,
  requiredText,
  sentText,
  ticked,
  typedText,
} from './forms.ts';
import { RefusedInput } from './refused.ts';

const form = z.object({
  service: choiceOf('Choose a service', ['org-a', 'org-b']),
  what: requiredText('Say what is wrong, in up to 10 characters', { min: 2, max: 10 }),
  note: optionalText('A note must be 5 characters or fewer', { max: 5 }),
});

test('a good form comes back trimmed, with an empty optional field as null', () => {
  assert.deepEqual(parseForm(form, { service: 'org-b', what: '  my phone ', note: '   ' }), {
    ok: true,
    value: { service: 'org-b', what: 'my phone', note: null },
  });
});

test('a refused form gives one message a field, linking to it, and keeps what was typed', () => {
  const body = { service: 'org-z', what: 'x', note: 'far too long a note', extra: 'kept' };
  const parsed = parseForm(form, body);
  assert.equal(parsed.ok, false);
  if (parsed.ok) return;
  assert.deepEqual(parsed.errors, [
    { text: 'Choose a service', href: '#service' },
    { text: 'Say what is wrong, in up to 10 characters', href: '#what' },
    { text: 'A note must be 5 characters or fewer', href: '#note' },
  ]);
  assert.equal(parsed.fieldErrors.what, 'Say what is wrong, in up to 10 characters');
  assert.equal(parsed.values, body, 'what was typed, to fill the form in again');
});

test('a message about one box of a field made of several links to that box and names the boxes to mark', () => {
  const dateForm = z.object({ name: requiredText('Enter a name', { max: 10 }) }).superRefine((_, ctx) => {
    for (const part of ['month', 'year'])
      ctx.addIssue({ code: 'custom', path: ['dob', part], message: 'Date of birth must include a month and a year' });
    ctx.addIssue({ code: 'custom', path: ['dob', 'year'], message: 'Year must include 4 numbers' });
  });
  const parsed = parseForm(dateForm, { name: 'Sam', 'dob-day': '7' });
  assert.equal(parsed.ok, false);
  if (parsed.ok) return;
  assert.deepEqual(parsed.errors, [{ text: 'Date of birth must include a month and a year', href: '#dob-month' }]);
  assert.deepEqual(parsed.parts, { dob: ['month', 'year'] });
  const plain = parseForm(form, {});
  assert.ok(!plain.ok && Object.keys(plain.parts).length === 0, 'a field of one box has no parts');
});

test('missing, repeated or non-text fields are refused with the field message, never a type error', () => {
  for (const body of [{}, { service: ['org-a', 'org-b'], what: ['a', 'b'] }, { service: 7, what: { a: 1 } }]) {
    const parsed = parseForm(form, body);
    assert.equal(parsed.ok, false);
    if (parsed.ok) continue;
    assert.deepEqual(
      parsed.errors.map((e) => e.text),
      ['Choose a service', 'Say what is wrong, in up to 10 characters'],
    );
  }
});

test('text as sent is kept untrimmed up to its bound; a missing or repeated field is empty, and shown again as empty', () => {
  const passwords = z.object({ password: sentText(5), confirm: sentText() });
  assert.deepEqual(parseForm(passwords, { password: ' secret ', confirm: ' secret ' }), {
    ok: true,
    value: { password: ' secr', confirm: ' secret ' },
  });
  assert.deepEqual(parseForm(passwords, { password: ['a', 'b'] }), { ok: true, value: { password: '', confirm: '' } });
  assert.equal(typedText({ reason: 'as typed ', twice: ['a', 'b'] }, 'reason'), 'as typed ');
  assert.equal(typedText({ twice: ['a', 'b'] }, 'twice'), '');
  assert.equal(typedText({}, 'missing'), '');
});

test('dates, checkboxes, ids: what was sent, or the message for the field', () => {
  const shape = z.object({
    due: requiredDate('Enter the due date', 'Enter the due date as a real date'),
    review: optionalDate('Enter the review date as a real date'),
    ticks: checkboxes,
    agreed: ticked(),
    back: optionalId,
  });
  assert.deepEqual(parseForm(shape, { due: ' 2028-02-29 ', review: '', ticks: ['a', ' ', 'b'], agreed: 'yes', back: 'p-1' }), {
    ok: true,
    value: { due: '2028-02-29', review: null, ticks: ['a', 'b'], agreed: true, back: 'p-1' },
  });
  assert.deepEqual(parseForm(shape, { due: '2027-02-03', ticks: 'a', back: 'no spaces allowed' }), {
    ok: true,
    value: { due: '2027-02-03', review: null, ticks: ['a'], agreed: false, back: null },
  });
  const refused = parseForm(shape, { due: '2027-02-30', review: '2027-13-45' });
  assert.equal(refused.ok, false);
  if (!refused.ok)
    assert.deepEqual(refused.fieldErrors, {
      due: 'Enter the due date as a real date',
      review: 'Enter the review date as a real date',
    });
  const empty = parseForm(shape, {});
  assert.equal(empty.ok, false);
  if (!empty.ok) assert.deepEqual(empty.fieldErrors, { due: 'Enter the due date' });
});

test('an amount typed in pounds comes back as whole pence; anything else gets the message', () => {
  const cost = z.object({
    weekly: poundsAsPence('Enter the weekly cost in pounds'),
    change: poundsAsPence('Enter an amount', { negative: true }),
  });
  assert.deepEqual(parseForm(cost, { weekly: '£1,912.50', change: '-1500.5' }), { ok: true, value: { weekly: 191250, change: -150050 } });
  for (const weekly of ['', '12.345', '-5', 'ten', '12345678', ['5']]) {
    const parsed = parseForm(cost, { weekly, change: '5' });
    assert.ok(!parsed.ok && parsed.fieldErrors.weekly === 'Enter the weekly cost in pounds', String(weekly));
  }
});

test('a JSON body that breaks its schema is a 400 naming the field; a good one comes back parsed', () => {
  const body = z.object({ url: z.string('send a url'), topics: z.array(z.enum(['a', 'b'])).optional() });
  assert.deepEqual(parseJsonBody(body, { url: 'u', topics: ['b'] }), { url: 'u', topics: ['b'] });
  assert.throws(
    () => parseJsonBody(body, { url: 'u', topics: ['c'] }),
    (error: unknown) => error instanceof RefusedInput && error.status === 400 && error.message.startsWith('topics.0: '),
  );
  assert.throws(
    () => parseJsonBody(body, undefined),
    (error: unknown) => error instanceof RefusedInput && error.message === 'url: send a url',
  );
});
