// Cumulative budget, spend and forecast over a financial year as a server-rendered SVG line
// chart (presentation attributes only: no inline styles, so the CSP stays strict).
import { formatPounds } from './goals.ts';

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

export interface Series { label: string; values: (number | null)[]; colour: string; dashed?: boolean }

export function cumulativeChart(options: { id: string; title: string; description: string; months: string[]; series: Series[] }): string {
  const { id, title, description, months, series } = options;
  const left = 90, top = 14, width = 560, height = 240, legend = 26 * series.length;
  const max = Math.max(1, ...series.flatMap((s) => s.values.map((v) => v ?? 0)));
  const x = (i: number) => left + (i * width) / Math.max(1, months.length - 1);
  const y = (v: number) => top + height - (v / max) * height;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = max * f;
    return `<line class="axis" x1="${left}" x2="${left + width}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#b1b4b6" stroke-width="0.5"></line>`
      + `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${escapeXml(formatPounds(v))}</text>`;
  }).join('');
  const labels = months.map((m, i) => `<text x="${x(i).toFixed(1)}" y="${top + height + 18}" text-anchor="middle">${escapeXml(new Date(`${m}-01T00:00:00Z`).toLocaleString('en-GB', { month: 'short', timeZone: 'UTC' }))}</text>`).join('');
  const lines = series.map((s) => {
    const points = s.values.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter((p) => p !== null);
    return `<polyline fill="none" stroke="${s.colour}" stroke-width="3"${s.dashed ? ' stroke-dasharray="8 6"' : ''} points="${points.join(' ')}"></polyline>`;
  }).join('');
  const key = series.map((s, i) => {
    const ky = top + height + 40 + i * 26;
    return `<line x1="${left}" x2="${left + 36}" y1="${ky}" y2="${ky}" stroke="${s.colour}" stroke-width="3"${s.dashed ? ' stroke-dasharray="8 6"' : ''}></line><text x="${left + 44}" y="${ky + 5}">${escapeXml(s.label)}</text>`;
  }).join('');
  const total = top + height + 40 + legend;
  return `<svg class="joinery-chart" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${left + width + 30} ${total}" width="${left + width + 30}" height="${total}" xmlns="http://www.w3.org/2000/svg">`
    + `<title id="${id}-title">${escapeXml(title)}</title><desc id="${id}-desc">${escapeXml(description)}</desc>`
    + ticks + labels + lines + key + '</svg>';
}
