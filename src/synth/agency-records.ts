// Each agency's own record of a person: the truth as that agency happened to capture it, with the
// disagreements real systems have (typos, nicknames, spelling variants, swapped day and month, old
// addresses, missing NHS numbers, maiden names) and a few duplicate records within one agency.

import type { GenContext } from './context.ts';
import type { HouseholdDraft } from './household.ts';
import { NICKNAMES, SPELLING_VARIANTS } from './names.ts';
import type { PersonActivity } from './needs-events.ts';
import type { Rng } from './random.ts';
import type { Organisation, OrganisationKind, SourceRecord } from './types.ts';

interface AgencyProfile {
  /** Chance the agency does not hold the NHS number. */
  nhsMissing: number;
  /** Chance an adult's given name is held as a nickname. */
  nickname: number;
  /** Chance the agency was told when the household moved. */
  toldOfMove: number;
  /** Chance the agency updated the family name after marriage. */
  toldOfNameChange: number;
  dobMissing: number;
  sexMissing: number;
  phoneHeld: number;
  emailHeld: number;
  /** Legacy systems that hold surnames in capitals. */
  upperFamily: number;
  /** Chance NHS numbers are stored with spaces ("943 476 5919"). */
  nhsSpaced: number;
}

const PROFILES: Record<OrganisationKind, AgencyProfile> = {
  gp_practice: {
    nhsMissing: 0.01,
    nickname: 0.02,
    toldOfMove: 0.8,
    toldOfNameChange: 0.85,
    dobMissing: 0,
    sexMissing: 0,
    phoneHeld: 0.9,
    emailHeld: 0.6,
    upperFamily: 0,
    nhsSpaced: 0,
  },
  hospital_trust: {
    nhsMissing: 0.03,
    nickname: 0.02,
    toldOfMove: 0.55,
    toldOfNameChange: 0.6,
    dobMissing: 0,
    sexMissing: 0,
    phoneHeld: 0.8,
    emailHeld: 0.3,
    upperFamily: 0.6,
    nhsSpaced: 0.1,
  },
  mental_health_trust: {
    nhsMissing: 0.05,
    nickname: 0.05,
    toldOfMove: 0.6,
    toldOfNameChange: 0.6,
    dobMissing: 0,
    sexMissing: 0.01,
    phoneHeld: 0.8,
    emailHeld: 0.4,
    upperFamily: 0,
    nhsSpaced: 0.3,
  },
  council_adult_social_care: {
    nhsMissing: 0.2,
    nickname: 0.05,
    toldOfMove: 0.6,
    toldOfNameChange: 0.5,
    dobMissing: 0.005,
    sexMissing: 0.01,
    phoneHeld: 0.75,
    emailHeld: 0.3,
    upperFamily: 0,
    nhsSpaced: 0.4,
  },
  council_children_social_care: {
    nhsMissing: 0.25,
    nickname: 0.03,
    toldOfMove: 0.7,
    toldOfNameChange: 0.5,
    dobMissing: 0.003,
    sexMissing: 0.01,
    phoneHeld: 0.6,
    emailHeld: 0.2,
    upperFamily: 0,
    nhsSpaced: 0.4,
  },
  council_housing: {
    nhsMissing: 0.6,
    nickname: 0.06,
    toldOfMove: 0.85,
    toldOfNameChange: 0.5,
    dobMissing: 0.005,
    sexMissing: 0.02,
    phoneHeld: 0.8,
    emailHeld: 0.5,
    upperFamily: 0,
    nhsSpaced: 0.2,
  },
  housing_association: {
    nhsMissing: 0.6,
    nickname: 0.06,
    toldOfMove: 0.85,
    toldOfNameChange: 0.4,
    dobMissing: 0.01,
    sexMissing: 0.03,
    phoneHeld: 0.85,
    emailHeld: 0.55,
    upperFamily: 0,
    nhsSpaced: 0.2,
  },
  probation: {
    nhsMissing: 0.5,
    nickname: 0.08,
    toldOfMove: 0.6,
    toldOfNameChange: 0.5,
    dobMissing: 0,
    sexMissing: 0,
    phoneHeld: 0.7,
    emailHeld: 0.15,
    upperFamily: 0.5,
    nhsSpaced: 0.2,
  },
  school: {
    nhsMissing: 0.7,
    nickname: 0.03,
    toldOfMove: 0.9,
    toldOfNameChange: 0.8,
    dobMissing: 0,
    sexMissing: 0,
    phoneHeld: 0.3,
    emailHeld: 0.1,
    upperFamily: 0,
    nhsSpaced: 0.1,
  },
  charity: {
    nhsMissing: 0.9,
    nickname: 0.1,
    toldOfMove: 0.3,
    toldOfNameChange: 0.3,
    dobMissing: 0.01,
    sexMissing: 0.04,
    phoneHeld: 0.85,
    emailHeld: 0.45,
    upperFamily: 0,
    nhsSpaced: 0.3,
  },
  drug_alcohol_service: {
    nhsMissing: 0.3,
    nickname: 0.1,
    toldOfMove: 0.5,
    toldOfNameChange: 0.4,
    dobMissing: 0.005,
    sexMissing: 0.01,
    phoneHeld: 0.8,
    emailHeld: 0.2,
    upperFamily: 0,
    nhsSpaced: 0.3,
  },
};

