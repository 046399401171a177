// String similarity in the hot loop of pair scoring: no allocation per call,
// scratch buffers are module-level typed arrays grown on demand.

let matchedA = new Uint8Array(64);
let matchedB = new Uint8Array(64);
let previousRow = new Int32Array(64);
let currentRow = new Int32Array(64);
let twoRowsBack = new Int32Array(64);

function ensureScratch(length: number): void {
  if (length < matchedA.length) return;
  const size = Math.max(length + 1, matchedA.length * 2);
  matchedA = new Uint8Array(size);
  matchedB = new Uint8Array(size);
  previousRow = new Int32Array(size);
  currentRow = new Int32Array(size);
  twoRowsBack = new Int32Array(size);
}

function characterBit(code: number): number {
  return 1 << (code & 31);
}

function characterMask(text: string): number {
  let mask = 0;
  for (let i = 0; i < text.length; i++) mask |= characterBit(text.charCodeAt(i));
  return mask;
}

/** Positions of `text` whose character cannot occur in the other string (by a 32-bit character mask). */
function positionsOutside(text: string, otherMask: number): number {
  let outside = 0;
  for (let i = 0; i < text.length; i++) if ((otherMask & characterBit(text.charCodeAt(i))) === 0) outside++;
  return outside;
}

/** Jaro similarity in [0, 1]. */
export function jaro(a: string, b: string): number {
  if (a === b) return 1;
  const lengthA = a.length;
  const lengthB = b.length;
  if (lengthA === 0 || lengthB === 0) return 0;
  ensureScratch(Math.max(lengthA, lengthB));
  const window = Math.max(0, (Math.max(lengthA, lengthB) >> 1) - 1);
  let matches = 0;
  for (let i = 0; i < lengthA; i++) {
    const code = a.charCodeAt(i);
    const end = Math.min(i + window + 1, lengthB);
    for (let j = Math.max(0, i - window); j < end; j++) {
      if (matchedB[j] === 0 && b.charCodeAt(j) === code) {
        matchedA[i] = 1;
        matchedB[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  // Count transpositions and clear the flags as we go (cheaper than fill()).
  let halfTranspositions = 0;
  let k = 0;
  for (let i = 0; i < lengthA; i++) {
    if (matchedA[i] === 0) continue;
    matchedA[i] = 0;
    while (matchedB[k] === 0) k++;
    matchedB[k] = 0;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) halfTranspositions++;
    k++;
  }
  const transpositions = halfTranspositions / 2;
  return (matches / lengthA + matches / lengthB + (matches - transpositions) / matches) / 3;
}

function commonPrefixLength(a: string, b: string, limit: number): number {
  const end = Math.min(limit, a.length, b.length);
  let prefix = 0;
  while (prefix < end && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return prefix;
}

/**
 * Jaro–Winkler when it can reach `floor`, else 0. An upper bound from the
 * characters the strings share rules most random pairs out without the O(n·m) match.
 */
export function jaroWinklerAtLeast(a: string, b: string, floor: number): number {
  if (a === b) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  const maxMatches = Math.min(a.length - positionsOutside(a, characterMask(b)), b.length - positionsOutside(b, characterMask(a)));
  const jaroBound = (maxMatches / a.length + maxMatches / b.length + 1) / 3;
  const bound = jaroBound + commonPrefixLength(a, b, 4) * 0.1 * (1 - jaroBound);
  if (bound < floor) return 0;
  return jaroWinkler(a, b);
}

/** Jaro–Winkler similarity: Jaro boosted by a shared prefix of up to 4 characters. */
export function jaroWinkler(a: string, b: string, prefixScale = 0.1): number {
  const similarity = jaro(a, b);
  if (similarity === 1 || similarity === 0) return similarity;
  return similarity + commonPrefixLength(a, b, 4) * prefixScale * (1 - similarity);
}

/**
 * Damerau–Levenshtein distance (optimal string alignment: insert, delete,
 * substitute, swap adjacent). Stops early and returns `bound + 1` once the
 * distance must exceed `bound`, which is all a comparison level needs.
 */
export function damerauLevenshtein(a: string, b: string, bound = Number.MAX_SAFE_INTEGER): number {
  if (a === b) return 0;
  const lengthA = a.length;
  const lengthB = b.length;
  if (Math.abs(lengthA - lengthB) > bound) return bound + 1;
  if (lengthA === 0) return lengthB;
  if (lengthB === 0) return lengthA;
  if (bound <= 1) return withinOneEdit(a, b) ? 1 : bound + 1;
  // Each character with no counterpart in the other string needs its own edit.
  if (bound < lengthA + lengthB) {
    const lowerBound = Math.max(positionsOutside(a, characterMask(b)), positionsOutside(b, characterMask(a)));
    if (lowerBound > bound) return bound + 1;
  }
  ensureScratch(lengthB + 2);
  // Only cells within `bound` of the diagonal can stay within the bound: a banded table
  // (O(n·bound) instead of O(n·m)), with "too far" (bound + 1) just outside the band.
  const tooFar = Math.min(bound + 1, lengthA + lengthB + 1);
  let before = twoRowsBack;
  let previous = previousRow;
  let current = currentRow;
  for (let j = 0; j <= lengthB; j++) previous[j] = j < tooFar ? j : tooFar;
  for (let i = 1; i <= lengthA; i++) {
    const low = Math.max(1, i - bound);
    const high = Math.min(lengthB, i + bound);
    current[low - 1] = low === 1 ? Math.min(i, tooFar) : tooFar;
    let rowMinimum = current[low - 1];
    const codeA = a.charCodeAt(i - 1);
    for (let j = low; j <= high; j++) {
      const codeB = b.charCodeAt(j - 1);
      const cost = codeA === codeB ? 0 : 1;
      let distance = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && codeA === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === codeB) {
        distance = Math.min(distance, before[j - 2] + 1);
      }
      if (distance > tooFar) distance = tooFar;
      current[j] = distance;
      if (distance < rowMinimum) rowMinimum = distance;
    }
    if (high < lengthB) current[high + 1] = tooFar;
    if (rowMinimum > bound) return bound + 1;
    const recycled = before;
    before = previous;
    previous = current;
    current = recycled;
  }
  const result = previous[lengthB];
  return result > bound ? bound + 1 : result;
}

/**
 * One edit apart (the strings differ): one substitution, one adjacent swap, or one
 * character inserted. A linear scan, for the many "one typo" levels.
 */
function withinOneEdit(a: string, b: string): boolean {
  if (a.length !== b.length) {
    const [short, long] = a.length < b.length ? [a, b] : [b, a];
    if (long.length - short.length !== 1) return false;
    let i = 0;
    while (i < short.length && short.charCodeAt(i) === long.charCodeAt(i)) i++;
    for (let k = i; k < short.length; k++) if (short.charCodeAt(k) !== long.charCodeAt(k + 1)) return false;
    return true;
  }
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (a.charCodeAt(i) === b.charCodeAt(i)) continue;
    if (first >= 0) {
      // A second difference: only an adjacent swap of the first one is still one edit.
      if (i !== first + 1 || a.charCodeAt(first) !== b.charCodeAt(i) || a.charCodeAt(i) !== b.charCodeAt(first)) return false;
      for (let k = i + 1; k < a.length; k++) if (a.charCodeAt(k) !== b.charCodeAt(k)) return false;
      return true;
    }
    first = i;
  }
  return true;
}

const SPACE = 32;

function sameCharacters(x: string, xStart: number, y: string, yStart: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (x.charCodeAt(xStart + k) !== y.charCodeAt(yStart + k)) return false;
  return true;
}

/** Whether the word `text[start, end)` is one of the space-separated words of `other`. */
function hasWord(other: string, text: string, start: number, end: number): boolean {
  const length = end - start;
  let wordStart = 0;
  for (let i = 0; i <= other.length; i++) {
    if (i < other.length && other.charCodeAt(i) !== SPACE) continue;
    if (i - wordStart === length && sameCharacters(other, wordStart, text, start, length)) return true;
    wordStart = i + 1;
  }
  return false;
}

/** Whether the word `text[start, end)` occurs earlier in `text` (`start` follows a space, or is 0). */
function seenBefore(text: string, start: number, end: number): boolean {
  const length = end - start;
  let wordStart = 0;
  for (let i = 0; i < start; i++) {
    if (text.charCodeAt(i) !== SPACE) continue;
    if (i - wordStart === length && sameCharacters(text, wordStart, text, start, length)) return true;
    wordStart = i + 1;
  }
  return false;
}

/** Distinct words of `text` (split on spaces) and how many of them are words of `other`. */
function wordsShared(text: string, other: string | null): { distinct: number; shared: number } {
  let distinct = 0;
  let shared = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && text.charCodeAt(i) !== SPACE) continue;
    if (i > start && !seenBefore(text, start, i)) {
      distinct++;
      if (other !== null && hasWord(other, text, start, i)) shared++;
    }
    start = i + 1;
  }
  return { distinct, shared };
}

/**
 * tokenJaccard of the distinct space-separated words of two strings, without making the
 * word lists: the same figure as tokenJaccard(words(a), words(b)).
 */
export function wordJaccard(a: string, b: string): number {
  const { distinct: distinctA, shared } = wordsShared(a, b);
  if (distinctA === 0) return 0;
  const { distinct: distinctB } = wordsShared(b, null);
  if (distinctB === 0) return 0;
  return shared / (distinctA + distinctB - shared);
}

/** Share of distinct tokens the two sets have in common (Jaccard). */
export function tokenJaccard(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let shared = 0;
  for (const token of a) if (b.includes(token)) shared++;
  return shared / (a.length + b.length - shared);
}
