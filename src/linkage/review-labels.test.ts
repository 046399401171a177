// Reviewers' decisions grouped by the probability the model gave each pair, checked by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreementBands, formatAgreement } from './review-labels.ts';

test('decided pairs fall in the band of the probability the model gave them, 1.0 included', () => {
  const bands = agreementBands([
    { probability: 0.42, same: false },
    { probability: 0.85, same: true },
    { probability: 0.86, same: false },
    { probability: 0.97, same: true },
    { probability: 1, same: true },
    { probability: 0.995, same: false },
  ]);
  assert.deepEqual(
    bands.map((b) => [b.from, b.to, b.same, b.different]),
    [
      [0, 0.5, 0, 1],
      [0.8, 0.9, 1, 1],
      [0.95, 0.99, 1, 0],
      [0.99, 1, 1, 1],
    ],
  );
  const printed = formatAgreement({ decided: 6, bands, linkThreshold: 0.95, reviewThreshold: 0.5 });
  assert.match(printed, /6 decided review items/);
  assert.match(printed, /80%–90%\s+1\s+1\s+50%/);
  assert.match(printed, /links at 95% and asks a reviewer from 50%/);
  assert.equal(
    formatAgreement({ decided: 0, bands: [], linkThreshold: null, reviewThreshold: null }),
    'No review items have been decided yet: nothing to compare the model with.',
  );
});
