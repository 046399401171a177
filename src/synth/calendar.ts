// Dates as whole day numbers (day 0 = 1900-01-01) with precomputed ISO strings, so the generator
// never builds Date objects or formats dates in its hot loops.

const EPOCH_MS = Date.UTC(1900, 0, 1);
const DAY_MS = 86_400_000;

export class Calendar {
  /** Day number of the "as of" date: the generated world is seen from this day. */
  readonly today: number;
  private readonly iso: string[];
  private readonly years: Int16Array;
  private readonly months: Int8Array;
  private readonly doms: Int8Array;
  private readonly weekdays: Int8Array;
  private static readonly TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

  constructor(asOfIso: string) {
    this.today = Calendar.dayNumber(asOfIso);
    const days = this.today + 400; // a little past today so small overshoots stay safe
    this.iso = new Array<string>(days);
    this.years = new Int16Array(days);
    this.months = new Int8Array(days);
    this.doms = new Int8Array(days);
    this.weekdays = new Int8Array(days);
    for (let d = 0; d < days; d++) {
      const date = new Date(EPOCH_MS + d * DAY_MS);
      this.iso[d] = date.toISOString().slice(0, 10);
      this.years[d] = date.getUTCFullYear();
      this.months[d] = date.getUTCMonth() + 1;
      this.doms[d] = date.getUTCDate();
      this.weekdays[d] = date.getUTCDay();
    }
  }

  static dayNumber(iso: string): number {
    const ms = Date.parse(iso.slice(0, 10) + 'T00:00:00Z');
    if (Number.isNaN(ms)) throw new Error(`not an ISO date: ${iso}`);
    return Math.round((ms - EPOCH_MS) / DAY_MS);
  }

  isoDate(day: number): string {
    return this.iso[this.clamp(day)];
  }

  /** ISO timestamp at a minute of the day (0–1439), UTC. */
  timestamp(day: number, minuteOfDay: number): string {
    const m = minuteOfDay % 1440;
    const t = Calendar.TWO_DIGITS;
    return `${this.iso[this.clamp(day)]}T${t[(m / 60) | 0]}:${t[m % 60]}:00Z`;
  }

  year(day: number): number {
    return this.years[this.clamp(day)];
  }

  month(day: number): number {
    return this.months[this.clamp(day)];
  }

  dayOfMonth(day: number): number {
    return this.doms[this.clamp(day)];
  }

  isWeekend(day: number): boolean {
    const w = this.weekdays[this.clamp(day)];
    return w === 0 || w === 6;
  }

  /** Whole years between a birth day and today. */
  ageOn(birthDay: number, onDay: number = this.today): number {
    const b = this.clamp(birthDay);
    const o = this.clamp(onDay);
    let age = this.years[o] - this.years[b];
    if (this.months[o] < this.months[b] || (this.months[o] === this.months[b] && this.doms[o] < this.doms[b])) age--;
    return age;
  }

  private clamp(day: number): number {
    return day < 0 ? 0 : day >= this.iso.length ? this.iso.length - 1 : day;
  }
}

export const DEFAULT_AS_OF = '2026-10-31';
