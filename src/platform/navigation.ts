// The service navigation every page's header carries: which sections each role works in, and
// which one the page belongs to. Data rather than template logic, so it is built once per page in
// plain code (the layout had built it with twenty nunjucks `set ... concat` statements, a
// measurable part of rendering a page) and can be read and tested in one place.
import type { Translate } from './i18n/index.ts';

export interface NavigationItem {
  href: string;
  text: string;
  current: boolean;
}

/** A section: who sees it ('any' signed-in role, those roles, or only the signed out) and when a page is in it. */
interface Section {
  href: string;
  text: (t: Translate) => string;
  roles: readonly string[] | 'any' | 'signed-out';
  current: (path: string) => boolean;
}

const exactly = (href: string) => (path: string) => path === href;
const under = (prefix: string) => (path: string) => path.startsWith(prefix);
const english = (words: string) => () => words;

// In the order they are shown. Professional sections are English only, as their pages are.
const sections: readonly Section[] = [
  { href: '/home', text: (t) => t('layout.nav.home'), roles: 'any', current: exactly('/home') },
  { href: '/directory', text: (t) => t('layout.nav.services'), roles: 'any', current: under('/directory') },
  { href: '/search', text: english('Find a person'), roles: ['practitioner'], current: exactly('/search') },
  { href: '/messages', text: english('Messages'), roles: ['practitioner'], current: exactly('/messages') },
  { href: '/referrals/inbox', text: english('Referrals'), roles: ['practitioner'], current: under('/referrals') },
  { href: '/corrections', text: english('Corrections'), roles: ['practitioner'], current: exactly('/corrections') },
  { href: '/plans/actions', text: english('Plan actions'), roles: ['practitioner'], current: exactly('/plans/actions') },
  { href: '/outcomes', text: english('Outcomes'), roles: ['practitioner', 'manager'], current: exactly('/outcomes') },
  { href: '/insight', text: english('Needs and inequalities'), roles: ['manager'], current: under('/insight') },
  { href: '/localities', text: english('Localities'), roles: ['manager'], current: under('/localities') },
  { href: '/insight/worklist', text: english('Reach out'), roles: ['practitioner'], current: exactly('/insight/worklist') },
  { href: '/pathways', text: english('Pathway flow'), roles: ['manager'], current: exactly('/pathways') },
  { href: '/budgets', text: english('Pooled budgets'), roles: ['manager'], current: under('/budgets') },
  { href: '/privacy', text: english('Emergency access reviews'), roles: ['privacy_officer'], current: exactly('/privacy') },
  { href: '/admin/accounts', text: english('Accounts'), roles: ['admin'], current: under('/admin/accounts') },
  { href: '/admin/tokens', text: english('API tokens'), roles: ['admin'], current: under('/admin/tokens') },
  { href: '/admin/feeds', text: english('Feeds'), roles: ['admin'], current: under('/admin/feeds') },
  { href: '/admin/notifications', text: english('Notifications'), roles: ['admin'], current: under('/admin/notifications') },
  { href: '/linkage/review', text: english('Records to review'), roles: ['data_quality'], current: under('/linkage/review') },
  { href: '/my-record', text: (t) => t('layout.nav.myRecord'), roles: ['citizen'], current: exactly('/my-record') },
  { href: '/my-record/sharing', text: (t) => t('layout.nav.sharing'), roles: ['citizen'], current: exactly('/my-record/sharing') },
  { href: '/my-plan', text: (t) => t('layout.nav.myPlan'), roles: ['citizen'], current: (path) => path.endsWith('/plan') },
  { href: '/my-record/budget', text: (t) => t('layout.nav.myBudget'), roles: ['citizen'], current: exactly('/my-record/budget') },
  { href: '/my-referrals', text: (t) => t('layout.nav.myReferrals'), roles: ['citizen'], current: exactly('/my-referrals') },
  // Not signed in: the public directory, and the way in.
  { href: '/services', text: (t) => t('layout.nav.findService'), roles: 'signed-out', current: under('/services') },
  { href: '/sign-in', text: (t) => t('layout.nav.signIn'), roles: 'signed-out', current: exactly('/sign-in') },
];

function shownTo(section: Section, role: string | undefined): boolean {
  if (role === undefined || section.roles === 'signed-out') return role === undefined && section.roles === 'signed-out';
  return section.roles === 'any' || section.roles.includes(role);
}

/** The header's navigation for someone signed in with `role` (undefined: signed out) on the page at `path`. */
export function navigationFor(role: string | undefined, path: string, t: Translate): NavigationItem[] {
  return sections
    .filter((section) => shownTo(section, role))
    .map((section) => ({ href: section.href, text: section.text(t), current: section.current(path) }));
}
