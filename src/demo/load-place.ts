// Loads a synthetic place into the database: geography, the care network, households,
// people, each agency's own records (stored as received) and needs and events.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { silentProgress, type Progress } from '../platform/progress.ts';
import { createPlaceFrame, generateHouseholds, type GenerateOptions, type HouseholdBundle, type PlaceFrame } from '../synth/index.ts';
import { refreshInsight } from '../insight/index.ts';
import { addPlace, placeName, seedLocalityOrganisations } from '../place/index.ts';
import { addService } from '../network/index.ts';
import { seedConsent } from './consent-seed.ts';
import { bulkInsert } from '../platform/bulk.ts';
import { indexPlaceRecords, linkRecordsToKnownPersons, type IndexSummary } from '../linkage/index.ts';
import { populateDirectoryFromPlace } from '../directory/index.ts';
import { seedBudgets, type BudgetSeedSummary } from '../budgets/index.ts';
import { seedDemoReferrals } from '../referrals/index.ts';
import { seedPlans } from '../plans/index.ts';

export interface LoadSummary {
  placeName: string;
  people: number;
  households: number;
  sourceRecords: number;
  needs: number;
  events: number;
  seconds: number;
  /** The person index's batch run over the agency records. */
  linkage?: IndexSummary;
  /** Pooled funds, a year and more of spend, personal budgets and outcome payments. */
  budgets?: BudgetSeedSummary;
}

export async function isPlaceLoaded(db: Kysely<Database>): Promise<boolean> {
  return (await placeName(db)) !== undefined;
}

export async function loadFrame(db: Kysely<Database>, frame: PlaceFrame): Promise<void> {
  const { place } = frame;
  await addPlace(db, place);
  await bulkInsert(
    db,
    'localities',
    [
      { name: 'id', type: 'text', value: (l) => l.id },
      { name: 'place_id', type: 'text', value: () => place.id },
      { name: 'name', type: 'text', value: (l) => l.name },
    ],
    frame.localities,
  );
  await bulkInsert(
    db,
    'small_areas',
    [
      { name: 'id', type: 'text', value: (a) => a.id },
      { name: 'code', type: 'text', value: (a) => a.code },
      { name: 'name', type: 'text', value: (a) => a.name },
      { name: 'locality_id', type: 'text', value: (a) => a.localityId },
      { name: 'deprivation_decile', type: 'smallint', value: (a) => a.deprivationDecile },
      { name: 'lat', type: 'float8', value: (a) => a.lat },
      { name: 'lon', type: 'float8', value: (a) => a.lon },
      { name: 'target_population', type: 'int', value: (a) => a.targetPopulation },
    ],
    frame.smallAreas,
  );
  await bulkInsert(
    db,
    'postcodes',
    [
      { name: 'postcode', type: 'text', value: (p) => p.postcode },
      { name: 'small_area_id', type: 'text', value: (p) => p.smallAreaId },
      { name: 'lat', type: 'float8', value: (p) => p.lat },
      { name: 'lon', type: 'float8', value: (p) => p.lon },
    ],
    frame.postcodes,
  );
  await bulkInsert(
    db,
    'organisations',
    [
      { name: 'id', type: 'text', value: (o) => o.id },
      { name: 'name', type: 'text', value: (o) => o.name },
      { name: 'kind', type: 'text', value: (o) => o.kind },
      { name: 'source_code', type: 'text', value: (o) => o.sourceCode },
      { name: 'locality_id', type: 'text', value: (o) => o.localityId },
      { name: 'postcode', type: 'text', value: (o) => o.postcode },
      { name: 'phone', type: 'text', value: (o) => o.phone },
      { name: 'email', type: 'text', value: (o) => o.email },
      { name: 'website', type: 'text', value: (o) => o.website },
    ],
    frame.organisations,
  );
  await bulkInsert(
    db,
    'teams',
    [
      { name: 'id', type: 'text', value: (t) => t.id },
      { name: 'organisation_id', type: 'text', value: (t) => t.organisationId },
      { name: 'name', type: 'text', value: (t) => t.name },
    ],
    frame.teams,
  );
  await bulkInsert(
    db,
    'practitioners',
    [
      { name: 'id', type: 'text', value: (p) => p.id },
      { name: 'organisation_id', type: 'text', value: (p) => p.organisationId },
      { name: 'team_id', type: 'text', value: (p) => p.teamId },
      { name: 'given_name', type: 'text', value: (p) => p.givenName },
      { name: 'family_name', type: 'text', value: (p) => p.familyName },
      { name: 'role', type: 'text', value: (p) => p.role },
      { name: 'email', type: 'text', value: (p) => p.email },
    ],
    frame.practitioners,
  );
  // Services carry array columns, which unnest cannot nest; there are few, so insert directly.
  for (const s of frame.services) {
    await addService(
      db,
      s.id,
      {
        organisationId: s.organisationId,
        teamId: s.teamId,
        name: s.name,
        description: s.description,
        needs: s.needs,
        eligibility: s.eligibility,
        minAge: s.minAge,
        maxAge: s.maxAge,
        postcode: s.postcode,
      },
      {
        localityIds: s.localityIds,
        acknowledgeWithinDays: s.acknowledgeWithinDays,
        firstContactWithinDays: s.firstContactWithinDays,
        capacityPerMonth: s.capacityPerMonth,
      },
    );
  }
}

