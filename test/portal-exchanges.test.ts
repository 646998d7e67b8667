/**
 * Page A of the Myna Portal (やりとり履歴), end to end over real HTTP on the demo network (mutual TLS,
 * signed messages): a clerk at 三条市 inquires about 山田 太郎 at 新宿区; 太郎 logs in with his card
 * and reads it in words (the institutions' and the procedure's names, the items, the clause, the
 * outcome), with the proofs the browser checks; 山田 花子 never sees it. An inquiry under
 * non-disclosure appears only once the requester lifts it. With the core down, the page says so, and
 * the log names no one. (`portal-exchanges-browser.test.ts` runs the check in chromium.)
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLog } from '../src/shared/logger.ts';
import { verifyRecordEvidence, type EvidenceLeaf, type PublicJwk } from '../src/trust/merkle/index.ts';
import { logInAs, unescapeHtml, type Browser } from './support/portal-web.ts';
import { providedInquiry, startPortalNetwork, type PortalNetwork } from './support/portal-network.ts';

const REQUESTER = '152048'; // 三条市
const PROVIDER = '131041'; // 新宿区

let net: PortalNetwork;

/** The rows of page A: each `<li data-testid="exchange">` with its visible text and data attributes. */
function rowsOf(page: string) {
  return [...page.matchAll(/<li\s+class="exchange"[\s\S]*?<\/li>/g)].map(([li]) => ({
    text: li.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' '),
    facts: JSON.parse(unescapeHtml(/data-facts="([^"]*)"/.exec(li)?.[1] ?? '{}')) as Record<string, unknown>,
    evidence: JSON.parse(unescapeHtml(/data-evidence="([^"]*)"/.exec(li)?.[1] ?? '[]')) as EvidenceLeaf[],
  }));
}

async function exchangesOf(browser: Browser) {
  const { response, text } = await browser.go(`${net.portal.url}/exchanges`);
  return { status: response.status, text, rows: rowsOf(text) };
}

let taro: Browser;
let hanako: Browser;
let seen: string;

beforeAll(async () => {
  net = await startPortalNetwork('portal-exchanges', { world: true, portalLog: true });
  seen = await providedInquiry(net, 'yamada-taro');
  taro = await logInAs(net, 'yamada-taro');
  hanako = await logInAs(net, 'yamada-hanako');
}, 180_000);

afterAll(async () => {
  await net?.dispose();
});

