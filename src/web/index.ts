// The web module's front door: the pages that bring the modules together for each role (home
// pages, the person page, break-glass, the place overview), registered by app.ts. Its views/ hold
// those pages' templates (the shared layout is the ui layer's); its public/ holds the static files
// every module's pages use.
export { registerWebRoutes } from './routes.ts';
