// NHS number validation and synthetic generation: pure arithmetic on a national identifier's
// format, on the ground floor so every module (and the synthetic place generator) uses the one
// check, without importing the people module for it.
// The tenth digit is a modulus-11 check digit (NHS Data Dictionary): multiply the first nine
// digits by weights 10..2, sum, take 11 - (sum mod 11); 11 becomes 0 and 10 means the nine-digit
// base can never be a valid NHS number.

const WEIGHTS = [10, 9, 8, 7, 6, 5, 4, 3, 2];

/** Removes the spaces and dashes people type into NHS numbers ("943 476 5919", "943-476-5919"). */
function stripSeparators(s: string): string {
  return s.replace(/[\s-]/g, '');
}

/** The check digit for a nine-digit base, or null when the base cannot be valid (check would be 10). */
export function nhsCheckDigit(first9: string): number | null {
  if (!/^\d{9}$/.test(first9)) return null;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (first9.charCodeAt(i) - 48) * WEIGHTS[i];
  const check = 11 - (sum % 11);
  if (check === 10) return null;
  return check === 11 ? 0 : check;
}

export function isValidNhsNumber(s: string): boolean {
  const digits = stripSeparators(s);
  if (!/^\d{10}$/.test(digits)) return false;
  const check = nhsCheckDigit(digits.slice(0, 9));
  return check !== null && check === digits.charCodeAt(9) - 48;
}

/** "9434765919" → "943 476 5919" (input may already carry separators). */
export function formatNhsNumber(s: string): string {
  const d = stripSeparators(s);
  if (d.length !== 10) return s;
  return `${d.slice(0, 3)} ${d.slice(3, 6)} ${d.slice(6)}`;
}

/** Anything with a uniform integer helper (the synth Rng qualifies). */
export interface IntSource {
  int(lo: number, hi: number): number;
}

/**
 * A random valid NHS number in the 900 000 000x range, which is not issued to patients
 * (the Data Dictionary's own example, 943 476 5919, lives there). Bases whose check would be 10 are skipped.
 */
export function makeNhsNumber(rng: IntSource): string {
  for (;;) {
    const base = '9' + String(rng.int(0, 99_999_999)).padStart(8, '0');
    const check = nhsCheckDigit(base);
    if (check !== null) return base + check;
  }
}

// Unique synthetic numbers: each 8-digit prefix ("9" + 7 digits) has at least nine valid choices
// for its ninth digit (2·d mod 11 takes ten distinct values, so at most one choice gives check 10).
const PREFIXES = 10_000_000;
const SLOTS = PREFIXES * 9;
const SCRAMBLE = 7_777_777; // coprime with SLOTS (no factor 2, 3 or 5), so the mapping is a bijection

/**
 * The index-th synthetic NHS number for a given salt: distinct indexes (below 90 million) always give
 * distinct valid numbers, and neighbouring indexes give unrelated-looking numbers.
 */
export function syntheticNhsNumber(index: number, salt: number): string {
  // index · SCRAMBLE stays far below 2^53, so plain numbers are exact here.
  const slot = (index * SCRAMBLE + (salt >>> 0)) % SLOTS;
  const prefix = '9' + String(Math.floor(slot / 9)).padStart(7, '0');
  let wanted = slot % 9;
  for (let d = 0; d <= 9; d++) {
    const base = prefix + d;
    const check = nhsCheckDigit(base);
    if (check === null) continue;
    if (wanted === 0) return base + check;
    wanted--;
  }
  throw new Error('unreachable: every prefix has nine valid ninth digits');
}
