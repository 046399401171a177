// Operating models as data: how a place organises support for a group of people. The code reads
// these settings (who leads, which assessment and how often, whether consent to enrol and an
// identification screen are needed, plan length and sections, delivery partners, the anchor);
// nothing about any one model is hard-coded. A place can add or change models in the table.
import { RefusedInput } from '../platform/refused.ts';

export type PlanSection = 'strengths' | 'connections' | 'goals' | 'actions';

export interface OperatingModelConfig {
  lead: { roleLabel: string; practitionerRoles: string[]; organisationKinds: string[] };
  /** The assessment used to measure progress, and how often it is repeated. */
  assessment: { questionnaireId: string; everyMonths: number };
  /** Further assessments offered to people on the model. */
  otherAssessments: string[];
  /** A screen that identifies who the model is for, and the rule a result must meet. */
  identification: { questionnaireId: string; rule: string } | null;
  consentToEnrol: boolean;
  planSubject: 'person' | 'household';
  /** How long a plan runs (null: open-ended). */
  planMonths: number | null;
  reviewEveryMonths: number;
  /** The order the plan page asks things in (strengths and connections first for local area coordination). */
  planSections: PlanSection[];
  deliveryPartners: { organisationKinds: string[]; description: string };
  /** What everything else is coordinated around (housing first: the tenancy). */
  anchor: { kind: 'tenancy'; description: string } | null;
  principles: string[];
  /** Who the seeded demo enrols: current needs (any of), minimum count, ages. */
  eligibility: { needs: string[]; minNeeds: number; minAge: number | null; maxAge: number | null };
  paymentByResults: { description: string; outcomes: string[] } | null;
}

export interface OperatingModel {
  id: string;
  name: string;
  summary: string;
  config: OperatingModelConfig;
}

