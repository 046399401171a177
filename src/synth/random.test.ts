import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, streamFor, weightedTable } from './random.ts';

test('the same seed repeats the same sequence; different seeds differ', () => {
  const a = new Rng(99);
  const b = new Rng(99);
  const c = new Rng(100);
  const seqA = Array.from({ length: 20 }, () => a.next());
  assert.deepEqual(
    Array.from({ length: 20 }, () => b.next()),
    seqA,
  );
  assert.notDeepEqual(
    Array.from({ length: 20 }, () => c.next()),
    seqA,
  );
  for (const x of seqA) assert.ok(x >= 0 && x < 1);
});

test('household streams are reproducible and independent of each other', () => {
  assert.equal(streamFor(1, 5).next(), streamFor(1, 5).next());
  const firsts = new Set(Array.from({ length: 1000 }, (_, i) => streamFor(1, i).next()));
  assert.equal(firsts.size, 1000);
  assert.notEqual(streamFor(1, 5).next(), streamFor(2, 5).next());
});

test('int stays in range and reaches both ends', () => {
  const rng = new Rng(3);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = rng.int(2, 6);
    assert.ok(Number.isInteger(v) && v >= 2 && v <= 6);
    seen.add(v);
  }
  assert.deepEqual([...seen].sort(), [2, 3, 4, 5, 6]);
});

test('weighted picks follow the weights and never pick a zero weight', () => {
  const rng = new Rng(4);
  const table = weightedTable(['a', 'b', 'c'], [1, 3, 0]);
  const counts = { a: 0, b: 0, c: 0 };
  for (let i = 0; i < 20_000; i++) counts[rng.weightedPick(table) as 'a' | 'b' | 'c']++;
  assert.equal(counts.c, 0);
  assert.ok(Math.abs(counts.b / counts.a - 3) < 0.3, `${counts.b / counts.a}`);
  assert.throws(() => weightedTable(['a'], [0]));
});

test('normal deviates have mean about 0 and spread about 1; chance matches p', () => {
  const rng = new Rng(5);
  const xs = Array.from({ length: 20_000 }, () => rng.normal());
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
  assert.ok(Math.abs(mean) < 0.05 && Math.abs(sd - 1) < 0.05);
  const hits = Array.from({ length: 20_000 }, () => rng.chance(0.2)).filter(Boolean).length;
  assert.ok(Math.abs(hits / 20_000 - 0.2) < 0.015);
});
