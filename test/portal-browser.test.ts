/**
 * The Myna Portal in a real browser (Debian's chromium, driven by playwright-core): a resident logs
 * in through the card reader with the right PIN, sees the home page, logs out; three wrong PINs lock
 * the card, the reader saying how many tries remain; and ぴったりサービス's whole path: find 児童手当 at
 * 三条市, apply without a 課税証明書, sign at the reader with the signing password, received, and
 * downloaded by 三条市's systems with the signature ✓; and the English switch, from the login page
 * through the reader to every main page and back to Japanese. Skipped, saying so, where /usr/bin/chromium is
 * missing (`.ci/run` installs it). With RENKEI_SCREENSHOTS=<dir> the pages are saved there as PNG.
 */
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { chromiumFor, launchChromium, shootPage } from './support/browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualCard } from '../src/card/virtual-card.ts';
import { createClient } from '../src/protocol/api.ts';
import { credentialTransport } from '../src/protocol/client-credentials.ts';
import { portalApi } from '../src/protocol/routes.ts';
import { systemClock } from '../src/shared/clock.ts';
import { pkiPaths } from '../src/trust/pki/files.ts';
import { MUNICIPALITY, PIN, startPortalNetwork, type PortalNetwork } from './support/portal-network.ts';

const hasChromium = chromiumFor('portal-browser.test.ts');

