// Disclosure control: the one place that decides which counts about groups of people may be shown
// to managers, commissioners and analysts. It lives on the ground floor as a pure helper that
// imports nothing, so that every module's aggregates (place, pathways, plans, budgets, insight)
// follow one rule and the rule is tested once, not re-implemented beside each page.
//
// The rule is the ONS / NHS Digital convention:
// - primary suppression: a count of 1 to 4 is never shown (0 is shown: it says nothing about anyone);
// - secondary (complementary) suppression: where cells add up (a table's rows and its total, the
//   columns of a pathway step, quarters and their year), more cells are hidden until no hidden
//   cell can be worked out by differencing. The caller states how its cells add up (`Sum`); the
//   check below is exact for those relations, so a new kind of table needs no new reasoning;
// - where too many overlapping sums exist to list (people known to combinations of services),
//   counts are rounded to base 5 instead (`roundToFive`).
//
// What an onlooker is assumed to know: every shown cell, every stated sum, that a hidden cell is
// at least 1 (zeros are shown), and that a cell never shown (e.g. "in progress" when only "at the
// step" and "of whom waiting" are shown) is at least 0, and exactly 0 when it is 0 (so derived
// zeros give nothing away only because they are treated as known). A hidden cell is safe when some
// other assignment of the unknown cells satisfies all of that and gives it a different value.

/** The words every page uses beside its tables, so people know why a figure is missing. */
export const SUPPRESSION_NOTE =
  '"Suppressed" means hidden to protect privacy: fewer than 5 people, or a figure that could reveal a small number when taken from the others shown.';

/** True when a count would single out a small group (1 to 4). */
export function isSmall(count: number): boolean {
  return count > 0 && count < 5;
}

/**
 * A count shown on its own: hidden when 1 to 4. Only for counts that are part of no sum shown
 * anywhere (people can be in several of the groups); counts that add up go through `protectCells`.
 */
export function suppressSmall(count: number): number | null {
  return isSmall(count) ? null : count;
}

/** Counts of overlapping sets: hidden when 1 to 4, otherwise rounded to the nearest 5. */
export function roundToFive(count: number): number | null {
  if (isSmall(count)) return null;
  return Math.round(count / 5) * 5;
}

/** Cells that add up: values[total] = the sum of values[parts]. Indices into the cells. */
export interface Sum {
  total: number;
  parts: readonly number[];
}

export type HiddenReason = 'small' | 'complement';

export interface ProtectedCells {
  /** Each cell as it may be shown: null = hidden (suppressed, or never shown). */
  cells: Array<number | null>;
  /** Why a shown-kind cell was hidden: 'small' (1 to 4) or 'complement' (so a small one cannot be worked out). */
  reasons: Array<HiddenReason | null>;
}

export interface ProtectOptions {
  /** Cells that take part in a sum but are never shown (they come back null, reason null). */
  unshown?: readonly number[];
  /** Cells never hidden as a complement because they are shown elsewhere anyway (e.g. a population total). */
  fixed?: readonly number[];
}

/**
 * Primary and secondary suppression of cells related by sums. Counts 1 to 4 are hidden; then,
 * while some hidden cell (or a small never-shown cell) could be pinned to one value from what is
 * shown, the smallest shown non-zero cell sharing a sum with it is hidden too. If nothing is left
 * to hide, every shown non-zero cell that is not fixed is hidden (failing closed).
 */
