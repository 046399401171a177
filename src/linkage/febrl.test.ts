import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runLinkJob } from './job.ts';
import { pairwiseScores } from './test-data.ts';

const FEBRL1 = fileURLToPath(new URL('../../../shared/data/linkage/febrl/dataset1.csv', import.meta.url));
const MAP = [
  'given_name=given_name,surname=family_name,street_number=address,address_1=address',
  'suburb=text:suburb,postcode=postcode,state=text:state,date_of_birth=birth_date,soc_sec_id=text:soc_sec_id',
];

test(
  'FEBRL 1 deduplication reaches F1 ≥ 0.95 with parameters learnt from the data',
  { skip: !existsSync(FEBRL1) && 'FEBRL data not present' },
  async () => {
    const { rows } = await runLinkJob({ inputs: [FEBRL1], idColumn: 'rec_id', maps: MAP, workers: 1 });
    assert.equal(rows.length, 1000);
    const truth = rows.map((row) => row.recordId.split('-')[1]!);
    const scores = pairwiseScores(
      truth,
      rows.map((row) => row.clusterId),
    );
    assert.ok(scores.f1 >= 0.95, JSON.stringify(scores));
  },
);
