// Chart axes people can read: ticks at round values (a step of 1, 2, 2.5 or 5 times a power of
// ten) covering the data, labelled in the chart's unit, and amounts of money in short round
// form (£3.5m, £750k). Every chart that draws a value axis takes its ticks from here, and the
// SVG for ticks and axis titles uses the same classes everywhere (tests read them).

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** A round step for about `target` intervals over `span`. */
function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  const nice = m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10;
  return nice * power;
}

/**
 * Round ticks from at or below `min` to at or above `max` (0 is always one of them when the range
 * crosses it): about `target` intervals, never fewer than 2.
 */
export function niceTicks(min: number, max: number, target = 5): number[] {
  let lo = Number.isFinite(min) ? min : 0;
  let hi = Number.isFinite(max) ? max : 1;
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    hi = lo === 0 ? 1 : lo + Math.abs(lo);
    if (lo > 0) lo = 0;
  }
  const step = niceStep(hi - lo, target);
  const start = Math.floor(lo / step + 1e-9) * step;
  const end = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = start, i = 0; v <= end + step * 1e-9 && i < 50; v = start + ++i * step)
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  if (ticks.length < 3) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

/** Decimal places a tick label needs for a given step (2.5 needs one, 0.25 two). */
export function stepDecimals(ticks: readonly number[]): number {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 1;
  for (let d = 0; d <= 6; d++) if (Math.abs(step * 10 ** d - Math.round(step * 10 ** d)) < 1e-6) return d;
  return 6;
}

/** A tick label: thousands separated, as many decimals as the step needs, a true minus sign. */
export function tickLabel(value: number, decimals: number): string {
  const text = Math.abs(value).toLocaleString('en-GB', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  return value < 0 ? `−${text}` : text;
}

/** Pounds in short round form for an axis: £0, £750, £750k, £3.5m. */
export function shortPounds(pounds: number): string {
  const abs = Math.abs(pounds);
  const sign = pounds < 0 ? '−' : '';
  const trim = (n: number) => Number(n.toFixed(2)).toString();
  if (abs >= 1_000_000) return `${sign}£${trim(abs / 1_000_000)}m`;
  if (abs >= 1_000) return `${sign}£${trim(abs / 1_000)}k`;
  return `${sign}£${trim(abs)}`;
}

/** SVG for one tick label; `axis` is the axis the label sits on. */
export function tickText(axis: 'x' | 'y', x: number, y: number, label: string, anchor: 'start' | 'middle' | 'end'): string {
  return `<text class="tick tick--${axis}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="${anchor}">${escapeXml(label)}</text>`;
}

/** SVG for an axis title; a y-axis title reads bottom to top beside the axis. */
export function axisTitle(axis: 'x' | 'y', x: number, y: number, title: string): string {
  return axis === 'y'
    ? `<text class="axis-title axis-title--y" x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="middle" transform="rotate(-90 ${x.toFixed(1)} ${y.toFixed(1)})">${escapeXml(title)}</text>`
    : `<text class="axis-title axis-title--x" x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="middle">${escapeXml(title)}</text>`;
}
