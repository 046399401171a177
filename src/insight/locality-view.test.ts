// How a locality compares with the place on the locality pages: higher or lower only when its 95%
// interval leaves out the place's value; a suppressed locality is not compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareWithPlace } from './locality-view.ts';

test("a locality is higher or lower than the place only when its 95% interval leaves out the place's value", () => {
  const place = { label: 'All', value: 10, lower: 9.5, upper: 10.5, count: 1000, denominator: 100000 };
  const row = (value: number, lower: number, upper: number) => ({ label: 'L', value, lower, upper, count: 100, denominator: 10000 });
  assert.equal(compareWithPlace(row(13, 11, 15), place), 'higher');
  assert.equal(compareWithPlace(row(7, 5, 9), place), 'lower');
  assert.equal(compareWithPlace(row(12, 9.9, 14), place), 'similar');
  assert.equal(
    compareWithPlace({ ...row(0, 0, 0), value: null, lower: null, upper: null }, place),
    null,
    'a suppressed locality is not compared',
  );
});
