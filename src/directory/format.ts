// Plain-English opening times and distances, for the directory's pages and schedule descriptions.

export const DAY_CODES = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
const DAY_NAMES: Record<string, string> = {
  MO: 'Monday',
  TU: 'Tuesday',
  WE: 'Wednesday',
  TH: 'Thursday',
  FR: 'Friday',
  SA: 'Saturday',
  SU: 'Sunday',
};

/** "MO,TU,WE,TH,FR" → "Monday to Friday"; "TU,TH,SA" → "Tuesday, Thursday and Saturday". */
export function describeDays(byday: string | null): string {
  if (!byday) return '';
  const codes = byday
    .split(',')
    .map((d) => d.trim().toUpperCase())
    .filter((d) => d in DAY_NAMES);
  if (codes.length === 7) return 'Every day';
  const indexes = codes.map((c) => DAY_CODES.indexOf(c as (typeof DAY_CODES)[number])).sort((a, b) => a - b);
  const consecutive = indexes.length >= 3 && indexes.every((d, i) => i === 0 || d === indexes[i - 1]! + 1);
  if (consecutive) return `${DAY_NAMES[DAY_CODES[indexes[0]!]]} to ${DAY_NAMES[DAY_CODES[indexes.at(-1)!]]}`;
  const names = indexes.map((i) => DAY_NAMES[DAY_CODES[i]!]!);
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** "09:00:00" → "9am"; "18:30" → "6:30pm"; "12:00" → "midday". */
export function describeTime(time: string | null): string {
  if (!time) return '';
  const m = /^(\d{1,2}):(\d{2})/.exec(time);
  if (!m) return time;
  const h = Number(m[1]);
  const min = m[2]!;
  if (h === 12 && min === '00') return 'midday';
  if ((h === 0 || h === 24) && min === '00') return 'midnight';
  const suffix = h < 12 ? 'am' : 'pm';
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return min === '00' ? `${h12}${suffix}` : `${h12}:${min}${suffix}`;
}

export function describeOpening(byday: string | null, opensAt: string | null, closesAt: string | null): string {
  const days = describeDays(byday);
  if (opensAt === '00:00:00' && (closesAt === '23:59:59' || closesAt === '24:00:00')) return `${days}, 24 hours`;
  const hours = opensAt && closesAt ? `${describeTime(opensAt)} to ${describeTime(closesAt)}` : '';
  return [days, hours].filter(Boolean).join(', ');
}

/** Metres to a short distance in miles, as people in the UK read it. */
export function describeDistance(metres: number | null | undefined): string {
  if (metres === null || metres === undefined) return '';
  const miles = metres / 1609.344;
  if (miles < 0.1) return 'less than 0.1 miles';
  return `${miles < 10 ? miles.toFixed(1) : Math.round(miles)} miles`;
}
