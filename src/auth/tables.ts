// Accounts as a table other modules join in their own single statement, with only what may be
// shown of an account (the FHIR API's AuditEvent names who acted). Imports nothing of the
// project: the FHIR module's resource definitions embed it as their files load.
import { sql } from 'kysely';

/** Kysely: every account's id and the name shown for it, as a table: id, display_name. */
export const accountNamesTable = sql`(select u.id, u.display_name from users u)`;
