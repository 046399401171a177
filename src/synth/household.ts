// One household's members: composition, ages, sexes, ethnicity, names, identifiers and the
// family relationships between them, shaped to look like England's households.

import { syntheticNhsNumber } from '../platform/nhs-number.ts';
import type { GenContext } from './context.ts';
import { streetForPostcode } from './frame.ts';
import { surnameForSex } from './names.ts';
import type { NameOrigin } from './names.ts';
import { Rng, weightedTable } from './random.ts';
import type { WeightedTable } from './random.ts';
import type { EthnicityGroup, Household, HouseholdComposition, Person, Relationship, RelationshipType, Sex, Tenure } from './types.ts';

const YEAR = 365.2425;

/** A person under construction, with the working facts the later stages need. */
export interface Resident {
  person: Person;
  index: number;
  birthDay: number;
  age: number;
  origin: NameOrigin;
  /** Day the family name changed (marriage), when it did. */
  nameChangedDay: number | null;
}

export interface HouseholdDraft {
  household: Household;
  residents: Resident[];
  relationships: Relationship[];
  decile: number;
  /** 0 for the least deprived decile, 1 for the most deprived. */
  deprivation: number;
  localityIndex: number;
  movedInDay: number | null;
}

// --- Ethnicity, composition and tenure tables, precomputed per decile ---------------------------

const GROUPS: EthnicityGroup[] = ['white', 'asian', 'black', 'mixed', 'other'];
const NON_WHITE_SHARES = [8.2, 3.9, 4.4, 2.2];

/** England overall: white 81%; deprived central areas are more diverse, affluent ones less. */
const ETHNICITY_BY_DECILE: WeightedTable<EthnicityGroup>[] = Array.from({ length: 11 }, (_, decile) => {
  const white = Math.min(0.97, Math.max(0.55, 0.815 + (decile - 5.5) * 0.034));
  const rest = NON_WHITE_SHARES.reduce((a, b) => a + b, 0);
  return weightedTable(GROUPS, [white, ...NON_WHITE_SHARES.map((s) => ((1 - white) * s) / rest)]);
});

const ORIGINS_BY_GROUP: Record<EthnicityGroup, WeightedTable<NameOrigin>> = {
  white: weightedTable<NameOrigin>(['british', 'irish', 'polish', 'romanian'], [86, 3, 6, 5]),
  asian: weightedTable<NameOrigin>(['indian', 'pakistani', 'bangladeshi', 'chinese'], [37, 33, 13, 17]),
  black: weightedTable<NameOrigin>(['black_african', 'black_caribbean'], [65, 35]),
  mixed: weightedTable<NameOrigin>(
    ['british', 'black_caribbean', 'black_african', 'pakistani', 'indian', 'chinese'],
    [60, 15, 10, 5, 5, 5],
  ),
  other: weightedTable<NameOrigin>(['arab', 'british'], [70, 30]),
};

const COMPOSITIONS: HouseholdComposition[] = [
  'single_adult',
  'older_single',
  'couple',
  'older_couple',
  'couple_with_children',
  'lone_parent',
  'multi_generation',
  'shared_adults',
];

function compositionWeights(deprivation: number, group: EthnicityGroup): number[] {
  const asian = group === 'asian';
  return [
    14 + 3 * deprivation, // single adult
    16.5 - 2 * deprivation, // older single
    17 - 2 * deprivation, // couple
    10.5 - 3 * deprivation, // older couple
    19 - 3 * deprivation + (asian ? 4 : 0), // couple with children
    7 + 8 * deprivation, // lone parent
    (asian ? 16 : 6) + 2 * deprivation, // multi-generation
    6 + 2 * deprivation, // shared adults
  ];
}

const COMPOSITION_TABLES = new Map<string, WeightedTable<HouseholdComposition>>();
function compositionTable(decile: number, group: EthnicityGroup): WeightedTable<HouseholdComposition> {
  const key = `${decile}|${group}`;
  let t = COMPOSITION_TABLES.get(key);
  if (!t) {
    t = weightedTable(COMPOSITIONS, compositionWeights((10 - decile) / 9, group));
    COMPOSITION_TABLES.set(key, t);
  }
  return t;
}

