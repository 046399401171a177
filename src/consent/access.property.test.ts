// Property test of the whole consent module against the person's own word: random sequences of
// relationship, sharing-choice and proxy events, made through the module's real functions on a
// real database, and after every event the access decision (now, and a year and a half later,
// past the child's 16th birthday) must equal what an independent statement of the rules says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { testDatabaseTargets, testOrganisation, testPerson } from '../testing.ts';
import type { Database } from '../schema.ts';
import type { SignedInUser } from '../auth/index.ts';
import {
  categories,
  decideRecordAccess,
  endProxy,
  endRelationship,
  grantProxy,
  openRelationship,
  recordDirective,
  withdrawDirective,
  type Category,
} from './index.ts';

const DAY = 86_400_000;
const watched: Category[] = ['health', 'criminal_justice', 'housing', 'children_safeguarding', 'demographics'];

type Event =
  | { kind: 'open'; level: 'practitioner' | 'organisation' }
  | { kind: 'end'; index: number }
  | {
      kind: 'choice';
      by: 'person' | 'parent' | 'practitioner';
      category: Category | '*';
      decision: 'permit' | 'deny';
      to: 'network' | 'org-a' | 'org-b';
    }
  | { kind: 'withdraw'; index: number }
  | { kind: 'grant_proxy' }
  | { kind: 'end_proxy'; by: 'child' | 'parent' };

const eventArbitrary: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant('open' as const), level: fc.constantFrom('practitioner' as const, 'organisation' as const) }),
  fc.record({ kind: fc.constant('end' as const), index: fc.nat(10) }),
  fc.record({
    kind: fc.constant('choice' as const),
    by: fc.constantFrom('person' as const, 'parent' as const, 'practitioner' as const),
    category: fc.constantFrom<Category | '*'>('*', 'health', 'criminal_justice', 'housing'),
    decision: fc.constantFrom('permit' as const, 'deny' as const),
    to: fc.constantFrom('network' as const, 'org-a' as const, 'org-b' as const),
  }),
  fc.record({ kind: fc.constant('withdraw' as const), index: fc.nat(10) }),
  fc.record({ kind: fc.constant('grant_proxy' as const) }),
  fc.record({ kind: fc.constant('end_proxy' as const), by: fc.constantFrom('child' as const, 'parent' as const) }),
);

interface Model {
  relationships: Array<{ id: number; level: 'practitioner' | 'organisation'; open: boolean }>;
  choices: Array<{
    id: number;
    seq: number;
    own: boolean;
    category: Category | '*';
    decision: 'permit' | 'deny';
    to: 'network' | 'org-a' | 'org-b';
    withdrawn: boolean;
  }>;
  proxy: { id: number; ended: boolean } | null;
}

/** The rules as a person would state them, independently of consent/policy.ts. */
function expectedScope(
  model: Model,
  who: 'practitioner' | 'parent' | 'child',
  category: Category,
  at: Date,
  sixteenth: Date,
): 'all' | 'own_organisation' | 'none' {
  if (who === 'child') return category === 'children_safeguarding' ? 'none' : 'all';
  if (who === 'parent') {
    const inForce = model.proxy !== null && !model.proxy.ended && at < sixteenth;
    return inForce && category !== 'children_safeguarding' ? 'all' : 'none';
  }
  if (!model.relationships.some((r) => r.open)) return 'none';
  const covering = model.choices.filter(
    (c) => !c.withdrawn && (c.category === '*' || c.category === category) && (c.to === 'network' || c.to === 'org-a'),
  );
  // The person's own word (or their proxy's) first; a practitioner's record only where they said nothing.
  const own = covering.filter((c) => c.own);
  const pool = own.length > 0 ? own : covering;
  const latest = pool.sort((a, b) => a.seq - b.seq).at(-1);
  if (latest?.decision === 'permit') return 'all';
  if (latest?.decision === 'deny') return 'own_organisation';
  return category === 'demographics' ? 'all' : 'own_organisation';
}

async function fixture(db: Kysely<Database>): Promise<void> {
  const org = testOrganisation;
  await db
    .insertInto('organisations')
    .values([org('org-a', 'council_housing'), org('org-b', 'charity')])
    .execute();
  await db
    .insertInto('teams')
    .values([{ id: 't-a', organisation_id: 'org-a', name: 'Team A' }])
    .execute();
  await db
    .insertInto('practitioners')
    .values({
      id: 'pr-a',
      organisation_id: 'org-a',
      team_id: 't-a',
      given_name: 'Ada',
      family_name: 'Able',
      role: 'housing_officer',
      email: 'a@example.org',
    })
    .execute();
  await db
    .insertInto('persons')
    .values({ ...testPerson('p-parent'), given_name: 'Pat', family_name: 'Parent' } as never)
    .execute();
  for (const [id, role, personId, practitionerId, organisationId] of [
    ['u-pr', 'practitioner', null, 'pr-a', 'org-a'],
    ['u-parent', 'citizen', 'p-parent', null, null],
  ] as const) {
    await db
      .insertInto('users')
      .values({
        id,
        username: id,
        display_name: id,
        role,
        password_hash: null,
        oidc_subject: null,
        person_id: personId,
        practitioner_id: practitionerId,
        organisation_id: organisationId,
      } as never)
      .execute();
  }
}

const practitioner: SignedInUser = {
  id: 'u-pr',
  username: 'u-pr',
  displayName: 'Ada Able',
  role: 'practitioner',
  personId: null,
  practitionerId: 'pr-a',
  organisationId: 'org-a',
  teamId: 't-a',
};
const parent: SignedInUser = {
  id: 'u-parent',
  username: 'u-parent',
  displayName: 'Pat',
  role: 'citizen',
  personId: 'p-parent',
  practitionerId: null,
  organisationId: null,
  teamId: null,
};

