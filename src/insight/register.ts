// The public register of case-finding rules: for each rule, in plain English, what it looks for,
// why, who sees the result and the need it is meant to find (the need the fairness check compares
// against). Held beside each rule in insight_rules (migration 0073) so a place that adds a rule
// writes its register entry with it; these are the entries for the rules Joinery ships.

export interface RuleNeed {
  /** The need in words: "a current homelessness, mental health ... need". */
  label: string;
  /** Need codes (as agencies record them): a resident with any of them current has the need. */
  codes: string[];
}

export interface RegisterText {
  looksFor: string;
  why: string;
  whoSees: string;
  need: RuleNeed;
}

/** How anyone can object: the same words for every rule. */
export const HOW_TO_OBJECT =
  'You can object to being found this way. Sign in and go to "Your privacy rights", or ask any service that supports you to record it for you. From then on the checks leave you out, and any team that already has you on its list is told not to contact you this way. Objecting does not change the care you already get.';

export const shippedRegister: Record<string, RegisterText> = {
  'md-no-coordinator': {
    looksFor:
      'Adults who are known to at least three of these services: homelessness, drugs and alcohol, probation and mental health, and who have no one named to coordinate their support.',
    why: 'People facing several of these at once are often passed between services and fall through the gaps. One named coordinator who sticks with them helps them get what they need without telling their story again at every door.',
    whoSees:
      "Only the practitioners of one team, in an organisation that already holds a record about the person (adult social care first, then drugs and alcohol, mental health, probation or housing). They see what the check found, not a score, and they open the person's record only as the person's sharing choices allow. Managers see only how many people each check found.",
    need: {
      label: 'a current homelessness, drug or alcohol, offending or mental health need',
      codes: ['homelessness', 'substance_misuse', 'offending', 'mental_health'],
    },
  },
  'childrens-zone-not-enrolled': {
    looksFor:
      "Children aged 5 to 15 with two or more signs that school or home life is getting harder: low attendance last term, an exclusion, a safeguarding concern in the last year, or a wellbeing or attendance need recorded by a service. Children already in the children's zone are left out.",
    why: "The children's zone offers a link worker and a two-year plan to families who want it. Finding children early means help can start before things reach a crisis.",
    whoSees:
      "Only the practitioners of one team, in the child's school, children's social care or a partner charity that already holds a record about the child. A family joins the children's zone only if they agree.",
    need: { label: 'a current school attendance or child wellbeing need', codes: ['child_school_attendance', 'child_wellbeing'] },
  },
  'older-falls-no-plan': {
    looksFor:
      'People aged 65 or over who have fallen twice or more, or been admitted to hospital twice or more, in the last year, and who do not have a shared care plan.',
    why: 'Repeated falls and admissions are often the start of losing independence. A plan agreed with the person can help them stay safe and well at home.',
    whoSees:
      "Only the practitioners of one team, at the person's GP practice, adult social care or the hospital, in an organisation that already holds a record about them.",
    need: { label: 'a current frailty or falls need', codes: ['frailty_falls'] },
  },
};
