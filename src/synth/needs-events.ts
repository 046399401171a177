// Needs and events for a household's members, and which agencies come to know each person.
// Rates rise with deprivation so place analytics show the inequality gradient real places have:
// multiple disadvantage clusters in deciles 1–2, frailty and falls in older age, carers beside the
// people they care for, and poorer school attendance where families are poorer.

import { Calendar } from './calendar.ts';
import type { GenContext } from './context.ts';
import type { HouseholdDraft, Resident } from './household.ts';
import type { Rng } from './random.ts';
import type { EventType, Need, NeedCode, Organisation, PlaceEvent } from './types.ts';

const WINDOW_DAYS = 1096; // events cover the last three years

export interface PersonNeed {
  code: NeedCode;
  severity: 1 | 2 | 3;
}

/** What one person accumulates: needs, events and the agencies that know them (earliest contact day). */
export interface PersonActivity {
  resident: Resident;
  needs: PersonNeed[];
  known: Map<Organisation, number>;
  events: PlaceEvent[];
  recordedNeeds: Need[];
}

function severity(rng: Rng, deprivation: number): 1 | 2 | 3 {
  const x = rng.next() + deprivation * 0.25;
  return x < 0.5 ? 1 : x < 0.95 ? 2 : 3;
}

/** Risk multiplier: about 2× average in the most deprived decile, under half in the least. */
function riskMultiplier(deprivation: number): number {
  return 0.45 + 1.55 * deprivation;
}

function hasNeed(a: PersonActivity, code: NeedCode): PersonNeed | undefined {
  return a.needs.find((n) => n.code === code);
}

function addNeed(a: PersonActivity, rng: Rng, code: NeedCode, deprivation: number): void {
  if (!hasNeed(a, code)) a.needs.push({ code, severity: severity(rng, deprivation) });
}

/** Needs each person has, before anyone is told about them. */
function assignNeeds(draft: HouseholdDraft, rng: Rng, activities: PersonActivity[]): void {
  const d = draft.deprivation;
  const m = riskMultiplier(d);
  const tenure = draft.household.tenure;
  const renting = tenure === 'social_rent' || tenure === 'private_rent';
  for (const a of activities) {
    const { age } = a.resident;
    const male = a.resident.person.sex === 'male';
    const add = (code: NeedCode) => addNeed(a, rng, code, d);

    if (tenure === 'temporary_accommodation' && age >= 16) add('homelessness');
    if (rng.chance(0.005)) add('learning_disability');

    if (age >= 18) {
      // Multiple disadvantage: homelessness, addiction, offending and mental ill-health together.
      const clusterChance = (0.003 + 0.05 * Math.pow(d, 2.5)) * (male ? 1.4 : 0.6) * (age < 65 ? 1 : 0.15);
      if (rng.chance(clusterChance)) {
        if (rng.chance(0.7)) add('homelessness');
        if (rng.chance(0.9)) add('substance_misuse');
        if (rng.chance(0.75)) add('offending');
        if (rng.chance(0.85)) add('mental_health');
        if (rng.chance(0.8)) add('financial_hardship');
        if (!male && rng.chance(0.45)) add('domestic_abuse');
      }
      if (rng.chance(0.05 * m)) add('mental_health');
      if (age < 70 && rng.chance(0.014 * m)) add('substance_misuse');
      if (age < 60 && rng.chance((male ? 0.012 : 0.003) * m)) add('offending');
      if (rng.chance(0.004 * m)) add('homelessness');
      if (rng.chance((renting ? 0.06 : 0.012) * m)) add('housing_unsuitable');
      if (rng.chance(0.06 * m)) add('financial_hardship');
      if (!male && age < 65 && rng.chance(0.02 * m)) add('domestic_abuse');
      const ltc = age < 45 ? 0.06 : age < 65 ? 0.2 : 0.45;
      if (rng.chance(ltc * (0.7 + 0.6 * d))) add('long_term_condition');
      if (age >= 65) {
        const frail = age < 75 ? 0.06 : age < 85 ? 0.18 : 0.4;
        if (rng.chance(frail * (0.75 + 0.6 * d))) add('frailty_falls');
        const alone = draft.residents.length === 1;
        if (rng.chance((alone ? 0.22 : 0.05) * (0.8 + 0.5 * d))) add('social_isolation');
        const eol = age >= 85 ? 0.05 : age >= 75 ? 0.015 : 0.004;
        if (rng.chance(eol)) add('end_of_life');
      } else if (rng.chance(0.02 * m)) {
        add('social_isolation');
      }
    } else {
      if (age >= 5 && age <= 16 && rng.chance(0.06 * m)) add('child_school_attendance');
      if (rng.chance(0.045 * m)) add('child_wellbeing');
      if (rng.chance(0.01 * Math.pow(m, 1.4))) add('child_safeguarding');
      if (age >= 14 && rng.chance(0.01 * m)) add('substance_misuse');
      if (age >= 12 && rng.chance(0.03 * m)) add('mental_health');
    }
    // Poverty reaches children too: financial hardship of the household shows up against them at some agencies.
    if (
      age < 18 &&
      draft.residents.some(
        (r) => r.age >= 18 && activities[draft.residents.indexOf(r)].needs.some((n) => n.code === 'financial_hardship'),
      ) &&
      rng.chance(0.2)
    ) {
      add('financial_hardship');
    }
  }
}

