// Payment by outcomes: a contract's rate card is evaluated against recorded measurements, each
// achieved outcome becomes one payment line with its evidence, and lines are posted to the
// ledger. Every line has a deterministic key (rate card + person), unique in the database, so
// re-running the evaluation posts nothing twice.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { ensureAccounts, postTransactions, type TransactionInput } from './ledger.ts';
import { allocationAccount, outcomePaymentAccount } from './accounts.ts';
import { financialYearOf } from './goals.ts';
import { eventsOfPeople, homesOfPeople } from '../people/index.ts';
import { localitiesOfSmallAreas } from '../place/index.ts';
import { organisationsByIds } from '../network/index.ts';

export type Measure = 'school_attendance_pct' | 'tenancy_start' | 'tenancy_ended';

export interface Observation {
  personId: string;
  measure: Measure;
  value: number | null;
  on: string;
  source: string;
}
export interface RateCard {
  id: string;
  goalCode: string;
  rule: 'attendance_above' | 'tenancy_sustained';
  threshold: number | null;
  months: number | null;
  amountPence: number;
  description: string;
}
export interface Contract {
  id: string;
  startsOn: string;
  endsOn: string;
}
export interface Enrolment {
  personId: string;
  enrolledOn: string;
}

export interface PaymentLine {
  key: string;
  contractId: string;
  rateCardId: string;
  personId: string;
  goalCode: string;
  amountPence: number;
  achievedOn: string;
  evidence: Record<string, unknown>;
}

/** Adds whole calendar months to an ISO date (clamped to the month's last day). */
export function addMonths(isoDate: string, months: number): string {
  const [y, m, d] = isoDate.split('-').map(Number) as [number, number, number];
  const total = y * 12 + (m - 1) + months;
  const year = Math.floor(total / 12);
  const month = (total % 12) + 1;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return `${year}-${String(month).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`;
}

export const lineKey = (rateCardId: string, personId: string): string => `pbo:${rateCardId}:${personId}`;

function attendanceLine(card: RateCard, contract: Contract, enrolment: Enrolment, obs: Observation[], asOf: string): PaymentLine | null {
  const threshold = card.threshold ?? 90;
  const terms = obs.filter((o) => o.measure === 'school_attendance_pct' && o.value !== null);
  const baseline = terms.filter((o) => o.on <= enrolment.enrolledOn).at(-1);
  // Paid only for a rise: a child already above the threshold at enrolment earns nothing.
  if (!baseline || (baseline.value as number) >= threshold) return null;
  const until = asOf < contract.endsOn ? asOf : contract.endsOn;
  const achieved = terms.find((o) => o.on > enrolment.enrolledOn && o.on <= until && (o.value as number) >= threshold);
  if (!achieved) return null;
  return {
    key: lineKey(card.id, enrolment.personId),
    contractId: contract.id,
    rateCardId: card.id,
    personId: enrolment.personId,
    goalCode: card.goalCode,
    amountPence: card.amountPence,
    achievedOn: achieved.on,
    evidence: {
      rule: `term attendance rose to ${threshold}% or more`,
      enrolledOn: enrolment.enrolledOn,
      baseline: { value: baseline.value, on: baseline.on, source: baseline.source },
      achieved: { value: achieved.value, on: achieved.on, source: achieved.source },
    },
  };
}

function tenancyLine(card: RateCard, contract: Contract, enrolment: Enrolment, obs: Observation[], asOf: string): PaymentLine | null {
  const months = card.months ?? 6;
  const start = obs.find((o) => o.measure === 'tenancy_start' && o.on >= enrolment.enrolledOn && o.on <= contract.endsOn);
  if (!start) return null;
  const sustainedOn = addMonths(start.on, months);
  if (sustainedOn > asOf) return null;
  const ended = obs.find((o) => o.measure === 'tenancy_ended' && o.on > start.on && o.on <= sustainedOn);
  if (ended) return null;
  return {
    key: lineKey(card.id, enrolment.personId),
    contractId: contract.id,
    rateCardId: card.id,
    personId: enrolment.personId,
    goalCode: card.goalCode,
    amountPence: card.amountPence,
    achievedOn: sustainedOn,
    evidence: {
      rule: `tenancy kept for ${months} months`,
      enrolledOn: enrolment.enrolledOn,
      tenancyStart: { on: start.on, source: start.source },
      sustainedUntil: sustainedOn,
      checked: `no tenancy ending or homelessness presentation recorded from ${start.on} to ${sustainedOn}`,
    },
  };
}