export const defaultOperatingModels: OperatingModel[] = [
  {
    id: 'md-coordination',
    name: 'Coordinated support for multiple disadvantage',
    summary:
      'Adults facing homelessness, drugs or alcohol, offending and mental ill-health together get one named coordinator and flexible responses from every service, with progress measured every three months.',
    config: {
      lead: {
        roleLabel: 'named coordinator',
        practitionerRoles: ['coordinator'],
        organisationKinds: ['charity', 'council_adult_social_care'],
      },
      assessment: { questionnaireId: 'md-assessment', everyMonths: 3 },
      otherAssessments: ['ons4-wellbeing'],
      identification: null,
      consentToEnrol: true,
      planSubject: 'person',
      planMonths: null,
      reviewEveryMonths: 3,
      planSections: ['goals', 'actions', 'strengths', 'connections'],
      deliveryPartners: {
        organisationKinds: ['council_housing', 'drug_alcohol_service', 'mental_health_trust', 'probation', 'charity', 'gp_practice'],
        description: 'Every service responds flexibly: housing, drug and alcohol, mental health, probation, GP and charities.',
      },
      anchor: null,
      principles: [
        'One named coordinator who sticks with the person',
        'Services bend their rules to fit the person, not the other way round',
        'Progress measured with the same assessment every three months',
      ],
      eligibility: { needs: ['homelessness', 'substance_misuse', 'offending', 'mental_health'], minNeeds: 2, minAge: 18, maxAge: 70 },
      paymentByResults: null,
    },
  },
  {
    id: 'childrens-zone',
    name: "Children's zone",
    summary:
      "Children at risk are found early from linked data, enrolled with their family's consent, given a link worker and a two-year plan delivered by partner charities, who are paid when outcomes are met.",
    config: {
      lead: { roleLabel: 'link worker', practitionerRoles: ['link_worker', 'support_worker'], organisationKinds: ['charity'] },
      assessment: { questionnaireId: 'children-needs-screen', everyMonths: 6 },
      otherAssessments: [],
      identification: { questionnaireId: 'children-needs-screen', rule: 'meets-identification-criteria' },
      consentToEnrol: true,
      planSubject: 'household',
      planMonths: 24,
      reviewEveryMonths: 6,
      planSections: ['goals', 'actions', 'strengths', 'connections'],
      deliveryPartners: {
        organisationKinds: ['charity', 'school'],
        description: 'Partner charities and schools deliver the plan and are paid by results.',
      },
      anchor: null,
      principles: [
        'Find children early from attendance, attainment, wellbeing and family circumstances',
        "Enrol only with the family's consent",
        'A link worker and a two-year plan for every child',
      ],
      eligibility: { needs: ['child_school_attendance', 'child_wellbeing'], minNeeds: 1, minAge: 5, maxAge: 15 },
      paymentByResults: {
        description: "Partners are paid when a child's attendance and wellbeing areas improve by at least one point between screens.",
        outcomes: ['RIGHT', 'WELL'],
      },
    },
  },
  {
    id: 'local-area-coordination',
    name: 'Local area coordination',
    summary:
      'A coordinator walks alongside people in their own neighbourhood, starting from their strengths and community connections before formal services.',
    config: {
      lead: {
        roleLabel: 'local area coordinator',
        practitionerRoles: ['link_worker', 'coordinator'],
        organisationKinds: ['gp_practice', 'charity'],
      },
      assessment: { questionnaireId: 'ons4-wellbeing', everyMonths: 3 },
      otherAssessments: ['carers-assessment'],
      identification: null,
      consentToEnrol: false,
      planSubject: 'person',
      planMonths: null,
      reviewEveryMonths: 3,
      planSections: ['strengths', 'connections', 'goals', 'actions'],
      deliveryPartners: {
        organisationKinds: ['charity'],
        description: 'Community groups and charities first; formal services only when needed.',
      },
      anchor: null,
      principles: [
        'Start with what the person can do and who they know',
        'Community connections before formal services',
        'The coordinator walks alongside; the person leads',
      ],
      eligibility: {
        needs: ['social_isolation', 'carer_strain', 'frailty_falls', 'learning_disability'],
        minNeeds: 1,
        minAge: 18,
        maxAge: null,
      },
      paymentByResults: null,
    },
  },
  {
    id: 'housing-first',
    name: 'Housing first',
    summary: 'A stable home comes first, with no conditions; wraparound support from every service is coordinated around the tenancy.',
    config: {
      lead: {
        roleLabel: 'housing first support worker',
        practitionerRoles: ['support_worker', 'housing_officer'],
        organisationKinds: ['charity', 'council_housing'],
      },
      assessment: { questionnaireId: 'md-assessment', everyMonths: 3 },
      otherAssessments: ['ons4-wellbeing'],
      identification: null,
      consentToEnrol: true,
      planSubject: 'person',
      planMonths: null,
      reviewEveryMonths: 3,
      planSections: ['goals', 'actions', 'strengths', 'connections'],
      deliveryPartners: {
        organisationKinds: ['council_housing', 'housing_association', 'drug_alcohol_service', 'mental_health_trust', 'gp_practice'],
        description: 'Wraparound support: landlord, drug and alcohol, mental health and GP around the tenancy.',
      },
      anchor: {
        kind: 'tenancy',
        description: 'The tenancy is the anchor: support continues whatever happens, and is never conditional on treatment.',
      },
      principles: ['A home first, with no conditions', 'Support for as long as it is needed', 'The person chooses what support they take'],
      eligibility: { needs: ['homelessness'], minNeeds: 1, minAge: 18, maxAge: null },
      paymentByResults: null,
    },
  },
  // Issue 22: the two models places asked for beside the four above. The seeded demo enrols people
  // on them after the four above, from whoever is left, so the people on those stay as they were;
  // the locality care organisations themselves are the place module's.
  {
    id: 'connected-care',
    name: 'Community-led integrated care (Connected Care)',
    summary:
      'Local residents, trained as community navigators, help people with whatever they say matters (housing, money, health, care, loneliness), and the community shapes which services are offered in its neighbourhood.',
    config: {
      lead: { roleLabel: 'community navigator', practitionerRoles: ['link_worker', 'coordinator'], organisationKinds: ['charity'] },
      assessment: { questionnaireId: 'ons4-wellbeing', everyMonths: 3 },
      otherAssessments: ['carers-assessment'],
      identification: null,
      consentToEnrol: false,
      planSubject: 'household',
      planMonths: null,
      reviewEveryMonths: 3,
      planSections: ['strengths', 'connections', 'goals', 'actions'],
      deliveryPartners: {
        organisationKinds: ['charity', 'council_housing', 'council_adult_social_care', 'gp_practice'],
        description:
          'Community groups and every public service in the neighbourhood answer the navigator, under an agreement the community helped write.',
      },
      anchor: null,
      principles: [
        'Navigators come from the community they serve',
        'One conversation covers whatever matters to the household: no wrong door',
        'The community audits its own needs and shapes the services',
      ],
      eligibility: {
        needs: ['social_isolation', 'financial_hardship', 'housing_unsuitable', 'carer_strain'],
        minNeeds: 1,
        minAge: null,
        maxAge: null,
      },
      paymentByResults: null,
    },
  },
  {
    id: 'locality-care-organisation',
    name: 'Locality care organisation',
    summary:
      "Each locality has a lead organisation accountable for its population's care, with partner organisations under one agreement, a pooled budget and one integrated team; who leads differs from locality to locality.",
    config: {
      lead: {
        roleLabel: 'locality lead practitioner',
        practitionerRoles: ['coordinator', 'gp_care_coordinator', 'social_worker'],
        organisationKinds: ['council_adult_social_care', 'gp_practice', 'hospital_trust', 'housing_association', 'charity'],
      },
      assessment: { questionnaireId: 'ons4-wellbeing', everyMonths: 6 },
      otherAssessments: ['carers-assessment'],
      identification: null,
      consentToEnrol: true,
      planSubject: 'person',
      planMonths: null,
      reviewEveryMonths: 6,
      planSections: ['goals', 'actions', 'strengths', 'connections'],
      deliveryPartners: {
        organisationKinds: [
          'gp_practice',
          'hospital_trust',
          'council_adult_social_care',
          'council_housing',
          'housing_association',
          'mental_health_trust',
          'charity',
        ],
        description:
          "The locality's partner organisations deliver the plan from a pooled budget; the lead organisation answers for the locality's outcomes and waits.",
      },
      anchor: null,
      principles: [
        "One lead organisation answers for the locality's population",
        'Partners pool a budget and work as one team',
        "The locality's needs, outcomes, inequalities and waits are reported together and compared with other localities",
      ],
      eligibility: { needs: ['long_term_condition', 'frailty_falls', 'mental_health'], minNeeds: 1, minAge: 18, maxAge: null },
      paymentByResults: null,
    },
  },
];

