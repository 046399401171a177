// The model report of `joinery link --report`: one self-contained HTML page (no external files,
// so it can be mailed or archived) that lets a data-quality officer see what the model learnt,
// where the candidate pairs fell, what moving the threshold would change and how far to trust it.
// Pure: the caller links, this only writes the page. Every text from the data is escaped.

import type { WeightedLink } from './cluster.ts';
import type { Evaluation } from './evaluate.ts';
import type { LinkResult } from './link.ts';
import { DOUBTFUL_CAP_BITS, log2Odds, OTHER_PERSON_CAP_BITS, probabilityFromWeight } from './model.ts';
import type { FieldKind, FieldModel } from './types.ts';
import { atOrAbove, binOf, lowerEdge, originBin } from './weight-histogram.ts';
import type { WeightHistogram } from './weight-histogram.ts';
import { escapeXml, niceTicks, stepDecimals, tickLabel } from '../ui/index.ts';

export interface LinkReportInput {
  result: Pick<LinkResult, 'model' | 'candidatePairCount' | 'linkCount' | 'weightHistogram' | 'links' | 'uncertainPairs'>;
  /** Input files as given on the command line. */
  inputs: readonly string[];
  /** `--map` as parsed: CSV column → field key (`given_name`, `text:NAME`). */
  mappings: readonly { source: string; field: string }[];
  /** Record ids in input order (the positions pairs refer to). */
  recordIds: readonly string[];
  persons: number;
  /** The match probability links were made at (the model's link threshold unless overridden). */
  clusterThreshold: number;
  /**
   * `result.links` and `result.uncertainPairs` together hold every candidate pair at or above this
   * weight (bits): the thresholds labels can be measured at. Infinity when they cannot.
   */
  pairsCompleteFrom: number;
  /** With `--labels`: the known answers and the clusters scored against them. */
  labels?: { path: string; truth: ReadonlyMap<string, string>; evaluation: Evaluation };
  generatedAt: Date;
}

/** Threshold steps shown either side of the current one, in bits. */
const THRESHOLD_STEPS = [-4, -3, -2, -1, 0, 1, 2, 3, 4] as const;

export interface ThresholdRow {
  /** Bits from the current threshold. */
  step: number;
  weight: number;
  probability: number;
  pairs: number;
  /** True matches the model expects among those pairs: the sum of their match probabilities. */
  expectedMatches: number;
  /** expectedMatches / pairs; null when no pair would link. */
  estimatedPrecision: number | null;
  /** expectedMatches / the expected matches among all candidate pairs; null when there are none. */
  estimatedRecall: number | null;
  /** With labels, pairs of labelled records at or above the threshold scored against them. */
  measured: { precision: number | null; recall: number | null } | null;
}

/** Text from the data (file names, column names) made safe for the page: the charts' own escaping. */
export const escapeHtml = escapeXml;

const FIELD_TITLES: Record<Exclude<FieldKind, 'text'>, string> = {
  given_name: 'Given name',
  family_name: 'Family name',
  birth_date: 'Date of birth',
  sex: 'Sex',
  postcode: 'Postcode',
  address: 'Address',
  nhs_number: 'NHS number',
  email: 'Email address',
  phone: 'Phone number',
};

/** A field's name for people: `text:NAME` fields keep the name given in --map. */
export function fieldTitle(key: string, kind: FieldKind): string {
  return kind === 'text' ? `Free text “${key.slice('text:'.length)}”` : FIELD_TITLES[kind];
}

/** Comparison levels in plain words; the internal code is kept beside it for whoever reads the code. */
const LEVEL_WORDS: Record<string, string> = {
  exact: 'Exactly the same',
  nickname: 'One is a nickname of the other (Bob and Robert)',
  'damerau_levenshtein<=1': 'One typing error apart (a character missing, added, changed or two swapped)',
  'damerau_levenshtein<=2': 'Two typing errors apart',
  'jaro_winkler>=0.95': 'Spelt very nearly the same',
  'jaro_winkler>=0.88': 'Spelt similarly',
  'jaro_winkler>=0.7': 'Spelt somewhat alike',
  double_metaphone: 'Sound alike',
  swapped_with_family_name: 'Given and family names written the other way round',
  swapped_with_given_name: 'Written the other way round (counted on the given name instead)',
  swapped_day_month: 'Day and month swapped',
  one_digit_typo: 'One digit different',
  within_a_year: 'Within a year of each other',
  sector: 'Same postcode sector (such as RV3 2), not the same postcode',
  district: 'Same postcode district (such as RV3) only',
  both_valid_equal: 'Both valid and the same',
  both_valid_different: 'Both valid and different',
  same_local_part: 'Same mailbox name at another domain',
  same_last_6_digits: 'Same last six digits',
  'shared_words>=0.6': 'Most words shared (60% or more)',
};

