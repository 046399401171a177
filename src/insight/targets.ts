// Targets commissioners set for the shared measures, shown against what the figures are now. A
// target is a value to reach by a date, with the reason; setting a new one keeps the old (history
// of what was asked for). The actual is the measure over the latest year for the whole place, the
// same protected figure the inequality pages show, so a suppressed actual is never compared.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import { HttpError } from '../platform/http.ts';
import { inequality, measures, type MeasureDef } from './queries.ts';
import { ensureInsight } from './refresh.ts';
import { RefusedInput } from '../platform/refused.ts';

export class TargetInputError extends RefusedInput {
  readonly field: 'measure' | 'value' | 'by' | 'reason';
  constructor(field: TargetInputError['field'], message: string) {
    super(400, message);
    this.field = field;
  }
}

export interface TargetInput {
  measureId: string;
  value: string;
  byDate: string | null;
  reason: string;
}

/** Checks what a commissioner typed; every problem at once, so the page can list them all. */
export function parseTarget(
  input: TargetInput,
  known: readonly MeasureDef[],
  today: string,
): { errors: TargetInputError[]; target?: { measureId: string; value: number; byDate: string; reason: string | null } } {
  const errors: TargetInputError[] = [];
  const measure = known.find((m) => m.id === input.measureId);
  if (!measure) errors.push(new TargetInputError('measure', 'Choose the measure the target is for'));
  const text = input.value.trim().replace(/,/g, '');
  const value = Number(text);
  if (text === '') errors.push(new TargetInputError('value', 'Enter the target'));
  else if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(value))
    errors.push(new TargetInputError('value', 'The target must be a number, like 5 or 12.5'));
  else if (measure?.unit === '%' && value > 100)
    errors.push(new TargetInputError('value', 'The target must be a percentage from 0 to 100'));
  else if (value > 100_000) errors.push(new TargetInputError('value', 'The target must be 100,000 or less'));
  if (input.byDate === null) errors.push(new TargetInputError('by', 'Enter the date the target is to be reached by'));
  else if (input.byDate <= today) errors.push(new TargetInputError('by', 'The date the target is to be reached by must be in the future'));
  const reason = input.reason.trim();
  if (reason.length > 500) errors.push(new TargetInputError('reason', 'The reason must be 500 characters or fewer'));
  if (errors.length > 0) return { errors };
  return { errors, target: { measureId: measure!.id, value, byDate: input.byDate!, reason: reason || null } };
}

/** Records a target (managers and commissioners only), in the caller's transaction. */
export async function setTarget(
  trx: Transaction<Database>,
  actor: SignedInUser,
  target: { measureId: string; value: number; byDate: string; reason: string | null },
): Promise<number> {
  if (actor.role !== 'manager') throw new HttpError(403, 'Only managers and commissioners set targets.');
  const row = await trx
    .insertInto('insight_targets')
    .values({ measure_id: target.measureId, value: target.value, by_date: target.byDate, reason: target.reason, set_by: actor.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export type TargetStatus = 'met' | 'not met' | 'no target' | 'not shown';

export interface TargetRow {
  measure: MeasureDef;
  /** The place's figure over the latest year; null when suppressed. */
  actual: number | null;
  target: { value: number; byDate: string; reason: string | null; setAt: Date; earlier: number } | null;
  status: TargetStatus;
  /** How far from the target, in the measure's unit, in the direction that matters (positive: still to go). */
  toGo: number | null;
}

/** Pure: whether an actual meets a target, for a measure where higher is worse or better. */
export function targetStatus(
  measure: Pick<MeasureDef, 'higherIsWorse'>,
  actual: number | null,
  target: number | null,
): { status: TargetStatus; toGo: number | null } {
  if (target === null) return { status: 'no target', toGo: null };
  if (actual === null) return { status: 'not shown', toGo: null };
  const toGo = measure.higherIsWorse ? actual - target : target - actual;
  return { status: toGo <= 0 ? 'met' : 'not met', toGo: Math.max(0, toGo) };
}

/** Every measure, with its target in force (the latest set) and the actual beside it. */
export async function targetsAgainstActuals(db: Kysely<Database>): Promise<TargetRow[]> {
  await ensureInsight(db);
  const [list, targets] = await Promise.all([
    measures(db),
    db
      .selectFrom('insight_targets')
      .select(['measure_id', 'value', 'by_date', 'reason', 'set_at'])
      .orderBy('set_at', 'desc')
      .orderBy('id', 'desc')
      .execute(),
  ]);
  const views = await Promise.all(list.map((m) => inequality(db, m.id, 'quintile')));
  return list.map((measure, i) => {
    const mine = targets.filter((t) => t.measure_id === measure.id);
    const latest = mine[0];
    const actual = views[i]?.split.total?.value ?? null;
    const target = latest
      ? {
          value: Number(latest.value),
          byDate: String(latest.by_date).slice(0, 10),
          reason: latest.reason,
          setAt: new Date(latest.set_at),
          earlier: mine.length - 1,
        }
      : null;
    return { measure, actual, target, ...targetStatus(measure, actual, target?.value ?? null) };
  });
}

/**
 * Demo data: two targets a commissioner might set for the year ending next March (time to first
 * contact and referrals accepted), set by the account given. Only when no target is set yet.
 */
export async function setDemoTargets(db: Kysely<Database>, setBy: string, today = new Date()): Promise<number> {
  if (await db.selectFrom('insight_targets').select('id').limit(1).executeTakeFirst()) return 0;
  const year = today.getUTCMonth() >= 3 ? today.getUTCFullYear() + 1 : today.getUTCFullYear();
  const byDate = `${year}-03-31`;
  await db
    .insertInto('insight_targets')
    .values([
      {
        measure_id: 'access:first_contact_days',
        value: 5,
        by_date: byDate,
        reason: 'People should hear back within a working week of being referred.',
        set_by: setBy,
      },
      { measure_id: 'access:acceptance', value: 85, by_date: byDate, reason: 'Fewer referrals sent to the wrong door.', set_by: setBy },
    ])
    .execute();
  return 2;
}
