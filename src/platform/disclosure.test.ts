// Disclosure control on hand-made tables and, by property, on random ones: no count of 1 to 4 is
// shown, and no hidden cell can be worked out from the cells and totals that are shown — checked
// by an independent search over every assignment an onlooker could consider.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { protectCells, roundToFive, suppressSmall, suppressTable, type Sum } from './disclosure.ts';

/**
 * The cells an onlooker cannot pin to one value: shown cells fixed, hidden cells at least 1 (zeros
 * are shown), never-shown cells at least 0 (exactly 0 when they are 0), all at most `ceiling`,
 * every sum holding. For each unknown cell and each other value it might take, a search with
 * interval propagation over the sums looks for a complete assignment: one found, it is not pinned.
 */
function unpinned(values: number[], shown: Array<number | null>, sums: Sum[], unshown: Set<number>, ceiling: number): Map<number, boolean> {
  const unknown = values.map((v, i) => (unshown.has(i) ? v > 0 : shown[i] === null));
  type Box = Array<[number, number]>;
  const start: Box = values.map((v, i) =>
    unknown[i] ? [unshown.has(i) ? 0 : 1, ceiling] : [unshown.has(i) ? 0 : shown[i]!, unshown.has(i) ? 0 : shown[i]!],
  );
  // Narrows every cell's interval from each sum until nothing changes; null when a sum cannot hold.
  const propagate = (box: Box): Box | null => {
    const b: Box = box.map(([lo, hi]) => [lo, hi]);
    for (let changed = true; changed;) {
      changed = false;
      for (const s of sums) {
        const loParts = s.parts.reduce((a, i) => a + b[i]![0], 0);
        const hiParts = s.parts.reduce((a, i) => a + b[i]![1], 0);
        const t = b[s.total]!;
        const tighten = (i: number, lo: number, hi: number) => {
          const c = b[i]!;
          if (lo > c[0]) {
            c[0] = lo;
            changed = true;
          }
          if (hi < c[1]) {
            c[1] = hi;
            changed = true;
          }
        };
        tighten(s.total, loParts, hiParts);
        for (const i of s.parts) tighten(i, t[0] - (hiParts - b[i]![1]), t[1] - (loParts - b[i]![0]));
        if ([s.total, ...s.parts].some((i) => b[i]![0] > b[i]![1])) return null;
      }
    }
    return b;
  };
  const feasible = (box: Box): boolean => {
    const b = propagate(box);
    if (!b) return false;
    const open = b
      .map(([lo, hi], i) => ({ i, width: hi - lo }))
      .filter((c) => c.width > 0)
      .sort((x, y) => x.width - y.width)[0];
    if (!open) return true;
    const [lo, hi] = b[open.i]!;
    const truth = Math.min(hi, Math.max(lo, values[open.i]!));
    // Nearest the true value first: an alternative is usually a step away.
    const order = Array.from({ length: hi - lo + 1 }, (_, k) => truth + (k % 2 ? (k + 1) / 2 : -k / 2)).filter((v) => v >= lo && v <= hi);
    const rest = Array.from({ length: hi - lo + 1 }, (_, k) => lo + k).filter((v) => !order.includes(v));
    return [...order, ...rest].some((v) => feasible(b.map((c, i) => (i === open.i ? [v, v] : c))));
  };
  const result = new Map<number, boolean>();
  const base = propagate(start);
  values.forEach((_, i) => {
    if (!unknown[i]) return;
    const [lo, hi] = base ? base[i]! : [values[i]!, values[i]!];
    let free = false;
    for (let v = lo; v <= hi && !free; v++) if (v !== values[i]) free = feasible(start.map((c, k) => (k === i ? [v, v] : c)));
    result.set(i, free);
  });
  return result;
}