export function levelWords(kind: FieldKind, label: string): string {
  if (label === 'else') {
    if (kind === 'birth_date') return 'Anything else (more than a year apart)';
    if (kind === 'sex') return 'Different';
    return 'Anything else (different)';
  }
  if (label === 'exact' && kind === 'sex') return 'The same';
  return LEVEL_WORDS[label] ?? label;
}

const count = (value: number): string => Math.round(value).toLocaleString('en-GB');
const signedBits = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}`;
const bits = (value: number): string => `${value < 0 ? '−' : ''}${Math.abs(value).toFixed(1)}`;
/** Axis ticks fall on round numbers: no decimals unless the step needs them. */

/** A share as a percentage, with enough figures to tell 0.01% from 0.0001%. */
export function percent(share: number): string {
  const value = share * 100;
  if (value === 0) return '0%';
  if (value >= 99 && value < 100) {
    // Near certainty the interesting part is the distance from 100%.
    const decimals = Math.min(4, Math.max(1, Math.ceil(-Math.log10(100 - value)) + 1));
    return `${value.toFixed(decimals)}%`;
  }
  if (value >= 1) return `${value.toFixed(1)}%`;
  return `${value.toPrecision(2)}%`;
}

const figure = (value: number | null): string => (value === null ? 'no pairs' : value.toFixed(3));

/** "1 in 123,456" for small shares: easier to picture than a percentage with zeros. */
export function share(value: number, below = 0.001): string {
  return value >= below || value === 0 ? percent(value) : `1 in ${count(1 / value)}`;
}

/** True matches expected in a band: whole numbers once there are enough to count. */
function expected(value: number): string {
  if (value >= 10) return count(value);
  if (value >= 0.01) return value.toFixed(2);
  return value > 0 ? 'under 0.01' : '0';
}

/** Pairs of labelled records at or above each threshold, scored against the labels. */
export function measureAtThresholds(
  pairs: readonly WeightedLink[],
  recordIds: readonly string[],
  truth: ReadonlyMap<string, string>,
  thresholds: readonly number[],
): { precision: number | null; recall: number | null }[] {
  const trueSize = new Map<string, number>();
  for (const id of recordIds) {
    const cluster = truth.get(id);
    if (cluster !== undefined) trueSize.set(cluster, (trueSize.get(cluster) ?? 0) + 1);
  }
  let truePairs = 0;
  for (const size of trueSize.values()) truePairs += (size * (size - 1)) / 2;
  const linked = new Float64Array(thresholds.length);
  const right = new Float64Array(thresholds.length);
  for (const pair of pairs) {
    const clusterA = truth.get(recordIds[pair.a]!);
    const clusterB = truth.get(recordIds[pair.b]!);
    if (clusterA === undefined || clusterB === undefined) continue;
    thresholds.forEach((threshold, t) => {
      if (pair.weight < threshold) return;
      linked[t]! += 1;
      if (clusterA === clusterB) right[t]! += 1;
    });
  }
  return thresholds.map((_, t) => ({
    precision: linked[t] === 0 ? null : right[t]! / linked[t]!,
    recall: truePairs === 0 ? null : right[t]! / truePairs,
  }));
}

/** The threshold table: pairs, expected matches and estimated precision and recall a bit at a time around the current threshold. */
export function thresholdRows(input: LinkReportInput): ThresholdRow[] {
  const histogram = input.result.weightHistogram;
  if (!histogram) throw new Error('the model report needs the weight histogram (link with weightHistogram)');
  const all = atOrAbove(histogram, -histogram.counts.length);
  const weights = THRESHOLD_STEPS.map((step) => histogram.origin + step * histogram.binBits);
  const measured = input.labels
    ? measureAtThresholds([...input.result.links, ...input.result.uncertainPairs], input.recordIds, input.labels.truth, weights)
    : null;
  return THRESHOLD_STEPS.map((step, index) => {
    const { pairs, expectedMatches } = atOrAbove(histogram, step);
    const weight = weights[index]!;
    return {
      step,
      weight,
      probability: probabilityFromWeight(weight),
      pairs,
      expectedMatches,
      estimatedPrecision: pairs === 0 ? null : expectedMatches / pairs,
      estimatedRecall: all.expectedMatches === 0 ? null : expectedMatches / all.expectedMatches,
      // Below the weight the pairs were kept from, labels cannot be checked against every pair.
      measured: measured && weight >= input.pairsCompleteFrom ? measured[index]! : null,
    };
  });
}

function f1(precision: number | null, recall: number | null): number | null {
  if (precision === null || recall === null) return null;
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

/** A table in a container that scrolls sideways on a narrow screen rather than widening the page. */
function scrollingTable(id: string, caption: string, head: string, body: string): string {
  return (
    `<div class="table-container" role="region" aria-labelledby="${id}-caption" tabindex="0">` +
    `<table class="table" id="${id}"><caption class="table-caption" id="${id}-caption">${caption}</caption>` +
    `<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`
  );
}

// --- Charts: server-drawn SVG scaled to the width available, each with a title, a
// description, labelled axes and a table of the same figures beside it.

const COLOUR = {
  text: '#0b0c0c',
  axis: '#0b0c0c',
  grid: '#b1b4b6',
  link: '#1d70b8',
  review: '#f47738',
  below: '#505a5f',
  for: '#00703c',
  against: '#d4351c',
};

function svgOpen(id: string, title: string, description: string, width: number, height: number): string {
  return (
    `<svg class="chart" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg" font-family="Arial, sans-serif" font-size="14" fill="${COLOUR.text}">` +
    `<title id="${id}-title">${escapeHtml(title)}</title><desc id="${id}-desc">${escapeHtml(description)}</desc>`
  );
}

