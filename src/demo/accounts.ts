// One sign-in for each role in the demo place, chosen deterministically from the loaded data.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { seedDemoCitizenChoices } from './consent-seed.ts';
import { setUpHouseholdReferralDemo, setUpReferralDemo } from '../referrals/index.ts';
import { setUpPlansDemo } from '../plans/index.ts';
import { setUpLocalityLeadDemo } from './locality-lead.ts';
import { createAccount, takenUsernames, userByUsername, userIdByUsername, type DemoAccountInfo } from '../auth/index.ts';
import { allOrganisations, practitionersWithOrganisationTable } from '../network/index.ts';
import { personHeldByOrganisation, sourceCountsOfPeople } from '../linkage/index.ts';
import { hasCurrentNeedOf, personBirthDateOf, personFamilyNameOf, personGivenNameOf } from '../people/index.ts';
import { setUpFundingDemo } from '../budgets/index.ts';

export const DEMO_PASSWORD = 'joinery-demo-2026';

interface PickedPractitioner {
  id: string;
  organisation_id: string;
  given_name: string;
  family_name: string;
  role: string;
  organisation: string;
}

/** A citizen with a story: an adult known to several agencies with current needs. */
async function pickCitizen(db: Kysely<Database>): Promise<{ id: string; given_name: string; family_name: string }> {
  const result = await sql<{ id: string; given_name: string; family_name: string }>`
    select k.person_id as id, ${personGivenNameOf('k.person_id')} as given_name, ${personFamilyNameOf('k.person_id')} as family_name
    from ${sourceCountsOfPeople(3)} k
    where ${personBirthDateOf('k.person_id')} between date '1956-01-01' and date '2000-01-01'
      and ${hasCurrentNeedOf('k.person_id')}
    order by k.sources desc, k.person_id
    limit 1`.execute(db);
  const row = result.rows[0];
  if (!row) throw new Error('the demo place has no adult known to three agencies; load a bigger place');
  return row;
}

/** A practitioner in council adult social care, whose organisation knows many people. */
async function pickPractitioner(db: Kysely<Database>, citizenId: string): Promise<PickedPractitioner> {
  const result = await sql<PickedPractitioner>`
    select pr.id, pr.organisation_id, pr.given_name, pr.family_name, pr.role, pr.organisation_name as organisation
    from ${practitionersWithOrganisationTable} pr
    where ${personHeldByOrganisation(citizenId, sql.ref('pr.organisation_id'))}
    order by (pr.organisation_kind = 'council_adult_social_care') desc, (pr.role = 'social_worker') desc, pr.id
    limit 1`.execute(db);
  const row = result.rows[0];
  if (!row) throw new Error('no practitioner works for an organisation that knows the demo citizen');
  return row;
}

export async function createDemoAccounts(db: Kysely<Database>): Promise<DemoAccountInfo[]> {
  const existing = await takenUsernames(db, ['citizen', 'practitioner', 'manager', 'admin']);
  const citizen = await pickCitizen(db);
  const practitioner = await pickPractitioner(db, citizen.id);
  // The place has one council adult social care organisation (synth/frame.ts).
  const council = (await allOrganisations(db)).find((o) => o.kind === 'council_adult_social_care');
  const accounts: DemoAccountInfo[] = [
    { username: 'citizen', description: `${citizen.given_name} ${citizen.family_name}, a resident who sees and controls their own record` },
    {
      username: 'practitioner',
      description: `${practitioner.given_name} ${practitioner.family_name}, ${practitioner.role.replace(/_/g, ' ')} at ${practitioner.organisation}`,
    },
    { username: 'manager', description: 'a commissioner who sees the place as a whole (aggregates only)' },
    { username: 'admin', description: 'a system administrator (no personal data)' },
  ];
  // The person index's reviewer: sees only people in the linkage review queue.
  accounts.push({ username: 'dataquality', description: 'a data quality officer who reviews uncertain matches in the person index' });
  if (!(await userIdByUsername(db, 'dataquality'))) {
    await createAccount(db, {
      username: 'dataquality',
      displayName: 'Dana Quinn (data quality)',
      role: 'data_quality',
      password: DEMO_PASSWORD,
    });
  }
  // The privacy officer reviews every emergency (break-glass) access.
  accounts.push({ username: 'privacy', description: 'a privacy officer who reviews emergency (break-glass) access' });
  if (!(await userIdByUsername(db, 'privacy'))) {
    await createAccount(db, {
      username: 'privacy',
      displayName: 'Priya Officer (privacy)',
      role: 'privacy_officer',
      password: DEMO_PASSWORD,
    });
  }
  // A locality lead: a manager at the organisation leading a locality (locality care organisations).
  accounts.push(...(await setUpLocalityLeadDemo(db, DEMO_PASSWORD)));
  await seedDemoCitizenChoices(db, citizen.id, practitioner.id);
  // Receiving services' practitioners (housing, GP) and the citizen's own referrals.
  accounts.push(...(await setUpReferralDemo(db, citizen.id, practitioner.id, DEMO_PASSWORD)));
  // The multiple-disadvantage coordinator, and the citizen's own shared plan.
  accounts.push(...(await setUpPlansDemo(db, citizen.id, practitioner.id, DEMO_PASSWORD)));
  if (existing.length !== 4) await createCoreAccounts(db, citizen, practitioner, council?.id);
  // Who pays for the citizen's care (issue 22): the council and an NHS trust share packages.
  accounts.push(...(await fundingDemo(db, citizen.id, practitioner)));
  return accounts;
}

