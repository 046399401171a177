// The place-wide outcomes framework (MISSION point 5) as short codes the ledger records spend
// against, and the pathways funds are allocated to. Kept here until the plans module owns them.

export const goalLabels: Record<string, string> = {
  information_advice_choice: 'People get information, advice and help to make their own choices',
  physical_mental_wellbeing: 'People keep and improve their physical and mental wellbeing',
  connected_community: 'People stay connected and contribute to their community',
  carers_listened: 'Carers are listened to as experts',
  right_advice_right_time: 'The right professional advice, in the right format, at the right time',
  services_work_together: 'Services are seen to work together on what matters to the person',
  urgent_needs_safe_at_home: 'Urgent needs are met so people feel safe living at home',
  suitable_accommodation: 'People live in suitable accommodation',
  complex_needs_at_home: 'Complex needs are monitored and met at home where possible',
  independence_after_crisis: 'People regain independence after a crisis',
  no_disadvantage_by_place: 'Nobody is disadvantaged by where they live',
  timely_specialist_help: 'Timely specialist help, including near the end of life',
  children_thrive_at_school: 'Children attend and thrive at school',
};

export const goalCodes = Object.keys(goalLabels);

export const pathwayLabels: Record<string, string> = {
  hospital_discharge: 'Hospital discharge to home',
  multiple_disadvantage: 'Adults facing multiple disadvantage',
  childrens_zone: "Children's zone",
  housing_first: 'Housing first',
  personal_budgets: 'Personal budgets (direct payments)',
};

export function isGoalCode(value: unknown): value is string {
  return typeof value === 'string' && Object.hasOwn(goalLabels, value);
}

/** UK public-sector financial years run April to March; 2026 means 2026/27. */
export function financialYearOf(isoDate: string): number {
  const year = Number(isoDate.slice(0, 4));
  const month = Number(isoDate.slice(5, 7));
  return month >= 4 ? year : year - 1;
}

export function financialYearLabel(year: number): string {
  return `${year}/${String((year + 1) % 100).padStart(2, '0')}`;
}

/** The twelve months of a financial year as 'YYYY-MM', April first. */
export function monthsOfYear(year: number): string[] {
  return Array.from({ length: 12 }, (_, i) => {
    const m = ((3 + i) % 12) + 1;
    return `${i < 9 ? year : year + 1}-${String(m).padStart(2, '0')}`;
  });
}