interface Span {
  first: number;
  last: number;
}

/** Bins to draw: every non-empty bin, and both thresholds, with a bin of room either side. */
function histogramSpan(histogram: WeightHistogram, reviewWeight: number): Span {
  let first = Math.min(originBin() - 4, binOf(histogram, reviewWeight));
  let last = originBin() + 4;
  histogram.counts.forEach((pairs, bin) => {
    if (pairs === 0) return;
    first = Math.min(first, bin);
    last = Math.max(last, bin);
  });
  return { first: Math.max(0, first - 1), last: Math.min(histogram.counts.length - 1, last + 1) };
}

function binLabel(histogram: WeightHistogram, bin: number): string {
  const from = lowerEdge(histogram, bin);
  const to = from + histogram.binBits;
  if (bin === 0) return `below ${bits(to)}`;
  if (bin === histogram.counts.length - 1) return `${bits(from)} and above`;
  return `${bits(from)} to ${bits(to)}`;
}

/** Drawn narrow so that on a phone, scaled to the screen, its text stays readable. */
const HISTOGRAM_SIZE = { width: 560, height: 340 };

function weightHistogramChart(histogram: WeightHistogram, reviewWeight: number, span: Span): string {
  const { width, height } = HISTOGRAM_SIZE;
  const left = 78;
  const right = 16;
  const top = 44;
  const bottom = 64;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const from = lowerEdge(histogram, span.first);
  const to = lowerEdge(histogram, span.last + 1);
  const x = (weight: number): number => left + ((weight - from) / (to - from)) * plotWidth;
  let most = 1;
  for (let bin = span.first; bin <= span.last; bin++) most = Math.max(most, histogram.counts[bin]!);
  // Counts run from a handful of true matches to millions of unrelated pairs: a log scale
  // (of 1 + count, so a single pair still shows) lets both be seen.
  const decades = Math.max(1, Math.ceil(Math.log10(most + 1)));
  const y = (pairs: number): number => top + plotHeight - (Math.log10(1 + pairs) / decades) * plotHeight;
  const linkWeight = histogram.origin;
  const bars: string[] = [];
  for (let bin = span.first; bin <= span.last; bin++) {
    const pairs = histogram.counts[bin]!;
    if (pairs === 0) continue;
    const edge = lowerEdge(histogram, bin);
    const colour = edge >= linkWeight ? COLOUR.link : edge >= reviewWeight ? COLOUR.review : COLOUR.below;
    bars.push(
      `<rect x="${(x(edge) + 0.5).toFixed(1)}" y="${y(pairs).toFixed(1)}" width="${Math.max(1, x(edge + histogram.binBits) - x(edge) - 1).toFixed(1)}" height="${(top + plotHeight - y(pairs)).toFixed(1)}" fill="${colour}"><title>${escapeHtml(`${binLabel(histogram, bin)} bits: ${count(pairs)} pairs`)}</title></rect>`,
    );
  }
  const xTicks: string[] = [];
  const ticks = niceTicks(from, to, 8).filter((tick) => tick >= from && tick <= to);
  const decimals = stepDecimals(ticks);
  for (const tick of ticks) {
    xTicks.push(
      `<line x1="${x(tick).toFixed(1)}" y1="${top + plotHeight}" x2="${x(tick).toFixed(1)}" y2="${top + plotHeight + 6}" stroke="${COLOUR.axis}"/>` +
        `<text x="${x(tick).toFixed(1)}" y="${top + plotHeight + 22}" text-anchor="middle">${tickLabel(tick, decimals)}</text>`,
    );
  }
  const yTicks: string[] = [];
  for (let decade = 0; decade <= decades; decade++) {
    const pairs = decade === 0 ? 0 : 10 ** (decade - 1);
    yTicks.push(
      `<line x1="${left - 6}" y1="${y(pairs).toFixed(1)}" x2="${left + plotWidth}" y2="${y(pairs).toFixed(1)}" stroke="${COLOUR.grid}" stroke-width="${decade === 0 ? 0 : 0.5}"/>` +
        `<text x="${left - 10}" y="${(y(pairs) + 5).toFixed(1)}" text-anchor="end">${count(pairs)}</text>`,
    );
  }
  const marker = (weight: number, label: string, row: number, anchor: 'start' | 'end'): string =>
    `<line x1="${x(weight).toFixed(1)}" y1="${top - 8 - row * 16}" x2="${x(weight).toFixed(1)}" y2="${top + plotHeight}" stroke="${COLOUR.axis}" stroke-width="2" stroke-dasharray="6 3"/>` +
    `<text x="${(x(weight) + (anchor === 'start' ? 5 : -5)).toFixed(1)}" y="${top - 10 - row * 16}" text-anchor="${anchor}" font-weight="bold">${escapeHtml(label)}</text>`;
  return (
    `<line x1="${left}" y1="${top + plotHeight}" x2="${left + plotWidth}" y2="${top + plotHeight}" stroke="${COLOUR.axis}"/>` +
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}" stroke="${COLOUR.axis}"/>` +
    yTicks.join('') +
    bars.join('') +
    xTicks.join('') +
    marker(linkWeight, `Link threshold ${bits(linkWeight)} bits`, 0, 'start') +
    marker(reviewWeight, `Review threshold ${bits(reviewWeight)} bits`, 1, 'end') +
    `<text class="axis-title" x="${left + plotWidth / 2}" y="${height - 12}" text-anchor="middle">Match weight (bits)</text>` +
    `<text class="axis-title" transform="translate(18 ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle">Candidate pairs (number, log scale)</text>`
  );
}

