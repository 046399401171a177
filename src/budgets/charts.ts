// Cumulative budget, spend and forecast over a financial year as a server-rendered SVG line
// chart (presentation attributes only: no inline styles, so the CSP stays strict). The amount
// axis has round ticks in short form (£3.5m, not £3,521,750) and both axes have titles.
import { axisTitle, escapeXml, niceTicks, shortPounds, tickText } from '../ui/index.ts';

export interface Series {
  label: string;
  values: (number | null)[];
  colour: string;
  dashed?: boolean;
}

export function cumulativeChart(options: { id: string; title: string; description: string; months: string[]; series: Series[] }): string {
  const { id, title, description, months, series } = options;
  const left = 90,
    top = 14,
    width = 560,
    height = 240,
    legend = 26 * series.length;
  // Round ticks in pounds (the values are pence): £0, £1m, £2m... or £0, £500k, £1m...
  const maxPounds = Math.max(1, ...series.flatMap((s) => s.values.map((v) => v ?? 0))) / 100;
  const ticksPounds = niceTicks(0, maxPounds, 5);
  const max = ticksPounds[ticksPounds.length - 1]! * 100;
  const x = (i: number) => left + (i * width) / Math.max(1, months.length - 1);
  const y = (v: number) => top + height - (v / max) * height;
  const ticks = ticksPounds
    .map((pounds) => {
      const v = pounds * 100;
      return (
        `<line class="axis" x1="${left}" x2="${left + width}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#b1b4b6" stroke-width="0.5"></line>` +
        tickText('y', left - 6, y(v) + 4, shortPounds(pounds), 'end')
      );
    })
    .join('');
  const labels = months
    .map((m, i) =>
      tickText(
        'x',
        x(i),
        top + height + 18,
        new Date(`${m}-01T00:00:00Z`).toLocaleString('en-GB', { month: 'short', timeZone: 'UTC' }),
        'middle',
      ),
    )
    .join('');
  const titles =
    axisTitle('y', 18, top + height / 2, 'Cumulative amount (£)') +
    axisTitle('x', left + width / 2, top + height + 40, 'Month of the financial year');
  const lines = series
    .map((s) => {
      const points = s.values.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter((p) => p !== null);
      return `<polyline fill="none" stroke="${s.colour}" stroke-width="3"${s.dashed ? ' stroke-dasharray="8 6"' : ''} points="${points.join(' ')}"></polyline>`;
    })
    .join('');
  const key = series
    .map((s, i) => {
      const ky = top + height + 66 + i * 26;
      return `<line x1="${left}" x2="${left + 36}" y1="${ky}" y2="${ky}" stroke="${s.colour}" stroke-width="3"${s.dashed ? ' stroke-dasharray="8 6"' : ''}></line><text x="${left + 44}" y="${ky + 5}">${escapeXml(s.label)}</text>`;
    })
    .join('');
  const total = top + height + 66 + legend;
  return (
    `<svg class="joinery-chart" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${left + width + 30} ${total}" width="${left + width + 30}" height="${total}" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${id}-title">${escapeXml(title)}</title><desc id="${id}-desc">${escapeXml(description)}</desc>` +
    ticks +
    labels +
    titles +
    lines +
    key +
    '</svg>'
  );
}
