// "Edit the listing" as a Zod schema, checked by the route with parseForm before the use case
// runs, so updateListing receives a listing that is already well formed and only decides who may
// change it. Every problem is listed at once, in the order of the page, each against its field.
// A text field sent twice (which the page never does) gets the field's message rather than
// counting as empty, which would clear what the listing says; a value longer than the field
// keeps is refused with its message rather than cut short and saved.
import { z } from 'zod';
import { DAY_CODES } from './format.ts';
import { isWebLink } from './validator.ts';
import { MAX_OPENING_ROWS, OPENING_TIME, type ListingInput, type OpeningRow } from './listings.ts';

/** A text field's value, trimmed: '' when missing, null when sent twice (or not as text). */
const once = z.preprocess((value) => (value === undefined ? '' : typeof value === 'string' ? value.trim() : null), z.string().nullable());

/** A checkbox list of days: the day codes ticked, anything else left out (as the page offers nothing else). */
const days = z.preprocess(
  (value) =>
    (Array.isArray(value) ? value : [value]).filter(
      (day): day is string => typeof day === 'string' && (DAY_CODES as readonly string[]).includes(day),
    ),
  z.array(z.string()),
);

const rowFields = Object.fromEntries(
  Array.from({ length: MAX_OPENING_ROWS }, (_, i) => [
    [`days${i}`, days],
    [`opens${i}`, once],
    [`closes${i}`, once],
    [`notes${i}`, once],
  ]).flat(),
) as Record<string, typeof once | typeof days>;

const normaliseTime = (time: string): string => {
  const [, hours, minutes] = OPENING_TIME.exec(time)!;
  return `${hours!.padStart(2, '0')}:${minutes}`;
};

/** The longest each field keeps; longer is refused, not cut short. */
const MAX = { description: 2000, phone: 40, email: 200, url: 300, costDescription: 300, notes: 200 };

/**
 * "Edit the listing": description, how to get in touch, whether people may refer themselves, what
 * it costs, and up to six rows of opening times. Comes out as the listing the use case saves.
 */
export const listingForm = z
  .object({
    description: once,
    phone: once,
    email: once,
    url: once,
    selfReferral: once,
    cost: once,
    costDescription: once,
    ...rowFields,
  })
  .superRefine((form, ctx) => {
    const problem = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
    const text = (field: string) => form[field as keyof typeof form] as string | null;
    const { description, phone, email, url, selfReferral, cost, costDescription } = form;
    if (!description) problem('description', 'Enter a description of the service');
    else if (description.length > MAX.description) problem('description', 'The description must be 2000 characters or fewer');
    if (phone === '' && email === '') problem('phone', 'Enter a phone number or an email address, so people know how to get in touch');
    if (phone === null || (phone && (phone.length > MAX.phone || !/^\+?[0-9 ()-]{6,20}$/.test(phone))))
      problem('phone', 'Enter a phone number, like 01632 960 001');
    if (email === null || (email && (email.length > MAX.email || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))))
      problem('email', 'Enter an email address in the correct format, like name@example.org');
    if (url === null || (url && (url.length > MAX.url || !isWebLink(url))))
      problem('url', 'Enter a website address starting with https://');
    if (selfReferral !== 'yes' && selfReferral !== 'no') problem('selfReferral', 'Select whether people can refer themselves');
    if (cost !== 'free' && cost !== 'paid') problem('cost', 'Select whether the service is free');
    if (costDescription === null || (cost === 'paid' && !costDescription)) problem('costDescription', 'Enter what the service costs');
    else if (costDescription.length > MAX.costDescription) problem('costDescription', 'What it costs must be 300 characters or fewer');
    for (let i = 0; i < MAX_OPENING_ROWS; i++) {
      const [opens, closes, notes] = [text(`opens${i}`), text(`closes${i}`), text(`notes${i}`)];
      const rowDays = form[`days${i}` as keyof typeof form] as unknown as string[];
      if (rowDays.length === 0 && opens === '' && closes === '' && notes === '') continue;
      const row = `Opening times ${i + 1}`;
      if (rowDays.length === 0) problem(`days${i}-MO`, `${row}: select at least one day`);
      const opensOk = opens !== null && OPENING_TIME.test(opens);
      const closesOk = closes !== null && OPENING_TIME.test(closes);
      if (!opensOk) problem(`opens${i}`, `${row}: enter the opening time on the 24-hour clock, like 09:00`);
      if (!closesOk) problem(`closes${i}`, `${row}: enter the closing time on the 24-hour clock, like 17:00`);
      else if (opensOk && normaliseTime(closes!) <= normaliseTime(opens!))
        problem(`closes${i}`, `${row}: the closing time must be after the opening time`);
      if (notes === null || notes.length > MAX.notes)
        problem(`notes${i}`, `${row}: the note must be 200 characters or fewer, written once`);
    }
  })
  .transform((form): ListingInput => {
    const text = (field: string) => (form[field as keyof typeof form] as string | null) ?? '';
    const openings: OpeningRow[] = Array.from({ length: MAX_OPENING_ROWS }, (_, i) => ({
      days: form[`days${i}` as keyof typeof form] as unknown as string[],
      opens: text(`opens${i}`),
      closes: text(`closes${i}`),
      notes: text(`notes${i}`),
    }));
    return {
      description: form.description!,
      phone: form.phone!,
      email: form.email!,
      url: form.url!,
      selfReferral: form.selfReferral as 'yes' | 'no',
      cost: form.cost as 'free' | 'paid',
      costDescription: form.costDescription!,
      openings,
    };
  });
