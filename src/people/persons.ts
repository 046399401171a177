// Persons as fragments other modules embed in their own single statement (the access decision
// reads a child's date of birth without a second round trip); builder fragments are in names.ts,
// batched queries in lookups.ts.

/** SQL text: the date of birth of the person `personExpr` names (a scalar subquery; null when unknown). */
export const personBirthDateSql = (personExpr: string): string => `(select p.birth_date from persons p where p.id = ${personExpr})`;
