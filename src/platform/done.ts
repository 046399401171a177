// "It worked" after a form: the handler redirects with ?done=<what> (Post/Redirect/Get), and the
// page it lands on shows the matching success banner. Only known words are shown, so nothing
// typed into a link can put text on the page.
import type { FastifyRequest } from 'fastify';

export interface SuccessMessage {
  heading: string;
  text?: string;
}

/** The page's address with ?done=<done> (or &done= when it already has a query). */
export function withDone(url: string, done: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}done=${encodeURIComponent(done)}`;
}

/** The success message for the request's ?done=, if it is one the page knows. */
export function successFrom(request: FastifyRequest, messages: Readonly<Record<string, SuccessMessage>>): SuccessMessage | null {
  const done = (request.query as Record<string, unknown> | undefined)?.done;
  return typeof done === 'string' && Object.hasOwn(messages, done) ? messages[done]! : null;
}
