// Streams a whole synthetic place to CSV files: the frame, the true people and households, needs,
// events, one file of source records per agency kind (all with the same columns, ready for the
// linkage tool) and the ground truth of which records are the same person.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_AS_OF } from './calendar.ts';
import { createPlaceFrame, generateHouseholds } from './generate.ts';
import type { GenerateOptions, OrganisationKind, PlaceFrame } from './types.ts';

export interface WriteSummary {
  outDir: string;
  seed: number;
  /** People actually generated (the target rounded up to whole households). */
  people: number;
  /** Data rows per file (header excluded). */
  files: Record<string, number>;
  bytes: number;
  seconds: number;
}

export type WritePlaceOptions = GenerateOptions & {
  outDir: string;
  onProgress?: (peopleDone: number, peopleTotal: number) => void;
};

/** Columns shared by every records_*.csv file. */
export const RECORD_COLUMNS = [
  'source',
  'source_id',
  'given_name',
  'family_name',
  'birth_date',
  'sex',
  'postcode',
  'address',
  'nhs_number',
  'phone',
  'email',
  'recorded_at',
] as const;

/** Which records file each kind of agency's records go to. */
export const RECORD_FILE_BY_KIND: Record<OrganisationKind, string> = {
  gp_practice: 'records_gp.csv',
  hospital_trust: 'records_hospital.csv',
  mental_health_trust: 'records_mental_health.csv',
  council_adult_social_care: 'records_adult_social_care.csv',
  council_children_social_care: 'records_children_social_care.csv',
  council_housing: 'records_housing.csv',
  housing_association: 'records_housing.csv',
  probation: 'records_probation.csv',
  school: 'records_school.csv',
  charity: 'records_charity.csv',
  drug_alcohol_service: 'records_drug_alcohol.csv',
};

const HEADERS: Record<string, string[]> = {
  'localities.csv': ['id', 'name'],
  'small_areas.csv': ['id', 'code', 'name', 'locality_id', 'deprivation_decile', 'lat', 'lon', 'target_population'],
  'postcodes.csv': ['postcode', 'small_area_id', 'lat', 'lon'],
  'organisations.csv': ['id', 'name', 'kind', 'source_code', 'locality_id', 'postcode', 'phone', 'email', 'website'],
  'teams.csv': ['id', 'organisation_id', 'name'],
  'practitioners.csv': ['id', 'organisation_id', 'team_id', 'given_name', 'family_name', 'role', 'email'],
  'services.csv': [
    'id',
    'organisation_id',
    'team_id',
    'name',
    'description',
    'needs',
    'eligibility',
    'min_age',
    'max_age',
    'locality_ids',
    'postcode',
    'acknowledge_within_days',
    'first_contact_within_days',
    'capacity_per_month',
  ],
  'households.csv': [
    'id',
    'small_area_id',
    'postcode',
    'address_line',
    'composition',
    'tenure',
    'previous_address_line',
    'previous_postcode',
    'moved_in',
  ],
  'people.csv': [
    'id',
    'household_id',
    'given_name',
    'middle_name',
    'family_name',
    'birth_family_name',
    'birth_date',
    'sex',
    'ethnicity_group',
    'disability',
    'nhs_number',
    'phone',
    'email',
    'twin_of',
  ],
  'relationships.csv': ['person_id', 'related_person_id', 'type'],
  'needs.csv': ['person_id', 'code', 'organisation_id', 'recorded_at', 'severity', 'current'],
  'events.csv': ['person_id', 'organisation_id', 'type', 'at', 'value'],
  'truth.csv': ['source', 'source_id', 'person_id'],
};
for (const file of new Set(Object.values(RECORD_FILE_BY_KIND))) HEADERS[file] = [...RECORD_COLUMNS];

/** The linkage tool's column map: its field name = the CSV column holding it. */
export const LINKAGE_COLUMN_MAP =
  'given_name=given_name,family_name=family_name,birth_date=birth_date,sex=sex,postcode=postcode,address=address,nhs_number=nhs_number,phone=phone,email=email';

