// Targets for the shared measures (issue 22): managers and commissioners see every measure's
// figure for the place over the latest year beside the target in force, and set a new target
// (a value to reach by a date, and why). Aggregates only; the form keeps what was typed when it
// is refused, and lists every problem in a GOV.UK error summary.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireRole, viewContext } from '../platform/http.ts';
import { dateInputItems, dateParts, readDateInput, type DatePart } from '../platform/date-input.ts';
import { successFrom, withDone } from '../platform/done.ts';
import { measures } from './queries.ts';
import { parseTarget, setTarget, targetsAgainstActuals, TargetInputError } from './targets.ts';

type Body = Record<string, unknown>;
const str = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');
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
    const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Body;
    const date = readDateInput(body, 'by', 'The date to reach it by');
    const parsed = parseTarget(
      {
        measureId: str(body.measure, 80),
        value: str(body.value, 40),
        byDate: date.kind === 'date' ? date.iso : null,
        reason: str(body.reason, 2000),
      },
      await measures(db),
      new Date().toISOString().slice(0, 10),
    );
    const errors = parsed.errors.filter((e) => !(e.field === 'by' && date.kind === 'error'));
    if (date.kind === 'error') errors.push(new TargetInputError('by', date.message));
    if (errors.length > 0 || !parsed.target) {
      return render(
        request,
        reply,
        {
          errors,
          values: body,
          wrongDate: date.kind === 'error' ? date.parts : errors.some((e) => e.field === 'by') ? ['day', 'month', 'year'] : [],
        },
        400,
      );
    }
    await db.transaction().execute((trx) => setTarget(trx, user, parsed.target!));
    return reply.redirect(withDone('/insight/targets', 'set'));
  });
}