const NAME_TYPO = 0.025;
const NAME_VARIANT = 0.015;
const SWAP_DAY_MONTH = 0.015;
const WRONG_YEAR_DIGIT = 0.005;
const POSTCODE_TYPO = 0.01;
const DUPLICATE = 0.015;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** The agency's own identifier style, e.g. "GP01-004512", "HA-T-77812", probation CRN "X123456". */
function sourceIdFor(org: Organisation, n: number): string {
  switch (org.kind) {
    case 'gp_practice':
      return `${org.sourceCode}-${pad(n, 6)}`;
    case 'hospital_trust':
      return `H${pad(n, 7)}`;
    case 'mental_health_trust':
      return `MH${pad(n, 7)}`;
    case 'council_adult_social_care':
      return `ASC-${pad(n, 6)}`;
    case 'council_children_social_care':
      return `CSC-${pad(n, 6)}`;
    case 'council_housing':
      return `HSG-T-${pad(n, 5)}`;
    case 'housing_association':
      return `HA-T-${pad(n, 5)}`;
    case 'probation':
      // Case reference numbers: a letter then six digits; roll the letter on when the digits run out.
      return `${'XYZWVUTS'[Math.floor(n / 1_000_000) % 8]}${pad(n % 1_000_000, 6)}`;
    case 'school':
      return `${org.sourceCode}-P${pad(n, 5)}`;
    case 'charity':
      return `${org.sourceCode}-${pad(n, 6)}`;
    case 'drug_alcohol_service':
      return `DAS-${pad(n, 6)}`;
  }
}

const KEYBOARD_NEIGHBOURS: Record<string, string> = {
  a: 'sqz',
  b: 'vn',
  c: 'xv',
  d: 'sf',
  e: 'wr',
  f: 'dg',
  g: 'fh',
  h: 'gj',
  i: 'uo',
  j: 'hk',
  k: 'jl',
  l: 'k',
  m: 'n',
  n: 'bm',
  o: 'ip',
  p: 'o',
  q: 'wa',
  r: 'et',
  s: 'ad',
  t: 'ry',
  u: 'yi',
  v: 'cb',
  w: 'qe',
  x: 'zc',
  y: 'tu',
  z: 'x',
};

/** One keying error: transposition, deletion, substitution by a neighbouring key, or a doubled letter. */
export function typo(name: string, rng: Rng): string {
  if (name.length < 3) return name;
  const i = rng.int(1, name.length - 2); // the first letter is rarely wrong
  const c = name[i];
  switch (rng.int(0, 3)) {
    case 0:
      if (name[i] === name[i + 1]) return name.slice(0, i) + name.slice(i + 1);
      return name.slice(0, i) + name[i + 1] + name[i] + name.slice(i + 2);
    case 1:
      return name.slice(0, i) + name.slice(i + 1);
    case 2: {
      const near = KEYBOARD_NEIGHBOURS[c.toLowerCase()];
      if (!near) return name.slice(0, i) + name.slice(i + 1);
      return name.slice(0, i) + near[rng.int(0, near.length - 1)] + name.slice(i + 1);
    }
    default:
      return name.slice(0, i + 1) + c + name.slice(i + 1);
  }
}

