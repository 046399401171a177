// Events out: a change and its outbox row commit together (a rolled-back change sends nothing);
// the dispatcher signs each delivery (HMAC-SHA256), retries with exponential backoff when the
// receiver fails, and gives up after the last attempt. The receiver is a local HTTP server on
// 127.0.0.1 only.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import { testDatabaseTargets } from '../src/testing.ts';
import { loadSyntheticPlace } from '../src/demo/load-place.ts';
import { addWebhook, backoffMs, checkWebhookUrl, createDispatcher } from '../src/interop/outbox.ts';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function receiver(answers: number[]): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.statusCode = answers[Math.min(received.length - 1, answers.length - 1)]!;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/hook`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function verify(secret: string, received: Received): boolean {
  const header = String(received.headers['x-joinery-signature'] ?? '');
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${received.body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

test('webhook URLs: https, or http to this machine only', () => {
  assert.equal(checkWebhookUrl('https://agency.example/hook'), 'https://agency.example/hook');
  assert.equal(checkWebhookUrl('http://127.0.0.1:9/x'), 'http://127.0.0.1:9/x');
  assert.throws(() => checkWebhookUrl('http://agency.example/hook'));
  assert.throws(() => checkWebhookUrl('ftp://127.0.0.1/x'));
  assert.throws(() => checkWebhookUrl('https://user:pw@agency.example/'));
  assert.ok(backoffMs(1, 1000, 0) === 1000 && backoffMs(2, 1000, 0) === 2000 && backoffMs(5, 1000, 0) === 16000, 'the delay doubles');
});

for (const target of await testDatabaseTargets()) {
  describe(`webhooks from the outbox on ${target.kind}`, () => {
    test('committed changes are delivered signed, retried with backoff; rolled-back ones never exist', async () => {
      const database = await target.open();
      const db = database.db;
      const hook = await receiver([500, 200]);
      try {
        await loadSyntheticPlace(db, { seed: 11, people: 600 });
        const { id: subscriptionId, secret } = await addWebhook(db, {
          url: hook.url,
          topics: ['care_network.changed', 'referral.status'],
          createdBy: null,
        });
        // Events from before the subscription are not sent to it.
        const dispatcher = createDispatcher(db, { baseDelayMs: 1000, maxAttempts: 3 });
        assert.equal(await dispatcher.runOnce(), 0, 'nothing from before the subscription');

        const person = await db.selectFrom('persons').select('id').orderBy('id').executeTakeFirstOrThrow();
        const org = await db.selectFrom('organisations').select('id').orderBy('id').executeTakeFirstOrThrow();
        const relationship = {
          person_id: person.id,
          organisation_id: org.id,
          team_id: null,
          practitioner_id: null,
          kind: 'case' as const,
          role_label: null,
          reason: 'test',
          ended_at: null,
          recorded_by: null,
        };
        const committed = await db.insertInto('care_relationships').values(relationship).returning('id').executeTakeFirstOrThrow();
        await assert.rejects(
          db.transaction().execute(async (trx) => {
            await trx
              .insertInto('care_relationships')
              .values({ ...relationship, reason: 'rolled back' })
              .execute();
            throw new Error('the change fails');
          }),
          /the change fails/,
        );
        const events = await db
          .selectFrom('outbox')
          .select(['id', 'topic', 'resource_id'])
          .where('dispatched_at', 'is', null)
          .orderBy('id')
          .execute();
        assert.deepEqual(
          events.map((e) => [e.topic, e.resource_id]),
          [['care_network.changed', String(committed.id)]],
          'exactly one event: the committed change',
        );

        // First attempt: the receiver fails; the delivery waits for its backoff.
        const t0 = new Date();
        assert.equal(await dispatcher.runOnce(t0), 1);
        assert.equal(hook.received.length, 1);
        let delivery = await db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('subscription_id', '=', subscriptionId)
          .executeTakeFirstOrThrow();
        assert.equal(delivery.attempts, 1);
        assert.equal(delivery.delivered_at, null);
        assert.equal(delivery.last_status, 500);
        const wait = new Date(delivery.next_attempt_at).getTime() - t0.getTime();
        assert.ok(wait >= 1000 && wait <= 1200, `retry after the base delay (${wait} ms)`);
        assert.equal(await dispatcher.runOnce(new Date(t0.getTime() + 500)), 0, 'not retried before its time');
        assert.equal(await dispatcher.runOnce(new Date(t0.getTime() + 1300)), 1, 'retried when due');
        delivery = await db.selectFrom('webhook_deliveries').selectAll().where('id', '=', delivery.id).executeTakeFirstOrThrow();
        assert.notEqual(delivery.delivered_at, null, 'delivered on the second attempt');
        assert.equal(hook.received.length, 2);
        for (const received of hook.received) assert.ok(verify(secret, received), 'signed with the subscription secret');
        assert.ok(!verify('whsec_wrong', hook.received[1]!), 'a different secret does not verify');
        const body = JSON.parse(hook.received[1]!.body) as { type: string; resource: { reference: string }; id: string };
        assert.equal(body.type, 'care_network.changed');
        assert.equal(body.resource.reference, `EpisodeOfCare/${committed.id}`);
        assert.equal(hook.received[0]!.body, hook.received[1]!.body, 'a retry sends the same event');
        assert.ok(!hook.received[1]!.body.includes(person.id), 'no personal identifiers in the event');

        // A referral's state change carries its old and new state.
        const referral = await db
          .selectFrom('referrals')
          .select(['id', 'status'])
          .where('status', '=', 'sent')
          .orderBy('id')
          .executeTakeFirst();
        if (referral) {
          await sql`update referrals set status = 'received', acknowledged_at = now() where id = ${referral.id}`.execute(db);
          assert.equal(await dispatcher.runOnce(new Date(Date.now() + 60_000)), 1);
          const event = JSON.parse(hook.received.at(-1)!.body) as {
            type: string;
            resource: { reference: string };
            data: { status: string; previousStatus: string };
          };
          assert.deepEqual(
            [event.type, event.resource.reference, event.data.previousStatus, event.data.status],
            ['referral.status', `ServiceRequest/${referral.id}`, 'sent', 'received'],
          );
        }
        await dispatcher.stop();
      } finally {
        await hook.close();
        await database.close();
      }
    });

    test('a receiver that keeps failing is given up on after the last attempt', async () => {
      const database = await target.open();
      const db = database.db;
      const hook = await receiver([503]);
      try {
        await loadSyntheticPlace(db, { seed: 11, people: 600 });
        await addWebhook(db, { url: hook.url, topics: ['consent.changed'], createdBy: null });
        const person = await db.selectFrom('persons').select('id').orderBy('id').executeTakeFirstOrThrow();
        await db
          .insertInto('consent_directives')
          .values({
            person_id: person.id,
            category: 'housing',
            recipient_kind: 'network',
            recipient_id: null,
            purposes: ['direct_care'],
            decision: 'deny',
            valid_until: null,
            recorded_by: null,
            recorded_by_role: 'citizen',
            withdrawn_at: null,
            withdrawn_by: null,
            note: null,
          })
          .execute();
        const dispatcher = createDispatcher(db, { baseDelayMs: 1000, maxAttempts: 3 });
        let now = Date.now();
        for (let attempt = 0; attempt < 5; attempt++) {
          await dispatcher.runOnce(new Date(now));
          now += 60_000;
        }
        assert.equal(hook.received.length, 3, 'three attempts, then no more');
        const delivery = await db.selectFrom('webhook_deliveries').selectAll().executeTakeFirstOrThrow();
        assert.notEqual(delivery.failed_at, null);
        assert.equal(delivery.last_error, 'the receiver answered 503');
        await dispatcher.stop();
      } finally {
        await hook.close();
        await database.close();
      }
    });
  });
}
