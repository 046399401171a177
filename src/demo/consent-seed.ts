// Sharing choices, lawful bases, care networks and proxies for the demo place, so every access
// rule can be seen at work. Deterministic: selections hash the person id, never random.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';

export async function seedConsent(db: Kysely<Database>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // People known to two or more agencies mostly agree to share with their care network...
    await sql`
      with known as (
        select l.person_id, count(distinct s.source) as agencies, min(s.received_at) as first_seen
        from record_links l join source_records s on s.id = l.source_record_id
        where l.superseded_at is null group by l.person_id having count(distinct s.source) >= 2
      )
      insert into consent_directives (person_id, category, recipient_kind, recipient_id, purposes, decision, valid_from, valid_until, recorded_at, recorded_by_role, withdrawn_at, note)
      select person_id, '*', 'network', null, array['direct_care', 'care_coordination'], 'permit',
             first_seen, case when abs(hashtext(person_id)) % 100 < 5 then first_seen + interval '1 year' end,
             first_seen, 'citizen',
             case when abs(hashtext(person_id)) % 100 between 5 and 9 then first_seen + interval '200 days' end,
             'agreed when first assessed'
      from known where abs(hashtext(person_id || 'share')) % 100 < 60`.execute(trx);
    // ...and some of them then ask for police, courts and probation information to stay private.
    await sql`
      insert into consent_directives (person_id, category, recipient_kind, recipient_id, purposes, decision, valid_from, recorded_at, recorded_by_role, note)
      select d.person_id, 'criminal_justice', 'network', null, array['direct_care', 'care_coordination'], 'deny',
             d.recorded_at + interval '30 days', d.recorded_at + interval '30 days', 'citizen', 'does not want their past known'
      from consent_directives d where d.category = '*' and abs(hashtext(d.person_id || 'cj')) % 100 < 30`.execute(trx);
    // Children with a safeguarding concern: shared for safeguarding on a lawful basis, shown to the family.
    await sql`
      insert into lawful_bases (person_id, category, purpose, basis, organisation_id, explanation, valid_from)
      select distinct on (e.person_id) e.person_id, 'children_safeguarding', 'safeguarding', 'safeguarding', null,
             'A concern was raised about a child''s safety, so the services protecting children may share what they know (Children Act 1989).',
             e.at
      from person_events e where e.type = 'safeguarding_concern' order by e.person_id, e.at`.execute(trx);
    // A named lead practitioner for people with several current needs: the start of a care network.
    await sql`
      with multi as (
        select n.person_id, min(n.organisation_id) as organisation_id
        from needs n where n.current group by n.person_id having count(*) >= 2
      ), lead as (
        select m.person_id, m.organisation_id,
               (select pr.id from practitioners pr where pr.organisation_id = m.organisation_id order by md5(pr.id || m.person_id) limit 1) as practitioner_id
        from multi m
      )
      insert into care_relationships (person_id, organisation_id, team_id, practitioner_id, kind, role_label, reason)
      select l.person_id, l.organisation_id, pr.team_id, l.practitioner_id, 'network', 'lead practitioner', 'named coordinator for several needs'
      from lead l join practitioners pr on pr.id = l.practitioner_id`.execute(trx);
    // "About me" in people's own words for some of those with current needs.
    await sql`
      insert into about_me_versions (person_id, what_matters, how_to_support, written_by, written_by_role, created_at)
      select n.person_id,
             case (abs(hashtext(n.person_id)) % 4)
               when 0 then 'Keeping my flat and seeing my kids at weekends. I want to get back to work one day.'
               when 1 then 'My dog, my garden and my friends at the community centre. I don''t want to go into a home.'
               when 2 then 'Looking after my mum without falling apart myself. I need a break sometimes.'
               else 'Being treated like a person, not a case number. Staying off the drink one day at a time.' end,
             case (abs(hashtext(n.person_id)) % 3)
               when 0 then 'Ring before you visit. Mornings are hard for me.'
               when 1 then 'Please explain things plainly and write them down for me.'
               else 'Talk to me, not about me. My sister can help with letters.' end,
             'seed', 'citizen', now() - interval '20 days'
      from (select distinct person_id from needs where current) n
      where abs(hashtext(n.person_id || 'aboutme')) % 100 < 30`.execute(trx);
    // Parents act for their children under 16; registered carers for the person they care for.
    await sql`
      insert into proxies (person_id, proxy_person_id, kind, permitted_by, valid_from)
      select r.person_id, r.related_person_id, 'parent', 'parental responsibility', now()
      from relationships r join persons c on c.id = r.person_id
      where r.type = 'parent' and c.birth_date > (current_date - interval '16 years')`.execute(trx);
    await sql`
      insert into proxies (person_id, proxy_person_id, kind, permitted_by, valid_from)
      select r.person_id, r.related_person_id, 'carer', 'the person', now()
      from relationships r where r.type = 'carer'`.execute(trx);
  });
}

/** The demo citizen's own choices: share with the network, but keep probation private. */
export async function seedDemoCitizenChoices(db: Kysely<Database>, personId: string, leadPractitionerId?: string): Promise<void> {
  // The demo practitioner is the demo citizen's lead, so messages and the network meet in the demo.
  const lead = await db.selectFrom('care_relationships').select(['id', 'practitioner_id']).where('person_id', '=', personId).where('role_label', '=', 'lead practitioner').where('ended_at', 'is', null).executeTakeFirst();
  if (leadPractitionerId && lead?.practitioner_id !== leadPractitionerId) {
    if (lead) await db.updateTable('care_relationships').set({ role_label: 'former lead practitioner' }).where('id', '=', lead.id).execute();
    const pr = await db.selectFrom('practitioners').select(['organisation_id', 'team_id']).where('id', '=', leadPractitionerId).executeTakeFirstOrThrow();
    await db.insertInto('care_relationships').values({ person_id: personId, organisation_id: pr.organisation_id, team_id: pr.team_id, practitioner_id: leadPractitionerId, kind: 'network', role_label: 'lead practitioner', reason: 'named coordinator after assessment', ended_at: null, recorded_by: null }).execute();
  }
  const existing = await db.selectFrom('consent_directives').select('id').where('person_id', '=', personId).executeTakeFirst();
  if (existing) return;
  const now = Date.now();
  await db.insertInto('consent_directives').values([
    { person_id: personId, category: '*', recipient_kind: 'network', recipient_id: null, purposes: ['direct_care', 'care_coordination'], decision: 'permit', valid_from: new Date(now - 90 * 86_400_000), recorded_at: new Date(now - 90 * 86_400_000), recorded_by: null, recorded_by_role: 'demo', valid_until: null, withdrawn_at: null, withdrawn_by: null, note: 'agreed at first assessment' },
    { person_id: personId, category: 'criminal_justice', recipient_kind: 'network', recipient_id: null, purposes: ['direct_care', 'care_coordination'], decision: 'deny', valid_from: new Date(now - 60 * 86_400_000), recorded_at: new Date(now - 60 * 86_400_000), recorded_by: null, recorded_by_role: 'demo', valid_until: null, withdrawn_at: null, withdrawn_by: null, note: null },
  ]).execute();
}
