// Resident pages in the resident's language: English and Welsh message catalogues (en.json,
// cy.json, keys grouped by page) read through i18next, which does interpolation and chooses
// plural forms with Intl.PluralRules (Welsh has six: zero, one, two, few, many, other). A key with
// no Welsh falls back to English, so a page is never blank, only partly translated. Professional
// pages stay English: the language is chosen only for people not signed in and citizens.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import i18next from 'i18next';

export const languages = ['en', 'cy'] as const;
export type Language = (typeof languages)[number];

/** Each language named in itself, as a language switcher shows it. */
export const languageNames: Record<Language, string> = { en: 'English', cy: 'Cymraeg' };

/** The cookie that remembers a resident's choice of language (not personal data: no account, no id). */
export const LANGUAGE_COOKIE = 'joinery_lang';

/** Look up a message by key (e.g. "signIn.title"), with values for {{placeholders}} and `count` for plurals. */
export type Translate = (key: string, values?: Record<string, unknown>) => string;

type Catalogue = Record<string, unknown>;

const here = path.dirname(fileURLToPath(import.meta.url));

/** The catalogue of one language, as written in its JSON file. */
export function catalogue(language: Language): Catalogue {
  return JSON.parse(fs.readFileSync(path.join(here, `${language}.json`), 'utf8')) as Catalogue;
}

/**
 * Translate functions over catalogues (the shipped ones, or a test's). A key the language lacks
 * is looked up in English; a plural form it lacks falls to its own "other" form first.
 */
export function translatorsFrom(resources: Record<Language, Catalogue>): {
  translate: (language: Language) => Translate;
  has: (language: Language, key: string) => boolean;
} {
  const instance = i18next.createInstance();
  // initAsync false: the catalogues are in memory, so the instance is ready when init returns.
  void instance.init({
    initAsync: false,
    lng: 'en',
    fallbackLng: 'en',
    supportedLngs: [...languages],
    // Nunjucks escapes what templates print; escaping here too would show &amp; to the reader.
    interpolation: { escapeValue: false },
    // Keys are dotted paths; colons in them mean nothing special.
    nsSeparator: false,
    returnNull: false,
    resources: Object.fromEntries(languages.map((language) => [language, { translation: resources[language] }])),
  });
  const fixed = new Map<Language, Translate>(
    languages.map((language) => {
      const t = instance.getFixedT(language);
      // A message without values never changes (the catalogues are fixed once loaded), and a
      // page asks for dozens: kept after the first time, as i18next's look-up, fallback and
      // interpolation cost more than the rest of rendering them. Bounded, as keys are.
      // So is one whose only value is the words to show when the key has no message (a code's
      // label: { defaultValue: 'Housing advice' }), kept by key and those words.
      const plain = new Map<string, string>();
      return [
        language,
        (key: string, values?: Record<string, unknown>) => {
          let cacheKey = key;
          if (values !== undefined) {
            const defaultOnly = typeof values.defaultValue === 'string' && Object.keys(values).length === 1;
            if (!defaultOnly) return String(t(key, values as never));
            cacheKey = `${key}\u0000${values.defaultValue as string}`;
          }
          let message = plain.get(cacheKey);
          if (message === undefined) {
            message = String(values === undefined ? t(key) : t(key, values as never));
            if (plain.size < 20_000) plain.set(cacheKey, message);
          }
          return message;
        },
      ];
    }),
  );
  return {
    translate: (language) => fixed.get(language)!,
    has: (language, key) => instance.exists(key, { lng: language, fallbackLng: false } as never),
  };
}

const shipped = translatorsFrom({ en: catalogue('en'), cy: catalogue('cy') });

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (languages as readonly string[]).includes(value);
}

/** The translate function for a language (English for anything not shipped). */
export function translatorFor(language: unknown): Translate {
  return shipped.translate(isLanguage(language) ? language : 'en');
}

/** Whether a key has a message in the language itself (not through the English fallback). */
export function hasMessage(language: Language, key: string): boolean {
  return shipped.has(language, key);
}

