// A real SMTP server for tests (the smtp-server package) on a free local port: Joinery sends to it
// through SMTP_URL as it would to a mail provider, and tests read back what each address received.
import { SMTPServer } from 'smtp-server';

export interface ReceivedEmail {
  to: string[];
  subject: string;
  text: string;
}

export interface Mailbox {
  /** smtp://127.0.0.1:port, for SMTP_URL. */
  url: string;
  received: ReceivedEmail[];
  /** Emails received so far for this address. */
  to(address: string): ReceivedEmail[];
  /** Waits until this address has received `count` emails (at most 30 s), and returns them all. */
  waitFor(address: string, count?: number): Promise<ReceivedEmail[]>;
  close(): Promise<void>;
}

function decodeQuotedPrintable(body: string): string {
  const bytes = Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  return bytes.toString('utf8');
}

/** The subject and plain text of a single-part message as nodemailer writes it (7bit, quoted-printable or base64). */
export function parseEmail(raw: string, to: string[]): ReceivedEmail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  const encoding = header('Content-Transfer-Encoding').toLowerCase();
  const text = encoding === 'quoted-printable' ? decodeQuotedPrintable(body) : encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
  const subject = header('Subject').replace(/=\?utf-8\?Q\?(.*?)\?=/gi, (_m, q: string) => decodeQuotedPrintable(q.replace(/_/g, ' ')));
  return { to, subject, text: text.replace(/\r\n/g, '\n') };
}

export async function startMailbox(): Promise<Mailbox> {
  const received: ReceivedEmail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push(parseEmail(Buffer.concat(chunks).toString('utf8'), session.envelope.rcptTo.map((r) => r.address.toLowerCase())));
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  if (!address || typeof address !== 'object') throw new Error('the test SMTP server is not listening');
  const to = (address_: string) => received.filter((m) => m.to.includes(address_.toLowerCase()));
  return {
    url: `smtp://127.0.0.1:${address.port}`,
    received,
    to,
    async waitFor(addressTo, count = 1) {
      for (let waited = 0; to(addressTo).length < count; waited += 50) {
        if (waited > 30_000) throw new Error(`${addressTo} received ${to(addressTo).length} emails, not ${count}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return to(addressTo);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The first link in an email that starts with this path on the server, e.g. /account/reset/. */
export function linkIn(email: ReceivedEmail, path: string): string {
  const match = new RegExp(`https?://[^\\s]+${path.replace(/[/]/g, '\\/')}[A-Za-z0-9_-]+`).exec(email.text);
  if (!match) throw new Error(`no ${path} link in the email: ${email.text}`);
  return match[0];
}
