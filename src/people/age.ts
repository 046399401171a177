/** Whole years of age on `today` (UTC) for a birth date written YYYY-MM-DD (anything after the date is ignored); null without one. */
export function ageOn(birthDate: string | null | undefined, today: Date): number | null {
  if (!birthDate) return null;
  const year = Number(birthDate.slice(0, 4));
  const month = Number(birthDate.slice(5, 7));
  const day = Number(birthDate.slice(8, 10));
  const month0 = today.getUTCMonth() + 1;
  return today.getUTCFullYear() - year - (month0 < month || (month0 === month && today.getUTCDate() < day) ? 1 : 0);
}
