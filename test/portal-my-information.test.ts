/**
 * わたしの情報 on a real network (core, J-LIS, 三条市, 新宿区, 日本年金機構, 東京都; real SQLite files,
 * mutual TLS, signed and sealed messages): a resident logged in at the portal asks, and the portal
 * asks each institution its clause (900) names, as a requester, under its own code for the person.
 * The answers appear with the data layout's labels; the exchange is recorded at the core, the provider
 * and the portal, and shows on the resident's page A with the portal asking. Only the resident's own
 * session sees the answers; the core refuses the portal outside its clause and about a person it
 * holds no code for; only the core may deliver answers to the portal; a provider down is said so.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/protocol/api.ts';
import { credentialTransport } from '../src/protocol/client-credentials.ts';
import { coreApi, networkApi } from '../src/protocol/routes.ts';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import { DEMO_INSTITUTIONS } from '../src/network/world.ts';
import { systemClock } from '../src/shared/clock.ts';
import { RenkeiError } from '../src/shared/errors.ts';
import { openDatabase } from '../src/shared/db.ts';
import { openSecurityLog } from '../src/shared/security-log.ts';
import { pkiPaths } from '../src/trust/pki/files.ts';
import { MUNICIPALITY, startPortalNetwork, type PortalNetwork } from './support/portal-network.ts';
import { Browser, formOf, logInAs } from './support/portal-web.ts';

const SHINJUKU = DEMO_INSTITUTIONS.find((i) => i.id === '131041')!;
const JPS = DEMO_INSTITUTIONS.find((i) => i.id === 'jps')!;
const TOKYO = DEMO_INSTITUTIONS.find((i) => i.id === '130001')!;
const legal = loadLegalTable();
const TAX_EXAMPLE = legal.layoutFor(2, new Date())!.example;

let net: PortalNetwork;

beforeAll(async () => {
  net = await startPortalNetwork('portal-my-information', { institutions: [SHINJUKU, JPS, TOKYO] });
  // 三条 一郎: known at 三条市 (no copy) and at 新宿区, which holds his tax information.
  const card = await net.issueCard('sanjo-ichiro', '三条 一郎');
  await net.network
    .institution(MUNICIPALITY.id)
    .registerPerson({ body: { individualNumber: card.individualNumber } });
  const { addresseeNumber } = await net.network
    .institution(SHINJUKU.id)
    .registerPerson({ body: { individualNumber: card.individualNumber } });
  await net.network
    .institution(SHINJUKU.id)
    .putCopy({ body: { addresseeNumber, itemNo: 2, data: { ...TAX_EXAMPLE, totalIncome: 3141592 } } });
  await net.issueCard('sanjo-jiro', '三条 次郎');
}, 120_000);

afterAll(async () => {
  await net?.dispose();
});

/** Ask, then read the results block until every institution answered. */
async function fetchMyInformation(browser: Browser): Promise<string> {
  const { text: page } = await browser.go(`${net.portal.url}/my-information`);
  const asked = await browser.go(`${net.portal.url}/my-information`, {
    form: formOf(page, '/my-information'),
    origin: net.portal.url,
  });
  expect(asked.response.status).toBe(303);
  expect(asked.response.headers.get('location')).toBe('/my-information');
  for (let i = 0; i < 100; i++) {
    const { text } = await browser.go(`${net.portal.url}/my-information/results`);
    if (text.includes('data-settled="true"')) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the answers did not all arrive');
}

const section = (block: string, providerId: string) => {
  const start = block.indexOf(`data-provider="${providerId}"`);
  return start < 0 ? '' : block.slice(start, block.indexOf('</section>', start));
};

describe('わたしの情報 (my information)', () => {
  let ichiro: Browser;
  let answers: string;

  it('asks every institution its clause names and shows the answers with the layout’s labels', async () => {
    ichiro = await logInAs(net, 'sanjo-ichiro');
    const { text: home } = await ichiro.go(`${net.portal.url}/`);
    expect(home).toContain('href="/my-information"');
    // The page's script (progress without a reload) is served under the strict CSP's 'self'.
    const script = await ichiro.go(`${net.portal.url}/assets/my-information.js`);
    expect(script.response.status).toBe(200);
    answers = await fetchMyInformation(ichiro);
    expect(answers).toContain('4機関すべてから回答がありました');
    const shinjuku = section(answers, SHINJUKU.id);
    expect(shinjuku).toContain('data-state="provided"');
    expect(shinjuku).toContain('地方税関係情報');
    expect(shinjuku).toMatch(/<dt>総所得金額<\/dt>\s*<dd>3141592<\/dd>/);
    expect(shinjuku).toMatch(/<dt>非課税<\/dt>\s*<dd>いいえ<\/dd>/);
    // Asked for what the clause gives a municipality; 新宿区 holds only the tax information.
    expect(shinjuku).toMatch(/次の情報は、この機関では保有していません:\s*住民基本台帳関係情報/);
    // The others hold nothing about him (三条市 knows him without a copy; the others not at all).
    const none = answers.slice(answers.indexOf('情報を保有していない機関'));
    for (const name of ['三条市', '日本年金機構', '東京都']) expect(none).toContain(name);
    // The answers are in the page, never in its address or the portal's database.
    const { text: page } = await ichiro.go(`${net.portal.url}/my-information`);
    expect(page).toContain('3141592');
  });

  it('records the exchange at the portal, the core and the provider, and shows it on page A as the portal asking', async () => {
    const db = await openDatabase<Record<string, Record<string, unknown>>>(net.portalDatabase);
    try {
      const rows = (await db.selectFrom('requester_records').selectAll().execute()) as Record<
        string,
        string
      >[];
      expect(rows.map((r) => [r.provider_id, r.outcome]).toSorted()).toEqual(
        [
          ['130001', 'not_held'],
          ['131041', 'provided'],
          ['152048', 'not_held'],
          ['jps', 'not_held'],
        ].toSorted(),
      );
      expect(rows.every((r) => r.clause_no === '900' && r.procedure_id === '900-01')).toBe(true);
      // Nothing of the answer in the portal's database: no table holds the income.
      const dump = JSON.stringify(rows);
      expect(dump).not.toContain('3141592');
    } finally {
      await db.destroy();
    }
    const provider = await net.network
      .institution(SHINJUKU.id)
      .listProvisionRecords({ query: { role: 'provider' } });
    expect(JSON.stringify(provider)).toContain('"requesterId":"portal"');
    const { text: history } = await ichiro.go(`${net.portal.url}/exchanges`);
    expect(history).toContain('マイナポータル');
    expect(history).toContain('自己情報表示（わたしの情報）');
  });

  it('shows one session’s answers to that session only', async () => {
    const jiro = await logInAs(net, 'sanjo-jiro');
    const { text: other } = await jiro.go(`${net.portal.url}/my-information/results`);
    expect(other).toContain('まだ取得していません');
    expect(other).not.toContain('3141592');
    // The same resident in another browser: a session of its own, without the first one's answers.
    const again = await logInAs(net, 'sanjo-ichiro');
    const { text: mine } = await again.go(`${net.portal.url}/my-information/results`);
    expect(mine).not.toContain('3141592');
    // Without a session: to the login page, and the block refused.
    const stranger = new Browser();
    const page = await stranger.go(`${net.portal.url}/my-information`);
    expect(page.response.headers.get('location')).toBe('/login');
    expect((await stranger.go(`${net.portal.url}/my-information/results`)).response.status).toBe(403);
    // Logging out drops the answers.
    const { text: home } = await ichiro.go(`${net.portal.url}/`);
    await ichiro.go(`${net.portal.url}/logout`, { form: formOf(home, '/logout'), origin: net.portal.url });
    const later = await logInAs(net, 'sanjo-ichiro');
    expect((await later.go(`${net.portal.url}/my-information/results`)).text).toContain(
      'まだ取得していません',
    );
  });

  it('refuses a fetch without the CSRF token or from another site, and records it', async () => {
    const jiro = await logInAs(net, 'sanjo-jiro');
    const noToken = await jiro.go(`${net.portal.url}/my-information`, { form: { _csrf: 'x' } });
    expect(noToken.response.status).toBe(403);
    const { text: page } = await jiro.go(`${net.portal.url}/my-information`);
    const crossSite = await jiro.go(`${net.portal.url}/my-information`, {
      form: formOf(page, '/my-information'),
      origin: 'https://evil.example',
    });
    expect(crossSite.response.status).toBe(403);
    const { text: block } = await jiro.go(`${net.portal.url}/my-information/results`);
    expect(block).toContain('まだ取得していません');
    const log = await openSecurityLog(join(net.dir, 'portal', 'security.sqlite'));
    try {
      const refused = (await log.list(20)).filter(
        (e) => e.route === 'portal.myInformation' && e.code === 'ERR_CALLER_NOT_ALLOWED',
      );
      expect(refused).toHaveLength(2);
    } finally {
      await log.close();
    }
  });

  it('lets the core refuse the portal outside its clause, and about a person it holds no code for', async () => {
    const transport = await credentialTransport({
      pkiDir: net.network.pkiDir!,
      parties: ['portal'],
      clock: systemClock,
      crl: { file: pkiPaths(net.network.pkiDir!).crlDer },
    });
    try {
      const core = createClient(coreApi, {
        transport,
        baseUrl: net.network.core.url,
        peer: 'core',
        party: 'core',
      });
      const db = await openDatabase<Record<string, Record<string, unknown>>>(net.portalDatabase);
      const [person] = (await db.selectFrom('persons').selectAll().execute()) as { person_code: string }[];
      await db.destroy();
      const ask = (body: { clauseNo: string; procedureId: string; personCode: string; itemNos: number[] }) =>
        core.submitInquiry({
          body: { requesterId: 'portal', providerId: SHINJUKU.id, nonDisclosure: false, ...body },
        });
      // Clause 74 is a municipality's (児童手当): refused, with the rule, and recorded at the core.
      const refused = await ask({
        clauseNo: '74',
        procedureId: '074-01',
        personCode: person!.person_code,
        itemNos: [2],
      }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RenkeiError);
      expect((refused as RenkeiError).code).toBe('ERR_INQUIRY_NOT_AUTHORIZED');
      expect((refused as RenkeiError).details.rule).toBe('requester_not_allowed');
      // A code the core never issued to the portal (nobody logged in with it): refused.
      const unknown = await ask({
        clauseNo: '900',
        procedureId: '900-01',
        personCode: 'A'.repeat(44),
        itemNos: [2],
      }).catch((e: unknown) => e);
      expect((unknown as RenkeiError).code).toBe('ERR_UNKNOWN_PERSON_CODE');
    } finally {
      await transport.close();
    }
  });

  it('takes answers from the core only', async () => {
    const transport = await credentialTransport({
      pkiDir: net.network.pkiDir!,
      parties: [SHINJUKU.id],
      clock: systemClock,
      crl: { file: pkiPaths(net.network.pkiDir!).crlDer },
    });
    try {
      const portal = createClient(networkApi, {
        transport,
        baseUrl: net.portal.networkUrl,
        peer: 'the portal',
        party: 'portal',
      });
      const forged = await portal
        .deliverAnswer({
          body: {
            processingNumber: '01900000-0000-7000-8000-000000000000',
            outcome: 'provided',
            items: [{ itemNo: 2, layoutVersion: '2020.06', data: TAX_EXAMPLE }],
            answeredAt: new Date().toISOString(),
          },
        })
        .catch((e: unknown) => e);
      expect((forged as RenkeiError).code).toBe('ERR_CALLER_NOT_ALLOWED');
    } finally {
      await transport.close();
    }
  });

  it('says so when an institution cannot answer, and still shows the others', async () => {
    await net.network.institutions.get(TOKYO.id)!.close();
    const jiro = await logInAs(net, 'sanjo-jiro');
    const block = await fetchMyInformation(jiro);
    const tokyo = section(block, TOKYO.id);
    expect(tokyo).toContain('data-state="failed"');
    expect(tokyo).toContain('この機関から情報を取得できませんでした');
    expect(tokyo).toContain('情報が無いという意味ではありません');
    expect(section(block, SHINJUKU.id)).toBe('');
  });
});
