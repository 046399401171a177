// The presentation layer every module may draw with: server-rendered SVG charts and the axes
// they share. It holds no domain knowledge and imports no module, so a module's pages can use
// it without reaching into the web module's home pages and person page.
export { horizontalBarChart, monthlyColumnsAgainstLine } from './charts.ts';
export type { BarDatum, MonthDatum } from './charts.ts';
export { axisTitle, escapeXml, niceTicks, shortPounds, stepDecimals, tickLabel, tickText } from './axis.ts';
