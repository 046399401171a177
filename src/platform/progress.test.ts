// The busy-machine note that long CLI work (the demo's start) prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busyNote } from './progress.ts';

test('a machine whose load average reaches its cores is called busy, with both figures', () => {
  assert.equal(busyNote(1.9, 2), undefined);
  assert.equal(busyNote(0, 1), undefined);
  assert.equal(busyNote(5.24, 2), 'This machine is busy (load average 5.2 on 2 cores), so this took longer than it would on a quiet one.');
  assert.match(busyNote(1, 1)!, /load average 1\.0 on 1 core\)/);
});