/**
 * The first shipped language an Accept-Language header asks for, best quality first
 * ("cy-GB,cy;q=0.9,en;q=0.8" is Welsh); undefined when it asks for none of them.
 */
export function languageFromAcceptLanguage(header: string | undefined): Language | undefined {
  if (!header) return undefined;
  const asked = header
    .split(',')
    .slice(0, 20)
    .map((part, order) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { primary: tag.trim().toLowerCase().split('-')[0] ?? '', quality: q === undefined ? 1 : Number(q), order };
    })
    .filter((a) => Number.isFinite(a.quality) && a.quality > 0);
  asked.sort((a, b) => b.quality - a.quality || a.order - b.order);
  return asked.map((a) => a.primary).find(isLanguage);
}

/**
 * The language of a resident's pages: one chosen now (?lang=cy), else one chosen before (the
 * cookie), else what the browser asks for, else English.
 */
export function chooseLanguage(input: { query?: unknown; cookie?: unknown; acceptLanguage?: string | undefined }): {
  language: Language;
  chosenNow: boolean;
} {
  if (isLanguage(input.query)) return { language: input.query, chosenNow: true };
  if (isLanguage(input.cookie)) return { language: input.cookie, chosenNow: false };
  return { language: languageFromAcceptLanguage(input.acceptLanguage) ?? 'en', chosenNow: false };
}

interface Slot {
  name: string;
  kind: 'known' | 'number' | 'any';
}
interface TextLookup {
  exact: ReadonlyMap<string, string>;
  /** byText keys with placeholders, most literal words first (the most specific wins). */
  patterns: Array<{ pattern: RegExp; slots: Slot[]; text: string }>;
}
const textLookups = new Map<Language, TextLookup>();

