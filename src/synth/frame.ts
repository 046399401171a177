// The fixed frame of a synthetic place: localities, small areas with deprivation deciles,
// postcodes, and every organisation serving the place with its teams, staff and services.

import { LOCALITY_PREFIXES, LOCALITY_SUFFIXES, STREET_STEMS, STREET_SUFFIXES, familyNamesFor, givenNamesFor } from './names.ts';
import type { NameOrigin } from './names.ts';
import { Rng, hash32, streamFor, weightedTable } from './random.ts';
import type { WeightedTable } from './random.ts';
import type {
  GenerateOptions,
  Locality,
  NeedCode,
  Organisation,
  OrganisationKind,
  PlaceFrame,
  Postcode,
  Practitioner,
  PractitionerRole,
  Service,
  Sex,
  SmallArea,
  Team,
} from './types.ts';

export const PLACE_NAME = 'Riverford';
/** "RV" is not a real UK postcode area, so no generated postcode can point at a real address. */
export const POSTCODE_AREA = 'RV';
const CENTRE_LAT = 52.953;
const CENTRE_LON = -1.742;
export const RESIDENTS_PER_SMALL_AREA = 1500;
const HOUSEHOLDS_PER_POSTCODE = 27;
const AREAS_PER_SECTOR = 6;
/** Letters used in the inward part of real postcodes (C, I, K, M, O and V are never used). */
const INWARD_LETTERS = 'ABDEFGHJLNPQRSTUWXYZ';

export function localityCount(people: number): number {
  return Math.min(10, Math.max(6, 6 + Math.floor(2 * Math.log10(Math.max(1, people) / 10_000))));
}

/** At least ten small areas, so even a tiny demo place has every deprivation decile. */
export function smallAreaCount(people: number): number {
  return Math.max(10, Math.round(people / RESIDENTS_PER_SMALL_AREA));
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Splits a total into parts proportional to weights (largest remainder), each at least `min`. */
export function apportion(total: number, weights: readonly number[], min = 0): number[] {
  const base = weights.map(() => min);
  let left = total - min * weights.length;
  if (left <= 0) return base;
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (w / sum) * left);
  const out = base.map((b, i) => b + Math.floor(exact[i]));
  left -= exact.reduce((a, e) => a + Math.floor(e), 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; k < left; k++) out[order[k % order.length][1]]++;
  return out;
}

function makeLocalityNames(rng: Rng, n: number): string[] {
  const names = new Set<string>();
  while (names.size < n) {
    const name = rng.pick(LOCALITY_PREFIXES) + rng.pick(LOCALITY_SUFFIXES);
    names.add(name.charAt(0) + name.slice(1).toLowerCase());
  }
  return [...names];
}

/** A street name tied to a postcode, so every household in a postcode unit shares its street. */
export function streetForPostcode(postcode: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < postcode.length; i++) h = Math.imul(h ^ postcode.charCodeAt(i), 0x01000193);
  const stem = STREET_STEMS[(h >>> 0) % STREET_STEMS.length];
  const suffixes = STREET_SUFFIXES_TABLE;
  return `${stem} ${new Rng(hash32(h, 7)).weightedPick(suffixes)}`;
}
const STREET_SUFFIXES_TABLE: WeightedTable<string> = weightedTable(STREET_SUFFIXES.names, STREET_SUFFIXES.weights);

interface Geography {
  localities: Locality[];
  localityLatLon: Array<[number, number]>;
  smallAreas: SmallArea[];
  postcodes: Postcode[];
}

