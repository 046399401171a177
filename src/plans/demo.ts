// Demo sign-ins for the plans module: a named coordinator for adults facing multiple
// disadvantage, and a shared plan for the demo citizen so they can add goals in their own words.
import type { Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import type { DemoAccountInfo } from '../auth/routes.ts';
import { createAccount } from '../auth/accounts.ts';
import { addAction, addGoal, createPlan, plansOf } from './plans.ts';
import { makeLeadPractitioner } from '../consent/index.ts';
import type { SignedInUser } from '../auth/index.ts';
import { addMonths } from './models.ts';

export async function setUpPlansDemo(db: Kysely<Database>, citizenId: string, practitionerId: string, password: string): Promise<DemoAccountInfo[]> {
  const accounts: DemoAccountInfo[] = [];
  const lead = await db.selectFrom('model_enrolments as e').innerJoin('practitioners as p', 'p.id', 'e.lead_practitioner_id').innerJoin('organisations as o', 'o.id', 'p.organisation_id')
    .select(['p.id', 'p.given_name', 'p.family_name', 'p.organisation_id', 'o.name', (eb) => eb.fn.countAll<number>().as('people')])
    .where('e.model_id', '=', 'md-coordination').where('e.ended_at', 'is', null)
    .groupBy(['p.id', 'p.given_name', 'p.family_name', 'p.organisation_id', 'o.name']).orderBy('people', 'desc').orderBy('p.id').executeTakeFirst();
  if (lead) {
    accounts.push({ username: 'coordinator', description: `${lead.given_name} ${lead.family_name}, named coordinator for adults facing multiple disadvantage at ${lead.name}` });
    if (!(await db.selectFrom('users').select('id').where('username', '=', 'coordinator').executeTakeFirst())) {
      await createAccount(db, { username: 'coordinator', displayName: `${lead.given_name} ${lead.family_name}`, role: 'practitioner', password, practitionerId: lead.id, organisationId: lead.organisation_id });
    }
  }
  // The demo citizen's own shared plan, led by the demo practitioner's organisation.
  if ((await plansOf(db, citizenId)).length === 0) {
    const practitioner = await db.selectFrom('practitioners').select(['id', 'organisation_id']).where('id', '=', practitionerId).executeTakeFirst();
    if (practitioner) {
      const team = await db.selectFrom('practitioners').select('team_id').where('id', '=', practitioner.id).executeTakeFirstOrThrow();
      const actor: SignedInUser = { id: 'demo', username: 'demo', displayName: 'Demo set-up', role: 'practitioner', personId: null, practitionerId: practitioner.id, organisationId: practitioner.organisation_id, teamId: team.team_id };
      await makeLeadPractitioner(db, citizenId, practitioner.id, 'the demo citizen\'s shared plan', null);
      const today = new Date().toISOString().slice(0, 10);
      const planId = await createPlan(db, actor, { personId: citizenId, householdId: null, memberIds: [], title: 'My support plan', nextReviewOn: addMonths(today, 3) });
      const framework = new Set(['WELL', 'CONN', 'HOME', 'INFO', 'TOGETHER']);
      const goal = await addGoal(db, actor, planId, { personId: citizenId, text: 'Feel well enough to get back to my allotment', outcomeCodes: ['WELL', 'CONN'], setBy: 'person' }, framework);
      await addAction(db, actor, planId, { goalId: goal, description: 'Visit at home to talk through what support would help', assignedOrganisationId: practitioner.organisation_id, assignedPractitionerId: practitioner.id, dueOn: addMonths(today, 1) });
    }
  }
  return accounts;
}