async function loadHouseholdBatch(db: Kysely<Database>, bundles: HouseholdBundle[]): Promise<void> {
  const households = bundles.map((b) => b.household);
  const people = bundles.flatMap((b) => b.people);
  const relationships = bundles.flatMap((b) => b.relationships);
  const records = bundles.flatMap((b) => b.sourceRecords);
  const needs = bundles.flatMap((b) => b.needs);
  const events = bundles.flatMap((b) => b.events);

  await bulkInsert(
    db,
    'households',
    [
      { name: 'id', type: 'text', value: (h) => h.id },
      { name: 'small_area_id', type: 'text', value: (h) => h.smallAreaId },
      { name: 'postcode', type: 'text', value: (h) => h.postcode },
      { name: 'address_line', type: 'text', value: (h) => h.addressLine },
      { name: 'composition', type: 'text', value: (h) => h.composition },
      { name: 'tenure', type: 'text', value: (h) => h.tenure },
    ],
    households,
  );
  // Address history: the previous address (where known) and the current one.
  const addresses = households.flatMap((h) => [
    ...(h.previousAddress
      ? [
          {
            household_id: h.id,
            address_line: h.previousAddress.addressLine,
            postcode: h.previousAddress.postcode,
            from_date: null,
            to_date: h.previousAddress.movedIn,
          },
        ]
      : []),
    { household_id: h.id, address_line: h.addressLine, postcode: h.postcode, from_date: h.previousAddress?.movedIn ?? null, to_date: null },
  ]);
  await bulkInsert(
    db,
    'household_addresses',
    [
      { name: 'household_id', type: 'text', value: (a) => a.household_id },
      { name: 'address_line', type: 'text', value: (a) => a.address_line },
      { name: 'postcode', type: 'text', value: (a) => a.postcode },
      { name: 'from_date', type: 'date', value: (a) => a.from_date },
      { name: 'to_date', type: 'date', value: (a) => a.to_date },
    ],
    addresses,
  );
  await bulkInsert(
    db,
    'persons',
    [
      { name: 'id', type: 'text', value: (p) => p.id },
      { name: 'household_id', type: 'text', value: (p) => p.householdId },
      { name: 'given_name', type: 'text', value: (p) => p.givenName },
      { name: 'middle_name', type: 'text', value: (p) => p.middleName },
      { name: 'family_name', type: 'text', value: (p) => p.familyName },
      { name: 'birth_family_name', type: 'text', value: (p) => p.birthFamilyName },
      { name: 'birth_date', type: 'date', value: (p) => p.birthDate },
      { name: 'sex', type: 'text', value: (p) => p.sex },
      { name: 'ethnicity_group', type: 'text', value: (p) => p.ethnicityGroup },
      { name: 'disability', type: 'boolean', value: (p) => p.disability },
      { name: 'nhs_number', type: 'text', value: (p) => p.nhsNumber },
      { name: 'phone', type: 'text', value: (p) => p.phone },
      { name: 'email', type: 'text', value: (p) => p.email },
    ],
    people,
  );
  await bulkInsert(
    db,
    'relationships',
    [
      { name: 'person_id', type: 'text', value: (r) => r.personId },
      { name: 'related_person_id', type: 'text', value: (r) => r.relatedPersonId },
      { name: 'type', type: 'text', value: (r) => r.type },
    ],
    dedupeRelationships(relationships),
  );
  await bulkInsert(
    db,
    'source_records',
    [
      { name: 'source', type: 'text', value: (r) => r.source },
      { name: 'source_id', type: 'text', value: (r) => r.sourceId },
      { name: 'received_at', type: 'timestamptz', value: (r) => r.recordedAt },
      {
        name: 'fields',
        type: 'jsonb',
        value: (r) => ({
          given_name: r.givenName,
          family_name: r.familyName,
          birth_date: r.birthDate,
          sex: r.sex,
          postcode: r.postcode,
          address: r.addressLine,
          nhs_number: r.nhsNumber,
          phone: r.phone,
          email: r.email,
        }),
      },
    ],
    records,
  );
  // Links from records to people are made afterwards, probabilistically, by the person index.
  await bulkInsert(
    db,
    'needs',
    [
      { name: 'person_id', type: 'text', value: (n) => n.personId },
      { name: 'code', type: 'text', value: (n) => n.code },
      { name: 'organisation_id', type: 'text', value: (n) => n.organisationId },
      { name: 'recorded_at', type: 'date', value: (n) => n.recordedAt.slice(0, 10) },
      { name: 'severity', type: 'smallint', value: (n) => n.severity },
      { name: 'current', type: 'boolean', value: (n) => n.current },
    ],
    needs,
  );
  await bulkInsert(
    db,
    'person_events',
    [
      { name: 'person_id', type: 'text', value: (e) => e.personId },
      { name: 'organisation_id', type: 'text', value: (e) => e.organisationId },
      { name: 'type', type: 'text', value: (e) => e.type },
      { name: 'at', type: 'timestamptz', value: (e) => e.at },
      { name: 'value', type: 'float8', value: (e) => e.value },
    ],
    events,
    20_000,
  );
}

