// "Your account": the signed-in user's own name, username and contact details (email address and
// mobile number), and changing the contact details. The page only ever reads and writes the
// account of the session: no id is taken from the address or the form, so nobody can change
// someone else's. Bad input comes back with the GOV.UK error summary and what was typed.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireSignedIn, viewContext } from '../platform/http.ts';
import { successFrom, withDone } from '../platform/done.ts';
import { formBody, parseForm, typedText } from '../platform/forms.ts';
import { accountHasPassword, changeOwnContactDetails, contactDetailsOf, type ContactFieldError } from './contact-details.ts';
import { roleLabels } from './account-admin.ts';
import { contactDetailsForm } from './forms.ts';
import type { AuthPorts } from './ports.ts';

export function registerAccountRoutes(app: FastifyInstance, ports: Pick<AuthPorts, 'sendAccountEmail'>): void {
  const db = app.joinery.database.db;

  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    values?: { email: string; mobile: string },
    errors: ContactFieldError[] = [],
    status = 200,
  ) {
    const user = requireSignedIn(request);
    const [saved, hasPassword] = await Promise.all([contactDetailsOf(db, user.id), accountHasPassword(db, user.id)]);
    const shown = values ?? { email: saved?.email ?? '', mobile: saved?.mobile ?? '' };
    const errorOf = (field: string) => errors.find((e) => e.field === field)?.message;
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .view(
        'account.njk',
        viewContext(request, reply, {
          title: 'Your account',
          values: shown,
          saved,
          hasPassword,
          errors,
          errorOf,
          roleLabel: roleLabels[user.role],
          errorList: errors.map((e) => ({ text: e.message, href: `#${e.field}` })),
          success: errors.length
            ? null
            : successFrom(request, {
                saved: { heading: 'Your contact details are saved', text: 'Notifications and account emails go to them from now on.' },
              }),
        }),
      );
  }

  app.get('/account', async (request, reply) => render(request, reply));

  app.post('/account', async (request, reply) => {
    const user = requireSignedIn(request);
    const form = parseForm(contactDetailsForm, formBody(request));
    // What was typed is shown again, but never the password.
    if (!form.ok) {
      const typed = { email: typedText(form.values, 'email'), mobile: typedText(form.values, 'mobile') };
      const errors = Object.entries(form.fieldErrors).map(([field, message]) => ({ field, message }) as ContactFieldError);
      return render(request, reply, typed, errors, 400);
    }
    const { currentPassword, ...values } = form.value;
    const { config } = app.joinery;
    const result = await changeOwnContactDetails(
      db,
      ports,
      user,
      { ...values, currentPassword },
      {
        maxAttempts: config.signInMaxAttempts,
        lockMinutes: config.signInLockMinutes,
      },
    );
    if (!result.ok) return render(request, reply, values, result.errors, 400);
    return reply.redirect(withDone('/account', 'saved'));
  });
}
