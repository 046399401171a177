// The presentation layer every module may draw with: server-rendered SVG charts and the axes
// they share. It holds no domain knowledge and imports no module, so a module's pages can use
// it without reaching into the web module's home pages and person page. Its views/ hold what every
// module's pages share: the layout, shared partials and macros, and the error pages (each module's
// own templates are in its src/<module>/views/; platform/http.ts searches them all by name).
export { horizontalBarChart, monthlyColumnsAgainstLine } from './charts.ts';
export type { BarDatum, MonthDatum } from './charts.ts';
// Money as pages show it (whole pounds).
export { formatPounds } from './money.ts';
export { axisTitle, escapeXml, niceTicks, shortPounds, stepDecimals, tickLabel, tickText } from './axis.ts';
