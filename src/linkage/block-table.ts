// The online index's blocks under one blocking rule: block key → the records holding it.
// Held in typed arrays (an open-addressing hash table of keys, and a chain through the
// records) rather than a Map of arrays: at a million people a rule has a million or more
// blocks, and a Map keeps a heap number per key and an array per block, tens of millions of
// objects for the garbage collector to trace and a pointer to chase on every lookup.

const EMPTY = -1;
const INITIAL_CAPACITY = 1024;

/**
 * Each slot of the hash table is 16 bytes, so a lookup reads one cache line: the block key as
 * a double (an integer below 2^52), then the block's newest record and its size as int32s.
 */
export interface BlockTable {
  /** Slot s: its key at keys[2s]. */
  keys: Float64Array;
  /** Slot s: the record added last to the block at slots[4s + 2] (EMPTY: a free slot), records in the block at slots[4s + 3]. */
  slots: Int32Array;
  /** Blocks held. */
  count: number;
  /** Record → the record added before it to the same block (EMPTY: the first). */
  previous: Int32Array;
}

function slotArrays(capacity: number): Pick<BlockTable, 'keys' | 'slots'> {
  const buffer = new ArrayBuffer(capacity * 16);
  const slots = new Int32Array(buffer);
  for (let slot = 0; slot < capacity; slot++) slots[4 * slot + 2] = EMPTY;
  return { keys: new Float64Array(buffer), slots };
}

function capacityOf(table: BlockTable): number {
  return table.keys.length / 2;
}

export function createBlockTable(): BlockTable {
  return { ...slotArrays(INITIAL_CAPACITY), count: 0, previous: new Int32Array(INITIAL_CAPACITY) };
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
  const { keys, slots } = table;
  const mask = capacityOf(table) - 1;
  for (let slot = hashKey(key) & mask; ; slot = (slot + 1) & mask) {
    if (slots[4 * slot + 2] === EMPTY) return -1;
    if (keys[2 * slot] === key) return slot;
  }
}

export function blockSize(table: BlockTable, slot: number): number {
  return table.slots[4 * slot + 3]!;
}

/** The block's records, newest first: start at `newestRecord(slot)`, step with `previousRecord` until -1. */
export function newestRecord(table: BlockTable, slot: number): number {
  return table.slots[4 * slot + 2]!;
}

export function previousRecord(table: BlockTable, record: number): number {
  return table.previous[record]!;
}

/** Puts `record` in the block of `key` (records are numbered from 0 and added in order). */
export function addToBlock(table: BlockTable, key: number, record: number): void {
  if ((table.count + 1) * 10 > capacityOf(table) * 7) rehash(table, capacityOf(table) * 2);
  if (record >= table.previous.length) {
    const previous = new Int32Array(Math.max(record + 1, table.previous.length * 2));
    previous.set(table.previous);
    table.previous = previous;
  }
  const { keys, slots } = table;
  const mask = capacityOf(table) - 1;
  let slot = hashKey(key) & mask;
  while (slots[4 * slot + 2] !== EMPTY && keys[2 * slot] !== key) slot = (slot + 1) & mask;
  if (slots[4 * slot + 2] === EMPTY) {
    keys[2 * slot] = key;
    slots[4 * slot + 3] = 0;
    table.count++;
  }
  table.previous[record] = slots[4 * slot + 2]!;
  slots[4 * slot + 2] = record;
  slots[4 * slot + 3]!++;
}

function rehash(table: BlockTable, capacity: number): void {
  const { keys, slots } = table;
  const grown = slotArrays(capacity);
  const mask = capacity - 1;
  for (let old = 0; old < keys.length / 2; old++) {
    if (slots[4 * old + 2] === EMPTY) continue;
    const key = keys[2 * old]!;
    let slot = hashKey(key) & mask;
    while (grown.slots[4 * slot + 2] !== EMPTY) slot = (slot + 1) & mask;
    grown.keys[2 * slot] = key;
    grown.slots[4 * slot + 2] = slots[4 * old + 2]!;
    grown.slots[4 * slot + 3] = slots[4 * old + 3]!;
  }
  table.keys = grown.keys;
  table.slots = grown.slots;
}
