// Assembles Joinery: platform HTTP layer plus every module's routes.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './platform/config.ts';
import type { DatabaseHandle } from './platform/db.ts';
import { buildHttpServer } from './platform/http.ts';
import { pendingMigrations } from './schema.ts';
import { registerAuthRoutes, userForSession, userForSessionWith, type AuthPorts, type DemoAccountInfo } from './auth/index.ts';
import { registerWebRoutes } from './web/index.ts';
import {
  confirmAccountIdentityByNhsLogin,
  decideAccess,
  recordDisclosure,
  registerRightsRoutes,
  registerConsentRoutes,
} from './consent/index.ts';
import { registerRecordsRoutes } from './records/index.ts';
import { registerDirectoryRoutes } from './directory/index.ts';
import { registerLinkageRoutes } from './linkage/index.ts';
import { registerBudgetRoutes } from './budgets/index.ts';
import { registerReferralRoutes, TYPICAL_WAIT_MIN_REFERRALS, typicalWaits } from './referrals/index.ts';
import { registerPlansRoutes } from './plans/index.ts';
import { registerInsightRoutes } from './insight/index.ts';
import { clinicalEntries, registerFhirRoutes, registerSmartRoutes, resourceDefs } from './fhir/index.ts';
import { registerInteropRoutes, revokeTokensOfUser } from './interop/index.ts';
import { registerNotifyRoutes, sendTransactional } from './notify/index.ts';
// The subject-access export's sections that modules above consent hold.
import type { ExportSections } from './consent/index.ts';
import { plansOfPersonForExport } from './plans/index.ts';
import { aboutMeVersionsOf, messagesAboutPersonForExport } from './records/index.ts';
import { referralHistories, referralsAboutPerson } from './referrals/index.ts';
import { personalBudgetsOf } from './budgets/index.ts';

export interface AppOptions {
  config: Config;
  database: DatabaseHandle;
  logger: Logger;
  /** Shown on the sign-in page when serving the demo place. */
  demo?: { password: string; accounts: DemoAccountInfo[] };
}

/**
 * What auth asks of the modules above it (auth/ports.ts), answered here so that auth imports none
 * of them: the pages get these, and so do the command line (cli.ts) and tests that call auth's use
 * cases directly.
 */
export const authPorts: AuthPorts = {
  sendAccountEmail: sendTransactional,
  revokeApiTokens: revokeTokensOfUser,
  confirmIdentityByNhsLogin: confirmAccountIdentityByNhsLogin,
};

/**
 * The person's own export (consent's personExport) lists their plans, "about me", messages,
 * referrals and personal budgets: read by the modules that hold them, answered here so that
 * consent imports none of them. Consent decides which of them the person may see.
 */
export const exportSections: ExportSections = {
  plansOf: plansOfPersonForExport,
  aboutMeVersionsOf,
  messagesAbout: messagesAboutPersonForExport,
  referralsAbout: referralsAboutPerson,
  referralHistories,
  personalBudgetsOf,
};

export async function createApp(options: AppOptions): Promise<FastifyInstance> {
  const app = await buildHttpServer(
    { config: options.config, database: options.database },
    options.logger,
    userForSession,
    userForSessionWith,
  );
  registerAuthRoutes(app, authPorts, options.demo);
  registerWebRoutes(app, pendingMigrations);
  registerConsentRoutes(app, exportSections);
  registerRightsRoutes(app);
  registerRecordsRoutes(app);
  // The directory shows services' typical waits, which the referrals module works out from its referrals.
  registerDirectoryRoutes(app, { minReferrals: TYPICAL_WAIT_MIN_REFERRALS, of: (db, ids) => typicalWaits(db, ids) });
  // The review pages' access decision and its record are consent's, which sits above linkage.
  registerLinkageRoutes(app, { decideAccess, recordDisclosure });
  registerBudgetRoutes(app);
  registerReferralRoutes(app);
  registerPlansRoutes(app);
  registerInsightRoutes(app);
  registerFhirRoutes(app);
  // Imports keep a Bundle's clinical entries, and /openapi.json describes the FHIR API: both the fhir module's.
  registerInteropRoutes(app, { clinical: clinicalEntries, resourceDefs });
  registerNotifyRoutes(app);
  registerSmartRoutes(app);
  await app.ready();
  return app;
}
