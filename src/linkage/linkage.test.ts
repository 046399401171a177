import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRules, transformValue } from './blocking.ts';
import { explainPair } from './explain.ts';
import { prepareRecord } from './prepare.ts';
import { linkRecords } from './link.ts';
import { modelFromJson, modelToJson } from './model.ts';
import {
  addRecord,
  clearBest,
  createLinkageIndex,
  internFields,
  matchAndAdd,
  matchInternedRecord,
  matchRecord,
  setEntryPerson,
} from './online.ts';
import { pairwiseScores, syntheticPeople } from './test-data.ts';
import type { LinkRecord } from './types.ts';

const people = syntheticPeople(400);
const records = people.flatMap((person) => person.records);
const truth = people.flatMap((person) => person.records.map(() => person.personId));
const linked = await linkRecords(records, { workers: 1 });
const model = linked.model;

test('batch linking recovers the synthetic people', () => {
  const scores = pairwiseScores(truth, linked.clusterOf);
  assert.ok(scores.precision >= 0.97, `precision ${scores.precision}`);
  assert.ok(scores.recall >= 0.95, `recall ${scores.recall}`);
});

test('learnt parameters: agreement is evidence for, NHS disagreement strongly against', () => {
  const weightOf = (field: string, label: string): number => {
    const level = model.fields.find((f) => f.spec.key === field)!.levels.find((l) => l.label === label)!;
    return Math.log2(level.m / level.u);
  };
  assert.ok(weightOf('nhs_number', 'both_valid_equal') > 8);
  assert.ok(weightOf('nhs_number', 'both_valid_different') < -3);
  assert.ok(weightOf('birth_date', 'exact') > weightOf('birth_date', 'else'));
  assert.ok(model.priorMatchProbability > 0 && model.priorMatchProbability < 0.01);
});

test('explainPair: field weights and the prior sum to the total', () => {
  const [a, b] = people.find((person) => person.records.length > 1)!.records;
  const explanation = explainPair(a!, b!, model);
  const sum = explanation.fields.reduce((total, field) => total + field.weight, explanation.prior);
  assert.ok(Math.abs(sum - explanation.total) < 1e-9);
  assert.ok(explanation.probability > 0.95);
  assert.equal(explanation.fields.length, model.fields.length);
  const stranger = people.at(-1)!.records[0]!;
  assert.ok(explainPair(a!, stranger, model).probability < 0.05);
});

test('term frequency: a shared rare family name is stronger evidence than a shared common one', () => {
  const base: LinkRecord['fields'] = { given_name: 'x', birth_date: '1900-01-01' };
  const common = explainPair(
    { id: 'a', fields: { ...base, family_name: 'smith' }, text: {} },
    { id: 'b', fields: { ...base, family_name: 'smith', given_name: 'y' }, text: {} },
    model,
  );
  const rare = explainPair(
    { id: 'a', fields: { ...base, family_name: 'zzyzx' }, text: {} },
    { id: 'b', fields: { ...base, family_name: 'zzyzx', given_name: 'y' }, text: {} },
    model,
  );
  const familyWeight = (e: typeof common): number => e.fields.find((f) => f.field === 'family_name')!.weight;
  assert.ok(familyWeight(rare) > familyWeight(common));
});

test('the model survives a JSON round trip', () => {
  const copy = modelFromJson(JSON.parse(JSON.stringify(modelToJson(model))));
  const [a, b] = people.find((person) => person.records.length > 1)!.records;
  assert.equal(explainPair(a!, b!, copy).total, explainPair(a!, b!, model).total);
});

