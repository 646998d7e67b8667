/**
 * The clerk console (窓口端末) in a real browser (Debian's chromium, driven by playwright-core): the
 * demo clerk of 三条市 logs in, takes the seeds' 児童手当 認定請求 for 山田 太郎 (moved from 新宿区),
 * sees 課税証明書 made unnecessary by 新宿区's answer, with the layout's labels, and finds the exchange
 * on the provision-records page. Around it, over plain HTTP: a clerk of one institution cannot log in
 * to another's console nor use its session there, and an account of another role is refused. Skipped,
 * saying so, where /usr/bin/chromium is missing. With RENKEI_SCREENSHOTS=<dir> pages are saved there.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { chromiumFor, launchChromium, shootPage } from './support/browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import { launchNetwork, type Network } from '../src/network/launch.ts';
import { seedWorld, type SeededWorld } from '../src/network/seed.ts';
import { DEMO_CLERK_PASSWORD, DEMO_WORLD, demoClerk } from '../src/network/world.ts';
import { openDatabase } from '../src/shared/db.ts';
import { systemClock } from '../src/shared/clock.ts';
import { AccountService } from '../src/shared/web/console/accounts.ts';
import { createKyselyConsoleStore, type ConsoleDatabase } from '../src/shared/web/console/kysely-store.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const hasChromium = chromiumFor('clerk-console-browser.test.ts');

/** The Japanese characters of a text (kana, kanji, full-width forms), to find what was not translated. */
const japaneseIn = (text: string) =>
  (text.match(/[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]/g) ?? []).join('');
const FAST = { log2N: 10, r: 8, p: 1 };

