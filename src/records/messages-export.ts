// Messages between a person (or someone acting for them) and their care team, as the person's own
// copy of their record (the right of access) lists them: who wrote each (named by the auth module;
// "you" for the person's own account), when, and what it says. Only fetches: the caller decides.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { userDisplayNameOf, userPersonIdOf } from '../auth/index.ts';

/** Every message about the person, oldest first. */
export async function messagesAboutPersonForExport(
  db: Kysely<Database>,
  personId: string,
): Promise<Array<{ from: string; sent: Date; message: string }>> {
  // from_user_id is a required reference, so every message has its writer.
  const rows = await db
    .selectFrom('messages as m')
    .select([
      'm.body',
      'm.sent_at',
      userDisplayNameOf('m.from_user_id').$castTo<string>().as('display_name'),
      userPersonIdOf('m.from_user_id').as('person_id'),
    ])
    .where('m.person_id', '=', personId)
    .orderBy('m.sent_at')
    .execute();
  return rows.map((m) => ({ from: m.person_id === personId ? 'you' : m.display_name, sent: m.sent_at, message: m.body }));
}
