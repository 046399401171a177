// A data-quality officer runs `joinery link --labels --report` on a file of their own and opens
// the report in Chromium: the headings and tables they need are there (the threshold table,
// a section per mapped field, the measured F1 beside the model's estimate), the charts have
// accessible names and labelled axes, axe finds nothing serious, and a phone-width screen
// never scrolls sideways (wide tables scroll inside their own box).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'csv-stringify/sync';
import type { Browser, Page } from 'playwright-core';
import { syntheticPeople } from '../src/linkage/test-data.ts';
import { browserAvailable, closePage, launchBrowser, openPage, seriousAccessibilityProblems } from './support/browser.ts';

const run = promisify(execFile);
const LINK_MAIN = fileURLToPath(new URL('../src/linkage/link-main.ts', import.meta.url));
/** A free-text column whose name is markup: the page must show it as text. */
const HOSTILE_FIELD = 'text:<i>agency</i>';
const MAP = `first=given_name,last=family_name,dob=birth_date,gender=sex,pc=postcode,street=address,nhs=nhs_number,agency=${HOSTILE_FIELD}`;
const FIELD_HEADINGS = [
  'Given name',
  'Family name',
  'Date of birth',
  'Sex',
  'Postcode',
  'Address',
  'NHS number',
  'Free text “<i>agency</i>”',
];
const AGENCIES = ['housing', 'school', 'surgery'];