/** Unpaid carers: someone in the household looks after a frail, disabled or dying member. */
function assignCarers(draft: HouseholdDraft, rng: Rng, activities: PersonActivity[]): void {
  for (const cared of activities) {
    const r = cared.resident;
    const needsCare =
      hasNeed(cared, 'frailty_falls') ||
      hasNeed(cared, 'learning_disability') ||
      hasNeed(cared, 'end_of_life') ||
      (r.person.disability && (r.age >= 75 || r.age < 16));
    if (!needsCare || !rng.chance(0.6)) continue;
    const candidates = activities.filter((c) => c !== cared && c.resident.age >= 10 && !hasNeed(c, 'end_of_life'));
    if (candidates.length === 0) continue;
    // Prefer an adult (a partner or parent), and only fall back on a child as a young carer.
    const adults = candidates.filter((c) => c.resident.age >= 18);
    const carer = adults.length > 0 ? rng.pick(adults) : rng.pick(candidates);
    draft.relationships.push({ personId: r.person.id, relatedPersonId: carer.resident.person.id, type: 'carer' });
    draft.relationships.push({ personId: carer.resident.person.id, relatedPersonId: r.person.id, type: 'cared_for' });
    if (rng.chance(0.55 + 0.2 * draft.deprivation)) addNeed(carer, rng, 'carer_strain', draft.deprivation);
  }
}

/** Builds needs, events and agency contact for everyone in a household. */
export function buildActivity(ctx: GenContext, draft: HouseholdDraft, rng: Rng): PersonActivity[] {
  const tenure = draft.household.tenure;
  const socialTenant = tenure === 'social_rent';
  const activities: PersonActivity[] = draft.residents.map((resident) => ({
    resident,
    needs: [],
    known: new Map(),
    events: [],
    recordedNeeds: [],
  }));
  assignNeeds(draft, rng, activities);
  assignCarers(draft, rng, activities);

  const idx = ctx.index;
  const landlord: Organisation | null =
    tenure === 'temporary_accommodation'
      ? idx.single.council_housing
      : socialTenant
        ? rng.chance(0.45)
          ? idx.single.council_housing
          : rng.pick(idx.housingAssociations)
        : null;
  // One GP practice for the household (people register where they live), occasionally one elsewhere.
  const gps = rng.chance(0.9) ? idx.gpsByLocality[draft.localityIndex] : idx.allGps;
  const householdGp = rng.pick(gps);
  const unregisteredChance = tenure === 'temporary_accommodation' ? 0.12 : 0.015;
  for (const a of activities) {
    const gp = rng.chance(0.93) ? householdGp : rng.pick(gps);
    new ActivityBuilder(ctx, draft, rng, a, rng.chance(unregisteredChance) ? null : gp, landlord).build();
  }
  return activities;
}

const SCHOOL_TERM_ENDS: Array<[number, number]> = [
  [3, 28], // spring term
  [7, 19], // summer term
  [12, 18], // autumn term
];

let termEndCache: { today: number; days: number[] } | null = null;

/** Days on which school terms ended within the window, oldest first. */
function termEnds(cal: Calendar): number[] {
  if (termEndCache?.today !== cal.today) {
    const days: number[] = [];
    const first = cal.year(cal.today - WINDOW_DAYS);
    for (let year = first; year <= cal.year(cal.today); year++) {
      for (const [month, dom] of SCHOOL_TERM_ENDS) {
        const day = Calendar.dayNumber(`${year}-${String(month).padStart(2, '0')}-${dom}`);
        if (day >= cal.today - WINDOW_DAYS && day <= cal.today) days.push(day);
      }
    }
    termEndCache = { today: cal.today, days };
  }
  return termEndCache.days;
}

