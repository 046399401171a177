// Server-rendered SVG charts: accessible (title, description, role="img") and always shown
// with a data table beside them. No inline styles, so the CSP needs no 'unsafe-inline'.

export interface BarDatum {
  label: string;
  value: number | null; // null = suppressed or unknown
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

function formatValue(value: number, decimals: number): string {
  return value.toLocaleString('en-GB', { maximumFractionDigits: decimals, minimumFractionDigits: decimals });
}

/** Horizontal bar chart; suppressed values are drawn as an empty bar labelled "suppressed". */
export function horizontalBarChart(options: { id: string; title: string; description: string; data: BarDatum[]; unit?: string; decimals?: number }): string {
  const { id, title, description, data, unit = '', decimals = 0 } = options;
  const labelWidth = 190;
  const barArea = 380;
  const rowHeight = 28;
  const height = data.length * rowHeight + 10;
  const max = Math.max(1, ...data.map((d) => d.value ?? 0));
  const rows = data.map((d, i) => {
    const y = i * rowHeight + 5;
    const width = d.value === null ? 0 : Math.max(1, (d.value / max) * barArea);
    const valueText = d.value === null ? 'suppressed' : `${formatValue(d.value, decimals)}${unit}`;
    return `<g><text x="${labelWidth - 8}" y="${y + 18}" text-anchor="end">${escapeXml(d.label)}</text>`
      + `<rect class="bar" x="${labelWidth}" y="${y + 4}" width="${width.toFixed(1)}" height="${rowHeight - 8}"></rect>`
      + `<text x="${labelWidth + width + 6}" y="${y + 18}">${escapeXml(valueText)}</text></g>`;
  });
  return `<svg class="joinery-chart" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${labelWidth + barArea + 110} ${height}" width="${labelWidth + barArea + 110}" height="${height}" xmlns="http://www.w3.org/2000/svg">`
    + `<title id="${id}-title">${escapeXml(title)}</title><desc id="${id}-desc">${escapeXml(description)}</desc>`
    + `<line class="axis" x1="${labelWidth}" y1="0" x2="${labelWidth}" y2="${height}"></line>`
    + rows.join('')
    + '</svg>';
}