const TENURES: Tenure[] = ['owner_occupied', 'social_rent', 'private_rent', 'temporary_accommodation'];

/** Owner-occupation rises with affluence and age; social rent and temporary accommodation concentrate in deciles 1–3. */
function tenureWeights(deprivation: number, composition: HouseholdComposition): number[] {
  const older = composition === 'older_single' || composition === 'older_couple';
  const young = composition === 'single_adult' || composition === 'shared_adults';
  const family = composition === 'lone_parent' || composition === 'couple_with_children';
  const owner = (85 - 57 * deprivation) * (older ? 1.25 : young ? 0.6 : 1);
  const social = (3 + 40 * deprivation * deprivation) * (composition === 'lone_parent' ? 2 : 1);
  const privateRent = (12 + 15 * deprivation) * (young ? 2.2 : older ? 0.3 : 1);
  const temporary = (0.05 + 3.5 * Math.pow(deprivation, 3)) * (family ? 1.8 : older ? 0.1 : 1);
  return [owner, social, privateRent, temporary];
}

const TENURE_TABLES = new Map<string, WeightedTable<Tenure>>();
function tenureTable(decile: number, composition: HouseholdComposition): WeightedTable<Tenure> {
  const key = `${decile}|${composition}`;
  let t = TENURE_TABLES.get(key);
  if (!t) {
    t = weightedTable(TENURES, tenureWeights((10 - decile) / 9, composition));
    TENURE_TABLES.set(key, t);
  }
  return t;
}

const MOVE_CHANCE: Record<Tenure, number> = { owner_occupied: 0.12, social_rent: 0.18, private_rent: 0.42, temporary_accommodation: 1 };

// --- Building people ----------------------------------------------------------------------------

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function asciiLower(s: string): string {
  return s.toLowerCase().replace(/[^a-z]/g, '');
}

const EMAIL_DOMAINS = ['example.com', 'example.net', 'example.org'];

class HouseholdBuilder {
  readonly residents: Resident[] = [];
  readonly relationships: Relationship[] = [];
  private readonly ctx: GenContext;
  private readonly rng: Rng;
  private readonly householdId: string;
  private readonly group: EthnicityGroup;

  constructor(ctx: GenContext, rng: Rng, householdId: string, group: EthnicityGroup) {
    this.ctx = ctx;
    this.rng = rng;
    this.householdId = householdId;
    this.group = group;
  }

  birthDayForAge(age: number): number {
    return this.ctx.calendar.today - Math.floor((age + this.rng.next()) * YEAR);
  }

  add(opts: { age: number; sex: Sex; origin: NameOrigin; familyName: string; group?: EthnicityGroup; birthDay?: number }): Resident {
    const { ctx, rng } = this;
    const cal = ctx.calendar;
    const birthDay = opts.birthDay ?? this.birthDayForAge(opts.age);
    const age = cal.ageOn(birthDay);
    const year = cal.year(birthDay);
    const givenTable = ctx.names.givenTable(opts.origin, opts.sex, year);
    const givenName = rng.weightedPick(givenTable);
    let middleName: string | null = null;
    if (rng.chance(opts.origin === 'british' ? 0.55 : 0.3)) {
      const m = rng.weightedPick(givenTable);
      if (m !== givenName) middleName = m;
    }
    const familyName = surnameForSex(opts.familyName, opts.sex);
    const index = ++ctx.personCount;
    const hasPhone = age >= 18 ? rng.chance(0.86) : age >= 12 ? rng.chance(0.45) : false;
    const hasEmail = age >= 18 ? rng.chance(0.74) : age >= 14 ? rng.chance(0.2) : false;
    const person: Person = {
      id: `p-${pad(index, 7)}`,
      householdId: this.householdId,
      givenName,
      middleName,
      familyName,
      birthFamilyName: null,
      birthDate: cal.isoDate(birthDay),
      sex: opts.sex,
      ethnicityGroup: opts.group ?? this.group,
      disability: false,
      // About 2% are unknown to the NHS spine (recent arrivals, unregistered).
      nhsNumber: rng.chance(0.02) ? null : syntheticNhsNumber(index, ctx.nhsSalt),
      // 07700 900000–900999 is Ofcom's drama range: numbers repeat across people by design.
      phone: hasPhone ? `07700 900${pad(rng.int(0, 999), 3)}` : null,
      email: hasEmail ? this.email(givenName, familyName, year) : null,
      twinOf: null,
    };
    const r: Resident = { person, index, birthDay, age, origin: opts.origin, nameChangedDay: null };
    this.residents.push(r);
    return r;
  }

