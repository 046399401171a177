// The common categories of personal information and the purposes of use, and which category
// each kind of recorded item falls into. The person's sharing choices are made per category.

export const categories = [
  'demographics',
  'about_me',
  'health',
  'social_care',
  'housing',
  'education',
  'criminal_justice',
  'children_safeguarding',
  'finances',
  'plans',
] as const;
export type Category = (typeof categories)[number];

export const purposes = ['direct_care', 'care_coordination', 'safeguarding', 'planning', 'self', 'identity_review'] as const;
export type Purpose = (typeof purposes)[number];

/** Purposes a person can agree to share for (planning uses pseudonymised aggregates only). */
export const carePurposes: Purpose[] = ['direct_care', 'care_coordination'];

export const categoryLabels: Record<Category, string> = {
  demographics: 'Name, date of birth, address and contact details',
  about_me: 'About me: what matters to me, in my own words',
  health: 'Health (GP, hospital, mental health, drug and alcohol services)',
  social_care: 'Social care and support',
  housing: 'Housing and homelessness',
  education: 'School and education',
  criminal_justice: 'Police, courts and probation',
  children_safeguarding: "Children's safeguarding",
  finances: 'Money, benefits and debt',
  plans: 'My plans and goals',
};

/** Short plain words for a category, to list in a sentence ("basic details, health, housing and plans"). */
export const categoryPlainWords: Record<Category, string> = {
  demographics: 'basic details (name, date of birth, address)',
  about_me: 'about me',
  health: 'health',
  social_care: 'social care',
  housing: 'housing',
  education: 'school',
  criminal_justice: 'criminal justice',
  children_safeguarding: "children's safeguarding",
  finances: 'money',
  plans: 'plans',
};

export const purposeLabels: Record<Purpose, string> = {
  direct_care: 'to care for you directly',
  care_coordination: 'to coordinate your care between services',
  safeguarding: 'to keep you or others safe from harm',
  planning: 'to plan services (as anonymous numbers only)',
  self: 'because it is your own record',
  identity_review: 'to check whether two records are the same person',
};

/** Categories whose very existence is sensitive: a withheld item is not even counted. */
export const silentlyWithheld: ReadonlySet<Category> = new Set(['criminal_justice', 'children_safeguarding']);

const eventCategories: Record<string, Category> = {
  gp_consultation: 'health',
  ae_attendance: 'health',
  hospital_admission: 'health',
  hospital_discharge: 'health',
  fall: 'health',
  mental_health_crisis: 'health',
  drug_treatment_start: 'health',
  social_care_assessment: 'social_care',
  care_package_start: 'social_care',
  charity_support_session: 'social_care',
  housing_application: 'housing',
  homeless_presentation: 'housing',
  eviction_notice: 'housing',
  tenancy_start: 'housing',
  probation_supervision_start: 'criminal_justice',
  arrest: 'criminal_justice',
  school_attendance_term: 'education',
  school_exclusion: 'education',
  safeguarding_concern: 'children_safeguarding',
  benefit_sanction: 'finances',
};

const needCategories: Record<string, Category> = {
  homelessness: 'housing',
  housing_unsuitable: 'housing',
  substance_misuse: 'health',
  offending: 'criminal_justice',
  mental_health: 'health',
  long_term_condition: 'health',
  frailty_falls: 'health',
  social_isolation: 'social_care',
  carer_strain: 'social_care',
  learning_disability: 'social_care',
  financial_hardship: 'finances',
  domestic_abuse: 'social_care',
  child_school_attendance: 'education',
  child_wellbeing: 'education',
  child_safeguarding: 'children_safeguarding',
  end_of_life: 'health',
};

/** Unknown kinds fall into social care, the broadest care category, never into an open one. */
export function categoryOfEvent(type: string): Category {
  return eventCategories[type] ?? 'social_care';
}

export function categoryOfNeed(code: string): Category {
  return needCategories[code] ?? 'social_care';
}

export function eventTypesIn(category: Category): string[] {
  return Object.entries(eventCategories)
    .filter(([, c]) => c === category)
    .map(([t]) => t);
}

export function isCategory(value: unknown): value is Category {
  return typeof value === 'string' && (categories as readonly string[]).includes(value);
}

export function isPurpose(value: unknown): value is Purpose {
  return typeof value === 'string' && (purposes as readonly string[]).includes(value);
}

const organisationKindCategories: Record<string, Category> = {
  gp_practice: 'health',
  hospital_trust: 'health',
  mental_health_trust: 'health',
  drug_alcohol_service: 'health',
  council_adult_social_care: 'social_care',
  council_children_social_care: 'children_safeguarding',
  council_housing: 'housing',
  housing_association: 'housing',
  probation: 'criminal_justice',
  school: 'education',
  charity: 'social_care',
};

/** Merely being known to an agency says something: probation involvement is criminal justice data. */
export function categoryOfOrganisationKind(kind: string): Category {
  return organisationKindCategories[kind] ?? 'social_care';
}