for (const target of await testDatabaseTargets()) {
  test(`property (${target.kind}): access at every moment equals the rules on the person's own word`, async () => {
    const handle = await target.open();
    const db = handle.db;
    try {
      await fixture(db);
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(eventArbitrary, { minLength: 1, maxLength: 10 }), async (events) => {
          run += 1;
          // A fresh child for each history, turning 16 in 200 days.
          const childId = `p-child-${run}`;
          const birth = new Date(Date.now() + 200 * DAY);
          birth.setUTCFullYear(birth.getUTCFullYear() - 16);
          const birthDate = birth.toISOString().slice(0, 10);
          await db
            .insertInto('persons')
            .values({
              id: childId,
              household_id: null,
              given_name: 'Kit',
              middle_name: null,
              family_name: 'Child',
              birth_family_name: null,
              birth_date: birthDate,
              sex: 'male',
              ethnicity_group: null,
              disability: false,
              nhs_number: null,
              phone: null,
              email: null,
            } as never)
            .execute();
          await db
            .insertInto('users')
            .values({
              id: `u-${childId}`,
              username: `u-${childId}`,
              display_name: 'Kit',
              role: 'citizen',
              password_hash: null,
              oidc_subject: null,
              person_id: childId,
              practitioner_id: null,
              organisation_id: null,
            } as never)
            .execute();
          const child: SignedInUser = {
            id: `u-${childId}`,
            username: `u-${childId}`,
            displayName: 'Kit',
            role: 'citizen',
            personId: childId,
            practitionerId: null,
            organisationId: null,
            teamId: null,
          };
          const sixteenth = new Date(`${Number(birthDate.slice(0, 4)) + 16}${birthDate.slice(4)}T00:00:00Z`);
          const model: Model = { relationships: [], choices: [], proxy: null };
          let seq = 0;
          for (const event of events) {
            await db.transaction().execute(async (trx) => {
              if (event.kind === 'open') {
                const id = await openRelationship(trx, {
                  personId: childId,
                  organisationId: 'org-a',
                  teamId: event.level === 'practitioner' ? 't-a' : null,
                  practitionerId: event.level === 'practitioner' ? 'pr-a' : null,
                  ground: { kind: 'network', roleLabel: 'support', reason: 'property test' },
                  recordedBy: null,
                });
                model.relationships.push({ id, level: event.level, open: true });
              } else if (event.kind === 'end') {
                const r = model.relationships[event.index % Math.max(1, model.relationships.length)];
                if (r && (await endRelationship(trx, practitioner, { relationshipId: r.id, reason: 'property test' }))) r.open = false;
              } else if (event.kind === 'choice') {
                const actor = event.by === 'person' ? child : event.by === 'parent' ? parent : practitioner;
                // A practitioner records only what a referral needs, for one organisation; a proxy acts only while in force.
                if (event.by === 'practitioner' && (event.category === '*' || event.to === 'network')) return;
                if (event.by === 'parent' && !(model.proxy && !model.proxy.ended)) return;
                const id = await recordDirective(
                  trx,
                  actor,
                  childId,
                  {
                    category: event.category,
                    recipientKind: event.to === 'network' ? 'network' : 'organisation',
                    recipientId: event.to === 'network' ? null : event.to,
                    purposes: ['direct_care', 'care_coordination'],
                    decision: event.decision,
                    validUntil: null,
                    note: null,
                  },
                  event.by === 'practitioner' ? { evidence: 'said yes on the phone', referralId: null } : undefined,
                );
                model.choices.push({
                  id,
                  seq: seq++,
                  own: event.by !== 'practitioner',
                  category: event.category,
                  decision: event.decision,
                  to: event.to,
                  withdrawn: false,
                });
              } else if (event.kind === 'withdraw') {
                const c = model.choices[event.index % Math.max(1, model.choices.length)];
                if (c && (await withdrawDirective(trx, child, childId, c.id))) c.withdrawn = true;
              } else if (event.kind === 'grant_proxy') {
                if (model.proxy && !model.proxy.ended) return;
                const id = await grantProxy(trx, null, {
                  personId: childId,
                  proxyPersonId: 'p-parent',
                  kind: 'parent',
                  permittedBy: 'parental responsibility',
                });
                model.proxy = { id, ended: false };
              } else if (model.proxy && !model.proxy.ended) {
                await endProxy(trx, event.by === 'child' ? child : parent, model.proxy.id, 'property test');
                model.proxy.ended = true;
              }
            });
            // Distinct recorded times, so "latest" is never a tie the oracle cannot see.
            await new Promise((resolve) => setTimeout(resolve, 2));
            for (const at of [new Date(), new Date(Date.now() + 400 * DAY)]) {
              for (const [who, user, purpose] of [
                ['practitioner', practitioner, 'direct_care'],
                ['parent', parent, 'self'],
                ['child', child, 'self'],
              ] as const) {
                const access = await decideRecordAccess(
                  db,
                  { actor: user, personId: childId, categories: watched, purpose, action: 'read' },
                  at,
                );
                for (const category of watched) {
                  const want = expectedScope(model, who, category, at, sixteenth);
                  assert.equal(
                    access.byCategory[category].scope,
                    want,
                    `${who} × ${category} at ${at.toISOString().slice(0, 10)} after ${JSON.stringify(events)}: ${access.byCategory[category].reason}`,
                  );
                }
              }
            }
          }
        }),
        { numRuns: 25 },
      );
      assert.ok(categories.length > watched.length - 1);
    } finally {
      await handle.close();
    }
  });
}