describe('the Myna Portal, page A: the exchanges about me', () => {
  it('is linked from the home page and asks a logged-out browser to log in', async () => {
    const { text: home } = await taro.go(`${net.portal.url}/`);
    expect(home).toContain('href="/exchanges"');
    const { response } = await fetch(`${net.portal.url}/exchanges`, { redirect: 'manual' }).then((r) => ({
      response: r,
    }));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login');
  });

  it('shows a clerk’s inquiry about the resident in words: who asked whom, for what, under which clause, with what outcome', async () => {
    const { status, text, rows } = await exchangesOf(taro);
    expect(status).toBe(200);
    const row = rows.find((r) => r.facts.processingNumber === seen);
    expect(row, 'the inquiry is on the page').toBeDefined();
    const shown = row?.text ?? '';
    expect(shown).toContain('三条市');
    expect(shown).toContain('新宿区');
    expect(shown).toContain('地方税関係情報');
    expect(shown).toContain('児童手当の申請（認定請求）');
    expect(shown).toContain('第74項');
    expect(shown).toContain('提供済み');
    expect(shown).toMatch(/令和\d+年\d+月\d+日（\d{4}年）\d{2}:\d{2}/);
    expect(shown).toContain(seen); // the processing number, as a reference for asking the institution
    // Names, not ids, on screen: the ids are only in the data the browser compares with the log.
    expect(shown).not.toContain(REQUESTER);
    expect(shown).not.toContain(PROVIDER);
    expect(text).toContain('/assets/exchanges.js');
    // What the browser checks holds: the head's signature and every proof, against the published key.
    const key = JSON.parse(unescapeHtml(/data-key="([^"]*)"/.exec(text)?.[1] ?? '')) as PublicJwk;
    const head = unescapeHtml(/data-tree-head="([^"]*)"/.exec(text)?.[1] ?? '');
    expect(
      await verifyRecordEvidence({ treeHead: head, leaves: row?.evidence ?? [] }, key, seen),
    ).toMatchObject({ ok: true });
    const published = (await (
      await fetch(`${net.network.core.publicationUrl ?? ''}/pki/v1/record-log-keys`)
    ).json()) as { keys: PublicJwk[] };
    expect(published.keys[0]).toMatchObject(key);
  });

  it('never shows one resident the exchanges about another', async () => {
    const { status, text } = await exchangesOf(hanako);
    expect(status).toBe(200);
    expect(text).not.toContain(seen);
  });

  it('serves the browser’s check as one ES module bundled from the verifier', async () => {
    const response = await fetch(`${net.portal.url}/assets/exchanges.js`);
    expect(response.headers.get('content-type')).toContain('javascript');
    const script = await response.text();
    expect(script).toContain('renkei-tree-head+jws'); // web-verify.ts, inlined
    expect(script).not.toMatch(/\bimport\s/);
  });

  it('shows an inquiry under non-disclosure only once the requester lifts it', async () => {
    const hidden = await providedInquiry(net, 'yamada-taro', true);
    const before = await exchangesOf(taro);
    expect(before.rows.map((r) => r.facts.processingNumber)).toContain(seen);
    expect(before.text).not.toContain(hidden);
    await net.network.institution(REQUESTER).liftNonDisclosure({ body: { processingNumber: hidden } });
    const after = await exchangesOf(taro);
    const row = after.rows.find((r) => r.facts.processingNumber === hidden);
    expect(row?.text).toContain('三条市');
    expect(row?.evidence.map((e) => (JSON.parse(e.leaf) as { event: string }).event)).toContain('disclosed');
  });

  it('shows a resident with no exchanges that there are none yet', async () => {
    const misaki = await logInAs(net, 'sato-misaki');
    const { status, text, rows } = await exchangesOf(misaki);
    expect(status).toBe(200);
    expect(rows).toEqual([]);
    expect(text).toContain('data-testid="exchanges-empty"');
  });

  it('pages the history by the core’s cursor: 20 a page, older ones behind a link, none twice', async () => {
    const before = (await exchangesOf(taro)).rows.length;
    for (let i = before; i <= 20; i++) await providedInquiry(net, 'yamada-taro');
    const first = await exchangesOf(taro);
    expect(first.rows).toHaveLength(20);
    const next = /href="(\/exchanges\?after=[^"]+)"\s+data-testid="next-page"/.exec(first.text)?.[1];
    expect(next, 'a link to older exchanges').toBeDefined();
    const { text } = await taro.go(`${net.portal.url}${unescapeHtml(next ?? '')}`);
    const second = rowsOf(text);
    expect(second.length).toBeGreaterThan(0);
    const numbers = [...first.rows, ...second].map((r) => r.facts.processingNumber);
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(numbers).toContain(seen);
    expect(text).toContain('href="/exchanges"'); // back to the newest
    // A cursor the core did not make: back to the first page, nothing shown from it.
    const forged = await taro.go(`${net.portal.url}/exchanges?after=${'A'.repeat(300)}`);
    expect(forged.response.status).toBe(303);
  });

  it('says the records cannot be read when the core is down, and logs the failure without naming anyone', async () => {
    await net.network.core.close();
    const { status, text } = await exchangesOf(taro);
    expect(status).toBe(503);
    expect(text).toContain('data-testid="exchanges-unavailable"');
    expect(text).toContain('もう一度お試しください');
    // The log is written asynchronously: wait for the line.
    let log = '';
    for (let tries = 0; tries < 50 && !log.includes('exchanges: the core'); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      log = readLog(join(net.dir, 'logs', 'portal.log'));
    }
    const line = log.split('\n').find((l) => l.includes('exchanges: the core'));
    expect(line).toContain('ERR_UPSTREAM_UNAVAILABLE');
    expect(log).not.toContain(seen);
    expect(log).not.toMatch(/personCode|personId|山田/);
  });
});
