// The shape of a synthetic place. The generator (synth/generate.ts) produces these;
// the demo loader and the CSV writer consume them. Everything is deterministic from a seed.

/** Ethnicity groups as the ONS 2021 census high-level groups. */
export type EthnicityGroup = 'white' | 'mixed' | 'asian' | 'black' | 'other';
export type Sex = 'female' | 'male';

export type OrganisationKind =
  | 'gp_practice'
  | 'hospital_trust'
  | 'council_adult_social_care'
  | 'council_children_social_care'
  | 'council_housing'
  | 'housing_association'
  | 'probation'
  | 'school'
  | 'charity'
  | 'mental_health_trust'
  | 'drug_alcohol_service';

/** Needs, coded so they map onto the outcomes framework later (plans module). */
export type NeedCode =
  | 'homelessness'
  | 'housing_unsuitable'
  | 'substance_misuse'
  | 'offending'
  | 'mental_health'
  | 'long_term_condition'
  | 'frailty_falls'
  | 'social_isolation'
  | 'carer_strain'
  | 'learning_disability'
  | 'financial_hardship'
  | 'domestic_abuse'
  | 'child_school_attendance'
  | 'child_wellbeing'
  | 'child_safeguarding'
  | 'end_of_life';

export type EventType =
  | 'gp_consultation'
  | 'ae_attendance'
  | 'hospital_admission'
  | 'hospital_discharge'
  | 'fall'
  | 'social_care_assessment'
  | 'care_package_start'
  | 'housing_application'
  | 'homeless_presentation'
  | 'eviction_notice'
  | 'tenancy_start'
  | 'probation_supervision_start'
  | 'arrest'
  | 'drug_treatment_start'
  | 'mental_health_crisis'
  | 'school_attendance_term'
  | 'school_exclusion'
  | 'safeguarding_concern'
  | 'benefit_sanction'
  | 'charity_support_session';

export interface Place {
  id: string;
  name: string;
  /** Postcode area letters used for every postcode in the place (fictional, e.g. "RV"). */
  postcodeArea: string;
  seed: number;
}

export interface Locality {
  id: string; // e.g. "loc-01"
  name: string; // e.g. "Northgate"
}

export interface SmallArea {
  id: string; // e.g. "sa-0001"
  code: string; // LSOA-like code, e.g. "J01000001"
  name: string; // e.g. "Northgate 003A"
  localityId: string;
  /** Index of Multiple Deprivation decile: 1 = most deprived 10%, 10 = least deprived. */
  deprivationDecile: number;
  /** Approximate centre, WGS84; every postcode in the area sits near it. */
  lat: number;
  lon: number;
  /** Residents the generator aimed for (~1,500). */
  targetPopulation: number;
}

export interface Postcode {
  postcode: string; // formatted "RV3 2AB"
  smallAreaId: string;
  lat: number;
  lon: number;
}

export type HouseholdComposition =
  | 'single_adult'
  | 'couple'
  | 'couple_with_children'
  | 'lone_parent'
  | 'older_single'
  | 'older_couple'
  | 'multi_generation'
  | 'shared_adults';

export type Tenure = 'owner_occupied' | 'social_rent' | 'private_rent' | 'temporary_accommodation';

export interface Household {
  id: string; // "hh-0000001"
  smallAreaId: string;
  postcode: string;
  addressLine: string; // "14 Mill Lane"
  composition: HouseholdComposition;
  tenure: Tenure;
  /** Where the household lived before (address history), if it moved in the last 5 years. */
  previousAddress?: { addressLine: string; postcode: string; movedIn: string /* ISO date */ };
}

export interface Person {
  id: string; // "p-0000001" — the TRUE person; agencies never see this id
  householdId: string;
  givenName: string;
  middleName: string | null;
  familyName: string;
  /** Family name at birth when it changed (e.g. at marriage). */
  birthFamilyName: string | null;
  birthDate: string; // ISO YYYY-MM-DD
  sex: Sex;
  ethnicityGroup: EthnicityGroup;
  disability: boolean;
  /** 10 digits, valid modulus-11 check digit; null where not known to anyone. */
  nhsNumber: string | null;
  phone: string | null; // UK mobile "07700 900123" style (Ofcom drama range)
  email: string | null;
  /** Twin's person id, where this person is a twin. */
  twinOf: string | null;
}

