// A waterfall chart of a match explanation, as server-side SVG (no inline styles: the CSP
// forbids them). Starts at the prior, each field adds or takes away bits, ends at the total.
// Always shown with a table of the same figures.

import type { PairExplanation } from './explain.ts';

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

export const FIELD_LABELS: Record<string, string> = {
  given_name: 'Given name',
  family_name: 'Family name',
  birth_date: 'Date of birth',
  sex: 'Sex',
  postcode: 'Postcode',
  address: 'Address',
  nhs_number: 'NHS number',
  email: 'Email',
  phone: 'Phone',
};

/** Each comparison level in plain words, as a reviewer would say it (the labels are the model's). */
const LEVEL_WORDS: Record<string, string> = {
  exact: 'Same',
  nickname: 'A short form of the same name (for example Bill and William)',
  'damerau_levenshtein<=1': 'One character different',
  'damerau_levenshtein<=2': 'Two characters different',
  'jaro_winkler>=0.95': 'Very similar',
  'jaro_winkler>=0.88': 'Similar',
  'jaro_winkler>=0.7': 'Somewhat similar',
  double_metaphone: 'Sounds the same',
  swapped_with_family_name: 'Given and family names the other way round',
  swapped_with_given_name: 'Given and family names the other way round',
  swapped_day_month: 'Day and month swapped',
  one_digit_typo: 'One digit different',
  within_a_year: 'Within a year',
  sector: 'Same postcode sector (nearby streets)',
  district: 'Same postcode district (same area)',
  both_valid_equal: 'Same',
  both_valid_different: 'Different',
  same_local_part: 'Same name before the @',
  same_last_6_digits: 'Same last 6 digits',
  'shared_words>=0.6': 'Most words the same',
  else: 'Different',
  null: 'Not given on one side',
};

/** A comparison level in plain words; an unknown label is shown with its underscores as spaces. */
export function levelInWords(level: string): string {
  return LEVEL_WORDS[level] ?? level.replace(/_/g, ' ');
}

/** Presentation attributes, not inline styles: allowed under the CSP. GOV.UK palette. */
const FILL: Record<string, string> = { prior: '#505a5f', total: '#1d70b8', for: '#00703c', against: '#d4351c', none: '#b1b4b6' };

export function signedBits(value: number): string {
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}`;
}

export function waterfallChart(options: { id: string; explanation: PairExplanation }): string {
  const { id, explanation } = options;
  const steps = [
    { label: 'Starting odds (prior)', start: 0, end: explanation.prior, kind: 'prior' },
    ...(() => {
      let running = explanation.prior;
      return explanation.fields.map((field) => {
        const start = running;
        running += field.weight;
        return {
          label: FIELD_LABELS[field.field] ?? field.field,
          start,
          end: running,
          kind: field.weight > 0 ? 'for' : field.weight < 0 ? 'against' : 'none',
        };
      });
    })(),
    // The person check held the total down (a household's shared details, not the person's).
    ...(explanation.personCheck
      ? [{ label: 'Person check', start: explanation.personCheck.uncapped, end: explanation.total, kind: 'against' }]
      : []),
    { label: 'Match weight', start: 0, end: explanation.total, kind: 'total' },
  ];
  const labelWidth = 170;
  const plotWidth = 420;
  const valueWidth = 80;
  const rowHeight = 26;
  const height = steps.length * rowHeight + 30;
  const values = steps.flatMap((step) => [step.start, step.end]);
  const min = Math.min(0, ...values);
  const max = Math.max(0, ...values);
  const span = Math.max(1, max - min);
  const x = (value: number) => labelWidth + ((value - min) / span) * plotWidth;
  const rows = steps.map((step, i) => {
    const y = i * rowHeight + 5;
    const left = Math.min(x(step.start), x(step.end));
    const width = Math.max(1, Math.abs(x(step.end) - x(step.start)));
    const change = step.kind === 'prior' || step.kind === 'total' ? step.end : step.end - step.start;
    const text = `${signedBits(change)} bits`;
    return (
      `<g><text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escapeXml(step.label)}</text>` +
      `<rect class="waterfall-${step.kind}" fill="${FILL[step.kind]}" x="${left.toFixed(1)}" y="${y + 3}" width="${width.toFixed(1)}" height="${rowHeight - 8}"></rect>` +
      `<text x="${labelWidth + plotWidth + 6}" y="${y + 17}">${escapeXml(text)}</text></g>`
    );
  });
  const zero = x(0);
  const description =
    `Each field's contribution to the match weight in bits, from the prior odds of ${signedBits(explanation.prior)} to a total of ` +
    `${signedBits(explanation.total)} bits, a match probability of ${(explanation.probability * 100).toFixed(1)}%. Bars to the right count for a match, to the left against.` +
    (explanation.personCheck ? ` ${explanation.personCheck.reason}` : '');
  return (
    `<svg class="joinery-chart joinery-waterfall" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${labelWidth + plotWidth + valueWidth + 10} ${height}" width="${labelWidth + plotWidth + valueWidth + 10}" height="${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${id}-title">Why these records do or do not match</title><desc id="${id}-desc">${escapeXml(description)}</desc>` +
    `<line class="axis" stroke="#0b0c0c" x1="${zero.toFixed(1)}" y1="0" x2="${zero.toFixed(1)}" y2="${height - 20}"></line>` +
    rows.join('') +
    `<text x="${zero.toFixed(1)}" y="${height - 5}" text-anchor="middle">0 bits (even odds)</text>` +
    '</svg>'
  );
}