async function createCoreAccounts(
  db: Kysely<Database>,
  citizen: { id: string; given_name: string; family_name: string },
  practitioner: PickedPractitioner,
  councilId: string | undefined,
): Promise<void> {
  const council = councilId ? { id: councilId } : undefined;
  await createAccount(db, {
    username: 'citizen',
    displayName: `${citizen.given_name} ${citizen.family_name}`,
    role: 'citizen',
    password: DEMO_PASSWORD,
    personId: citizen.id,
  });
  await createAccount(db, {
    username: 'practitioner',
    displayName: `${practitioner.given_name} ${practitioner.family_name}`,
    role: 'practitioner',
    password: DEMO_PASSWORD,
    practitionerId: practitioner.id,
    organisationId: practitioner.organisation_id,
  });
  await createAccount(db, {
    username: 'manager',
    displayName: 'Morgan Reid (commissioner)',
    role: 'manager',
    password: DEMO_PASSWORD,
    organisationId: council?.id,
  });
  await createAccount(db, { username: 'admin', displayName: 'Alex Admin', role: 'admin', password: DEMO_PASSWORD });
}

/** A signed-in user as the demo set-up acts for them (the demo's own accounts only). */
const demoUser = userByUsername;

/**
 * An NHS budget holder whose trust holds a record of the demo citizen, and the demo's funding
 * decisions (one changed on dispute, one disputed and waiting): the demo practitioner holds the
 * council's budget.
 */
async function fundingDemo(db: Kysely<Database>, citizenId: string, practitioner: PickedPractitioner): Promise<DemoAccountInfo[]> {
  const nhs = (
    await sql<PickedPractitioner>`
    select pr.id, pr.organisation_id, pr.given_name, pr.family_name, pr.role, pr.organisation_name as organisation
    from ${practitionersWithOrganisationTable} pr
    where pr.organisation_kind in ('hospital_trust', 'mental_health_trust')
      and ${personHeldByOrganisation(citizenId, sql.ref('pr.organisation_id'))}
    order by (pr.organisation_kind = 'hospital_trust') desc, pr.id limit 1`.execute(db)
  ).rows[0];
  if (!nhs) return [];
  if (!(await userIdByUsername(db, 'nhsfunding'))) {
    await createAccount(db, {
      username: 'nhsfunding',
      displayName: `${nhs.given_name} ${nhs.family_name}`,
      role: 'practitioner',
      password: DEMO_PASSWORD,
      practitionerId: nhs.id,
      organisationId: nhs.organisation_id,
    });
  }
  const [councilUser, nhsUser, citizenUser] = await Promise.all([
    demoUser(db, 'practitioner'),
    demoUser(db, 'nhsfunding'),
    demoUser(db, 'citizen'),
  ]);
  if (councilUser && nhsUser) {
    await setUpFundingDemo(db, {
      citizenId,
      council: { user: councilUser, organisationName: practitioner.organisation },
      nhs: { user: nhsUser, organisationName: nhs.organisation },
      citizenUser,
    });
    // The household referred as a whole: the citizen has agreed, the other adults not yet.
    if (citizenUser) await setUpHouseholdReferralDemo(db, citizenId, councilUser, citizenUser);
  }
  return [
    {
      username: 'nhsfunding',
      description: `${nhs.given_name} ${nhs.family_name}, NHS continuing healthcare budget holder at ${nhs.organisation}, who shares and disputes who pays for care packages`,
    },
  ];
}