  private email(given: string, family: string, birthYear: number): string {
    const rng = this.rng;
    const g = asciiLower(given) || 'user';
    const f = asciiLower(family) || 'mail';
    const style = rng.int(0, 3);
    const local =
      style === 0
        ? `${g}.${f}`
        : style === 1
          ? `${g}${f}${birthYear % 100}`
          : style === 2
            ? `${g.charAt(0)}${f}${rng.int(1, 999)}`
            : `${g}_${f}${rng.int(1, 99)}`;
    return `${local}@${rng.pick(EMAIL_DOMAINS)}`;
  }

  pickGivenName(origin: NameOrigin, sex: Sex, birthDay: number): string {
    return this.rng.weightedPick(this.ctx.names.givenTable(origin, sex, this.ctx.calendar.year(birthDay)));
  }

  familyName(origin: NameOrigin): string {
    return this.rng.weightedPick(this.ctx.names.familyTable(origin));
  }

  relate(a: Resident, b: Resident, bIsToA: RelationshipType, aIsToB: RelationshipType): void {
    this.relationships.push({ personId: a.person.id, relatedPersonId: b.person.id, type: bIsToA });
    this.relationships.push({ personId: b.person.id, relatedPersonId: a.person.id, type: aIsToB });
  }

  /** Marks that `r` took a new family name at marriage, `yearsAgo` years before today. */
  changeName(r: Resident, partnerFamily: string, yearsAgo: number): void {
    const newFamily = surnameForSex(partnerFamily, r.person.sex);
    if (r.person.familyName === newFamily) return;
    r.person.birthFamilyName = r.person.familyName;
    r.person.familyName = newFamily;
    r.nameChangedDay = this.ctx.calendar.today - Math.floor(yearsAgo * YEAR);
  }
}

/** Age with a gentle lean towards the bottom of the range (power > 1). */
function skewedAge(rng: Rng, lo: number, hi: number, power: number): number {
  return lo + Math.floor((hi - lo + 1) * Math.pow(rng.next(), power));
}

function otherSex(sex: Sex): Sex {
  return sex === 'female' ? 'male' : 'female';
}

interface Couple {
  a: Resident; // the woman in opposite-sex couples
  b: Resident;
}

/** Partners of similar age; usually the same background; often sharing a name after marriage. */
function addCouple(
  hb: HouseholdBuilder,
  rng: Rng,
  ageA: number,
  origin: NameOrigin,
  marriedChance: number,
  partnerAgeRange?: [number, number],
): Couple {
  const sameSex = rng.chance(0.03);
  const sexA: Sex = sameSex ? (rng.chance(0.5) ? 'female' : 'male') : 'female';
  const sexB: Sex = sameSex ? sexA : otherSex(sexA);
  const partnerOrigin = rng.chance(0.9)
    ? origin
    : rng.pick<NameOrigin>(['british', 'irish', 'polish', 'indian', 'black_caribbean', 'black_african', 'pakistani', 'chinese']);
  const a = hb.add({ age: ageA, sex: sexA, origin, familyName: hb.familyName(origin) });
  let ageB = Math.max(18, Math.round(ageA + (sameSex ? 0 : 2) + rng.normal() * 3.5));
  if (partnerAgeRange) ageB = Math.min(partnerAgeRange[1], Math.max(partnerAgeRange[0], ageB));
  const b = hb.add({ age: ageB, sex: sexB, origin: partnerOrigin, familyName: hb.familyName(partnerOrigin) });
  if (partnerOrigin !== origin && partnerOrigin !== 'british' && partnerOrigin !== 'irish')
    b.person.ethnicityGroup = groupOfOrigin(partnerOrigin);
  if (rng.chance(marriedChance)) {
    const yearsMarried = Math.max(0, Math.min(a.age, b.age) - 18) * rng.next() * 0.9;
    if (rng.chance(sameSex ? 0.3 : 0.85)) hb.changeName(a, b.person.familyName, yearsMarried);
  }
  hb.relate(a, b, 'partner', 'partner');
  return { a, b };
}

