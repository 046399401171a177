// Targets for the shared measures (issue 22): managers and commissioners see every measure's
// figure for the place over the latest year beside the target in force, and set a new target
// (a value to reach by a date, and why). Aggregates only; the form keeps what was typed when it
// is refused, and lists every problem in a GOV.UK error summary.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireRole, viewContext } from '../platform/http.ts';
import { dateInputItems, dateParts, readDateInput, type DatePart } from '../platform/date-input.ts';
import { successFrom, withDone } from '../platform/done.ts';
import { formBody, parseForm, sentText } from '../platform/forms.ts';
import { measures } from './queries.ts';
import { parseTarget, setTarget, targetsAgainstActuals, TargetInputError } from './targets.ts';

type Body = Record<string, unknown>;

/**
 * "Set a target": the measure, the value, the date to reach it by (three boxes) and why, as
 * typed. parseTarget checks them with its messages, together with a date the boxes do not make
 * (named here, with the boxes to mark), so every problem is listed at once; the form never fails here.
 */
const targetForm = z.looseObject({ measure: sentText(80), value: sentText(40), reason: sentText(2000) }).transform((form) => {
  const date = readDateInput(form, 'by', 'The date to reach it by');
  return {
    measureId: form.measure,
    value: form.value,
    byDate: date.kind === 'date' ? date.iso : null,
    reason: form.reason,
    wrongDate: date.kind === 'error' ? { message: date.message, parts: date.parts } : null,
  };
});
const done = {
  set: { heading: 'The target has been set', text: 'It is shown against the latest figure below, and on the inequality pages.' },
};
const fmt = (v: number | null | undefined, d: number): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? 'suppressed'
    : v.toLocaleString('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });
const decimals = (unit: string) => (unit === 'per 1,000' ? 2 : 1);
const statusText = { met: 'Met', 'not met': 'Not met yet', 'no target': 'No target set', 'not shown': 'Figure suppressed' } as const;

export function registerTargetRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { errors?: TargetInputError[]; values?: Body; wrongDate?: DatePart[] } = {},
    status = 200,
  ) {
    const rows = await targetsAgainstActuals(db);
    const values = extra.values ?? {};
    const errors = extra.errors ?? [];
    const byField = Object.fromEntries(errors.map((e) => [e.field, e.message]));
    return reply.code(status).view(
      'insight-targets.njk',
      viewContext(request, reply, {
        title: 'Targets',
        success: errors.length ? null : successFrom(request, done),
        errors: errors.length
          ? errors.map((e) => ({ text: e.message, href: `#${e.field === 'by' ? 'by-day' : e.field === 'measure' ? 'measure' : e.field}` }))
          : null,
        fieldErrors: byField,
        rows: rows.map((r) => {
          const d = decimals(r.measure.unit);
          return {
            id: r.measure.id,
            label: r.measure.label,
            unit: r.measure.unit,
            kind: r.measure.kind,
            higherIsWorse: r.measure.higherIsWorse,
            actual: fmt(r.actual, d),
            target: r.target ? fmt(r.target.value, d) : '',
            by: r.target?.byDate ?? null,
            reason: r.target?.reason ?? '',
            earlier: r.target?.earlier ?? 0,
            status: r.status,
            statusText: statusText[r.status],
            toGo: r.toGo === null || r.status !== 'not met' ? '' : fmt(r.toGo, d),
          };
        }),
        measureItems: [
          { value: '', text: 'Choose a measure' },
          ...rows.map((r) => ({
            value: r.measure.id,
            text: `${r.measure.kind === 'access' ? 'Access' : r.measure.kind === 'felt' ? 'Outcome people feel' : 'New needs'}: ${r.measure.label} (${r.measure.unit})`,
            selected: values.measure === r.measure.id,
          })),
        ],
        values,
        byItems: dateInputItems(dateParts(values, 'by'), extra.wrongDate ?? []),
      }),
    );
  }

  app.get('/insight/targets', async (request, reply) => {
    requireRole(request, 'manager');
    return render(request, reply);
  });

  app.post('/insight/targets', async (request, reply) => {
    const user = requireRole(request, 'manager');
    const body = formBody(request);
    const form = parseForm(targetForm, body);
    if (!form.ok) {
      const errors = Object.entries(form.fieldErrors).map(
        ([field, message]) => new TargetInputError(field as TargetInputError['field'], message),
      );
      return render(request, reply, { errors, values: body }, 400);
    }
    const { wrongDate, ...input } = form.value;
    const parsed = parseTarget(input, await measures(db), new Date().toISOString().slice(0, 10));
    const errors = parsed.errors.filter((e) => !(e.field === 'by' && wrongDate));
    if (wrongDate) errors.push(new TargetInputError('by', wrongDate.message));
    if (errors.length > 0 || !parsed.target) {
      return render(
        request,
        reply,
        {
          errors,
          values: body,
          wrongDate: wrongDate ? wrongDate.parts : errors.some((e) => e.field === 'by') ? ['day', 'month', 'year'] : [],
        },
        400,
      );
    }
    await db.transaction().execute((trx) => setTarget(trx, user, parsed.target!));
    return reply.redirect(withDone('/insight/targets', 'set'));
  });
}
