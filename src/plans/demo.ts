// Demo sign-ins for the plans module: a named coordinator for adults facing multiple
// disadvantage, and a shared plan for the demo citizen so they can add goals in their own words.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { addAction, addGoal, createPlan, plansOf } from './plans.ts';
import { makeLeadPractitioner } from '../consent/index.ts';
import { createAccountUnlessTaken, type SignedInUser, type DemoAccountInfo } from '../auth/index.ts';
import { organisationsByIds, practitionersByIds } from '../network/index.ts';
import { addMonths } from './models.ts';
import { demoTeamMemberFrom, seedIntegratedTeam } from './teams-seed.ts';

export async function setUpPlansDemo(
  db: Kysely<Database>,
  citizenId: string,
  practitionerId: string,
  password: string,
): Promise<DemoAccountInfo[]> {
  const accounts: DemoAccountInfo[] = [];
  // The coordinator leading the most people's enrolments (a lead the network knows, in its organisation).
  const leads = await db
    .selectFrom('model_enrolments')
    .select(['lead_practitioner_id', (eb) => eb.fn.countAll<number>().as('people')])
    .where('model_id', '=', 'md-coordination')
    .where('ended_at', 'is', null)
    .where('lead_practitioner_id', 'is not', null)
    .groupBy('lead_practitioner_id')
    .orderBy('people', 'desc')
    .orderBy('lead_practitioner_id')
    .execute();
  const practitioners = await practitionersByIds(
    db,
    leads.map((l) => l.lead_practitioner_id),
  );
  const organisations = await organisationsByIds(
    db,
    [...practitioners.values()].map((p) => p.organisationId),
  );
  const leadId = leads.map((l) => l.lead_practitioner_id!).find((id) => organisations.has(practitioners.get(id)?.organisationId ?? ''));
  const lead = leadId ? practitioners.get(leadId) : undefined;
  if (lead) {
    accounts.push({
      username: 'coordinator',
      description: `${lead.givenName} ${lead.familyName}, named coordinator for adults facing multiple disadvantage at ${organisations.get(lead.organisationId)!.name}`,
    });
    await createAccountUnlessTaken(db, {
      username: 'coordinator',
      displayName: `${lead.givenName} ${lead.familyName}`,
      role: 'practitioner',
      password,
      practitionerId: lead.id,
      organisationId: lead.organisationId,
    });
  }
  // The multiple-disadvantage team (set up with the place; here too for a place loaded before it
  // existed), and its member from the mental health trust: a colleague from another agency who
  // covers the team's shared worklist on duty, reaching its caseload through the team.
  await seedIntegratedTeam(db);
  const cover = await demoTeamMemberFrom(db, 'mental_health_trust');
  if (cover) {
    accounts.push({
      username: 'teammember',
      description: `${cover.name}, ${cover.organisation}, a member of the integrated Multiple Disadvantage Team who picks up its shared work on duty`,
    });
    await createAccountUnlessTaken(db, {
      username: 'teammember',
      displayName: cover.name,
      role: 'practitioner',
      password,
      practitionerId: cover.practitionerId,
      organisationId: cover.organisationId,
    });
  }
  // The demo citizen's own shared plan, led by the demo practitioner's organisation.
  if ((await plansOf(db, citizenId)).length === 0) {
    const practitioner = (await practitionersByIds(db, [practitionerId])).get(practitionerId);
    if (practitioner) {
      const actor: SignedInUser = {
        id: 'demo',
        username: 'demo',
        displayName: 'Demo set-up',
        role: 'practitioner',
        personId: null,
        practitionerId: practitioner.id,
        organisationId: practitioner.organisationId,
        teamId: practitioner.teamId,
      };
      await db
        .transaction()
        .execute((trx) => makeLeadPractitioner(trx, citizenId, practitioner.id, "the demo citizen's shared plan", null));
      const today = new Date().toISOString().slice(0, 10);
      const planId = await db.transaction().execute((trx) =>
        createPlan(trx, actor, {
          personId: citizenId,
          householdId: null,
          memberIds: [],
          title: 'My support plan',
          nextReviewOn: addMonths(today, 3),
        }),
      );
      const framework = new Set(['WELL', 'CONN', 'HOME', 'INFO', 'TOGETHER']);
      const goal = await db
        .transaction()
        .execute((trx) =>
          addGoal(
            trx,
            actor,
            planId,
            { personId: citizenId, text: 'Feel well enough to get back to my allotment', outcomeCodes: ['WELL', 'CONN'], setBy: 'person' },
            framework,
          ),
        );
      await db.transaction().execute((trx) =>
        addAction(trx, actor, planId, {
          goalId: goal,
          description: 'Visit at home to talk through what support would help',
          assignedOrganisationId: practitioner.organisationId,
          assignedPractitionerId: practitioner.id,
          dueOn: addMonths(today, 1),
        }),
      );
    }
  }
  return accounts;
}