export type RelationshipType = 'parent' | 'child' | 'partner' | 'carer' | 'cared_for' | 'sibling' | 'grandparent' | 'grandchild';

export interface Relationship {
  personId: string;
  relatedPersonId: string;
  /** What relatedPerson IS to person: { personId: child, relatedPersonId: mum, type: 'parent' }. */
  type: RelationshipType;
}

export interface Organisation {
  id: string; // "org-gp-01"
  name: string;
  kind: OrganisationKind;
  /** Short code used as the source of its agency records, e.g. "GP01", "HOSP", "ASC". */
  sourceCode: string;
  localityId: string | null; // null for place-wide organisations
  postcode: string;
  phone: string;
  email: string;
  website: string;
}

export interface Team {
  id: string;
  organisationId: string;
  name: string;
}

export type PractitionerRole =
  | 'social_worker'
  | 'gp_care_coordinator'
  | 'gp'
  | 'nurse'
  | 'housing_officer'
  | 'link_worker'
  | 'coordinator'
  | 'support_worker'
  | 'probation_officer'
  | 'school_pastoral_lead'
  | 'mental_health_practitioner'
  | 'drug_alcohol_worker'
  | 'discharge_coordinator'
  | 'occupational_therapist';

export interface Practitioner {
  id: string;
  organisationId: string;
  teamId: string;
  givenName: string;
  familyName: string;
  role: PractitionerRole;
  email: string; // work email, synthetic domain
}

export interface Service {
  id: string;
  organisationId: string;
  teamId: string;
  name: string;
  description: string;
  /** Needs this service meets (the directory's taxonomy). */
  needs: NeedCode[];
  eligibility: string; // plain English
  minAge: number | null;
  maxAge: number | null;
  /** Localities served; empty = the whole place. */
  localityIds: string[];
  postcode: string;
  /** Referral clocks, in working days. */
  acknowledgeWithinDays: number;
  firstContactWithinDays: number;
  /** New referrals it can take per month. */
  capacityPerMonth: number;
}

/**
 * One agency's own record of a person, as that agency holds it: possibly with typos,
 * a nickname, swapped day/month, an old address, no NHS number, a maiden name...
 */
export interface SourceRecord {
  source: string; // Organisation.sourceCode
  sourceId: string; // the agency's own identifier, unique within source
  /** Ground truth only: never loaded into the agency record tables. */
  truePersonId: string;
  givenName: string;
  familyName: string;
  birthDate: string; // ISO YYYY-MM-DD, or '' when the agency does not hold it
  sex: Sex | '';
  postcode: string; // may be an old or mistyped postcode, or ''
  addressLine: string;
  nhsNumber: string; // '' when the agency does not hold it
  phone: string;
  email: string;
  /** When the agency first recorded the person, ISO timestamp. */
  recordedAt: string;
}

export interface Need {
  personId: string;
  code: NeedCode;
  /** Organisation that recorded it. */
  organisationId: string;
  recordedAt: string; // ISO date
  /** 1 (low) to 3 (high). */
  severity: 1 | 2 | 3;
  /** Still current (false = resolved). */
  current: boolean;
}

export interface PlaceEvent {
  personId: string;
  organisationId: string;
  type: EventType;
  at: string; // ISO timestamp
  /** A number some events carry, e.g. attendance percentage for school_attendance_term. */
  value: number | null;
}

/** Everything generated for one household, produced in order so big places stream. */
export interface HouseholdBundle {
  household: Household;
  people: Person[];
  relationships: Relationship[];
  sourceRecords: SourceRecord[];
  needs: Need[];
  events: PlaceEvent[];
}

/** The fixed frame of a place: geography and the organisations serving it. */
export interface PlaceFrame {
  place: Place;
  localities: Locality[];
  smallAreas: SmallArea[];
  postcodes: Postcode[];
  organisations: Organisation[];
  teams: Team[];
  practitioners: Practitioner[];
  services: Service[];
}

export interface GenerateOptions {
  seed: number;
  people: number; // target residents
  /** The day the generated world is seen from (ISO date); fixed by default so output is reproducible. */
  asOf?: string;
}