/** A birth date with day and month swapped (only possible when the day is 12 or less and differs from the month). */
export function swapDayMonth(iso: string): string {
  const day = iso.slice(8, 10);
  const month = iso.slice(5, 7);
  if (Number(day) > 12 || day === month) return iso;
  return `${iso.slice(0, 4)}-${day}-${month}`;
}

function wrongYearDigit(iso: string, rng: Rng): string {
  const pos = rng.chance(0.7) ? 3 : 2; // usually the last digit, sometimes the decade
  const digit = Number(iso[pos]);
  const next = (digit + (rng.chance(0.5) ? 1 : 9)) % 10;
  return iso.slice(0, pos) + next + iso.slice(pos + 1);
}

function postcodeTypo(postcode: string, rng: Rng): string {
  const space = postcode.indexOf(' ');
  switch (rng.int(0, 2)) {
    case 0: // the two final letters swapped
      return postcode.slice(0, -2) + postcode[postcode.length - 1] + postcode[postcode.length - 2];
    case 1: // the sector digit off by one
      return postcode.slice(0, space + 1) + ((Number(postcode[space + 1]) + 1) % 10) + postcode.slice(space + 2);
    default: // no space, lower case: a formatting slip
      return postcode.replace(' ', '').toLowerCase();
  }
}

function nhsTypo(nhs: string, rng: Rng): string {
  const i = rng.int(0, 9);
  return nhs.slice(0, i) + ((Number(nhs[i]) + rng.int(1, 9)) % 10) + nhs.slice(i + 1);
}

function phoneStyle(phone: string, style: number): string {
  if (style === 0) return phone;
  const digits = phone.replace(/\s/g, '');
  return style === 1 ? digits : `+44${digits.slice(1)}`;
}

interface NoiseBoost {
  typo: number;
  nickname: number;
  extraNhsMissing: number;
}

const NORMAL: NoiseBoost = { typo: 1, nickname: 1, extraNhsMissing: 0 };
const DUPLICATE_BOOST: NoiseBoost = { typo: 5, nickname: 4, extraNhsMissing: 0.3 };

class RecordMaker {
  private readonly ctx: GenContext;
  private readonly draft: HouseholdDraft;
  private readonly rng: Rng;

  constructor(ctx: GenContext, draft: HouseholdDraft, rng: Rng) {
    this.ctx = ctx;
    this.draft = draft;
    this.rng = rng;
  }

  private nextSourceId(org: Organisation): string {
    const i = this.ctx.index.orgIndex.get(org.id)!;
    const n = this.ctx.nextSourceNumber[i];
    this.ctx.nextSourceNumber[i] = n + 1;
    return sourceIdFor(org, n);
  }

  private givenName(a: PersonActivity, profile: AgencyProfile, boost: NoiseBoost): string {
    const { rng } = this;
    let name = a.resident.person.givenName;
    if (a.resident.age >= 16 && rng.chance(profile.nickname * boost.nickname)) {
      const nicks = NICKNAMES[name];
      if (nicks) name = rng.pick(nicks);
    }
    if (rng.chance(NAME_VARIANT)) {
      const variants = SPELLING_VARIANTS[name];
      if (variants) name = rng.pick(variants);
    }
    if (rng.chance(NAME_TYPO * boost.typo)) name = typo(name, rng);
    return name;
  }

  private familyName(a: PersonActivity, profile: AgencyProfile, boost: NoiseBoost, recordDay: number): string {
    const { rng } = this;
    const p = a.resident.person;
    let name = p.familyName;
    // Recorded before the name change and never told about it: the agency still holds the maiden name.
    if (
      p.birthFamilyName &&
      a.resident.nameChangedDay !== null &&
      recordDay < a.resident.nameChangedDay &&
      !rng.chance(profile.toldOfNameChange)
    ) {
      name = p.birthFamilyName;
    }
    if (rng.chance(NAME_VARIANT)) {
      const variants = SPELLING_VARIANTS[name];
      if (variants) name = rng.pick(variants);
    }
    if (rng.chance(NAME_TYPO * boost.typo)) name = typo(name, rng);
    if (profile.upperFamily > 0 && rng.chance(profile.upperFamily)) name = name.toUpperCase();
    return name;
  }

