// The synthetic place's integrated team: a multiple-disadvantage team hosted by the council, with
// the coordinator leading most people on that model as its manager, and one member from each
// agency the model's plan actions go to (housing, the mental health trust, drug and alcohol
// service, probation), co-located at a hub with their line management recorded. Its caseload is
// everyone on the model, so the team's shared worklist holds their plans' unassigned actions and
// a member from any of those agencies can cover them on duty.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { seedTeamMember, seedTeamRelationship, teamMembers } from '../consent/index.ts';
import { allOrganisations, createIntegratedTeam, practitionersOf, teamById } from '../network/index.ts';

export const DEMO_TEAM_ID = 'team-md-integrated';
const HUB = 'Civic Centre hub';
const MEMBER_KINDS = ['council_housing', 'mental_health_trust', 'drug_alcohol_service', 'probation'] as const;
const ROLE_IN_TEAM: Record<(typeof MEMBER_KINDS)[number], string> = {
  council_housing: 'Housing options officer',
  mental_health_trust: 'Community mental health nurse',
  drug_alcohol_service: 'Drug and alcohol recovery worker',
  probation: 'Probation officer',
};
const DAYS: Record<(typeof MEMBER_KINDS)[number], string> = {
  council_housing: 'Mondays and Wednesdays',
  mental_health_trust: 'Tuesdays and Thursdays',
  drug_alcohol_service: 'every weekday morning',
  probation: 'Fridays',
};

/** The coordinator who leads most people on the multiple-disadvantage model (as the demo's coordinator account is chosen). */
export async function leadCoordinator(db: Kysely<Database>): Promise<string | undefined> {
  const row = await db
    .selectFrom('model_enrolments')
    .select(['lead_practitioner_id', (eb) => eb.fn.countAll<number>().as('people')])
    .where('model_id', '=', 'md-coordination')
    .where('ended_at', 'is', null)
    .where('lead_practitioner_id', 'is not', null)
    .groupBy('lead_practitioner_id')
    .orderBy('people', 'desc')
    .orderBy('lead_practitioner_id')
    .executeTakeFirst();
  return row?.lead_practitioner_id ?? undefined;
}

/** Sets the team up once (nothing happens if it exists or the place has no one on the model); returns whether it did. */
export async function seedIntegratedTeam(db: Kysely<Database>): Promise<boolean> {
  if (await teamById(db, DEMO_TEAM_ID)) return false;
  const lead = await leadCoordinator(db);
  if (!lead) return false;
  const organisations = await allOrganisations(db);
  const host = organisations.find((o) => o.kind === 'council_adult_social_care') ?? organisations[0];
  if (!host) return false;
  // Each agency the model's actions go to most often: its open actions are what the team covers.
  const assigned = await db
    .selectFrom('plan_actions as a')
    .innerJoin('plans as p', 'p.id', 'a.plan_id')
    .select(['a.assigned_organisation_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('p.model_id', '=', 'md-coordination')
    .groupBy('a.assigned_organisation_id')
    .orderBy('n', 'desc')
    .orderBy('a.assigned_organisation_id')
    .execute();
  const people = await db
    .selectFrom('model_enrolments')
    .select('person_id')
    .distinct()
    .where('model_id', '=', 'md-coordination')
    .where('ended_at', 'is', null)
    .orderBy('person_id')
    .execute();
  const enrolledAt = await db
    .selectFrom('model_enrolments')
    .select((eb) => eb.fn.min('enrolled_at').as('first'))
    .where('model_id', '=', 'md-coordination')
    .executeTakeFirst();
  const since = enrolledAt?.first ? new Date(enrolledAt.first) : new Date();
  await db.transaction().execute(async (trx) => {
    await createIntegratedTeam(trx, { id: DEMO_TEAM_ID, hostOrganisationId: host.id, name: 'Multiple Disadvantage Team', base: HUB });
    await seedTeamMember(trx, {
      teamId: DEMO_TEAM_ID,
      practitionerId: lead,
      roleInTeam: 'Team manager and named coordinator',
      coLocation: `${HUB}, full time`,
      lineManagerId: null,
      managesTeam: true,
      startedAt: since,
    });
    const taken = new Set([lead]);
    for (const kind of MEMBER_KINDS) {
      const organisation =
        assigned.map((a) => organisations.find((o) => o.id === a.assigned_organisation_id)).find((o) => o?.kind === kind) ??
        organisations.find((o) => o.kind === kind);
      if (!organisation) continue;
      const member = (await practitionersOf(trx, organisation.id)).find((p) => !taken.has(p.id));
      if (!member) continue;
      taken.add(member.id);
      await seedTeamMember(trx, {
        teamId: DEMO_TEAM_ID,
        practitionerId: member.id,
        roleInTeam: ROLE_IN_TEAM[kind],
        coLocation: `${HUB}, ${DAYS[kind]}`,
        lineManagerId: lead,
        startedAt: since,
      });
    }
    for (const p of people)
      await seedTeamRelationship(trx, {
        personId: p.person_id,
        teamId: DEMO_TEAM_ID,
        reason: 'coordinated support for multiple disadvantage',
        startedAt: since,
      });
  });
  return true;
}

/** The team's current member from an organisation of this kind (the demo's colleague from another agency covering on duty). */
export async function demoTeamMemberFrom(
  db: Kysely<Database>,
  kind: string,
): Promise<{ practitionerId: string; organisationId: string; name: string; organisation: string } | undefined> {
  const kinds = new Map((await allOrganisations(db)).map((o) => [o.id, o.kind]));
  const member = (await teamMembers(db, DEMO_TEAM_ID)).find((m) => !m.endedAt && kinds.get(m.organisationId) === kind);
  return member
    ? { practitionerId: member.practitionerId, organisationId: member.organisationId, name: member.name, organisation: member.organisation }
    : undefined;
}
