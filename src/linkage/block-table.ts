// The online index's blocks under one blocking rule: block key → the records holding it.
// Held in typed arrays (an open-addressing hash table of keys, and a chain through the
// records) rather than a Map of arrays: at a million people a rule has a million or more
// blocks, and a Map keeps a heap number per key and an array per block, tens of millions of
// objects for the garbage collector to trace and a pointer to chase on every lookup.

const EMPTY = -1;
const INITIAL_CAPACITY = 1024;

export interface BlockTable {
  /** Slot → block key (an integer below 2^52), meaningful where `newest` is not EMPTY. */
  keys: Float64Array;
  /** Slot → the record added last to the block (EMPTY: a free slot). */
  newest: Int32Array;
  /** Slot → records in the block. */
  sizes: Int32Array;
  /** Blocks held. */
  count: number;
  /** Record → the record added before it to the same block (EMPTY: the first). */
  previous: Int32Array;
}

export function createBlockTable(): BlockTable {
  return { keys: new Float64Array(INITIAL_CAPACITY), newest: new Int32Array(INITIAL_CAPACITY).fill(EMPTY), sizes: new Int32Array(INITIAL_CAPACITY), count: 0, previous: new Int32Array(INITIAL_CAPACITY) };
}

/** A well-mixed 32-bit hash of an integer key below 2^53 (both halves count). */
function hashKey(key: number): number {
  const low = key >>> 0;
  const high = Math.floor(key / 4294967296) >>> 0;
  let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The slot holding `key`, or -1 when no block has it. */
export function findBlock(table: BlockTable, key: number): number {
  const mask = table.keys.length - 1;
  for (let slot = hashKey(key) & mask; ; slot = (slot + 1) & mask) {
    if (table.newest[slot] === EMPTY) return -1;
    if (table.keys[slot] === key) return slot;
  }
}

export function blockSize(table: BlockTable, slot: number): number {
  return table.sizes[slot]!;
}

/** The block's records, newest first: start at `newestRecord(slot)`, step with `previousRecord` until -1. */
export function newestRecord(table: BlockTable, slot: number): number {
  return table.newest[slot]!;
}

export function previousRecord(table: BlockTable, record: number): number {
  return table.previous[record]!;
}

/** Puts `record` in the block of `key` (records are numbered from 0 and added in order). */
export function addToBlock(table: BlockTable, key: number, record: number): void {
  if ((table.count + 1) * 10 > table.keys.length * 7) rehash(table, table.keys.length * 2);
  if (record >= table.previous.length) {
    const previous = new Int32Array(Math.max(record + 1, table.previous.length * 2));
    previous.set(table.previous);
    table.previous = previous;
  }
  const mask = table.keys.length - 1;
  let slot = hashKey(key) & mask;
  while (table.newest[slot] !== EMPTY && table.keys[slot] !== key) slot = (slot + 1) & mask;
  if (table.newest[slot] === EMPTY) {
    table.keys[slot] = key;
    table.count++;
  }
  table.previous[record] = table.newest[slot]!;
  table.newest[slot] = record;
  table.sizes[slot]!++;
}

function rehash(table: BlockTable, capacity: number): void {
  const { keys, newest, sizes } = table;
  table.keys = new Float64Array(capacity);
  table.newest = new Int32Array(capacity).fill(EMPTY);
  table.sizes = new Int32Array(capacity);
  const mask = capacity - 1;
  for (let old = 0; old < keys.length; old++) {
    if (newest[old] === EMPTY) continue;
    let slot = hashKey(keys[old]!) & mask;
    while (table.newest[slot] !== EMPTY) slot = (slot + 1) & mask;
    table.keys[slot] = keys[old]!;
    table.newest[slot] = newest[old]!;
    table.sizes[slot] = sizes[old]!;
  }
}