class ActivityBuilder {
  private readonly ctx: GenContext;
  private readonly draft: HouseholdDraft;
  private readonly rng: Rng;
  private readonly a: PersonActivity;
  private readonly gp: Organisation | null;
  private readonly landlord: Organisation | null;
  private readonly windowStart: number;

  constructor(ctx: GenContext, draft: HouseholdDraft, rng: Rng, a: PersonActivity, gp: Organisation | null, landlord: Organisation | null) {
    this.ctx = ctx;
    this.draft = draft;
    this.rng = rng;
    this.a = a;
    this.gp = gp;
    this.landlord = landlord;
    this.windowStart = Math.max(ctx.calendar.today - WINDOW_DAYS, a.resident.birthDay);
  }

  private randomDay(from = this.windowStart): number {
    const today = this.ctx.calendar.today;
    const start = Math.min(from, today);
    return start + Math.floor(this.rng.next() * (today - start + 1));
  }

  private know(org: Organisation, day: number): void {
    const prev = this.a.known.get(org);
    if (prev === undefined || day < prev) this.a.known.set(org, day);
  }

  private event(org: Organisation, type: EventType, eventDay: number, value: number | null = null, daytime = true): void {
    const day = Math.min(eventDay, this.ctx.calendar.today); // follow-ups never land in the future
    const minute = daytime ? 480 + Math.floor(this.rng.next() * 600) : Math.floor(this.rng.next() * 1440);
    this.a.events.push({
      personId: this.a.resident.person.id,
      organisationId: org.id,
      type,
      at: this.ctx.calendar.timestamp(day, minute),
      value,
    });
    this.know(org, day);
  }

  private repeat(mean: number, fn: (day: number) => void): void {
    const n = this.rng.poisson(mean);
    for (let i = 0; i < n; i++) fn(this.randomDay());
  }

  private recordNeed(code: NeedCode, sev: 1 | 2 | 3, org: Organisation): void {
    const day = this.randomDay();
    const chronic = code === 'long_term_condition' || code === 'learning_disability';
    this.a.recordedNeeds.push({
      personId: this.a.resident.person.id,
      code,
      organisationId: org.id,
      recordedAt: this.ctx.calendar.isoDate(day),
      severity: sev,
      current: chronic || this.rng.chance(0.7),
    });
    this.know(org, day);
  }

  private charity(code: NeedCode): Organisation | null {
    const list = this.ctx.index.charitiesByNeed.get(code);
    return list && list.length > 0 ? this.rng.pick(list) : null;
  }

  /** Which organisation records a need: the agency whose business it is, sometimes the GP or a charity. */
  private recorderFor(code: NeedCode): Organisation | null {
    const { rng, gp } = this;
    const s = this.ctx.index.single;
    const age = this.a.resident.age;
    switch (code) {
      case 'homelessness':
        return rng.chance(0.75) ? s.council_housing : this.charity('homelessness');
      case 'housing_unsuitable':
        return this.landlord ?? (rng.chance(0.5) ? this.charity('financial_hardship') : s.council_housing);
      case 'substance_misuse':
        return rng.chance(0.7) ? s.drug_alcohol_service : gp;
      case 'offending':
        return s.probation;
      case 'mental_health':
        return rng.chance(0.4)
          ? s.mental_health_trust
          : rng.chance(0.4)
            ? age < 18
              ? this.charity('child_wellbeing')
              : this.charity('mental_health')
            : gp;
      case 'long_term_condition':
      case 'end_of_life':
        return rng.chance(0.85) ? gp : s.hospital_trust;
      case 'frailty_falls':
        return rng.chance(0.45) ? s.hospital_trust : rng.chance(0.5) ? s.council_adult_social_care : gp;
      case 'social_isolation':
        return age >= 60 && rng.chance(0.6) ? this.charity('social_isolation') : gp;
      case 'carer_strain':
        return age < 18
          ? rng.chance(0.5)
            ? s.council_children_social_care
            : this.charity('carer_strain')
          : rng.chance(0.55)
            ? this.charity('carer_strain')
            : s.council_adult_social_care;
      case 'learning_disability':
        return age >= 18 && rng.chance(0.6) ? s.council_adult_social_care : gp;
      case 'financial_hardship':
        return this.charity('financial_hardship');
      case 'domestic_abuse':
        return rng.chance(0.7) ? this.charity('domestic_abuse') : gp;
      case 'child_school_attendance':
        return this.currentSchool();
      case 'child_wellbeing':
        return rng.chance(0.5) ? this.currentSchool() : rng.chance(0.5) ? s.council_children_social_care : this.charity('child_wellbeing');
      case 'child_safeguarding':
        return s.council_children_social_care;
    }
  }

