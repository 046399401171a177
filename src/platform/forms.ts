// Form parsing for the GOV.UK pages and the JSON API: a posted form or a JSON body is checked
// against a Zod schema, the one schema library for both, and /openapi.json draws a JSON body's
// schema from the same Zod schema (`z.toJSONSchema`), so the document cannot drift from the check. A refused form comes back as the error summary the GOV.UK Design System
// shows (each message linking to its field) and the values as typed, so nothing the person wrote
// is lost; the messages are written for the person filling the form in, not for developers.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RefusedInput } from './refused.ts';

/** A posted form's fields as the body parser left them (strings, or arrays for repeated names). */
export type FormBody = Record<string, unknown>;

/** The posted form, or an empty one when the request carried no form body. */
export function formBody(request: FastifyRequest): FormBody {
  return request.body && typeof request.body === 'object' && !Array.isArray(request.body) ? (request.body as FormBody) : {};
}

/** One line of the GOV.UK error summary: the message, and the field it links to. */
export interface FormError {
  text: string;
  href: string;
}

export type ParsedForm<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      /** The error summary, one line per field, in the schema's field order. */
      errors: FormError[];
      /** Each field's message, for the message beside the field. */
      fieldErrors: Record<string, string>;
      /** What was typed, to fill the form in again. */
      values: FormBody;
      /** The boxes of a field made of several (a date's day, month and year) that its messages name, to mark. */
      parts: Record<string, string[]>;
    };

/**
 * Checks a form against its schema. Only the first message for each field is shown (GOV.UK asks
 * for one message a field); a refusal that concerns the whole form links to the form's first field.
 * A message about one box of a field made of several (the path ['dob', 'month']) links to that
 * box (#dob-month), and names it among the field's parts to mark.
 */
export function parseForm<S extends z.ZodType>(schema: S, body: FormBody): ParsedForm<z.output<S>> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return { ok: true, value: parsed.data };
  const fieldErrors: Record<string, string> = {};
  const hrefs: Record<string, string> = {};
  const parts: Record<string, string[]> = {};
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? firstField(schema) ?? 'form');
    const part = issue.path.length > 1 ? String(issue.path[1]) : null;
    if (part !== null && !(parts[field] ??= []).includes(part)) parts[field].push(part);
    if (field in fieldErrors) continue;
    fieldErrors[field] = issue.message;
    hrefs[field] = part === null ? `#${field}` : `#${field}-${part}`;
  }
  const errors = Object.entries(fieldErrors).map(([field, text]) => ({ text, href: hrefs[field]! }));
  return { ok: false, errors, fieldErrors, values: body, parts };
}

function firstField(schema: z.ZodType): string | undefined {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape)[0] : undefined;
}

/**
 * A form value as trimmed text: a missing or repeated field counts as empty, never as an error of
 * type. For a field whose meaning the use case checks (it has the message for it).
 */
export const trimmedText = z.preprocess((value) => (typeof value === 'string' ? value.trim() : ''), z.string());

/**
 * A form value exactly as sent (not trimmed), at most `max` characters (the rest is not read); a
 * missing or repeated field counts as empty. For a field whose every character counts (a
 * password) or whose use case trims and checks it with its own messages.
 */
export function sentText(max = Number.POSITIVE_INFINITY) {
  return z.preprocess((value) => (typeof value === 'string' ? value.slice(0, max) : ''), z.string());
}

/** What was typed in one field, to fill a refused form in again: the text, or empty for a missing or repeated field. */
export function typedText(values: FormBody, field: string): string {
  const value = values[field];
  return typeof value === 'string' ? value : '';
}

/** Required text between `min` and `max` characters, with one message for every way of getting it wrong. */
export function requiredText(message: string, { min = 1, max }: { min?: number; max: number }) {
  return trimmedText.pipe(z.string().min(min, message).max(max, message));
}

/** Optional text up to `max` characters; empty comes back as null. */
export function optionalText(message: string, { max }: { max: number }) {
  return trimmedText.pipe(
    z
      .string()
      .max(max, message)
      .transform((text) => (text === '' ? null : text)),
  );
}

/** A choice from the options offered (radios, a select): anything else gets the one message. */
export function choiceOf(message: string, options: readonly string[]) {
  return trimmedText.pipe(z.string().refine((value) => options.includes(value), message));
}

/** An id the page itself offered (a hidden field, a select, a checkbox): anything else comes back as null, never an error. */
export const optionalId = z.preprocess(
  (value) => (typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,100}$/.test(value.trim()) ? value.trim() : null),
  z.string().nullable(),
);

/** A checkbox list (or a repeated field): the values ticked, trimmed, empty ones left out; none is an empty list. */
export const checkboxes = z.preprocess(
  (value) =>
    (Array.isArray(value) ? value : [value])
      .filter((item): item is string => typeof item === 'string')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  z.array(z.string()),
);

/** A single checkbox: true only when it was ticked (sent with `value`). */
export function ticked(value = 'yes') {
  return trimmedText.transform((sent) => sent === value);
}

/** Whether text typed as YYYY-MM-DD (what `<input type="date">` sends) is a real day: 2027-02-30 is not. */
export function isRealDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const day = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === text;
}

/** An optional date (YYYY-MM-DD, a real day); empty comes back as null, anything else gets the message. */
export function optionalDate(message: string) {
  return trimmedText.pipe(
    z
      .string()
      .refine((text) => text === '' || isRealDate(text), message)
      .transform((text) => (text === '' ? null : text)),
  );
}

/** A required date (YYYY-MM-DD, a real day): `missing` when left empty, `message` when it is not a real day. */
export function requiredDate(missing: string, message: string) {
  return trimmedText.pipe(z.string().min(1, missing).refine(isRealDate, message));
}

/**
 * An amount of money typed in pounds ("850", "£1,912.50"; "-1500.50" where `negative` is allowed),
 * up to `digits` whole pounds, as whole pence; anything else gets the message.
 */
export function poundsAsPence(message: string, { digits = 7, negative = false }: { digits?: number; negative?: boolean } = {}) {
  const pattern = new RegExp(`^${negative ? '-?' : ''}\\d{1,${digits}}(\\.\\d{1,2})?$`);
  return z.preprocess(
    (value) => (typeof value === 'string' ? value.replace(/[£,\s]/g, '') : ''),
    z
      .string()
      .regex(pattern, message)
      .transform((text) => Math.round(Number(text) * 100)),
  );
}

/**
 * Checks a JSON request body against its schema (the same schema /openapi.json shows): the value,
 * or a 400 naming the first field that is wrong and why.
 */
export function parseJsonBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new RefusedInput(400, `${where}${issue.message}`);
}

/** A JSON body's schema as /openapi.json shows it (OpenAPI 3.1 speaks JSON Schema 2020-12): what the request is checked against. */
export function openApiSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input' });
  return json;
}
