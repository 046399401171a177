// "Who looked at your record", in words the person understands: the audit trail about them,
// grouped into visits (one page, one search, one download), visits by the same person doing the
// same thing close together summarised as one line ("looked at your record 12 times between 3 and
// 9 November 2026"), and for each only the kinds of information actually shown. Where a surface
// records what it showed (a "disclose" event, written after the page is built), that is what is
// listed; otherwise only categories the reader could see in full, never ones limited to their
// own organisation's entries (which may have held nothing at all). The lines are written in the
// reader's language (English or Welsh, from platform/i18n's catalogues). It reads the audit
// trail consent's decisions write (their reasons and "disclose" events), so it lives here.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { categories, categoryPlainWords, purposeLabels, type Category, type Purpose } from './categories.ts';
import { latestAuditEventsAbout } from '../audit/index.ts';
import { userDisplayNameOf, userPersonIdOf } from '../auth/index.ts';
import { organisationNameOf } from '../network/index.ts';
import { writtenDate } from '../platform/dates.ts';
import { listWords, translateText, translatorFor, type Language, type Translate } from '../platform/i18n/index.ts';

// Lists in the reader's language are written by the catalogue's module; who looked's tests read it here.
export { listWords };

export interface LookEntry {
  /** The latest look in this line. */
  at: Date;
  /** The first look in this line (the same as `at` for a single look). */
  first: Date;
  /** How many visits this line stands for. */
  times: number;
  who: string;
  action: string;
  /** The kinds of information shown, in plain words, each once. */
  categories: string[];
  /** One plain-English sentence: what was done, how often, why, and what was shown or refused. */
  summary: string;
  refused: boolean;
  emergency: boolean;
}

export interface AuditRow {
  seq: number;
  at: Date;
  actorUserId: string | null;
  displayName: string | null;
  role: string | null;
  organisation: string | null;
  action: string;
  category: string | null;
  purpose: string | null;
  decision: string;
  reason: string;
}

/** Kinds of action with words in the catalogues (whoLooked.actions.*); others are shown as their code in words. */
const namedActions = new Set(['read', 'list', 'search', 'export', 'write', 'break_glass', 'break_glass_review', 'emergency_search']);

/** A visit: one decision (and what it showed) by one reader, for one kind of action. */
interface Visit {
  key: string;
  kind: string;
  first: Date;
  last: Date;
  row: AuditRow;
  purposes: Set<string>;
  decided: Set<string>;
  /** Categories seen in full (scope all). */
  full: Set<Category>;
  /** Categories recorded as shown, when the surface records that. */
  shown: Set<Category> | null;
  /** Categories written. */
  written: Set<Category>;
  allowed: number;
  denied: number;
  denyReason: string | null;
}

/** A new visit starts after this long without an event from the same reader and kind. */
const VISIT_GAP_MS = 30_000;
/** Visits of the same reader and kind closer together than this are summarised as one line. */
const RUN_GAP_MS = 7 * 86_400_000;

const isCategory = (value: string | null): value is Category => value !== null && (categories as readonly string[]).includes(value);

const london = { timeZone: 'Europe/London' } as const;
const dayFormat = {
  en: new Intl.DateTimeFormat('en-GB', { day: 'numeric', ...london }),
  cy: new Intl.DateTimeFormat('cy', { day: 'numeric', ...london }),
};
const dayMonthFormat = {
  en: new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', ...london }),
  cy: new Intl.DateTimeFormat('cy', { day: 'numeric', month: 'long', year: 'numeric', ...london }),
};
/** "28 October", "28 Hydref": the full date without its year (CLDR's Welsh day-and-month alone is "Hydref 28", which Welsh writing does not use). */
const dayMonth = (language: Language, d: Date) =>
  dayMonthFormat[language]
    .formatToParts(d)
    .filter((p) => p.type === 'day' || p.type === 'month')
    .map((p) => p.value)
    .join(' ');
const monthYearFormat = new Intl.DateTimeFormat('en-GB', { month: 'numeric', year: 'numeric', ...london });
const yearFormat = new Intl.DateTimeFormat('en-GB', { year: 'numeric', ...london });

