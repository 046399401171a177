// Deterministic synthetic people with typo'd duplicate records, for tests.

import { seededRandom } from './estimate.ts';
import type { LinkRecord } from './types.ts';

const GIVEN = [
  'oliver',
  'amelia',
  'george',
  'isla',
  'harry',
  'ava',
  'jack',
  'mia',
  'noah',
  'grace',
  'leo',
  'freya',
  'arthur',
  'lily',
  'oscar',
  'ivy',
  'charlie',
  'emily',
  'thomas',
  'sophie',
  'robert',
  'margaret',
  'william',
  'elizabeth',
];
const FAMILY = [
  'smith',
  'jones',
  'taylor',
  'brown',
  'williams',
  'wilson',
  'johnson',
  'davies',
  'patel',
  'okonkwo',
  'nowak',
  'khan',
  'evans',
  'thomas',
  'roberts',
  'walker',
  'wright',
  'robinson',
  'thompson',
  'hughes',
  'edwards',
  'green',
  'hall',
  'wood',
];
const STREETS = ['high street', 'station road', 'church lane', 'mill road', 'park avenue', 'queens road', 'victoria street', 'green lane'];
const POSTCODE_AREAS = ['RV1', 'RV2', 'RV3', 'RV4', 'RV5', 'LS6', 'M14', 'B23'];

/** A valid NHS number built from nine digits (check digit by modulus 11). */
export function makeNhsNumber(random: () => number): string {
  for (;;) {
    const digits = Array.from({ length: 9 }, () => Math.floor(random() * 10));
    const sum = digits.reduce((total, digit, i) => total + digit * (10 - i), 0);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    return digits.join('') + String(check === 11 ? 0 : check);
  }
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function typo(random: () => number, text: string): string {
  if (text.length < 3) return text;
  const at = 1 + Math.floor(random() * (text.length - 2));
  const kind = random();
  if (kind < 0.4) return text.slice(0, at) + text.slice(at + 1); // deletion
  if (kind < 0.7) return text.slice(0, at) + text[at + 1] + text[at] + text.slice(at + 2); // transposition
  return text.slice(0, at) + pick(random, [...'aeioulnrst']) + text.slice(at + 1); // substitution
}

export interface SyntheticPerson {
  personId: string;
  records: LinkRecord[];
}

/** `count` people, each with 1–3 records; duplicates carry a typo or a missing field. */
export function syntheticPeople(count: number, seed = 7): SyntheticPerson[] {
  const random = seededRandom(seed);
  const people: SyntheticPerson[] = [];
  for (let p = 0; p < count; p++) {
    const year = 1930 + Math.floor(random() * 80);
    const month = String(1 + Math.floor(random() * 12)).padStart(2, '0');
    const day = String(1 + Math.floor(random() * 28)).padStart(2, '0');
    const base = {
      given_name: pick(random, GIVEN),
      family_name: pick(random, FAMILY),
      birth_date: `${year}-${month}-${day}`,
      sex: random() < 0.5 ? 'F' : 'M',
      postcode: `${pick(random, POSTCODE_AREAS)} ${Math.floor(random() * 10)}${pick(random, [...'ABDEFGHJ'])}${pick(random, [...'LNPQRSTU'])}`,
      address: `${1 + Math.floor(random() * 200)} ${pick(random, STREETS)}`,
      nhs_number: makeNhsNumber(random),
    };
    const copies = 1 + Math.floor(random() * 3);
    const records: LinkRecord[] = [];
    for (let c = 0; c < copies; c++) {
      const fields: LinkRecord['fields'] = { ...base };
      if (c > 0) {
        const change = random();
        if (change < 0.3) fields.given_name = typo(random, base.given_name);
        else if (change < 0.5) fields.family_name = typo(random, base.family_name);
        else if (change < 0.6) delete fields.nhs_number;
        else if (change < 0.7) fields.birth_date = `${year}${day}${month}`;
        else if (change < 0.8) fields.address = typo(random, base.address);
      }
      records.push({ id: `p${p}-r${c}`, fields, text: {} });
    }
    people.push({ personId: `p${p}`, records });
  }
  return people;
}

/** Pairwise precision / recall / F1 of predicted clusters against true persons. */
export function pairwiseScores(
  truth: readonly string[],
  predicted: readonly (string | number)[],
): { precision: number; recall: number; f1: number } {
  const pairsIn = (labels: readonly (string | number)[]): Map<string | number, number[]> => {
    const groups = new Map<string | number, number[]>();
    labels.forEach((label, index) => {
      const group = groups.get(label);
      if (group) group.push(index);
      else groups.set(label, [index]);
    });
    return groups;
  };
  let truePositives = 0;
  let predictedPairs = 0;
  for (const members of pairsIn(predicted).values()) {
    for (let x = 0; x < members.length; x++) {
      for (let y = x + 1; y < members.length; y++) {
        predictedPairs++;
        if (truth[members[x]!] === truth[members[y]!]) truePositives++;
      }
    }
  }
  let truePairs = 0;
  for (const members of pairsIn(truth).values()) truePairs += (members.length * (members.length - 1)) / 2;
  const precision = predictedPairs === 0 ? 1 : truePositives / predictedPairs;
  const recall = truePairs === 0 ? 1 : truePositives / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}