function assertSafe(values: number[], sums: Sum[], unshownList: number[] = [], fixed: number[] = []) {
  const p = protectCells(values, sums, { unshown: unshownList, fixed });
  const unshown = new Set(unshownList);
  p.cells.forEach((c, i) => {
    assert.ok(c === null || c === 0 || c >= 5, `cell ${i} shows ${c} in ${JSON.stringify(values)}`);
    assert.ok(c === null || c === values[i], 'what is shown is what was counted');
    if (unshown.has(i)) assert.equal(c, null, 'a never-shown cell stays hidden');
  });
  const ceiling = Math.max(...values) + 2;
  for (const [i, free] of unpinned(values, p.cells, sums, unshown, ceiling)) {
    if (unshown.has(i) && !(values[i]! > 0 && values[i]! < 5)) continue;
    assert.ok(free, `cell ${i} (${values[i]}) of ${JSON.stringify(values)} can be worked out from ${JSON.stringify(p.cells)}`);
  }
  return p;
}

test('a table with no small counts is shown whole', () => {
  assert.deepEqual(suppressTable([10, 20, 30]), { cells: [10, 20, 30], total: 60, reasons: [null, null, null] });
});

test('a small count is hidden with the smallest other count, so the total cannot give it away', () => {
  const t = suppressTable([3, 50, 7, 0]);
  assert.deepEqual(t.cells, [null, 50, null, 0]);
  assert.deepEqual(t.reasons, ['small', null, 'complement', null]);
  assert.equal(t.total, 60);
});

test('hidden cells that could only be 1 each take the total with them', () => {
  // Five people, one in each of five groups: 5 = 1 + 1 + 1 + 1 + 1 is the only way.
  assert.deepEqual(suppressTable([1, 1, 1, 1, 1]), {
    cells: [null, null, null, null, null],
    total: null,
    reasons: ['small', 'small', 'small', 'small', 'small'],
  });
  // 2 and 3 under a total of 5 could be 1+4, 2+3, 3+2 or 4+1: the total can stay.
  assert.equal(suppressTable([2, 3, 0]).total, 5);
});

test('the case-finding attack: 23 people, 14 and 6 shown, the third team is not left to be 3', () => {
  const t = suppressTable([14, 6, 3]);
  assert.equal(t.total, 23);
  assert.deepEqual(t.cells, [14, null, null]);
});

test('the pathway attack: reached = at the step + completed + dropped out cannot recover the one hidden figure', () => {
  // Cells: 0 waiting, 1 in progress (never shown), 2 at the step, 3 completed, 4 dropped out, 5 left elsewhere (never shown), 6 reached.
  const sums: Sum[] = [
    { total: 2, parts: [0, 1] },
    { total: 6, parts: [2, 3, 4, 5] },
  ];
  const p = assertSafe([0, 4, 4, 76, 10, 0, 90], sums, [1, 5]);
  assert.equal(p.cells[2], null);
  assert.ok(p.cells.filter((c, i) => c === null && i !== 1 && i !== 5).length >= 2, 'a second figure in the row is hidden');
  // In progress (never shown) is 12 − 9 = 3 when both are shown: at the step or waiting is hidden as well.
  const q = assertSafe([9, 3, 12, 40, 0, 0, 52], sums, [1, 5]);
  assert.ok(q.cells[0] === null || q.cells[2] === null);
});

test('a figure shown elsewhere anyway is not chosen as the complement', () => {
  const t = protectCells([3, 6, 40, 49], [{ total: 3, parts: [0, 1, 2] }], { fixed: [1] });
  assert.deepEqual(t.cells, [null, 6, null, 49]);
});

test('cells that do not add up are refused (a wrong sum would make the check meaningless)', () => {
  assert.throws(() => protectCells([1, 2, 4], [{ total: 2, parts: [0, 1] }]), /do not add up/);
});

test('single counts and overlapping sets', () => {
  assert.equal(suppressSmall(0), 0);
  assert.equal(suppressSmall(4), null);
  assert.equal(suppressSmall(5), 5);
  assert.equal(roundToFive(3), null);
  assert.equal(roundToFive(7), 5);
  assert.equal(roundToFive(8), 10);
});