function dedupeRelationships<R extends { personId: string; relatedPersonId: string; type: string }>(rows: R[]): R[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const key = `${r.personId}|${r.relatedPersonId}|${r.type}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * How agency records are joined to people: by the person index (the product, always for the
 * demo), or, for city-scale benchmarks of other features only, from the generator's ground
 * truth (the index cannot yet link a million people's records within a benchmark's budget).
 */
export type PlaceLinking = 'person_index' | 'ground_truth';

async function linkFromGroundTruth(
  db: Kysely<Database>,
  records: Array<{ source: string; sourceId: string; truePersonId: string }>,
): Promise<void> {
  await linkRecordsToKnownPersons(
    db,
    records.map((r) => ({ source: r.source, sourceId: r.sourceId, personId: r.truePersonId })),
  );
}

/** Generates and loads a place in one transaction-per-batch stream; refuses if one is loaded. */
export async function loadSyntheticPlace(
  db: Kysely<Database>,
  options: GenerateOptions & { linking?: PlaceLinking },
  progress: Progress = silentProgress,
): Promise<LoadSummary> {
  const started = Date.now();
  if (await isPlaceLoaded(db)) throw new Error('a place is already loaded in this database');
  const frame = createPlaceFrame(options);
  const summary: LoadSummary = { placeName: frame.place.name, people: 0, households: 0, sourceRecords: 0, needs: 0, events: 0, seconds: 0 };
  await db.transaction().execute((trx) => loadFrame(trx, frame));
  let batch: HouseholdBundle[] = [];
  let batchPeople = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const current = batch;
    batch = [];
    batchPeople = 0;
    await db.transaction().execute(async (trx) => {
      await loadHouseholdBatch(trx, current);
      if (options.linking === 'ground_truth')
        await linkFromGroundTruth(
          trx,
          current.flatMap((b) => b.sourceRecords),
        );
    });
    progress.update(summary.people, 'people');
  };
  for (const bundle of generateHouseholds(frame, options)) {
    batch.push(bundle);
    batchPeople += bundle.people.length;
    summary.households += 1;
    summary.people += bundle.people.length;
    summary.sourceRecords += bundle.sourceRecords.length;
    summary.needs += bundle.needs.length;
    summary.events += bundle.events.length;
    if (batchPeople >= 2000) await flush();
  }
  await flush();
  // The person index links every agency record to the spine (no ground truth used).
  if (options.linking !== 'ground_truth') summary.linkage = await indexPlaceRecords(db);
  await populateDirectoryFromPlace(db);
  // Sharing choices, lawful bases, care networks and proxies, so access rules have work to do.
  await seedConsent(db);
  // Each locality's lead organisation and partners: the locality care organisations.
  await seedLocalityOrganisations(db);
  summary.budgets = await seedBudgets(db);
  // Referral histories and pathway journeys, so inboxes, waiting lists and flow charts are real.
  await seedDemoReferrals(db, options.seed);
  // People on each operating model, with shared plans and assessments over time.
  await seedPlans(db);
  await sql`analyze`.execute(db);
  // Analytics summaries (pseudonymous, precomputed) so the dashboards are current from the start.
  await refreshInsight(db);
  await sql`analyze`.execute(db);
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}