/** "on 3 November 2026", "between 3 and 9 November 2026", "between 28 October and 3 November 2026" (in Welsh, "rhwng 3 a 9 Tachwedd 2026"). */
export function dateRangeWords(first: Date, last: Date, language: Language = 'en'): string {
  const t = translatorFor(language);
  const a = writtenDate(first, language);
  const b = writtenDate(last, language);
  if (a === b) return t('whoLooked.on', { date: b });
  if (monthYearFormat.format(first) === monthYearFormat.format(last))
    return t('whoLooked.between', { first: dayFormat[language].format(first), last: b });
  if (yearFormat.format(first) === yearFormat.format(last)) return t('whoLooked.between', { first: dayMonth(language, first), last: b });
  return t('whoLooked.between', { first: a, last: b });
}

function kindOf(action: string): string {
  return action === 'disclose' ? 'read' : action;
}

function groupVisits(rows: readonly AuditRow[]): Visit[] {
  const visits: Visit[] = [];
  const open = new Map<string, Visit>();
  for (const row of [...rows].sort((x, y) => x.seq - y.seq)) {
    const kind = kindOf(row.action);
    const key = `${row.actorUserId ?? row.role ?? 'someone'}|${row.organisation ?? ''}|${kind}`;
    let visit = open.get(key);
    const decisionKey = `${row.action}|${row.category ?? ''}`;
    // The same decision again (another page view), a long pause, or every emergency access on its own: a new visit.
    const repeats = row.action !== 'disclose' && visit?.decided.has(decisionKey);
    if (
      !visit ||
      repeats ||
      row.at.getTime() - visit.last.getTime() > VISIT_GAP_MS ||
      kind === 'break_glass' ||
      kind === 'emergency_search'
    ) {
      visit = {
        key,
        kind,
        first: row.at,
        last: row.at,
        row,
        purposes: new Set(),
        decided: new Set(),
        full: new Set(),
        shown: null,
        written: new Set(),
        allowed: 0,
        denied: 0,
        denyReason: null,
      };
      visits.push(visit);
      open.set(key, visit);
    }
    visit.last = row.at;
    if (row.action !== 'disclose') visit.decided.add(decisionKey);
    if (row.purpose && row.purpose !== 'self') visit.purposes.add(row.purpose);
    if (row.action === 'disclose') {
      visit.shown ??= new Set();
      if (isCategory(row.category)) visit.shown.add(row.category);
    } else if (row.decision === 'deny') {
      visit.denied += 1;
      visit.denyReason ??= row.reason;
    } else {
      visit.allowed += 1;
      if (row.action === 'write' && isCategory(row.category)) visit.written.add(row.category);
      else if (row.decision === 'allow' && isCategory(row.category) && !row.reason.endsWith("(own organisation's entries only)"))
        visit.full.add(row.category);
    }
  }
  return visits;
}

