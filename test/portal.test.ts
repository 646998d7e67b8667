/**
 * The Myna Portal's login with the card, end to end over real HTTP without a browser: the portal's
 * login page, the card reader's page and PIN, the answer posted back, the session, logout; the
 * portal's code acquired through J-LIS and the core on a first login, and the same person's code for
 * a renewed card; what the portal holds (no Individual Number, no name); J-LIS's refusals of a
 * portal code acquisition without a login; the security headers; cross-site requests refused.
 * (`portal-browser.test.ts` drives the same flow in chromium.)
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_RATE } from '../src/nodes/portal/router.ts';
import { VirtualCard } from '../src/card/virtual-card.ts';
import { createKyselyPortalStore, type PortalDatabase } from '../src/nodes/portal/kysely-store.ts';
import { KyselyPortalRecordLog } from '../src/nodes/portal/record-log-store.ts';
import type { Kysely } from 'kysely';
import { createClient } from '../src/protocol/api.ts';
import { credentialTransport } from '../src/protocol/client-credentials.ts';
import { jlisApi } from '../src/protocol/routes.ts';
import { systemClock } from '../src/shared/clock.ts';
import { openDatabase } from '../src/shared/db.ts';
import { openSecurityLog } from '../src/shared/security-log.ts';
import { schemaText, testDialect } from '../src/shared/test-databases.ts';
import { pkiPaths } from '../src/trust/pki/files.ts';
import { PIN, startPortalNetwork, type PortalNetwork } from './support/portal-network.ts';
import { Browser, formOf, unescapeHtml } from './support/portal-web.ts';

let net: PortalNetwork;
let hanako: Awaited<ReturnType<PortalNetwork['issueCard']>>;

beforeAll(async () => {
  net = await startPortalNetwork('portal');
  hanako = await net.issueCard('hanako', '三条 花子');
}, 120_000);

afterAll(async () => {
  await net?.dispose();
});

/** Log in as the holder of `card`: the portal's login page, the reader, back to the portal. */
async function logIn(browser: Browser, card: string, pin = PIN) {
  const { text: loginPage } = await browser.go(`${net.portal.url}/login`);
  const link = unescapeHtml(
    /data-testid="reader-link"|href="([^"]+)" data-testid="reader-link"/.exec(loginPage)?.[1] ?? '',
  );
  expect(link.startsWith(`${net.readerUrl}/sign?`)).toBe(true);
  const reader = new Browser();
  const { text: readerPage } = await reader.go(link);
  const signed = await reader.go(`${net.readerUrl}/sign`, {
    form: { ...formOf(readerPage, '/sign'), card: `${card}.card`, pin },
  });
  if (signed.response.status !== 200) return { signed, loginPage };
  const answer = formOf(signed.text, `${net.portal.url}/login/complete`);
  const completed = await browser.go(`${net.portal.url}/login/complete`, {
    form: answer,
    origin: net.readerUrl,
  });
  expect(completed.response.status).toBe(303);
  const finished = await browser.go(
    new URL(completed.response.headers.get('location') ?? '', net.portal.url).href,
  );
  return { signed, loginPage, completed, finished };
}

async function portalStore() {
  const db = await openDatabase<PortalDatabase>(net.portalDatabase);
  const log = new KyselyPortalRecordLog(db as unknown as Kysely<unknown>);
  return { store: createKyselyPortalStore(db, log), close: () => db.destroy(), db };
}