export function protectCells(values: readonly number[], sums: readonly Sum[], options: ProtectOptions = {}): ProtectedCells {
  const n = values.length;
  for (const v of values) if (!Number.isInteger(v) || v < 0) throw new Error(`disclosure control needs counts, got ${v}`);
  for (const s of sums) {
    if ([s.total, ...s.parts].some((i) => !Number.isInteger(i) || i < 0 || i >= n))
      throw new Error('a sum refers to a cell that does not exist');
    if (values[s.total] !== s.parts.reduce((a, i) => a + values[i]!, 0))
      throw new Error(`cells do not add up: cell ${s.total} is not the sum of ${s.parts.join(', ')}`);
  }
  const unshown = new Set(options.unshown ?? []);
  const fixed = new Set(options.fixed ?? []);
  const reasons: Array<HiddenReason | null> = values.map((v, i) => (!unshown.has(i) && isSmall(v) ? 'small' : null));
  const shown = (i: number) => !unshown.has(i) && reasons[i] === null;
  const sumsOf = values.map((): number[] => []);
  sums.forEach((s, k) => {
    for (const i of [s.total, ...s.parts]) sumsOf[i]!.push(k);
  });

  for (;;) {
    const pinned = firstPinned(values, sums, unshown, reasons);
    if (pinned === undefined) break;
    const complement = chooseComplement(pinned, values, sums, sumsOf, shown, fixed);
    if (complement === undefined) {
      values.forEach((v, i) => {
        if (shown(i) && v > 0 && !fixed.has(i)) reasons[i] = 'complement';
      });
      break;
    }
    reasons[complement] = 'complement';
  }
  return { cells: values.map((v, i) => (shown(i) ? v : null)), reasons: values.map((_, i) => (unshown.has(i) ? null : reasons[i]!)) };
}

/** The smallest shown non-zero cell in a sum with `target`, looking further out sum by sum if none is near. */
function chooseComplement(
  target: number,
  values: readonly number[],
  sums: readonly Sum[],
  sumsOf: number[][],
  shown: (i: number) => boolean,
  fixed: ReadonlySet<number>,
): number | undefined {
  const seenSums = new Set<number>();
  const seenCells = new Set<number>([target]);
  let frontier = [target];
  while (frontier.length > 0) {
    const cells = new Set<number>();
    for (const c of frontier)
      for (const k of sumsOf[c]!) {
        if (seenSums.has(k)) continue;
        seenSums.add(k);
        for (const i of [sums[k]!.total, ...sums[k]!.parts])
          if (!seenCells.has(i)) {
            seenCells.add(i);
            cells.add(i);
          }
      }
    const candidates = [...cells]
      .filter((i) => shown(i) && values[i]! > 0 && !fixed.has(i))
      .sort((a, b) => values[a]! - values[b]! || a - b);
    if (candidates.length > 0) return candidates[0];
    frontier = [...cells];
  }
  return undefined;
}

// -------------------------------------------------------------------------------------------
// The audit: which unknown cells could be pinned to one value.

const gcd = (a: number, b: number): number => {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
};

function primitive(v: number[]): number[] {
  const g = v.reduce((a, x) => gcd(a, x), 0);
  return g > 1 ? v.map((x) => x / g) : v;
}

/**
 * The first hidden cell (or small never-shown cell) that the shown cells and sums pin to one value.
 * Unknowns are the hidden cells (at least 1, or 0 if that is what they are) and the non-zero
 * never-shown cells (at least 0). A cell is safe when an integer move along the sums (a vector in
 * the null space of the sums over the unknowns) changes it and keeps every unknown within bounds.
 * Moves tried: each null-space basis vector and combinations of up to three of them; a cell for
 * which none works is treated as pinned, which can only hide more than strictly needed.
 */
