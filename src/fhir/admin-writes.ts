// FHIR create and update for what administrators keep: the service directory (Organization,
// Location, HealthcareService, through the directory module's own item functions, so the
// directory pages and the Open Referral UK API show the same change) and the member
// organisations' staff (Practitioner, PractitionerRole, through the network's staff functions).
// No resident's data is written here; each write leaves an audit entry naming the resource,
// never its content. A practitioner made inactive (they left) loses their sign-in's sessions and
// tokens in the same transaction as the change.
import type { HealthcareService, Location, Organization, Practitioner, PractitionerRole, Resource } from '@medplum/fhirtypes';
import type { Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import { appendAudit } from '../audit/index.ts';
import {
  createLocationItem,
  createOrganisationItem,
  createServiceItem,
  updateLocationItem,
  updateOrganisationItem,
  updateServiceItem,
  type LocationItem,
  type OrganisationItem,
  type ServiceItem,
} from '../directory/index.ts';
import {
  createPractitioner,
  organisationById,
  practitionersByIds,
  setRole,
  updatePractitioner,
  type PractitionerInput,
  type RoleInput,
} from '../network/index.ts';
import type { FhirContext } from './engine.ts';
import { FhirError, invalid, refusalsAsOutcomes } from './outcome.ts';
import { referenceId } from './params.ts';
import {
  NEED_SYSTEM,
  ORGANISATION_CODE_SYSTEM,
  ORGANISATION_KIND_SYSTEM,
  ORGANIZATION_EXTENSION,
  PRACTITIONER_ROLE_SYSTEM,
} from './resources.ts';
import { currentForUpdate, requireRoles, type Writer } from './care-writes.ts';
import { bumpVersion, stampCreated, type WriteResult } from './writes.ts';
import { inTransaction as inOneTransaction } from '../platform/db.ts';
import { createWhole } from './clinical-writes.ts';
import { accountsOfPractitioner, endAccessOfPractitioner } from '../auth/index.ts';
import { revokeTokensOfUser } from '../interop/index.ts';

const unprocessable = (message: string) => new FhirError(422, 'business-rule', message);

/** An audit entry for an administrator's change to shared reference data (no person, no content). */
export async function auditAdminWrite(ctx: FhirContext, what: string): Promise<void> {
  await appendAudit(ctx.db, {
    actorUserId: ctx.actor.id,
    actorRole: ctx.actor.role,
    actorOrganisationId: ctx.actor.organisationId,
    action: 'write',
    personId: null,
    category: null,
    purpose: null,
    decision: 'success',
    reason: `${what} through the FHIR API`,
  });
}

const telecomValue = (resource: { telecom?: Array<{ system?: string; value?: string }> }, system: string): string | null =>
  resource.telecom?.find((t) => t.system === system)?.value?.trim() || null;

function only<T>(list: T[] | undefined, what: string): T | undefined {
  if ((list?.length ?? 0) > 1) throw unprocessable(`give one ${what}`);
  return list?.[0];
}

// ---------------------------------------------------------------------------------------------
// Organization

function organisationItem(org: Organization): OrganisationItem {
  if (org.active === false)
    throw unprocessable('organisations are not closed through this API: mark their services inactive (HealthcareService.active false)');
  const kinds = (org.type ?? []).flatMap((t) => t.coding ?? []).filter((c) => c.system === ORGANISATION_KIND_SYSTEM);
  if (kinds.length > 1) throw unprocessable('an organisation is of one kind (one type coding in urn:joinery:code:organisation-kind)');
  const codes = (org.identifier ?? []).filter((i) => i.system === ORGANISATION_CODE_SYSTEM);
  if (codes.length > 1) throw unprocessable('an organisation has one code (one identifier in urn:joinery:organisation-code)');
  return {
    name: org.name ?? '',
    sourceCode: codes[0]?.value ?? null,
    kind: kinds[0]?.code ?? null,
    email: telecomValue(org, 'email'),
    website: telecomValue(org, 'url'),
    phone: telecomValue(org, 'phone'),
    postcode: only(org.address, 'address (its postcode)')?.postalCode ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Location

function locationItem(location: Location): LocationItem {
  if (location.status && location.status !== 'active')
    throw unprocessable('locations stay active here; stop offering a service there through HealthcareService.location');
  const address = location.address;
  if (address && (address.line?.length ?? 0) > 1) throw unprocessable('give the street address on one line (address.line with one entry)');
  return {
    name: location.name ?? null,
    description: location.description ?? null,
    organisationId: location.managingOrganization?.reference ? referenceId(location.managingOrganization.reference, 'Organization') : null,
    latitude: location.position?.latitude ?? null,
    longitude: location.position?.longitude ?? null,
    address: address
      ? {
          line: address.line?.[0] ?? '',
          city: address.city ?? null,
          region: address.district ?? null,
          stateProvince: address.state ?? null,
          postalCode: address.postalCode ?? '',
          country: address.country ?? null,
        }
      : null,
  };
}

// ---------------------------------------------------------------------------------------------
// HealthcareService

function serviceItem(service: HealthcareService, currentStatus: string | null): ServiceItem {
  const provider = service.providedBy?.reference;
  if (!provider) throw invalid('HealthcareService.providedBy must reference the Organization providing the service');
  const needs = (service.category ?? [])
    .flatMap((c) => c.coding ?? [])
    .filter((c) => !c.system || c.system === NEED_SYSTEM)
    .map((c) => c.code ?? '');
  const eligibility = only(service.eligibility, 'eligibility (its comment)');
  // Only a change of active changes the ORUK status, so "temporarily closed" and the like survive an update.
  const wasActive = currentStatus === null || currentStatus === 'active';
  const active = service.active !== false;
  return {
    organisationId: referenceId(provider, 'Organization'),
    name: service.name ?? '',
    description: service.comment ?? null,
    eligibility: eligibility?.comment ?? null,
    needs,
    status: active === wasActive && currentStatus !== null ? currentStatus : active ? 'active' : 'inactive',
    email: telecomValue(service, 'email'),
    url: telecomValue(service, 'url'),
    locationIds: (service.location ?? []).map((l) => referenceId(l.reference ?? '', 'Location')),
  };
}

// ---------------------------------------------------------------------------------------------
// What the directory cannot take: places and organisations outside this place

const UK = /^(gb|gbr|uk|united kingdom|great britain|england|wales|scotland|northern ireland)$/i;

/**
 * Why an Organization or Location belongs outside this place's directory (abroad, run by an
 * organisation the directory does not know, or not open), if it does: it is then kept as received,
 * readable through FHIR but not shown in the directory or the Open Referral UK API.
 */
async function outsideThePlace(ctx: FhirContext, resource: Resource): Promise<string | undefined> {
  if (resource.resourceType !== 'Organization' && resource.resourceType !== 'Location') return undefined;
  const addresses = resource.resourceType === 'Organization' ? (resource.address ?? []) : resource.address ? [resource.address] : [];
  if (addresses.some((a) => a.country && !UK.test(a.country.trim()))) return 'an address outside the United Kingdom';
  if (resource.resourceType === 'Location') {
    if (resource.status && resource.status !== 'active') return `status ${resource.status}`;
    const manager = resource.managingOrganization?.reference;
    if (manager) {
      const id = referenceId(manager, 'Organization');
      if (!(await organisationById(ctx.db, id))) return 'managed by an organisation the directory does not hold';
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The three directory types: the same steps around each type's own item function.

const DIRECTORY = 'change the service directory';

/**
 * A writer for a directory type: administrators only; a create stamps the new item's version,
 * an update bumps it only when something changed; both leave an audit entry.
 */
function directoryWriter<Item>(
  type: 'Organization' | 'Location' | 'HealthcareService',
  toItem: (resource: Resource, current: Record<string, unknown> | null) => Item,
  create: (db: FhirContext['db'], item: Item) => Promise<string>,
  update: (db: FhirContext['db'], id: string, item: Item) => Promise<boolean>,
): Writer {
  return {
    async create(ctx, resource) {
      requireRoles(ctx, ['admin'], DIRECTORY);
      const outside = await outsideThePlace(ctx, resource);
      if (outside) {
        const result = await createWhole(ctx, type, resource, null);
        await auditAdminWrite(ctx, `kept ${type}/${result.id} (${outside}), not in the directory`);
        return result;
      }
      const id = await refusalsAsOutcomes(() => create(ctx.db, toItem(resource, null)));
      await stampCreated(ctx.db, type, id);
      await auditAdminWrite(ctx, `directory: added ${type}/${id}`);
      return { type, id, created: true };
    },
    async update(ctx, id, resource, ifMatch) {
      const current = await currentForUpdate(ctx, resource, id, ifMatch, ['admin'], DIRECTORY);
      if (await refusalsAsOutcomes(() => update(ctx.db, id, toItem(resource, current)))) {
        await bumpVersion(ctx.db, type, id);
        await auditAdminWrite(ctx, `directory: changed ${type}/${id}`);
      }
      return { type, id, created: false };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Practitioner and PractitionerRole: one row per practitioner, so a role has the practitioner's id.

const STAFF = "change the network's staff";

function practitionerInput(practitioner: Practitioner): PractitionerInput {
  const name = only(practitioner.name, 'name');
  return {
    givenName: (name?.given ?? []).join(' '),
    familyName: name?.family ?? '',
    email: telecomValue(practitioner, 'email'),
    active: practitioner.active !== false,
  };
}

function employer(practitioner: Practitioner): string | null {
  const reference = practitioner.extension?.find((e) => e.url === ORGANIZATION_EXTENSION)?.valueReference?.reference;
  return reference ? referenceId(reference, 'Organization') : null;
}

async function createPractitionerResource(ctx: FhirContext, resource: Resource): Promise<WriteResult> {
  requireRoles(ctx, ['admin'], STAFF);
  const practitioner = resource as Practitioner;
  const organisationId = employer(practitioner);
  // Not said to work for a member organisation: someone outside the network (a partner's
  // clinician), kept as received; they cannot sign in or join a care network.
  if (!organisationId) {
    const result = await createWhole(ctx, 'Practitioner', practitioner, null);
    await auditAdminWrite(ctx, `kept Practitioner/${result.id} from outside the network`);
    return result;
  }
  return inTransaction(ctx, async (tctx) => {
    const id = await refusalsAsOutcomes(() => createPractitioner(tctx.db, { ...practitionerInput(practitioner), organisationId }));
    await stampCreated(tctx.db, 'Practitioner', id);
    await auditAdminWrite(tctx, `staff: added Practitioner/${id}`);
    return { type: 'Practitioner', id, created: true };
  });
}

/** A context whose database is the transaction the write runs in. */
type InTransaction = FhirContext & { db: Transaction<Database> };

/**
 * One unit of work (a transaction Bundle's, if in one): the staff change, its version and its
 * audit entry commit together, and a leaver's sign-in ends with the change.
 */
function inTransaction(ctx: FhirContext, work: (tctx: InTransaction) => Promise<WriteResult>): Promise<WriteResult> {
  return inOneTransaction(ctx.db, (trx) => work({ ...ctx, db: trx }));
}

/** The practitioner was active and no longer is: their account's sessions and tokens (interop's, revoked for auth) end now. */
async function endedIfLeft(ctx: FhirContext, id: string, wasActive: boolean, active: boolean): Promise<void> {
  if (wasActive && !active) await endAccessOfPractitioner(ctx.db, { revokeApiTokens: revokeTokensOfUser }, ctx.actor, id);
}

async function updatePractitionerResource(ctx: FhirContext, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult> {
  return inTransaction(ctx, (tctx) => updatePractitionerInTransaction(tctx, id, resource, ifMatch));
}

async function updatePractitionerInTransaction(ctx: InTransaction, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult> {
  const current = await currentForUpdate(ctx, resource, id, ifMatch, ['admin'], STAFF);
  const organisationId = employer(resource as Practitioner);
  if (organisationId && organisationId !== current.organisation_id)
    throw unprocessable("a practitioner's organisation changes through their PractitionerRole");
  const input = practitionerInput(resource as Practitioner);
  if (await refusalsAsOutcomes(() => updatePractitioner(ctx.db, id, input))) {
    await bumpVersion(ctx.db, 'Practitioner', id);
    // The role shows the work email and whether they are active, not the name.
    const roleChanged = (input.email ?? '') !== current.email || input.active !== (current.active !== false);
    if (roleChanged && current.role !== 'unassigned') await bumpVersion(ctx.db, 'PractitionerRole', id);
    await auditAdminWrite(ctx, `staff: changed Practitioner/${id}`);
    await endedIfLeft(ctx, id, current.active !== false, input.active);
  }
  return { type: 'Practitioner', id, created: false };
}

function roleInput(role: PractitionerRole): RoleInput {
  const organisation = role.organization?.reference;
  if (!organisation) throw invalid('PractitionerRole.organization must reference the member Organization');
  const concept = only(role.code, 'role (one code)');
  const code = concept?.coding?.find((c) => c.system === PRACTITIONER_ROLE_SYSTEM)?.code ?? concept?.text ?? '';
  if (!code.trim()) throw invalid(`PractitionerRole.code must give the role (a code in ${PRACTITIONER_ROLE_SYSTEM}, or text)`);
  return { organisationId: referenceId(organisation, 'Organization'), role: code, active: role.active !== false };
}

async function createPractitionerRole(ctx: FhirContext, resource: Resource): Promise<WriteResult> {
  requireRoles(ctx, ['admin'], STAFF);
  const role = resource as PractitionerRole;
  if (!role.practitioner?.reference)
    throw invalid('PractitionerRole.practitioner must reference the Practitioner (made first with POST Practitioner)');
  const id = referenceId(role.practitioner.reference, 'Practitioner');
  // The role of someone who is not on the network's staff: kept as received.
  if (!(await practitionersByIds(ctx.db, [id])).has(id)) {
    const result = await createWhole(ctx, 'PractitionerRole', role, null);
    await auditAdminWrite(ctx, `kept PractitionerRole/${result.id} from outside the network`);
    return result;
  }
  return inTransaction(ctx, async (tctx) => {
    await refusalsAsOutcomes(() => setRole(tctx.db, id, roleInput(role), true, signsIn(tctx)));
    await stampCreated(tctx.db, 'PractitionerRole', id);
    await bumpVersion(tctx.db, 'Practitioner', id);
    await auditAdminWrite(tctx, `staff: gave Practitioner/${id} a role`);
    return { type: 'PractitionerRole', id, created: true };
  });
}

/** Whether a practitioner has an account of any role (then their organisation changes with the account). */
const signsIn =
  (ctx: FhirContext) =>
  async (practitionerId: string): Promise<boolean> =>
    (await accountsOfPractitioner(ctx.db, practitionerId, null)).length > 0;

async function updatePractitionerRole(ctx: FhirContext, id: string, resource: Resource, ifMatch?: string): Promise<WriteResult> {
  return inTransaction(ctx, (tctx) => updatePractitionerRoleInTransaction(tctx, id, resource, ifMatch));
}

async function updatePractitionerRoleInTransaction(
  ctx: InTransaction,
  id: string,
  resource: Resource,
  ifMatch?: string,
): Promise<WriteResult> {
  const current = await currentForUpdate(ctx, resource, id, ifMatch, ['admin'], STAFF);
  const role = resource as PractitionerRole;
  if (role.practitioner?.reference !== `Practitioner/${id}`)
    throw unprocessable(`PractitionerRole/${id} is the role of Practitioner/${id}; the practitioner stays the same`);
  const input = roleInput(role);
  if (await refusalsAsOutcomes(() => setRole(ctx.db, id, input, false, signsIn(ctx)))) {
    await bumpVersion(ctx.db, 'PractitionerRole', id);
    await bumpVersion(ctx.db, 'Practitioner', id);
    await auditAdminWrite(ctx, `staff: changed PractitionerRole/${id}`);
    // The role's active is the practitioner's: ending the role is leaving too.
    await endedIfLeft(ctx, id, current.active !== false, input.active);
  }
  return { type: 'PractitionerRole', id, created: false };
}

// The directory's functions are called through arrows, not passed as values: this object is built
// as the module loads, and the directory's front door may still be loading then (it reaches the
// migration registry, which loads this module), so its exports are not yet there to be read.
export const adminWriters: Record<string, Writer> = {
  Organization: directoryWriter(
    'Organization',
    (r) => organisationItem(r as Organization),
    (db, item) => createOrganisationItem(db, item),
    (db, id, item) => updateOrganisationItem(db, id, item),
  ),
  Location: directoryWriter(
    'Location',
    (r) => locationItem(r as Location),
    (db, item) => createLocationItem(db, item),
    (db, id, item) => updateLocationItem(db, id, item),
  ),
  HealthcareService: directoryWriter(
    'HealthcareService',
    (r, current) => serviceItem(r as HealthcareService, typeof current?.directory_status === 'string' ? current.directory_status : null),
    (db, item) => createServiceItem(db, item),
    (db, id, item) => updateServiceItem(db, id, item),
  ),
  Practitioner: { create: createPractitionerResource, update: updatePractitionerResource },
  PractitionerRole: { create: createPractitionerRole, update: updatePractitionerRole },
};