describe.skipIf(!hasChromium)('the clerk console in chromium', () => {
  let dir: string;
  let network: Network;
  let world: SeededWorld;
  let browser: Browser;
  const consoleOf = (id: string) => {
    const url = network.institutions.get(id)?.consoleUrl;
    if (!url) throw new Error(`no console for ${id}`);
    return url;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'renkei-clerk-console-'));
    const legalTable = loadLegalTable();
    network = await launchNetwork({
      dataDir: dir,
      legalTable,
      institutions: DEMO_WORLD.institutions,
      basePort: 0,
      consoles: { scrypt: FAST },
    });
    world = await seedWorld(network, DEMO_WORLD, legalTable);
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await network?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A form post as a browser would, with the login page's CSRF cookie and token. */
  async function login(consoleUrl: string, loginId: string, password: string) {
    const page = await fetch(`${consoleUrl}/login`);
    const cookie = (page.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    return fetch(`${consoleUrl}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ _csrf: token, loginId, password }).toString(),
    });
  }

  it('walks the 児童手当 intake: 課税証明書 unnecessary, answers with labels, the record on 提供記録', async () => {
    const page = await browser.newPage({ locale: 'ja-JP' });
    page.setDefaultTimeout(15_000);
    const sanjo = consoleOf('152048');
    await page.goto(`${sanjo}/intake`);
    await page.waitForURL(`${sanjo}/login`);
    await page.getByLabel('ログインID').fill('clerk-152048');
    await page.getByLabel('パスワード').fill(DEMO_CLERK_PASSWORD);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(`${sanjo}/intake`);
    expect(await page.getByTestId('staff-name').textContent()).toContain('三条市');

    // Picking the procedure shows its attachments at once (the select submits itself).
    await page.getByLabel('手続').selectOption('074-01');
    await page.getByTestId('attachments').waitFor();
    const listed = (await page.getByTestId('attachments').textContent()) ?? '';
    expect(listed).toContain('課税証明書');
    expect(listed).toContain('住民票');
    await page.locator('#addresseeNumber').fill(world.addresseeNumber('yamada-taro', '152048'));
    await page.getByTestId('provider-2').selectOption('131041');
    await shootPage(page, 'clerk-intake', () => dir);
    await page.getByRole('button', { name: '照会する' }).click();
    await page.waitForURL(/\/intake\/[0-9a-f-]{36}$/);
    const sheetUrl = page.url();

    // The sheet updates itself until the answer is there.
    const taxCertificate = page.locator('[data-attachment="課税証明書"]');
    await page
      .locator('[data-attachment="課税証明書"][data-verdict="unnecessary"]')
      .waitFor({ timeout: 40_000 });
    expect(await taxCertificate.textContent()).toContain('不要');
    expect(await page.locator('[data-attachment="住民票"]').getAttribute('data-verdict')).toBe('not-asked');
    const answer = (await page.getByTestId('answer-2').textContent()) ?? '';
    const labels =
      loadLegalTable()
        .findItem(2)
        ?.layouts.at(-1)
        ?.fields.map((f) => f.label) ?? [];
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.some((label) => answer.includes(label))).toBe(true);
    expect(await page.getByTestId('outcome').textContent()).toContain('提供あり');
    const processingNumber = (
      (await page.locator('[data-testid="intake-sheet"] code').first().textContent()) ?? ''
    ).trim();
    expect(processingNumber).toMatch(/^[0-9a-f-]{36}$/);
    await shootPage(page, 'clerk-intake-sheet', () => dir);

    await page.getByRole('link', { name: '提供記録' }).click();
    await page.locator('#processingNumber').fill(processingNumber);
    await page.getByRole('button', { name: '検索' }).click();
    const records = (await page.getByTestId('records').textContent()) ?? '';
    expect(records).toContain(processingNumber);
    expect(records).toContain('074-01');
    expect(records).toContain('152048:console:clerk-152048');
    await shootPage(page, 'clerk-records', () => dir);

    // In English, the data too: the legal table's and the directory's English names, the layout's
    // English labels; no Japanese left in the page's content (the clerk's own name is in the header).
    await page.getByTestId('lang-switch').click();
    await page.getByRole('button', { name: 'Search' }).waitFor();
    const legal = loadLegalTable();
    const recordsEn = (await page.getByTestId('records').textContent()) ?? '';
    expect(recordsEn).toContain(legal.findProcedure('074-01')?.nameEn ?? '?');
    expect(recordsEn).toContain('Shinjuku City (131041)');
    expect(recordsEn).toContain(legal.findItem(2)?.nameEn ?? '?');
    expect(japaneseIn(await page.locator('main').innerText())).toBe('');
    await shootPage(page, 'clerk-records-en', () => dir);

    await page.goto(sheetUrl);
    const taxEn = (await page.locator('[data-attachment="課税証明書"]').textContent()) ?? '';
    expect(taxEn).toContain('Tax certificate');
    expect(taxEn).not.toContain('課税証明書');
    const answerEn = (await page.getByTestId('answer-2').textContent()) ?? '';
    const shown = (legal.findItem(2)?.layouts.at(-1)?.fields ?? []).filter((f) => f.required);
    for (const field of shown) {
      expect(answerEn, field.name).toContain(field.labelEn);
      expect(answerEn, field.name).not.toContain(field.label);
    }
    expect(answerEn).toContain('Shinjuku City');
    // The sheet names the clerk as their account does (a person's name, as given): all else is English.
    const sanjoInstitution = DEMO_WORLD.institutions.find((i) => i.id === '152048');
    const clerkName = sanjoInstitution ? demoClerk(sanjoInstitution).displayName : '?';
    const sheetText = await page.locator('main').innerText();
    expect(sheetText).toContain(clerkName);
    expect(japaneseIn(sheetText.replaceAll(clerkName, ''))).toBe('');
    await shootPage(page, 'clerk-intake-sheet-en', () => dir);

    // And back: the Japanese page as it was.
    await page.getByTestId('lang-switch').click();
    await page.getByTestId('answer-2').waitFor();
    const answerJa = (await page.getByTestId('answer-2').textContent()) ?? '';
    for (const field of shown) expect(answerJa, field.name).toContain(field.label);
    expect(await page.locator('[data-attachment="課税証明書"]').textContent()).toContain('課税証明書');
    await page.close();
  }, 90_000);

  it('refuses a clerk of one institution at another’s console, and its session there', async () => {
    const refused = await login(consoleOf('131041'), 'clerk-152048', DEMO_CLERK_PASSWORD);
    expect(refused.status).toBe(401);
    const own = await login(consoleOf('152048'), 'clerk-152048', DEMO_CLERK_PASSWORD);
    expect(own.status).toBe(303);
    const session = own.headers.getSetCookie().find((c) => c.startsWith('console_session_152048='));
    expect(session).toBeDefined();
    // The same cookie renamed for 新宿区's console: no such session there.
    const value = (session ?? '').split(';')[0]?.split('=')[1] ?? '';
    const records = await fetch(`${consoleOf('131041')}/records`, {
      redirect: 'manual',
      headers: { cookie: `console_session_131041=${value}` },
    });
    expect(records.status).toBe(303);
    expect(records.headers.get('location')).toMatch(/^\/login/);
  });

  it('refuses an account of another role, and a clerk account naming another institution', async () => {
    const db = await openDatabase<ConsoleDatabase>({
      dialect: 'sqlite',
      file: join(dir, 'institutions', '152048', 'intermediate.sqlite'),
    });
    try {
      const accounts = new AccountService({
        store: createKyselyConsoleStore(db),
        clock: systemClock,
        scrypt: FAST,
      });
      await accounts.create({
        accountId: 'ppc-auditor',
        displayName: 'PPC',
        role: 'oversight',
        password: 'a long password 1',
      });
      await accounts.create({
        accountId: 'stray-clerk',
        displayName: 'stray',
        role: 'clerk',
        institutionId: '131041',
        password: 'a long password 2',
      });
    } finally {
      await db.destroy();
    }
    expect((await login(consoleOf('152048'), 'ppc-auditor', 'a long password 1')).status).toBe(403);
    expect((await login(consoleOf('152048'), 'stray-clerk', 'a long password 2')).status).toBe(403);
  });
});
