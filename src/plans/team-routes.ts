// Integrated teams' pages: a practitioner's teams, setting up a new team (a manager of a team), a team's page (members with their
// organisations, the caseload, and the shared worklist of unassigned plan actions and referrals,
// each with "Pick up"), and the manager's page to add and end members. Routes stay thin: the use
// cases decide access themselves (consent module for membership, the access decision for every
// name shown, audited as a list), and a refusal changes nothing.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, requireRole, viewContext } from '../platform/http.ts';
import type { SignedInUser } from '../auth/index.ts';
import {
  addTeamMember,
  decideRecordAccessForMany,
  endTeamMembership,
  isTeamMember,
  managesTeam,
  maySetUpTeams,
  recordTeamRefusal,
  setUpIntegratedTeam,
  teamCaseloadIds,
  teamMembers,
  TeamRefused,
  teamsOfPractitioner,
} from '../consent/index.ts';
import { activePractitioners, teamById } from '../network/index.ts';
import { peopleByIds } from '../people/index.ts';
import { preparePickUpReferral, ReferralInputError, unassignedReferralsForTeam } from '../referrals/index.ts';
import { writtenDate, writtenDay } from '../platform/dates.ts';
import { PickUpRefused, preparePickUpAction, unassignedActionsFor } from './team-work.ts';
import { formBody, parseForm } from '../platform/forms.ts';
import { endMembershipForm, newTeamForm, teamMemberForm } from './forms.ts';

type Body = Record<string, unknown>;
const text = (body: Body, key: string, max: number): string =>
  typeof body[key] === 'string' ? (body[key] as string).trim().slice(0, max) : '';
const ID = /^[A-Za-z0-9_.:-]{1,100}$/;
/** The first of a refused form's messages, with its field: these pages show one at a time. */
const firstError = (fieldErrors: Record<string, string>) => {
  const [field, text] = Object.entries(fieldErrors)[0]!;
  return { field, text };
};

function param(request: FastifyRequest, name: string, notFound: string): string {
  const value = (request.params as Record<string, string | undefined>)[name] ?? '';
  if (!ID.test(value)) throw new HttpError(404, notFound);
  return value;
}

const PICKED = { action: 'Action picked up: it is assigned to you', referral: 'Referral picked up: it is assigned to you' } as const;
const CHANGED = {
  added: 'Member added to the team',
  ended: 'Membership ended: their access through the team has ended',
  created: 'Team set up: you are its manager. Add its members from any organisation',
} as const;

