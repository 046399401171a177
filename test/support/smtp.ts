// A real SMTP server for tests (smtp-server), on a free port of this machine: it keeps every
// message it accepts (recipient, subject, decoded text) and can be told to refuse mail, as a
// broken or full mail server would, so retries and failures can be seen end to end.
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail { to: string; subject: string; text: string; raw: string }

export interface TestSmtpServer {
  url: string;
  mails: ReceivedMail[];
  /** 'refuse': every recipient is refused with a temporary error that quotes the address. */
  mode: 'accept' | 'refuse';
  /** Resolves with the first mail (from `after` on) that matches; rejects if none comes in 20 seconds. */
  waitForMail(match?: (mail: ReceivedMail) => boolean, after?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

/** Quoted-printable as nodemailer writes it: soft line breaks and =XX bytes (UTF-8). */
function decodeQuotedPrintable(body: string): string {
  const joined = body.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i += 1) {
    if (joined[i] === '=' && /^[0-9A-F]{2}$/i.test(joined.slice(i + 1, i + 3))) { bytes.push(parseInt(joined.slice(i + 1, i + 3), 16)); i += 2; } else bytes.push(...Buffer.from(joined[i]!));
  }
  return Buffer.from(bytes).toString('utf8');
}

export function parseMail(raw: string): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(head)?.[1]?.trim() ?? '';
  const encoding = header('Content-Transfer-Encoding').toLowerCase();
  const text = encoding === 'quoted-printable' ? decodeQuotedPrintable(body) : encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
  return { to: header('To'), subject: header('Subject'), text: text.replace(/\r\n/g, '\n').trim(), raw };
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const mails: ReceivedMail[] = [];
  const waiters: Array<() => void> = [];
  const state: TestSmtpServer = {
    url: '', mails, mode: 'accept',
    waitForMail(match = () => true, after = 0) {
      return new Promise((resolve, reject) => {
        const look = () => {
          const found = mails.slice(after).find(match);
          if (found) { resolve(found); return true; }
          return false;
        };
        if (look()) return;
        const timer = setTimeout(() => reject(new Error(`no matching mail arrived (${mails.length} received)`)), 20_000);
        const waiter = () => { if (look()) { clearTimeout(timer); waiters.splice(waiters.indexOf(waiter), 1); } };
        waiters.push(waiter);
      });
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
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        mails.push(parseMail(Buffer.concat(chunks).toString('utf8')));
        for (const waiter of [...waiters]) waiter();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.server.address();
  if (!address || typeof address !== 'object') throw new Error('the SMTP server is not listening');
  state.url = `smtp://127.0.0.1:${address.port}`;
  return state;
}
