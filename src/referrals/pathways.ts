// People's journeys along pathways: starting one, moving steps on as the referrals that serve
// them move, each person's position and waits, and the flow through each step for managers.
// Every wait is in working days (weekends and England and Wales bank holidays do not count, as
// for the services' own clocks), from the UK date a step became ready to the date it started,
// so a wait is compared with the step's expected working days in one unit.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { protectCells, type Sum } from '../platform/disclosure.ts';
import type { ActionKind } from './state.ts';
import { BANK_HOLIDAYS_ENGLAND_WALES, ukDate, workingDaysBetween } from './working-days.ts';
import { serviceNameOf } from '../network/index.ts';
import { RefusedInput } from '../platform/refused.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface StepRow {
  pathway_id: string;
  code: string;
  name: string;
  stage: number;
  owner_kind: string;
  service_name: string | null;
  owner_role: string | null;
  entry_criteria: string;
  expected_days: number;
}

export async function pathwaySteps(db: Db, pathwayId?: string): Promise<StepRow[]> {
  let q = db.selectFrom('pathway_steps').selectAll().orderBy('pathway_id').orderBy('stage').orderBy('code');
  if (pathwayId) q = q.where('pathway_id', '=', pathwayId);
  return q.execute();
}

export async function listPathways(db: Db) {
  return db.selectFrom('pathways').selectAll().orderBy('name').execute();
}

/** Opens every step of a stage as waiting from `at`. */
async function openStage(trx: Db, journeyId: number, pathwayId: string, stage: number, at: Date): Promise<boolean> {
  const steps = await trx
    .selectFrom('pathway_steps')
    .select('code')
    .where('pathway_id', '=', pathwayId)
    .where('stage', '=', stage)
    .execute();
  if (steps.length === 0) return false;
  await trx
    .insertInto('pathway_journey_steps')
    .values(
      steps.map((s) => ({
        journey_id: journeyId,
        step_code: s.code,
        status: 'waiting' as const,
        ready_at: at,
        started_at: null,
        completed_at: null,
        referral_id: null,
      })),
    )
    .execute();
  return true;
}