function groupOfOrigin(origin: NameOrigin): EthnicityGroup {
  switch (origin) {
    case 'indian':
    case 'pakistani':
    case 'bangladeshi':
    case 'chinese':
      return 'asian';
    case 'black_african':
    case 'black_caribbean':
      return 'black';
    case 'arab':
      return 'other';
    default:
      return 'white';
  }
}

const CHILD_COUNT = weightedTable([1, 2, 3, 4, 5], [44, 38, 12, 4, 2]);
const BIRTH_GAP = weightedTable([1, 2, 3, 4, 5, 6], [8, 30, 28, 16, 10, 8]);

/**
 * Children born to a mother aged 18–45 (about 1.5% of births are twins), eldest first.
 * Returns the mother's age and the children's birth days.
 */
function planChildren(
  hb: HouseholdBuilder,
  rng: Rng,
  deprivation: number,
  count: number,
  allowAdult: boolean,
): { motherAge: number; births: number[]; twins: boolean[]; fatherAgeRange: [number, number] } {
  const eldestAge = allowAdult && rng.chance(0.15) ? rng.int(18, 24) : rng.int(0, 17);
  // 19–40 at the first birth: with birthdays falling anywhere in the year, every parent is 18–45 at each birth.
  const motherAgeAtFirst = Math.min(40, Math.max(19, Math.round(29 - 3 * deprivation + rng.normal() * 5)));
  const motherAge = eldestAge + motherAgeAtFirst;
  const births: number[] = [];
  const twins: boolean[] = [];
  let childAge = eldestAge;
  let youngestAge = eldestAge;
  for (let k = 0; k < count && childAge >= 0 && motherAge - childAge <= 45; k++) {
    const day = hb.birthDayForAge(childAge);
    youngestAge = childAge;
    births.push(day);
    twins.push(false);
    if (rng.chance(0.015)) {
      births.push(day);
      twins.push(true);
      k++;
    }
    childAge -= rng.weightedPick(BIRTH_GAP);
  }
  return { motherAge, births, twins, fatherAgeRange: [eldestAge + 19, youngestAge + 44] };
}

function addChildren(
  hb: HouseholdBuilder,
  rng: Rng,
  parents: Resident[],
  plan: { births: number[]; twins: boolean[] },
  origin: NameOrigin,
  familyName: string,
  group: EthnicityGroup,
): Resident[] {
  const children: Resident[] = [];
  for (let k = 0; k < plan.births.length; k++) {
    let sex: Sex = rng.chance(0.512) ? 'male' : 'female';
    const twinOf = plan.twins[k] && children.length > 0 ? children[children.length - 1] : null;
    // Twins must share a surname; where surnames follow sex (Singh/Kaur) make them same-sex twins.
    if (twinOf && surnameForSex(familyName, sex) !== twinOf.person.familyName) sex = twinOf.person.sex;
    const child = hb.add({ age: 0, sex, origin, familyName, group, birthDay: plan.births[k] });
    if (twinOf) {
      const twin = twinOf;
      // Twins share birth date, surname and address but never a given name.
      let guard = 0;
      while (child.person.givenName === twin.person.givenName && guard++ < 20) {
        child.person.givenName = hb.pickGivenName(origin, sex, child.birthDay);
      }
      if (child.person.givenName === twin.person.givenName) child.person.givenName += 'a';
      child.person.twinOf = twin.person.id;
      twin.person.twinOf = child.person.id;
    }
    for (const p of parents) hb.relate(child, p, 'parent', 'child');
    for (const sib of children) hb.relate(child, sib, 'sibling', 'sibling');
    children.push(child);
  }
  return children;
}

function childGroup(a: Resident, b: Resident | null): EthnicityGroup {
  if (!b || a.person.ethnicityGroup === b.person.ethnicityGroup) return a.person.ethnicityGroup;
  return 'mixed';
}

