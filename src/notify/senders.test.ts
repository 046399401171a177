// The senders: text messages and emails through GOV.UK Notify's published client, against a local
// stand-in for Notify's API (what it is sent, signed with a token from the API key); Notify's
// refusals reach the admin without the number; with nothing configured, each channel says what
// to set; and the configuration refuses a mail server address that is not smtp:// or smtps://.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { ConfigError, loadConfig } from '../platform/config.ts';
import { failureText, sendersFromConfig } from './senders.ts';

describe('GOV.UK Notify', () => {
  let server: http.Server;
  let baseUrl = '';
  const received: Array<{ path: string; authorization: string; body: Record<string, unknown> }> = [];
  let refuse = false;
  const serviceId = randomUUID();
  const apiKey = `joinery_test-${serviceId}-${randomUUID()}`;

  before(async () => {
    server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        received.push({
          path: request.url ?? '',
          authorization: String(request.headers.authorization ?? ''),
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        });
        response.setHeader('content-type', 'application/json');
        if (refuse) {
          response.statusCode = 400;
          response.end(
            JSON.stringify({
              status_code: 400,
              errors: [{ error: 'ValidationError', message: 'phone_number +447700900982 is not a valid UK mobile number' }],
            }),
          );
          return;
        }
        response.statusCode = 201;
        response.end(
          JSON.stringify({
            id: randomUUID(),
            reference: null,
            content: { body: 'x', from_number: 'Joinery' },
            uri: 'x',
            template: { id: 't', version: 1, uri: 'x' },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  const senders = () =>
    sendersFromConfig(
      loadConfig({
        NOTIFY_API_KEY: apiKey,
        NOTIFY_BASE_URL: baseUrl,
        NOTIFY_SMS_TEMPLATE_ID: 'sms-template',
        NOTIFY_EMAIL_TEMPLATE_ID: 'email-template',
      }).notify,
    );

  test("a text message goes to Notify's API with the template, the number, the words and a signed token", async () => {
    const { sms } = senders();
    assert.equal(sms.name, 'govuk-notify');
    await sms.send({
      to: '+447700900982',
      subject: 'New message in Joinery',
      text: 'You have a new message in Joinery.',
      reference: 'joinery-7',
    });
    const last = received.at(-1)!;
    assert.equal(last.path, '/v2/notifications/sms');
    assert.deepEqual(last.body, {
      template_id: 'sms-template',
      phone_number: '+447700900982',
      personalisation: { body: 'You have a new message in Joinery.' },
      reference: 'joinery-7',
    });
    const [, payload] = last.authorization.replace(/^Bearer /, '').split('.');
    assert.equal(JSON.parse(Buffer.from(payload!, 'base64url').toString()).iss, serviceId, 'a JWT issued by the service, from the API key');
  });

  test('without SMTP_URL, email goes through Notify too, with subject and body as personalisation', async () => {
    const { email } = senders();
    await email.send({
      to: 'resident@example.org',
      subject: 'New message in Joinery',
      text: 'You have a new message in Joinery.',
      reference: 'joinery-8',
    });
    assert.deepEqual(received.at(-1)!.body, {
      template_id: 'email-template',
      email_address: 'resident@example.org',
      personalisation: { subject: 'New message in Joinery', body: 'You have a new message in Joinery.' },
      reference: 'joinery-8',
    });
  });

  test("Notify's refusal is shown to the admin with its reason, without the number", async () => {
    refuse = true;
    try {
      const error = await senders()
        .sms.send({ to: '+447700900982', subject: 's', text: 't', reference: 'joinery-9' })
        .then(
          () => null,
          (e: unknown) => e,
        );
      assert.ok(error);
      assert.equal(failureText(error), 'GOV.UK Notify answered 400: phone_number [number] is not a valid UK mobile number');
    } finally {
      refuse = false;
    }
  });
});

test('with nothing configured, each channel fails with what to set', async () => {
  const { email, sms } = sendersFromConfig(loadConfig({}).notify);
  assert.equal(email.name, 'not-configured');
  await assert.rejects(
    email.send({ to: 'a@example.org', subject: 's', text: 't', reference: 'r' }),
    /email is not configured: set SMTP_URL/,
  );
  await assert.rejects(
    sms.send({ to: '+447700900982', subject: 's', text: 't', reference: 'r' }),
    /text messages are not configured: set NOTIFY_API_KEY with NOTIFY_SMS_TEMPLATE_ID/,
  );
});

test('the configuration refuses what cannot send', () => {
  assert.throws(() => loadConfig({ SMTP_URL: 'http://mail.example.org' }), ConfigError);
  assert.throws(() => loadConfig({ SMTP_URL: 'not a url' }), /SMTP_URL is not a valid URL/);
  assert.throws(() => loadConfig({ NOTIFY_SMS_TEMPLATE_ID: 'x' }), /NOTIFY_API_KEY is not/);
  assert.throws(() => loadConfig({ NOTIFY_FROM: 'nobody' }), /NOTIFY_FROM must be an email address/);
  assert.equal(loadConfig({ SMTP_URL: 'smtps://user:pw@mail.example.org:465' }).notify.smtpUrl, 'smtps://user:pw@mail.example.org:465');
});
