// Proxies: a parent acting for their child, or a registered carer acting for the person they
// care for with that person's permission. Listing whom one acts for is the proxy's own data.
import type { Kysely } from 'kysely';
import type { Database } from '../platform/schema.ts';

export interface ProxyFor { personId: string; name: string; kind: 'parent' | 'carer'; until: Date | null }

export async function proxiesOf(db: Kysely<Database>, proxyPersonId: string, now: Date = new Date()): Promise<ProxyFor[]> {
  const rows = await db.selectFrom('proxies as x').innerJoin('persons as p', 'p.id', 'x.person_id')
    .select(['x.person_id', 'p.given_name', 'p.family_name', 'x.kind', 'x.valid_until'])
    .where('x.proxy_person_id', '=', proxyPersonId).where('x.revoked_at', 'is', null).where('x.valid_from', '<=', now)
    .where((eb) => eb.or([eb('x.valid_until', 'is', null), eb('x.valid_until', '>', now)]))
    .orderBy('p.birth_date').execute();
  return rows.map((r) => ({ personId: r.person_id, name: `${r.given_name} ${r.family_name}`, kind: r.kind, until: r.valid_until }));
}
