/**
 * The 自己情報取得API's consent in a real browser (Debian's chromium, driven by playwright-core): the
 * resident, at デモ家計簿アプリ (src/network/demo-kakeibo.ts, an openid-client app on a port of its
 * own), presses 「マイナポータルから取り込む」, logs in at the portal with the card, reads the consent
 * page (the service, the items, the period) and agrees; the app shows the imported income. On
 * 連携サービス the resident sees what was given to whom and withdraws it. No CSP violation on the way.
 * Skipped, saying so, where /usr/bin/chromium is missing. With RENKEI_SCREENSHOTS=<dir> the pages
 * are kept (`consent.png`, `kakeibo-imported.png`, `connected-services.png`).
 */
import { reservePort } from '../src/shared/ports.ts';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import { createDemoKakeibo } from '../src/network/demo-kakeibo.ts';
import { DEMO_INSTITUTIONS } from '../src/network/world.ts';
import { listen } from '../src/shared/http.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { chromiumFor, cspViolations, launchChromium, shootPage } from './support/browser.ts';
import { MUNICIPALITY, PIN, startPortalNetwork, type PortalNetwork } from './support/portal-network.ts';

const hasChromium = chromiumFor('portal-api-browser.test.ts');
const SHINJUKU = DEMO_INSTITUTIONS.find((i) => i.id === '131041')!;
const SECRET = 'kakeibo-browser-secret-0123456789abcdef';

describe.skipIf(!hasChromium)('the 自己情報取得API’s consent in chromium', () => {
  let net: PortalNetwork;
  let browser: Browser;
  let kakeibo: FastifyInstance;
  let kakeiboUrl: string;

  beforeAll(async () => {
    const { port, release } = await reservePort();
    kakeiboUrl = `http://127.0.0.1:${port}`;
    net = await startPortalNetwork('portal-api-browser', {
      institutions: [SHINJUKU],
      portal: {
        apiClients: [
          {
            clientId: 'kakeibo',
            name: 'デモ家計簿アプリ',
            redirectUris: [`${kakeiboUrl}/callback`],
            scopes: ['item:2'],
            secret: SECRET,
          },
        ],
      },
    });
    const card = await net.issueCard('api-browser', '連携 三郎');
    await net.network
      .institution(MUNICIPALITY.id)
      .registerPerson({ body: { individualNumber: card.individualNumber } });
    const { addresseeNumber } = await net.network
      .institution(SHINJUKU.id)
      .registerPerson({ body: { individualNumber: card.individualNumber } });
    const example = loadLegalTable().layoutFor(2, new Date())!.example;
    await net.network
      .institution(SHINJUKU.id)
      .putCopy({ body: { addresseeNumber, itemNo: 2, data: { ...example, totalIncome: 1618033 } } });
    kakeibo = await createDemoKakeibo({
      portalOrigin: net.portal.url,
      clientId: 'kakeibo',
      secret: SECRET,
      origin: kakeiboUrl,
      logger: silentLogger(),
    });
    await release();
    await listen(kakeibo, port, '127.0.0.1');
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await kakeibo?.close();
    await net?.dispose();
  });

  const shoot = (page: Page, name: string) => shootPage(page, name, () => net.dir);

  it('logs in with the card, asks consent naming the service, the items and the period, and the app shows what it was given', async () => {
    const page = await browser.newPage({ locale: 'ja-JP' });
    page.setDefaultTimeout(20_000);
    const violations = cspViolations(page);
    try {
      await page.goto(`${kakeiboUrl}/`);
      await page.getByTestId('kakeibo-connect').click();
      // Not logged in at the portal: its card login first.
      await page.waitForURL(`${net.portal.url}/login`);
      await page.getByTestId('reader-link').click();
      await page.waitForURL(`${net.readerUrl}/sign?**`);
      await page.getByLabel('api-browser').check();
      await page.getByRole('textbox', { name: /利用者証明用電子証明書の暗証番号/ }).fill(PIN);
      await page.getByRole('button', { name: /署名してログイン/ }).click();
      await page.waitForURL(`${net.portal.url}/oidc-interaction/**`);
      expect(await page.getByTestId('consent-client').textContent()).toBe('デモ家計簿アプリ');
      expect(await page.getByTestId('consent-items').textContent()).toContain('地方税関係情報');
      expect(await page.getByTestId('consent-period').textContent()).toMatch(/令和\d+年\d+月\d+日/);
      await shoot(page, 'consent');
      await page.getByTestId('consent-allow').click();
      await page.waitForURL(`${kakeiboUrl}/callback?**`);
      expect(await page.getByTestId('kakeibo-institution').textContent()).toContain('1618033');
      await shoot(page, 'kakeibo-imported');

      // 連携サービス: what was given to whom; withdrawn.
      await page.goto(`${net.portal.url}/`);
      await page.getByTestId('home-connected-services').click();
      await page.waitForURL(`${net.portal.url}/connected-services`);
      expect(await page.getByTestId('releases').textContent()).toMatch(
        /デモ家計簿アプリ[\s\S]*地方税関係情報[\s\S]*新宿区/,
      );
      await shoot(page, 'connected-services');
      await page.getByTestId('revoke').click();
      await page.getByTestId('revoked-notice').waitFor();
      expect(await page.getByTestId('grant-revoked').count()).toBe(1);
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('tells the app when the resident does not consent', async () => {
    const context = await browser.newContext({ locale: 'ja-JP' });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    try {
      await page.goto(`${kakeiboUrl}/`);
      await page.getByTestId('kakeibo-connect').click();
      await page.waitForURL(`${net.portal.url}/login`);
      await page.getByTestId('reader-link').click();
      await page.getByLabel('api-browser').check();
      await page.getByRole('textbox', { name: /利用者証明用電子証明書の暗証番号/ }).fill(PIN);
      await page.getByRole('button', { name: /署名してログイン/ }).click();
      await page.waitForURL(`${net.portal.url}/oidc-interaction/**`);
      await page.getByTestId('consent-deny').click();
      await page.getByTestId('kakeibo-denied').waitFor();
    } finally {
      await context.close();
    }
  }, 60_000);
});
