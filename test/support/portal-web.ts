/**
 * A resident's side of the portal's tests without a browser: a cookie jar over fetch, the forms of a
 * page, and the login through the card reader.
 */
import { expect } from 'vitest';
import { PIN, type PortalNetwork } from './portal-network.ts';

export const unescapeHtml = (text: string) =>
  text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');

/** The hidden fields of the page's first form with `action`. */
export function formOf(page: string, action: string): Record<string, string> {
  const start = page.indexOf(`action="${action}"`);
  expect(start, `a form posting to ${action}`).toBeGreaterThan(-1);
  const form = page.slice(start, page.indexOf('</form>', start));
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[m[1] ?? ''] = unescapeHtml(m[2] ?? '');
  }
  return fields;
}

/** A browser's cookie jar for one origin, enough for the portal's pages. */
export class Browser {
  cookies = new Map<string, string>();
  async go(url: string, init: { method?: string; form?: Record<string, string>; origin?: string } = {}) {
    const response = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        ...(this.cookies.size > 0
          ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
          : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(init.origin ? { origin: init.origin } : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, value] = (pair ?? '').split('=');
      if (!name) continue;
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value ?? '');
    }
    return { response, text: await response.text() };
  }
}

/** Log in as the holder of `<card>.card`: the portal's login page, the reader, back to the portal. */
export async function logIn(
  net: PortalNetwork,
  browser: Browser,
  card: string,
  pin = PIN,
  /** Where the portal sends the resident once logged in (an authorization's consent page, for the API). */
  next = '/',
): Promise<void> {
  const { text: loginPage } = await browser.go(`${net.portal.url}/login`);
  const link = unescapeHtml(/href="([^"]+)" data-testid="reader-link"/.exec(loginPage)?.[1] ?? '');
  expect(link.startsWith(`${net.readerUrl}/sign?`)).toBe(true);
  const reader = new Browser();
  const { text: readerPage } = await reader.go(link);
  const signed = await reader.go(`${net.readerUrl}/sign`, {
    form: { ...formOf(readerPage, '/sign'), card: `${card}.card`, pin },
  });
  expect(signed.response.status).toBe(200);
  const answer = formOf(signed.text, `${net.portal.url}/login/complete`);
  const completed = await browser.go(`${net.portal.url}/login/complete`, {
    form: answer,
    origin: net.readerUrl,
  });
  expect(completed.response.status).toBe(303);
  const finished = await browser.go(
    new URL(completed.response.headers.get('location') ?? '', net.portal.url).href,
  );
  expect(finished.response.headers.get('location')).toBe(next);
}

/** A new browser, logged in as the holder of `<card>.card`. */
export async function logInAs(net: PortalNetwork, card: string): Promise<Browser> {
  const browser = new Browser();
  await logIn(net, browser, card);
  return browser;
}
