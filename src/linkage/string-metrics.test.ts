import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { damerauLevenshtein, jaro, jaroWinkler, jaroWinklerAtLeast, tokenJaccard, wordJaccard } from './string-metrics.ts';

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

test('Jaro–Winkler matches the published examples', () => {
  assert.equal(round3(jaroWinkler('martha', 'marhta')), 0.961);
  assert.equal(round3(jaroWinkler('dixon', 'dicksonx')), 0.813);
  assert.equal(round3(jaroWinkler('dwayne', 'duane')), 0.84);
  assert.equal(round3(jaro('martha', 'marhta')), 0.944);
  assert.equal(jaroWinkler('same', 'same'), 1);
  assert.equal(jaroWinkler('abc', 'xyz'), 0);
  assert.equal(jaroWinkler('', 'abc'), 0);
});

test('Damerau–Levenshtein counts insertions, deletions, substitutions and adjacent swaps', () => {
  assert.equal(damerauLevenshtein('kitten', 'sitting'), 3);
  assert.equal(damerauLevenshtein('ab', 'ba'), 1);
  assert.equal(damerauLevenshtein('smith', 'smtih'), 1);
  assert.equal(damerauLevenshtein('ca', 'abc'), 3); // optimal string alignment
  assert.equal(damerauLevenshtein('', 'abc'), 3);
  assert.equal(damerauLevenshtein('same', 'same'), 0);
});

const shortWords = fc.string({ unit: fc.constantFrom(...'abcdeno'), maxLength: 9 });

test('bounded Damerau–Levenshtein is the true distance capped at bound + 1', () => {
  fc.assert(
    fc.property(shortWords, shortWords, fc.integer({ min: 0, max: 4 }), (a, b, bound) => {
      assert.equal(damerauLevenshtein(a, b, bound), Math.min(damerauLevenshtein(a, b), bound + 1));
    }),
  );
});

test('distances and similarities are symmetric and bounded', () => {
  fc.assert(
    fc.property(shortWords, shortWords, (a, b) => {
      assert.equal(damerauLevenshtein(a, b), damerauLevenshtein(b, a));
      const similarity = jaroWinkler(a, b);
      assert.ok(similarity >= 0 && similarity <= 1);
      assert.ok(Math.abs(similarity - jaroWinkler(b, a)) < 1e-12);
    }),
  );
});

test('the Jaro–Winkler pre-filter never hides a score at or above its floor', () => {
  fc.assert(
    fc.property(shortWords, shortWords, fc.double({ min: 0, max: 1, noNaN: true }), (a, b, floor) => {
      const exact = jaroWinkler(a, b);
      const filtered = jaroWinklerAtLeast(a, b, floor);
      if (exact >= floor) assert.equal(filtered, exact);
      else assert.ok(filtered === 0 || filtered === exact);
    }),
  );
});

test('token Jaccard shares words', () => {
  assert.equal(tokenJaccard(['8', 'stanley', 'street'], ['stanley', 'street']), 2 / 3);
  assert.equal(tokenJaccard([], ['a']), 0);
});

test('word Jaccard on strings is token Jaccard on their distinct words', () => {
  const words = (text: string): string[] => [...new Set(text.split(' ').filter((word) => word !== ''))];
  assert.equal(wordJaccard('8 stanley street', 'stanley street'), 2 / 3);
  assert.equal(wordJaccard('', 'a'), 0);
  assert.equal(
    wordJaccard('flat 2 flat 2 high street', 'flat 2 high road'),
    tokenJaccard(words('flat 2 flat 2 high street'), words('flat 2 high road')),
  );
  const text = fc.array(fc.constantFrom('a', 'b', 'ab', 'ba', 'c', ''), { maxLength: 6 }).map((parts) => parts.join(' '));
  fc.assert(
    fc.property(text, text, (a, b) => {
      assert.equal(wordJaccard(a, b), tokenJaccard(words(a), words(b)));
    }),
  );
});
