// A feed matched online against a model learnt from other data, as a council's extract is
// matched against the place's model as it is imported: the model learnt house addresses in the
// address column and never saw names written the other way round. Two mistakes such a feed
// used to cause: a town in the address column weighed as much as a house address (the model
// rates any value it never saw as the rarest), so namesakes in London were joined or sent for
// review; and names written the other way round counted for little, so the same person born
// the same day went to a reviewer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from './estimate.ts';
import { runLinkJob } from './job.ts';
import { addRecord, createLinkageIndex, matchRecord } from './online.ts';
import type { LinkRecord } from './types.ts';

const GIVEN = ['james', 'john', 'mary', 'sarah', 'david', 'emma', 'michael', 'laura', 'peter', 'helen', 'paul', 'claire', 'anna', 'ryan'];
const FAMILY = ['smith', 'jones', 'taylor', 'brown', 'williams', 'wilson', 'evans', 'patel', 'khan', 'walker', 'wright', 'hughes'];
const STREETS = ['high street', 'station road', 'church lane', 'park road', 'mill lane', 'green lane', 'manor road'];

/** Records of 700 people with house addresses, a third written again with a typo or a blank (never names swapped). */
function training(): string {
  const random = seededRandom(23);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const lines = ['id,first,last,dob,address,email'];
  for (let p = 0; p < 700; p++) {
    const first = pick(GIVEN);
    const last = pick(FAMILY);
    const dob = `${1935 + Math.floor(random() * 70)}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
    const base = [first, last, dob, `${1 + Math.floor(random() * 200)} ${pick(STREETS)}`, `${first}.${last}${p}@example.org`];
    lines.push([`t${p}-0`, ...base].join(','));
    const copies = random() < 0.35 ? 1 + Math.floor(random() * 2) : 0;
    for (let c = 1; c <= copies; c++) {
      const copy = [...base];
      const change = random();
      if (change < 0.3) copy[4] = '';
      else if (change < 0.6) copy[3] = '';
      else copy[1] = copy[1]!.slice(0, -1);
      lines.push([`t${p}-${c}`, ...copy].join(','));
    }
  }
  return lines.join('\n') + '\n';
}

const directory = await mkdtemp(join(tmpdir(), 'joinery-foreign-feed-'));
test.after(() => rm(directory, { recursive: true, force: true }));
const input = join(directory, 'place.csv');
await writeFile(input, training());
const { result } = await runLinkJob({
  inputs: [input],
  idColumn: 'id',
  maps: ['first=given_name,last=family_name,dob=birth_date,address=address,email=email'],
  workers: 1,
});
const model = result.model;

const record = (id: string, given: string, family: string, birth: string, town: string, email = ''): LinkRecord => ({
  id,
  fields: { given_name: given, family_name: family, birth_date: birth, address: town, ...(email ? { email } : {}) },
  text: {},
});

/** The index after a feed of 120 people of one big town (the town in the address column), each written once. */
function townIndex() {
  const index = createLinkageIndex(model);
  const random = seededRandom(7);
  for (let p = 0; p < 120; p++) {
    const given = GIVEN[Math.floor(random() * GIVEN.length)]!;
    const family = `${FAMILY[Math.floor(random() * FAMILY.length)]!}${p}`;
    addRecord(index, record(`feed-${p}`, given, family, `19${50 + (p % 50)}-0${1 + (p % 9)}-1${p % 9}`, 'london'), `person-${p}`);
  }
  return index;
}

test('namesakes in a town the feed shares, born years apart, are neither joined nor sent for review', () => {
  const index = townIndex();
  addRecord(index, record('mary-1', 'mary', 'roberts', '1945-10-01', 'london', 'maryroberts50@example.com'), 'mary-older');
  const namesake = matchRecord(index, model, record('mary-2', 'mary', 'roberts', '1972-12-26', 'london'));
  assert.equal(namesake.decision, 'new', 'a different person: no link and nothing for a reviewer');
  assert.deepEqual(
    namesake.candidates.map((c) => c.personId),
    [],
  );
  // The same person in the same town still links: the town counts for less, the rest still holds.
  const same = matchRecord(index, model, record('mary-3', 'mary', 'roberts', '1945-10-01', 'london'));
  assert.equal(same.decision, 'link');
  assert.equal(same.personId, 'mary-older');
});

test('names written the other way round, born the same day, link without a reviewer', () => {
  const index = townIndex();
  addRecord(index, record('anna-1', 'anna', 'robinson', '1944-01-10', 'london', 'annarobinson36@example.com'), 'anna');
  // The town left blank: the names and the birth date are all there is.
  const swapped = matchRecord(index, model, record('anna-2', 'robinson', 'anna', '1944-01-10', ''));
  assert.equal(swapped.decision, 'link', `linked, not ${swapped.decision} (p=${swapped.candidates[0]?.probability})`);
  assert.equal(swapped.personId, 'anna');
  // One name shared crosswise is not a swap: another person, not linked to her.
  const other = matchRecord(index, model, record('osei-1', 'robinson', 'villiers', '1944-01-10', 'london'));
  assert.ok(!(other.decision === 'link' && other.personId === 'anna'));
});
