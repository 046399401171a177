// The directory's taxonomy of needs: every NeedCode the network records, with a plain-English
// label and description, grouped under a handful of parent terms.
import type { NeedCode } from '../synth/index.ts';
import { orukId } from './ids.ts';

export const NEED_TAXONOMY = {
  id: orukId('taxonomy', 'joinery-needs'),
  name: 'Joinery needs',
  description:
    'The needs the care network records and its services meet: one shared language across health, care, housing, justice, schools and charities.',
  version: '1.0',
} as const;

export interface NeedGroup {
  code: string;
  name: string;
  description: string;
}
export interface NeedTerm {
  code: NeedCode;
  group: string;
  name: string;
  description: string;
}

export const NEED_GROUPS: NeedGroup[] = [
  { code: 'group_housing', name: 'Housing and homelessness', description: 'Somewhere safe and suitable to live.' },
  {
    code: 'group_health',
    name: 'Health, disability and care',
    description: 'Physical health, disability, frailty and care at the end of life.',
  },
  {
    code: 'group_mind',
    name: 'Mental health and substance use',
    description: 'Emotional wellbeing, mental illness, and drug and alcohol use.',
  },
  { code: 'group_money', name: 'Money, caring and connection', description: 'Getting by, caring for someone, and not being alone.' },
  { code: 'group_safety', name: 'Safety and justice', description: 'Being safe from abuse, and support around offending.' },
  { code: 'group_children', name: 'Children and families', description: 'Children’s safety, wellbeing and education.' },
];

export const NEED_TERMS: NeedTerm[] = [
  {
    code: 'homelessness',
    group: 'group_housing',
    name: 'Homelessness',
    description: 'Sleeping rough, sofa surfing, in temporary accommodation, or at risk of losing a home within 56 days.',
  },
  {
    code: 'housing_unsuitable',
    group: 'group_housing',
    name: 'Unsuitable or unsafe housing',
    description: 'A home that is overcrowded, in disrepair, unaffordable or no longer suits someone’s health.',
  },
  {
    code: 'long_term_condition',
    group: 'group_health',
    name: 'Long-term health conditions',
    description: 'Living with diabetes, heart or lung disease, or another condition that needs ongoing care.',
  },
  {
    code: 'frailty_falls',
    group: 'group_health',
    name: 'Frailty and falls',
    description: 'Falls, frailty and help to stay independent at home.',
  },
  {
    code: 'learning_disability',
    group: 'group_health',
    name: 'Learning disability and autism',
    description: 'Care and support for people with a learning disability or autism.',
  },
  {
    code: 'end_of_life',
    group: 'group_health',
    name: 'End of life',
    description: 'Care, planning and support for people in the last months of life and those close to them.',
  },
  {
    code: 'mental_health',
    group: 'group_mind',
    name: 'Mental health',
    description: 'Anxiety, depression, crisis, psychosis and other mental health needs.',
  },
  {
    code: 'substance_misuse',
    group: 'group_mind',
    name: 'Drug and alcohol use',
    description: 'Harmful use of drugs or alcohol, treatment and recovery.',
  },
  {
    code: 'financial_hardship',
    group: 'group_money',
    name: 'Money, debt and hardship',
    description: 'Not enough money for food, fuel or rent; debt; benefit problems.',
  },
  {
    code: 'carer_strain',
    group: 'group_money',
    name: 'Caring for someone',
    description: 'Support for unpaid carers of any age, including young carers.',
  },
  {
    code: 'social_isolation',
    group: 'group_money',
    name: 'Loneliness and isolation',
    description: 'Feeling alone or cut off, and wanting to connect with others.',
  },
  {
    code: 'domestic_abuse',
    group: 'group_safety',
    name: 'Domestic abuse',
    description: 'Abuse by a partner, ex-partner or family member, and safety planning.',
  },
  {
    code: 'offending',
    group: 'group_safety',
    name: 'Offending and the justice system',
    description: 'Support for people on probation, leaving custody or at risk of offending.',
  },
  {
    code: 'child_safeguarding',
    group: 'group_children',
    name: 'Keeping children safe',
    description: 'Where a child may be at risk of harm or neglect.',
  },
  {
    code: 'child_wellbeing',
    group: 'group_children',
    name: 'Children’s wellbeing',
    description: 'Children’s and young people’s emotional wellbeing and family support.',
  },
  {
    code: 'child_school_attendance',
    group: 'group_children',
    name: 'School attendance',
    description: 'Help when a child is missing school or at risk of exclusion.',
  },
];

export const needTermId = (code: string): string => orukId('taxonomy_term', code);
