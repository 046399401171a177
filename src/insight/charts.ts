// Insight charts as server-rendered SVG: an UpSet-style chart of overlaps between services,
// estimates with 95% confidence intervals by group, and a line of the slope index over time
// with its confidence band; value axes have round ticks and titles naming their unit (ui/axis.ts). Accessible (role="img", title, desc), no inline styles (classes in
// /static/insight.css), and always shown beside a data table holding the same numbers.

import { axisTitle, escapeXml, niceTicks, stepDecimals, tickLabel, tickText } from '../ui/index.ts';

export { escapeXml };

const num = (v: number, d = 1) => v.toLocaleString('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });

function open(id: string, title: string, description: string, width: number, height: number): string {
  return (
    `<svg class="joinery-chart insight-chart" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${id}-title">${escapeXml(title)}</title><desc id="${id}-desc">${escapeXml(description)}</desc>`
  );
}

export interface UpsetData {
  sets: Array<{ label: string; people: number | null }>;
  intersections: Array<{ groups: string[]; people: number | null }>;
}

/** UpSet-style chart: bars of people per exact combination of services, a dot matrix of the combination, and set sizes on the left. */
export function upsetChart(options: { id: string; title: string; description: string; data: UpsetData; maxColumns?: number }): string {
  const { id, title, description, data } = options;
  const cols = data.intersections.slice(0, options.maxColumns ?? 14);
  const sets = data.sets;
  const labelW = 150;
  const setBarW = 90;
  const colW = 30;
  const barH = 150;
  const rowH = 22;
  const left = labelW + setBarW + 10;
  const width = left + cols.length * colW + 20;
  const height = barH + 30 + sets.length * rowH + 10;
  const maxCol = Math.max(1, ...cols.map((c) => c.people ?? 0));
  const maxSet = Math.max(1, ...sets.map((s) => s.people ?? 0));
  const parts: string[] = [open(id, title, description, width, height)];
  cols.forEach((c, i) => {
    const h = ((c.people ?? 0) / maxCol) * (barH - 20);
    const x = left + i * colW + 6;
    parts.push(
      `<rect class="bar" x="${x}" y="${(barH - h).toFixed(1)}" width="${colW - 12}" height="${h.toFixed(1)}"><title>${escapeXml(`${c.groups.join(' + ')}: ${c.people === null ? 'fewer than 5' : c.people.toLocaleString('en-GB')}`)}</title></rect>`,
    );
    parts.push(
      `<text class="insight-small" x="${x + (colW - 12) / 2}" y="${(barH - h - 4).toFixed(1)}" text-anchor="middle">${c.people === null ? '' : c.people.toLocaleString('en-GB')}</text>`,
    );
  });
  parts.push(`<line class="axis" x1="${left}" y1="${barH}" x2="${width - 10}" y2="${barH}"></line>`);
  sets.forEach((s, r) => {
    const y = barH + 30 + r * rowH;
    parts.push(`<text x="${labelW - 6}" y="${y + 4}" text-anchor="end">${escapeXml(s.label)}</text>`);
    const w = ((s.people ?? 0) / maxSet) * (setBarW - 10);
    parts.push(
      `<rect class="bar bar--alt" x="${labelW + setBarW - w}" y="${y - 7}" width="${w.toFixed(1)}" height="14"><title>${escapeXml(`${s.label}: ${s.people === null ? 'fewer than 5' : s.people.toLocaleString('en-GB')}`)}</title></rect>`,
    );
    cols.forEach((c, i) => {
      const cx = left + i * colW + colW / 2;
      parts.push(
        `<circle class="${c.groups.includes(s.label) ? 'insight-dot insight-dot--on' : 'insight-dot'}" cx="${cx}" cy="${y}" r="5"></circle>`,
      );
    });
  });
  cols.forEach((c, i) => {
    const rows = sets.map((s, r) => (c.groups.includes(s.label) ? r : -1)).filter((r) => r >= 0);
    if (rows.length > 1) {
      const cx = left + i * colW + colW / 2;
      parts.push(
        `<line class="insight-link" x1="${cx}" y1="${barH + 30 + rows[0]! * rowH}" x2="${cx}" y2="${barH + 30 + rows[rows.length - 1]! * rowH}"></line>`,
      );
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface Estimate {
  label: string;
  value: number | null;
  lower: number | null;
  upper: number | null;
}

/**
 * Estimates by group with 95% confidence intervals (a dot and a whisker) on a value axis with
 * round ticks and a title naming the unit; suppressed groups are labelled.
 */
export function estimateChart(options: {
  id: string;
  title: string;
  description: string;
  data: Estimate[];
  unit: string;
  axisTitle?: string;
  decimals?: number;
}): string {
  const { id, title, description, data, unit, decimals = 1 } = options;
  const labelW = 200;
  const plotW = 360;
  const rowH = 28;
  const top = 6;
  const plotH = data.length * rowH;
  const height = top + plotH + 56;
  const values = data.flatMap((d) => [d.lower, d.upper, d.value]).filter((v): v is number => v !== null && Number.isFinite(v));
  const ticks = niceTicks(Math.min(0, ...values), Math.max(0, ...values), 5);
  const lo = ticks[0]!;
  const hi = ticks[ticks.length - 1]!;
  const x = (v: number) => labelW + ((v - lo) / (hi - lo || 1)) * plotW;
  const tickDecimals = stepDecimals(ticks);
  const parts = [open(id, title, description, labelW + plotW + 130, height)];
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${x(t).toFixed(1)}" y1="${top}" x2="${x(t).toFixed(1)}" y2="${top + plotH}"></line>`);
    parts.push(tickText('x', x(t), top + plotH + 16, tickLabel(t, tickDecimals), 'middle'));
  }
  parts.push(`<line class="axis" x1="${labelW}" y1="${top + plotH}" x2="${labelW + plotW}" y2="${top + plotH}"></line>`);
  if (lo < 0 && hi > 0)
    parts.push(`<line class="insight-zero" x1="${x(0).toFixed(1)}" y1="${top}" x2="${x(0).toFixed(1)}" y2="${top + plotH}"></line>`);
  parts.push(axisTitle('x', labelW + plotW / 2, top + plotH + 42, options.axisTitle ?? unit));
  data.forEach((d, i) => {
    const y = top + i * rowH + 14;
    parts.push(`<text class="insight-label" x="${labelW - 8}" y="${y + 5}" text-anchor="end">${escapeXml(d.label)}</text>`);
    if (d.value === null) {
      parts.push(`<text class="insight-small insight-value" x="${labelW + 6}" y="${y + 5}">suppressed</text>`);
      return;
    }
    if (d.lower !== null && d.upper !== null)
      parts.push(`<line class="insight-ci" x1="${x(d.lower).toFixed(1)}" y1="${y}" x2="${x(d.upper).toFixed(1)}" y2="${y}"></line>`);
    parts.push(`<circle class="insight-point" cx="${x(d.value).toFixed(1)}" cy="${y}" r="5"></circle>`);
    parts.push(`<text class="insight-small insight-value" x="${labelW + plotW + 8}" y="${y + 5}">${num(d.value, decimals)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/**
 * A line over periods with a shaded 95% confidence band and a zero line, on a value axis with
 * round ticks; both axes have titles (the value axis's names its unit).
 */
export function ciLineChart(options: {
  id: string;
  title: string;
  description: string;
  points: Array<{ label: string; value: number | null; lower: number | null; upper: number | null }>;
  unit: string;
  xTitle?: string;
}): string {
  const { id, title, description, points, unit } = options;
  const left = 86;
  const plotW = 460;
  const top = 10;
  const plotH = 200;
  const width = left + plotW + 30;
  const height = top + plotH + 64;
  const values = points.flatMap((p) => [p.value, p.lower, p.upper]).filter((v): v is number => v !== null && Number.isFinite(v));
  const ticks = niceTicks(Math.min(0, ...values), Math.max(0, ...values), 5);
  const lo = ticks[0]!;
  const hi = ticks[ticks.length - 1]!;
  const x = (i: number) => left + (points.length <= 1 ? plotW / 2 : (i / (points.length - 1)) * plotW);
  const y = (v: number) => top + plotH - ((v - lo) / (hi - lo || 1)) * plotH;
  const tickDecimals = stepDecimals(ticks);
  const parts = [open(id, title, description, width, height)];
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${left}" y1="${y(t).toFixed(1)}" x2="${left + plotW}" y2="${y(t).toFixed(1)}"></line>`);
    parts.push(tickText('y', left - 6, y(t) + 4, tickLabel(t, tickDecimals), 'end'));
  }
  parts.push(`<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}"></line>`);
  parts.push(`<line class="insight-zero" x1="${left}" y1="${y(0).toFixed(1)}" x2="${left + plotW}" y2="${y(0).toFixed(1)}"></line>`);
  parts.push(axisTitle('y', 16, top + plotH / 2, unit));
  parts.push(axisTitle('x', left + plotW / 2, top + plotH + 50, options.xTitle ?? 'Quarter'));
  // The band: runs of consecutive periods with an interval.
  let run: number[] = [];
  const flush = () => {
    if (run.length >= 2) {
      const upper = run.map((i) => `${x(i).toFixed(1)},${y(points[i]!.upper!).toFixed(1)}`);
      const lower = [...run].reverse().map((i) => `${x(i).toFixed(1)},${y(points[i]!.lower!).toFixed(1)}`);
      parts.push(`<polygon class="insight-band" points="${[...upper, ...lower].join(' ')}"></polygon>`);
    }
    run = [];
  };
  points.forEach((p, i) => {
    if (p.lower !== null && p.upper !== null) run.push(i);
    else flush();
  });
  flush();
  let path = '';
  let pen = false;
  points.forEach((p, i) => {
    if (p.value === null) {
      pen = false;
      return;
    }
    path += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.value).toFixed(1)} `;
    pen = true;
  });
  if (path) parts.push(`<path class="insight-line" d="${path.trim()}"></path>`);
  points.forEach((p, i) => {
    if (p.value !== null) parts.push(`<circle class="insight-point" cx="${x(i).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="4"></circle>`);
    parts.push(tickText('x', x(i), top + plotH + 18, p.label, 'middle'));
  });
  parts.push('</svg>');
  return parts.join('');
}