function populate(
  hb: HouseholdBuilder,
  rng: Rng,
  composition: HouseholdComposition,
  origin: NameOrigin,
  group: EthnicityGroup,
  deprivation: number,
): void {
  switch (composition) {
    case 'single_adult': {
      const sex: Sex = rng.chance(0.55) ? 'male' : 'female';
      hb.add({ age: skewedAge(rng, 18, 64, 1.1), sex, origin, familyName: hb.familyName(origin) });
      return;
    }
    case 'older_single': {
      const sex: Sex = rng.chance(0.66) ? 'female' : 'male'; // women outlive men
      const r = hb.add({ age: skewedAge(rng, 65, 100, 1.7), sex, origin, familyName: hb.familyName(origin) });
      if (sex === 'female' && rng.chance(0.7)) hb.changeName(r, hb.familyName(origin), r.age - 18 - rng.int(2, 12));
      return;
    }
    case 'couple':
      addCouple(hb, rng, skewedAge(rng, 20, 64, 1), origin, 0.55);
      return;
    case 'older_couple':
      addCouple(hb, rng, skewedAge(rng, 65, 94, 1.6), origin, 0.85);
      return;
    case 'couple_with_children': {
      const plan = planChildren(hb, rng, deprivation, rng.weightedPick(CHILD_COUNT), true);
      const { a, b } = addCouple(hb, rng, plan.motherAge, origin, 0.65, plan.fatherAgeRange);
      const fatherName = b.person.familyName;
      const surname = rng.chance(0.9) ? fatherName : a.person.familyName;
      addChildren(hb, rng, [a, b], plan, origin, surname, childGroup(a, b));
      return;
    }
    case 'lone_parent': {
      const plan = planChildren(hb, rng, deprivation, rng.weightedPick(CHILD_COUNT), true);
      const sex: Sex = rng.chance(0.88) ? 'female' : 'male';
      const parent = hb.add({ age: plan.motherAge, sex, origin, familyName: hb.familyName(origin) });
      // Many children of lone parents carry an absent father's surname.
      const surname = rng.chance(0.4) ? hb.familyName(origin) : parent.person.familyName;
      addChildren(hb, rng, [parent], plan, origin, surname, group);
      return;
    }
    case 'multi_generation': {
      const plan = planChildren(hb, rng, deprivation, rng.weightedPick(CHILD_COUNT), false);
      const withPartner = rng.chance(0.75);
      let parents: Resident[];
      let middle: Resident;
      if (withPartner) {
        const { a, b } = addCouple(hb, rng, plan.motherAge, origin, 0.8, plan.fatherAgeRange);
        parents = [a, b];
        // Grandparents are usually the father's parents in South Asian households, otherwise either side.
        middle = origin === 'pakistani' || origin === 'bangladeshi' || origin === 'indian' || rng.chance(0.5) ? b : a;
      } else {
        middle = hb.add({ age: plan.motherAge, sex: 'female', origin, familyName: hb.familyName(origin) });
        parents = [middle];
      }
      const grandAge = middle.age + Math.max(19, Math.min(42, Math.round(28 + rng.normal() * 5)));
      const grandRange: [number, number] = [middle.age + 19, middle.age + 44];
      const grandparents: Resident[] = [];
      const birthName = middle.person.birthFamilyName ?? middle.person.familyName;
      if (rng.chance(0.55)) {
        const { a, b } = addCouple(hb, rng, grandAge, origin, 0, grandRange);
        b.person.familyName = surnameForSex(birthName, b.person.sex);
        if (a.person.birthFamilyName === null) hb.changeName(a, birthName, Math.max(0, a.age - 25));
        else a.person.familyName = surnameForSex(birthName, a.person.sex);
        grandparents.push(a, b);
      } else {
        const g = hb.add({ age: grandAge, sex: rng.chance(0.7) ? 'female' : 'male', origin, familyName: birthName });
        grandparents.push(g);
      }
      for (const g of grandparents) hb.relate(middle, g, 'parent', 'child');
      const surname = parents.length === 2 ? parents[1].person.familyName : middle.person.familyName;
      const children = addChildren(
        hb,
        rng,
        parents,
        plan,
        origin,
        surname,
        parents.length === 2 ? childGroup(parents[0], parents[1]) : group,
      );
      for (const c of children) for (const g of grandparents) hb.relate(c, g, 'grandparent', 'grandchild');
      return;
    }
    case 'shared_adults': {
      const n = rng.int(2, 4);
      for (let k = 0; k < n; k++) {
        const o = rng.chance(0.7) ? origin : rng.weightedPick(ORIGINS_BY_GROUP[rng.weightedPick(ETHNICITY_BY_DECILE[5])]);
        hb.add({
          age: skewedAge(rng, 18, 45, 1.8),
          sex: rng.chance(0.5) ? 'male' : 'female',
          origin: o,
          familyName: hb.familyName(o),
          group: groupOfOrigin(o),
        });
      }
      return;
    }
  }
}