const NEEDS_QUOTING = /[",\r\n]/;

/** RFC 4180 quoting, only where a field needs it (most don't, which keeps this fast). */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  return NEEDS_QUOTING.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvRow(values: ReadonlyArray<string | number | boolean | null | undefined>): string {
  let line = '';
  for (let i = 0; i < values.length; i++) line += (i === 0 ? '' : ',') + csvField(values[i]);
  return line + '\n';
}

const FLUSH_AT = 1 << 20; // write in chunks of about a megabyte

/** A CSV file written through a buffer: rows append synchronously; flush() honours backpressure. */
class CsvWriter {
  rows = 0;
  private buffer = '';
  private readonly stream: WriteStream;

  constructor(path: string, header: readonly string[]) {
    this.stream = createWriteStream(path, { highWaterMark: 4 * FLUSH_AT });
    this.buffer = header.join(',') + '\n';
  }

  /** Appends one already-formatted line (ending in a newline). */
  line(text: string): void {
    this.buffer += text;
    this.rows++;
  }

  get full(): boolean {
    return this.buffer.length >= FLUSH_AT;
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async close(): Promise<number> {
    await this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
    return this.stream.bytesWritten;
  }
}

async function writeWholeFile(
  path: string,
  header: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null>>,
): Promise<{ rows: number; bytes: number }> {
  const w = new CsvWriter(path, header);
  for (const r of rows) {
    w.line(csvRow(r));
    if (w.full) await w.flush();
  }
  return { rows: w.rows, bytes: await w.close() };
}

function frameTables(frame: PlaceFrame): Record<string, Array<Array<string | number | boolean | null>>> {
  return {
    'localities.csv': frame.localities.map((l) => [l.id, l.name]),
    'small_areas.csv': frame.smallAreas.map((a) => [
      a.id,
      a.code,
      a.name,
      a.localityId,
      a.deprivationDecile,
      a.lat,
      a.lon,
      a.targetPopulation,
    ]),
    'postcodes.csv': frame.postcodes.map((p) => [p.postcode, p.smallAreaId, p.lat, p.lon]),
    'organisations.csv': frame.organisations.map((o) => [
      o.id,
      o.name,
      o.kind,
      o.sourceCode,
      o.localityId,
      o.postcode,
      o.phone,
      o.email,
      o.website,
    ]),
    'teams.csv': frame.teams.map((t) => [t.id, t.organisationId, t.name]),
    'practitioners.csv': frame.practitioners.map((p) => [p.id, p.organisationId, p.teamId, p.givenName, p.familyName, p.role, p.email]),
    'services.csv': frame.services.map((s) => [
      s.id,
      s.organisationId,
      s.teamId,
      s.name,
      s.description,
      s.needs.join(';'),
      s.eligibility,
      s.minAge,
      s.maxAge,
      s.localityIds.join(';'),
      s.postcode,
      s.acknowledgeWithinDays,
      s.firstContactWithinDays,
      s.capacityPerMonth,
    ]),
  };
}

const f = csvField;

export async function writePlaceCsv(opts: WritePlaceOptions): Promise<WriteSummary> {
  const started = performance.now();
  await mkdir(opts.outDir, { recursive: true });
  const frame = createPlaceFrame(opts);
  const files: Record<string, number> = {};
  let bytes = 0;

  for (const [name, rows] of Object.entries(frameTables(frame))) {
    const out = await writeWholeFile(join(opts.outDir, name), HEADERS[name], rows);
    files[name] = out.rows;
    bytes += out.bytes;
  }

  const streamed = [
    'households.csv',
    'people.csv',
    'relationships.csv',
    'needs.csv',
    'events.csv',
    'truth.csv',
    ...new Set(Object.values(RECORD_FILE_BY_KIND)),
  ];
  const writers = new Map(streamed.map((name) => [name, new CsvWriter(join(opts.outDir, name), HEADERS[name])]));
  const w = (name: string) => writers.get(name)!;
  const households = w('households.csv');
  const people = w('people.csv');
  const relationships = w('relationships.csv');
  const needs = w('needs.csv');
  const events = w('events.csv');
  const truth = w('truth.csv');
  const recordWriterBySource = new Map(frame.organisations.map((o) => [o.sourceCode, w(RECORD_FILE_BY_KIND[o.kind])]));
  const allWriters = [...writers.values()];

  let peopleDone = 0;
  let nextProgress = 0;
  for (const b of generateHouseholds(frame, opts)) {
    const h = b.household;
    const prev = h.previousAddress;
    households.line(
      `${h.id},${h.smallAreaId},${h.postcode},${f(h.addressLine)},${h.composition},${h.tenure},${prev ? f(prev.addressLine) : ''},${prev ? prev.postcode : ''},${prev ? prev.movedIn : ''}\n`,
    );
    for (const p of b.people) {
      people.line(
        `${p.id},${p.householdId},${f(p.givenName)},${f(p.middleName)},${f(p.familyName)},${f(p.birthFamilyName)},${p.birthDate},${p.sex},${p.ethnicityGroup},${p.disability},${p.nhsNumber ?? ''},${p.phone ?? ''},${f(p.email)},${p.twinOf ?? ''}\n`,
      );
    }
    for (const r of b.relationships) relationships.line(`${r.personId},${r.relatedPersonId},${r.type}\n`);
    for (const n of b.needs) needs.line(`${n.personId},${n.code},${n.organisationId},${n.recordedAt},${n.severity},${n.current}\n`);
    for (const e of b.events) events.line(`${e.personId},${e.organisationId},${e.type},${e.at},${e.value ?? ''}\n`);
    for (const r of b.sourceRecords) {
      recordWriterBySource
        .get(r.source)!
        .line(
          `${r.source},${r.sourceId},${f(r.givenName)},${f(r.familyName)},${r.birthDate},${r.sex},${f(r.postcode)},${f(r.addressLine)},${f(r.nhsNumber)},${f(r.phone)},${f(r.email)},${r.recordedAt}\n`,
        );
      truth.line(`${r.source},${r.sourceId},${r.truePersonId}\n`);
    }
    peopleDone += b.people.length;
    for (const writer of allWriters) if (writer.full) await writer.flush();
    if (opts.onProgress && peopleDone >= nextProgress) {
      opts.onProgress(Math.min(peopleDone, opts.people), opts.people);
      nextProgress = peopleDone + Math.max(1000, Math.floor(opts.people / 100));
    }
  }

  for (const [name, writer] of writers) {
    files[name] = writer.rows;
    bytes += await writer.close();
  }
  opts.onProgress?.(peopleDone, opts.people);

  const manifest = {
    generator: 'joinery-synth',
    seed: opts.seed,
    peopleTarget: opts.people,
    people: peopleDone,
    asOf: opts.asOf ?? DEFAULT_AS_OF,
    place: frame.place,
    files,
    recordFiles: [...new Set(Object.values(RECORD_FILE_BY_KIND))],
    recordColumns: RECORD_COLUMNS,
    columnMap: LINKAGE_COLUMN_MAP,
    truthFile: 'truth.csv',
  };
  const manifestText = JSON.stringify(manifest, null, 2) + '\n';
  await writeFile(join(opts.outDir, 'manifest.json'), manifestText);
  bytes += Buffer.byteLength(manifestText);

  return { outDir: opts.outDir, seed: opts.seed, people: peopleDone, files, bytes, seconds: (performance.now() - started) / 1000 };
}