// Placeholders in a byText key: {{name}} stands for words the catalogue itself knows ("Monday",
// "9am"), so "{{first}} to {{last}}" can never turn an unknown English sentence that happens to
// hold " to " into half-Welsh; {{#name}} for a number; {{*name}} for any words at all (a name, a
// reason), kept as they are unless the catalogue knows them.
const placeholder = /\{\{[#*]?\w+\}\}/;

function lookupFor(language: Language): TextLookup {
  let lookup = textLookups.get(language);
  if (!lookup) {
    const theirs = (catalogue(language).byText ?? {}) as Record<string, unknown>;
    const pairs = Object.keys((catalogue('en').byText ?? {}) as Record<string, unknown>).flatMap((text) =>
      typeof theirs[text] === 'string' ? [[text, theirs[text] as string] as const] : [],
    );
    const literalLength = (english: string) => english.split(/\{\{[#*]?\w+\}\}/).join('').length;
    lookup = {
      exact: new Map(pairs.filter(([text]) => !placeholder.test(text))),
      patterns: pairs
        .filter(([text]) => placeholder.test(text))
        .sort(([a], [b]) => literalLength(b) - literalLength(a))
        .map(([english, text]) => {
          const slots: Slot[] = [];
          const source = english
            .split(/(\{\{[#*]?\w+\}\})/)
            .map((part) => {
              const slot = /^\{\{([#*]?)(\w+)\}\}$/.exec(part);
              if (!slot) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
              slots.push({ name: slot[2]!, kind: slot[1] === '#' ? 'number' : slot[1] === '*' ? 'any' : 'known' });
              return slot[1] === '#' ? '(\\d[\\d.,:]*)' : '(.+?)';
            })
            .join('');
          return { pattern: new RegExp(`^${source}$`, 's'), slots, text };
        }),
    };
    textLookups.set(language, lookup);
  }
  return lookup;
}

/** The text in the language if the catalogue knows it (whole, or by a pattern whose known parts it knows), else undefined. */
function knownText(language: Language, text: string, depth: number): string | undefined {
  const lookup = lookupFor(language);
  const exact = lookup.exact.get(text);
  if (exact !== undefined || depth > 3) return exact;
  for (const { pattern, slots, text: theirs } of lookup.patterns) {
    const match = pattern.exec(text);
    if (!match) continue;
    const values = new Map<string, string>();
    const complete = slots.every((slot, i) => {
      const value = match[i + 1]!;
      const known = slot.kind === 'number' ? value : knownText(language, value, depth + 1);
      values.set(slot.name, known ?? value);
      return known !== undefined || slot.kind === 'any';
    });
    if (complete) return theirs.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => values.get(name) ?? whole);
  }
  return undefined;
}

/**
 * For words that reach a page as English text from another module (a refusal's message, a form's
 * error, a route's radio labels, a listing's opening times): the catalogue's `byText` section is
 * keyed by the English itself, with placeholders for the parts that vary ("Monday to Friday,
 * 9am to 5pm" → "Dydd Llun i Dydd Gwener, 9yb i 5yh"). Texts the language lacks are left as
 * they are, in English.
 */
export function translateText(language: Language, text: string): string {
  if (language === 'en') return text;
  return knownText(language, text, 0) ?? text;
}

/**
 * "a", "a and b", "a, b and c". In Welsh "a" is "ac" before a vowel and aspirates c, p and t
 * ("iechyd a thai", "arian ac iechyd").
 */
export function listWords(items: readonly string[], language: Language = 'en'): string {
  if (items.length <= 1) return items[0] ?? '';
  const last = items[items.length - 1]!;
  const joined = language === 'cy' ? `${/^[aeiouwyâêîôûŵŷ]/i.test(last) ? 'ac' : 'a'} ${aspirated(last)}` : `and ${last}`;
  return `${items.slice(0, -1).join(', ')} ${joined}`;
}

/** The Welsh aspirate mutation after "a" (and): c → ch, p → ph, t → th; "ch", "ph" and "th" stay as they are. */
function aspirated(word: string): string {
  if (/^(ch|ph|th)/i.test(word)) return word;
  const first = word.charAt(0);
  const mutated = ({ c: 'ch', p: 'ph', t: 'th' } as Record<string, string>)[first.toLowerCase()];
  if (!mutated) return word;
  return (first === first.toUpperCase() ? mutated.charAt(0).toUpperCase() + mutated.slice(1) : mutated) + word.slice(1);
}

/** Every key in a catalogue, as dotted paths ("layout.skipLink"); plural forms keep their suffix. */
export function catalogueKeys(entries: Catalogue, prefix = ''): string[] {
  return Object.entries(entries).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' ? catalogueKeys(value as Catalogue, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

const pluralSuffix = /_(zero|one|two|few|many|other)$/;

/**
 * Keys English has that Welsh lacks. A plural counts as present when Welsh has its `_other`
 * form (Welsh needs more forms than English, never fewer).
 */
export function keysMissingFrom(language: Language): string[] {
  const theirs = new Set(catalogueKeys(catalogue(language)));
  const missing = new Set<string>();
  for (const key of catalogueKeys(catalogue('en'))) {
    const plural = pluralSuffix.exec(key);
    const wanted = plural ? key.replace(pluralSuffix, '_other') : key;
    if (!theirs.has(wanted)) missing.add(wanted);
  }
  return [...missing];
}

/**
 * The links of a language switcher for the page at `url` (path and query): the page again in each
 * language, keeping its query but for `lang`.
 */
export function languageLinks(url: string, current: Language): Array<{ language: Language; name: string; href: string; current: boolean }> {
  const [rawPath = '/', query = ''] = url.split('?', 2);
  // Only a path on this site: "//elsewhere.example" would be a link off it.
  const pathPart = /^\/(?![/\\])/.test(rawPath) ? rawPath : '/';
  return languages.map((language) => {
    const params = new URLSearchParams(query);
    params.set('lang', language);
    return { language, name: languageNames[language], href: `${pathPart}?${params.toString()}`, current: language === current };
  });
}
