// Whether a person's identity is under review by the person index: in the open review queue, or
// in a merge that can still be undone. The access decision asks this for data-quality reviewers
// (who may open such records only); the queue and merges are the index's own tables.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** The person is a candidate in an open review, or an arriving record under review is linked to them now. */
export async function personInReviewQueue(db: Kysely<Database>, personId: string): Promise<boolean> {
  const row = await db
    .selectFrom('linkage_reviews')
    .select('linkage_reviews.id')
    .where('linkage_reviews.status', '=', 'open')
    .where((eb) =>
      eb.or([
        eb('linkage_reviews.candidate_person_id', '=', personId),
        eb.exists(
          eb
            .selectFrom('record_links')
            .select('record_links.id')
            .whereRef('record_links.source_record_id', '=', 'linkage_reviews.source_record_id')
            .where('record_links.superseded_at', 'is', null)
            .where('record_links.person_id', '=', personId),
        ),
      ]),
    )
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** A merge of two person records that has not been undone: a data-quality reviewer may check and undo it. */
export async function personInUndoableMerge(db: Kysely<Database>, personId: string): Promise<boolean> {
  const row = await db
    .selectFrom('person_merges')
    .select('id')
    .where('unmerged_at', 'is', null)
    .where((eb) => eb.or([eb('survivor_id', '=', personId), eb('merged_id', '=', personId)]))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
