// EHR launch: Joinery mints a launch id for one user, one person and one app, which the app
// brings back to the authorisation endpoint as `launch`. Only for a person the user may open now
// (the access decision, audited), used once, and good for five minutes, so a launch id copied
// from a browser's history or a log is worth nothing to anyone else or later.
import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../schema.ts';
import type { SignedInUser } from '../../auth/index.ts';
import { decideRecordAccess, type Purpose } from '../../consent/index.ts';
import { appendAudit } from '../../audit/index.ts';
import { HttpError } from '../../platform/http.ts';
import { liveClient, sha256, SmartRefused } from './clients.ts';
import { roleMayUseApps } from './scopes.ts';

export const LAUNCH_MINUTES = 5;

export function purposeFor(actor: SignedInUser): Purpose {
  return actor.role === 'citizen' ? 'self' : 'direct_care';
}

/** Whether the access decision lets the user open this person's record now (audited, allow or deny). */
export async function mayOpenPerson(db: Kysely<Database>, actor: SignedInUser, personId: string): Promise<boolean> {
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(personId)) return false;
  const access = await decideRecordAccess(db, {
    actor,
    personId,
    categories: ['demographics'],
    purpose: purposeFor(actor),
    action: 'read',
  });
  return access.allowed;
}

export interface MintedLaunch {
  launch: string;
  /** The app's launch URI with iss (Joinery's FHIR base) and launch: where the browser goes. */
  url: string;
  expiresAt: Date;
}

export async function mintLaunch(
  db: Kysely<Database>,
  actor: SignedInUser,
  input: { clientId: unknown; personId: unknown; fhirBase: string },
  now: Date = new Date(),
): Promise<MintedLaunch> {
  if (!roleMayUseApps(actor.role)) throw new HttpError(403, 'Apps can be opened by practitioners and residents only.');
  const client = await liveClient(db, input.clientId);
  if (!client || !client.launchUri) throw new SmartRefused(404, 'There is no such app to open (or it cannot be launched from Joinery).');
  const personId = typeof input.personId === 'string' ? input.personId : '';
  // The same answer for someone unknown and someone the user may not see: it says nothing of who exists.
  if (!(await mayOpenPerson(db, actor, personId))) throw new HttpError(403, 'You may not open this person’s record in an app.');
  const launch = randomBytes(24).toString('base64url');
  const expiresAt = new Date(now.getTime() + LAUNCH_MINUTES * 60_000);
  await db
    .insertInto('smart_launches')
    .values({
      id_hash: sha256(launch),
      client_id: client.id,
      user_id: actor.id,
      person_id: personId,
      created_at: now,
      expires_at: expiresAt,
      used_at: null,
    })
    .execute();
  await appendAudit(db, {
    actorUserId: actor.id,
    actorRole: actor.role,
    actorOrganisationId: actor.organisationId,
    action: 'smart_launch',
    personId,
    category: null,
    purpose: purposeFor(actor),
    decision: 'success',
    reason: `opened the record in the app "${client.name}" (${client.id})`,
  });
  const url = new URL(client.launchUri);
  url.searchParams.set('iss', input.fhirBase);
  url.searchParams.set('launch', launch);
  return { launch, url: url.toString(), expiresAt };
}

/** The person a live launch id was minted for, if it is this user's, for this app, unused and unexpired. */
export async function launchPerson(
  db: Kysely<Database>,
  launch: string,
  userId: string,
  clientId: string,
  now: Date = new Date(),
): Promise<string | undefined> {
  if (launch.length > 200) return undefined;
  const row = await db
    .selectFrom('smart_launches')
    .select('person_id')
    .where('id_hash', '=', sha256(launch))
    .where('user_id', '=', userId)
    .where('client_id', '=', clientId)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row?.person_id;
}

/** Spends a launch id (in the approval's transaction): its person, or undefined if it was not live. */
export async function spendLaunch(
  trx: Transaction<Database>,
  launch: string,
  userId: string,
  clientId: string,
  now: Date = new Date(),
): Promise<string | undefined> {
  const row = await trx
    .updateTable('smart_launches')
    .set({ used_at: now })
    .where('id_hash', '=', sha256(launch))
    .where('user_id', '=', userId)
    .where('client_id', '=', clientId)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('person_id')
    .executeTakeFirst();
  return row?.person_id;
}