test('online matching links duplicates, creates new people, and the index grows', () => {
  const index = createLinkageIndex(model);
  const withDuplicates = people.filter((person) => person.records.length > 1).slice(0, 50);
  for (const person of withDuplicates) addRecord(index, person.records[0]!, person.personId);
  let linkedCorrectly = 0;
  for (const person of withDuplicates) {
    const result = matchRecord(index, model, person.records[1]!);
    if (result.decision === 'link' && result.personId === person.personId) linkedCorrectly++;
    assert.notEqual(result.decision === 'link' && result.personId !== person.personId, true, 'never links to the wrong person');
  }
  assert.ok(linkedCorrectly >= 45, `linked ${linkedCorrectly} of 50`);

  const newcomer: LinkRecord = {
    id: 'new',
    fields: { given_name: 'Quentin', family_name: 'Zanzibar', birth_date: '2001-02-03', postcode: 'ZZ9 9ZZ' },
    text: {},
  };
  assert.equal(matchAndAdd(index, model, newcomer, 'person-new').decision, 'new');
  const again = matchRecord(index, model, { ...newcomer, id: 'new-again' });
  assert.equal(again.decision, 'link');
  assert.equal(again.personId, 'person-new');
});

test('online matching: between the two thresholds is review, two people above the link threshold is review', () => {
  const anna: LinkRecord = {
    id: 'o',
    fields: { given_name: 'Anna', family_name: 'Okonkwo', birth_date: '1970-05-06', sex: 'F', postcode: 'RV3 2AB' },
    text: {},
  };
  const relative: LinkRecord = { id: 'm', fields: { ...anna.fields, birth_date: '1949-11-30' }, text: {} };
  const probability = explainPair(anna, relative, model).probability;
  const strict = { ...model, linkThreshold: Math.min(0.999, probability + (1 - probability) / 2), reviewThreshold: probability / 2 };
  const index = createLinkageIndex(strict);
  addRecord(index, anna, 'anna');
  const uncertain = matchRecord(index, strict, relative);
  assert.equal(uncertain.decision, 'review');
  assert.equal(uncertain.personId, 'anna');

  addRecord(index, { ...anna, id: 'o2' }, 'anna-twin-record');
  const ambiguous = matchRecord(index, strict, { ...anna, id: 'o3' });
  assert.equal(ambiguous.decision, 'review');
  assert.equal(ambiguous.candidates.length, 2);
});

test('a bulk match (raw fields interned once, decision only) decides as a full match, and still lists every candidate when it does not link', () => {
  const index = createLinkageIndex(model);
  for (const person of people.slice(0, 300)) for (const record of person.records.slice(0, -1)) addRecord(index, record, person.personId);
  const incoming = people.flatMap((person) => person.records.slice(-1));
  let links = 0;
  let others = 0;
  for (const record of incoming) {
    const full = matchRecord(index, model, record);
    const bulk = matchInternedRecord(index, model, internFields(index, record.id, record.fields), { decisionOnly: true });
    assert.equal(bulk.decision, full.decision, record.id);
    assert.equal(bulk.personId, full.personId, record.id);
    if (full.decision === 'link') {
      links++;
      assert.ok(Math.abs(bulk.candidates[0]!.weight - full.candidates[0]!.weight) < 1e-9, 'the same best weight');
    } else {
      others++;
      assert.deepEqual(
        bulk.candidates.map((c) => c.personId),
        full.candidates.map((c) => c.personId),
        `${record.id}: every candidate for review`,
      );
    }
  }
  assert.ok(links > 100 && others > 50, `both kinds of decision were tried (${links} links, ${others} others)`);
});

const specs = model.fields.map((field) => field.spec);
const rules = compileRules(model.blockingRules, specs);

/** Whether two records share a key under any of the model's blocking rules. */
function sharesBlock(a: LinkRecord, b: LinkRecord): boolean {
  const [x, y] = [prepareRecord(specs, a), prepareRecord(specs, b)];
  return rules.rules.some((rule, r) =>
    rule.parts.every(([, transform], part) => {
      const slot = rules.slots[r]![part]!;
      const paired = rules.paired[r]![part]!;
      const [vx, vy] = [x.values[slot], y.values[slot]];
      const key = vx && transformValue(vx, transform, paired >= 0 ? x.values[paired] : undefined);
      return !!key && !!vy && key === transformValue(vy, transform, paired >= 0 ? y.values[paired] : undefined);
    }),
  );
}

