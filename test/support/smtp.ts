// A real SMTP server for tests (smtp-server), on a free port of this machine: Joinery sends to it
// through SMTP_URL as it would to a mail provider. It keeps every message it accepts (read with
// mailparser, as a mail client would: decoded subject and text, and the envelope's recipients),
// lets tests wait for an address's mail, and can be told to refuse mail, as a broken or full
// mail server would, so retries and failures can be seen end to end.
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

export interface ReceivedMail {
  /** The To header as written. */
  to: string;
  /** The envelope's recipients, lower-cased: who the mail was actually delivered to. */
  recipients: string[];
  subject: string;
  text: string;
  /** The message as sent, headers and all: what must not carry personal details anywhere. */
  raw: string;
}

export interface TestSmtpServer {
  /** smtp://127.0.0.1:port, for SMTP_URL. */
  url: string;
  mails: ReceivedMail[];
  /** 'refuse': every recipient is refused with a temporary error that quotes the address. */
  mode: 'accept' | 'refuse';
  /** Resolves with the first mail (from `after` on) that matches; rejects if none comes in 20 seconds. */
  waitForMail(match?: (mail: ReceivedMail) => boolean, after?: number): Promise<ReceivedMail>;
  /** The mail delivered to this address so far. */
  to(address: string): ReceivedMail[];
  /**
   * Waits until this address has received `count` mails (at most 30 s), and returns them all; with
   * a subject, only mails with that subject count (a demo account may also be told, say, of a plan
   * review falling due, depending on the day the tests run).
   */
  waitFor(address: string, count?: number, subject?: string): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const mails: ReceivedMail[] = [];
  const to = (address: string) => mails.filter((mail) => mail.recipients.includes(address.toLowerCase()));
  const state: TestSmtpServer = {
    url: '',
    mails,
    mode: 'accept',
    to,
    async waitForMail(match = () => true, after = 0) {
      for (let waited = 0; ; waited += 25) {
        const found = mails.slice(after).find(match);
        if (found) return found;
        if (waited > 20_000) throw new Error(`no matching mail arrived (${mails.length} received)`);
        await pause(25);
      }
    },
    async waitFor(address, count = 1, subject) {
      const received = () => to(address).filter((mail) => subject === undefined || mail.subject === subject);
      for (let waited = 0; received().length < count; waited += 25) {
        if (waited > 30_000)
          throw new Error(`${address} received ${received().length} emails${subject ? ` titled '${subject}'` : ''}, not ${count}`);
        await pause(25);
      }
      return received();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (state.mode === 'refuse') {
        const error = Object.assign(new Error(`Mailbox ${address.address} is temporarily unavailable`), { responseCode: 450 });
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            const header = parsed.to;
            mails.push({
              to: (Array.isArray(header) ? header.map((h) => h.text).join(', ') : header?.text) ?? '',
              recipients,
              subject: parsed.subject ?? '',
              text: (parsed.text ?? '').trim(),
              raw: raw.toString('utf8'),
            });
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  if (!address || typeof address !== 'object') throw new Error('the SMTP server is not listening');
  state.url = `smtp://127.0.0.1:${address.port}`;
  return state;
}

/** The first link in a mail to this path on the server, e.g. /account/reset/. */
export function linkIn(mail: ReceivedMail, path: string): string {
  const match = new RegExp(`https?://[^\\s]+${path.replace(/[/]/g, '\\/')}[A-Za-z0-9_-]+`).exec(mail.text);
  if (!match) throw new Error(`no ${path} link in the email: ${mail.text}`);
  return match[0];
}
