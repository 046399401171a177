import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatNhsNumber, isValidNhsNumber, makeNhsNumber, nhsCheckDigit, syntheticNhsNumber, type IntSource } from './nhs-number.ts';

/** A small seeded source of integers (mulberry32): the ground floor's tests draw on no module's generator. */
function seeded(seed: number): IntSource {
  let state = seed >>> 0;
  return {
    int(lo: number, hi: number): number {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = Math.imul(state ^ (state >>> 15), state | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return lo + Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo + 1));
    },
  };
}

test('accepts the Data Dictionary example and its formatted forms', () => {
  assert.equal(nhsCheckDigit('943476591'), 9);
  assert.equal(isValidNhsNumber('9434765919'), true);
  assert.equal(isValidNhsNumber('943 476 5919'), true);
  assert.equal(isValidNhsNumber('943-476-5919'), true);
  assert.equal(formatNhsNumber('9434765919'), '943 476 5919');
  // 943476587: weighted sum 308 = 28·11, so 11 - 0 = 11, which becomes check digit 0.
  assert.equal(nhsCheckDigit('943476587'), 0);
  assert.equal(isValidNhsNumber('9434765870'), true);
});

test('rejects a wrong check digit, wrong lengths and non-digits', () => {
  assert.equal(isValidNhsNumber('9434765918'), false);
  assert.equal(isValidNhsNumber('943476591'), false);
  assert.equal(isValidNhsNumber('94347659190'), false);
  assert.equal(isValidNhsNumber('94347659A9'), false);
  assert.equal(isValidNhsNumber(''), false);
});

test('a base whose check digit would be 10 can never be valid', () => {
  // Find a base with check digit 10 and make sure no final digit validates it.
  let base = '';
  for (let i = 0; i < 1000 && !base; i++) {
    const candidate = String(i).padStart(9, '0');
    if (nhsCheckDigit(candidate) === null) base = candidate;
  }
  assert.ok(base, 'expected some base with check digit 10');
  for (let d = 0; d <= 9; d++) assert.equal(isValidNhsNumber(base + d), false);
});

test('every generated number is valid, and every single-digit change is detected', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 ** 31 }),
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 1, max: 9 }),
      (seed, pos, delta) => {
        const n = makeNhsNumber(seeded(seed));
        assert.equal(isValidNhsNumber(n), true);
        // Weights 10..2 (and 1 for the check digit) are all non-zero mod 11 and 11 is prime,
        // so changing one digit by any non-zero amount always changes the sum mod 11.
        const changed = n.slice(0, pos) + String((Number(n[pos]) + delta) % 10) + n.slice(pos + 1);
        assert.equal(isValidNhsNumber(changed), false);
      },
    ),
    { numRuns: 2000 },
  );
});

test('swapping two different adjacent digits is detected', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 0, max: 8 }), (seed, pos) => {
      const n = makeNhsNumber(seeded(seed));
      fc.pre(n[pos] !== n[pos + 1]);
      const swapped = n.slice(0, pos) + n[pos + 1] + n[pos] + n.slice(pos + 2);
      assert.equal(isValidNhsNumber(swapped), false);
    }),
    { numRuns: 1000 },
  );
});

test('synthetic numbers are valid and unique across many indexes', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50_000; i++) {
    const n = syntheticNhsNumber(i, 12345);
    assert.equal(isValidNhsNumber(n), true, n);
    seen.add(n);
  }
  assert.equal(seen.size, 50_000);
  // Neighbouring people do not get neighbouring numbers.
  assert.notEqual(syntheticNhsNumber(0, 1).slice(0, 6), syntheticNhsNumber(1, 1).slice(0, 6));
});
