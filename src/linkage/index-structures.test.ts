import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordEntries } from './index-state.ts';
import { addToBlock, blockSize, createBlockTable, findBlock, newestRecord, previousRecord, type BlockTable } from './block-table.ts';

function recordsIn(table: BlockTable, key: number): number[] {
  const slot = findBlock(table, key);
  if (slot < 0) return [];
  const out: number[] = [];
  for (let record = newestRecord(table, slot); record >= 0; record = previousRecord(table, record)) out.push(record);
  assert.equal(out.length, blockSize(table, slot), 'the size counts every record in the block');
  return out.reverse();
}

test('a block table keeps every record under its key, through growth, for keys up to 2^52', () => {
  const table = createBlockTable();
  const expected = new Map<number, number[]>();
  // Two-part keys as the index packs them (high part * 2^26 + low part), many sharing a part.
  const keyOf = (record: number) => (record % 977) * 2 ** 26 + (record % 13) + (record % 5 === 0 ? 2 ** 51 : 0);
  for (let record = 0; record < 50_000; record++) {
    const key = keyOf(record);
    addToBlock(table, key, record);
    expected.set(key, [...(expected.get(key) ?? []), record]);
  }
  assert.ok(table.keys.length / 2 > 1024, 'the table grew');
  assert.equal(table.count, expected.size);
  for (const [key, records] of expected) assert.deepEqual(recordsIn(table, key), records);
  assert.deepEqual(recordsIn(table, 12345.0 * 2 ** 26 + 7), [], 'an unknown key has no block');
});

test('record entries answer by source record id, for dense ids and ids far beyond them', () => {
  const entries = new RecordEntries();
  for (let id = 1; id <= 5000; id += 3) entries.set(id, id * 2);
  entries.set(2 ** 40, 7);
  entries.set(0, 0);
  assert.equal(entries.get(4999), 9998);
  assert.equal(entries.get(5000), undefined, 'an id never set has no entry');
  assert.equal(entries.get(0), 0, 'entry 0 is an entry');
  assert.equal(entries.get(2 ** 40), 7);
  assert.equal(entries.get(123_456_789), undefined);
  entries.set(4999, 1);
  assert.equal(entries.get(4999), 1, 'a record re-entered points at its new entry');
});