/** Splits a label into lines of at most `width` characters at spaces (SVG text does not wrap). */
function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

function levelWeightChart(id: string, title: string, levels: readonly { words: string; weight: number }[]): string {
  const width = 480;
  const left = 56;
  const right = 56;
  const lineHeight = 17;
  const barHeight = 16;
  const top = 8;
  const axisHeight = 56;
  const labelled = levels.map((level) => ({ ...level, lines: wrapWords(level.words, 56) }));
  const rowHeights = labelled.map((level) => level.lines.length * lineHeight + barHeight + 12);
  const height = top + rowHeights.reduce((sum, rowHeight) => sum + rowHeight, 0) + axisHeight;
  const plotWidth = width - left - right;
  const lowest = Math.min(0, ...levels.map((level) => level.weight));
  const highest = Math.max(0, ...levels.map((level) => level.weight));
  const tickValues = niceTicks(lowest, Math.max(highest, lowest + 1), 6);
  const decimals = stepDecimals(tickValues);
  const from = tickValues[0]!;
  const to = tickValues.at(-1)!;
  const x = (weight: number): number => left + ((weight - from) / (to - from)) * plotWidth;
  const zero = x(0);
  let rowTop = top;
  const rows = labelled.map((level, index) => {
    const end = x(level.weight);
    const barLeft = Math.min(zero, end);
    const barWidth = Math.max(1, Math.abs(end - zero));
    const positive = level.weight >= 0;
    const barTop = rowTop + level.lines.length * lineHeight + 6;
    const lines = level.lines.map((line, n) => `<tspan x="8" y="${rowTop + 14 + n * lineHeight}">${escapeHtml(line)}</tspan>`).join('');
    // The zero line runs beside the bars only, so it never crosses a label.
    const row =
      `<text>${lines}</text>` +
      `<line x1="${zero.toFixed(1)}" y1="${barTop - 3}" x2="${zero.toFixed(1)}" y2="${rowTop + rowHeights[index]!}" stroke="${COLOUR.axis}"/>` +
      `<rect x="${barLeft.toFixed(1)}" y="${barTop}" width="${barWidth.toFixed(1)}" height="${barHeight}" fill="${positive ? COLOUR.for : COLOUR.against}"/>` +
      `<text x="${(positive ? end + 5 : end - 5).toFixed(1)}" y="${barTop + 13}" text-anchor="${positive ? 'start' : 'end'}">${signedBits(level.weight)}</text>`;
    rowTop += rowHeights[index]!;
    return row;
  });
  const axisY = rowTop + 4;
  const ticks: string[] = [];
  for (const tick of tickValues) {
    ticks.push(
      `<line x1="${x(tick).toFixed(1)}" y1="${axisY}" x2="${x(tick).toFixed(1)}" y2="${axisY + 6}" stroke="${COLOUR.axis}"/>` +
        `<text x="${x(tick).toFixed(1)}" y="${axisY + 22}" text-anchor="middle">${tickLabel(tick, decimals)}</text>`,
    );
  }
  const description =
    `Match weight in bits of each comparison level: ${levels.map((level) => `${level.words}, ${signedBits(level.weight)} bits`).join('; ')}. ` +
    'Bars to the right of zero count for a match, to the left against.';
  return (
    svgOpen(id, title, description, width, height) +
    rows.join('') +
    `<line x1="${left}" y1="${axisY}" x2="${left + plotWidth}" y2="${axisY}" stroke="${COLOUR.axis}"/>` +
    ticks.join('') +
    `<text class="axis-title" x="${left + plotWidth / 2}" y="${height - 6}" text-anchor="middle">Match weight (bits)</text>` +
    '</svg>'
  );
}

// --- The page.

