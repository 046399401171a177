import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isValidNhsNumber, normaliseBirthDate, normaliseName, normaliseNhsNumber, normalisePostcode, normaliseSex } from './normalise.ts';
import { makeNhsNumber } from './test-data.ts';
import { seededRandom } from './estimate.ts';

test('names lose case, accents and punctuation', () => {
  assert.equal(normaliseName("  O'Brien "), 'obrien');
  assert.equal(normaliseName('Smith-Jones'), 'smith jones');
  assert.equal(normaliseName('Zoë'), 'zoe');
});

test('birth dates in ISO, compact and UK forms become YYYYMMDD', () => {
  assert.equal(normaliseBirthDate('1980-03-07'), '19800307');
  assert.equal(normaliseBirthDate('19800307'), '19800307');
  assert.equal(normaliseBirthDate('7/3/1980'), '19800307');
  assert.equal(normaliseBirthDate('19801307'), '19801307'); // typo kept for digit comparison
  assert.equal(normaliseBirthDate('not a date'), null);
});

test('UK postcodes are normalised to outward + inward; others stay plain', () => {
  assert.deepEqual(normalisePostcode('rv32ab'), { value: 'RV3 2AB', sector: 'RV3 2', district: 'RV3' });
  assert.deepEqual(normalisePostcode(' SW1A 1aa '), { value: 'SW1A 1AA', sector: 'SW1A 1', district: 'SW1A' });
  assert.deepEqual(normalisePostcode('4223'), { value: '4223', sector: '', district: '' });
  assert.equal(normalisePostcode('  '), null);
});

test('NHS numbers are checked by modulus 11', () => {
  assert.equal(isValidNhsNumber('9434765919'), true);
  assert.equal(isValidNhsNumber('9434765918'), false);
  assert.equal(isValidNhsNumber('943476591'), false);
  assert.equal(normaliseNhsNumber('943 476 5919'), '9434765919');
  const random = seededRandom(3);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 9 }), (position, bump) => {
      const valid = makeNhsNumber(random);
      assert.ok(isValidNhsNumber(valid));
      // A single-digit error always breaks the check digit (11 is prime).
      const digits = [...valid];
      digits[position] = String((Number(digits[position]) + bump) % 10);
      assert.equal(isValidNhsNumber(digits.join('')), false);
    }),
  );
});

test('sex spellings collapse', () => {
  assert.equal(normaliseSex('Female'), 'f');
  assert.equal(normaliseSex('M'), 'm');
  assert.equal(normaliseSex(''), null);
});
