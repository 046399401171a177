// CSV downloads opened in a spreadsheet show text, never run it as a formula.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { formulaSafe, safeCsv } from './csv.ts';

test('cells that start like a formula are prefixed with a quote; numbers and ordinary text are left alone', () => {
  for (const risky of ['=HYPERLINK("https://evil.example","x")', "+1+cmd|' /C calc'!A0", '-2+3', '@SUM(A1:A9)', '\t=1', '\r=1', '-', '=']) {
    assert.equal(formulaSafe(risky), `'${risky}`, JSON.stringify(risky));
  }
  for (const plain of ['Riverford Food Bank', '-1500.50', '12', '0.25', '', 'a=b', 'Ann-Marie', 'suppressed'])
    assert.equal(formulaSafe(plain), plain, plain);
  for (const value of [-1500.5, 0, null, undefined]) assert.equal(formulaSafe(value), value);
});

test('a CSV with a formula in a name reads back as the text, quoted', () => {
  const rows = parse(
    safeCsv([
      ['service', 'variance_gbp'],
      ['=HYPERLINK("https://evil.example","Click")', '-12.50'],
      ['Home care, nights', -3],
    ]),
  ) as string[][];
  assert.deepEqual(rows, [
    ['service', 'variance_gbp'],
    ['\'=HYPERLINK("https://evil.example","Click")', '-12.50'],
    ['Home care, nights', '-3'],
  ]);
});