  private schoolCache: Organisation | null | undefined;
  private primarySchool: Organisation | null = null;

  private currentSchool(): Organisation | null {
    if (this.schoolCache === undefined) {
      const age = this.a.resident.age;
      const loc = this.draft.localityIndex;
      const idx = this.ctx.index;
      this.primarySchool = age >= 4 && age <= 13 ? this.rng.pick(idx.primaryByLocality[loc]) : null;
      this.schoolCache =
        age >= 4 && age <= 10
          ? this.primarySchool
          : age >= 11 && age <= 17 && (age < 16 || this.rng.chance(0.55))
            ? this.rng.pick(idx.secondaryByLocality[loc])
            : null;
    }
    return this.schoolCache;
  }

  build(): void {
    const { rng, a, gp } = this;
    const s = this.ctx.index.single;
    const age = a.resident.age;
    const d = this.draft.deprivation;
    const need = (c: NeedCode) => hasNeed(a, c);

    // Record each need at an agency.
    for (const n of a.needs) {
      const org = this.recorderFor(n.code);
      if (org) this.recordNeed(n.code, n.severity, org);
    }

    // GP: registration plus consultations, more with age and need.
    if (gp) {
      this.know(gp, this.randomDay(this.ctx.calendar.today - 3650));
      let mean = age < 5 ? 6 : age < 18 ? 2.5 : age < 45 ? 3.5 : age < 65 ? 5 : age < 75 ? 7.5 : 9.5;
      mean += a.needs.length * 1.5 + (need('long_term_condition') ? 3 : 0);
      this.repeat(mean * (0.9 + 0.3 * d), (day) => this.event(gp, 'gp_consultation', day));
    }

    // Hospital: A&E attendances and admissions (with discharges), more in old age, need and deprivation.
    const hosp = s.hospital_trust;
    const ageRisk = age < 5 ? 1.4 : age < 65 ? 1 : age < 75 ? 1.6 : age < 85 ? 2.6 : 3.5;
    const aeMean = 0.1 * ageRisk * (0.75 + 0.7 * d) + (need('substance_misuse') ? 1.5 : 0) + (need('mental_health') ? 0.5 : 0);
    this.repeat(aeMean, (day) => this.event(hosp, 'ae_attendance', day, null, false));
    const admitMean = (age < 65 ? 0.12 : age < 75 ? 0.4 : age < 85 ? 0.8 : 1.3) * (0.8 + 0.4 * d) + (need('long_term_condition') ? 0.2 : 0);
    this.repeat(admitMean, (day) => this.admission(day));
    if (need('frailty_falls')) {
      this.repeat(1.8, (day) => {
        this.event(gp ?? hosp, 'fall', day, null, false);
        if (rng.chance(0.45)) this.event(hosp, 'ae_attendance', day, null, false);
        if (rng.chance(0.25)) this.admission(day);
      });
    }
    // People seen by the hospital before the window (outpatients, births, old admissions).
    if (!a.known.has(hosp) && rng.chance(0.03 + 0.001 * age)) this.know(hosp, this.randomDay(this.ctx.calendar.today - 3650));

    const mh = need('mental_health');
    if (mh && (mh.severity >= 2 || a.known.has(s.mental_health_trust))) {
      this.repeat(mh.severity === 3 ? 1.6 : 0.4, (day) => {
        this.event(s.mental_health_trust, 'mental_health_crisis', day, null, false);
        if (rng.chance(0.4)) this.event(hosp, 'ae_attendance', day, null, false);
      });
    }

    const homeless = need('homelessness');
    if (homeless) {
      const day = this.randomDay();
      if (rng.chance(0.3))
        this.event(this.landlord ?? s.council_housing, 'eviction_notice', Math.max(this.windowStart, day - rng.int(10, 60)));
      this.event(s.council_housing, 'homeless_presentation', day);
      if (rng.chance(0.7)) this.event(s.council_housing, 'housing_application', day + rng.int(0, 30));
      if (rng.chance(0.35))
        this.event(
          this.landlord ?? rng.pick([s.council_housing, ...this.ctx.index.housingAssociations]),
          'tenancy_start',
          day + rng.int(30, 300),
        );
      const charity = this.charity('homelessness');
      if (charity && rng.chance(0.5)) this.repeat(3, (dd) => this.event(charity, 'charity_support_session', dd));
    } else if (this.landlord && age >= 18) {
      this.know(this.landlord, this.draft.movedInDay ?? this.randomDay(this.ctx.calendar.today - 3650));
      if (rng.chance(0.05 + 0.1 * d)) this.event(this.landlord, 'eviction_notice', this.randomDay());
      if (this.draft.movedInDay !== null && this.draft.movedInDay >= this.windowStart && rng.chance(0.8))
        this.event(this.landlord, 'tenancy_start', this.draft.movedInDay);
    }
    if (need('housing_unsuitable') && rng.chance(0.4)) this.event(s.council_housing, 'housing_application', this.randomDay());

    if (need('offending')) {
      this.repeat(1.3, (day) => this.event(s.probation, 'arrest', day, null, false));
      this.event(s.probation, 'probation_supervision_start', this.randomDay());
    }
    if (need('substance_misuse') && rng.chance(0.6)) this.event(s.drug_alcohol_service, 'drug_treatment_start', this.randomDay());

    if (
      age >= 18 &&
      (need('frailty_falls') || need('learning_disability') || need('carer_strain') || need('end_of_life')) &&
      rng.chance(0.55)
    ) {
      const day = this.randomDay();
      this.event(s.council_adult_social_care, 'social_care_assessment', day);
      if (rng.chance(0.6)) this.event(s.council_adult_social_care, 'care_package_start', day + rng.int(7, 60));
    }

    if (need('child_safeguarding')) this.repeat(2, (day) => this.event(s.council_children_social_care, 'safeguarding_concern', day));
    if (need('domestic_abuse') && rng.chance(0.3)) this.event(s.council_children_social_care, 'safeguarding_concern', this.randomDay());
    if (need('financial_hardship') && age >= 18 && age < 65 && rng.chance(0.2))
      this.event(gp ?? s.council_housing, 'benefit_sanction', this.randomDay());

    // Charity support sessions with every charity that knows the person.
    for (const [org] of a.known) {
      if (org.kind === 'charity') this.repeat(2.5, (day) => this.event(org, 'charity_support_session', day));
    }

    this.schoolTerms();
    // Nobody is invisible to every agency: at the least the hospital saw them once (a birth, an A&E visit).
    if (a.known.size === 0) this.know(hosp, this.randomDay(this.ctx.calendar.today - 3650));
    a.events.sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
  }