describe('the Myna Portal: login with the card', () => {
  it('logs a resident in through the card reader, acquires its code through J-LIS, and logs out', async () => {
    const browser = new Browser();
    const { finished } = await logIn(browser, 'hanako');
    expect(finished?.response.status).toBe(303);
    expect(finished?.response.headers.get('location')).toBe('/');
    const sessionCookie = finished?.response.headers
      .getSetCookie()
      .find((c) => c.startsWith('portal_session='));
    expect(sessionCookie).toMatch(/HttpOnly/i);
    expect(sessionCookie).toMatch(/SameSite=Lax/i);
    expect(sessionCookie).not.toMatch(/Secure/i); // plain HTTP here; Secure where served over TLS

    const home = await browser.go(`${net.portal.url}/`);
    expect(home.response.status).toBe(200);
    expect(home.text).toContain('やりとり履歴');
    expect(home.text).toContain('ぴったりサービス');
    expect(home.text).not.toContain('三条 花子');

    // The portal holds its code for the person, and neither the Individual Number nor the name.
    const { store, close } = await portalStore();
    try {
      expect(await store.countPersons()).toBe(1);
    } finally {
      await close();
    }
    const held =
      testDialect() === 'sqlite'
        ? readFileSync(join(net.dir, 'portal', 'portal.sqlite')).toString('latin1') +
          readFileSync(join(net.dir, 'portal', 'portal.sqlite')).toString('utf8')
        : await schemaText(net.postgres!, `${net.postgres!.schemaPrefix ?? ''}portal`);
    expect(held).not.toContain(hanako.individualNumber);
    expect(held).not.toContain('三条 花子');
    expect(held).not.toContain(hanako.residentRecordCode);

    // Logout needs the page's CSRF token: a forged form is refused, the real one ends the session.
    const csrf = formOf(home.text, '/logout')._csrf ?? '';
    const forged = await browser.go(`${net.portal.url}/logout`, { form: { _csrf: 'x'.repeat(43) } });
    expect(forged.response.status).toBe(403);
    const out = await browser.go(`${net.portal.url}/logout`, { form: { _csrf: csrf } });
    expect(out.response.status).toBe(303);
    expect(out.response.headers.get('location')).toBe('/logged-out');
    const after = await browser.go(`${net.portal.url}/`);
    expect(after.response.status).toBe(303);
    expect(after.response.headers.get('location')).toBe('/login');
  });

  it('gives a renewed card (new serial) the same person, by the core’s per-person code', async () => {
    const before = await (async () => {
      const { store, close } = await portalStore();
      try {
        return await store.countPersons();
      } finally {
        await close();
      }
    })();
    const firstSerial = (await VirtualCard.open(hanako.file).readCertificate('authentication')).serial;
    await net.reissueCard('hanako', hanako.cardId);
    const secondSerial = (await VirtualCard.open(hanako.file).readCertificate('authentication')).serial;
    expect(secondSerial).not.toBe(firstSerial);
    const { finished } = await logIn(new Browser(), 'hanako');
    expect(finished?.response.status).toBe(303);
    const { store, close } = await portalStore();
    try {
      expect(await store.countPersons()).toBe(before);
      const norm = (s: string) => s.toLowerCase().replace(/^(?:00)+/, '');
      const first = await store.findPersonBySerial(norm(firstSerial));
      expect(first).toBeDefined();
      expect(await store.findPersonBySerial(norm(secondSerial))).toBe(first);
    } finally {
      await close();
    }
  });

  it('counts a wrong PIN on the card: two tries left, one, then locked even for the right PIN', async () => {
    await net.issueCard('jiro', '三条 次郎');
    const attempts = [];
    for (const pin of ['0000', '1111', '2222', PIN]) {
      const { signed } = await logIn(new Browser(), 'jiro', pin);
      attempts.push({ status: signed.response.status, text: signed.text });
    }
    expect(attempts.map((a) => a.status)).toEqual([401, 401, 401, 423]);
    expect(attempts[0]?.text).toContain('あと2回');
    expect(attempts[1]?.text).toContain('あと1回');
    expect(attempts[2]?.text).toContain('ロックされました');
    expect(attempts[3]?.text).toContain('ロックされました');
    expect(VirtualCard.open(join(net.cardsDir, 'jiro.card')).status().pinTriesLeft).toBe(0);
  });

  it('sends headers that forbid inline script, framing and referrers', async () => {
    const { response } = await new Browser().go(`${net.portal.url}/login`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('same-origin');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const css = await fetch(`${net.portal.url}/assets/tokens.css`);
    expect(await css.text()).toContain('--color-primitive-blue-900');
  });

  it('refuses a cross-site logout and records it', async () => {
    const browser = new Browser();
    await logIn(browser, 'hanako');
    const home = await browser.go(`${net.portal.url}/`);
    const csrf = formOf(home.text, '/logout')._csrf ?? '';
    const crossSite = await browser.go(`${net.portal.url}/logout`, {
      form: { _csrf: csrf },
      origin: 'https://evil.example',
    });
    expect(crossSite.response.status).toBe(403);
    expect((await browser.go(`${net.portal.url}/`)).response.status).toBe(200);
    const log = await openSecurityLog(join(net.dir, 'portal', 'security.sqlite'));
    try {
      expect(
        (await log.list(10)).some((e) => e.route === 'portal.logout' && e.code === 'ERR_CALLER_NOT_ALLOWED'),
      ).toBe(true);
    } finally {
      await log.close();
    }
  });

  it('has the reader refuse to answer for a site that is not a registered portal', async () => {
    const evil = new URL('/sign', net.readerUrl);
    evil.search = new URLSearchParams({
      challenge: 'A'.repeat(43),
      expires: new Date(Date.now() + 60_000).toISOString(),
      return: 'https://evil.example/login/complete',
    }).toString();
    const { response } = await new Browser().go(evil.href);
    expect(response.status).toBe(403);
    // …and a POST that no page of the reader made (another site driving it to burn PIN tries).
    const forged = await new Browser().go(`${net.readerUrl}/sign`, {
      form: { card: 'hanako.card', pin: '0000', token: 'x', challenge: 'A'.repeat(43) },
      origin: 'https://evil.example',
    });
    expect(forged.response.status).toBe(403);
    expect(VirtualCard.open(hanako.file).status().pinTriesLeft).toBe(3);
  });
});

describe('J-LIS: the portal’s code acquisition', () => {
  it('is refused without the card’s signature over a login challenge, and to anyone but the portal', async () => {
    const pkiDir = net.network.pkiDir!;
    const transport = (party: string) =>
      credentialTransport({
        pkiDir,
        parties: [party],
        clock: systemClock,
        crl: { file: pkiPaths(pkiDir).crlDer },
      });
    const asPortal = await transport('portal');
    const asMunicipality = await transport('152048');
    try {
      const certificate = Buffer.from(
        (await VirtualCard.open(hanako.file).readCertificate('authentication')).certificateDer,
      ).toString('base64');
      const body = {
        institutionId: 'portal',
        acquisitionNumber: 'a'.repeat(32),
        authenticationCertificate: certificate,
        challenge: {
          origin: net.portal.url,
          nonce: 'C'.repeat(43),
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
        },
        signature: Buffer.from('not a signature').toString('base64'),
      };
      const portal = createClient(jlisApi, {
        transport: asPortal,
        baseUrl: net.network.jlis.url,
        peer: 'J-LIS',
        party: 'jlis',
      });
      await expect(portal.acquirePortalCode({ body })).rejects.toMatchObject({
        code: 'ERR_SIGNATURE_INVALID',
      });
      const municipality = createClient(jlisApi, {
        transport: asMunicipality,
        baseUrl: net.network.jlis.url,
        peer: 'J-LIS',
        party: 'jlis',
      });
      await expect(
        municipality.acquirePortalCode({ body: { ...body, institutionId: '152048' } }),
      ).rejects.toMatchObject({
        code: 'ERR_CALLER_NOT_ALLOWED',
      });
    } finally {
      await asPortal.close();
      await asMunicipality.close();
    }
  });
});

describe('the Myna Portal: login rate limits', () => {
  /** A request from another loopback address than the other tests' 127.0.0.1: its own count, from zero. */
  const from = (localAddress: string, path: string, form?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = httpRequest(
        new URL(path, net.portal.url),
        {
          localAddress,
          method: form === undefined ? 'GET' : 'POST',
          headers: form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        },
      );
      request.on('error', reject).end(form);
    });

  it('refuses an address that hands in too many card answers a minute, records it, and limits no other address', async () => {
    const answer = (address: string) => from(address, '/login/complete', 'challenge=x');
    for (let i = 0; i < LOGIN_RATE.answer; i++) expect((await answer('127.0.0.9')).status).toBe(400);
    const refused = await answer('127.0.0.9');
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('ERR_LOGIN_THROTTLED');
    // Beginning a login is counted apart, and another address is not held up.
    expect((await from('127.0.0.9', '/login')).status).toBe(200);
    expect((await answer('127.0.0.10')).status).toBe(400);
    const log = await openSecurityLog(join(net.dir, 'portal', 'security.sqlite'));
    try {
      const events = await log.list(50);
      expect(events.some((e) => e.route === 'portal.login' && e.code === 'ERR_LOGIN_THROTTLED')).toBe(true);
    } finally {
      await log.close();
    }
  });

  it('refuses an address that begins too many logins a minute', async () => {
    for (let i = 0; i < LOGIN_RATE.begin; i++) expect((await from('127.0.0.11', '/login')).status).toBe(200);
    const refused = await from('127.0.0.11', '/login');
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('しばらくログインできません');
  });
});
