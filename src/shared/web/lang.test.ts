/**
 * The language switch every web app has (`GET /lang`, shared/web/server.ts), over real HTTP: it sets
 * the `lang` cookie and nothing else, goes back to a path of the same site only, and the error pages
 * follow the cookie.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../logger.ts';
import { langOfCookieHeader, safeReturnPath } from './lang.ts';
import { createWebApp } from './server.ts';

describe('the language switch', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    app = await createWebApp({
      logger: silentLogger(),
      errorPage: (error, view) => `<html lang="${view.lang}"><p>${error.code} ${view.path}</p></html>`,
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
  });

  const get = (path: string, cookie?: string) =>
    fetch(`${base}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });

  it('sets the lang cookie (a year, not HttpOnly, SameSite=Lax) and goes back to the page, its query kept', async () => {
    const response = await get(
      `/lang?to=en&return=${encodeURIComponent('/services?event=kosodate&q=%E5%85%90')}`,
    );
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/services?event=kosodate&q=%E5%85%90');
    const cookies = response.headers.getSetCookie();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(/^lang=en; Max-Age=31536000; Path=\/; SameSite=Lax$/);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('takes anything but en as Japanese', async () => {
    for (const to of ['ja', 'fr', '', 'EN']) {
      const response = await get(`/lang?to=${to}&return=/`);
      expect(response.headers.getSetCookie()[0]).toMatch(/^lang=ja;/);
    }
  });

  it('never goes back to another site, nor anywhere but a path', async () => {
    for (const bad of [
      '//evil.example/',
      '/\\evil.example/',
      'https://evil.example/',
      'javascript:alert(1)',
      '/a b',
      '/a"><script>',
      'services',
      `/${'a'.repeat(2001)}`,
    ]) {
      const response = await get(`/lang?to=en&return=${encodeURIComponent(bad)}`);
      expect(response.headers.get('location'), bad).toBe('/');
      expect(safeReturnPath(bad), bad).toBeUndefined();
    }
    const none = await get('/lang?to=en');
    expect(none.headers.get('location')).toBe('/');
  });

  it('renders error pages in the cookie’s language, coming back to the page asked for', async () => {
    const en = await get('/nowhere', 'lang=en');
    expect(en.status).toBe(404);
    expect(await en.text()).toContain('<html lang="en">');
    const ja = await get('/nowhere', 'other=1');
    expect(await ja.text()).toContain('<html lang="ja">');
  });

  it('reads the language from a raw Cookie header (oidc-provider’s own error pages)', () => {
    expect(langOfCookieHeader('a=1; lang=en; b=2')).toBe('en');
    expect(langOfCookieHeader('lang=en')).toBe('en');
    expect(langOfCookieHeader('xlang=en')).toBe('ja');
    expect(langOfCookieHeader('lang=english')).toBe('ja');
    expect(langOfCookieHeader(undefined)).toBe('ja');
  });
});
