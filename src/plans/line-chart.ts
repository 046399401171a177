// A server-rendered SVG line chart for scores over time (one line per domain or goal), with both
// axes titled. Colours and dash patterns are SVG presentation attributes, not style attributes,
// so the CSP needs no 'unsafe-inline'. Always shown with a data table beside it (the table is the
// accessible view). A line needs two points: callers show a single measurement as a table alone.

export interface LineSeries {
  label: string;
  values: Array<number | null>;
}

export interface LineChartOptions {
  id: string;
  title: string;
  description: string;
  xLabels: string[];
  series: LineSeries[];
  yMin: number;
  yMax: number;
  /** What the horizontal axis measures, e.g. "Date of assessment". */
  xTitle: string;
  /** What the vertical axis measures, e.g. "Score (0 to 4)". */
  yTitle: string;
  /** Which way is better, said under the chart. */
  yLabel?: string;
}

// GOV.UK palette colours that keep 3:1 contrast against white, each with its own dash pattern.
const palette = ['#1d70b8', '#d4351c', '#00703c', '#4c2c92', '#b58840', '#f47738', '#912b88', '#505a5f', '#28a197', '#0b0c0c'];
const dashes = ['', '6 3', '2 3', '10 4', '4 2 1 2', '1 3', '8 2 2 2', '12 3', '3 3', '5 5'];

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

export function lineChart(options: LineChartOptions): string {
  const { id, title, description, xLabels, series, yMin, yMax, yLabel, xTitle, yTitle } = options;
  const left = 64;
  const plotWidth = 420;
  const legendWidth = 230;
  const top = 12;
  const plotHeight = 220;
  const legendHeight = series.length * 20 + 10;
  const height = Math.max(top + plotHeight + (yLabel ? 66 : 46), legendHeight + top);
  const width = left + plotWidth + legendWidth;
  const span = yMax - yMin || 1;
  const x = (i: number) => left + (xLabels.length <= 1 ? plotWidth / 2 : (i / (xLabels.length - 1)) * plotWidth);
  const y = (v: number) => top + plotHeight - ((v - yMin) / span) * plotHeight;
  const step = span <= 5 ? 1 : span <= 12 ? 2 : Math.ceil(span / 6);
  const parts: string[] = [];
  for (let v = yMin; v <= yMax + 1e-9; v += step) {
    parts.push(
      `<line x1="${left}" y1="${y(v).toFixed(1)}" x2="${left + plotWidth}" y2="${y(v).toFixed(1)}" stroke="#b1b4b6" stroke-width="1"></line>` +
        `<text x="${left - 6}" y="${(y(v) + 5).toFixed(1)}" text-anchor="end">${v}</text>`,
    );
  }
  parts.push(`<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}"></line>`);
  const labelEvery = Math.max(1, Math.ceil(xLabels.length / 6));
  xLabels.forEach((label, i) => {
    if (i % labelEvery !== 0 && i !== xLabels.length - 1) return;
    parts.push(`<text x="${x(i).toFixed(1)}" y="${top + plotHeight + 20}" text-anchor="middle">${escapeXml(label)}</text>`);
  });
  parts.push(`<line class="axis" x1="${left}" y1="${top + plotHeight}" x2="${left + plotWidth}" y2="${top + plotHeight}"></line>`);
  parts.push(
    `<text class="axis-title" x="${left + plotWidth / 2}" y="${top + plotHeight + 40}" text-anchor="middle">${escapeXml(xTitle)}</text>`,
  );
  parts.push(
    `<text class="axis-title" transform="rotate(-90)" x="${-(top + plotHeight / 2)}" y="16" text-anchor="middle">${escapeXml(yTitle)}</text>`,
  );
  if (yLabel) parts.push(`<text x="${left}" y="${top + plotHeight + 60}">${escapeXml(yLabel)}</text>`);
  series.forEach((s, si) => {
    const colour = palette[si % palette.length]!;
    const dash = dashes[si % dashes.length]!;
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
    // Break the line at gaps (null values).
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1)
        parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2.5"${dashAttr} points="${run.join(' ')}"></polyline>`);
      run = [];
    };
    s.values.forEach((v, i) => {
      if (v === null) {
        flush();
        return;
      }
      run.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
      parts.push(
        `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5" fill="${colour}"><title>${escapeXml(`${s.label}, ${xLabels[i] ?? ''}: ${v}`)}</title></circle>`,
      );
    });
    flush();
    const ly = top + 10 + si * 20;
    const lx = left + plotWidth + 16;
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${colour}" stroke-width="3"${dashAttr}></line>` +
        `<text x="${lx + 32}" y="${ly + 5}">${escapeXml(s.label)}</text>`,
    );
  });
  return (
    `<svg class="joinery-chart" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${id}-title">${escapeXml(title)}</title><desc id="${id}-desc">${escapeXml(description)}</desc>` +
    parts.join('') +
    '</svg>'
  );
}
