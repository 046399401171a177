// The web module's front door: the pages that bring the modules together for each role (home
// pages, the person page, break-glass, the place overview), registered by app.ts. Its templates
// and static files (views/, public/) are also the layout every module's pages are drawn in.
export { registerWebRoutes } from './routes.ts';
