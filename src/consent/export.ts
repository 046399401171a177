// The person's right of access: everything held about them, from every source, as JSON and as
// a FHIR R4 Bundle they can take elsewhere.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import { personSummary, recordsHeld, whoLooked } from '../people/record.ts';
import { directivesOf, lawfulBasesOf } from './directives.ts';
import { categoryOfEvent, categoryOfNeed, categoryOfOrganisationKind, type Category } from './categories.ts';

/**
 * Everything held that the reader may see: `canSee` is the access decision for the person or
 * their proxy, per category (safeguarding stays out until a practitioner releases it, and a
 * proxy sees only their scope), applied to needs, events, agencies, bases and who looked.
 */
export async function personExport(db: Kysely<Database>, personId: string, canSee: (category: Category) => boolean) {
  const person = await personSummary(db, personId);
  if (!person) return undefined;
  const [records, needs, events, directives, lawfulBases, looks, corrections] = await Promise.all([
    recordsHeld(db, personId),
    sql<{ code: string; organisation: string; recorded_at: string; severity: number; current: boolean }>`
      select n.code, o.name as organisation, n.recorded_at, n.severity, n.current from needs n join organisations o on o.id = n.organisation_id
      where n.person_id = ${personId} order by n.recorded_at`.execute(db),
    sql<{ type: string; organisation: string; at: Date; value: number | null }>`
      select e.type, o.name as organisation, e.at, e.value from person_events e join organisations o on o.id = e.organisation_id
      where e.person_id = ${personId} order by e.at`.execute(db),
    directivesOf(db, personId),
    lawfulBasesOf(db, personId),
    whoLooked(db, personId, 1000),
    db.selectFrom('correction_requests as c').innerJoin('organisations as o', 'o.id', 'c.organisation_id')
      .select(['c.id', 'o.name as organisation', 'c.item_description', 'c.what_is_wrong', 'c.what_it_should_say', 'c.status', 'c.created_at', 'c.resolution_note'])
      .where('c.person_id', '=', personId).orderBy('c.created_at').execute(),
  ]);
  return {
    exportedAt: new Date().toISOString(),
    person,
    recordsHeldByEachService: records.filter((r) => canSee(categoryOfOrganisationKind(r.kind))).map((r) => ({ service: r.organisation, reference: r.sourceId, since: r.receivedAt, asRecorded: r.fields })),
    needs: needs.rows.filter((n) => canSee(categoryOfNeed(n.code))).map((n) => ({ need: n.code, category: categoryOfNeed(n.code), recordedBy: n.organisation, recordedOn: n.recorded_at, severity: n.severity, current: n.current })),
    events: events.rows.filter((e) => canSee(categoryOfEvent(e.type))).map((e) => ({ event: e.type, category: categoryOfEvent(e.type), recordedBy: e.organisation, at: e.at, value: e.value })),
    sharingChoices: directives,
    sharedWithoutConsent: lawfulBases.filter((b) => b.categoryCode === '*' || canSee(b.categoryCode as Category)),
    whoLooked: looks,
    correctionRequests: corrections,
  };
}

type PersonExport = NonNullable<Awaited<ReturnType<typeof personExport>>>;

/** A FHIR R4 collection Bundle: Patient, a Condition per need, an Encounter per event. */
export function toFhirBundle(data: PersonExport): Record<string, unknown> {
  const p = data.person;
  const patientRef = `urn:uuid:patient-${p.id}`;
  const entries: Array<Record<string, unknown>> = [];
  entries.push({
    fullUrl: patientRef,
    resource: {
      resourceType: 'Patient',
      identifier: [
        ...(p.nhsNumber ? [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: p.nhsNumber }] : []),
        { system: 'urn:joinery:person', value: p.id },
      ],
      name: [{ use: 'official', family: p.familyName, given: [p.givenName] }],
      ...(p.sex ? { gender: p.sex } : {}),
      ...(p.birthDate ? { birthDate: p.birthDate } : {}),
      ...(p.addressLine ? { address: [{ use: 'home', line: [p.addressLine], postalCode: p.postcode ?? undefined, country: 'GB' }] } : {}),
      telecom: [
        ...(p.phone ? [{ system: 'phone', value: p.phone }] : []),
        ...(p.email ? [{ system: 'email', value: p.email }] : []),
      ],
    },
  });
  data.needs.forEach((n, i) => entries.push({
    fullUrl: `urn:uuid:condition-${p.id}-${i}`,
    resource: {
      resourceType: 'Condition',
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: n.current ? 'active' : 'resolved' }] },
      category: [{ text: n.category.replace(/_/g, ' ') }],
      code: { text: n.need.replace(/_/g, ' ') },
      subject: { reference: patientRef },
      recordedDate: n.recordedOn,
      recorder: { display: n.recordedBy },
    },
  }));
  data.events.forEach((e, i) => entries.push({
    fullUrl: `urn:uuid:encounter-${p.id}-${i}`,
    resource: {
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
      type: [{ text: e.event.replace(/_/g, ' ') }],
      subject: { reference: patientRef },
      period: { start: new Date(e.at).toISOString() },
      serviceProvider: { display: e.recordedBy },
    },
  }));
  return { resourceType: 'Bundle', type: 'collection', timestamp: data.exportedAt, entry: entries };
}