function whoOf(row: AuditRow, t: Translate): string {
  return [
    row.displayName ?? t('whoLooked.someone'),
    row.role ? `(${t(`roles.${row.role}`, { defaultValue: row.role.replace(/_/g, ' ') })})` : '',
    row.organisation ? t('whoLooked.atOrganisation', { organisation: row.organisation }) : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** The categories a visit showed: what it recorded as shown, else what the reader could see in full. */
function shownBy(visit: Visit): Set<Category> {
  if (visit.kind === 'write') return visit.written;
  return visit.shown ?? visit.full;
}

/**
 * The audit trail about one person as lines the person reads, newest first: visits by the same
 * reader doing the same thing within a week of each other make one line; emergency accesses
 * are always a line of their own, with the reason given.
 */
export function summariseLooks(rows: readonly AuditRow[], limit = 20, language: Language = 'en'): LookEntry[] {
  const t = translatorFor(language);
  const visits = groupVisits(rows);
  interface Run {
    visits: Visit[];
    refused: boolean;
  }
  const runs: Run[] = [];
  const openRuns = new Map<string, Run>();
  for (const visit of visits) {
    const refused = visit.allowed === 0 && visit.denied > 0;
    const runKey = `${visit.key}|${refused ? 'refused' : 'allowed'}`;
    const run = openRuns.get(runKey);
    const lonely = visit.kind === 'break_glass' || visit.kind === 'emergency_search';
    if (run && !lonely && visit.first.getTime() - run.visits[run.visits.length - 1]!.last.getTime() <= RUN_GAP_MS) {
      run.visits.push(visit);
    } else {
      const fresh = { visits: [visit], refused };
      runs.push(fresh);
      openRuns.set(runKey, fresh);
    }
  }
  const entries = runs.map((run): LookEntry & { order: number } => {
    const firstVisit = run.visits[0]!;
    const lastVisit = run.visits[run.visits.length - 1]!;
    const row = lastVisit.row;
    const shown = new Set<Category>();
    const purposes = new Set<string>();
    for (const v of run.visits) {
      for (const c of shownBy(v)) shown.add(c);
      for (const p of v.purposes) purposes.add(p);
    }
    const plain = categories.filter((c) => shown.has(c)).map((c) => t(`categoryWords.${c}`, { defaultValue: categoryPlainWords[c] }));
    const times = run.visits.length;
    const emergency = firstVisit.kind === 'break_glass';
    let summary =
      run.refused && firstVisit.kind === 'read'
        ? t('whoLooked.actions.triedToRead')
        : namedActions.has(firstVisit.kind)
          ? t(`whoLooked.actions.${firstVisit.kind}`)
          : firstVisit.kind.replace(/_/g, ' ');
    if (times > 1)
      summary += ` ${t('whoLooked.times', { count: times, range: dateRangeWords(firstVisit.first, lastVisit.last, language) })}`;
    const why = [...purposes]
      .map((p) => (purposeLabels[p as Purpose] ? t(`purposes.${p}`, { defaultValue: purposeLabels[p as Purpose] }) : ''))
      .filter(Boolean);
    if (emergency) {
      summary += t('whoLooked.emergencyReason', { reason: firstVisit.row.reason.replace(/^emergency access for \d+ minutes: /, '') });
    } else if (run.refused) {
      summary += t('whoLooked.refused', {
        reason: firstVisit.denyReason ? translateText(language, firstVisit.denyReason) : t('whoLooked.mayNotSee'),
      });
    } else {
      if (why.length) summary += `${times > 1 ? ',' : ''} ${listWords(why, language)}`;
      if (plain.length) summary += `: ${listWords(plain, language)}`;
    }
    return {
      at: lastVisit.last,
      first: firstVisit.first,
      times,
      who: whoOf(row, t),
      action: firstVisit.kind,
      categories: plain,
      summary,
      refused: run.refused,
      emergency,
      order: lastVisit.row.seq,
    };
  });
  return entries
    .sort((a, b) => b.order - a.order)
    .slice(0, limit)
    .map(({ order: _order, ...entry }) => entry);
}

/** How many of the most recent audit events about a person the summary reads. */
const EVENTS_READ = 5000;

/** Who looked at the person's record and why, newest first, in words the person understands. */
export async function whoLooked(db: Kysely<Database>, personId: string, limit = 20, language: Language = 'en'): Promise<LookEntry[]> {
  const result = await sql<{
    seq: number;
    at: Date;
    actor_user_id: string | null;
    display_name: string | null;
    role: string | null;
    organisation: string | null;
    action: string;
    category: string | null;
    purpose: string | null;
    decision: string;
    reason: string;
  }>`
    select a.seq, a.at, a.actor_user_id, ${userDisplayNameOf('a.actor_user_id')} as display_name, a.actor_role as role,
      ${organisationNameOf('a.actor_organisation_id')} as organisation, a.action, a.category, a.purpose, a.decision, a.reason
    from (${latestAuditEventsAbout(personId, EVENTS_READ)}) a
    where ${userPersonIdOf('a.actor_user_id')} is distinct from ${personId}`.execute(db);
  return summariseLooks(
    result.rows.map((r) => ({
      seq: Number(r.seq),
      at: new Date(r.at),
      actorUserId: r.actor_user_id,
      displayName: r.display_name,
      role: r.role,
      organisation: r.organisation,
      action: r.action,
      category: r.category,
      purpose: r.purpose,
      decision: r.decision,
      reason: r.reason,
    })),
    limit,
    language,
  );
}