function firstPinned(
  values: readonly number[],
  sums: readonly Sum[],
  unshown: ReadonlySet<number>,
  reasons: ReadonlyArray<HiddenReason | null>,
): number | undefined {
  const unknown = values.map((v, i) => (unshown.has(i) ? v > 0 : reasons[i] !== null));
  const vars = values.map((_, i) => i).filter((i) => unknown[i]);
  if (vars.length === 0) return undefined;
  const col = new Map(vars.map((i, j) => [i, j]));
  const x = vars.map((i) => values[i]!);
  const lower = vars.map((i) => (unshown.has(i) ? 0 : Math.min(1, values[i]!)));
  const targets = vars.map((i, j) => ({ i, j })).filter(({ i }) => !unshown.has(i) || isSmall(values[i]!));
  if (targets.length === 0) return undefined;

  // Integer row reduction of the sums restricted to the unknowns.
  const rows: number[][] = [];
  for (const s of sums) {
    const r = new Array<number>(vars.length).fill(0);
    const t = col.get(s.total);
    if (t !== undefined) r[t]! += 1;
    for (const p of s.parts) {
      const c = col.get(p);
      if (c !== undefined) r[c]! -= 1;
    }
    if (r.some((a) => a !== 0)) rows.push(r);
  }
  const pivots: number[] = [];
  let rank = 0;
  for (let c = 0; c < vars.length && rank < rows.length; c++) {
    const p = rows.findIndex((r, k) => k >= rank && r[c] !== 0);
    if (p < 0) continue;
    [rows[rank], rows[p]] = [rows[p]!, rows[rank]!];
    const pr = rows[rank]!;
    for (let k = 0; k < rows.length; k++) {
      if (k === rank || rows[k]![c] === 0) continue;
      const f = rows[k]![c]!;
      rows[k] = primitive(rows[k]!.map((a, m) => a * pr[c]! - pr[m]! * f));
    }
    pivots.push(c);
    rank++;
  }
  const isPivot = new Set(pivots);
  // One basis vector of the null space per free unknown.
  const basis: number[][] = [];
  for (let f = 0; f < vars.length; f++) {
    if (isPivot.has(f)) continue;
    const scale = pivots.reduce((l, c, k) => (rows[k]![f] === 0 ? l : (l * Math.abs(rows[k]![c]!)) / gcd(l, rows[k]![c]!)), 1);
    const v = new Array<number>(vars.length).fill(0);
    v[f] = scale;
    pivots.forEach((c, k) => {
      v[c] = (-rows[k]![f]! * scale) / rows[k]![c]!;
    });
    basis.push(primitive(v));
  }
  const within = (d: number[]) => d.every((dj, j) => x[j]! + dj >= lower[j]!);
  const either = (d: number[]) => within(d) || within(d.map((a) => -a));
  // Cheap checks first (no move at all; a single basis vector), then combinations only for the
  // cells still in doubt, stopping at the first that is pinned: only one is acted on per round.
  const doubtful: number[] = [];
  for (const { i, j } of targets) {
    const own = basis.filter((b) => b[j] !== 0);
    if (own.length === 0) return i;
    if (!own.some(either)) doubtful.push(j);
  }
  const combos = (j: number, depth: number, start: number, acc: number[]): boolean => {
    if (depth === 0) return acc[j] !== 0 && either(primitive(acc));
    for (let k = start; k < basis.length; k++) {
      for (const sign of [1, -1])
        if (
          combos(
            j,
            depth - 1,
            k + 1,
            acc.map((a, m) => a + sign * basis[k]![m]!),
          )
        )
          return true;
    }
    return false;
  };
  const zero = new Array<number>(vars.length).fill(0);
  for (const j of doubtful) {
    const free = (basis.length <= 40 && combos(j, 2, 0, zero)) || (basis.length <= 12 && combos(j, 3, 0, zero));
    if (!free) return vars[j];
  }
  return undefined;
}

/**
 * A one-way table shown with its total: `protectCells` with the one sum. Without the total shown,
 * only counts 1 to 4 are hidden (nothing is there to subtract from).
 */
export function suppressTable(
  counts: readonly number[],
  showTotal = true,
): { cells: Array<number | null>; total: number | null; reasons: Array<HiddenReason | null> } {
  const total = counts.reduce((s, c) => s + c, 0);
  const n = counts.length;
  const p = protectCells([...counts, total], [{ total: n, parts: counts.map((_, i) => i) }], showTotal ? {} : { unshown: [n] });
  return { cells: p.cells.slice(0, n), total: showTotal ? p.cells[n]! : null, reasons: p.reasons.slice(0, n) };
}
