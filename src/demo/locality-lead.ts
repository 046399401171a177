// The demo's locality lead (issue 22): a manager at the organisation leading the first locality
// (by name) that has a lead, who opens the locality view for it and compares it with the others.
import type { Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';
import { createAccountUnlessTaken, type DemoAccountInfo } from '../auth/index.ts';
import { localityLeadership, seedLocalityOrganisations } from '../place/index.ts';

export async function setUpLocalityLeadDemo(db: Kysely<Database>, password: string): Promise<DemoAccountInfo[]> {
  // A place loaded before locality care organisations existed gets its leads and partners now.
  await seedLocalityOrganisations(db);
  const led = (await localityLeadership(db)).find((l) => l.lead !== null);
  if (!led?.lead) return [];
  await createAccountUnlessTaken(db, { username: 'locality', displayName: `Lee Ward (${led.locality} locality lead)`, role: 'manager', password, organisationId: led.lead.id });
  return [{ username: 'locality', description: `a manager at ${led.lead.name}, which leads the ${led.locality} locality: its locality view, compared with the others` }];
}
