/**
 * The Myna Portal in a real browser (Debian's chromium, driven by playwright-core): a resident logs
 * in through the card reader with the right PIN, sees the home page, logs out; three wrong PINs lock
 * the card, the reader saying how many tries remain. Skipped, saying so, where /usr/bin/chromium is
 * missing (`.ci/run` installs it). With RENKEI_SCREENSHOTS=<dir> the pages are saved there as PNG.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualCard } from '../src/card/virtual-card.ts';
import { PIN, startPortalNetwork, type PortalNetwork } from './support/portal-network.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `portal-browser.test.ts: SKIPPED — ${CHROMIUM} is missing, so the browser tests did not run (apt-get install -y chromium).`,
  );
}

describe.skipIf(!hasChromium)('the Myna Portal in chromium', () => {
  let net: PortalNetwork;
  let browser: Browser;
  const shots = process.env.RENKEI_SCREENSHOTS;

  beforeAll(async () => {
    net = await startPortalNetwork('portal-browser');
    await net.issueCard('sanjo-hanako', '三条 花子');
    await net.issueCard('sanjo-jiro', '三条 次郎');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    if (shots) mkdirSync(shots, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await net?.dispose();
  });

  const shoot = async (page: Page, name: string) => {
    const path = join(shots ?? net.dir, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    expect(existsSync(path)).toBe(true);
  };

  const newPage = async () => {
    const page = await browser.newPage({ locale: 'ja-JP' });
    page.setDefaultTimeout(15_000);
    return page;
  };

  /** The text of an element once it is there (playwright-core has no web-first assertions). */
  const textOf = async (locator: Locator) => {
    await locator.waitFor();
    return (await locator.textContent()) ?? '';
  };

  /** Type the PIN and sign, waiting for the reader's answer page. */
  const signWith = async (page: Page, pin: string) => {
    await page.getByRole('textbox', { name: /利用者証明用電子証明書の暗証番号/ }).fill(pin);
    await Promise.all([
      page.waitForResponse((r) => r.url() === `${net.readerUrl}/sign` && r.request().method() === 'POST'),
      page.getByRole('button', { name: /署名してログイン/ }).click(),
    ]);
    await page.waitForLoadState();
  };

  /** From the portal's login page to the reader's PIN page, with the card chosen. */
  async function toReader(page: Page, card: string) {
    await page.goto(`${net.portal.url}/login`);
    expect(await textOf(page.locator('h1'))).toContain('ログイン');
    if (card === 'sanjo-hanako') await shoot(page, 'login');
    await page.getByTestId('reader-link').click();
    await page.waitForURL(`${net.readerUrl}/sign?**`);
    expect(await textOf(page.getByTestId('portal-origin'))).toBe(net.portal.url);
    await page.getByLabel(card).check();
  }

  it('logs a resident in through the reader with the right PIN, shows the home page, logs out', async () => {
    const page = await newPage();
    try {
      await toReader(page, 'sanjo-hanako');
      await shoot(page, 'reader');
      await page.getByRole('textbox', { name: /利用者証明用電子証明書の暗証番号/ }).fill(PIN);
      await page.getByRole('button', { name: /署名してログイン/ }).click();
      await page.waitForURL(`${net.portal.url}/`);
      expect(await textOf(page.locator('h1'))).toContain('ホーム');
      await page.getByRole('link', { name: /やりとり履歴/ }).waitFor({ state: 'visible' });
      expect(await textOf(page.locator('body'))).not.toContain('三条 花子');
      const cookies = await page.context().cookies(net.portal.url);
      const session = cookies.find((c) => c.name === 'portal_session');
      expect(session?.httpOnly).toBe(true);
      expect(session?.sameSite).toBe('Lax');
      await shoot(page, 'home');
      await page.getByRole('button', { name: /ログアウト/ }).click();
      await page.waitForURL(`${net.portal.url}/logged-out`);
      expect(await textOf(page.locator('h1'))).toContain('ログアウトしました');
      await page.goto(`${net.portal.url}/`);
      await page.waitForURL(`${net.portal.url}/login`);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('locks the card after three wrong PINs, saying how many tries remain', async () => {
    const page = await newPage();
    try {
      await toReader(page, 'sanjo-jiro');
      for (const [pin, says] of [
        ['0000', 'あと2回'],
        ['1111', 'あと1回'],
        ['2222', 'ロックされました'],
      ] as const) {
        await signWith(page, pin);
        expect(await textOf(page.getByTestId('reader-error'))).toContain(says);
      }
      await shoot(page, 'reader-locked');
      // Locked: even the right PIN no longer signs.
      await signWith(page, PIN);
      expect(await textOf(page.getByTestId('reader-error'))).toContain('ロックされました');
      expect(page.url().startsWith(net.readerUrl)).toBe(true);
      expect(VirtualCard.open(join(net.cardsDir, 'sanjo-jiro.card')).status().pinTriesLeft).toBe(0);
    } finally {
      await page.close();
    }
  }, 60_000);
});
