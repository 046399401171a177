// SMART scopes, read and granted. Resource scopes are `patient/Type.perms` and `user/Type.perms`
// in v2 form (perms some of c r u d s, in that order) or v1 form (.read, .write, .*), Type a
// resource type or `*`. What is granted is the part of the request that the app's registration,
// the user's role and the launch context all allow; a scope is narrowed rather than refused, as
// SMART lets a server do, and the token response says what was granted. Nothing here grants data:
// every FHIR request a token makes still passes the access decision as its user.
import type { Role } from '../../auth/index.ts';

export type Permission = 'c' | 'r' | 'u' | 'd' | 's';
export const PERMISSIONS: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];

export interface ResourceScope {
  level: 'patient' | 'user';
  type: string;
  perms: Set<Permission>;
}

const RESOURCE_SCOPE = /^(patient|user)\/(\*|[A-Z][A-Za-z]{1,63})\.(read|write|\*|c?r?u?d?s?)$/;

/** A resource scope, or undefined for anything else (system/ scopes, finer v2 queries after `?`, malformed). */
export function parseResourceScope(scope: string): ResourceScope | undefined {
  const m = RESOURCE_SCOPE.exec(scope);
  if (!m || m[3] === '') return undefined;
  const word = m[3]!;
  const perms: Permission[] =
    word === 'read' ? ['r', 's'] : word === 'write' ? ['c', 'u', 'd'] : word === '*' ? [...PERMISSIONS] : ([...word] as Permission[]);
  return { level: m[1] as 'patient' | 'user', type: m[2]!, perms: new Set(perms) };
}

export function formatResourceScope(scope: ResourceScope): string {
  return `${scope.level}/${scope.type}.${PERMISSIONS.filter((p) => scope.perms.has(p)).join('')}`;
}

/** The scopes a token carries, read back from its grant. */
export function resourceScopesOf(scope: string): ResourceScope[] {
  return scope
    .split(' ')
    .map(parseResourceScope)
    .filter((s): s is ResourceScope => !!s);
}

/** The context scopes Joinery grants besides resource scopes. */
export const CONTEXT_SCOPES = ['launch', 'launch/patient', 'offline_access', 'online_access'] as const;

/** What discovery lists: the context scopes and the resource scopes in their widest forms. */
export const SCOPES_SUPPORTED = [
  ...CONTEXT_SCOPES,
  'patient/*.cruds',
  'user/*.cruds',
  'patient/*.read',
  'user/*.read',
  'patient/*.write',
  'user/*.write',
];

/** The default most an app may be granted, when its registration names none. */
export const DEFAULT_CLIENT_SCOPE = 'launch launch/patient offline_access online_access patient/*.rs user/*.rs';

/** Roles that may let an app act for them; their resource scope levels. */
const LEVELS_BY_ROLE: Partial<Record<Role, ReadonlyArray<'patient' | 'user'>>> = {
  practitioner: ['patient', 'user'],
  // A resident's app works on one person's record: their own, or one they are a registered proxy for.
  citizen: ['patient'],
};

export function roleMayUseApps(role: Role): boolean {
  return LEVELS_BY_ROLE[role] !== undefined;
}

export interface GrantContext {
  role: Role;
  /** A launch id was given and is valid (EHR launch). */
  launched: boolean;
  /** The grant has a launch patient (from the launch, or picked under launch/patient). */
  hasPatient: boolean;
}

/**
 * The scopes granted: the requested ones the client's registration (`ceiling`), the role and the
 * context allow, each resource scope narrowed to the permissions allowed. Space-separated, in the
 * order requested, each once.
 */
export function grantScopes(requested: string, ceiling: string, context: GrantContext): string {
  const allowedWords = new Set(ceiling.split(' ').filter(Boolean));
  const ceilingScopes = resourceScopesOf(ceiling);
  const levels = LEVELS_BY_ROLE[context.role] ?? [];
  const out: string[] = [];
  for (const word of new Set(requested.split(' ').filter(Boolean))) {
    if ((CONTEXT_SCOPES as readonly string[]).includes(word)) {
      if (!allowedWords.has(word)) continue;
      if (word === 'launch' && !context.launched) continue;
      if (word === 'launch/patient' && (!context.hasPatient || context.launched)) continue;
      out.push(word);
      continue;
    }
    const scope = parseResourceScope(word);
    if (!scope || !levels.includes(scope.level)) continue;
    if (scope.level === 'patient' && !context.hasPatient) continue;
    const allowed = new Set<Permission>();
    for (const c of ceilingScopes) {
      if (c.level !== scope.level || (c.type !== '*' && c.type !== scope.type)) continue;
      for (const p of c.perms) allowed.add(p);
    }
    const perms = new Set([...scope.perms].filter((p) => allowed.has(p)));
    if (perms.size === 0) continue;
    const narrowed = perms.size === scope.perms.size ? word : formatResourceScope({ ...scope, perms });
    if (!out.includes(narrowed)) out.push(narrowed);
  }
  return out.join(' ');
}

/** Whether the scope string asks for any resource scope at the patient level. */
export function wantsPatientScopes(scope: string): boolean {
  return resourceScopesOf(scope).some((s) => s.level === 'patient');
}

export type ScopeAnswer = { allowed: false } | { allowed: true; confined: boolean };

/**
 * Whether the scopes allow `perm` on `type`: a user/ scope allows it as the user may; failing
 * that, a patient/ scope allows it confined to the launch patient.
 */
export function scopesAllow(scopes: ResourceScope[], type: string, perm: Permission): ScopeAnswer {
  const covering = scopes.filter((s) => (s.type === '*' || s.type === type) && s.perms.has(perm));
  if (covering.some((s) => s.level === 'user')) return { allowed: true, confined: false };
  if (covering.some((s) => s.level === 'patient')) return { allowed: true, confined: true };
  return { allowed: false };
}

/** The scopes in plain words for the approval page, one line each. */
export function describeScopes(scope: string): string[] {
  const words: Record<Permission, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };
  const lines: string[] = [];
  for (const word of scope.split(' ').filter(Boolean)) {
    if (word === 'launch' || word === 'launch/patient') lines.push('Know which person’s record it was opened for');
    else if (word === 'offline_access')
      lines.push('Keep working for you after you close it (up to 90 days, until you or an administrator stop it)');
    else if (word === 'online_access') lines.push('Keep working for you while you stay signed in');
    else {
      const s = parseResourceScope(word);
      if (!s) continue;
      const what = s.type === '*' ? 'all kinds of information' : `${s.type} resources`;
      const whose = s.level === 'patient' ? 'about this person only' : 'about anyone you may see';
      const verbs = PERMISSIONS.filter((p) => s.perms.has(p)).map((p) => words[p]);
      const list = verbs.length > 1 ? `${verbs.slice(0, -1).join(', ')} and ${verbs.at(-1)!}` : verbs[0]!;
      lines.push(`${list[0]!.toUpperCase()}${list.slice(1)} ${what} ${whose}`);
    }
  }
  return [...new Set(lines)];
}
