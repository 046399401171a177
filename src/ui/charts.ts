// Server-rendered SVG charts: accessible (title, description, role="img") and always shown
// with a data table beside them. Value axes have round ticks and a title naming the unit
// (axis.ts). No inline styles, so the CSP needs no 'unsafe-inline'.
import { axisTitle, escapeXml, niceTicks, stepDecimals, tickLabel, tickText } from './axis.ts';

export interface BarDatum {
  label: string;
  value: number | null; // null = suppressed or unknown
}

function formatValue(value: number, decimals: number): string {
  return value.toLocaleString('en-GB', { maximumFractionDigits: decimals, minimumFractionDigits: decimals });
}

/**
 * Horizontal bar chart; suppressed values are drawn as an empty bar labelled "suppressed". With an
 * axis title, the value axis below the bars has round ticks and that title.
 */
export function horizontalBarChart(options: {
  id: string;
  title: string;
  description: string;
  data: BarDatum[];
  unit?: string;
  decimals?: number;
  axisTitle?: string;
}): string {
  const { id, title, description, data, unit = '', decimals = 0 } = options;
  const labelWidth = 190;
  const barArea = 380;
  const rowHeight = 28;
  const barsHeight = data.length * rowHeight + 10;
  const ticks = options.axisTitle ? niceTicks(0, Math.max(1, ...data.map((d) => d.value ?? 0)), 4) : null;
  const max = ticks ? ticks[ticks.length - 1]! : Math.max(1, ...data.map((d) => d.value ?? 0));
  const height = barsHeight + (ticks ? 48 : 0);
  const rows = data.map((d, i) => {
    const y = i * rowHeight + 5;
    const width = d.value === null ? 0 : Math.max(1, (d.value / max) * barArea);
    const valueText = d.value === null ? 'suppressed' : `${formatValue(d.value, decimals)}${unit}`;
    return (
      `<g><text x="${labelWidth - 8}" y="${y + 18}" text-anchor="end">${escapeXml(d.label)}</text>` +
      `<rect class="bar" x="${labelWidth}" y="${y + 4}" width="${width.toFixed(1)}" height="${rowHeight - 8}"></rect>` +
      `<text x="${labelWidth + width + 6}" y="${y + 18}">${escapeXml(valueText)}</text></g>`
    );
  });
  const axis = ticks
    ? ticks
        .map((t) => {
          const x = labelWidth + (t / max) * barArea;
          return `<line class="grid" x1="${x.toFixed(1)}" y1="0" x2="${x.toFixed(1)}" y2="${barsHeight}"></line>${tickText('x', x, barsHeight + 16, tickLabel(t, stepDecimals(ticks)), 'middle')}`;
        })
        .join('') +
      `<line class="axis" x1="${labelWidth}" y1="${barsHeight}" x2="${labelWidth + barArea}" y2="${barsHeight}"></line>` +
      axisTitle('x', labelWidth + barArea / 2, barsHeight + 40, options.axisTitle!)
    : '';
  return (
    `<svg class="joinery-chart" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${labelWidth + barArea + 110} ${height}" width="${labelWidth + barArea + 110}" height="${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${id}-title">${escapeXml(title)}</title><desc id="${id}-desc">${escapeXml(description)}</desc>` +
    axis +
    `<line class="axis" x1="${labelWidth}" y1="0" x2="${labelWidth}" y2="${barsHeight}"></line>` +
    rows.join('') +
    '</svg>'
  );
}

export interface MonthDatum {
  /** YYYY-MM */
  month: string;
  /** null = suppressed */
  value: number | null;
  /** What the line is drawn at for this month (capacity). */
  line: number;
}

const monthShort = (month: string) => new Date(`${month}-01T00:00:00Z`).toLocaleString('en-GB', { month: 'short', timeZone: 'UTC' });

/**
 * Columns a month (e.g. referrals received) against a stepped line (e.g. capacity), on a value
 * axis with round ticks; both axes titled, a key below. Suppressed months are an empty column
 * marked "s".
 */
export function monthlyColumnsAgainstLine(options: {
  id: string;
  title: string;
  description: string;
  data: MonthDatum[];
  valueTitle: string;
  columnLabel: string;
  lineLabel: string;
}): string {
  const { id, title, description, data } = options;
  const left = 78;
  const top = 12;
  const plotW = 560;
  const plotH = 220;
  const width = left + plotW + 20;
  const height = top + plotH + 106;
  const ticks = niceTicks(0, Math.max(1, ...data.map((d) => Math.max(d.value ?? 0, d.line))), 5);
  const max = ticks[ticks.length - 1]!;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const slot = plotW / Math.max(1, data.length);
  const parts: string[] = [
    `<svg class="joinery-chart" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">`,
    `<title id="${id}-title">${escapeXml(title)}</title><desc id="${id}-desc">${escapeXml(description)}</desc>`,
  ];
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${left}" y1="${y(t).toFixed(1)}" x2="${left + plotW}" y2="${y(t).toFixed(1)}"></line>`);
    parts.push(tickText('y', left - 6, y(t) + 4, tickLabel(t, stepDecimals(ticks)), 'end'));
  }
  data.forEach((d, i) => {
    const x = left + i * slot;
    if (d.value === null)
      parts.push(
        `<text class="chart-note" x="${(x + slot / 2).toFixed(1)}" y="${(top + plotH - 4).toFixed(1)}" text-anchor="middle">s</text>`,
      );
    else
      parts.push(
        `<rect class="bar" x="${(x + slot * 0.18).toFixed(1)}" y="${y(d.value).toFixed(1)}" width="${(slot * 0.64).toFixed(1)}" height="${(top + plotH - y(d.value)).toFixed(1)}"></rect>`,
      );
    parts.push(tickText('x', x + slot / 2, top + plotH + 18, monthShort(d.month), 'middle'));
  });
  // The line steps with the months (capacity changes only when services change).
  const path = data
    .map(
      (d, i) =>
        `${i === 0 ? 'M' : 'L'}${(left + i * slot).toFixed(1)},${y(d.line).toFixed(1)} L${(left + (i + 1) * slot).toFixed(1)},${y(d.line).toFixed(1)}`,
    )
    .join(' ');
  if (data.length) parts.push(`<path class="chart-line" d="${path}"></path>`);
  parts.push(`<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}"></line>`);
  parts.push(`<line class="axis" x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}"></line>`);
  parts.push(axisTitle('y', 16, top + plotH / 2, options.valueTitle));
  parts.push(axisTitle('x', left + plotW / 2, top + plotH + 42, 'Month'));
  const ky = top + plotH + 66;
  parts.push(
    `<rect class="bar" x="${left}" y="${ky - 9}" width="18" height="14"></rect><text x="${left + 26}" y="${ky + 3}">${escapeXml(options.columnLabel)}</text>`,
  );
  parts.push(
    `<line class="chart-line" x1="${left}" y1="${ky + 22}" x2="${left + 18}" y2="${ky + 22}"></line><text x="${left + 26}" y="${ky + 27}">${escapeXml(options.lineLabel)}</text>`,
  );
  parts.push('</svg>');
  return parts.join('');
}
