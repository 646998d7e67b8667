/**
 * Service D of the Myna Portal in a real browser (Debian's chromium, driven by playwright-core): a
 * resident logs in with the card, registers their public-funds receiving account (a field typed
 * wrong is said so, then the confirm step), opens a notice that carries a payment request, presses
 * 「支払う」, confirms at the demo payment provider, and the institution's business API shows the
 * request paid. No CSP violation on the way. Skipped, saying so, where /usr/bin/chromium is missing.
 * With RENKEI_SCREENSHOTS=<dir> the pages are kept.
 */
import type { Browser, Page } from 'playwright-core';
import { chromiumFor, cspViolations, shootPage } from './support/browser.ts';
import { logInWithCard, startPortalInChromium, type PortalInChromium } from './support/portal-chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MUNICIPALITY, type PortalNetwork } from './support/portal-network.ts';

const hasChromium = chromiumFor('portal-money-browser.test.ts');

describe.skipIf(!hasChromium)('the Myna Portal’s account and payments in chromium', () => {
  let portal: PortalInChromium;
  let net: PortalNetwork;
  let browser: Browser;
  let addresseeNumber: string;

  beforeAll(async () => {
    portal = await startPortalInChromium('portal-money-browser');
    ({ net, browser, addresseeNumber } = portal);
  }, 180_000);

  afterAll(async () => {
    await portal?.dispose();
  });

  const shoot = (page: Page, name: string) => shootPage(page, name, () => net.dir);

  it('registers the account, pays a notice’s request, and the institution sees it paid', async () => {
    const page = await browser.newPage({ locale: 'ja-JP' });
    page.setDefaultTimeout(20_000);
    const violations = cspViolations(page);
    try {
      await logInWithCard(page, net, 'sanjo-hanako');

      // 公金受取口座: a mistake said in words, then the confirm step, then registered.
      await page.getByRole('link', { name: /公金受取口座・公金決済/ }).click();
      await page.waitForURL(`${net.portal.url}/account`);
      await page.getByLabel(/金融機関コード/).fill('0001');
      await page.getByLabel(/支店番号/).fill('12');
      await page.getByLabel(/普通/).check();
      await page.getByLabel(/口座番号/).fill('0034567');
      await page.getByLabel(/口座名義/).fill('サンジョウ　ハナコ');
      await page.getByTestId('account-next').click();
      await page.getByTestId('error-branchCode').waitFor();
      expect(await page.getByTestId('error-branchCode').textContent()).toContain('数字3桁');
      expect(await page.getByLabel(/支店番号/).getAttribute('aria-invalid')).toBe('true');
      await page.getByLabel(/支店番号/).fill('123');
      await page.getByTestId('account-next').click();
      await page.getByTestId('account-register').click();
      await page.getByTestId('account-saved').waitFor();
      expect(await page.getByTestId('account').textContent()).toContain('0034567');
      await shoot(page, 'account');

      // A notice with a payment request: 「支払う」, the provider's page, confirmed.
      const sent = await net.network.institution(MUNICIPALITY.id).sendResidentMessage({
        body: {
          addresseeNumber,
          title: '固定資産税の納付のお願い',
          body: '第1期分を納付してください。\n三条市 税務課',
          payment: { amount: 12_300, dueDate: '2026-12-25', payee: '三条市', reference: 'TAX-2026-0001' },
        },
      });
      await page.goto(`${net.portal.url}/notices`);
      await page.getByRole('link', { name: '固定資産税の納付のお願い' }).click();
      await page.getByTestId('payment-panel').waitFor();
      expect(await page.getByTestId('payment-amount').textContent()).toBe('12,300円');
      await shoot(page, 'notice-payment');
      await page.getByTestId('pay').click();
      await page.getByTestId('pay-go').click();
      await page.waitForURL(`${net.portal.url}/demo-pay/**`);
      await shoot(page, 'demo-payment-provider');
      await page.getByTestId('checkout-confirm').click();
      await page.waitForURL(`${net.portal.url}/payments/${sent.noticeId}?done=1`);
      expect(await page.getByTestId('payment-status').textContent()).toContain('お支払いが完了しました');
      const receipt = await page.getByTestId('payment-receipt').textContent();
      await shoot(page, 'paid');

      // The institution sees it paid, through the core.
      const business = net.network.institution(MUNICIPALITY.id);
      const until = Date.now() + 20_000;
      let status = await business.getPaymentRequest({ params: { noticeId: sent.noticeId } });
      while (status.status !== 'paid' && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = await business.getPaymentRequest({ params: { noticeId: sent.noticeId } });
      }
      expect(status).toMatchObject({ status: 'paid', receipt, amount: 12_300 });
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);
});
