// What reviewers decided, fed back as labels. Every decided review item is a pair of records a
// person looked at and called the same person or not, with the probability the model gave it
// when it asked. Two uses: labelled pairs for `joinery link --labels` on an agency's own files,
// and a check of the model's honesty (of the pairs it called 90% likely, were nine in ten the
// same person?), which says whether the link and review thresholds sit in the right place.

import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { latestModel } from './index-state.ts';

/** One decided pair: records are named `source:source_id`; a person's own entry `person:ID`. */
export interface ReviewerPairLabel {
  recordA: string;
  recordB: string;
  same: boolean;
  /** The model's match probability for the pair when it was sent to review. */
  probability: number;
  decidedAt: Date;
}

export async function reviewerPairLabels(db: Kysely<Database>): Promise<ReviewerPairLabel[]> {
  const rows = await sql<{ a: string; b: string; status: string; probability: number; decided_at: Date }>`
    select s.source || ':' || s.source_id as a,
           coalesce(c.source || ':' || c.source_id, 'person:' || r.candidate_person_id) as b,
           r.status, r.probability, r.decided_at
    from linkage_reviews r
    join source_records s on s.id = r.source_record_id
    left join source_records c on c.id = r.compared_record_id
    where r.status in ('same', 'different')
    order by r.decided_at, r.id`.execute(db);
  return rows.rows.map((row) => ({
    recordA: row.a,
    recordB: row.b,
    same: row.status === 'same',
    probability: Number(row.probability),
    decidedAt: new Date(row.decided_at),
  }));
}

/** A band of model probabilities and what reviewers found in it. */
export interface AgreementBand {
  from: number;
  to: number;
  same: number;
  different: number;
}

export interface ReviewerAgreement {
  decided: number;
  bands: AgreementBand[];
  linkThreshold: number | null;
  reviewThreshold: number | null;
}

/** Band edges: finer near 1, where the link threshold usually sits. */
const BAND_EDGES = [0, 0.5, 0.8, 0.9, 0.95, 0.99, 1];

/** Groups decided pairs by the probability the model gave them. Pure, so it can be checked by hand. */
export function agreementBands(labels: readonly Pick<ReviewerPairLabel, 'probability' | 'same'>[]): AgreementBand[] {
  const bands = BAND_EDGES.slice(0, -1).map((from, i) => ({ from, to: BAND_EDGES[i + 1]!, same: 0, different: 0 }));
  for (const label of labels) {
    const band = bands.find((b, i) => label.probability >= b.from && (label.probability < b.to || i === bands.length - 1));
    if (!band) continue;
    if (label.same) band.same++;
    else band.different++;
  }
  return bands.filter((band) => band.same + band.different > 0);
}

export async function reviewerAgreement(db: Kysely<Database>, labels?: readonly ReviewerPairLabel[]): Promise<ReviewerAgreement> {
  const decided = labels ?? (await reviewerPairLabels(db));
  const model = await latestModel(db);
  return {
    decided: decided.length,
    bands: agreementBands(decided),
    linkThreshold: model?.model.linkThreshold ?? null,
    reviewThreshold: model?.model.reviewThreshold ?? null,
  };
}

/** 80%, 97.3%: whole numbers without a decimal. */
const percent = (value: number): string => {
  const tenths = Math.round(value * 1000) / 10;
  return `${Number.isInteger(tenths) ? tenths.toFixed(0) : tenths.toFixed(1)}%`;
};

/** The agreement as a few lines a data-quality officer can read in a terminal. */
export function formatAgreement(agreement: ReviewerAgreement): string {
  if (agreement.decided === 0) return 'No review items have been decided yet: nothing to compare the model with.';
  const lines = [
    `${agreement.decided.toLocaleString('en-GB')} decided review ${agreement.decided === 1 ? 'item' : 'items'}, by the probability the model gave the pair:`,
    '  model said      decided same  decided different  share the same',
  ];
  for (const band of agreement.bands) {
    const total = band.same + band.different;
    const range = `${percent(band.from)}–${percent(band.to)}`.padEnd(14);
    lines.push(
      `  ${range}  ${String(band.same).padStart(12)}  ${String(band.different).padStart(17)}  ${percent(band.same / total).padStart(14)}`,
    );
  }
  if (agreement.linkThreshold !== null && agreement.reviewThreshold !== null) {
    lines.push(
      `The model links at ${percent(agreement.linkThreshold)} and asks a reviewer from ${percent(agreement.reviewThreshold)}. ` +
        'Where the share found the same is far below what the model said, it joins too readily on your data (raise the link ' +
        'threshold); where it is near 100% in a band below the link threshold, reviewers are being asked about pairs it could link.',
    );
  }
  return lines.join('\n');
}
