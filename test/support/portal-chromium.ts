/**
 * The Myna Portal's browser tests' common start: a portal network with one resident of 三条市 and
 * chromium to drive it, and the card login through the reader's page, as a resident does it.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { MUNICIPALITY, PIN, startPortalNetwork, type PortalNetwork } from './portal-network.ts';

export interface PortalInChromium {
  net: PortalNetwork;
  browser: Browser;
  /** 三条 花子's addressee number at 三条市 (her card: `sanjo-hanako`). */
  addresseeNumber: string;
  /** Close chromium and the network. */
  dispose(): Promise<void>;
}

/**
 * A portal network (`startPortalNetwork(name)`) where 三条 花子 has a card (`sanjo-hanako`) and is
 * registered at 三条市, and chromium launched.
 */
export async function startPortalInChromium(name: string): Promise<PortalInChromium> {
  const net = await startPortalNetwork(name);
  try {
    const card = await net.issueCard('sanjo-hanako', '三条 花子');
    const person = await net.network
      .institution(MUNICIPALITY.id)
      .registerPerson({ body: { individualNumber: card.individualNumber } });
    const browser = await launchChromium();
    return {
      net,
      browser,
      addresseeNumber: person.addresseeNumber,
      async dispose() {
        await browser.close();
        await net.dispose();
      },
    };
  } catch (error) {
    await net.dispose();
    throw error;
  }
}

/**
 * Log in at the portal in `page` with the card `card` through the reader's page (the demo PIN), and
 * wait for the portal's home page.
 */
export async function logInWithCard(page: Page, net: PortalNetwork, card: string): Promise<void> {
  await page.goto(`${net.portal.url}/login`);
  await page.getByTestId('reader-link').click();
  await page.waitForURL(`${net.readerUrl}/sign?**`);
  await page.getByLabel(card).check();
  await page.getByRole('textbox', { name: /利用者証明用電子証明書の暗証番号/ }).fill(PIN);
  await page.getByRole('button', { name: /署名してログイン/ }).click();
  await page.waitForURL(`${net.portal.url}/`);
}
