import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidNhsNumber } from '../platform/nhs-number.ts';
import { createPlaceFrame, generateHouseholds } from './generate.ts';
import { NICKNAMES, SPELLING_VARIANTS } from './names.ts';
import type { HouseholdBundle, OrganisationKind, Person, SourceRecord } from './types.ts';

const PEOPLE = 30_000;
const SEED = 2024;
const frame = createPlaceFrame({ seed: SEED, people: PEOPLE });
const bundles = [...generateHouseholds(frame, { seed: SEED, people: PEOPLE })];
const people: Person[] = bundles.flatMap((b) => b.people);
const records: SourceRecord[] = bundles.flatMap((b) => b.sourceRecords);
const personById = new Map(people.map((p) => [p.id, p]));
const householdOf = new Map(bundles.flatMap((b) => b.people.map((p) => [p.id, b] as const)));
const decileOfArea = new Map(frame.smallAreas.map((a) => [a.id, a.deprivationDecile]));
const decileOf = (b: HouseholdBundle) => decileOfArea.get(b.household.smallAreaId)!;

function digest(bs: HouseholdBundle[]): string {
  return JSON.stringify(bs);
}

test('the same seed gives the same place; another seed gives a different one', () => {
  const opts = { seed: 7, people: 3000 };
  const a = digest([...generateHouseholds(createPlaceFrame(opts), opts)]);
  const b = digest([...generateHouseholds(createPlaceFrame(opts), opts)]);
  assert.equal(a, b);
  assert.deepEqual(createPlaceFrame(opts), createPlaceFrame(opts));
  const other = { seed: 8, people: 3000 };
  assert.notEqual(digest([...generateHouseholds(createPlaceFrame(other), other)]), a);
});

test('reaches the target population, within one household', () => {
  assert.ok(people.length >= PEOPLE && people.length < PEOPLE + 12, `${people.length}`);
  assert.equal(new Set(people.map((p) => p.id)).size, people.length);
});

