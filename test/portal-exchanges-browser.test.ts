/**
 * Page A of the Myna Portal (やりとり履歴) in a real browser (Debian's chromium, driven by
 * playwright-core): a resident logs in with the card reader, opens the history from the home page,
 * and the page's own script marks each row ✓ once chromium (WebCrypto) has checked its proofs and the
 * signed head against the core's key; a proof altered on the way (page.route) is marked ✗, and so is
 * a row that shows another institution than its log says. Skipped, saying so, where /usr/bin/chromium
 * is missing. With RENKEI_SCREENSHOTS=<dir> the pages are saved there as PNG.
 */
import type { Browser, Page } from 'playwright-core';
import { chromiumFor, cspViolations, launchChromium, shootPage } from './support/browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logInWithCard } from './support/portal-chromium.ts';
import { clause74Inquiry } from './support/demo-network.ts';
import { startPortalNetwork, type PortalNetwork } from './support/portal-network.ts';

const hasChromium = chromiumFor('portal-exchanges-browser.test.ts');

const OK = '✓ 改ざんされていないことを確認しました';
/** A Japanese character (kana, kanji, full-width forms). */
const JAPANESE = /[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]/;

describe.skipIf(!hasChromium)('the Myna Portal’s page A in chromium', () => {
  let net: PortalNetwork;
  let browser: Browser;
  let page: Page;

  /** A clerk's inquiry at 三条市 about 山田 太郎 at 新宿区, answered. */
  async function inquire(itemNos: number[]): Promise<string> {
    const requester = net.network.institution('152048');
    const { processingNumber } = await requester.inquire(
      clause74Inquiry(net.world!.addresseeNumber('yamada-taro', '152048'), { itemNos, nonDisclosure: false }),
    );
    await requester.getInquiry({ params: { processingNumber }, query: { waitMs: 20_000 } });
    return processingNumber;
  }

  beforeAll(async () => {
    net = await startPortalNetwork('portal-exchanges-browser', { world: true });
    await inquire([2]);
    await inquire([1, 2]);
    browser = await launchChromium();
    page = await browser.newPage({ locale: 'ja-JP' });
    page.setDefaultTimeout(15_000);
    await logInWithCard(page, net, 'yamada-taro');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await net?.dispose();
  });

  const shoot = (name: string) => shootPage(page, name, () => net.dir);

  /** Each row's mark once the page's script has decided (no row left "checking"). */
  const marks = async () => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const proofs = page.getByTestId('proof');
      const rows: { state: string | null; text: string }[] = [];
      for (let i = 0; i < (await proofs.count()); i++) {
        const proof = proofs.nth(i);
        rows.push({
          state: await proof.getAttribute('data-state'),
          text: ((await proof.textContent()) ?? '').trim(),
        });
      }
      if (rows.every((r) => r.state !== 'pending') || Date.now() > deadline) return rows;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  it('marks every row ✓ once the browser has checked its proofs and the signed head', async () => {
    await page.getByRole('link', { name: /やりとり履歴/ }).click();
    await page.waitForURL(`${net.portal.url}/exchanges`);
    const rows = await marks();
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toEqual({ state: 'verified', text: OK });
    const first = page.getByTestId('exchange').first();
    expect(await first.getByTestId('requester').textContent()).toBe('三条市');
    expect(await first.getByTestId('provider').textContent()).toBe('新宿区');
    expect(await first.getByTestId('items').textContent()).toContain('住民基本台帳関係情報');
    await shoot('exchanges');
    await page.getByText(/とは/).first().click(); // the explanation, opened for its own screenshot
    await shoot('exchanges-explained');
  }, 60_000);

  it('shows a notice an institution sent as a notice, with its log entry, in Japanese and English', async () => {
    const sent = await net.network.institution('152048').sendResidentMessage({
      body: {
        addresseeNumber: net.world!.addresseeNumber('yamada-taro', '152048'),
        title: '児童手当の現況届のお願い',
        body: '6月30日までに提出してください。',
      },
    });
    const notice = page.getByTestId('notice-received');
    const deadline = Date.now() + 15_000;
    do {
      await page.goto(`${net.portal.url}/exchanges`);
    } while ((await notice.count()) === 0 && Date.now() < deadline);
    expect(await notice.count()).toBe(1);
    expect(await notice.getByTestId('notice-sender').textContent()).toBe('三条市');
    expect(await notice.getByTestId('notice-title').textContent()).toBe('児童手当の現況届のお願い');
    expect(await notice.getByTestId('notice-title').getAttribute('href')).toBe(`/notices/${sent.noticeId}`);
    // The portal's log holds the notice's entry; its first head comes with the next signing.
    expect(await notice.getByTestId('notice-log-entry').textContent()).toMatch(
      /マイナポータルの記録簿の第\d+項目/,
    );
    expect(await notice.textContent()).toMatch(/令和\d+年/);
    // The exchanges' own rows are still checked as before.
    expect((await marks()).every((r) => r.state === 'verified')).toBe(true);
    await shoot('exchanges-notice');
    await page.getByRole('link', { name: 'English' }).click();
    await page.waitForURL(`${net.portal.url}/exchanges`);
    expect(await notice.getByTestId('notice-sender').textContent()).toBe('三条市');
    expect(await notice.textContent()).toContain('sent you a notice');
    expect(await notice.getByTestId('notice-log-entry').textContent()).toMatch(
      /Entry \d+ of the Myna Portal’s log/,
    );
    await page.getByRole('link', { name: '日本語' }).click();
    await page.waitForURL(`${net.portal.url}/exchanges`);
  }, 60_000);

  it('marks a row ✗ when a proof was altered on its way to the browser', async () => {
    await page.route(`${net.portal.url}/exchanges`, async (route) => {
      const response = await route.fetch();
      const body = (await response.text()).replace(
        /(&quot;proof&quot;:\[&quot;)([0-9a-f])/,
        (_m, before: string, c: string) => `${before}${c === '0' ? '1' : '0'}`,
      );
      await route.fulfill({ response, body });
    });
    try {
      await page.goto(`${net.portal.url}/exchanges`);
      const [tampered, intact] = await marks();
      expect(tampered?.state).toBe('failed');
      expect(tampered?.text).toMatch(/^✗ .*確認できませんでした/);
      expect(intact).toEqual({ state: 'verified', text: OK });
      await shoot('exchanges-tampered');
    } finally {
      await page.unroute(`${net.portal.url}/exchanges`);
    }
  }, 60_000);

  it('marks a row ✗ when it shows another institution than its log says', async () => {
    await page.route(`${net.portal.url}/exchanges`, async (route) => {
      const response = await route.fetch();
      const body = (await response.text()).replace(
        /&quot;providerId&quot;:&quot;131041&quot;/,
        '&quot;providerId&quot;:&quot;011002&quot;',
      );
      await route.fulfill({ response, body });
    });
    try {
      await page.goto(`${net.portal.url}/exchanges`);
      const [shown] = await marks();
      expect(shown?.state).toBe('failed');
    } finally {
      await page.unroute(`${net.portal.url}/exchanges`);
    }
  }, 60_000);

  // わたしの情報 (B) on the same network, to spare a second one: from the home page, the button, the
  // answers arriving without a reload (the page's script swaps the results block), with the labels.
  it('fetches my information from the home page and shows it with the layout’s labels', async () => {
    const violations = cspViolations(page);
    await page.goto(`${net.portal.url}/`);
    await page.getByRole('link', { name: /わたしの情報/ }).click();
    await page.waitForURL(`${net.portal.url}/my-information`);
    await page.getByTestId('fetch-my-information').click();
    await page.waitForURL(`${net.portal.url}/my-information`);
    await page.evaluate(() => ((globalThis as { stayed?: boolean }).stayed = true));
    await page.locator('#my-information-results[data-settled="true"]').waitFor({ timeout: 20_000 });
    // No navigation since: the answers came into this page.
    expect(await page.evaluate(() => (globalThis as { stayed?: boolean }).stayed)).toBe(true);
    const shinjuku = page.locator('[data-provider="131041"]');
    expect(await shinjuku.getAttribute('data-state')).toBe('provided');
    const text = (await shinjuku.textContent()) ?? '';
    expect(text).toContain('新宿区');
    expect(text).toContain('地方税関係情報');
    expect(text).toContain('総所得金額');
    expect(text).toMatch(/非課税\s*いいえ/);
    expect(await page.getByTestId('my-information-progress').textContent()).toContain('9機関すべてから回答');
    expect(violations).toEqual([]);
    await shoot('my-information');
  }, 60_000);

  // Issue 9's English for the data that had none: in English, the institutions, the items and the
  // layouts' labels are the registry's and the legal table's English names. The values stay as the
  // institution holds them (世帯主 is 山田 太郎's own data), so the labels are what is checked here:
  // every <dt>, every institution and item heading; the history's rows have no Japanese at all.
  it('shows my information and the exchanges in English with no Japanese-only label left, and Japanese back unchanged', async () => {
    await page.goto(`${net.portal.url}/my-information`);
    await page.getByTestId('lang-switch').click();
    await page.waitForURL(`${net.portal.url}/my-information`);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await page.locator('#my-information-results[data-settled="true"]').waitFor({ timeout: 20_000 });
    const shinjuku = page.locator('[data-provider="131041"]');
    const text = (await shinjuku.textContent()) ?? '';
    expect(text).toContain('Shinjuku City');
    expect(text).toContain('local tax information');
    expect(text).toContain('Total income');
    expect(text).toMatch(/Not taxable\s*No/);
    const labels = await page.locator('#my-information-results dt').allInnerTexts();
    expect(labels.length).toBeGreaterThan(5);
    const headings = await page
      .locator('#my-information-results h2, #my-information-results h3')
      .allInnerTexts();
    expect(headings.length).toBeGreaterThan(2);
    expect([...labels, ...headings].filter((t) => JAPANESE.test(t))).toEqual([]);
    await shoot('my-information-en');

    await page.goto(`${net.portal.url}/exchanges`);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    const rows = page.getByTestId('exchange');
    expect(await rows.count()).toBeGreaterThan(1);
    const history = await page.locator('.exchanges, main').first().innerText();
    expect(history).toContain('Sanjo City');
    expect(history).toContain('Shinjuku City');
    expect(history).toContain('Child Allowance Act');
    expect((await rows.allInnerTexts()).filter((t) => JAPANESE.test(t))).toEqual([]);
    await shoot('exchanges-en');

    // Back to Japanese: the page as it was.
    await page.getByTestId('lang-switch').click();
    await page.waitForURL(`${net.portal.url}/exchanges`);
    expect(await page.locator('html').getAttribute('lang')).toBe('ja');
    const japanese = (await rows.allInnerTexts()).join('\n');
    expect(japanese).toContain('三条市');
    expect(japanese).toContain('新宿区');
    expect(japanese).toContain('児童手当法');
    await page.goto(`${net.portal.url}/my-information`);
    expect((await page.locator('[data-provider="131041"]').textContent()) ?? '').toContain('総所得金額');
  }, 60_000);
});