/** Every value a hidden cell of a one-way table could take, given the shown cells and total (hidden cells are ≥ 1: zeros are shown). */
function oneWayValues(shown: Array<number | null>, total: number, index: number): Set<number> {
  const hidden = shown.map((c, i) => (c === null ? i : -1)).filter((i) => i >= 0);
  const sum = total - shown.reduce<number>((s, c) => s + (c ?? 0), 0);
  const values = new Set<number>();
  if (!hidden.includes(index)) return values;
  for (let v = 1; v <= sum - (hidden.length - 1); v++) values.add(v);
  return values;
}

test('property: a row of cells and its total — no shown cell is 1 to 4, and no hidden cell has only one possible value', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 400 })), { minLength: 1, maxLength: 12 }),
      (counts) => {
        const t = suppressTable(counts);
        for (const c of t.cells) assert.ok(c === null || c === 0 || c >= 5, `shown cell ${c}`);
        assert.ok(t.total === null || t.total === 0 || t.total >= 5);
        if (t.total !== null) {
          for (let i = 0; i < counts.length; i++) {
            if (t.cells[i] === null)
              assert.ok(oneWayValues(t.cells, t.total, i).size >= 2, `cell ${i} of ${JSON.stringify(counts)} is recoverable`);
          }
        }
        counts.forEach((c, i) => assert.ok(t.cells[i] === null || t.cells[i] === c));
      },
    ),
    { numRuns: 2000 },
  );
});

/** A grid with row totals, column totals and a grand total, as cells and sums. */
function grid(rows: number[][]): { values: number[]; sums: Sum[] } {
  const r = rows.length;
  const c = rows[0]!.length;
  const values = rows.flat();
  const rowTotal = (i: number) => r * c + i;
  const colTotal = (j: number) => r * c + r + j;
  const grand = r * c + r + c;
  rows.forEach((row) => values.push(row.reduce((s, v) => s + v, 0)));
  for (let j = 0; j < c; j++) values.push(rows.reduce((s, row) => s + row[j]!, 0));
  values.push(values.slice(r * c, r * c + r).reduce((s, v) => s + v, 0));
  const sums: Sum[] = [
    ...rows.map((_, i) => ({ total: rowTotal(i), parts: Array.from({ length: c }, (_, j) => i * c + j) })),
    ...Array.from({ length: c }, (_, j) => ({ total: colTotal(j), parts: rows.map((_, i) => i * c + j) })),
    { total: grand, parts: rows.map((_, i) => rowTotal(i)) },
  ];
  return { values, sums };
}

test('property: a two-way table with row, column and grand totals cannot be differenced by rows or columns', () => {
  const cell = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 14 }));
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 3 }),
      fc.integer({ min: 2, max: 3 }),
      fc.array(cell, { minLength: 9, maxLength: 9 }),
      (r, c, flat) => {
        const rows = Array.from({ length: r }, (_, i) => flat.slice(i * c, i * c + c));
        const { values, sums } = grid(rows);
        assertSafe(values, sums);
      },
    ),
    { numRuns: 150 },
  );
});

test('property: pathway steps (waiting ⊂ at the step ⊂ reached, with never-shown in progress and left elsewhere) cannot be differenced', () => {
  const small = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 12 }));
  fc.assert(
    fc.property(fc.array(fc.tuple(small, small, small, small, fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 2 }), (steps) => {
      // Per step: waiting, in progress, at the step, completed, dropped out, left elsewhere, reached.
      const values: number[] = [];
      const sums: Sum[] = [];
      const unshown: number[] = [];
      for (const [waiting, inProgress, completed, dropped, elsewhere] of steps) {
        const b = values.length;
        values.push(
          waiting,
          inProgress,
          waiting + inProgress,
          completed,
          dropped,
          elsewhere,
          waiting + inProgress + completed + dropped + elsewhere,
        );
        sums.push({ total: b + 2, parts: [b, b + 1] }, { total: b + 6, parts: [b + 2, b + 3, b + 4, b + 5] });
        unshown.push(b + 1, b + 5);
      }
      // The next step is reached by everyone who completed the one before.
      if (steps.length === 2 && values[3] === values[13]) sums.push({ total: 13, parts: [3] });
      assertSafe(values, sums, unshown);
    }),
    { numRuns: 150 },
  );
});
