/**
 * The Myna Portal's お知らせ in a real browser (Debian's chromium, driven by playwright-core): a
 * resident has the inbox open; an institution sends a notice; the unread count in the header rises
 * and the notice appears at the top of the list without a reload (Server-Sent Events, the script an
 * ES module under the strict CSP); opening it marks it read and the count goes down. Skipped,
 * saying so, where /usr/bin/chromium is missing. With RENKEI_SCREENSHOTS=<dir> the pages are kept.
 */
import type { Browser, Page } from 'playwright-core';
import { chromiumFor, cspViolations, shootPage } from './support/browser.ts';
import { logInWithCard, startPortalInChromium, type PortalInChromium } from './support/portal-chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUNICIPALITY, type PortalNetwork } from './support/portal-network.ts';

const hasChromium = chromiumFor('portal-notices-browser.test.ts');

describe.skipIf(!hasChromium)('the Myna Portal’s notices in chromium', () => {
  let portal: PortalInChromium;
  let net: PortalNetwork;
  let browser: Browser;
  let addresseeNumber: string;

  beforeAll(async () => {
    portal = await startPortalInChromium('portal-notices-browser');
    ({ net, browser, addresseeNumber } = portal);
  }, 180_000);

  afterAll(async () => {
    await portal?.dispose();
  });

  const shoot = (page: Page, name: string) => shootPage(page, name, () => net.dir);

  const headerCount = (page: Page) => page.getByTestId('header-notices').locator('[data-unread-count]');

  /** Wait, in the page, until the header's count reads `count` (the page changing itself). */
  const untilCount = (page: Page, count: string) =>
    page
      .getByTestId('header-notices')
      .locator('[data-unread-count]', { hasText: new RegExp(`^${count}$`) })
      .waitFor();

  const send = (title: string, body: string) =>
    net.network.institution(MUNICIPALITY.id).sendResidentMessage({ body: { addresseeNumber, title, body } });

  it('raises the unread count without a reload when a notice arrives, lowers it when read; in English names the sender so, the notice left as sent', async () => {
    const page = await browser.newPage({ locale: 'ja-JP' });
    page.setDefaultTimeout(20_000);
    const violations = cspViolations(page);
    try {
      await logInWithCard(page, net, 'sanjo-hanako');
      expect(await headerCount(page).textContent()).toBe('0');

      await page.getByRole('link', { name: /お知らせ.*行政機関からのお知らせ/s }).click();
      await page.waitForURL(`${net.portal.url}/notices`);
      await page.locator('html[data-notices-live="open"]').waitFor({ state: 'attached' });
      expect(await headerCount(page).textContent()).toBe('0');
      let navigations = 0;
      page.on('framenavigated', () => navigations++);

      await send('児童手当の現況届について', '6月30日までに現況届を提出してください。\n三条市 子育て支援課');
      await untilCount(page, '1');
      const item = page.locator('.inbox__item--unread', { hasText: '児童手当の現況届について' });
      await item.waitFor();
      expect(await item.textContent()).toContain('三条市');
      expect(await item.textContent()).toMatch(/令和\d+年\d+月\d+日（\d{4}年）/);
      await send('予防接種のお知らせ', '接種券を送付しました。');
      await untilCount(page, '2');
      expect(navigations).toBe(0); // no reload: the page updated itself
      await shoot(page, 'notices-inbox');

      await item.getByRole('link').click();
      await page.waitForURL(`${net.portal.url}/notices/**`);
      expect(await page.getByTestId('notice-body').textContent()).toContain('6月30日までに現況届を提出');
      expect(await headerCount(page).textContent()).toBe('1');
      await shoot(page, 'notice');
      // In English: the sender by its English name; the notice's title and text as the institution
      // wrote them, marked lang="ja", and the page says so.
      const noticeUrl = page.url();
      await page.getByTestId('lang-switch').click();
      await page.waitForURL(noticeUrl);
      expect(await page.getByTestId('notice-sender').textContent()).toBe(MUNICIPALITY.nameEn);
      expect(await page.getByTestId('notice-body').getAttribute('lang')).toBe('ja');
      expect(await page.locator('h1').getAttribute('lang')).toBe('ja');
      expect(await page.getByTestId('notice-as-sent').textContent()).toContain(
        'as the institution wrote them',
      );
      await page.goto(`${net.portal.url}/notices`);
      await page.locator('html[data-notices-live="open"]').waitFor({ state: 'attached' });
      const listed = page.locator('.inbox__item', { hasText: '予防接種のお知らせ' });
      expect(await listed.locator('.inbox__sender').textContent()).toBe(MUNICIPALITY.nameEn);
      expect(await listed.locator('a').getAttribute('lang')).toBe('ja');
      // One arriving live, on the page in English, is named the same way.
      await send('健診のお知らせ', '健診の案内を送付しました。');
      const live = page.locator('.inbox__item--unread', { hasText: '健診のお知らせ' });
      await live.waitFor();
      expect(await live.locator('.inbox__sender').textContent()).toBe(MUNICIPALITY.nameEn);
      expect(await live.locator('a').getAttribute('lang')).toBe('ja');
      await shoot(page, 'notices-inbox-en');
      await page.getByTestId('lang-switch').click();
      await page.waitForURL(`${net.portal.url}/notices`);
      expect(
        await page
          .locator('.inbox__item', { hasText: '健診のお知らせ' })
          .locator('.inbox__sender')
          .textContent(),
      ).toBe(MUNICIPALITY.name);

      await page.goto(`${net.portal.url}/`);
      expect(await page.getByTestId('home-unread').textContent()).toContain('2');
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  }, 90_000);
});
