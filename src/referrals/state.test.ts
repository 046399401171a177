// The referral state machine: every allowed step, every refusal, and random action sequences.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  availableActions,
  closedStatuses,
  isOpen,
  referralStatuses,
  transition,
  type Party,
  type ReferralAction,
  type ReferralStatus,
} from './state.ts';

const S = 'svc-a';
const contact = { on: '2026-03-03', method: 'phone' as const };
const go = (status: ReferralStatus, action: ReferralAction, party: Party = 'receiver') =>
  transition({ status, serviceId: S }, action, party);

describe('referral state machine', () => {
  test('the happy path: sent → received → accepted → in progress → completed', () => {
    let status: ReferralStatus = 'sent';
    for (const [kind, expected] of [
      ['acknowledge', 'received'],
      ['accept', 'accepted'],
      ['start', 'in_progress'],
      ['complete', 'completed'],
    ] as const) {
      const r = go(status, (kind === 'start' ? { kind, contact } : { kind }) as ReferralAction);
      assert.ok(r.ok, kind);
      assert.equal(r.status, expected);
      status = r.status;
    }
    const last = go('in_progress', { kind: 'complete' });
    assert.ok(last.ok && last.closes, 'completion closes the referral');
  });

  test('a decline needs a reason, and either an onward service that is not this one or the choice not to hand it on', () => {
    assert.deepEqual(go('received', { kind: 'decline', reason: '', onwardServiceId: 'svc-b' }), {
      ok: false,
      error: 'Say why your service cannot help',
      field: 'reason',
    });
    const noOnward = go('received', { kind: 'decline', reason: 'Out of area', onwardServiceId: null });
    assert.ok(!noOnward.ok && noOnward.field === 'onward');
    const same = go('received', { kind: 'decline', reason: 'Out of area', onwardServiceId: S });
    assert.ok(!same.ok && same.field === 'onward');
    const ok = go('received', { kind: 'decline', reason: 'Out of area', onwardServiceId: 'svc-b' });
    assert.deepEqual(ok, { ok: true, status: 'declined', closes: true, onwardServiceId: 'svc-b' });
    assert.ok(go('sent', { kind: 'decline', reason: 'x', onwardServiceId: 'svc-b' }).ok, 'may decline before acknowledging');
    assert.ok(!go('accepted', { kind: 'decline', reason: 'x', onwardServiceId: 'svc-b' }).ok, 'cannot decline once accepted');
    const notHandedOn = go('received', { kind: 'decline', reason: 'The person said no', onwardServiceId: null, notHandedOn: true });
    assert.deepEqual(notHandedOn, { ok: true, status: 'declined', closes: true, onwardServiceId: null });
    assert.deepEqual(
      go('received', { kind: 'decline', reason: ' ', onwardServiceId: null, notHandedOn: true }),
      { ok: false, error: 'Say why your service cannot help', field: 'reason' },
      'not handing on still needs the reason',
    );
  });

  test('first contact needs its date and how it was made', () => {
    assert.ok(go('accepted', { kind: 'start', contact }).ok);
    const noDate = go('accepted', { kind: 'start', contact: { on: '', method: 'visit' } });
    assert.ok(!noDate.ok && noDate.field === 'contact');
    const noMethod = go('accepted', { kind: 'start', contact: { on: '2026-03-03', method: '' as 'phone' } });
    assert.ok(!noMethod.ok && noMethod.field === 'method');
  });

  test('only the receiver moves a referral on; referrer, receiver or person may cancel, with a reason', () => {
    assert.ok(!go('sent', { kind: 'acknowledge' }, 'referrer').ok);
    assert.ok(!go('sent', { kind: 'acknowledge' }, 'person').ok);
    for (const party of ['referrer', 'receiver', 'person'] as const)
      assert.ok(go('accepted', { kind: 'cancel', reason: 'moved away' }, party).ok, party);
    assert.ok(!go('accepted', { kind: 'cancel', reason: '  ' }, 'referrer').ok);
  });

  test('closed referrals accept no action at all, and assigning keeps the status', () => {
    for (const status of closedStatuses) {
      for (const party of ['referrer', 'receiver', 'person'] as const)
        assert.deepEqual(availableActions(status, party), [], `${status} ${party}`);
    }
    const r = go('received', { kind: 'assign', practitionerId: 'p1' });
    assert.ok(r.ok && r.status === 'received' && !r.closes);
  });

  test('every status is reachable from sent', () => {
    const seen = new Set<ReferralStatus>(['sent']);
    const queue: ReferralStatus[] = ['sent'];
    const all: ReferralAction[] = [
      { kind: 'acknowledge' },
      { kind: 'accept' },
      { kind: 'decline', reason: 'r', onwardServiceId: 'b' },
      { kind: 'start', contact },
      { kind: 'complete' },
      { kind: 'cancel', reason: 'r' },
    ];
    while (queue.length) {
      const s = queue.shift()!;
      for (const a of all) {
        const r = go(s, a);
        if (r.ok && !seen.has(r.status)) {
          seen.add(r.status);
          queue.push(r.status);
        }
      }
    }
    assert.deepEqual([...seen].sort(), [...referralStatuses].sort());
  });

  const actionArb: fc.Arbitrary<ReferralAction> = fc.oneof(
    fc.constant({ kind: 'acknowledge' as const }),
    fc.constant({ kind: 'accept' as const }),
    fc.record({
      kind: fc.constant('decline' as const),
      reason: fc.constantFrom('', ' ', 'Out of area', 'Full'),
      onwardServiceId: fc.constantFrom(null, '', S, 'svc-b', 'svc-c'),
      notHandedOn: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant('start' as const),
      contact: fc.record({
        on: fc.constantFrom('', '2026-03-03'),
        method: fc.constantFrom('phone' as const, 'other' as const, '' as 'phone'),
      }),
    }),
    fc.record({ kind: fc.constant('complete' as const), note: fc.option(fc.string(), { nil: undefined }) }),
    fc.record({ kind: fc.constant('cancel' as const), reason: fc.constantFrom('', 'No longer needed') }),
    fc.record({ kind: fc.constant('assign' as const), practitionerId: fc.constantFrom('', 'p1') }),
  );
  const partyArb = fc.constantFrom<Party>('referrer', 'receiver', 'person');

  test('property: random action sequences never reach an illegal state, and every decline has a reason and an onward route or the choice not to hand on', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(actionArb, partyArb), { maxLength: 30 }), (steps) => {
        let status: ReferralStatus = 'sent';
        let closedAt = -1;
        steps.forEach(([action, party], i) => {
          const result = transition({ status, serviceId: S }, action, party);
          if (!result.ok) return;
          assert.ok(closedAt === -1, 'nothing moves a closed referral');
          assert.ok((referralStatuses as readonly string[]).includes(result.status));
          assert.ok(availableActions(status, party).includes(action.kind), 'only advertised actions succeed');
          if (result.status === 'declined') {
            assert.equal(action.kind, 'decline');
            assert.ok(action.kind === 'decline' && action.reason.trim().length > 0, 'a decline always says why');
            if (action.notHandedOn) assert.equal(result.onwardServiceId, null, 'declined without handing on');
            else assert.ok(result.onwardServiceId && result.onwardServiceId !== S, 'otherwise it names another service');
          } else assert.equal(result.onwardServiceId, null);
          if (action.kind !== 'cancel' && action.kind !== 'assign') assert.equal(party, 'receiver');
          assert.equal(result.closes, !isOpen(result.status));
          if (result.status === 'in_progress') assert.ok(status === 'accepted' || status === 'in_progress');
          if (result.status === 'completed') assert.equal(status, 'in_progress');
          if (result.closes) closedAt = i;
          status = result.status;
        });
      }),
      { numRuns: 2000 },
    );
  });
});