test('small areas hold about 1,500 people and cover all ten deprivation deciles', () => {
  assert.equal(frame.smallAreas.length, PEOPLE / 1500);
  const perArea = new Map<string, number>();
  for (const b of bundles) perArea.set(b.household.smallAreaId, (perArea.get(b.household.smallAreaId) ?? 0) + b.people.length);
  for (const a of frame.smallAreas) {
    const n = perArea.get(a.id) ?? 0;
    assert.ok(n >= 1400 && n <= 1600, `${a.id} has ${n} people`);
  }
  assert.deepEqual(
    [...new Set(frame.smallAreas.map((a) => a.deprivationDecile))].sort((x, y) => x - y),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.ok(frame.localities.length >= 6 && frame.localities.length <= 10);
});

test('postcodes use the fictional RV area in the real format, and households use them', () => {
  const known = new Set(frame.postcodes.map((p) => p.postcode));
  assert.equal(known.size, frame.postcodes.length, 'postcodes are unique');
  for (const p of frame.postcodes) assert.match(p.postcode, /^RV\d{1,2} \d[ABD-HJLNP-UW-Z]{2}$/);
  for (const b of bundles) assert.ok(known.has(b.household.postcode));
  const perPostcode = bundles.length / new Set(bundles.map((b) => b.household.postcode)).size;
  assert.ok(perPostcode >= 15 && perPostcode <= 40, `${perPostcode} households per postcode`);
});

test('every kind of organisation serves the place, with teams, staff and services', () => {
  const kinds: OrganisationKind[] = [
    'gp_practice',
    'hospital_trust',
    'council_adult_social_care',
    'council_children_social_care',
    'council_housing',
    'housing_association',
    'probation',
    'school',
    'charity',
    'mental_health_trust',
    'drug_alcohol_service',
  ];
  for (const k of kinds)
    assert.ok(
      frame.organisations.some((o) => o.kind === k),
      k,
    );
  assert.ok(frame.organisations.filter((o) => o.kind === 'charity').length >= 6);
  assert.ok(frame.organisations.filter((o) => o.kind === 'gp_practice').length >= 3);
  assert.equal(new Set(frame.organisations.map((o) => o.sourceCode)).size, frame.organisations.length, 'source codes are unique');
  for (const o of frame.organisations) {
    const services = frame.services.filter((s) => s.organisationId === o.id);
    assert.ok(services.length >= 2 && services.length <= 5, `${o.name} has ${services.length} services`);
    assert.ok(frame.teams.some((t) => t.organisationId === o.id));
    assert.ok(frame.practitioners.some((p) => p.organisationId === o.id));
  }
});

test('NHS numbers are valid or unknown (about 2%), and never shared', () => {
  const known = people.filter((p) => p.nhsNumber !== null);
  for (const p of known) assert.ok(isValidNhsNumber(p.nhsNumber!), p.nhsNumber!);
  assert.equal(new Set(known.map((p) => p.nhsNumber)).size, known.length);
  const unknown = 1 - known.length / people.length;
  assert.ok(unknown > 0.005 && unknown < 0.05, `${unknown}`);
});

test('households look like England: one-person about 30%, couples, families, lone parents', () => {
  const share = (pred: (b: HouseholdBundle) => boolean) => bundles.filter(pred).length / bundles.length;
  const onePerson = share((b) => b.people.length === 1);
  assert.ok(onePerson > 0.24 && onePerson < 0.36, `one-person ${onePerson}`);
  const lone = share((b) => b.household.composition === 'lone_parent');
  assert.ok(lone > 0.07 && lone < 0.16, `lone parent ${lone}`);
  const size = people.length / bundles.length;
  assert.ok(size > 2.1 && size < 2.6, `household size ${size}`);
  const white = people.filter((p) => p.ethnicityGroup === 'white').length / people.length;
  assert.ok(white > 0.74 && white < 0.88, `white ${white}`);
  for (const g of ['asian', 'black', 'mixed', 'other'] as const)
    assert.ok(
      people.some((p) => p.ethnicityGroup === g),
      g,
    );
  const disabled = people.filter((p) => p.disability).length / people.length;
  assert.ok(disabled > 0.12 && disabled < 0.24, `disability ${disabled}`);
});

test('social renting and temporary accommodation concentrate in the most deprived areas', () => {
  const rate = (deciles: number[], tenures: string[]) => {
    const inAreas = bundles.filter((b) => deciles.includes(decileOf(b)));
    return inAreas.filter((b) => tenures.includes(b.household.tenure)).length / inAreas.length;
  };
  assert.ok(rate([1, 2, 3], ['social_rent', 'temporary_accommodation']) > 3 * rate([8, 9, 10], ['social_rent', 'temporary_accommodation']));
});

test('children are born to parents aged 18 to 45', () => {
  for (const b of bundles) {
    for (const r of b.relationships.filter((x) => x.type === 'parent')) {
      const child = personById.get(r.personId)!;
      const parent = personById.get(r.relatedPersonId)!;
      const gap = (Date.parse(child.birthDate) - Date.parse(parent.birthDate)) / (365.25 * 86_400_000);
      assert.ok(gap >= 17.5 && gap <= 46, `${parent.id} was ${gap.toFixed(1)} at ${child.id}'s birth`);
    }
  }
});

test('twins share birth date, surname and address but not a given name', () => {
  const twins = people.filter((p) => p.twinOf !== null);
  assert.ok(twins.length >= 10, `${twins.length} twins`);
  for (const t of twins) {
    const other = personById.get(t.twinOf!)!;
    assert.equal(other.twinOf, t.id);
    assert.equal(other.birthDate, t.birthDate);
    assert.equal(other.familyName, t.familyName);
    assert.equal(other.householdId, t.householdId);
    assert.notEqual(other.givenName, t.givenName);
  }
});

test('relationships come in matching pairs within households', () => {
  const inverse: Record<string, string> = {
    parent: 'child',
    child: 'parent',
    partner: 'partner',
    sibling: 'sibling',
    grandparent: 'grandchild',
    grandchild: 'grandparent',
    carer: 'cared_for',
    cared_for: 'carer',
  };
  const all = new Set(bundles.flatMap((b) => b.relationships.map((r) => `${r.personId}|${r.relatedPersonId}|${r.type}`)));
  for (const b of bundles) {
    for (const r of b.relationships) {
      assert.ok(
        all.has(`${r.relatedPersonId}|${r.personId}|${inverse[r.type]}`),
        `no inverse for ${r.personId} ${r.type} ${r.relatedPersonId}`,
      );
      assert.equal(personById.get(r.relatedPersonId)!.householdId, b.household.id);
    }
  }
  for (const type of ['parent', 'partner', 'sibling', 'grandparent', 'carer'])
    assert.ok(all.size > 0 && [...all].some((k) => k.endsWith(`|${type}`)), type);
});

test('some married women carry a birth family name', () => {
  const changed = people.filter((p) => p.birthFamilyName !== null);
  assert.ok(changed.length > people.length * 0.03, `${changed.length}`);
  for (const p of changed) assert.notEqual(p.birthFamilyName, p.familyName);
});

test('needs and crises are far more common in the most deprived areas', () => {
  const perHead = (deciles: number[]) => {
    const inAreas = bundles.filter((b) => deciles.includes(decileOf(b)));
    const heads = inAreas.reduce((s, b) => s + b.people.length, 0);
    return inAreas.reduce((s, b) => s + b.needs.length, 0) / heads;
  };
  const deprived = perHead([1, 2]);
  const affluent = perHead([9, 10]);
  assert.ok(deprived >= 1.5 * affluent, `needs per head ${deprived} vs ${affluent}`);
  const crises = (deciles: number[]) => {
    const inAreas = bundles.filter((b) => deciles.includes(decileOf(b)));
    const heads = inAreas.reduce((s, b) => s + b.people.length, 0);
    return (
      inAreas.reduce(
        (s, b) =>
          s + b.events.filter((e) => e.type === 'homeless_presentation' || e.type === 'mental_health_crisis' || e.type === 'arrest').length,
        0,
      ) / heads
    );
  };
  assert.ok(crises([1, 2]) > 2 * crises([9, 10]));
});

test('multiple disadvantage clusters exist among adults', () => {
  const cluster = new Map<string, Set<string>>();
  for (const b of bundles) for (const n of b.needs) cluster.set(n.personId, (cluster.get(n.personId) ?? new Set()).add(n.code));
  const multiple = [...cluster.values()].filter(
    (s) => ['homelessness', 'substance_misuse', 'offending', 'mental_health'].filter((c) => s.has(c)).length >= 3,
  );
  assert.ok(multiple.length > 20, `${multiple.length} people with three or more of the four`);
});

test('carers are linked to the people they care for and some show carer strain', () => {
  const carers = bundles.flatMap((b) => b.relationships.filter((r) => r.type === 'cared_for').map((r) => r.personId));
  assert.ok(carers.length > 50);
  const strained = new Set(bundles.flatMap((b) => b.needs.filter((n) => n.code === 'carer_strain').map((n) => n.personId)));
  assert.ok(carers.filter((c) => strained.has(c)).length > 10);
});

test('about 8–10 events per person, school attendance lower where deprived', () => {
  const events = bundles.flatMap((b) => b.events);
  const perHead = events.length / people.length;
  assert.ok(perHead >= 7 && perHead <= 11, `${perHead} events per person`);
  const attendance = (deciles: number[]) => {
    const values = bundles
      .filter((b) => deciles.includes(decileOf(b)))
      .flatMap((b) => b.events.filter((e) => e.type === 'school_attendance_term').map((e) => e.value!));
    return values.reduce((s, v) => s + v, 0) / values.length;
  };
  const deprived = attendance([1, 2]);
  const affluent = attendance([9, 10]);
  assert.ok(deprived < affluent - 2, `attendance ${deprived} vs ${affluent}`);
  assert.ok(affluent > 90 && affluent <= 100);
  assert.ok(events.some((e) => e.type === 'safeguarding_concern'));
  const older = events.filter((e) => e.type === 'fall').map((e) => personById.get(e.personId)!);
  assert.ok(older.length > 0 && older.every((p) => Number(p.birthDate.slice(0, 4)) <= 1962));
});

test('every person has an agency record, and every record belongs to a real person', () => {
  const withRecord = new Set(records.map((r) => r.truePersonId));
  for (const r of records) assert.ok(personById.has(r.truePersonId));
  for (const p of people) assert.ok(withRecord.has(p.id), `${p.id} is known to no agency`);
  const gp = new Set(records.filter((r) => r.source.startsWith('GP')).map((r) => r.truePersonId));
  assert.ok(gp.size / people.length > 0.95);
  const ids = new Set(records.map((r) => `${r.source}|${r.sourceId}`));
  assert.equal(ids.size, records.length, 'source ids are unique within each source');
  assert.ok(records.some((r) => /^[XYZWVUTS]\d{6}$/.test(r.sourceId) && r.source === 'PROB'));
  assert.ok(records.some((r) => /^GP\d+-\d{6}$/.test(r.sourceId)));
  for (const r of records) assert.ok(r.recordedAt >= '2016' && r.recordedAt <= '2026-11', r.recordedAt);
});

test('children at school are known to a school', () => {
  const schoolKnown = new Set(records.filter((r) => r.source.startsWith('SCH')).map((r) => r.truePersonId));
  const schoolAge = people.filter((p) => p.birthDate >= '2011-01-01' && p.birthDate <= '2020-09-01');
  assert.ok(schoolAge.filter((p) => schoolKnown.has(p.id)).length / schoolAge.length > 0.95);
});

test('agency records disagree with the truth the way real records do', () => {
  const count = (pred: (r: SourceRecord, p: Person) => boolean) => records.filter((r) => pred(r, personById.get(r.truePersonId)!)).length;
  const swapped = count(
    (r, p) =>
      r.birthDate !== p.birthDate &&
      r.birthDate !== '' &&
      r.birthDate.slice(0, 4) === p.birthDate.slice(0, 4) &&
      r.birthDate.slice(5, 7) === p.birthDate.slice(8, 10) &&
      r.birthDate.slice(8, 10) === p.birthDate.slice(5, 7),
  );
  assert.ok(swapped > 10, `${swapped} swapped day/month`);
  const isKnownForm = (name: string, truth: string) =>
    name === truth || (NICKNAMES[truth] ?? []).includes(name) || (SPELLING_VARIANTS[truth] ?? []).includes(name);
  const givenTypos = count((r, p) => !isKnownForm(r.givenName, p.givenName));
  assert.ok(givenTypos > records.length * 0.01 && givenTypos < records.length * 0.08, `${givenTypos} given-name typos`);
  const nicknames = count((r, p) => (NICKNAMES[p.givenName] ?? []).includes(r.givenName));
  assert.ok(nicknames > 20, `${nicknames} nicknames`);
  const maiden = count((r, p) => p.birthFamilyName !== null && r.familyName === p.birthFamilyName);
  assert.ok(maiden > 10, `${maiden} maiden names`);
  const oldAddress = count((r) => {
    const prev = householdOf.get(r.truePersonId)!.household.previousAddress;
    return prev !== undefined && r.postcode === prev.postcode;
  });
  assert.ok(oldAddress > 10, `${oldAddress} old postcodes`);
  const charity = records.filter((r) => r.source.startsWith('CH'));
  const charityNoNhs = charity.filter((r) => r.nhsNumber === '').length / charity.length;
  assert.ok(charityNoNhs > 0.8, `charities missing NHS numbers ${charityNoNhs}`);
  const gp = records.filter((r) => r.source.startsWith('GP'));
  assert.ok(gp.filter((r) => r.nhsNumber === '').length / gp.length < 0.05);
});

test('some people are recorded twice within the same agency', () => {
  const seen = new Map<string, number>();
  for (const r of records) seen.set(`${r.source}|${r.truePersonId}`, (seen.get(`${r.source}|${r.truePersonId}`) ?? 0) + 1);
  const duplicated = [...seen.values()].filter((n) => n > 1).length;
  assert.ok(duplicated > records.length * 0.005 && duplicated < records.length * 0.04, `${duplicated} duplicates of ${records.length}`);
});