/** Disability (Equality Act definition, ~18% overall): rises steeply with age and with deprivation. */
function disabilityChance(age: number, deprivation: number): number {
  const base = age < 16 ? 0.06 : age < 45 ? 0.12 : age < 65 ? 0.21 : age < 75 ? 0.3 : age < 85 ? 0.45 : 0.6;
  return base * (0.7 + 0.65 * deprivation);
}

function addressLine(rng: Rng, houseNumber: number, street: string, tenure: Tenure): string {
  const flat = tenure !== 'owner_occupied' && rng.chance(tenure === 'temporary_accommodation' ? 0.7 : 0.25);
  if (flat) return `Flat ${rng.int(1, 24)}, ${houseNumber} ${street}`;
  return `${houseNumber} ${street}`;
}

/** Builds one household in a small area, with its members and their family relationships. */
export function buildHousehold(ctx: GenContext, rng: Rng, areaIndex: number): HouseholdDraft {
  const area = ctx.area(areaIndex);
  const decile = area.deprivationDecile;
  const deprivation = (10 - decile) / 9;
  const localityIndex = ctx.index.areaLocality[areaIndex];
  const householdId = `hh-${pad(++ctx.householdCount, 7)}`;

  const group = rng.weightedPick(ETHNICITY_BY_DECILE[decile]);
  const origin = rng.weightedPick(ORIGINS_BY_GROUP[group]);
  const composition = rng.weightedPick(compositionTable(decile, group));
  const tenure = rng.weightedPick(tenureTable(decile, composition));

  const hb = new HouseholdBuilder(ctx, rng, householdId, group === 'mixed' ? 'white' : group);
  populate(hb, rng, composition, origin, group, deprivation);
  if (group === 'mixed') {
    // Mixed households: the children (or the single person) carry the mixed group.
    for (const r of hb.residents) if (r.age < 18 || hb.residents.length === 1) r.person.ethnicityGroup = 'mixed';
  }
  for (const r of hb.residents) r.person.disability = rng.chance(disabilityChance(r.age, deprivation));

  const postcodes = ctx.index.postcodesByArea[areaIndex];
  const postcode = rng.pick(postcodes);
  const houseNumber = ctx.nextHouseNumber.get(postcode) ?? 1;
  ctx.nextHouseNumber.set(postcode, houseNumber + rng.int(1, 2));
  const household: Household = {
    id: householdId,
    smallAreaId: area.id,
    postcode,
    addressLine: addressLine(rng, houseNumber, streetForPostcode(postcode), tenure),
    composition,
    tenure,
  };

  let movedInDay: number | null = null;
  if (rng.chance(MOVE_CHANCE[tenure])) {
    const youngest = Math.min(...hb.residents.map((r) => r.age));
    const maxYears = Math.min(5, Math.max(0.2, youngest + 0.2));
    movedInDay = ctx.calendar.today - Math.floor(rng.next() * maxYears * YEAR);
    const sameLocality = rng.chance(0.6);
    const pool = sameLocality ? ctx.index.postcodesByLocality[localityIndex] : ctx.index.allPostcodes;
    let previous = rng.pick(pool);
    if (previous === postcode) previous = rng.pick(ctx.index.allPostcodes);
    household.previousAddress = {
      addressLine: addressLine(rng, rng.int(1, 120), streetForPostcode(previous), rng.chance(0.5) ? 'private_rent' : 'owner_occupied'),
      postcode: previous,
      movedIn: ctx.calendar.isoDate(movedInDay),
    };
  }

  return { household, residents: hb.residents, relationships: hb.relationships, decile, deprivation, localityIndex, movedInDay };
}