test('online matching finds every person a full comparison with each record sharing a block would find, at the same weight', () => {
  // The index stops scanning once no record left unseen could reach the cutoff: this checks
  // that stopping early never loses a candidate or changes a decision, down to low review
  // thresholds where far more candidates count (the place is small: no block is over budget).
  const indexed = people
    .slice(0, 300)
    .flatMap((person) => person.records.slice(0, -1).map((record) => ({ record, personId: person.personId })));
  // Each person's last record, and copies without its NHS number, with another birth year or with day and month swapped
  // (then the person's other records often sit outside the first blocks scanned), and exact
  // copies of indexed records (then one block settles the match and the scan stops there).
  const copies = indexed.filter((_, i) => i % 2 === 0).map(({ record }) => ({ ...record, id: `${record.id}-copy` }));
  const incoming = [...copies, ...people.flatMap((person) => person.records.slice(-1))].flatMap((record) => {
    const { nhs_number: _dropped, ...withoutNhs } = record.fields;
    const year = Number(record.fields.birth_date?.slice(0, 4) ?? '1980') + 1;
    return [
      record,
      { ...record, id: `${record.id}-no-nhs`, fields: withoutNhs },
      {
        ...record,
        id: `${record.id}-year`,
        fields: { ...record.fields, birth_date: `${year}${record.fields.birth_date?.slice(4) ?? '0101'}` },
      },
      // Day and month the other way round (a date compared on its numbers, not its text).
      {
        ...record,
        id: `${record.id}-day-month`,
        fields: {
          ...record.fields,
          birth_date: (record.fields.birth_date ?? '1980-01-02').replace(/^(\d{4})-(\d{2})-(\d{2})$/, '$1-$3-$2'),
        },
      },
    ];
  });
  const pairWeights = incoming.map((record) =>
    indexed.map((other) => (sharesBlock(record, other.record) ? explainPair(record, other.record, model).total : Number.NEGATIVE_INFINITY)),
  );
  for (const reviewThreshold of [model.reviewThreshold, 1e-3, 1e-6]) {
    const lowered = { ...model, reviewThreshold };
    const index = createLinkageIndex(lowered);
    for (const { record, personId } of indexed) addRecord(index, record, personId);
    const reviewWeight = Math.log2(reviewThreshold / (1 - reviewThreshold));
    let compared = 0;
    incoming.forEach((record, i) => {
      const best = new Map<string, number>();
      indexed.forEach((other, j) => {
        const weight = pairWeights[i]![j]!;
        if (weight >= reviewWeight && weight > (best.get(other.personId) ?? Number.NEGATIVE_INFINITY)) best.set(other.personId, weight);
      });
      const found = matchRecord(index, lowered, record).candidates;
      assert.deepEqual(found.map((c) => c.personId).sort(), [...best.keys()].sort(), record.id);
      for (const candidate of found)
        assert.ok(Math.abs(candidate.weight - best.get(candidate.personId)!) < 1e-9, `${record.id}: the same weight`);
      const expected = clearBest(found, lowered) ? found[0]!.personId : null;
      const decided = matchInternedRecord(index, lowered, internFields(index, record.id, record.fields), { decisionOnly: true });
      assert.equal(decided.decision === 'link' ? decided.personId : null, expected, `${record.id}: the same decision`);
      compared += best.size;
    });
    assert.ok(compared > 150, `candidates compared at ${reviewThreshold}: ${compared}`);
  }
});

test('a record taken out of matching (setEntryPerson "") no longer votes for its person', () => {
  const index = createLinkageIndex(model);
  const person = people.find((p) => p.records.length > 1)!;
  addRecord(index, person.records[0]!, person.personId);
  assert.equal(matchRecord(index, model, person.records[1]!).personId, person.personId);
  setEntryPerson(index, 0, '');
  assert.equal(matchRecord(index, model, person.records[1]!).decision, 'new');
});