  private admission(day: number): void {
    const hosp = this.ctx.index.single.hospital_trust;
    const age = this.a.resident.age;
    const stay = Math.max(0, Math.round(this.rng.next() * (age >= 75 ? 14 : 5) + (this.rng.chance(0.1) ? this.rng.int(5, 30) : 0)));
    this.event(hosp, 'hospital_admission', day, null, false);
    this.event(hosp, 'hospital_discharge', Math.min(this.ctx.calendar.today, day + stay));
  }

  /** Attendance per term for children at school, lower in deprived areas and where attendance is a need. */
  private schoolTerms(): void {
    const a = this.a;
    if (a.resident.age < 4 || a.resident.age > 18) return;
    const current = this.currentSchool();
    const cal = this.ctx.calendar;
    const attendanceNeed = hasNeed(a, 'child_school_attendance');
    const penalty = attendanceNeed ? [0, 8, 15, 26][attendanceNeed.severity] : 0;
    const mean = 95.6 - 4.5 * this.draft.deprivation - penalty - (hasNeed(a, 'child_wellbeing') ? 3 : 0);
    for (const day of termEnds(cal)) {
      if (day < this.windowStart) continue;
      const ageThen = cal.ageOn(a.resident.birthDay, day);
      if (ageThen < 4 || ageThen > 17 || (ageThen >= 16 && !current)) continue;
      const school = ageThen <= 10 ? (this.primarySchool ?? current) : current;
      if (!school) continue;
      const value = Math.round(Math.min(100, Math.max(20, mean + this.rng.normal() * 2.8)) * 10) / 10;
      this.event(school, 'school_attendance_term', day, value);
      if (ageThen >= 11 && (attendanceNeed || hasNeed(a, 'child_wellbeing')) && this.rng.chance(0.05)) {
        this.event(school, 'school_exclusion', day - this.rng.int(5, 60));
      }
    }
    if (current) this.know(current, Math.max(a.resident.birthDay + 4 * 365, cal.today - 3650));
  }
}