/** Starts a person on a pathway, in the caller's transaction: the first stage's steps are waiting from now. */
export async function startJourney(
  trx: Transaction<Database>,
  personId: string,
  pathwayId: string,
  startedBy: string | null,
  now: Date = new Date(),
): Promise<number> {
  const pathway = await trx.selectFrom('pathways').select('id').where('id', '=', pathwayId).executeTakeFirst();
  if (!pathway) throw new RefusedInput(400, 'Choose a pathway from the list.');
  const first = await trx
    .selectFrom('pathway_steps')
    .select((eb) => eb.fn.min('stage').as('stage'))
    .where('pathway_id', '=', pathwayId)
    .executeTakeFirstOrThrow();
  const journey = await trx
    .insertInto('pathway_journeys')
    .values({
      person_id: personId,
      pathway_id: pathwayId,
      status: 'active',
      started_at: now,
      ended_at: null,
      left_at_step: null,
      started_by: startedBy,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await openStage(trx, Number(journey.id), pathwayId, Number(first.stage), now);
  return Number(journey.id);
}

/** Keeps a pathway step in step with the referral serving it. */
export async function onReferralChange(
  trx: Db,
  link: { journeyId: number | null; stepCode: string | null; referralId: string },
  action: ActionKind,
  onwardId: string | null,
  now: Date,
): Promise<void> {
  if (link.journeyId === null || link.stepCode === null) return;
  const where = (q: ReturnType<typeof stepQuery>) => q.where('journey_id', '=', link.journeyId!).where('step_code', '=', link.stepCode!);
  const stepQuery = () => trx.updateTable('pathway_journey_steps');
  if (action === 'decline' && onwardId) {
    await where(stepQuery()).set({ referral_id: onwardId }).execute();
  } else if (action === 'start') {
    await where(stepQuery()).set({ status: 'in_progress', started_at: now }).execute();
  } else if (action === 'cancel') {
    await where(stepQuery()).set({ status: 'dropped' }).execute();
    await trx
      .updateTable('pathway_journeys')
      .set({ status: 'left', ended_at: now, left_at_step: link.stepCode })
      .where('id', '=', link.journeyId)
      .where('status', '=', 'active')
      .execute();
  } else if (action === 'complete') {
    await where(stepQuery()).set({ status: 'done', completed_at: now }).execute();
    await advanceJourney(trx, link.journeyId, now);
  }
}

/** When every step of the current stage is done, the next stage opens (or the journey completes). */
export async function advanceJourney(trx: Db, journeyId: number, now: Date): Promise<void> {
  const journey = await trx.selectFrom('pathway_journeys').select(['pathway_id', 'status']).where('id', '=', journeyId).executeTakeFirst();
  if (!journey || journey.status !== 'active') return;
  const steps = await trx
    .selectFrom('pathway_journey_steps as j')
    .innerJoin('pathway_steps as s', (jn) => jn.onRef('s.code', '=', 'j.step_code').on('s.pathway_id', '=', journey.pathway_id))
    .select(['j.status', 's.stage'])
    .where('j.journey_id', '=', journeyId)
    .execute();
  const current = Math.max(...steps.map((s) => s.stage));
  if (steps.some((s) => s.stage === current && s.status !== 'done')) return;
  const next = await trx
    .selectFrom('pathway_steps')
    .select((eb) => eb.fn.min('stage').as('stage'))
    .where('pathway_id', '=', journey.pathway_id)
    .where('stage', '>', current)
    .executeTakeFirst();
  if (next?.stage !== null && next?.stage !== undefined) await openStage(trx, journeyId, journey.pathway_id, Number(next.stage), now);
  else await trx.updateTable('pathway_journeys').set({ status: 'completed', ended_at: now }).where('id', '=', journeyId).execute();
}

export interface JourneyView {
  id: number;
  pathwayId: string;
  pathway: string;
  status: string;
  startedAt: Date;
  endedAt: Date | null;
  position: string;
  steps: Array<{
    code: string;
    name: string;
    stage: number;
    status: string;
    readyAt: Date | null;
    startedAt: Date | null;
    completedAt: Date | null;
    waitDays: number | null;
    expectedDays: number;
    overWait: boolean;
    referralId: string | null;
    service: string | null;
  }>;
}

/** A person's journeys with every step, its status and the days spent waiting before it started. */
export async function journeysOf(db: Db, personId: string, now: Date = new Date()): Promise<JourneyView[]> {
  const journeys = await db
    .selectFrom('pathway_journeys as j')
    .innerJoin('pathways as p', 'p.id', 'j.pathway_id')
    .select(['j.id', 'j.pathway_id', 'p.name', 'j.status', 'j.started_at', 'j.ended_at'])
    .where('j.person_id', '=', personId)
    .orderBy('j.started_at', 'desc')
    .execute();
  if (journeys.length === 0) return [];
  const [defs, taken] = await Promise.all([
    pathwaySteps(db),
    db
      .selectFrom('pathway_journey_steps as s')
      .leftJoin('referrals as r', 'r.id', 's.referral_id')
      .select([
        's.journey_id',
        's.step_code',
        's.status',
        's.ready_at',
        's.started_at',
        's.completed_at',
        's.referral_id',
        serviceNameOf('r.service_id').$castTo<string | null>().as('service'),
      ])
      .where(
        's.journey_id',
        'in',
        journeys.map((j) => Number(j.id)),
      )
      .execute(),
  ]);
  return journeys.map((j) => {
    const mine = taken.filter((t) => Number(t.journey_id) === Number(j.id));
    const steps = defs
      .filter((d) => d.pathway_id === j.pathway_id)
      .map((d) => {
        const t = mine.find((m) => m.step_code === d.code);
        const waitEnd = t?.started_at ?? (t && t.status === 'waiting' && j.status === 'active' ? now : null);
        const waitDays = t && waitEnd ? workingDaysBetween(ukDate(t.ready_at), ukDate(waitEnd)) : null;
        return {
          code: d.code,
          name: d.name,
          stage: d.stage,
          status: t?.status ?? 'not_started',
          readyAt: t?.ready_at ?? null,
          startedAt: t?.started_at ?? null,
          completedAt: t?.completed_at ?? null,
          waitDays,
          expectedDays: d.expected_days,
          overWait: waitDays !== null && waitDays > d.expected_days,
          referralId: t?.referral_id ?? null,
          service: t?.service ?? null,
        };
      });
    const currentSteps = steps.filter((s) => s.status === 'waiting' || s.status === 'in_progress');
    const position =
      j.status === 'completed'
        ? 'Completed'
        : j.status === 'left'
          ? `Left at: ${steps.find((s) => s.status === 'dropped')?.name ?? 'a step'}`
          : currentSteps.map((s) => `${s.name} (${s.status === 'waiting' ? 'waiting' : 'in progress'})`).join('; ');
    return {
      id: Number(j.id),
      pathwayId: j.pathway_id,
      pathway: j.name,
      status: j.status,
      startedAt: j.started_at,
      endedAt: j.ended_at,
      position,
      steps,
    };
  });
}

export interface FlowStep {
  pathwayId: string;
  code: string;
  name: string;
  stage: number;
  expectedDays: number;
  /** People at the step now (waiting or in progress). */
  current: number;
  waiting: number;
  reached: number;
  completed: number;
  droppedOut: number;
  /** Never shown, but they make the shown counts add up: at the step = waiting + in progress; reached = at the step + completed + dropped out + left elsewhere. */
  inProgress: number;
  leftElsewhere: number;
  /** Waits in working days, as expectedDays. */
  medianWaitDays: number | null;
  p90WaitDays: number | null;
}

/** Flow through every step of every pathway, over pseudonymous journey rows (no names). */
export async function pathwayFlow(db: Db, now: Date = new Date()): Promise<FlowStep[]> {
  const rows = (
    await sql<{
      pathway_id: string;
      code: string;
      name: string;
      stage: number;
      expected_days: number;
      current: number;
      waiting: number;
      reached: number;
      completed: number;
      dropped: number;
      in_progress: number;
      left_elsewhere: number;
      median: number | null;
      p90: number | null;
    }>`
    select s.pathway_id, s.code, s.name, s.stage, s.expected_days,
      count(js.id) filter (where js.status in ('waiting', 'in_progress') and j.status = 'active') as current,
      count(js.id) filter (where js.status = 'waiting' and j.status = 'active') as waiting,
      count(js.id) as reached,
      count(js.id) filter (where js.status = 'done') as completed,
      count(js.id) filter (where js.status = 'dropped') as dropped,
      count(js.id) filter (where js.status = 'in_progress' and j.status = 'active') as in_progress,
      count(js.id) filter (where js.status in ('waiting', 'in_progress') and j.status <> 'active') as left_elsewhere,
      percentile_cont(0.5) within group (order by w.working_days) as median,
      percentile_cont(0.9) within group (order by w.working_days) as p90
    from pathway_steps s
    left join pathway_journeys j on j.pathway_id = s.pathway_id
    left join pathway_journey_steps js on js.journey_id = j.id and js.step_code = s.code
    left join lateral (
      -- Working days from the UK date the step became ready to the date it started (or today, still waiting).
      select (select count(*) from generate_series(x.ready + 1, x.ended, interval '1 day') d
              where extract(isodow from d) < 6 and d::date <> all(${[...BANK_HOLIDAYS_ENGLAND_WALES]}::date[]))::int as working_days
      from (select (js.ready_at at time zone 'Europe/London')::date as ready,
                   (coalesce(js.started_at, case when js.status = 'waiting' and j.status = 'active' then ${now}::timestamptz end) at time zone 'Europe/London')::date as ended) x
      where x.ended is not null
    ) w on true
    group by s.pathway_id, s.code, s.name, s.stage, s.expected_days
    order by s.pathway_id, s.stage, s.code`.execute(db)
  ).rows;
  return rows.map((r) => ({
    pathwayId: r.pathway_id,
    code: r.code,
    name: r.name,
    stage: Number(r.stage),
    expectedDays: Number(r.expected_days),
    current: Number(r.current),
    waiting: Number(r.waiting),
    reached: Number(r.reached),
    completed: Number(r.completed),
    droppedOut: Number(r.dropped),
    inProgress: Number(r.in_progress),
    leftElsewhere: Number(r.left_elsewhere),
    medianWaitDays: r.median === null ? null : Math.round(Number(r.median) * 10) / 10,
    p90WaitDays: r.p90 === null ? null : Math.round(Number(r.p90) * 10) / 10,
  }));
}

export interface ShownFlowStep extends Omit<
  FlowStep,
  'current' | 'waiting' | 'reached' | 'completed' | 'droppedOut' | 'inProgress' | 'leftElsewhere'
> {
  /** null = suppressed. */
  current: number | null;
  waiting: number | null;
  reached: number | null;
  completed: number | null;
  droppedOut: number | null;
}

/**
 * The flow as managers may see it. Each pathway's counts are protected as one table, with every
 * way they add up: within a step (reached = at the step + completed + dropped out + left while
 * elsewhere; at the step = waiting + in progress), every step of a stage opening together (equal
 * reached), and a one-step stage's completions reaching the next stage. A relation between steps
 * is stated only where the data bears it out, as the check needs sums that hold. Waits describe
 * a group, so they show only beside a shown count of at least 5 people reaching the step.
 */
export function protectFlow(flow: readonly FlowStep[]): ShownFlowStep[] {
  const shown: ShownFlowStep[] = [];
  for (const pathwayId of [...new Set(flow.map((f) => f.pathwayId))]) {
    const steps = flow.filter((f) => f.pathwayId === pathwayId);
    const values: number[] = [];
    const sums: Sum[] = [];
    const unshown: number[] = [];
    // Per step, cells b+0..b+6: waiting, in progress, at the step, completed, dropped out, left elsewhere, reached.
    const base = steps.map((s) => {
      const b = values.length;
      values.push(s.waiting, s.inProgress, s.current, s.completed, s.droppedOut, s.leftElsewhere, s.reached);
      sums.push({ total: b + 2, parts: [b, b + 1] }, { total: b + 6, parts: [b + 2, b + 3, b + 4, b + 5] });
      unshown.push(b + 1, b + 5);
      return b;
    });
    const stages = [...new Set(steps.map((s) => s.stage))].sort((a, b) => a - b);
    stages.forEach((stage, k) => {
      const here = steps.map((s, i) => ({ s, b: base[i]! })).filter(({ s }) => s.stage === stage);
      const first = here[0]!;
      for (const other of here.slice(1)) if (other.s.reached === first.s.reached) sums.push({ total: first.b + 6, parts: [other.b + 6] });
      if (here.length !== 1) return;
      for (const [i, next] of steps.entries())
        if (next.stage === stages[k + 1] && next.reached === first.s.completed) sums.push({ total: base[i]! + 6, parts: [first.b + 3] });
    });
    const p = protectCells(values, sums, { unshown });
    steps.forEach((s, i) => {
      const b = base[i]!;
      const { inProgress: _inProgress, leftElsewhere: _leftElsewhere, ...rest } = s;
      const reached = p.cells[b + 6]!;
      const waitsShown = reached !== null && reached >= 5;
      shown.push({
        ...rest,
        waiting: p.cells[b]!,
        current: p.cells[b + 2]!,
        completed: p.cells[b + 3]!,
        droppedOut: p.cells[b + 4]!,
        reached,
        medianWaitDays: waitsShown ? s.medianWaitDays : null,
        p90WaitDays: waitsShown ? s.p90WaitDays : null,
      });
    });
  }
  return shown;
}
