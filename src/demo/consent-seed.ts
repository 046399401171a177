// Sharing choices, lawful bases, care networks and proxies for the demo place, so every access
// rule can be seen at work. Deterministic: selections hash the person id, never random. The
// rows are chosen here, from people's needs and the network's practitioners as their modules
// give them; the consent module, which owns those facts, writes them.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import {
  makeLeadPractitioner,
  parentalProxyEnds,
  peopleWithDirectives,
  seedDirectives,
  seedLawfulBases,
  seedProxies,
  seedRelationships,
} from '../consent/index.ts';
import { carersAndParentsOfChildren, currentNeedsTable, firstEventOfType, peopleWithCurrentNeed } from '../people/index.ts';
import { practitionersTable } from '../network/index.ts';
import { peopleKnownToSources } from '../linkage/index.ts';
import { seedAboutMe } from '../records/index.ts';

const DAY = 86_400_000;

export async function seedConsent(db: Kysely<Database>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // People known to two or more agencies mostly agree to share with their care network...
    const sharers = (
      await sql<{ person_id: string; first_seen: Date; expires: boolean; withdrawn: boolean; private_cj: boolean }>`
      with known as ${peopleKnownToSources(2)}
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
    const concerns = await firstEventOfType(trx, 'safeguarding_concern');
    await seedLawfulBases(
      trx,
      concerns.map((c) => ({
        personId: c.personId,
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
        from ${currentNeedsTable} n group by n.person_id having count(*) >= 2
      ), lead as (
        select m.person_id, m.organisation_id,
               (select pr.id from ${practitionersTable} pr where pr.organisation_id = m.organisation_id order by md5(pr.id || m.person_id) limit 1) as practitioner_id
        from multi m
      )
      select l.person_id, l.organisation_id, l.practitioner_id, pr.team_id
      from lead l join ${practitionersTable} pr on pr.id = l.practitioner_id order by l.person_id`.execute(trx)
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
    await seedAboutMe(trx, await peopleWithCurrentNeed(trx));
    // Parents act for their children under 16 (until the 16th birthday); registered carers for
    // the person they care for, while the caring relationship lasts.
    const family = await carersAndParentsOfChildren(trx);
    await seedProxies(
      trx,
      family.map((f) => ({
        personId: f.personId,
        proxyPersonId: f.relatedPersonId,
        kind: f.type,
        permittedBy: f.type === 'parent' ? 'parental responsibility' : 'the person',
        validFrom: now,
        validUntil: f.type === 'parent' && f.birthDate ? parentalProxyEnds(f.birthDate) : null,
      })),
    );
  });
}

/** The demo citizen's own choices: share with the network, but keep probation private. */
export async function seedDemoCitizenChoices(db: Kysely<Database>, personId: string, leadPractitionerId?: string): Promise<void> {
  // The demo practitioner is the demo citizen's lead, so messages and the network meet in the demo.
  await db.transaction().execute(async (trx) => {
    if (leadPractitionerId) await makeLeadPractitioner(trx, personId, leadPractitionerId, 'named coordinator after assessment', null);
    if ((await peopleWithDirectives(trx, [personId])).has(personId)) return;
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
