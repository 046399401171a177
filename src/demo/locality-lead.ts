// The demo's locality lead (issue 22): a manager at the organisation leading the first locality
// (by name) that has a lead, who opens the locality view for it and compares it with the others,
// and the two targets the demo starts with (set by this manager when the account is made).
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { createAccountUnlessTaken, type DemoAccountInfo } from '../auth/index.ts';
import { localityLeadership, seedLocalityOrganisations } from '../place/index.ts';
import { setDemoTargets } from '../insight/index.ts';

export async function setUpLocalityLeadDemo(db: Kysely<Database>, password: string): Promise<DemoAccountInfo[]> {
  // A place loaded before locality care organisations existed gets its leads and partners now.
  await seedLocalityOrganisations(db);
  const led = (await localityLeadership(db)).find((l) => l.lead !== null);
  if (!led?.lead) return [];
  const id = await createAccountUnlessTaken(db, {
    username: 'locality',
    displayName: `Lee Ward (${led.locality} locality lead)`,
    role: 'manager',
    password,
    organisationId: led.lead.id,
  });
  // Targets to see against the figures (/insight/targets), set once, by this manager.
  if (id) await setDemoTargets(db, id);
  return [
    {
      username: 'locality',
      description: `a manager at ${led.lead.name}, which leads the ${led.locality} locality: its locality view, compared with the others`,
    },
  ];
}
