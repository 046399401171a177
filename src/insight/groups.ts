// The service groups people can be "known to", as data: an organisation kind holding a linked
// record on the person, an event of a given type, or a need recorded by any agency. Used for the
// overlap (UpSet) chart and by the case-finding predicate `known_to_groups`.
import { defaultNeedOutcomes } from '../plans/index.ts';

export interface ServiceGroup {
  code: string;
  label: string;
  kinds: string[];
  events: string[];
  needs: string[];
}

export const serviceGroups: ServiceGroup[] = [
  { code: 'homelessness', label: 'Homelessness', kinds: [], events: ['homeless_presentation'], needs: ['homelessness'] },
  { code: 'housing', label: 'Housing', kinds: ['council_housing', 'housing_association'], events: [], needs: [] },
  { code: 'mental_health', label: 'Mental health', kinds: ['mental_health_trust'], events: ['mental_health_crisis'], needs: [] },
  { code: 'substance_misuse', label: 'Drugs and alcohol', kinds: ['drug_alcohol_service'], events: ['drug_treatment_start'], needs: [] },
  { code: 'offending', label: 'Probation', kinds: ['probation'], events: ['probation_supervision_start'], needs: [] },
  { code: 'adult_social_care', label: 'Adult social care', kinds: ['council_adult_social_care'], events: [], needs: [] },
  { code: 'children_social_care', label: "Children's social care", kinds: ['council_children_social_care'], events: [], needs: [] },
  { code: 'hospital', label: 'Hospital', kinds: ['hospital_trust'], events: [], needs: [] },
];

export const multipleDisadvantageGroups = ['homelessness', 'substance_misuse', 'offending', 'mental_health'];

export function groupBit(code: string): number {
  const i = serviceGroups.findIndex((g) => g.code === code);
  if (i < 0) throw new Error(`unknown service group ${code}`);
  return 1 << i;
}

/** Flattened (code, label, kind|event|need) rows for SQL unnest. */
export function groupSources(codes: string[] = serviceGroups.map((g) => g.code)) {
  const chosen = serviceGroups.filter((g) => codes.includes(g.code));
  const flat = (pick: (g: ServiceGroup) => string[]) =>
    chosen.flatMap((g) => pick(g).map((v) => ({ code: g.code, label: g.label, bit: groupBit(g.code), value: v })));
  return { kinds: flat((g) => g.kinds), events: flat((g) => g.events), needs: flat((g) => g.needs) };
}

export const needCodes: string[] = Object.keys(defaultNeedOutcomes);

export const eventTypes = [
  'gp_consultation',
  'ae_attendance',
  'hospital_admission',
  'hospital_discharge',
  'fall',
  'social_care_assessment',
  'care_package_start',
  'housing_application',
  'homeless_presentation',
  'eviction_notice',
  'tenancy_start',
  'probation_supervision_start',
  'arrest',
  'drug_treatment_start',
  'mental_health_crisis',
  'school_attendance_term',
  'school_exclusion',
  'safeguarding_concern',
  'benefit_sanction',
  'charity_support_session',
];

export const organisationKinds = [
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

export const humanise = (code: string) => code.replace(/_/g, ' ');
