/**
 * The core's console in a real browser (Debian's chromium, driven by playwright-core), on a core with
 * real exchanges (stand-in institutions over real HTTP) and the consoles' real login: the operator logs
 * in, sees the week's provisions drawn and the registry, suspends an institution (confirming first)
 * and reinstates it, loads a new version of the legal table from files (a bad one shown at its line
 * first, then a good one's diff, stored on confirming); logs out; the oversight commission's account
 * logs in, searches the records, reads the figures per institution, verifies the log, looks up a
 * resident by their municipality's code, follows an anomaly to its records, runs the three-party
 * cross-check and finds the lookup in the console's use log. Skipped,
 * saying so, where /usr/bin/chromium is missing. With RENKEI_SCREENSHOTS=<dir> pages are saved there.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { generateKeyPair } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legalTableFromFiles, type LegalFiles } from '../src/domain/legal-table/load.ts';
import {
  startTestCoreConsole,
  startTwoMunicipalities,
  testLegalFiles,
  type TestCore,
  type TwoMunicipalities,
} from '../src/nodes/core/test-support.ts';
import { anomalyRules } from '../src/nodes/core/service/anomalies.ts';
import { listen } from '../src/shared/http.ts';
import { chromiumFor, launchChromium, shootPage } from './support/browser.ts';

const hasChromium = chromiumFor('core-console-browser.test.ts');
const PASSWORD = 'renkei-demo-operator';

describe.skipIf(!hasChromium)("the core's console in chromium", () => {
  let net: TwoMunicipalities;
  let core: TestCore;
  let web: FastifyInstance;
  let url: string;
  let browser: Browser;
  let shots: string;
  let code: string;

  beforeAll(async () => {
    shots = mkdtempSync(join(tmpdir(), 'renkei-core-console-'));
    const keys = await generateKeyPair('ES256');
    net = await startTwoMunicipalities({
      recordLog: { signer: { key: keys.privateKey, kid: 'core' }, everyMs: 0 },
      legalTable: legalTableFromFiles(testLegalFiles()),
    });
    ({ core, code } = net);
    await core.core.services.legalVersions.open();
    for (const [at, itemNos] of [
      ['2025-05-14T01:00:00Z', [2]],
      ['2025-05-28T01:00:00Z', [2]],
      ['2025-05-28T02:00:00Z', [2]],
      ['2025-05-29T01:00:00Z', [31]], // refused
    ] as const) {
      core.clock.set(at);
      await net.inquire(itemNos);
    }
    await core.core.whenIdle();
    // As the core's schedule does (every 100 events or 60 s): a head over what the log holds.
    await core.core.recordLog.signHead();
    core.clock.set('2025-06-01T01:00:00Z');
    web = await startTestCoreConsole(core, {
      accounts: [
        { accountId: 'operator', displayName: '運用担当', role: 'operator' },
        { accountId: 'oversight', displayName: '個人情報保護委員会 監視担当', role: 'oversight' },
      ],
      password: PASSWORD,
      headKey: keys.publicKey,
      // One refusal a day is enough to be listed here, so that the walk meets an anomaly.
      anomalyRules: anomalyRules({ repeatedRefusals: { bucket: 'day', threshold: 1 } }),
    });
    url = await listen(web, 0);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await net?.dispose();
    if (shots) rmSync(shots, { recursive: true, force: true });
  });

  async function logIn(page: Page, loginId: string, home: string) {
    await page.goto(`${url}/`);
    await page.waitForURL(`${url}/login`);
    await page.getByLabel('ログインID').fill(loginId);
    await page.getByLabel('パスワード').fill(PASSWORD);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(`${url}${home}`);
  }

  it('walks the operator’s statistics and registry, then the oversight records, figures, log, a resident, anomalies, cross-check and use log', async () => {
    const page = await browser.newPage({ locale: 'ja-JP', viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) problems.push(m.text());
    });

    await logIn(page, 'operator', '/operator/statistics');
    await page.goto(`${url}/operator/statistics?from=2025-05-12&to=2025-06-01`);
    await page.waitForSelector('canvas#weekly[data-drawn="true"]');
    expect(await page.textContent('#provisions')).toBe('3');
    await shootPage(page, 'core-console-statistics', () => shots);
    await page.getByRole('link', { name: '機関の登録簿' }).click();
    await page.waitForURL(`${url}/operator/registry`);
    expect(await page.locator('#institutions tbody tr').count()).toBe(2);
    await shootPage(page, 'core-console-registry', () => shots);
    // Suspend an institution: the reason, then a page that says what will happen, then confirm.
    await page.getByLabel('132012の参加の停止の理由').fill('不正アクセスの調査');
    await page.locator('tr[data-institution="132012"]').getByRole('button', { name: '停止…' }).click();
    await page.waitForSelector('#confirm');
    expect(await page.textContent('[data-reason]')).toBe('不正アクセスの調査');
    await shootPage(page, 'core-console-suspend-confirm', () => shots);
    await page.getByRole('button', { name: '停止する' }).click();
    await page.waitForURL(/done=suspended/);
    await page.waitForSelector('tr[data-institution="132012"] [data-suspended="true"]');
    expect((await core.core.services.registry.get('132012')).suspended).toBe(true);
    await page.getByLabel('132012の参加の停止の解除の理由').fill('調査完了');
    await page.locator('tr[data-institution="132012"]').getByRole('button', { name: '解除…' }).click();
    await page.getByRole('button', { name: '解除する' }).click();
    await page.waitForSelector('tr[data-institution="132012"] [data-suspended="false"]');

    // Load a version of the legal table from files: a bad one first, shown at its line.
    const files = (name: string, f: LegalFiles) => {
      const dir = join(shots, name);
      mkdirSync(dir);
      for (const [part, text] of Object.entries(f)) writeFileSync(join(dir, `${part}.yaml`), text);
      return (part: string) => join(dir, `${part}.yaml`);
    };
    const good = testLegalFiles(({ clauses }) => {
      const clause = (clauses as { clauseNo: string; requester: unknown }[]).find((c) => c.clauseNo === '74');
      if (clause) clause.requester = { kinds: ['prefecture'], institutions: [] };
    });
    const bad = files('bad', { ...good, items: good.items.replace('name:', 'name: [') });
    const ok = files('good', good);
    await page.getByRole('link', { name: '別表第二・レイアウト' }).click();
    await page.getByRole('link', { name: '新しい版を読み込む' }).click();
    await page.waitForURL(`${url}/operator/legal/load`);
    await page.getByLabel('施行日').fill('2025-07-01');
    for (const part of ['clauses', 'procedures', 'items']) {
      await page.getByLabel(`${part}.yamlのファイル`).setInputFiles(bad(part));
    }
    await expect.poll(() => page.inputValue('textarea#items')).not.toBe('');
    await page.getByRole('button', { name: '検証' }).click();
    await page.waitForSelector('#problem[data-code="ERR_LEGAL_TABLE_INVALID"]');
    expect(await page.getAttribute('#problem-line', 'data-file')).toBe('legal/items.yaml');
    await shootPage(page, 'core-console-legal-load-refused', () => shots);
    for (const part of ['clauses', 'procedures', 'items']) {
      await page.getByLabel(`${part}.yamlのファイル`).setInputFiles(ok(part));
    }
    await expect.poll(() => page.inputValue('textarea#items')).toBe(good.items);
    await page.getByRole('button', { name: '検証' }).click();
    await page.waitForSelector('#checked');
    expect(await page.getAttribute('#effective-from', 'data-day')).toBe('2025-07-01');
    expect(await page.textContent('#diff')).toContain('prefecture');
    const before = (await core.store.listLegalVersions()).length;
    await shootPage(page, 'core-console-legal-load-diff', () => shots);
    await page.getByRole('button', { name: 'この版を保存' }).click();
    await page.waitForSelector('#loaded[data-loaded="stored"]');
    const versions = await core.store.listLegalVersions();
    expect(versions).toHaveLength(before + 1);
    expect(versions.at(-1)).toMatchObject({
      effectiveFrom: '2025-07-01',
      loadedBy: 'console:operator',
      files: good,
    });

    // The operator's menu has no oversight page, and the oversight pages refuse the operator.
    expect(await page.getByRole('link', { name: '改ざん検知' }).count()).toBe(0);
    const refused = await page.goto(`${url}/oversight/records`);
    expect(refused?.status()).toBe(403);
    expect(problems).toEqual([
      // The bad version's page (422), then the oversight page refused (403).
      'Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)',
      'Failed to load resource: the server responded with a status of 403 (Forbidden)',
    ]);
    problems.length = 0;
    await page.goto(`${url}/operator/registry`);
    await page.getByRole('button', { name: 'ログアウト' }).click();
    await page.waitForURL(`${url}/login?bye=1`);

    await logIn(page, 'oversight', '/oversight/records');
    expect(await page.locator('#records tbody tr').count()).toBe(4);
    await page.getByLabel('結果').selectOption('refused');
    await page.getByRole('button', { name: '検索' }).click();
    await page.waitForURL(/outcome=refused/);
    expect(await page.locator('#records tbody tr').count()).toBe(1);
    await shootPage(page, 'core-console-oversight-records', () => shots);
    await page.getByRole('link', { name: '機関別の状況' }).click();
    await page.getByLabel('開始日').fill('2025-05-01');
    await page.getByRole('button', { name: '表示' }).click();
    await page.waitForURL(/from=2025-05-01/);
    expect(await page.textContent('#refused')).toBe('1');
    await shootPage(page, 'core-console-oversight-institutions', () => shots);
    await page.getByRole('link', { name: '改ざん検知' }).click();
    await page.getByRole('button', { name: 'ログ全体を検証' }).click();
    await page.waitForSelector('#verification[data-ok="true"]');
    await shootPage(page, 'core-console-oversight-log', () => shots);

    // A complaint: the resident's municipality gives its code for them; every exchange is shown.
    await page.getByRole('link', { name: '個人別' }).click();
    await page.getByLabel('機関コード').fill('131016');
    await page.getByLabel('その機関の符号').fill(code);
    await page.getByLabel('利用の理由').fill('苦情受付 R7-0012 の調査');
    await page.locator('#person-search').click();
    await page.waitForSelector('#person-records[data-count="4"]');
    expect(await page.content()).not.toContain(code);
    expect(await page.inputValue('#personCode')).toBe('');
    await shootPage(page, 'core-console-oversight-person', () => shots);

    // The anomalies of the period, each linked to the records behind it.
    await page.getByRole('link', { name: '異常の検知' }).click();
    await page.getByLabel('開始日').fill('2025-05-26');
    await page.getByLabel('終了日').fill('2025-06-01');
    await page.getByRole('button', { name: '表示' }).click();
    await page.waitForURL(/anomalies\?from=2025-05-26/);
    expect(await page.locator('#anomalies tbody tr[data-kind="repeated-refusals"]').count()).toBe(1);
    await shootPage(page, 'core-console-oversight-anomalies', () => shots);
    await page.getByRole('link', { name: '記録を見る' }).click();
    await page.waitForURL(/records\?.*requesterId=131016/);
    expect(await page.locator('#records tbody tr[data-outcome="refused"]').count()).toBe(1);
    expect(await page.locator('#records tbody tr').count()).toBe(1);

    // The three-party cross-check: the stand-in institutions keep no records, so every exchange the
    // core recorded as answered is missing at them, and listed.
    await page.getByRole('link', { name: '三者照合' }).click();
    await page.getByRole('button', { name: '照合' }).click();
    await page.waitForSelector('#cross-check[data-ok="false"]');
    expect(await page.locator('#mismatches li[data-kind="exchange-missing"]').count()).toBeGreaterThan(0);
    await shootPage(page, 'core-console-oversight-cross-check', () => shots);

    // The console's own use log names the view, its institution and its reason.
    await page.getByRole('link', { name: '利用記録' }).click();
    const use = page.locator('#uses tbody tr[data-action="person"]');
    expect(await use.count()).toBe(1);
    expect(await use.textContent()).toContain('苦情受付 R7-0012 の調査');
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  // Issue 10's English for the data: in English, the statistics' rows, the legal table's page and the
  // registry name procedures, items, layout labels, attachments and kinds by their English names.
  it('shows the statistics, the legal table and the registry in English with no Japanese data left, and Japanese back', async () => {
    const page = await browser.newPage({ locale: 'ja-JP', viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    const japaneseIn = async (selector: string) =>
      (
        (await page.locator(selector).innerText()).match(/[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]/g) ?? []
      ).join('');
    await logIn(page, 'operator', '/operator/statistics');
    await page.goto(`${url}/operator/statistics?from=2025-05-12&to=2025-06-01`);
    await page.getByTestId('lang-switch').click();
    await page.waitForSelector('html[lang="en"]');
    const byProcedure = await page.locator('#by-procedure').innerText();
    expect(byProcedure).toContain('child allowance claim');
    expect(await page.locator('#by-requester-kind').innerText()).toContain('Municipality');
    expect(await japaneseIn('main')).toBe('');
    await shootPage(page, 'core-console-statistics-en', () => shots);

    await page.goto(`${url}/operator/legal`);
    expect(await page.locator('#procedures').innerText()).toContain('Tax certificate');
    expect(await page.locator('#clauses').innerText()).toContain('Child Allowance Act');
    await page.locator('details').first().locator('summary').click();
    expect(await page.locator('details').first().innerText()).toContain('Value');
    expect(await japaneseIn('main')).toBe('');
    await shootPage(page, 'core-console-legal-en', () => shots);

    await page.goto(`${url}/operator/registry`);
    const kinds = await page.locator('#institutions tbody td:nth-child(3)').allInnerTexts();
    expect(kinds).toEqual(['Municipality', 'Municipality']);

    // Back to Japanese: the Japanese names, as before.
    await page.goto(`${url}/operator/statistics?from=2025-05-12&to=2025-06-01`);
    await page.getByTestId('lang-switch').click();
    await page.waitForSelector('html[lang="ja"]');
    expect(await page.locator('#by-procedure').innerText()).toContain('児童手当の認定請求');
    expect(await page.locator('#by-requester-kind').innerText()).toContain('市区町村');
    await page.close();
  }, 90_000);
});
