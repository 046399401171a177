// Lookup structures built once per generation run: the frame indexed for fast access, name tables
// and the running counters (person numbers, agency identifiers, house numbers) that keep ids unique.

import { Calendar, DEFAULT_AS_OF } from './calendar.ts';
import { NAME_ORIGINS, eraForBirthYear, familyNamesFor, givenNamesFor } from './names.ts';
import type { NameEra, NameOrigin } from './names.ts';
import { hash32, weightedTable } from './random.ts';
import type { WeightedTable } from './random.ts';
import type { GenerateOptions, NeedCode, Organisation, OrganisationKind, PlaceFrame, Sex, SmallArea } from './types.ts';

export interface FrameIndex {
  frame: PlaceFrame;
  areaIndex: Map<string, number>;
  areaLocality: number[];
  postcodesByArea: string[][];
  postcodesByLocality: string[][];
  allPostcodes: string[];
  orgIndex: Map<string, number>;
  gpsByLocality: Organisation[][];
  primaryByLocality: Organisation[][];
  secondaryByLocality: Organisation[][];
  allGps: Organisation[];
  allPrimary: Organisation[];
  allSecondary: Organisation[];
  single: Record<Exclude<OrganisationKind, 'gp_practice' | 'school' | 'charity' | 'housing_association'>, Organisation>;
  housingAssociations: Organisation[];
  /** Charities by the need they mainly serve (first need of their first service). */
  charitiesByNeed: Map<NeedCode, Organisation[]>;
}

function byLocality(frame: PlaceFrame, orgs: Organisation[]): Organisation[][] {
  return frame.localities.map((l) => {
    const here = orgs.filter((o) => o.localityId === l.id);
    return here.length > 0 ? here : orgs; // no local one: use any in the place
  });
}

export function indexFrame(frame: PlaceFrame): FrameIndex {
  const localityIdx = new Map(frame.localities.map((l, i) => [l.id, i]));
  const areaIndex = new Map(frame.smallAreas.map((a, i) => [a.id, i]));
  const areaLocality = frame.smallAreas.map((a) => localityIdx.get(a.localityId)!);
  const postcodesByArea: string[][] = frame.smallAreas.map(() => []);
  const postcodesByLocality: string[][] = frame.localities.map(() => []);
  for (const pc of frame.postcodes) {
    const ai = areaIndex.get(pc.smallAreaId)!;
    postcodesByArea[ai].push(pc.postcode);
    postcodesByLocality[areaLocality[ai]].push(pc.postcode);
  }
  const ofKind = (k: OrganisationKind) => frame.organisations.filter((o) => o.kind === k);
  const one = (k: OrganisationKind) => {
    const o = ofKind(k)[0];
    if (!o) throw new Error(`the frame has no ${k}`);
    return o;
  };
  const maxAgeOf = new Map<string, number>();
  for (const s of frame.services) maxAgeOf.set(s.organisationId, Math.max(maxAgeOf.get(s.organisationId) ?? 0, s.maxAge ?? 99));
  const schools = ofKind('school');
  const primary = schools.filter((s) => (maxAgeOf.get(s.id) ?? 99) <= 11);
  const secondary = schools.filter((s) => (maxAgeOf.get(s.id) ?? 99) > 11);
  const gps = ofKind('gp_practice');

  const charitiesByNeed = new Map<NeedCode, Organisation[]>();
  for (const c of ofKind('charity')) {
    const first = frame.services.find((s) => s.organisationId === c.id);
    const need = first?.needs[0];
    if (!need) continue;
    charitiesByNeed.set(need, [...(charitiesByNeed.get(need) ?? []), c]);
  }

  return {
    frame,
    areaIndex,
    areaLocality,
    postcodesByArea,
    postcodesByLocality,
    allPostcodes: frame.postcodes.map((p) => p.postcode),
    orgIndex: new Map(frame.organisations.map((o, i) => [o.id, i])),
    gpsByLocality: byLocality(frame, gps),
    primaryByLocality: byLocality(frame, primary),
    secondaryByLocality: byLocality(frame, secondary.length > 0 ? secondary : primary),
    allGps: gps,
    allPrimary: primary,
    allSecondary: secondary,
    single: {
      hospital_trust: one('hospital_trust'),
      mental_health_trust: one('mental_health_trust'),
      council_adult_social_care: one('council_adult_social_care'),
      council_children_social_care: one('council_children_social_care'),
      council_housing: one('council_housing'),
      probation: one('probation'),
      drug_alcohol_service: one('drug_alcohol_service'),
    },
    housingAssociations: ofKind('housing_association'),
    charitiesByNeed,
  };
}

/** Name tables, precomputed so each pick is one binary search. */
export class NameTables {
  private readonly given = new Map<string, WeightedTable<string>>();
  private readonly family = new Map<NameOrigin, WeightedTable<string>>();

  constructor() {
    for (const origin of NAME_ORIGINS) {
      const f = familyNamesFor(origin);
      this.family.set(origin, weightedTable(f.names, f.weights));
      for (const sex of ['female', 'male'] as const) {
        for (const [era, year] of [
          ['old', 1940],
          ['mid', 1975],
          ['young', 2005],
        ] as const) {
          const g = givenNamesFor(origin, sex, year);
          this.given.set(`${origin}|${sex}|${era}`, weightedTable(g.names, g.weights));
        }
      }
    }
  }

  givenTable(origin: NameOrigin, sex: Sex, birthYear: number): WeightedTable<string> {
    const era: NameEra = eraForBirthYear(birthYear);
    return this.given.get(`${origin}|${sex}|${era}`)!;
  }

  familyTable(origin: NameOrigin): WeightedTable<string> {
    return this.family.get(origin)!;
  }
}

/** Everything shared across households while one place is generated. */
export class GenContext {
  readonly seed: number;
  readonly calendar: Calendar;
  readonly index: FrameIndex;
  readonly names = new NameTables();
  /** People created so far (the next person's number is this + 1). */
  personCount = 0;
  householdCount = 0;
  /** Next identifier number per organisation (by organisation index). */
  readonly nextSourceNumber: number[];
  /** Next house number per postcode. */
  readonly nextHouseNumber = new Map<string, number>();
  readonly nhsSalt: number;

  constructor(frame: PlaceFrame, opts: GenerateOptions) {
    this.seed = opts.seed;
    this.calendar = new Calendar(opts.asOf ?? DEFAULT_AS_OF);
    this.index = indexFrame(frame);
    // Agencies' numbering starts somewhere arbitrary, as real systems' do.
    this.nextSourceNumber = frame.organisations.map((_, i) => 1000 + (hash32(opts.seed, i + 77) % 40_000));
    this.nhsSalt = hash32(opts.seed, 0x4e4853);
  }

  area(index: number): SmallArea {
    return this.index.frame.smallAreas[index];
  }
}
