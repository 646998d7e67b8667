/**
 * The operator's statistics page in a real browser (Debian's chromium, driven by playwright-core): on a
 * core with real exchanges (stand-in institutions over real HTTP), the weekly provisions are drawn as a
 * bar chart on the canvas (pixels painted, no CSP violation), and the by-procedure and by-item tables
 * show the figures of the page's own CSV export. Skipped, saying so, where /usr/bin/chromium is missing.
 */
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { chromiumFor, launchChromium } from './support/browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { legalTableFromFiles } from '../src/domain/legal-table/load.ts';
import {
  TEST_OPERATOR_HEADERS,
  startTestOperatorConsole,
  startTwoMunicipalities,
  testLegalTable,
  type TwoMunicipalities,
} from '../src/nodes/core/test-support.ts';
import { listen } from '../src/shared/http.ts';

const hasChromium = chromiumFor('operator-console-browser.test.ts');

describe.skipIf(!hasChromium)("the operator's statistics page in chromium", () => {
  let net: TwoMunicipalities;
  let web: FastifyInstance;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    const table = testLegalTable();
    net = await startTwoMunicipalities({
      legalTable: legalTableFromFiles({
        clauses: stringify(table.clauses),
        procedures: stringify(table.procedures),
        items: stringify(table.items),
      }),
    });
    const { core } = net;
    // Exchanges over three weeks: 2, 0 and 3 provisions, and a refusal.
    for (const [at, n] of [
      ['2025-05-14T01:00:00Z', 2],
      ['2025-05-28T01:00:00Z', 3],
    ] as const) {
      core.clock.set(at);
      for (let i = 0; i < n; i++) await net.inquire([2]);
    }
    await net.inquire([31]);
    await core.core.whenIdle();
    core.clock.set('2025-06-01T01:00:00Z');

    web = await startTestOperatorConsole(core);
    url = await listen(web, 0);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await net?.dispose();
  });

  it('draws the weekly provisions and shows the CSV’s figures in its tables', async () => {
    const context = await browser.newContext({
      locale: 'ja-JP',
      extraHTTPHeaders: TEST_OPERATOR_HEADERS,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    page.on('console', (m) => {
      // The browser's own ask for /favicon.ico is not the page's.
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${url}/operator/statistics?from=2025-05-12&to=2025-06-01`);
    await page.waitForSelector('canvas#weekly[data-drawn="true"]');
    // Pixels painted on the canvas: the bars and axes, not a blank one.
    const painted = await page.$eval('canvas#weekly', (canvas) => {
      const c = canvas as unknown as {
        width: number;
        height: number;
        getContext(kind: '2d'): {
          getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
        };
      };
      const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(500);
    expect(problems).toEqual([]);
    expect(await page.textContent('#provisions')).toBe('5');

    // The CSV link of the page, fetched as the browser would, against the tables' figures.
    const href = await page.getAttribute('#csv', 'href');
    const csv = await (await context.request.get(`${url}${href ?? ''}`)).text();
    const fromCsv = (breakdown: string): Record<string, number> =>
      Object.fromEntries(
        csv
          .split('\r\n')
          .map((line) => line.replace(/^\uFEFF/, '').split(','))
          .filter((cells) => cells[0] === breakdown && Number(cells[8]) > 0)
          .map((cells): [string, number] => [cells[1] ?? '', Number(cells[3])]),
      );
    /** The page has no DOM types (the project's TypeScript has no DOM lib): the little used here. */
    interface Row {
      getAttribute(name: string): string | null;
      querySelector(selector: string): Row | null;
    }
    const fromTable = async (id: string): Promise<Record<string, number>> =>
      Object.fromEntries(
        await page.$$eval(`#${id} tbody tr`, (rows) =>
          (rows as unknown as Row[]).map((row): [string, number] => [
            row.getAttribute('data-key') ?? '',
            Number(row.querySelector('[data-provisions]')?.getAttribute('data-provisions')),
          ]),
        ),
      );
    expect(await fromTable('by-procedure')).toEqual(fromCsv('procedure'));
    expect(await fromTable('by-item')).toEqual(fromCsv('item'));
    expect(fromCsv('item')).toEqual({ '2': 5, '31': 0 });
    await context.close();
  }, 30_000);
});