/** Pure: the payment schedule for a contract as of a date, one line per achieved outcome, in key order. */
export function evaluateContract(
  contract: Contract,
  cards: readonly RateCard[],
  enrolments: readonly Enrolment[],
  observations: readonly Observation[],
  asOf: string,
): PaymentLine[] {
  const byPerson = new Map<string, Observation[]>();
  for (const o of observations) {
    const list = byPerson.get(o.personId) ?? [];
    list.push(o);
    byPerson.set(o.personId, list);
  }
  for (const list of byPerson.values()) list.sort((a, b) => (a.on < b.on ? -1 : a.on > b.on ? 1 : 0));
  const lines: PaymentLine[] = [];
  for (const enrolment of enrolments) {
    if (enrolment.enrolledOn < contract.startsOn || enrolment.enrolledOn > contract.endsOn) continue;
    const obs = byPerson.get(enrolment.personId) ?? [];
    for (const card of cards) {
      const line =
        card.rule === 'attendance_above'
          ? attendanceLine(card, contract, enrolment, obs, asOf)
          : tenancyLine(card, contract, enrolment, obs, asOf);
      if (line) lines.push(line);
    }
  }
  return lines.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const eventMeasures: Record<string, Measure> = {
  school_attendance_term: 'school_attendance_pct',
  tenancy_start: 'tenancy_start',
  homeless_presentation: 'tenancy_ended',
};

/** Measurements for the enrolled people: recorded outcome measurements and agencies' events. */
async function loadObservations(db: Kysely<Database>, contractId: string): Promise<Observation[]> {
  const recorded = await sql<{ person_id: string; measure: Measure; value: number | null; on: string; source: string }>`
    select m.person_id, m.measure, m.value, m.measured_on as on, m.source
    from outcome_measurements m join outcome_enrolments e on e.person_id = m.person_id and e.contract_id = ${contractId}`.execute(db);
  // The agencies' events of the enrolled people, with the agency's name (people's and network's front doors).
  const enrolled = (await db.selectFrom('outcome_enrolments').select('person_id').where('contract_id', '=', contractId).execute()).map(
    (e) => e.person_id,
  );
  const personEvents = await eventsOfPeople(db, enrolled, ['school_attendance_term', 'tenancy_start', 'homeless_presentation']);
  const agencies = await organisationsByIds(
    db,
    personEvents.map((e) => e.organisationId),
  );
  const events = {
    rows: personEvents
      .filter((e) => agencies.has(e.organisationId))
      .map((e) => ({ person_id: e.personId, type: e.type, value: e.value, on: e.on, source: agencies.get(e.organisationId)!.name })),
  };
  return [
    ...recorded.rows.map((r) => ({
      personId: r.person_id,
      measure: r.measure,
      value: r.value === null ? null : Number(r.value),
      on: r.on,
      source: r.source,
    })),
    ...events.rows.map((r) => ({
      personId: r.person_id,
      measure: eventMeasures[r.type] as Measure,
      value: r.value === null ? null : Number(r.value),
      on: r.on,
      source: r.source,
    })),
  ];
}

export interface OutcomeRun {
  lines: PaymentLine[];
  newlyPosted: number;
  totalPence: number;
}

/** Evaluates a contract and posts any line not yet posted, in the caller's transaction. Safe to re-run at any time. */
export async function runOutcomeContract(
  trx: Transaction<Database>,
  contractId: string,
  asOf: string,
  recordedBy: string,
): Promise<OutcomeRun> {
  const contractRow = await trx.selectFrom('outcome_contracts').selectAll().where('id', '=', contractId).executeTakeFirst();
  if (!contractRow) throw new Error('there is no such outcome contract');
  const contract: Contract = { id: contractRow.id, startsOn: contractRow.starts_on, endsOn: contractRow.ends_on };
  const cards = (await trx.selectFrom('outcome_rate_cards').selectAll().where('contract_id', '=', contractId).orderBy('id').execute()).map(
    (c): RateCard => ({
      id: c.id,
      goalCode: c.goal_code,
      rule: c.rule,
      threshold: c.threshold,
      months: c.months,
      amountPence: Number(c.amount_pence),
      description: c.description,
    }),
  );
  const enrolments = (
    await trx
      .selectFrom('outcome_enrolments')
      .select(['person_id', 'enrolled_on'])
      .where('contract_id', '=', contractId)
      .orderBy('person_id')
      .execute()
  ).map((e) => ({ personId: e.person_id, enrolledOn: e.enrolled_on }));
  const lines = evaluateContract(contract, cards, enrolments, await loadObservations(trx, contractId), asOf);
  const totalPence = lines.reduce((s, l) => s + l.amountPence, 0);
  if (lines.length === 0) return { lines, newlyPosted: 0, totalPence };
  // Where each person paid for lives: their household and its locality, asked of people and of place.
  const homes = await homesOfPeople(trx, [...new Set(lines.map((l) => l.personId))]);
  const localities = await localitiesOfSmallAreas(
    trx,
    [...homes.values()].flatMap((h) => (h.smallAreaId ? [h.smallAreaId] : [])),
  );
  const placeOf = new Map(
    [...homes].map(([id, h]) => [
      id,
      { household_id: h.householdId, locality_id: h.smallAreaId ? (localities.get(h.smallAreaId) ?? null) : null },
    ]),
  );
  const fundId = contractRow.fund_id;
  const years = [...new Set(lines.map((l) => financialYearOf(l.achievedOn)))];
  const paymentAccount = outcomePaymentAccount(fundId, contractId);
  const transactions: TransactionInput[] = lines.map((l) => {
    const place = placeOf.get(l.personId);
    const dims = {
      personId: l.personId,
      householdId: place?.household_id ?? null,
      localityId: place?.locality_id ?? null,
      pathwayCode: contractRow.pathway_code,
      goalCode: l.goalCode,
    };
    return {
      id: l.key,
      kind: 'outcome_payment',
      occurredOn: l.achievedOn,
      recordedBy,
      evidence: l.evidence,
      description: `Outcome payment to ${contractRow.provider_name}: ${cards.find((c) => c.id === l.rateCardId)?.description ?? l.rateCardId}`,
      postings: [
        { accountId: paymentAccount.id, amountPence: l.amountPence, ...dims },
        {
          accountId: allocationAccount(fundId, financialYearOf(l.achievedOn), 'pathway', contractRow.pathway_code).id,
          amountPence: -l.amountPence,
          ...dims,
        },
      ],
    };
  });
  await ensureAccounts(trx, [paymentAccount, ...years.map((y) => allocationAccount(fundId, y, 'pathway', contractRow.pathway_code))]);
  const posted = new Set(await postTransactions(trx, transactions));
  const fresh = lines.filter((l) => posted.has(l.key));
  if (fresh.length > 0) {
    await sql`insert into outcome_payment_lines (id, contract_id, rate_card_id, person_id, goal_code, amount_pence, achieved_on, evidence, transaction_id)
      select id, ${contractId}, rate_card_id, person_id, goal_code, amount_pence, achieved_on, evidence::jsonb, id from unnest(
        ${fresh.map((l) => l.key)}::text[], ${fresh.map((l) => l.rateCardId)}::text[], ${fresh.map((l) => l.personId)}::text[],
        ${fresh.map((l) => l.goalCode)}::text[], ${fresh.map((l) => l.amountPence)}::bigint[], ${fresh.map((l) => l.achievedOn)}::date[],
        ${fresh.map((l) => JSON.stringify(l.evidence))}::text[]) as u(id, rate_card_id, person_id, goal_code, amount_pence, achieved_on, evidence)
      on conflict do nothing`.execute(trx);
  }
  return { lines, newlyPosted: fresh.length, totalPence };
}