export function registerTeamRoutes(app: FastifyInstance): void {
  const db = app.joinery.database.db;

  /** The team, for a current member only (anyone else: 404 for a team that does not exist, 403 otherwise). */
  async function teamForMember(request: FastifyRequest, user: SignedInUser) {
    const team = await teamById(db, param(request, 'teamId', 'There is no such team.'));
    if (!team) throw new HttpError(404, 'There is no such team.');
    if (!(await isTeamMember(db, team.id, user.practitionerId)))
      throw new HttpError(403, "Only the team's current members can open its page.");
    return team;
  }

  app.get('/teams', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const teams = await teamsOfPractitioner(db, user.practitionerId);
    return reply.view('teams.njk', viewContext(request, reply, { title: 'Your teams', teams, maySetUp: await maySetUpTeams(db, user) }));
  });

  // Setting up an integrated team: a manager of a team, hosted by their own organisation.
  async function renderNewTeam(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { error?: { field: string; text: string }; values?: Body } = {},
    status = 200,
  ) {
    return reply.code(status).view(
      'team-new.njk',
      viewContext(request, reply, {
        title: `${extra.error ? 'Error: ' : ''}Set up an integrated team`,
        error: extra.error ?? null,
        values: extra.values ?? {},
      }),
    );
  }

  app.get('/teams/new', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    if (!(await maySetUpTeams(db, user))) {
      await recordTeamRefusal(db, user, { message: 'not a manager of a team' }, 'opening the page to set up a team');
      throw new HttpError(403, 'Only a manager of a team can set up an integrated team.');
    }
    return renderNewTeam(request, reply);
  });

  app.post('/teams', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const body = formBody(request);
    const form = parseForm(newTeamForm, body);
    if (!form.ok) {
      // Only someone who may set up a team is shown the form again (as the page itself decides).
      if (!(await maySetUpTeams(db, user))) {
        await recordTeamRefusal(db, user, { message: 'not a manager of a team' }, 'setting up an integrated team');
        throw new HttpError(403, 'Only a manager of a team can set up an integrated team.');
      }
      return renderNewTeam(request, reply, { error: firstError(form.fieldErrors), values: body }, 400);
    }
    let teamId: string;
    try {
      teamId = await db.transaction().execute((trx) => setUpIntegratedTeam(trx, user, form.value));
    } catch (error) {
      if (!(error instanceof TeamRefused)) throw error;
      if (error.status === 403) {
        await recordTeamRefusal(db, user, error, 'setting up an integrated team');
        throw new HttpError(403, `${error.message}.`);
      }
      const field = /role/i.test(error.message) ? 'roleInTeam' : 'name';
      return renderNewTeam(request, reply, { error: { field, text: error.message }, values: body }, 400);
    }
    return reply.redirect(`/teams/${encodeURIComponent(teamId)}/members?changed=created`);
  });

  app.get('/teams/:teamId', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const team = await teamForMember(request, user);
    const [members, caseload, referrals] = await Promise.all([
      teamMembers(db, team.id),
      teamCaseloadIds(db, team.id),
      unassignedReferralsForTeam(db, team.id),
    ]);
    const current = members.filter((m) => !m.endedAt);
    const actions = await unassignedActionsFor(db, caseload, [...new Set(current.map((m) => m.organisationId))]);
    // Every name shown passes the access decision, audited as a list, one event per person.
    const ids = [...new Set([...caseload, ...actions.map((a) => a.personId), ...referrals.map((r) => r.personId)])];
    const access = await decideRecordAccessForMany(db, {
      actor: user,
      personIds: ids,
      categories: ['demographics'],
      purpose: 'care_coordination',
      action: 'list',
    });
    const visible = ids.filter((id) => access.get(id)?.allowed);
    const names = new Map((await peopleByIds(db, visible)).map((p) => [p.id, `${p.givenName} ${p.familyName}`]));
    const nameOf = (id: string) => names.get(id) ?? null;
    const picked = (request.query as Record<string, string | undefined>).picked;
    const changed = (request.query as Record<string, string | undefined>).changed;
    return reply.view(
      'team.njk',
      viewContext(request, reply, {
        title: team.name,
        team,
        manages: await managesTeam(db, user, team.id),
        members: current.map((m) => ({ ...m, since: writtenDate(m.startedAt) })),
        organisations: [...new Set(current.map((m) => m.organisation))].sort(),
        caseload: caseload
          .map((id) => ({ id, name: nameOf(id) }))
          .filter((p) => p.name)
          .sort((a, b) => a.name!.localeCompare(b.name!)),
        hiddenCaseload: caseload.filter((id) => !nameOf(id)).length,
        actions: actions.map((a) => ({ ...a, name: nameOf(a.personId), due: writtenDay(a.dueOn) })),
        referrals: referrals.map((r) => ({ ...r, name: nameOf(r.personId), sent: writtenDate(r.sentAt) })),
        banner:
          picked === 'action' || picked === 'referral'
            ? PICKED[picked]
            : changed === 'added' || changed === 'ended' || changed === 'created'
              ? CHANGED[changed]
              : null,
      }),
    );
  });

  app.post('/teams/:teamId/actions/:actionId/pick-up', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const teamId = param(request, 'teamId', 'There is no such team.');
    const actionId = param(request, 'actionId', 'There is no such action.');
    try {
      const { planId, personId } = await db.transaction().execute(await preparePickUpAction(db, user, actionId, teamId));
      return reply.redirect(
        `/teams/${encodeURIComponent(teamId)}?picked=action&plan=${encodeURIComponent(planId)}&person=${encodeURIComponent(personId)}`,
      );
    } catch (error) {
      if (!(error instanceof PickUpRefused)) throw error;
      if (error.status === 403) await recordTeamRefusal(db, user, error, 'picking up a plan action');
      throw new HttpError(error.status, error.message.endsWith('.') ? error.message : `${error.message}.`);
    }
  });

  app.post('/teams/:teamId/referrals/:referralId/pick-up', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const teamId = param(request, 'teamId', 'There is no such team.');
    const referralId = param(request, 'referralId', 'There is no such referral.');
    if (!(await isTeamMember(db, teamId, user.practitionerId))) {
      await recordTeamRefusal(db, user, { message: 'not a current member of the team' }, 'picking up a referral');
      throw new HttpError(403, "Only the team's current members can pick up its referrals.");
    }
    try {
      await db.transaction().execute(await preparePickUpReferral(db, user, referralId));
    } catch (error) {
      if (!(error instanceof ReferralInputError)) throw error;
      throw new HttpError(error.status, error.message.endsWith('.') ? error.message : `${error.message}.`);
    }
    return reply.redirect(`/teams/${encodeURIComponent(teamId)}?picked=referral`);
  });

  // -------------------------------------------------------------------------------------------
  // The manager's page: members, their organisations, co-location and line management.

  async function renderMembers(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    teamId: string,
    extra: { error?: { field: string; text: string }; values?: Body } = {},
    status = 200,
  ) {
    const team = await teamById(db, teamId);
    if (!team) throw new HttpError(404, 'There is no such team.');
    if (!(await managesTeam(db, user, team.id))) {
      await recordTeamRefusal(db, user, { message: 'not a manager of the team' }, "opening the team's members page");
      throw new HttpError(403, 'Only a manager of this team can change who is in it.');
    }
    const [members, practitioners] = await Promise.all([teamMembers(db, team.id), activePractitioners(db)]);
    const inTeam = new Set(members.filter((m) => !m.endedAt).map((m) => m.practitionerId));
    const values = extra.values ?? {};
    const choose = (selected: string, exclude: Set<string>, first: string) => [
      { value: '', text: first },
      ...practitioners
        .filter((p) => !exclude.has(p.id))
        .map((p) => ({ value: p.id, text: `${p.name}, ${p.organisation}`, selected: p.id === selected })),
    ];
    return reply.code(status).view(
      'team-members.njk',
      viewContext(request, reply, {
        title: `${extra.error ? 'Error: ' : ''}Members of ${team.name}`,
        team,
        error: extra.error ?? null,
        values,
        banner: extra.error
          ? null
          : (CHANGED[(request.query as Record<string, string | undefined>).changed as keyof typeof CHANGED] ?? null),
        current: members.filter((m) => !m.endedAt).map((m) => ({ ...m, since: writtenDate(m.startedAt) })),
        former: members.filter((m) => m.endedAt).map((m) => ({ ...m, since: writtenDate(m.startedAt), until: writtenDate(m.endedAt!) })),
        practitionerItems: choose(text(values, 'practitionerId', 100), inTeam, 'Choose a practitioner'),
        managerItems: choose(text(values, 'lineManagerId', 100), new Set(), 'No line manager recorded'),
      }),
    );
  }

  app.get('/teams/:teamId/members', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    return renderMembers(request, reply, user, param(request, 'teamId', 'There is no such team.'));
  });

  /** A membership change; a refusal shows the page again with the error (403: on the record, and refused). */
  async function change(
    request: FastifyRequest,
    reply: FastifyReply,
    user: SignedInUser,
    teamId: string,
    what: string,
    field: string,
    work: () => Promise<unknown>,
    done: keyof typeof CHANGED,
  ) {
    try {
      await work();
    } catch (error) {
      if (!(error instanceof TeamRefused)) throw error;
      if (error.status === 403) {
        await recordTeamRefusal(db, user, error, what);
        throw new HttpError(403, `${error.message}.`);
      }
      if (error.status === 404 && field !== 'practitionerId') throw new HttpError(404, `${error.message}.`);
      return renderMembers(request, reply, user, teamId, { error: { field, text: error.message }, values: formBody(request) }, 400);
    }
    return reply.redirect(
      done === 'added'
        ? `/teams/${encodeURIComponent(teamId)}/members?changed=added`
        : `/teams/${encodeURIComponent(teamId)}/members?changed=ended`,
    );
  }

  app.post('/teams/:teamId/members', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const teamId = param(request, 'teamId', 'There is no such team.');
    const form = parseForm(teamMemberForm, formBody(request));
    // The members page decides first: anyone but a manager of the team is refused (403), on the record.
    if (!form.ok) return renderMembers(request, reply, user, teamId, { error: firstError(form.fieldErrors), values: form.values }, 400);
    return change(
      request,
      reply,
      user,
      teamId,
      'adding a team member',
      'practitionerId',
      () => db.transaction().execute((trx) => addTeamMember(trx, user, { teamId, ...form.value })),
      'added',
    );
  });

  app.post('/teams/:teamId/members/:membershipId/end', async (request, reply) => {
    const user = requireRole(request, 'practitioner');
    const teamId = param(request, 'teamId', 'There is no such team.');
    const membershipId = Number(param(request, 'membershipId', 'There is no such member.'));
    if (!Number.isSafeInteger(membershipId)) throw new HttpError(404, 'There is no such member.');
    const form = parseForm(endMembershipForm, formBody(request));
    if (!form.ok)
      return renderMembers(
        request,
        reply,
        user,
        teamId,
        { error: { field: `reason-${membershipId}`, text: form.fieldErrors.reason! }, values: form.values },
        400,
      );
    return change(
      request,
      reply,
      user,
      teamId,
      'ending a team membership',
      `reason-${membershipId}`,
      () => db.transaction().execute((trx) => endTeamMembership(trx, user, { teamId, membershipId, reason: form.value.reason })),
      'ended',
    );
  });
}