  private birthDate(a: PersonActivity, profile: AgencyProfile, boost: NoiseBoost): string {
    const { rng } = this;
    if (rng.chance(profile.dobMissing * boost.typo)) return '';
    let iso = a.resident.person.birthDate;
    if (rng.chance(SWAP_DAY_MONTH * boost.typo)) iso = swapDayMonth(iso);
    else if (rng.chance(WRONG_YEAR_DIGIT * boost.typo)) iso = wrongYearDigit(iso, rng);
    return iso;
  }

  make(a: PersonActivity, org: Organisation, firstContactDay: number, boost: NoiseBoost, notBefore: number): SourceRecord {
    const { rng, ctx, draft } = this;
    const cal = ctx.calendar;
    const profile = PROFILES[org.kind];
    const p = a.resident.person;

    // First recorded some time before first contact within the last ten years, never before birth.
    const lo = Math.max(notBefore, a.resident.birthDay, cal.today - 3650, firstContactDay - 3650);
    const hi = Math.max(lo, Math.min(cal.today, firstContactDay));
    const recordDay = hi - Math.floor(Math.pow(rng.next(), 3) * (hi - lo));

    const hh = draft.household;
    let postcode = hh.postcode;
    let address = hh.addressLine;
    if (hh.previousAddress && draft.movedInDay !== null && recordDay < draft.movedInDay && !rng.chance(profile.toldOfMove)) {
      postcode = hh.previousAddress.postcode;
      address = hh.previousAddress.addressLine;
    }
    if (rng.chance(POSTCODE_TYPO * boost.typo)) postcode = postcodeTypo(postcode, rng);
    if (org.kind === 'charity' && rng.chance(0.04)) {
      postcode = '';
      address = hh.tenure === 'temporary_accommodation' ? 'No fixed abode' : '';
    }

    let nhs = '';
    if (p.nhsNumber && !rng.chance(profile.nhsMissing + boost.extraNhsMissing)) {
      nhs = p.nhsNumber;
      if (org.kind !== 'gp_practice' && org.kind !== 'hospital_trust' && rng.chance(0.003)) nhs = nhsTypo(nhs, rng);
      if (rng.chance(profile.nhsSpaced)) nhs = `${nhs.slice(0, 3)} ${nhs.slice(3, 6)} ${nhs.slice(6)}`;
    }

    let sex: SourceRecord['sex'] = p.sex;
    if (rng.chance(profile.sexMissing)) sex = '';

    return {
      source: org.sourceCode,
      sourceId: this.nextSourceId(org),
      truePersonId: p.id,
      givenName: this.givenName(a, profile, boost),
      familyName: this.familyName(a, profile, boost, recordDay),
      birthDate: this.birthDate(a, profile, boost),
      sex,
      postcode,
      addressLine: address,
      nhsNumber: nhs,
      phone: p.phone && rng.chance(profile.phoneHeld) ? phoneStyle(p.phone, rng.int(0, 2)) : '',
      email: p.email && rng.chance(profile.emailHeld) ? (rng.chance(0.1) ? p.email.toUpperCase() : p.email) : '',
      recordedAt: cal.timestamp(recordDay, 480 + rng.int(0, 600)),
    };
  }
}

/** Source records for every agency that knows each person, with occasional within-agency duplicates. */
export function buildSourceRecords(ctx: GenContext, draft: HouseholdDraft, rng: Rng, activities: PersonActivity[]): SourceRecord[] {
  const maker = new RecordMaker(ctx, draft, rng);
  const out: SourceRecord[] = [];
  for (const a of activities) {
    for (const [org, firstDay] of a.known) {
      const first = maker.make(a, org, firstDay, NORMAL, 0);
      out.push(first);
      if (rng.chance(DUPLICATE)) {
        // Someone registered the person again without finding the existing record.
        out.push(maker.make(a, org, ctx.calendar.today, DUPLICATE_BOOST, firstDay));
      }
    }
  }
  return out;
}
