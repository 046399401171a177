// Whole-system pathways, as data. Steps run in stages: every step in a stage may run in
// parallel, and the next stage opens when all of them are done. Each step is owned by a kind of
// organisation (and, where it matters, a named service or a practitioner role). `expectedDays`
// is the expected wait, in working days, from a step becoming ready to its first contact.
// Loaded into the `pathways` and `pathway_steps` tables by migration 0041.

export interface PathwayStepDefinition {
  code: string;
  name: string;
  stage: number;
  ownerKind: string;
  /** A directory service of that kind of organisation, by name, when one fits. */
  serviceName: string | null;
  ownerRole: string | null;
  entryCriteria: string;
  expectedDays: number;
}

export interface PathwayDefinition {
  id: string;
  name: string;
  description: string;
  entryCriteria: string;
  steps: PathwayStepDefinition[];
}

export const pathwayDefinitions: PathwayDefinition[] = [
  {
    id: 'hospital-discharge',
    name: 'Hospital discharge to home',
    description: 'From a hospital ward back home safely: reablement and any adaptations in parallel, then a GP follow-up.',
    entryCriteria: 'An adult in hospital who is medically fit to leave and needs support to go home',
    steps: [
      {
        code: 'ward',
        name: 'Discharge planned on the ward',
        stage: 1,
        ownerKind: 'hospital_trust',
        serviceName: 'Hospital discharge hub',
        ownerRole: 'discharge_coordinator',
        entryCriteria: 'Medically fit for discharge',
        expectedDays: 1,
      },
      {
        code: 'reablement',
        name: 'Council reablement at home',
        stage: 2,
        ownerKind: 'council_adult_social_care',
        serviceName: 'Reablement',
        ownerRole: 'occupational_therapist',
        entryCriteria: 'Discharge date agreed; needs help with daily tasks',
        expectedDays: 2,
      },
      {
        code: 'adaptation',
        name: 'Housing adaptation',
        stage: 2,
        ownerKind: 'housing_association',
        serviceName: 'Adaptations for tenants',
        ownerRole: 'housing_officer',
        entryCriteria: 'The home needs equipment or an adaptation to be safe',
        expectedDays: 10,
      },
      {
        code: 'gp-follow-up',
        name: 'GP follow-up',
        stage: 3,
        ownerKind: 'gp_practice',
        serviceName: 'Frailty and care coordination',
        ownerRole: 'gp',
        entryCriteria: 'Home from hospital',
        expectedDays: 5,
      },
    ],
  },
  {
    id: 'multiple-disadvantage',
    name: 'Coordinated support for an adult facing multiple disadvantage',
    description:
      'A named coordinator and flexible responses from every service, for someone facing homelessness, addiction, offending and mental ill-health together.',
    entryCriteria:
      'An adult facing at least two of homelessness, substance misuse, offending and mental ill-health, not engaging well with services',
    steps: [
      {
        code: 'coordinator',
        name: 'Named coordinator assigned',
        stage: 1,
        ownerKind: 'charity',
        serviceName: 'Day centre and outreach',
        ownerRole: 'coordinator',
        entryCriteria: 'Two or more of the four disadvantages',
        expectedDays: 3,
      },
      {
        code: 'housing',
        name: 'Housing options',
        stage: 2,
        ownerKind: 'council_housing',
        serviceName: 'Housing options and homelessness prevention',
        ownerRole: 'housing_officer',
        entryCriteria: 'Homeless or at risk',
        expectedDays: 5,
      },
      {
        code: 'treatment',
        name: 'Drug and alcohol treatment',
        stage: 2,
        ownerKind: 'drug_alcohol_service',
        serviceName: 'Drug and alcohol treatment',
        ownerRole: 'drug_alcohol_worker',
        entryCriteria: 'Uses drugs or alcohol harmfully',
        expectedDays: 10,
      },
      {
        code: 'mental-health',
        name: 'Community mental health',
        stage: 2,
        ownerKind: 'mental_health_trust',
        serviceName: 'Community mental health team',
        ownerRole: 'mental_health_practitioner',
        entryCriteria: 'Mental ill-health',
        expectedDays: 15,
      },
      {
        code: 'review',
        name: 'Three-month review (structured assessment)',
        stage: 3,
        ownerKind: 'charity',
        serviceName: 'Day centre and outreach',
        ownerRole: 'coordinator',
        entryCriteria: 'Coordinated support under way',
        expectedDays: 60,
      },
    ],
  },
  {
    id: 'childrens-zone',
    name: "Children's zone enrolment",
    description:
      'A child identified early from linked data is enrolled with consent, given a link worker and a two-year support plan delivered by partner charities.',
    entryCriteria: 'A child aged 4 to 17 flagged by attendance, attainment, a wellbeing screen or social care contact',
    steps: [
      {
        code: 'identified',
        name: 'Identified and family approached',
        stage: 1,
        ownerKind: 'school',
        serviceName: 'Pastoral support',
        ownerRole: 'school_pastoral_lead',
        entryCriteria: 'Flagged from linked data',
        expectedDays: 10,
      },
      {
        code: 'enrolled',
        name: 'Enrolled with consent',
        stage: 2,
        ownerKind: 'council_children_social_care',
        serviceName: 'Early help',
        ownerRole: 'coordinator',
        entryCriteria: 'The family agrees to take part',
        expectedDays: 10,
      },
      {
        code: 'link-worker',
        name: 'Link worker assigned',
        stage: 3,
        ownerKind: 'charity',
        serviceName: 'Youth mentoring',
        ownerRole: 'link_worker',
        entryCriteria: 'Enrolled',
        expectedDays: 5,
      },
      {
        code: 'support-plan',
        name: 'Two-year support plan agreed',
        stage: 4,
        ownerKind: 'charity',
        serviceName: 'Youth mentoring',
        ownerRole: 'link_worker',
        entryCriteria: 'Link worker has met the child and family',
        expectedDays: 20,
      },
    ],
  },
];

/** The stages of a pathway in order, each with its steps (parallel within a stage). */
export function stagesOf(definition: Pick<PathwayDefinition, 'steps'>): PathwayStepDefinition[][] {
  const byStage = new Map<number, PathwayStepDefinition[]>();
  for (const step of definition.steps) byStage.set(step.stage, [...(byStage.get(step.stage) ?? []), step]);
  return [...byStage.entries()].sort((a, b) => a[0] - b[0]).map(([, steps]) => steps);
}