function buildGeography(rng: Rng, people: number): Geography {
  const nLoc = localityCount(people);
  const names = makeLocalityNames(rng, nLoc);
  const localities: Locality[] = names.map((name, i) => ({ id: `loc-${pad(i + 1, 2)}`, name }));

  // Locality 1 is the town centre; the rest sit on a ring. Affluence rises with distance from the
  // centre plus noise, so one or two outer estates can still be among the most deprived.
  const localityLatLon: Array<[number, number]> = [];
  const affluence: number[] = [];
  for (let i = 0; i < nLoc; i++) {
    if (i === 0) {
      localityLatLon.push([CENTRE_LAT, CENTRE_LON]);
      affluence.push(-1.6);
      continue;
    }
    const angle = (2 * Math.PI * (i - 1)) / (nLoc - 1) + rng.normal() * 0.15;
    const radius = 0.035 + rng.next() * 0.045;
    localityLatLon.push([CENTRE_LAT + radius * Math.sin(angle), CENTRE_LON + radius * 1.6 * Math.cos(angle)]);
    affluence.push((radius - 0.055) * 30 + rng.normal() * 0.9);
  }

  const nAreas = smallAreaCount(people);
  const areasPerLocality = apportion(
    nAreas,
    localities.map((_, i) => (i === 0 ? 1.4 : 0.7 + rng.next() * 0.6)),
    1,
  );
  const populations = apportion(people, new Array<number>(nAreas).fill(1));

  // Deciles: exactly uniform overall, handed out in order of a clustered affluence score.
  const areaLocality: number[] = [];
  areasPerLocality.forEach((count, l) => {
    for (let k = 0; k < count; k++) areaLocality.push(l);
  });
  const scores = areaLocality.map((l) => affluence[l] + rng.normal() * 0.45);
  const rankOrder = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const deciles = new Array<number>(nAreas);
  rankOrder.forEach(([, areaIdx], rank) => {
    deciles[areaIdx] = Math.floor((rank * 10) / nAreas) + 1;
  });

  const smallAreas: SmallArea[] = [];
  const postcodes: Postcode[] = [];
  let areaIdx = 0;
  for (let l = 0; l < nLoc; l++) {
    const loc = localities[l];
    const [lat0, lon0] = localityLatLon[l];
    let district = l + 1;
    let sector = 1;
    let units = shuffledUnits(rng);
    for (let k = 0; k < areasPerLocality[l]; k++, areaIdx++) {
      const msoa = Math.floor(k / 5) + 1;
      const lsoaLetter = 'ABCDE'[k % 5];
      const lat = lat0 + rng.normal() * 0.008;
      const lon = lon0 + rng.normal() * 0.012;
      const area: SmallArea = {
        id: `sa-${pad(areaIdx + 1, 4)}`,
        code: `J01${pad(areaIdx + 1, 6)}`,
        name: `${loc.name} ${pad(msoa, 3)}${lsoaLetter}`,
        localityId: loc.id,
        deprivationDecile: deciles[areaIdx],
        lat: round6(lat),
        lon: round6(lon),
        targetPopulation: populations[areaIdx],
      };
      smallAreas.push(area);

      if (k > 0 && k % AREAS_PER_SECTOR === 0) {
        sector = (sector + 1) % 10;
        units = shuffledUnits(rng);
        if (sector === 1) district += nLoc; // ten sectors used up: open another district for this locality
      }
      const unitCount = Math.max(3, Math.round(area.targetPopulation / 2.36 / HOUSEHOLDS_PER_POSTCODE));
      for (let u = 0; u < unitCount; u++) {
        const unit = units.pop() ?? 'ZZ';
        postcodes.push({
          postcode: `${POSTCODE_AREA}${district} ${sector}${unit}`,
          smallAreaId: area.id,
          lat: round6(lat + rng.normal() * 0.002),
          lon: round6(lon + rng.normal() * 0.003),
        });
      }
    }
  }
  return { localities, localityLatLon, smallAreas, postcodes };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function shuffledUnits(rng: Rng): string[] {
  const units: string[] = [];
  for (const a of INWARD_LETTERS) for (const b of INWARD_LETTERS) units.push(a + b);
  for (let i = units.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [units[i], units[j]] = [units[j], units[i]];
  }
  return units;
}

// ---------------------------------------------------------------------------------------------
// Organisations, teams, practitioners and services

interface ServiceTemplate {
  name: string;
  description: string;
  needs: NeedCode[];
  eligibility: string;
  minAge: number | null;
  maxAge: number | null;
  /** Index into the org template's teams. */
  team: number;
  /** New referrals per month per 100,000 residents. */
  capacityPer100k: number;
}

interface OrgTemplate {
  teams: string[];
  roles: PractitionerRole[];
  staff: [number, number];
  services: ServiceTemplate[];
}

const ADULTS = 'Adults aged 18 and over';

const TEMPLATES: Record<Exclude<OrganisationKind, 'school' | 'charity'>, OrgTemplate> = {
  gp_practice: {
    teams: ['Clinical team', 'Care coordination'],
    roles: ['gp', 'gp', 'nurse', 'nurse', 'gp_care_coordinator', 'link_worker'],
    staff: [6, 14],
    services: [
      {
        name: 'Social prescribing',
        description: 'A link worker helps patients connect with community groups, advice and practical support.',
        needs: ['social_isolation', 'financial_hardship', 'mental_health'],
        eligibility: 'Registered patients aged 16 and over',
        minAge: 16,
        maxAge: null,
        team: 1,
        capacityPer100k: 120,
      },
      {
        name: 'Long-term conditions clinic',
        description: 'Reviews and care planning for diabetes, heart and lung conditions.',
        needs: ['long_term_condition'],
        eligibility: 'Registered patients with a long-term condition',
        minAge: null,
        maxAge: null,
        team: 0,
        capacityPer100k: 200,
      },
      {
        name: 'Frailty and care coordination',
        description: 'Proactive care planning for frail patients and people nearing the end of life.',
        needs: ['frailty_falls', 'end_of_life'],
        eligibility: 'Registered patients aged 65 and over, or at the end of life',
        minAge: 65,
        maxAge: null,
        team: 1,
        capacityPer100k: 80,
      },
    ],
  },
  hospital_trust: {
    teams: ['Emergency department', 'Discharge hub', 'Frailty unit', 'Therapies'],
    roles: ['discharge_coordinator', 'nurse', 'nurse', 'occupational_therapist', 'coordinator'],
    staff: [20, 30],
    services: [
      {
        name: 'Hospital discharge hub',
        description: 'Plans safe discharge home with health, social care and housing partners.',
        needs: ['frailty_falls', 'long_term_condition', 'housing_unsuitable'],
        eligibility: 'Inpatients ready to leave hospital',
        minAge: 18,
        maxAge: null,
        team: 1,
        capacityPer100k: 250,
      },
      {
        name: 'Falls prevention service',
        description: 'Assessment, strength and balance programme after a fall.',
        needs: ['frailty_falls'],
        eligibility: 'Adults aged 65 and over who have fallen',
        minAge: 65,
        maxAge: null,
        team: 2,
        capacityPer100k: 60,
      },
      {
        name: 'Community rehabilitation',
        description: 'Short-term therapy at home to regain independence.',
        needs: ['frailty_falls', 'long_term_condition'],
        eligibility: ADULTS,
        minAge: 18,
        maxAge: null,
        team: 3,
        capacityPer100k: 70,
      },
    ],
  },
  mental_health_trust: {
    teams: ['Crisis team', 'Community mental health team', 'Early intervention'],
    roles: ['mental_health_practitioner', 'mental_health_practitioner', 'nurse', 'social_worker', 'coordinator'],
    staff: [15, 28],
    services: [
      {
        name: 'Crisis and home treatment',
        description: 'Round-the-clock help in a mental health crisis.',
        needs: ['mental_health'],
        eligibility: 'Anyone aged 16 and over in mental health crisis',
        minAge: 16,
        maxAge: null,
        team: 0,
        capacityPer100k: 60,
      },
      {
        name: 'Community mental health team',
        description: 'Assessment and ongoing support for severe mental illness.',
        needs: ['mental_health'],
        eligibility: ADULTS,
        minAge: 18,
        maxAge: null,
        team: 1,
        capacityPer100k: 80,
      },
      {
        name: 'Early intervention in psychosis',
        description: 'Support for people experiencing a first episode of psychosis.',
        needs: ['mental_health'],
        eligibility: 'People aged 14 to 65',
        minAge: 14,
        maxAge: 65,
        team: 2,
        capacityPer100k: 10,
      },
    ],
  },
  council_adult_social_care: {
    teams: ['Adult front door', 'Locality social work', 'Occupational therapy', 'Carers team'],
    roles: ['social_worker', 'social_worker', 'occupational_therapist', 'coordinator', 'support_worker'],
    staff: [18, 30],
    services: [
      {
        name: 'Care Act assessment',
        description: 'An assessment of care and support needs under the Care Act 2014.',
        needs: ['frailty_falls', 'learning_disability', 'long_term_condition'],
        eligibility: 'Adults who appear to need care and support',
        minAge: 18,
        maxAge: null,
        team: 0,
        capacityPer100k: 150,
      },
      {
        name: 'Reablement',
        description: 'Up to six weeks of free support at home to relearn daily tasks.',
        needs: ['frailty_falls'],
        eligibility: 'Adults leaving hospital or at risk of losing independence',
        minAge: 18,
        maxAge: null,
        team: 1,
        capacityPer100k: 90,
      },
      {
        name: 'Home adaptations',
        description: 'Equipment and adaptations assessed by an occupational therapist.',
        needs: ['frailty_falls', 'housing_unsuitable'],
        eligibility: 'Disabled adults and older people',
        minAge: 18,
        maxAge: null,
        team: 2,
        capacityPer100k: 70,
      },
      {
        name: 'Carers assessment',
        description: 'An assessment of what support an unpaid carer needs.',
        needs: ['carer_strain'],
        eligibility: 'Adult carers',
        minAge: 18,
        maxAge: null,
        team: 3,
        capacityPer100k: 50,
      },
    ],
  },
  council_children_social_care: {
    teams: ['Children’s front door', 'Early help', 'Child protection'],
    roles: ['social_worker', 'social_worker', 'coordinator', 'support_worker'],
    staff: [15, 28],
    services: [
      {
        name: 'Early help',
        description: 'Family support before problems escalate.',
        needs: ['child_wellbeing', 'child_school_attendance', 'financial_hardship'],
        eligibility: 'Families with children under 18',
        minAge: 0,
        maxAge: 17,
        team: 1,
        capacityPer100k: 90,
      },
      {
        name: 'Child protection',
        description: 'Assessment and protection where a child may be at risk of significant harm.',
        needs: ['child_safeguarding'],
        eligibility: 'Children under 18 at risk of harm',
        minAge: 0,
        maxAge: 17,
        team: 2,
        capacityPer100k: 40,
      },
      {
        name: 'Young carers support',
        description: 'Assessment and support for children who care for a family member.',
        needs: ['carer_strain'],
        eligibility: 'Young carers under 18',
        minAge: 5,
        maxAge: 17,
        team: 1,
        capacityPer100k: 15,
      },
    ],
  },
  council_housing: {
    teams: ['Housing options', 'Tenancy management', 'Temporary accommodation'],
    roles: ['housing_officer', 'housing_officer', 'support_worker', 'coordinator'],
    staff: [12, 25],
    services: [
      {
        name: 'Housing options and homelessness prevention',
        description: 'Advice and help for anyone homeless or at risk within 56 days.',
        needs: ['homelessness', 'housing_unsuitable'],
        eligibility: 'Anyone aged 16 and over who is homeless or threatened with homelessness',
        minAge: 16,
        maxAge: null,
        team: 0,
        capacityPer100k: 120,
      },
      {
        name: 'Tenancy sustainment',
        description: 'Support for council tenants at risk of losing their home.',
        needs: ['housing_unsuitable', 'financial_hardship'],
        eligibility: 'Council tenants',
        minAge: 18,
        maxAge: null,
        team: 1,
        capacityPer100k: 60,
      },
      {
        name: 'Temporary accommodation',
        description: 'Emergency and temporary housing while a duty is decided.',
        needs: ['homelessness'],
        eligibility: 'Households the council owes a housing duty',
        minAge: 16,
        maxAge: null,
        team: 2,
        capacityPer100k: 40,
      },
    ],
  },
  housing_association: {
    teams: ['Neighbourhood housing', 'Tenancy support'],
    roles: ['housing_officer', 'housing_officer', 'support_worker'],
    staff: [6, 16],
    services: [
      {
        name: 'Tenancy support',
        description: 'Help with rent arrears, benefits and managing a tenancy.',
        needs: ['housing_unsuitable', 'financial_hardship'],
        eligibility: 'Our tenants',
        minAge: 18,
        maxAge: null,
        team: 1,
        capacityPer100k: 50,
      },
      {
        name: 'Adaptations for tenants',
        description: 'Minor adaptations and moves to more suitable homes.',
        needs: ['housing_unsuitable', 'frailty_falls'],
        eligibility: 'Tenants with a disability or health condition',
        minAge: 18,
        maxAge: null,
        team: 0,
        capacityPer100k: 20,
      },
    ],
  },
  probation: {
    teams: ['Community supervision', 'Resettlement'],
    roles: ['probation_officer', 'probation_officer', 'coordinator', 'support_worker'],
    staff: [10, 22],
    services: [
      {
        name: 'Community supervision',
        description: 'Supervision of people on community orders and licence.',
        needs: ['offending'],
        eligibility: 'Adults on a community order or licence',
        minAge: 18,
        maxAge: null,
        team: 0,
        capacityPer100k: 40,
      },
      {
        name: 'Resettlement support',
        description: 'Accommodation and employment help on release from custody.',
        needs: ['offending', 'homelessness'],
        eligibility: 'Adults leaving custody',
        minAge: 18,
        maxAge: null,
        team: 1,
        capacityPer100k: 15,
      },
    ],
  },
  drug_alcohol_service: {
    teams: ['Assessment and engagement', 'Recovery'],
    roles: ['drug_alcohol_worker', 'drug_alcohol_worker', 'nurse', 'coordinator'],
    staff: [8, 18],
    services: [
      {
        name: 'Drug and alcohol treatment',
        description: 'Assessment, prescribing and psychosocial support.',
        needs: ['substance_misuse'],
        eligibility: 'Adults who use drugs or alcohol',
        minAge: 18,
        maxAge: null,
        team: 0,
        capacityPer100k: 60,
      },
      {
        name: 'Recovery community',
        description: 'Peer support and mutual aid groups.',
        needs: ['substance_misuse', 'social_isolation'],
        eligibility: 'Adults in or after treatment',
        minAge: 18,
        maxAge: null,
        team: 1,
        capacityPer100k: 40,
      },
      {
        name: 'Young people’s substance service',
        description: 'Specialist support for under-18s.',
        needs: ['substance_misuse'],
        eligibility: 'Young people aged 11 to 17',
        minAge: 11,
        maxAge: 17,
        team: 0,
        capacityPer100k: 8,
      },
    ],
  },
};

const SCHOOL_TEMPLATE = (primary: boolean): OrgTemplate => ({
  teams: ['Pastoral and safeguarding'],
  roles: ['school_pastoral_lead', 'support_worker'],
  staff: [2, 4],
  services: [
    {
      name: 'Attendance support',
      description: 'Working with families when attendance drops.',
      needs: ['child_school_attendance'],
      eligibility: 'Pupils on roll',
      minAge: primary ? 4 : 11,
      maxAge: primary ? 11 : 18,
      team: 0,
      capacityPer100k: 4,
    },
    {
      name: 'Pastoral support',
      description: 'Wellbeing support and a named trusted adult.',
      needs: ['child_wellbeing', 'child_safeguarding'],
      eligibility: 'Pupils on roll',
      minAge: primary ? 4 : 11,
      maxAge: primary ? 11 : 18,
      team: 0,
      capacityPer100k: 4,
    },
  ],
});

interface CharityDef {
  name: string;
  template: OrgTemplate;
}

const charityTemplate = (services: ServiceTemplate[], teams: string[]): OrgTemplate => ({
  teams,
  roles: ['support_worker', 'support_worker', 'coordinator', 'link_worker'],
  staff: [5, 10],
  services,
});

const CHARITIES: CharityDef[] = [
  {
    name: 'Riverford Food Bank',
    template: charityTemplate(
      [
        {
          name: 'Emergency food parcels',
          description: 'Three days of food on referral, with advice on the cause of the crisis.',
          needs: ['financial_hardship'],
          eligibility: 'Anyone referred by an agency',
          minAge: null,
          maxAge: null,
          team: 0,
          capacityPer100k: 300,
        },
        {
          name: 'Fuel and hardship fund',
          description: 'Small grants for energy top-ups and essentials.',
          needs: ['financial_hardship'],
          eligibility: 'Households in crisis',
          minAge: 18,
          maxAge: null,
          team: 0,
          capacityPer100k: 80,
        },
      ],
      ['Food bank'],
    ),
  },
  {
    name: 'Riverford Carers Centre',
    template: charityTemplate(
      [
        {
          name: 'Carers support',
          description: 'Information, breaks and peer groups for unpaid carers.',
          needs: ['carer_strain'],
          eligibility: 'Unpaid carers of any age',
          minAge: 5,
          maxAge: null,
          team: 0,
          capacityPer100k: 60,
        },
        {
          name: 'Young carers club',
          description: 'Activities and respite for young carers.',
          needs: ['carer_strain', 'child_wellbeing'],
          eligibility: 'Young carers aged 5 to 17',
          minAge: 5,
          maxAge: 17,
          team: 0,
          capacityPer100k: 15,
        },
      ],
      ['Carers support'],
    ),
  },
  {
    name: 'Open Door Homeless Project',
    template: charityTemplate(
      [
        {
          name: 'Day centre and outreach',
          description: 'Street outreach, meals, showers and a postal address.',
          needs: ['homelessness', 'substance_misuse'],
          eligibility: 'Adults sleeping rough or without a home',
          minAge: 18,
          maxAge: null,
          team: 0,
          capacityPer100k: 50,
        },
        {
          name: 'Supported housing',
          description: 'Shared supported accommodation with key workers.',
          needs: ['homelessness', 'mental_health', 'offending'],
          eligibility: 'Single homeless adults',
          minAge: 18,
          maxAge: null,
          team: 1,
          capacityPer100k: 10,
        },
      ],
      ['Outreach', 'Supported housing'],
    ),
  },
  {
    name: 'Safe Haven Domestic Abuse Service',
    template: charityTemplate(
      [
        {
          name: 'Independent domestic violence advisers',
          description: 'Safety planning and advocacy for people at high risk.',
          needs: ['domestic_abuse'],
          eligibility: 'People aged 16 and over experiencing domestic abuse',
          minAge: 16,
          maxAge: null,
          team: 0,
          capacityPer100k: 40,
        },
        {
          name: 'Refuge',
          description: 'Safe emergency accommodation.',
          needs: ['domestic_abuse', 'homelessness'],
          eligibility: 'Women and children fleeing abuse',
          minAge: null,
          maxAge: null,
          team: 0,
          capacityPer100k: 6,
        },
      ],
      ['Advocacy'],
    ),
  },
  {
    name: 'Riverford Age Well',
    template: charityTemplate(
      [
        {
          name: 'Befriending',
          description: 'Weekly visits and calls for older people who are lonely.',
          needs: ['social_isolation'],
          eligibility: 'People aged 60 and over',
          minAge: 60,
          maxAge: null,
          team: 0,
          capacityPer100k: 50,
        },
        {
          name: 'Home from hospital',
          description: 'Practical help for the first weeks after a hospital stay.',
          needs: ['frailty_falls', 'social_isolation'],
          eligibility: 'Older people leaving hospital',
          minAge: 60,
          maxAge: null,
          team: 0,
          capacityPer100k: 40,
        },
      ],
      ['Community support'],
    ),
  },
  {
    name: 'Riverford Youth Trust',
    template: charityTemplate(
      [
        {
          name: 'Youth mentoring',
          description: 'One-to-one mentoring and positive activities.',
          needs: ['child_wellbeing', 'child_school_attendance'],
          eligibility: 'Young people aged 10 to 19',
          minAge: 10,
          maxAge: 19,
          team: 0,
          capacityPer100k: 40,
        },
        {
          name: 'Youth counselling',
          description: 'Free confidential counselling.',
          needs: ['mental_health', 'child_wellbeing'],
          eligibility: 'Young people aged 11 to 25',
          minAge: 11,
          maxAge: 25,
          team: 0,
          capacityPer100k: 25,
        },
      ],
      ['Youth work'],
    ),
  },
  {
    name: 'Riverford Mind Matters',
    template: charityTemplate(
      [
        {
          name: 'Talking and peer support',
          description: 'Peer groups, drop-ins and short-term counselling.',
          needs: ['mental_health', 'social_isolation'],
          eligibility: ADULTS,
          minAge: 18,
          maxAge: null,
          team: 0,
          capacityPer100k: 70,
        },
        {
          name: 'Crisis café',
          description: 'An evening safe space as an alternative to A&E.',
          needs: ['mental_health'],
          eligibility: 'Adults in emotional distress',
          minAge: 18,
          maxAge: null,
          team: 0,
          capacityPer100k: 40,
        },
      ],
      ['Wellbeing'],
    ),
  },
  {
    name: 'Riverford Advice Centre',
    template: charityTemplate(
      [
        {
          name: 'Welfare benefits and debt advice',
          description: 'Benefit checks, appeals and debt solutions.',
          needs: ['financial_hardship'],
          eligibility: 'Anyone living in Riverford',
          minAge: 16,
          maxAge: null,
          team: 0,
          capacityPer100k: 120,
        },
        {
          name: 'Housing advice',
          description: 'Advice on tenancies, disrepair and eviction.',
          needs: ['housing_unsuitable', 'homelessness'],
          eligibility: 'Anyone living in Riverford',
          minAge: 16,
          maxAge: null,
          team: 0,
          capacityPer100k: 50,
        },
      ],
      ['Advice'],
    ),
  },
];

const GP_NAME_PARTS = ['Surgery', 'Medical Centre', 'Health Centre', 'Medical Practice', 'Family Practice'];

interface OrgSpec {
  kind: OrganisationKind;
  name: string;
  sourceCode: string;
  idSuffix: string;
  localityIndex: number | null;
  template: OrgTemplate;
}

/** Practitioner names: mostly British-origin with the place's wider mix. */
const STAFF_ORIGINS = weightedTable<NameOrigin>(
  ['british', 'irish', 'polish', 'indian', 'pakistani', 'black_african', 'black_caribbean', 'chinese'],
  [70, 4, 4, 8, 5, 5, 3, 1],
);

function practitionerName(rng: Rng): { given: string; family: string } {
  const origin = rng.weightedPick(STAFF_ORIGINS);
  const sex: Sex = rng.chance(0.72) ? 'female' : 'male'; // the care workforce is mostly women
  const given = givenNamesFor(origin, sex, rng.int(1965, 2000));
  const family = familyNamesFor(origin);
  return {
    given: rng.weightedPick(weightedTable(given.names, given.weights)),
    family: rng.weightedPick(weightedTable(family.names, family.weights)),
  };
}

function buildOrganisationSpecs(rng: Rng, people: number, localities: Locality[], localityPop: number[]): OrgSpec[] {
  const specs: OrgSpec[] = [];
  const place = PLACE_NAME;
  const nGp = Math.max(3, Math.round(people / 8000));
  const gpWidth = Math.max(2, String(nGp).length);
  const gpPerLocality = apportion(nGp, localityPop, nGp >= localities.length ? 1 : 0);
  let gpNo = 0;
  gpPerLocality.forEach((count, l) => {
    for (let k = 0; k < count; k++) {
      gpNo++;
      const stem = k === 0 ? localities[l].name : `${rng.pick(STREET_STEMS)} ${rng.pick(['Lane', 'Road', 'Street', 'Park', 'House'])}`;
      specs.push({
        kind: 'gp_practice',
        name: `${stem} ${rng.pick(GP_NAME_PARTS)}`,
        sourceCode: `GP${pad(gpNo, gpWidth)}`,
        idSuffix: `gp-${pad(gpNo, gpWidth)}`,
        localityIndex: l,
        template: TEMPLATES.gp_practice,
      });
    }
  });

  const placeWide = (kind: Exclude<OrganisationKind, 'school' | 'charity' | 'gp_practice'>, name: string, code: string, idSuffix: string) =>
    specs.push({ kind, name, sourceCode: code, idSuffix, localityIndex: null, template: TEMPLATES[kind] });
  placeWide('hospital_trust', `${place} Hospitals NHS Foundation Trust`, 'HOSP', 'hosp');
  placeWide('mental_health_trust', `${place} and District Mental Health NHS Trust`, 'MHT', 'mht');
  placeWide('council_adult_social_care', `${place} Council Adult Social Care`, 'ASC', 'asc');
  placeWide('council_children_social_care', `${place} Council Children's Services`, 'CSC', 'csc');
  placeWide('council_housing', `${place} Council Housing Services`, 'HOUS', 'hous');
  placeWide('housing_association', `${place} Homes Housing Association`, 'HA01', 'ha-01');
  if (people >= 200_000) placeWide('housing_association', 'Vale and Town Housing Group', 'HA02', 'ha-02');
  placeWide('probation', `Probation Service ${place}`, 'PROB', 'prob');
  placeWide('drug_alcohol_service', `${place} Recovery Service`, 'DAS', 'das');

  const nPrimary = Math.max(2, Math.round(people / 2000));
  const nSecondary = Math.max(1, Math.round(people / 8000));
  const schoolWidth = Math.max(2, String(nPrimary + nSecondary).length);
  let schoolNo = 0;
  const addSchools = (total: number, primary: boolean) => {
    const perLocality = apportion(total, localityPop, total >= localities.length ? 1 : 0);
    perLocality.forEach((count, l) => {
      for (let k = 0; k < count; k++) {
        schoolNo++;
        const stem = k === 0 ? localities[l].name : rng.pick(STREET_STEMS);
        const name = primary
          ? `${stem} ${rng.pick(['Primary School', 'Primary Academy', 'Community Primary School', 'Infant and Junior School', 'C of E Primary School'])}`
          : `${stem} ${rng.pick(['Academy', 'High School', 'School', 'Community College'])}`;
        specs.push({
          kind: 'school',
          name,
          sourceCode: `SCH${pad(schoolNo, schoolWidth)}`,
          idSuffix: `sch-${pad(schoolNo, schoolWidth)}`,
          localityIndex: l,
          template: SCHOOL_TEMPLATE(primary),
        });
      }
    });
  };
  addSchools(nPrimary, true);
  addSchools(nSecondary, false);

  CHARITIES.forEach((c, i) => {
    specs.push({
      kind: 'charity',
      name: c.name,
      sourceCode: `CH${pad(i + 1, 2)}`,
      idSuffix: `ch-${pad(i + 1, 2)}`,
      localityIndex: null,
      template: c.template,
    });
  });
  return specs;
}

export function createPlaceFrame(opts: GenerateOptions): PlaceFrame {
  if (!(opts.people > 0)) throw new Error('people must be a positive number');
  const rng = streamFor(opts.seed, 0x0f4a3e);
  const geo = buildGeography(rng, opts.people);
  const localityPop = geo.localities.map((l) =>
    geo.smallAreas.filter((a) => a.localityId === l.id).reduce((s, a) => s + a.targetPopulation, 0),
  );
  const postcodesByLocality = new Map<string, Postcode[]>();
  const areaLocality = new Map(geo.smallAreas.map((a) => [a.id, a.localityId]));
  for (const pc of geo.postcodes) {
    const loc = areaLocality.get(pc.smallAreaId)!;
    const list = postcodesByLocality.get(loc) ?? [];
    list.push(pc);
    postcodesByLocality.set(loc, list);
  }

  const organisations: Organisation[] = [];
  const teams: Team[] = [];
  const practitioners: Practitioner[] = [];
  const services: Service[] = [];
  const scale = opts.people / 100_000;
  let phoneNo = 0;

  for (const spec of buildOrganisationSpecs(rng, opts.people, geo.localities, localityPop)) {
    const locality = spec.localityIndex === null ? geo.localities[0] : geo.localities[spec.localityIndex];
    const domain = `${slug(spec.name)}.example.org`;
    const org: Organisation = {
      id: `org-${spec.idSuffix}`,
      name: spec.name,
      kind: spec.kind,
      sourceCode: spec.sourceCode,
      localityId: spec.localityIndex === null ? null : locality.id,
      postcode: rng.pick(postcodesByLocality.get(locality.id)!).postcode,
      // 01632 960xxx is Ofcom's range reserved for drama, so no real line is ever shown.
      phone: `01632 960${pad(phoneNo++ % 1000, 3)}`,
      email: `contact@${domain}`,
      website: `https://www.${domain}`,
    };
    organisations.push(org);

    const orgTeams = spec.template.teams.map((name, i) => ({ id: `${org.id}-t${i + 1}`, organisationId: org.id, name }));
    teams.push(...orgTeams);

    const [minStaff, maxStaff] = spec.template.staff;
    const sizeBoost = spec.localityIndex === null ? Math.min(1, 0.4 + scale * 0.2) : 1; // small places, smaller central teams
    const staff = Math.max(minStaff <= 2 ? minStaff : 3, Math.round(rng.int(minStaff, maxStaff) * sizeBoost));
    for (let s = 0; s < staff; s++) {
      const { given, family } = practitionerName(rng);
      const team = orgTeams[s % orgTeams.length];
      practitioners.push({
        id: `${org.id}-s${pad(s + 1, 2)}`,
        organisationId: org.id,
        teamId: team.id,
        givenName: given,
        familyName: family,
        role: spec.template.roles[s % spec.template.roles.length],
        email: `${slug(given)}.${slug(family)}${s + 1}@${domain}`,
      });
    }

    spec.template.services.forEach((t, i) => {
      services.push({
        id: `${org.id}-svc${i + 1}`,
        organisationId: org.id,
        teamId: orgTeams[Math.min(t.team, orgTeams.length - 1)].id,
        name: t.name,
        description: t.description,
        needs: [...t.needs],
        eligibility: t.eligibility,
        minAge: t.minAge,
        maxAge: t.maxAge,
        localityIds: org.localityId === null ? [] : [org.localityId],
        postcode: org.postcode,
        acknowledgeWithinDays: rng.pick([1, 2, 2, 2, 3]),
        firstContactWithinDays: rng.int(5, 20),
        capacityPerMonth: Math.max(
          3,
          Math.round(t.capacityPer100k * (org.localityId === null ? scale : Math.min(scale, 0.1)) * (0.8 + rng.next() * 0.4)),
        ),
      });
    });
  }

  return {
    place: { id: `place-${slug(PLACE_NAME)}`, name: PLACE_NAME, postcodeArea: POSTCODE_AREA, seed: opts.seed },
    localities: geo.localities,
    smallAreas: geo.smallAreas,
    postcodes: geo.postcodes,
    organisations,
    teams,
    practitioners,
    services,
  };
}