describe.skipIf(!hasChromium)('the Myna Portal in chromium', () => {
  let net: PortalNetwork;
  let browser: Browser;

  beforeAll(async () => {
    net = await startPortalNetwork('portal-browser');
    await net.issueCard('sanjo-hanako', '三条 花子');
    await net.issueCard('sanjo-jiro', '三条 次郎');
    await net.issueCard('sanjo-ken', '三条 健');
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await net?.dispose();
  });

  const shoot = (page: Page, name: string) => shootPage(page, name, () => net.dir);

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

  it('finds 児童手当 at 三条市, applies without 課税証明書, signs at the reader; 三条市 downloads it ✓', async () => {
    const page = await newPage();
    const transport = await credentialTransport({
      pkiDir: net.network.pkiDir!,
      parties: [`${MUNICIPALITY.id}:business`],
      clock: systemClock,
      crl: { file: pkiPaths(net.network.pkiDir!).crlDer },
      timeoutMs: 30_000,
    });
    try {
      await toReader(page, 'sanjo-hanako');
      await page.getByRole('textbox', { name: /利用者証明用電子証明書の暗証番号/ }).fill(PIN);
      await page.getByRole('button', { name: /署名してログイン/ }).click();
      await page.waitForURL(`${net.portal.url}/`);
      await page.getByRole('link', { name: /ぴったりサービス.*手続を探して/s }).click();
      await page.waitForURL(`${net.portal.url}/services`);
      await page.locator('#event').selectOption('kosodate');
      await page.locator('#municipality').selectOption(MUNICIPALITY.id);
      await page.locator('#q').fill('児童手当');
      await page.getByRole('button', { name: /探す/ }).click();
      await page.waitForURL(`${net.portal.url}/services?**`);
      const hit = page.locator(`[data-procedure="kosodate-01"][data-municipality="${MUNICIPALITY.id}"]`);
      expect(await textOf(hit)).toContain('課税証明書 添付不要');
      await shoot(page, 'services-finder');
      await hit.getByTestId('apply-link').click();
      await page.waitForURL(`${net.portal.url}/services/${MUNICIPALITY.id}/kosodate-01/apply`);
      expect(await textOf(page.getByTestId('attachments-omitted'))).toContain('課税証明書 添付不要');
      expect(await page.locator('input[type="file"]').count()).toBe(0);
      await page.locator('#f-childName').fill('三条 一郎');
      await page.locator('#f-childDateOfBirth').fill('2024-04-01');
      await page.locator('#f-relationship').selectOption('子');
      await page.locator('#f-payeeAccount').selectOption('公金受取口座');
      await page.locator('#f-phone').fill('0256345111');
      await shoot(page, 'services-apply');
      await page.getByRole('button', { name: /署名へ進む/ }).click();
      await page.waitForURL(`${net.portal.url}/services/signing/*`);
      await page.getByTestId('sign-link').click();
      await page.waitForURL(`${net.readerUrl}/sign-document?**`);
      expect(await textOf(page.getByTestId('document-title'))).toContain('児童手当');
      await page.getByLabel('sanjo-hanako').check();
      await page.locator('#password').fill('SANJO2024');
      await shoot(page, 'reader-sign-document');
      await page.getByRole('button', { name: /電子署名して送信/ }).click();
      // The reader's page posts the SignedData to the portal, which answers with the receipt.
      await page.waitForURL(`${net.portal.url}/services/signing/*/received`);
      expect(await textOf(page.locator('h1'))).toContain('申請を受け付けました');
      const number = await textOf(page.getByTestId('application-number'));
      expect(number).toMatch(/^\d{8}-[0-9A-Z]{8}$/);
      await shoot(page, 'services-received');
      await page.getByTestId('my-applications-link').click();
      await page.waitForURL(`${net.portal.url}/services/applications`);
      const row = page.locator(`[data-application="${number}"]`);
      expect(await textOf(row.getByTestId('application-status'))).toContain('受付済み');

      // 三条市's systems: 申請データダウンロード over mutual TLS, the signature checked ✓.
      const sanjo = createClient(portalApi, {
        transport,
        baseUrl: net.portal.networkUrl,
        peer: 'the portal',
        party: 'portal',
      });
      const fresh = await sanjo.listApplications({ query: { state: 'new' } });
      expect(fresh.applications.map((a) => a.applicationNumber)).toEqual([number]);
      const [downloaded] = (await sanjo.downloadApplications({ body: {} })).applications;
      expect(downloaded?.verification).toMatchObject({ signature: 'valid', certificateStatus: 'good' });
      expect(Buffer.from(downloaded?.content ?? '', 'base64').toString('utf8')).toContain('三条 一郎');
      await page.reload();
      expect(await textOf(row.getByTestId('application-status'))).toContain('市区町村が受け取りました');
      await shoot(page, 'services-my-applications');
    } finally {
      await transport.close();
      await page.close();
    }
  }, 90_000);
  it('switches to English on any page, keeping it, through the reader and every main page, and back', async () => {
    const page = await newPage();
    /** The page's `<html lang>` and its h1, once loaded. */
    const shows = async (lang: 'ja' | 'en', heading: string | RegExp) => {
      await page.waitForLoadState();
      expect(await page.locator('html').getAttribute('lang')).toBe(lang);
      const h1 = await textOf(page.locator('h1'));
      if (typeof heading === 'string') expect(h1.trim()).toBe(heading);
      else expect(h1).toMatch(heading);
    };
    /** No kana left in the page's chrome (names from data, such as 三条市, are kanji). */
    const noKana = async () => {
      expect(((await page.locator('body').innerText()).match(/[\u3040-\u30ff]+/g) ?? []).join(' ')).toBe('');
    };
    try {
      await page.goto(`${net.portal.url}/login`);
      await shows('ja', 'ログイン');
      await page.getByTestId('lang-switch').click();
      await page.waitForURL(`${net.portal.url}/login`);
      await shows('en', 'Log in');
      await noKana();
      // The reader, on another port of the same host, follows the language chosen at the portal.
      await page.getByTestId('reader-link').click();
      await page.waitForURL(`${net.readerUrl}/sign?**`);
      await shows('en', 'Log in with your card');
      await page.getByLabel('sanjo-ken').check();
      await page.getByRole('textbox', { name: /PIN/ }).fill(PIN);
      await page.getByRole('button', { name: 'Sign and log in' }).click();
      await page.waitForURL(`${net.portal.url}/`);
      await shows('en', 'Home');
      await noKana();
      await shoot(page, 'home-en');
      for (const [link, path, heading] of [
        [/Exchanges about me/, '/exchanges', 'Exchanges about me'],
        [/My information/, '/my-information', 'My information'],
        [/^Notices/, '/notices', 'Notices'],
        [/Benefit account/, '/account', 'Register your benefit account'],
        [/Find services and apply/, '/services', 'Find services and apply'],
      ] as const) {
        await page.goto(`${net.portal.url}/`);
        await page.getByRole('link', { name: link }).first().click();
        await page.waitForURL(`${net.portal.url}${path}`);
        await shows('en', heading);
        // The account form shows a katakana example (the field is typed in katakana): data, not chrome.
        if (path !== '/account') await noKana();
      }
      // The finder, searched in English, switched to Japanese: the same search, in Japanese.
      await page.locator('#event').selectOption('kosodate');
      await page.locator('#municipality').selectOption(MUNICIPALITY.id);
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(`${net.portal.url}/services?**`);
      const searched = page.url();
      expect(await textOf(page.locator('[data-procedure="kosodate-01"]'))).toContain('no need to attach');
      await page.getByTestId('lang-switch').click();
      await page.waitForURL(searched);
      await shows('ja', 'ぴったりサービス');
      expect(await textOf(page.locator('[data-procedure="kosodate-01"]'))).toContain('課税証明書 添付不要');
      expect(await page.locator('#event').inputValue()).toBe('kosodate');
      // And back: English again, then Japanese from the home page, for good.
      await page.getByTestId('lang-switch').click();
      await page.waitForURL(searched);
      await shows('en', 'Find services and apply');
      for (const [path, heading] of [
        ['/services/applications', 'My applications'],
        ['/connected-services', 'Connected services'],
        ['/nowhere', 'Something went wrong'],
      ] as const) {
        await page.goto(`${net.portal.url}${path}`);
        await shows('en', heading);
        await noKana();
      }
      await page.goto(`${net.portal.url}/`);
      await page.getByTestId('lang-switch').click();
      await page.waitForURL(`${net.portal.url}/`);
      await shows('ja', 'ホーム');
      const lang = (await page.context().cookies(net.portal.url)).find((c) => c.name === 'lang');
      expect(lang?.value).toBe('ja');
      // The switch only goes back to a page of this site.
      await page.goto(`${net.portal.url}/lang?to=en&return=//example.com/`);
      await page.waitForURL(`${net.portal.url}/`);
      await shows('en', 'Home');
      await page.goto(`${net.portal.url}/lang?to=ja&return=/`);
      await shows('ja', 'ホーム');
    } finally {
      await page.close();
    }
  }, 90_000);
});