/** Months after a date, as YYYY-MM-DD (end-of-month safe). */
export function addMonths(date: Date | string, months: number): string {
  const d = new Date(typeof date === 'string' ? `${date.slice(0, 10)}T12:00:00Z` : date.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.toISOString().slice(0, 10);
}

/** When the model's assessment is next due, from the last one (or now when never done). */
export function nextAssessmentDue(config: OperatingModelConfig, lastAssessedAt: Date | null, enrolledAt: Date): string {
  return lastAssessedAt ? addMonths(lastAssessedAt, config.assessment.everyMonths) : enrolledAt.toISOString().slice(0, 10);
}

export class EnrolmentError extends RefusedInput {
  constructor(message: string) {
    super(422, message);
  }
}

/** The model's own rules for enrolling someone: consent and identification where it asks for them. */
export function checkEnrolment(
  config: OperatingModelConfig,
  input: { consent: boolean; identification: { rulesMet: Record<string, boolean> } | null },
): void {
  if (config.consentToEnrol && !input.consent)
    throw new EnrolmentError("This model enrols people only with their consent (or their parent's). Record that consent was given.");
  if (config.identification) {
    if (!input.identification) throw new EnrolmentError('Complete the identification screen first.');
    if (!input.identification.rulesMet[config.identification.rule])
      throw new EnrolmentError('The latest identification screen does not meet the criteria for this model.');
  }
}
