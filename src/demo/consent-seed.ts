// Sharing choices, lawful bases, care networks and proxies for the demo place, so every access
// rule can be seen at work. Deterministic: selections hash the person id, never random. The
// rows are chosen here; the consent module, which owns those facts, writes them.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import {
  makeLeadPractitioner,
  parentalProxyEnds,
  seedDirectives,
  seedLawfulBases,
  seedProxies,
  seedRelationships,
} from '../consent/index.ts';

const DAY = 86_400_000;

export async function seedConsent(db: Kysely<Database>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // People known to two or more agencies mostly agree to share with their care network...
    const sharers = (
      await sql<{ person_id: string; first_seen: Date; expires: boolean; withdrawn: boolean; private_cj: boolean }>`
      with known as (
        select l.person_id, min(s.received_at) as first_seen
        from record_links l join source_records s on s.id = l.source_record_id
        where l.superseded_at is null group by l.person_id having count(distinct s.source) >= 2
      )
      select person_id, first_seen,
             abs(hashtext(person_id)) % 100 < 5 as expires,
             abs(hashtext(person_id)) % 100 between 5 and 9 as withdrawn,
             abs(hashtext(person_id || 'cj')) % 100 < 30 as private_cj
      from known where abs(hashtext(person_id || 'share')) % 100 < 60 order by person_id`.execute(trx)
    ).rows;
    const at = (d: Date | string) => new Date(d);
    await seedDirectives(
      trx,
      sharers.flatMap((p) => {
        const first = at(p.first_seen);
        const share = {
          personId: p.person_id,
          category: '*' as const,
          recipientKind: 'network' as const,
          recipientId: null,
          decision: 'permit' as const,
          recordedAt: first,
          validUntil: p.expires ? new Date(first.getTime() + 365 * DAY) : null,
          withdrawnAt: p.withdrawn ? new Date(first.getTime() + 200 * DAY) : null,
          recordedFor: 'person' as const,
          note: 'agreed when first assessed',
          evidence: null,
        };
        // ...and some of them then ask for police, courts and probation information to stay private.
        const privateCj = {
          ...share,
          category: 'criminal_justice' as const,
          decision: 'deny' as const,
          recordedAt: new Date(first.getTime() + 30 * DAY),
          validUntil: null,
          withdrawnAt: null,
          note: 'does not want their past known',
        };
        return p.private_cj ? [share, privateCj] : [share];
      }),
    );
    // Children with a safeguarding concern: shared for safeguarding on a lawful basis, shown to the family.
    const concerns = (
      await sql<{ person_id: string; at: Date }>`
      select distinct on (e.person_id) e.person_id, e.at from person_events e where e.type = 'safeguarding_concern' order by e.person_id, e.at`.execute(
        trx,
      )
    ).rows;
    await seedLawfulBases(
      trx,
      concerns.map((c) => ({
        personId: c.person_id,
        category: 'children_safeguarding',
        purpose: 'safeguarding',
        basis: 'safeguarding' as const,
        organisationId: null,
        explanation:
          "A concern was raised about a child's safety, so the services protecting children may share what they know (Children Act 1989).",
        validFrom: at(c.at),
      })),
    );
    // A named lead practitioner for people with several current needs: the start of a care network.
    const leads = (
      await sql<{ person_id: string; organisation_id: string; practitioner_id: string; team_id: string | null }>`
      with multi as (
        select n.person_id, min(n.organisation_id) as organisation_id
        from needs n where n.current group by n.person_id having count(*) >= 2
      ), lead as (
        select m.person_id, m.organisation_id,
               (select pr.id from practitioners pr where pr.organisation_id = m.organisation_id order by md5(pr.id || m.person_id) limit 1) as practitioner_id
        from multi m
      )
      select l.person_id, l.organisation_id, l.practitioner_id, pr.team_id from lead l join practitioners pr on pr.id = l.practitioner_id order by l.person_id`.execute(
        trx,
      )
    ).rows;
    const now = new Date();
    await seedRelationships(
      trx,
      leads.map((l) => ({
        personId: l.person_id,
        organisationId: l.organisation_id,
        teamId: l.team_id,
        practitionerId: l.practitioner_id,
        kind: 'network' as const,
        roleLabel: 'lead practitioner',
        reason: 'named coordinator for several needs',
        startedAt: now,
        endedAt: null,
      })),
    );
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
    // Parents act for their children under 16 (until the 16th birthday); registered carers for
    // the person they care for, while the caring relationship lasts.
    const family = (
      await sql<{ person_id: string; related_person_id: string; type: 'parent' | 'carer'; birth_date: string | null }>`
      select r.person_id, r.related_person_id, r.type, c.birth_date::text as birth_date
      from relationships r join persons c on c.id = r.person_id
      where r.ended_at is null and (r.type = 'carer' or (r.type = 'parent' and c.birth_date > (current_date - interval '16 years')))
      order by r.person_id, r.related_person_id`.execute(trx)
    ).rows;
    await seedProxies(
      trx,
      family.map((f) => ({
        personId: f.person_id,
        proxyPersonId: f.related_person_id,
        kind: f.type,
        permittedBy: f.type === 'parent' ? 'parental responsibility' : 'the person',
        validFrom: now,
        validUntil: f.type === 'parent' && f.birth_date ? parentalProxyEnds(f.birth_date) : null,
      })),
    );
  });
}

/** The demo citizen's own choices: share with the network, but keep probation private. */
export async function seedDemoCitizenChoices(db: Kysely<Database>, personId: string, leadPractitionerId?: string): Promise<void> {
  // The demo practitioner is the demo citizen's lead, so messages and the network meet in the demo.
  await db.transaction().execute(async (trx) => {
    if (leadPractitionerId) await makeLeadPractitioner(trx, personId, leadPractitionerId, 'named coordinator after assessment', null);
    const existing = await trx.selectFrom('consent_directives').select('id').where('person_id', '=', personId).executeTakeFirst();
    if (existing) return;
    const now = Date.now();
    const base = {
      personId,
      recipientKind: 'network' as const,
      recipientId: null,
      validUntil: null,
      withdrawnAt: null,
      recordedFor: 'person' as const,
      evidence: null,
    };
    await seedDirectives(trx, [
      { ...base, category: '*', decision: 'permit', recordedAt: new Date(now - 90 * DAY), note: 'agreed at first assessment' },
      { ...base, category: 'criminal_justice', decision: 'deny', recordedAt: new Date(now - 60 * DAY), note: null },
    ]);
  });
}
