// The SMART pages' forms as Zod schemas, checked by the routes with parseForm: the approval page
// ("Allow this app?", POST /smart/authorize) and "Open in an app" (POST /smart/open). The
// authorisation request's own parameters are not judged here: checkAuthorizeRequest has the
// answers OAuth requires (a page for an unknown app or redirect URI, never a redirect to it; the
// app's OAuth error, with its state, for the rest), so the schema hands them over as sent, only
// marking a parameter sent more than once. They are not cut short either: a state or scope too
// long for the check must reach it whole to be refused. What the person chose on the page (allow,
// whose record) is checked here, with the message they read.
import { z } from 'zod';
import type { FormBody } from '../../platform/forms.ts';

/** The authorisation request's parameters, carried from the app's link through the approval form. */
const REQUEST_PARAMS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'aud',
  'code_challenge',
  'code_challenge_method',
  'launch',
] as const;

/** One parameter as sent: its text, null when sent more than once (or not as text), left out when not sent. */
const param = z.preprocess(
  (value) => (value === undefined ? undefined : typeof value === 'string' ? value : null),
  z.string().nullable().optional(),
);

/**
 * The authorisation request as the app sent it (GET /smart/authorize's query, or the approval
 * form's hidden fields): the parameters checkAuthorizeRequest reads, each as sent, null when sent
 * twice (which it answers with invalid_request), absent ones left out. Never fails.
 */
export const authorizeRequestParams = z
  .object(Object.fromEntries(REQUEST_PARAMS.map((name) => [name, param])) as Record<(typeof REQUEST_PARAMS)[number], typeof param>)
  .transform((params) => {
    const sent: Record<string, string | null> = {};
    for (const [name, value] of Object.entries(params)) if (value !== undefined) sent[name] = value;
    return sent;
  });

/** The authorisation request in a query or a form body, for checkAuthorizeRequest. */
export function authorizeRequestOf(source: FormBody): Record<string, string | null> {
  return authorizeRequestParams.parse(source);
}

/** A person's id as the pages carry it (what mayOpenPerson accepts); anything else is not one. */
const PERSON_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** Whose record the app may open: the id, undefined when none was picked, null when what came is no person's id (or came twice). */
const pickedPerson = z.preprocess(
  (value) => (value === undefined || value === '' ? undefined : typeof value === 'string' && PERSON_ID.test(value) ? value : null),
  z.string().nullable().optional(),
);

/** The approval page's message for whose record, as its radios show it. */
export const CHOOSE_PERSON = 'Choose whose record the app may open';

/**
 * "Allow this app?": the button pressed and, for a standalone launch, whose record. Anything but
 * exactly "allow" (another button, none, both) is saying no, which the app is told as
 * access_denied, as the page's "Do not allow" does. A person that is no person's id is refused
 * with the radios' message (only when allowing: saying no needs no person); whether one must be
 * picked, and whether the user may open them, the route and approveAuthorization decide.
 */
export const approvalForm = z
  .object({
    decision: z.preprocess((value) => value === 'allow', z.boolean()),
    person: pickedPerson,
  })
  .superRefine((form, ctx) => {
    if (form.decision && form.person === null) ctx.addIssue({ code: 'custom', path: ['person'], message: CHOOSE_PERSON });
  })
  .transform((form) => ({ allow: form.decision, personId: form.person ?? undefined }));

/** An app's client id as Joinery issues it (app_ and base64url), within what liveClient reads. */
const CLIENT_ID = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * "Open in an app": the app's button and the person, both hidden fields the page fills in. One
 * missing, sent twice or not in the shape of an id is refused with its message; a well-formed id
 * of no app, or of a person the user may not open, mintLaunch refuses as before (404, 403).
 */
export const openInAppForm = z.object({
  client: z.preprocess(
    (value) => (typeof value === 'string' ? value : ''),
    z.string().regex(CLIENT_ID, 'Choose the app to open the record in, from the person’s “Open in an app” page'),
  ),
  person: z.preprocess(
    (value) => (typeof value === 'string' ? value : ''),
    z.string().regex(PERSON_ID, 'Choose whose record to open, from their “Open in an app” page'),
  ),
});