const STYLE = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font-family:Arial,sans-serif;font-size:16px;line-height:1.25;color:#0b0c0c;background:#fff}
@media (min-width:641px){body{font-size:19px;line-height:1.32}}
.header{background:#0b0c0c;color:#fff;border-bottom:10px solid #1d70b8;padding:10px 0}
.header p{margin:0;font-weight:bold;font-size:20px}
.width-container{max-width:960px;margin:0 15px}
@media (min-width:1020px){.width-container{margin:0 auto}}
main{padding:20px 0 40px}
h1{font-size:32px;line-height:1.1;margin:0 0 20px}
h2{font-size:24px;line-height:1.2;margin:40px 0 15px}
h3{font-size:19px;margin:30px 0 10px}
@media (min-width:641px){h1{font-size:48px}h2{font-size:36px}h3{font-size:24px}}
p,ul,ol,dl{margin:0 0 15px;max-width:40em}
.lead{font-size:19px}
@media (min-width:641px){.lead{font-size:24px}}
.hint{color:#505a5f}
a{color:#1d70b8}
a:focus,.table-container:focus,summary:focus{outline:3px solid #fd0;outline-offset:0;background:#fd0;color:#0b0c0c;box-shadow:0 -2px #fd0,0 4px #0b0c0c}
.contents li{margin-bottom:8px}
.contents a{display:inline-block;min-height:24px;padding:2px 0}
.table-container:focus{background:none}
code,.wrap{overflow-wrap:anywhere}
.summary-list{margin:0 0 20px}
.summary-list div{border-bottom:1px solid #b1b4b6;padding:10px 0}
@media (min-width:641px){.summary-list div{display:flex}.summary-list dt{flex:0 0 35%;padding-right:20px}}
.summary-list dt{font-weight:bold}
.summary-list dd{margin:0;overflow-wrap:anywhere}
.plain{margin:0;padding-left:20px}
.table-container{overflow-x:auto;margin:0 0 20px;max-width:100%}
.table{border-collapse:collapse;font-size:16px;min-width:100%}
.table-caption{text-align:left;font-weight:bold;font-size:19px;padding-bottom:10px}
.table th,.table td{border-bottom:1px solid #b1b4b6;padding:8px 16px 8px 0;text-align:left;vertical-align:top}
.table .numeric{text-align:right}
.table tr.current th,.table tr.current td{font-weight:bold;background:#f3f2f1}
.inset{border-left:10px solid #b1b4b6;padding:15px;margin:0 0 20px;max-width:40em}
.warning{border-left:10px solid #d4351c;padding:15px;margin:0 0 20px;max-width:40em}
figure{margin:0 0 20px}
th .hint code{font-weight:normal}
.chart{display:block;width:100%;max-width:640px;height:auto;margin:0 0 10px}
details{margin:0 0 20px}
summary{color:#1d70b8;text-decoration:underline;cursor:pointer}
footer{border-top:1px solid #b1b4b6;padding:20px 0;color:#505a5f;font-size:16px}
`;

function summarySection(input: LinkReportInput): string {
  const { model } = input.result;
  const linkWeight = log2Odds(input.clusterThreshold);
  const reviewWeight = log2Odds(model.reviewThreshold);
  const rows: [string, string][] = [
    ['Input files', input.inputs.map((file) => `<code>${escapeHtml(file)}</code>`).join('<br>')],
    ['Records', count(input.recordIds.length)],
    [
      'Candidate pairs compared',
      `${count(input.result.candidatePairCount)} <span class="hint">(pairs sharing a blocking key; no other pair is ever compared)</span>`,
    ],
    ['Pairs at or above the link threshold', count(input.result.linkCount)],
    ['Persons found', count(input.persons)],
    ['Link threshold', `match probability ${percent(input.clusterThreshold)}, a match weight of ${bits(linkWeight)} bits`],
    ['Review threshold', `match probability ${percent(model.reviewThreshold)}, a match weight of ${bits(reviewWeight)} bits`],
    [
      'Starting odds',
      `two records chosen at random are the same person with probability ${share(model.priorMatchProbability, 0.01)} (${signedBits(log2Odds(model.priorMatchProbability))} bits)`,
    ],
    [
      'Fields mapped',
      `<ul class="plain">${input.mappings.map((mapping) => `<li>column <code>${escapeHtml(mapping.source)}</code> as <code>${escapeHtml(mapping.field)}</code></li>`).join('')}</ul>`,
    ],
  ];
  if (input.labels)
    rows.push([
      'Known answers',
      `<code>${escapeHtml(input.labels.path)}</code>: ${count(input.labels.evaluation.labelled)} records labelled`,
    ]);
  return (
    '<h2 id="summary">Summary of the run</h2><dl class="summary-list">' +
    rows.map(([term, value]) => `<div><dt>${term}</dt><dd>${value}</dd></div>`).join('') +
    '</dl>'
  );
}

function accuracySection(input: LinkReportInput, rows: readonly ThresholdRow[]): string {
  const current = rows.find((row) => row.step === 0)!;
  const evaluation = input.labels?.evaluation;
  const measuredHead = evaluation ? '<th scope="col" class="numeric">Measured against your labels</th>' : '';
  const line = (name: string, estimate: number | null, measured: number | undefined): string =>
    `<tr><th scope="row">${name}</th><td class="numeric" data-value="${estimate ?? ''}">${estimate === null ? 'not estimated' : estimate.toFixed(3)}</td>` +
    (evaluation ? `<td class="numeric" data-value="${measured ?? ''}">${measured === undefined ? '' : measured.toFixed(3)}</td>` : '') +
    '</tr>';
  const body =
    line('Pairwise precision', current.estimatedPrecision, evaluation?.pairs.precision) +
    line('Pairwise recall', current.estimatedRecall, evaluation?.pairs.recall) +
    line('Pairwise F1', f1(current.estimatedPrecision, current.estimatedRecall), evaluation?.pairs.f1) +
    (evaluation
      ? line('Person (cluster) precision', null, evaluation.clusters.precision) +
        line('Person (cluster) recall', null, evaluation.clusters.recall) +
        line('Person (cluster) F1', null, evaluation.clusters.f1)
      : '');
  const measuredText = evaluation
    ? `<p>Against <code>${escapeHtml(input.labels!.path)}</code> (${count(evaluation.labelled)} records labelled` +
      `${evaluation.unlabelled > 0 ? `, ${count(evaluation.unlabelled)} not in the labels left out` : ''}): ` +
      `${count(evaluation.pairs.truePositives)} pairs joined rightly, ${count(evaluation.pairs.falsePositives)} wrongly and ${count(evaluation.pairs.falseNegatives)} missed; ` +
      `${count(evaluation.clusters.exact)} of the ${count(evaluation.clusters.predicted)} persons found are exactly one true person, of ${count(evaluation.clusters.true)} true persons.</p>` +
      "<p>Measured figures score the persons written to the output: records joined through a third record count as joined. The model's estimates score pairs one by one.</p>"
    : '<p>To measure these against known answers, run again with <code>--labels truth.csv</code> (columns <code>record_id,cluster_id</code>).</p>';
  return (
    '<h2 id="accuracy">How accurate the linking is</h2>' +
    '<p><strong>Precision</strong>: of the pairs joined, the share that are the same person. <strong>Recall</strong>: of the pairs that are the same person, the share joined. <strong>F1</strong> balances the two.</p>' +
    scrollingTable(
      'accuracy-table',
      'Precision, recall and F1 at the current link threshold',
      `<th scope="col">Measure</th><th scope="col" class="numeric">Model's own estimate</th>${measuredHead}`,
      body,
    ) +
    measuredText +
    '<div class="warning"><h3 id="estimates-caveat">How far to trust the model\'s own estimates</h3>' +
    '<p>The estimates come from the model alone, without any known answers: each candidate pair counts as the share of a true match its match probability says. The true matches expected above a threshold are the sum of those probabilities; estimated precision divides them by the pairs above the threshold, estimated recall by the sum over every candidate pair.</p>' +
    '<p>They are only as right as the model. They can be wrong because:</p><ul>' +
    '<li>the model treats fields as independent: a household shares a surname, an address and a phone number, so the model can be too sure about such pairs and estimate precision too high;</li>' +
    '<li>recall is estimated only among candidate pairs: true matches that share no blocking key (every identifying field mistyped or missing) are never compared and the estimate cannot see them, so true recall can be lower;</li>' +
    '<li>m and the starting odds were learnt from this data: data with many duplicates of one kind (or systematic errors) can teach the model something other than "the same person";</li>' +
    '<li>pairs the person check held down (they share what a household shares but not a given name or birth date) count as no match at all: if some are the same person, true recall is lower;</li>' +
    '<li>with few pairs near a threshold the figures there are rough.</li></ul>' +
    "<p>Check them on a sample: a reviewer's decisions on a few hundred pairs, given as <code>--labels</code>, measure the real figures.</p></div>"
  );
}

function thresholdSection(input: LinkReportInput, rows: readonly ThresholdRow[]): string {
  const measuring = input.labels !== undefined;
  const current = rows.find((row) => row.step === 0)!;
  const head =
    '<th scope="col">Link threshold (match weight)</th><th scope="col">As a match probability</th>' +
    '<th scope="col" class="numeric">Pairs that would link</th><th scope="col" class="numeric">Change from now</th>' +
    '<th scope="col" class="numeric">Expected wrong links</th><th scope="col" class="numeric">Estimated precision</th><th scope="col" class="numeric">Estimated recall</th>' +
    (measuring
      ? '<th scope="col" class="numeric">Measured precision (pairs)</th><th scope="col" class="numeric">Measured recall (pairs)</th>'
      : '');
  const body = rows
    .map((row) => {
      const change = row.pairs - current.pairs;
      const measuredCells = measuring
        ? `<td class="numeric" data-value="${row.measured?.precision ?? ''}">${row.measured ? figure(row.measured.precision) : 'not measured'}</td>` +
          `<td class="numeric" data-value="${row.measured?.recall ?? ''}">${row.measured ? figure(row.measured.recall) : 'not measured'}</td>`
        : '';
      return (
        `<tr${row.step === 0 ? ' class="current"' : ''} data-step="${row.step}">` +
        `<th scope="row">${bits(row.weight)} bits${row.step === 0 ? ' (now)' : ` (${signedBits(row.step)})`}</th>` +
        `<td>${percent(row.probability)}</td>` +
        `<td class="numeric" data-value="${row.pairs}">${count(row.pairs)}</td>` +
        `<td class="numeric">${row.step === 0 ? '–' : `${change >= 0 ? '+' : '−'}${count(Math.abs(change))}`}</td>` +
        `<td class="numeric">${count(row.pairs - row.expectedMatches)}</td>` +
        `<td class="numeric" data-value="${row.estimatedPrecision ?? ''}">${figure(row.estimatedPrecision)}</td>` +
        `<td class="numeric" data-value="${row.estimatedRecall ?? ''}">${figure(row.estimatedRecall)}</td>` +
        measuredCells +
        '</tr>'
      );
    })
    .join('');
  const up = rows.find((row) => row.step === 1)!;
  const down = rows.find((row) => row.step === -1)!;
  const fewer = current.pairs - up.pairs;
  const fewerTrue = current.expectedMatches - up.expectedMatches;
  const more = down.pairs - current.pairs;
  const moreTrue = down.expectedMatches - current.expectedMatches;
  return (
    '<h2 id="threshold">What moving the threshold would change</h2>' +
    "<p>A pair of records links when its match weight is at or above the link threshold. Each row shows what would happen with the threshold a bit higher or lower. Estimates are the model's own (see above).</p>" +
    `<p>Raising the threshold by one bit would link ${count(fewer)} fewer pairs, of which the model expects about ${count(fewerTrue)} are true matches. ` +
    `Lowering it by one bit would link ${count(more)} more pairs, of which the model expects about ${count(moreTrue)} are true matches.</p>` +
    scrollingTable('threshold-table', 'Pairs that would link at thresholds around the current one', head, body) +
    '<p class="hint">Pairs link one by one here; persons are then formed from the links, so one wrong link can join two people\'s records. The threshold is not yet a command-line option: it is the model\'s default.</p>'
  );
}

function distributionSection(input: LinkReportInput): string {
  const histogram = input.result.weightHistogram!;
  const reviewWeight = log2Odds(input.result.model.reviewThreshold);
  const span = histogramSpan(histogram, reviewWeight);
  const total = atOrAbove(histogram, -histogram.counts.length);
  const linked = atOrAbove(histogram, 0);
  const reviewBand =
    total.pairs - linked.pairs - histogram.counts.slice(0, binOf(histogram, reviewWeight)).reduce((sum, pairs) => sum + pairs, 0);
  const description =
    `A histogram of the ${count(total.pairs)} candidate pairs by match weight in one-bit bands, the number of pairs on a log scale. ` +
    `${count(linked.pairs)} pairs are at or above the link threshold of ${bits(histogram.origin)} bits; ` +
    `about ${count(reviewBand)} lie between the review threshold of ${bits(reviewWeight)} bits and the link threshold. ` +
    `${count(total.heldDown)} pairs were held down by the person check. A clear gap between a low hump of different people and a high hump of the same person means the fields tell them apart well.`;
  const body: string[] = [];
  for (let bin = span.first; bin <= span.last; bin++) {
    const pairs = histogram.counts[bin]!;
    if (pairs === 0) continue;
    body.push(
      `<tr><th scope="row">${binLabel(histogram, bin)}</th><td class="numeric">${count(pairs)}</td><td class="numeric">${count(histogram.heldDown[bin]!)}</td><td class="numeric">${expected(histogram.expectedMatches[bin]!)}</td></tr>`,
    );
  }
  return (
    '<h2 id="distribution">Match weights of the candidate pairs</h2>' +
    "<p>Each pair's match weight is the starting odds plus what every field added or took away, in bits: one bit more doubles the odds that the two records are the same person. Pairs of different people gather on the left, pairs of the same person on the right; pairs between the review and the link thresholds are the doubtful ones.</p>" +
    `<p>The person check holds a pair down whatever its fields add up to when nothing that identifies the person agrees: at most ${bits(DOUBTFUL_CAP_BITS)} bits (review) when nothing is known or the birth dates are wholly different, ${bits(OTHER_PERSON_CAP_BITS)} bits when every one of the given name, birth date and NHS number that both records hold differs. ` +
    `It held down ${count(total.heldDown)} of these pairs, which gather at those two weights; the model's estimates count none of them as true matches.</p>` +
    '<figure class="figure">' +
    svgOpen('weight-histogram', 'Candidate pairs by match weight', description, HISTOGRAM_SIZE.width, HISTOGRAM_SIZE.height) +
    weightHistogramChart(histogram, reviewWeight, span) +
    '</svg>' +
    '<figcaption class="hint">Blue: at or above the link threshold. Orange: between the review and the link threshold. Grey: below the review threshold.</figcaption></figure>' +
    '<details><summary>The histogram as a table</summary>' +
    scrollingTable(
      'weight-table',
      'Candidate pairs by match weight',
      '<th scope="col">Match weight (bits)</th><th scope="col" class="numeric">Candidate pairs</th><th scope="col" class="numeric">Of which held down by the person check</th><th scope="col" class="numeric">True matches the model expects</th>',
      body.join(''),
    ) +
    '</details>'
  );
}

function fieldSection(field: FieldModel, index: number, sources: readonly string[]): string {
  const { kind, key } = field.spec;
  const title = fieldTitle(key, kind);
  const levels = field.levels.map((level) => ({ words: levelWords(kind, level.label), weight: Math.log2(level.m / level.u), ...level }));
  const id = `field-${index + 1}`;
  const body = levels
    .map(
      (level) =>
        `<tr><th scope="row">${escapeHtml(level.words)} <span class="hint">(<code>${escapeHtml(level.label)}</code>)</span></th>` +
        `<td class="numeric" data-value="${level.m}">${share(level.m)}</td><td class="numeric" data-value="${level.u}">${share(level.u)}</td>` +
        `<td class="numeric" data-value="${level.weight}">${signedBits(level.weight)}</td></tr>`,
    )
    .join('');
  const fromColumns =
    sources.length === 0
      ? ''
      : `From column${sources.length === 1 ? '' : 's'} ${sources.map((source) => `<code>${escapeHtml(source)}</code>`).join(', ')}. `;
  const frequency = field.termFrequency
    ? 'An exact match is weighed by how common the value is: a shared rare value counts for more than a shared common one. The exact row shows the weight for a value of typical frequency. '
    : '';
  return (
    `<section aria-labelledby="${id}"><h3 id="${id}">${escapeHtml(title)}</h3>` +
    `<p>${fromColumns}${frequency}A missing value on either side adds nothing.</p>` +
    scrollingTable(
      `${id}-table`,
      `${escapeHtml(title)}: comparison levels`,
      '<th scope="col">How the two values compare</th><th scope="col" class="numeric">m: share of true matches</th><th scope="col" class="numeric">u: share of different people</th><th scope="col" class="numeric">Match weight (bits)</th>',
      body,
    ) +
    levelWeightChart(`${id}-chart`, `${title}: match weight of each comparison level`, levels) +
    '</section>'
  );
}

function fieldsSection(input: LinkReportInput): string {
  return (
    '<h2 id="fields">What each field says</h2>' +
    '<p>For each way two values can compare, <strong>m</strong> is how often pairs of the same person compare that way and <strong>u</strong> how often pairs of different people do. ' +
    'The match weight, log<sub>2</sub>(m ÷ u) bits, is what that level adds to a pair: positive when the same person is likelier to compare that way, negative when different people are.</p>' +
    input.result.model.fields
      .map((field, index) =>
        fieldSection(
          field,
          index,
          input.mappings.filter((mapping) => mapping.field === field.spec.key).map((mapping) => mapping.source),
        ),
      )
      .join('')
  );
}

/** The whole report page. */
export function renderLinkReport(input: LinkReportInput): string {
  const rows = thresholdRows(input);
  const unused = input.mappings.filter((mapping) => !input.result.model.fields.some((field) => field.spec.key === mapping.field));
  const unusedText =
    unused.length === 0
      ? ''
      : `<p class="inset">Mapped but empty in every record, so not compared: ${unused.map((mapping) => `<code>${escapeHtml(mapping.source)}</code>`).join(', ')}.</p>`;
  return (
    '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>Record linkage report – Joinery</title>' +
    `<style>${STYLE}</style></head><body>` +
    '<header class="header"><div class="width-container"><p>Joinery</p></div></header>' +
    '<div class="width-container"><main id="main-content">' +
    '<h1>Record linkage report</h1>' +
    `<p class="lead">How <code>joinery link</code> decided which of ${count(input.recordIds.length)} records are the same person: what it learnt about each field, where the pairs it compared fell, and what a different threshold would change.</p>` +
    '<nav aria-labelledby="contents-title"><h2 id="contents-title">Contents</h2><ol class="contents">' +
    '<li><a href="#summary">Summary of the run</a></li><li><a href="#accuracy">How accurate the linking is</a></li>' +
    '<li><a href="#threshold">What moving the threshold would change</a></li><li><a href="#distribution">Match weights of the candidate pairs</a></li>' +
    '<li><a href="#fields">What each field says</a></li></ol></nav>' +
    summarySection(input) +
    accuracySection(input, rows) +
    thresholdSection(input, rows) +
    distributionSection(input) +
    fieldsSection(input) +
    unusedText +
    '</main></div>' +
    `<footer><div class="width-container">Written by <code>joinery link --report</code> on ${escapeHtml(input.generatedAt.toISOString().replace('T', ' ').slice(0, 16))} UTC.</div></footer>` +
    '</body></html>\n'
  );
}
