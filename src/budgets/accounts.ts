// How ledger accounts are named: one id per (kind, fund, year, target), so postings find their
// account without a lookup and the same entry always lands in the same account.
import type { AccountInput } from './ledger.ts';
import { financialYearLabel, pathwayLabels } from './goals.ts';

export type TargetKind = 'service' | 'pathway' | 'locality';

export const fundAccount = (fundId: string, year: number): AccountInput => ({
  id: `fund:${fundId}:${year}`,
  kind: 'fund',
  name: `Unallocated pool ${financialYearLabel(year)}`,
  fundId,
  financialYear: year,
});

export const contributionAccount = (fundId: string, year: number, partnerId: string, partnerName = partnerId): AccountInput => ({
  id: `contribution:${fundId}:${year}:${partnerId}`,
  kind: 'partner_contribution',
  name: `${partnerName} contribution ${financialYearLabel(year)}`,
  fundId,
  financialYear: year,
  partnerId,
});

export const allocationAccount = (
  fundId: string,
  year: number,
  targetKind: TargetKind,
  targetId: string,
  targetName?: string,
): AccountInput => ({
  id: `allocation:${fundId}:${year}:${targetKind}:${targetId}`,
  kind: 'allocation',
  name: `Allocation to ${targetName ?? (targetKind === 'pathway' ? (pathwayLabels[targetId] ?? targetId) : targetId)} ${financialYearLabel(year)}`,
  fundId,
  financialYear: year,
  targetKind,
  targetId,
  serviceId: targetKind === 'service' ? targetId : null,
});

export const spendAccount = (fundId: string, serviceId: string | null): AccountInput => ({
  id: `spend:${fundId}:${serviceId ?? 'other'}`,
  kind: 'spend',
  name: `Spend${serviceId ? '' : ' (other)'}`,
  fundId,
  serviceId,
});

export const personalBudgetAccount = (budgetId: string, fundId: string, year: number, personId: string): AccountInput => ({
  id: `personal_budget:${budgetId}`,
  kind: 'personal_budget',
  name: `Personal budget ${financialYearLabel(year)}`,
  fundId,
  financialYear: year,
  personId,
});

export const outcomePaymentAccount = (fundId: string, contractId: string): AccountInput => ({
  id: `outcome_payment:${fundId}:${contractId}`,
  kind: 'outcome_payment',
  name: `Outcome payments ${contractId}`,
  fundId,
  targetKind: 'contract',
  targetId: contractId,
});