describe('the joinery link report in the browser', { skip: !browserAvailable() && 'Chromium not installed' }, () => {
  let directory: string;
  let browser: Browser;
  let page: Page;
  let reportPath: string;
  let stdout: string;
  let stderr: string;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'joinery-link-report-'));
    const people = syntheticPeople(300, 18);
    const records = people.flatMap((person) => person.records);
    const input = join(directory, 'people.csv');
    await writeFile(
      input,
      stringify(
        records.map((r, i) => [
          r.id,
          r.fields.given_name,
          r.fields.family_name,
          r.fields.birth_date,
          r.fields.sex,
          r.fields.postcode,
          r.fields.address,
          r.fields.nhs_number,
          AGENCIES[i % AGENCIES.length],
        ]),
        { header: true, columns: ['ref', 'first', 'last', 'dob', 'gender', 'pc', 'street', 'nhs', 'agency'] },
      ),
    );
    const labels = join(directory, 'truth.csv');
    await writeFile(
      labels,
      stringify(
        people.flatMap((person) => person.records.map((r) => [r.id, person.personId])),
        { header: true, columns: ['record_id', 'cluster_id'] },
      ),
    );
    reportPath = join(directory, 'report.html');
    ({ stdout, stderr } = await run(
      process.execPath,
      [
        LINK_MAIN,
        'link',
        '--input',
        input,
        '--id-column',
        'ref',
        '--map',
        MAP,
        '--out',
        join(directory, 'clusters.csv'),
        '--labels',
        labels,
        '--report',
        reportPath,
      ],
      { env: { ...process.env, FORCE_COLOR: '0' } },
    ));
    browser = await launchBrowser();
    page = await openPage(browser);
    await page.setViewportSize({ width: 1024, height: 900 });
    await page.goto(pathToFileURL(reportPath).href);
  });
  after(async () => {
    if (page) await closePage(page);
    await browser?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  test('the command says where the report went', () => {
    assert.match(stderr, new RegExp(`model report → ${reportPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
  });

  test('the headings and tables a data-quality officer needs are on the page', async () => {
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), 'Record linkage report');
    const sections = (await page.getByRole('heading', { level: 2 }).allTextContents()).map((text) => text.trim());
    for (const heading of [
      'Summary of the run',
      'How accurate the linking is',
      'What moving the threshold would change',
      'Match weights of the candidate pairs',
      'What each field says',
    ]) {
      assert.ok(sections.includes(heading), `section '${heading}' in ${JSON.stringify(sections)}`);
    }

    // The threshold table: nine thresholds a bit apart, the current one marked.
    const thresholds = page.getByRole('table', { name: 'Pairs that would link at thresholds around the current one' });
    assert.ok(await thresholds.isVisible());
    const columns = (await thresholds.getByRole('columnheader').allTextContents()).map((text) => text.trim());
    for (const column of [
      'Pairs that would link',
      'Estimated precision',
      'Estimated recall',
      'Measured precision (pairs)',
      'Measured recall (pairs)',
    ]) {
      assert.ok(columns.includes(column), `threshold table column '${column}' in ${JSON.stringify(columns)}`);
    }
    const rowHeaders = (await thresholds.locator('tbody th').allTextContents()).map((text) => text.trim());
    assert.equal(rowHeaders.length, 9);
    assert.match(rowHeaders[4]!, /^4\.2 bits \(now\)$/);

    // A section per mapped field, each with its table of levels; the markup in a field's name shown as text.
    const fieldHeadings = (await page.getByRole('heading', { level: 3 }).allTextContents()).map((text) => text.trim());
    for (const heading of FIELD_HEADINGS) {
      assert.ok(fieldHeadings.includes(heading), `a section for ${heading} in ${JSON.stringify(fieldHeadings)}`);
      const levels = page.getByRole('table', { name: `${heading}: comparison levels` });
      assert.ok(await levels.isVisible(), `${heading}: table of levels`);
      assert.ok((await levels.locator('tbody tr').count()) >= 2, `${heading}: a row per level`);
      assert.equal(
        await page.getByRole('img', { name: `${heading}: match weight of each comparison level` }).count(),
        1,
        `${heading}: chart`,
      );
    }
    assert.equal(await page.locator('i').count(), 0, 'no markup from the data in the page');
    const givenLevels = (
      await page.getByRole('table', { name: 'Given name: comparison levels' }).locator('tbody th').allTextContents()
    ).map((text) => text.trim());
    assert.match(givenLevels[0]!, /^Exactly the same/);
    assert.match(givenLevels.at(-1)!, /^Anything else \(different\)/);

    // The measured F1 is the one the command printed, beside the model's own estimate.
    const printedF1 = /pairs\s+[\d.]+\s+[\d.]+\s+([\d.]+)/.exec(stdout)![1]!;
    const accuracy = page.getByRole('table', { name: 'Precision, recall and F1 at the current link threshold' });
    const f1Cells = (
      await accuracy
        .getByRole('row', { name: /^Pairwise F1/ })
        .getByRole('cell')
        .allTextContents()
    ).map((text) => text.trim());
    assert.equal(f1Cells.length, 2, `estimate and measured: ${JSON.stringify(f1Cells)}`);
    assert.match(f1Cells[0]!, /^[01]\.\d{3}$/, "the model's estimate");
    assert.equal(f1Cells[1], printedF1, 'the measured F1');
  });

  test('charts have accessible names, labelled axes with units, and a table of the same figures', async () => {
    const histogram = page.getByRole('img', { name: 'Candidate pairs by match weight' });
    assert.ok(await histogram.isVisible());
    const histogramTexts = await histogram.locator('text').allTextContents();
    assert.ok(histogramTexts.includes('Match weight (bits)'), 'x axis titled with its unit');
    assert.ok(histogramTexts.includes('Candidate pairs (number, log scale)'), 'y axis titled with its unit');
    assert.ok(
      histogramTexts.some((text) => /^Link threshold 4\.2 bits$/.test(text)),
      'link threshold marked',
    );
    assert.ok(
      histogramTexts.some((text) => /^Review threshold 0\.0 bits$/.test(text)),
      'review threshold marked',
    );
    const charts = page.locator('svg.chart');
    assert.equal(await charts.count(), 1 + FIELD_HEADINGS.length);
    for (let i = 0; i < (await charts.count()); i++) {
      const chart = charts.nth(i);
      const parts: string[] = [];
      for (const id of ((await chart.getAttribute('aria-labelledby')) ?? '').split(' ').filter(Boolean)) {
        parts.push((await chart.locator(`[id="${id}"]`).textContent()) ?? '');
      }
      const name = parts.join(' ').trim();
      assert.ok(name.length > 20, `chart ${i} has a name and description: '${name}'`);
      assert.equal(await chart.getAttribute('role'), 'img');
      assert.ok(
        (await chart.locator('text.axis-title').allTextContents()).some((text) => /\(bits\)$/.test(text)),
        `chart ${i}: an axis in bits`,
      );
    }
    // The histogram's text alternative opens and lists the pairs by weight.
    await page.getByText('The histogram as a table').click();
    const table = page.getByRole('table', { name: 'Candidate pairs by match weight' });
    assert.ok(await table.isVisible());
    assert.ok((await table.locator('tbody tr').count()) >= 3);
  });

  test('axe finds no serious problems', async () => {
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
  });

  test('at 375 px nothing scrolls sideways but wide tables, inside their own box', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    // A string, evaluated in the page: the test's own types have no DOM.
    const pageWidth = Number(await page.evaluate('document.documentElement.scrollWidth'));
    assert.ok(pageWidth <= 375, `no horizontal scroll of the page (${pageWidth} px)`);
    const threshold = page.locator('.table-container', { has: page.locator('#threshold-table') });
    const { scrollWidth, clientWidth } = await threshold.evaluate((box) => ({
      scrollWidth: box.scrollWidth,
      clientWidth: box.clientWidth,
    }));
    assert.ok(scrollWidth > clientWidth, `the threshold table scrolls in its box (${scrollWidth} > ${clientWidth})`);
    assert.deepEqual(await seriousAccessibilityProblems(page), []);
    await page.setViewportSize({ width: 1024, height: 900 });
  });
});
