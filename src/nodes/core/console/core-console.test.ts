/**
 * The core's console as an attacker meets it, over a real core (SQLite or PostgreSQL, real HTTP to
 * stand-in institutions) and the consoles' real login: every route of the operator's and the
 * oversight pages (enumerated from the app, not listed by hand) sends a caller without a session to
 * the login page, refuses a session of the other role (403, recorded), and refuses every POST without
 * the form's CSRF token (nothing changed). Then what each role sees: the registry's add and key
 * rotation through the registry service; an institution's suspension, confirmed before it is made; the records without a person's key; the refusals and
 * non-disclosure flags per institution; the log verified, and a tampered record found.
 */
import { v7 as uuidv7 } from 'uuid';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { generateKeyPair } from 'jose';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legalTableFromFiles, type LegalFiles } from '../../../domain/legal-table/load.ts';
import { pino } from 'pino';
import type { CoreDatabase } from '../kysely-store.ts';
import {
  startStandIn,
  startTestCoreConsole,
  startTwoMunicipalities,
  testLegalFiles,
  testOversight,
  type StandIn,
  type TestCore,
  type TwoMunicipalities,
} from '../test-support.ts';
import { LOAD_MESSAGES } from './legal-load-console.ts';
import { OPERATOR_MESSAGES } from './operator-console.ts';
import { OVERSIGHT_CONSOLE_MESSAGES } from './oversight-console.ts';
import { REGISTRY_MESSAGES } from './registry-console.ts';
import { INSTITUTION_KIND_NAMES } from '../service/records.ts';
import type { MessageTable } from '../../../shared/web/lang.ts';
import { signTreeHead } from '../../../trust/merkle/index.ts';

const BASE = testLegalFiles();
const PASSWORD = 'correct horse battery';

let net: TwoMunicipalities;
let core: TestCore;
let x: StandIn;
let a: StandIn;
let web: FastifyInstance;
let code: string;
const refusals: { route: string; code: string }[] = [];
/** Every line the core and its console log: the per-resident view's code must be in none. */
const logLines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

beforeAll(async () => {
  const keys = await generateKeyPair('ES256');
  net = await startTwoMunicipalities({
    recordLog: { signer: { key: keys.privateKey, kid: 'core' }, everyMs: 0 },
    legalTable: legalTableFromFiles(BASE),
    logger,
  });
  ({ core, x, a, code } = net);
  await core.core.services.legalVersions.open();
  await net.inquire([2]);
  await net.inquire([2], true);
  await net.inquire([31]); // refused: item not in the procedure
  await core.core.whenIdle();
  // As the core's schedule does (every 100 events or 60 s): a head over what the log holds.
  await core.core.recordLog.signHead();

  web = await startTestCoreConsole(core, {
    accounts: [
      { accountId: 'operator', displayName: '運用', role: 'operator' },
      { accountId: 'ppc', displayName: '委員会', role: 'oversight' },
    ],
    password: PASSWORD,
    logger,
    record: (event) => void refusals.push({ route: event.route, code: event.code }),
    headKey: keys.publicKey,
  });
});

afterAll(async () => {
  await web?.close();
  await net?.dispose();
});

/** Cookies as a browser keeps them: name=value, updated from each answer. */
class Jar {
  private readonly cookies = new Map<string, string>();
  take(response: LightMyRequestResponse): void {
    for (const c of response.cookies) {
      if (c.value === '') this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
  }
  set(name: string, value: string): void {
    this.cookies.set(name, value);
  }
  get header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function login(accountId: string): Promise<Jar> {
  const jar = new Jar();
  const form = await web.inject({ method: 'GET', url: '/login' });
  jar.take(form);
  const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
  const done = await web.inject({
    method: 'POST',
    url: '/login',
    headers: { cookie: jar.header, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: token, loginId: accountId, password: PASSWORD }).toString(),
  });
  expect(done.statusCode, done.body).toBe(303);
  jar.take(done);
  return jar;
}

async function get(jar: Jar | undefined, url: string) {
  return web.inject({ method: 'GET', url, headers: jar ? { cookie: jar.header } : {} });
}

/** A form posted from a page of the console (its CSRF token), or without a token when `token` is null. */
async function post(jar: Jar, page: string, url: string, fields: Record<string, string>, token?: null) {
  const shown = await get(jar, page);
  expect(shown.statusCode, shown.body).toBe(200);
  jar.take(shown);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(shown.body)?.[1] ?? '';
  return web.inject({
    method: 'POST',
    url,
    headers: { cookie: jar.header, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(token === null ? fields : { _csrf: csrf, ...fields }).toString(),
  });
}

/**
 * Every route the console serves under a prefix, with a concrete URL for its parameters: read from
 * Fastify's tree of routes (each line a segment continuing its parent's path, four columns deeper).
 */
function routesUnder(prefix: string): { method: 'GET' | 'POST'; url: string }[] {
  const out: { method: 'GET' | 'POST'; url: string }[] = [];
  const paths: string[] = [];
  for (const line of web.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^(.*?)── (\S+) \(([^)]+)\)$/.exec(line);
    if (!m) continue;
    const depth = ((m[1] ?? '').length + 3) / 4 - 1;
    const path = (depth === 0 ? '' : (paths[depth - 1] ?? '')) + (m[2] ?? '');
    paths[depth] = path;
    if (!path.startsWith(prefix)) continue;
    const url = path.replace(':id', '131016');
    for (const method of (m[3] ?? '').split(', ')) {
      if (method === 'GET' || method === 'POST') out.push({ method, url });
    }
  }
  return out;
}

describe("the core's console, to an attacker", () => {
  it('sends every page of both consoles to the login page without a session', async () => {
    const routes = [...routesUnder('/operator'), ...routesUnder('/oversight')];
    // statistics, .csv, chart, legal, diff, health, legal/load (GET, POST), load.js, registry (GET,
    // POST), rotate-key, suspend, reinstate; records, institutions, log, log/verify, log/verify-record
    expect(routes.length).toBeGreaterThanOrEqual(19);
    for (const route of routes) {
      const answer = await web.inject({ method: route.method, url: route.url });
      expect(answer.statusCode, `${route.method} ${route.url}`).toBe(303);
      expect(answer.headers.location).toBe('/login');
    }
  });

  it("refuses an operator on every oversight page and the oversight commission on every operator's page", async () => {
    const operator = await login('operator');
    const ppc = await login('ppc');
    for (const [jar, prefix] of [
      [operator, '/oversight'],
      [ppc, '/operator'],
    ] as const) {
      for (const route of routesUnder(prefix)) {
        const answer = await web.inject({
          method: route.method,
          url: route.url,
          headers: { cookie: jar.header },
        });
        expect(answer.statusCode, `${route.method} ${route.url}`).toBe(403);
        expect(answer.body).toContain('ERR_CALLER_NOT_ALLOWED');
      }
    }
    expect(refusals.filter((r) => r.code === 'ERR_CALLER_NOT_ALLOWED').length).toBeGreaterThanOrEqual(19);
    // Each lands on its own home, whose menu names only its own pages.
    const home = await get(ppc, '/');
    expect(home.headers.location).toBe('/oversight/records');
    const records = await get(ppc, '/oversight/records');
    expect(records.body).toContain('href="/oversight/log"');
    expect(records.body).not.toContain('href="/operator/registry"');
  });

  it('refuses every POST without the form’s CSRF token, and changes nothing', async () => {
    const operator = await login('operator');
    const ppc = await login('ppc');
    const before = await core.core.services.registry.list();
    const posts = [
      ...routesUnder('/operator').map((r) => ({ ...r, jar: operator, page: '/operator/registry' })),
      ...routesUnder('/oversight').map((r) => ({ ...r, jar: ppc, page: '/oversight/log' })),
    ].filter((r) => r.method === 'POST');
    expect(posts.length).toBeGreaterThanOrEqual(7);
    for (const route of posts) {
      const answer = await post(
        route.jar,
        route.page,
        route.url,
        {
          id: 'evil',
          name: 'evil',
          nameEn: 'evil',
          kind: 'municipality',
          networkUrl: 'https://evil.example',
          processingNumber: '00000000-0000-7000-8000-000000000000',
        },
        null,
      );
      expect(answer.statusCode, route.url).toBe(403);
      expect(answer.body).toContain('ERR_CALLER_NOT_ALLOWED');
    }
    expect(await core.core.services.registry.list()).toEqual(before);
  });
});

describe("the operator's registry", () => {
  it('adds an institution and rotates its key through the registry service, showing the re-keying pending', async () => {
    const operator = await login('operator');
    const added = await post(operator, '/operator/registry', '/operator/registry', {
      id: '012025',
      name: '函館市',
      nameEn: 'Hakodate City',
      kind: 'municipality',
      networkUrl: 'https://127.0.0.1:9',
    });
    expect(added.statusCode, added.body).toBe(303);
    expect(added.headers.location).toBe('/operator/registry?done=registered&id=012025');
    expect(await core.core.services.registry.get('012025')).toMatchObject({ name: '函館市', keyVersion: 1 });

    const rotated = await post(operator, '/operator/registry', '/operator/registry/012025/rotate-key', {});
    expect(rotated.statusCode, rotated.body).toBe(303);
    expect((await core.core.services.registry.get('012025')).keyVersion).toBe(2);
    const page = await get(operator, '/operator/registry');
    expect(page.body).toMatch(
      /data-institution="012025"[\s\S]*?data-key-version="2"[\s\S]*?data-rekey="pending"/,
    );
    // Rotating again before the institution re-keyed: the registry's own refusal.
    const again = await post(operator, '/operator/registry', '/operator/registry/012025/rotate-key', {});
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain('ERR_REKEY_PENDING');
    const bad = await post(operator, '/operator/registry', '/operator/registry', {
      id: 'BAD ID',
      name: 'x',
      nameEn: 'x',
      kind: 'municipality',
      networkUrl: 'https://x.example',
    });
    expect(bad.statusCode).toBe(400);
    // The operator's pages of the plugin are served in the console's chrome.
    const statistics = await get(operator, '/operator/statistics');
    expect(statistics.statusCode).toBe(200);
    expect(statistics.body).toContain('<script type="module" src="/operator/statistics-chart.js">');
    expect(statistics.body).toContain('ログアウト');
  });
});

describe("the operator's suspension of an institution", () => {
  it('asks to confirm, then suspends with the reason and who; reinstates the same way', async () => {
    const operator = await login('operator');
    const registry = core.core.services.registry;
    const page = await get(operator, '/operator/registry');
    expect(page.body).toMatch(/data-institution="132012"[\s\S]*?data-suspended="false"/);
    expect(page.body).toContain('action="/operator/registry/132012/suspend"');

    // The first POST shows what will happen and changes nothing.
    const asked = await post(operator, '/operator/registry', '/operator/registry/132012/suspend', {
      reason: '不正アクセスの調査',
    });
    expect(asked.statusCode, asked.body).toBe(200);
    expect(asked.body).toContain('<dd data-reason>不正アクセスの調査</dd>');
    expect(asked.body).toContain('name="confirmed" value="yes"');
    expect((await registry.get('132012')).suspended).toBe(false);

    const confirmed = await post(operator, '/operator/registry', '/operator/registry/132012/suspend', {
      reason: '不正アクセスの調査',
      confirmed: 'yes',
    });
    expect(confirmed.statusCode, confirmed.body).toBe(303);
    expect(confirmed.headers.location).toBe('/operator/registry?done=suspended&id=132012');
    const { institution, history } = await registry.history('132012');
    expect(institution.suspended).toBe(true);
    expect(history).toMatchObject([
      { action: 'suspended', reason: '不正アクセスの調査', by: 'console:operator' },
    ]);
    const shown = await get(operator, '/operator/registry');
    expect(shown.body).toMatch(/data-institution="132012"[\s\S]*?data-suspended="true"/);
    expect(shown.body).toContain('action="/operator/registry/132012/reinstate"');
    expect(shown.body).toMatch(/data-suspension-reason>\s*不正アクセスの調査（console:operator、令和7年/);

    const noReason = await post(operator, '/operator/registry', '/operator/registry/132012/reinstate', {
      reason: ' ',
      confirmed: 'yes',
    });
    expect(noReason.statusCode).toBe(400);
    expect((await registry.get('132012')).suspended).toBe(true);
    const unknown = await post(operator, '/operator/registry', '/operator/registry/999999/suspend', {
      reason: 'x',
    });
    expect(unknown.statusCode).toBe(422);

    const reinstated = await post(operator, '/operator/registry', '/operator/registry/132012/reinstate', {
      reason: '調査完了',
      confirmed: 'yes',
    });
    expect(reinstated.headers.location).toBe('/operator/registry?done=reinstated&id=132012');
    expect((await registry.history('132012')).history.map((e) => e.action)).toEqual([
      'suspended',
      'reinstated',
    ]);
  });
});

describe("the operator's load of a legal table version", () => {
  const B = testLegalFiles(({ clauses }) => {
    const clause = (clauses as { clauseNo: string; requester: unknown }[]).find((c) => c.clauseNo === '74');
    if (clause) clause.requester = { kinds: ['prefecture'], institutions: [] };
  });
  /** As a browser sends a textarea: every line end CRLF. */
  const asForm = (files: LegalFiles) =>
    Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.replaceAll('\n', '\r\n')]));
  const stored = async () => (await core.store.listLegalVersions()).length;

  it('shows a bad file’s error at its line and stores nothing', async () => {
    const operator = await login('operator');
    const before = await stored();
    const bad = { ...B, procedures: B.procedures.replace(/itemNos:\n(\s+)- 2\n/, 'itemNos:\n$1- 999\n') };
    expect(bad.procedures).not.toBe(B.procedures);
    const refused = await post(operator, '/operator/legal/load', '/operator/legal/load', {
      effectiveFrom: '2025-07-01',
      ...asForm(bad),
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toContain('data-code="ERR_LEGAL_TABLE_INVALID"');
    expect(refused.body).toContain('item 999 is not defined');
    const line = /data-file="legal\/procedures.yaml" data-line="(\d+)"/.exec(refused.body)?.[1];
    expect(bad.procedures.split('\n')[Number(line) - 1]).toMatch(/^\s*itemNos:/);
    // The form comes back with what was sent, to be mended.
    expect(refused.body).toContain('- 999');

    const yaml = await post(operator, '/operator/legal/load', '/operator/legal/load', {
      effectiveFrom: '2025-07-01',
      ...asForm({ ...B, items: 'a: [1,\n  b: }\n' }),
    });
    expect(yaml.statusCode).toBe(422);
    expect(yaml.body).toMatch(/data-file="legal\/items.yaml" data-line="\d+"/);
    const past = await post(operator, '/operator/legal/load', '/operator/legal/load', {
      effectiveFrom: '2025-05-01',
      ...asForm(B),
    });
    expect(past.statusCode).toBe(400);
    expect(past.body).toContain('is in the past');
    expect(await stored()).toBe(before);
  });

  it('shows the diff and the day first, and stores the version only on the confirming POST', async () => {
    const operator = await login('operator');
    const before = await stored();
    const checked = await post(operator, '/operator/legal/load', '/operator/legal/load', {
      effectiveFrom: '2025-07-01',
      ...asForm(B),
    });
    expect(checked.statusCode, checked.body).toBe(200);
    expect(checked.body).toContain('id="checked"');
    expect(checked.body).toContain('data-day="2025-07-01"');
    expect(checked.body).toContain('令和7年7月1日');
    expect(checked.body).toMatch(/<pre id="diff">[\s\S]*74[\s\S]*prefecture[\s\S]*<\/pre>/);
    expect(await stored()).toBe(before);
    const digest = /<code id="digest">([0-9a-f]{64})<\/code>/.exec(checked.body)?.[1] ?? '';
    expect(digest).toBe(legalTableFromFiles(B).digest);

    // Files changed between the check and the confirmation: refused, nothing stored.
    const changed = await post(operator, '/operator/legal/load', '/operator/legal/load', {
      effectiveFrom: '2025-07-01',
      ...asForm(BASE),
      digest,
      confirmed: 'yes',
    });
    expect(changed.statusCode).toBe(400);
    expect(await stored()).toBe(before);

    const confirmed = await post(operator, '/operator/legal/load', '/operator/legal/load', {
      effectiveFrom: '2025-07-01',
      ...asForm(B),
      digest,
      confirmed: 'yes',
    });
    expect(confirmed.statusCode, confirmed.body).toBe(303);
    expect(confirmed.headers.location).toBe(`/operator/legal?version=${digest}&loaded=stored`);
    const versions = await core.store.listLegalVersions();
    expect(versions).toHaveLength(before + 1);
    expect(versions.find((v) => v.digest === digest)).toMatchObject({
      effectiveFrom: '2025-07-01',
      loadedBy: 'console:operator',
      files: B,
    });
    const legal = await get(operator, confirmed.headers.location ?? '');
    expect(legal.body).toContain('data-loaded="stored"');
    expect(legal.body).toContain('施行予定');
  });

  it('takes a form larger than the console’s 64 KB limit on this route only', async () => {
    const operator = await login('operator');
    const padded = { ...B, items: `${'#'.repeat(200_000)}\n${B.items}` };
    const checked = await post(operator, '/operator/legal/load', '/operator/legal/load', {
      effectiveFrom: '2025-07-02',
      ...asForm(padded),
    });
    expect(checked.statusCode, checked.body.slice(0, 500)).toBe(200);
    const elsewhere = await post(operator, '/operator/registry', '/operator/registry', {
      id: '012025',
      name: 'x'.repeat(100_000),
    });
    expect(elsewhere.statusCode).toBe(413);
  });
});

const rows = (body: string) => (body.match(/data-processing-number=/g) ?? []).length;

describe("the oversight console's resident view, anomalies, cross-check and use log", () => {
  it("shows every exchange about a resident found by an institution's code, non-disclosure flagged, and records the use with its reason, never the code", async () => {
    const ppc = await login('ppc');
    const [record] = await core.core.services.records.list({ limit: 1 });
    const personKey = record?.personKey ?? '';
    const form = await get(ppc, '/oversight/person');
    expect(form.statusCode).toBe(200);
    const view = (institutionId: string, personCode: string, reason: string) =>
      post(ppc, '/oversight/person', '/oversight/person', { institutionId, personCode, reason });

    const shown = await view('131016', code, '苦情受付 R7-0012');
    expect(shown.statusCode, shown.body).toBe(200);
    expect(rows(shown.body)).toBe(3);
    expect((shown.body.match(/data-non-disclosure="true"/g) ?? []).length).toBe(1);
    expect(shown.body).toContain('data-outcome="refused"');
    expect(shown.body).not.toContain(code);
    expect(shown.body).not.toContain(personKey);
    expect(shown.body).toContain('苦情受付 R7-0012');

    // The provider's own code for the same resident finds the same exchanges; another resident's none.
    const providerCode = await core.issue({ id: '132012', standIn: a }, '12345678901');
    expect(rows((await view('132012', providerCode, '提供機関からの照会')).body)).toBe(3);
    const stranger = await core.issue({ id: '131016', standIn: x }, '98765432109');
    expect((await view('131016', stranger, '別人の確認')).body).toContain('id="no-records"');

    // One institution's code given as another's is nobody, and says so without echoing it.
    const wrong = await view('132012', code, '取り違え');
    expect(wrong.statusCode).toBe(422);
    expect(wrong.body).toContain('ERR_UNKNOWN_PERSON_CODE');
    expect(wrong.body).not.toContain(code);
    // Said in Japanese, what happened and what to do, the service's English message as the detail.
    expect(wrong.body).toMatch(
      /<p class="notice notice--error" role="alert" data-wording>\s*この機関別符号に当たる人はいません/,
    );
    expect(wrong.body).toContain('詳細（英語）');
    ppc.set('lang', 'en');
    const wrongEn = await view('132012', code, 'mix-up');
    expect(wrongEn.statusCode).toBe(422);
    expect(wrongEn.body).not.toContain('data-wording');
    expect(wrongEn.body).not.toContain('詳細');
    expect(wrongEn.body).toContain('ERR_UNKNOWN_PERSON_CODE');
    ppc.set('lang', 'ja');
    // No reason, no view.
    const unexplained = await view('131016', code, '   ');
    expect(unexplained.statusCode).toBe(400);
    expect(unexplained.body).not.toContain('data-processing-number');

    const uses = (await core.store.listOversightUses(100)).filter((u) => u.action === 'person');
    expect(uses.map((u) => [u.accountId, u.institutionId, u.outcome, u.records, u.reason]).reverse()).toEqual(
      [
        ['ppc', '131016', 'shown', 3, '苦情受付 R7-0012'],
        ['ppc', '132012', 'shown', 3, '提供機関からの照会'],
        ['ppc', '131016', 'shown', 0, '別人の確認'],
        ['ppc', '132012', 'ERR_UNKNOWN_PERSON_CODE', null, '取り違え'],
        ['ppc', '132012', 'ERR_UNKNOWN_PERSON_CODE', null, 'mix-up'],
        ['ppc', '131016', 'ERR_VALIDATION', null, null],
      ],
    );
    const page = await get(ppc, '/oversight/uses');
    expect(page.body).toContain('苦情受付 R7-0012');
    expect(page.body).toContain('data-action="GET /oversight/person"');
    for (const secret of [code, providerCode, stranger]) {
      expect(page.body).not.toContain(secret);
      expect(await core.databaseText()).not.toContain(secret);
      expect(logLines.join('\n')).not.toContain(secret);
    }
  });

  it('lists the anomalies with links to the records behind them', async () => {
    const ppc = await login('ppc');
    // The test core's clock: Sunday 1 June 2025, 10:00 JST; the three inquiries are outside office
    // hours by the default rules (weekends).
    const page = await get(ppc, '/oversight/anomalies?from=2025-06-01&to=2025-06-01');
    expect(page.statusCode, page.body).toBe(200);
    expect(page.body).toMatch(/<tr data-kind="off-hours" data-requester="131016" data-count="3">/);
    const link = /href="(\/oversight\/records\?[^"]+)">記録を見る/.exec(page.body)?.[1] ?? '';
    expect(link).toBe('/oversight/records?from=2025-06-01&amp;to=2025-06-01&amp;requesterId=131016');
    expect(rows((await get(ppc, link.replaceAll('&amp;', '&'))).body)).toBe(3);
    const weekday = await get(ppc, '/oversight/anomalies?from=2025-06-02&to=2025-06-06');
    expect(weekday.body).toContain('id="no-anomalies"');
    expect((await get(ppc, '/oversight/anomalies?from=2025-06-06&to=2025-06-02')).statusCode).toBe(400);
  });

  it("cross-checks the core's records with what each institution answers over the network, and lists the mismatches", async () => {
    const ppc = await login('ppc');
    const exchanges = await core.core.services.records.list({ limit: 10 });
    const requesterSays = (outcomeOf: (r: (typeof exchanges)[number]) => string) => () => ({
      treeHead: { treeSize: 7, timestamp: Date.parse('2025-06-01T01:00:00Z'), kid: '131016', jws: 'a.b.c' },
      requester: exchanges.map((r) => ({
        processingNumber: r.processingNumber,
        opened: r.outcome === 'refused' ? 'inquiry_refused' : 'inquiry_sent',
        providerId: r.providerId,
        clauseNo: r.clauseNo,
        procedureId: r.procedureId,
        itemNos: r.itemNos,
        outcome: outcomeOf(r),
        recordedAt: r.requestedAt,
      })),
      provider: [],
    });
    const provided = exchanges.filter((r) => r.outcome === 'provided');
    const providerSays = (shown: typeof provided) => () => ({
      treeHead: null,
      requester: [],
      provider: shown.map((r) => ({
        processingNumber: r.processingNumber,
        requesterId: r.requesterId,
        clauseNo: r.clauseNo,
        procedureId: r.procedureId,
        itemNos: r.itemNos,
        outcome: 'provided',
        recordedAt: r.requestedAt,
        answers: 1,
      })),
    });
    x.onRecordCheck = requesterSays((r) => r.outcome);
    a.onRecordCheck = providerSays(provided);
    // Every registered institution is asked, also one the core has no exchange with: the registry
    // test's 012025, at an address where nothing answers, is named as not answering.
    const unanswered = await post(ppc, '/oversight/cross-check', '/oversight/cross-check', { limit: '50' });
    expect(unanswered.body).toMatch(/id="cross-check"\s+data-ok="false"\s+data-findings="0"/);
    expect(unanswered.body).toMatch(/data-institution="012025" data-status="unreachable"/);
    const y = await startStandIn();
    try {
      await core.register('012025', 'municipality', y.url);
      const agreed = await post(ppc, '/oversight/cross-check', '/oversight/cross-check', { limit: '50' });
      expect(agreed.statusCode, agreed.body).toBe(200);
      expect(agreed.body).toMatch(/id="cross-check"\s+data-ok="true"\s+data-findings="0"/);
      expect(agreed.body).toMatch(/data-institution="131016" data-status="answered"/);
      // Each institution was asked about exactly the exchanges it took part in, and for its own
      // numbers of the period: from the oldest record compared until now.
      expect(x.recordChecks.at(-1)?.processingNumbers.sort()).toEqual(
        exchanges.map((r) => r.processingNumber).sort(),
      );
      expect(a.recordChecks.at(-1)?.processingNumbers).toHaveLength(3);
      expect(y.recordChecks.at(-1)?.processingNumbers).toEqual([]);
      const oldest = exchanges.map((r) => r.processingNumber).sort()[0] ?? '';
      const period = y.recordChecks.at(-1)?.numbered;
      expect(Date.parse(period?.from ?? '')).toBe(parseInt(oldest.slice(0, 8) + oldest.slice(9, 13), 16));
      expect(period?.to).toBe(core.clock.now().toISOString());
      // Not from before what the core still keeps (its retention, 7 years, and a day): an
      // institution keeping its records longer would otherwise be found holding what the core purged.
      await post(ppc, '/oversight/cross-check', '/oversight/cross-check', { from: '2010-01-01' });
      const kept = core.clock.now();
      kept.setUTCFullYear(kept.getUTCFullYear() - 7);
      expect(y.recordChecks.at(-1)?.numbered?.from).toBe(new Date(kept.getTime() + 86_400_000).toISOString());

      // What the core has no record of: 012025's inquiry under a number the core never gave, and its
      // provision for an exchange the core sent to 132012; not 131016's inquiries, which the core has
      // from 131016.
      const never = '0197a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b';
      const sentToOther = provided[0]?.processingNumber ?? '';
      y.onRecordCheck = () => ({
        treeHead: null,
        requester: [],
        provider: [],
        numbered: { requester: [never], provider: [sentToOther], truncated: false },
      });
      x.onRecordCheck = () => ({
        ...requesterSays((r) => r.outcome)(),
        numbered: { requester: exchanges.map((r) => r.processingNumber), provider: [], truncated: false },
      });
      const unknown = await post(ppc, '/oversight/cross-check', '/oversight/cross-check', { limit: '50' });
      expect(unknown.body).toMatch(/data-ok="false"\s+data-findings="2"/);
      expect(unknown.body.match(/data-kind="exchange-unknown-at-core" data-party="012025"/g)).toHaveLength(2);
      expect(unknown.body).toContain(
        `012025は照会 ${never} を記録していますが、コアシステムには012025からのこの照会の記録がありません。`,
      );
      expect(unknown.body).toContain(
        `012025は ${sentToOther} の提供を記録していますが、コアシステムはこの照会を012025に転送した記録がありません。`,
      );
      expect(unknown.body).toMatch(
        /data-institution="131016" data-status="answered">[\s\S]*?data-listed="3"/,
      );

      // More of its own than one answer lists: the core asks for the next pages of that role, each
      // after the last number listed, and the finding on the third page is found.
      const many = Array.from({ length: 1_003 }, (_, i) => uuidv7({ msecs: Date.parse('2025-06-01') + i }));
      const onThirdPage = many.at(-1) ?? '';
      y.onRecordCheck = (request) => {
        const after = request.numbered?.page?.after;
        const from = after === undefined ? 0 : many.indexOf(after) + 1;
        const page = request.numbered?.page?.role === 'provider' ? [] : many.slice(from, from + 500);
        return {
          treeHead: null,
          requester: [],
          provider: [],
          numbered: { requester: page, provider: [], truncated: from + 500 < many.length },
        };
      };
      const paged = await post(ppc, '/oversight/cross-check', '/oversight/cross-check', { limit: '50' });
      const pages = y.recordChecks.slice(-3).map((check) => check.numbered?.page);
      expect(pages).toEqual([
        undefined,
        { role: 'requester', after: many[499] },
        { role: 'requester', after: many[999] },
      ]);
      expect(paged.body).toMatch(
        /data-institution="012025" data-status="answered">[\s\S]*?data-listed="1003"/,
      );
      expect(paged.body).toContain(`012025は照会 ${onThirdPage} を記録していますが`);
    } finally {
      await core.register('012025', 'municipality', 'https://127.0.0.1:9');
      await y.close();
    }

    // The requester rewrote the refusal as a provision; the provider lost one of its records.
    x.onRecordCheck = requesterSays((r) => (r.outcome === 'refused' ? 'provided' : r.outcome));
    a.onRecordCheck = providerSays(provided.slice(1));
    const disagreed = await post(ppc, '/oversight/cross-check', '/oversight/cross-check', {
      from: '2025-06-01',
      to: '2025-06-01',
    });
    expect(disagreed.body).toMatch(/data-ok="false"\s+data-findings="2"/);
    expect(disagreed.body).toContain('data-kind="exchange-outcome-disagrees" data-party="131016"');
    expect(disagreed.body).toContain('data-kind="exchange-missing" data-party="132012"');
    // Each said in the page's language, from the finding's kind and particulars (the CLI keeps its English).
    const refusedPn = exchanges.find((r) => r.outcome === 'refused')?.processingNumber ?? '';
    const lostPn = provided[0]?.processingNumber ?? '';
    expect(disagreed.body).toContain(
      `131016は照会 ${refusedPn} を「提供」と記録していますが、コアシステムの記録は「拒否」です。`,
    );
    expect(disagreed.body).toContain(
      `コアシステムは ${lostPn} を132012による「提供」と記録していますが、132012にその記録がありません。`,
    );
    expect(disagreed.body).not.toContain('has no record of it');
    ppc.set('lang', 'en');
    const inEnglish = await post(ppc, '/oversight/cross-check', '/oversight/cross-check', {});
    expect(inEnglish.body).toContain(
      `131016 recorded inquiry ${refusedPn} as “Provided”; the core recorded “Refused”.`,
    );
    expect(inEnglish.body).toContain(
      `The core recorded ${lostPn} as “Provided” by 132012, but 132012 has no record of it.`,
    );
    expect(inEnglish.body).not.toContain('コアシステムの記録は');
    ppc.set('lang', 'ja');

    // An institution that does not answer is named, not taken as agreeing.
    a.onRecordCheck = () => {
      throw new Error('down');
    };
    const silent = await post(ppc, '/oversight/cross-check', '/oversight/cross-check', {});
    expect(silent.body).toContain('data-ok="false"');
    expect(silent.body).toMatch(/data-institution="132012" data-status="unreachable"/);
    const tooMany = await post(ppc, '/oversight/cross-check', '/oversight/cross-check', { limit: '501' });
    expect(tooMany.statusCode).toBe(400);
  });
});

describe("the resident view's further pages", () => {
  it('pages a resident’s view by its use id and a cursor, for the same account only, until it expires, each page a use', async () => {
    const paged = await startTestCoreConsole(core, {
      accounts: [{ accountId: 'ppc2', displayName: '委員会2', role: 'oversight' }],
      password: PASSWORD,
      logger,
      personPaging: { pageSize: 2, viewTtlMs: 5 * 60_000 },
    });
    const before = core.clock.now();
    try {
      const loginOn = async (accountId: string) => {
        const jar = new Jar();
        const form = await paged.inject({ method: 'GET', url: '/login' });
        jar.take(form);
        const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
        const done = await paged.inject({
          method: 'POST',
          url: '/login',
          headers: { cookie: jar.header, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ _csrf: token, loginId: accountId, password: PASSWORD }).toString(),
        });
        jar.take(done);
        return jar;
      };
      const open = (jar: Jar, url: string) =>
        paged.inject({ method: 'GET', url, headers: { cookie: jar.header } });
      const ppc = await loginOn('ppc');
      const form = await open(ppc, '/oversight/person');
      ppc.take(form);
      const first = await paged.inject({
        method: 'POST',
        url: '/oversight/person',
        headers: { cookie: ppc.header, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          _csrf: /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '',
          institutionId: '131016',
          personCode: code,
          reason: '苦情受付 R7-0031',
        }).toString(),
      });
      expect(first.statusCode, first.body).toBe(200);
      expect(rows(first.body)).toBe(2);
      const next = /id="next-page" href="([^"]+)"/.exec(first.body)?.[1]?.replaceAll('&amp;', '&') ?? '';
      const [viewUse] = (await core.store.listOversightUses(5)).filter((u) => u.action === 'person');
      expect(next).toMatch(
        new RegExp(`^/oversight/person\\?view=${viewUse?.useId ?? '-'}&cursor=[\\w-]+&page=2$`),
      );
      expect(next).not.toContain(code);

      const second = await open(ppc, next);
      expect(second.statusCode, second.body).toBe(200);
      expect(second.body).toContain('data-page="2"');
      expect(rows(second.body)).toBe(1);
      expect(second.body).not.toContain('id="next-page"');
      expect(second.body).not.toContain(code);
      // Another console over the same database (another core worker: a process of its own) serves it too.
      const elsewhere = await web.inject({ method: 'GET', url: next, headers: { cookie: ppc.header } });
      expect(elsewhere.statusCode, elsewhere.body).toBe(200);
      expect(elsewhere.body).toContain('data-page="2"');
      expect(rows(elsewhere.body)).toBe(1);

      // Another account of the commission cannot open it; nor can anyone once it expired.
      const other = await open(await loginOn('ppc2'), next);
      expect(other.statusCode).toBe(410);
      expect(other.body).toContain('ERR_PERSON_VIEW_GONE');
      const forged = await open(ppc, `/oversight/person?view=${viewUse?.useId ?? ''}&cursor=forged`);
      expect(forged.statusCode).toBe(400);
      core.clock.advance(6 * 60_000);
      const late = await open(ppc, next);
      expect(late.statusCode, late.body).toBe(410);

      const pages = (await core.store.listOversightUses(20))
        .filter((u) => u.action === 'person-page')
        .reverse();
      expect(pages.map((u) => [u.accountId, u.outcome, u.viewOf, u.institutionId, u.records])).toEqual([
        ['ppc', 'shown', viewUse?.useId, '131016', 1],
        ['ppc', 'shown', viewUse?.useId, '131016', 1],
        ['ppc2', 'ERR_PERSON_VIEW_GONE', viewUse?.useId, null, null],
        ['ppc', 'ERR_VALIDATION', viewUse?.useId, '131016', null],
        ['ppc', 'ERR_PERSON_VIEW_GONE', viewUse?.useId, null, null],
      ]);
    } finally {
      core.clock.set(before);
      await paged.close();
    }
  });

  it('keeps a view in the database: made by one service, paged by another, for its account only, until it expires', async () => {
    const noHeads = () => Promise.reject(new Error('no heads are checked here'));
    const paging = { personPageSize: 2, personViewTtlMs: 5 * 60_000 };
    // Two services over one database, as two core workers are: nothing shared but the database.
    const one = testOversight(core, noHeads, paging);
    const two = testOversight(core, noHeads, paging);
    const db = (core.store as unknown as { db: Kysely<CoreDatabase> }).db;
    const before = core.clock.now();
    try {
      const first = await one.person({
        accountId: 'ppc',
        institutionId: '131016',
        personCode: code,
        reason: '苦情受付 R7-0044',
      });
      expect(first.records).toHaveLength(2);
      const page2 = { accountId: 'ppc', useId: first.useId, cursor: first.nextCursor ?? '', page: 2 };
      const second = await two.personPage(page2);
      expect(second.records).toHaveLength(1);
      expect(second.nextCursor).toBeNull();
      expect(second.records[0]?.processingNumber).not.toBe(first.records[1]?.processingNumber);
      expect(Date.parse(second.records[0]?.requestedAt ?? '')).toBeLessThanOrEqual(
        Date.parse(first.records[1]?.requestedAt ?? ''),
      );
      // The kept row holds the person key, as the provision records do; never the code.
      const kept = await db
        .selectFrom('oversight_person_views')
        .selectAll()
        .where('use_id', '=', first.useId)
        .executeTakeFirstOrThrow();
      const [record] = await core.core.services.records.list({ limit: 1 });
      expect(kept.person_key).toBe(record?.personKey);
      expect(JSON.stringify(kept)).not.toContain(code);

      // Another account of the commission: gone, on either service.
      for (const service of [one, two]) {
        await expect(service.personPage({ ...page2, accountId: 'ppc2' })).rejects.toMatchObject({
          code: 'ERR_PERSON_VIEW_GONE',
        });
      }
      // Served until the last millisecond of its five minutes, gone from then on.
      core.clock.set(new Date(before.getTime() + 5 * 60_000 - 1));
      expect((await one.personPage(page2)).records).toHaveLength(1);
      core.clock.set(new Date(before.getTime() + 5 * 60_000));
      for (const service of [two, one]) {
        await expect(service.personPage(page2)).rejects.toMatchObject({ code: 'ERR_PERSON_VIEW_GONE' });
      }
      expect(
        (await core.store.listOversightUses(20))
          .filter((u) => u.viewOf === first.useId)
          .reverse()
          .map((u) => [u.accountId, u.outcome, u.institutionId, u.reason, u.records]),
      ).toEqual([
        ['ppc', 'shown', '131016', '苦情受付 R7-0044', 1],
        ['ppc2', 'ERR_PERSON_VIEW_GONE', null, null, null],
        ['ppc2', 'ERR_PERSON_VIEW_GONE', null, null, null],
        ['ppc', 'shown', '131016', '苦情受付 R7-0044', 1],
        ['ppc', 'ERR_PERSON_VIEW_GONE', null, null, null],
        ['ppc', 'ERR_PERSON_VIEW_GONE', null, null, null],
      ]);

      // The expired view's row is deleted as the next view is kept; the new one is served.
      const again = await two.person({
        accountId: 'ppc',
        institutionId: '131016',
        personCode: code,
        reason: '苦情受付 R7-0044 再照会',
      });
      const left = await db.selectFrom('oversight_person_views').select('use_id').execute();
      expect(left.map((r) => r.use_id)).not.toContain(first.useId);
      expect(left.map((r) => r.use_id)).toContain(again.useId);
      const againPage = { accountId: 'ppc', useId: again.useId, cursor: again.nextCursor ?? '', page: 2 };
      expect((await one.personPage(againPage)).records).toHaveLength(1);
    } finally {
      core.clock.set(before);
    }
  });
});

describe("the cross-check's tree heads", () => {
  it('checks the head each institution answers with its identity key, and names one that does not verify', async () => {
    const identity = await generateKeyPair('ES256');
    const stranger = await generateKeyPair('ES256');
    // As the PKI answers (src/trust/pki/party-key.ts): the current certificate of serial a1b2; any
    // other key id is an earlier certificate of which no copy was kept.
    const oversight = testOversight(core, (id, kid) =>
      Promise.resolve(
        id === '131016' && kid === 'a1b2'
          ? { status: 'usable' as const, key: identity.publicKey, current: true }
          : { status: 'unavailable' as const, note: 'no copy' },
      ),
    );
    const timestamp = Date.parse('2025-06-01T01:00:00Z');
    const answering = async (key: CryptoKey, kid: string) => {
      const jws = await signTreeHead({ treeSize: 5, rootHash: new Uint8Array(32), timestamp }, key, kid);
      x.onRecordCheck = () => ({
        treeHead: { treeSize: 5, timestamp, kid, jws },
        requester: [],
        provider: [],
      });
    };
    a.onRecordCheck = () => ({ treeHead: null, requester: [], provider: [] });
    const headOf = async () => {
      const result = await oversight.crossCheck({ limit: 10 });
      return { check: result.parties.find((p) => p.institutionId === '131016')?.headCheck, result };
    };

    await answering(identity.privateKey, 'a1b2');
    expect((await headOf()).check).toBe('verified');
    await answering(stranger.privateKey, 'a1b2');
    const forged = await headOf();
    expect(forged.check).toBe('invalid');
    expect(
      forged.result.findings.some((f) => f.kind === 'head-signature-invalid' && f.party === '131016'),
    ).toBe(true);
    // Signed under another certificate (an older one, before a re-key): shown unchecked, not as forged.
    await answering(stranger.privateKey, 'c3d4');
    expect((await headOf()).check).toBe('other-key');
  });
});

describe('the oversight console', () => {
  it('lists the records without the person key and counts refusals and non-disclosure per institution', async () => {
    const ppc = await login('ppc');
    const [record] = await core.core.services.records.list({ limit: 1 });
    const personKey = record?.personKey ?? '';
    expect(personKey.length).toBeGreaterThan(10);
    const page = await get(ppc, '/oversight/records');
    expect(page.statusCode).toBe(200);
    expect(rows(page.body)).toBe(3);
    expect(page.body).not.toContain(personKey);
    const refused = await get(ppc, '/oversight/records?outcome=refused&institutionId=132012');
    expect((refused.body.match(/data-outcome="refused"/g) ?? []).length).toBe(1);
    expect(refused.body).not.toContain('data-outcome="provided"');
    const none = await get(ppc, '/oversight/records?clauseNo=1');
    expect(none.body).toContain('id="no-records"');
    expect((await get(ppc, '/oversight/records?cursor=forged')).statusCode).toBe(400);

    const figures = await get(ppc, '/oversight/institutions?from=2025-05-01&to=2025-06-30');
    expect(figures.body).toContain('<strong id="total">3</strong>');
    expect(figures.body).toContain('<strong id="refused">1</strong>');
    expect(figures.body).toContain('<strong id="non-disclosure">1</strong>');
    expect(figures.body).toMatch(
      /data-institution="131016"[\s\S]*?data-refused="1"[\s\S]*?data-non-disclosure="1"/,
    );
  });

  it('verifies the log and a record’s inclusion, and finds a record edited in the database', async () => {
    const ppc = await login('ppc');
    const verified = await post(ppc, '/oversight/log', '/oversight/log/verify', {});
    expect(verified.statusCode).toBe(200);
    expect(verified.body).toContain('id="verification" data-ok="true"');
    const [record] = await core.core.services.records.list({ limit: 1 });
    const pn = record?.processingNumber ?? '';
    const included = await post(ppc, '/oversight/log', '/oversight/log/verify-record', {
      processingNumber: pn,
    });
    expect(included.body).toContain('id="inclusion" data-ok="true"');
    const log = await get(ppc, '/oversight/log');
    const latest = await core.store.latestTreeHead();
    expect(log.body).toContain('保存されたツリーヘッド 1件');
    expect(log.body).toMatch(new RegExp(`<tbody>\\s*<tr data-tree-size="${latest?.treeSize ?? -1}">`));

    // Someone with the database's password rewrites an outcome: the next verification says so.
    const db = (core.store as unknown as { db: Kysely<CoreDatabase> }).db;
    await db
      .updateTable('provision_records')
      .set({ outcome: 'not_held' })
      .where('processing_number', '=', pn)
      .execute();
    const tampered = await post(ppc, '/oversight/log', '/oversight/log/verify', {});
    expect(tampered.body).toContain('id="verification" data-ok="false"');
    expect(tampered.body).toContain('record-differs');
  });
});

describe('the core console in one language at a time', () => {
  /**
   * The Japanese words of the console's tables, as fragments between placeholders. Data stays as
   * data has it (procedure and item names), so a fragment that the data itself holds is not one an
   * English page can be blamed for. The institution kinds have English names: their Japanese ones
   * are words of the pages, whatever the data holds.
   */
  const typed = ['苦情受付 R7-0012', '提供機関からの照会', '別人の確認', '不正アクセスの調査', '調査完了'];
  const data = [...Object.values(BASE), ...typed].join('\n');
  const KIND_WORDS = Object.values(INSTITUTION_KIND_NAMES).map((name) => name.ja);
  // Kinds' names the legal data does not hold itself (its 申請先 says 市区町村, say).
  const KIND_WORDS_NOT_DATA = KIND_WORDS.filter((w) => !data.includes(w));
  const japanese = (...tables: MessageTable[]) => [
    ...new Set(
      tables
        .flatMap((table) => Object.values(table).map((m) => m.ja))
        .flatMap((text) => text.split(/\{\w+\}/))
        .map((fragment) => fragment.trim())
        .filter((fragment) => /[^\x20-\x7e]/.test(fragment) && !data.includes(fragment)),
    ),
  ];
  const OPERATOR_WORDS = [
    ...japanese(OPERATOR_MESSAGES, REGISTRY_MESSAGES, LOAD_MESSAGES),
    ...KIND_WORDS_NOT_DATA,
  ];
  const OVERSIGHT_WORDS = japanese(OVERSIGHT_CONSOLE_MESSAGES);

  /** Every page a GET shows under `prefix` (scripts and CSV aside), with what its route needs. */
  const pagesUnder = (prefix: string) => {
    const digest = core.core.services.legalVersions.list()[0]?.digest ?? '';
    return routesUnder(prefix)
      .filter((r) => r.method === 'GET' && !/\.(js|csv)$/.test(r.url))
      .map((r) => (r.url.endsWith('/legal/diff') ? `${r.url}?from=${digest}&to=${digest}` : r.url));
  };

  it.each([
    ['operator', '/operator/', () => OPERATOR_WORDS],
    ['ppc', '/oversight/', () => OVERSIGHT_WORDS],
  ] as const)(
    'shows each page of %s in English with the lang=en cookie, in Japanese alone without',
    async (account, prefix, words) => {
      const pages = pagesUnder(prefix);
      expect(pages.length).toBe(prefix === '/operator/' ? 6 : 7);
      expect(words().length).toBeGreaterThan(30);
      const ja = await login(account);
      const en = await login(account);
      en.set('lang', 'en');
      for (const url of pages) {
        const english = await get(en, url);
        expect(english.statusCode, `${url}: ${english.body}`).toBe(200);
        expect(english.body, url).toContain('<html lang="en"');
        const left = words().filter((w) => english.body.includes(w));
        expect(left, url).toEqual([]);

        const japanesePage = await get(ja, url);
        expect(japanesePage.statusCode, url).toBe(200);
        expect(japanesePage.body, url).toContain('<html lang="ja"');
        expect(japanesePage.body, url).not.toContain('<span lang="en">');
        expect(japanesePage.body, url).not.toMatch(/__en\b/);
      }
    },
  );

  it('shows the result of every POST in English with the lang=en cookie: registry, suspension, legal load, oversight queries', async () => {
    const operator = await login('operator');
    const ppc = await login('ppc');
    operator.set('lang', 'en');
    ppc.set('lang', 'en');
    const results: { what: string; status: number; body: string; words: string[] }[] = [];
    const seen = async (
      what: string,
      jar: Jar,
      answer: LightMyRequestResponse,
      words: string[],
      status: number,
    ) => {
      expect(answer.statusCode, `${what}: ${answer.body.slice(0, 400)}`).toBe(status);
      const shown = status === 303 ? await get(jar, answer.headers.location ?? '') : answer;
      results.push({ what, status: shown.statusCode, body: shown.body, words });
    };
    const op = (what: string, url: string, fields: Record<string, string>, status: number, from = url) =>
      post(operator, from, url, fields).then((a) => seen(what, operator, a, OPERATOR_WORDS, status));
    const registry = '/operator/registry';
    const institution = { name: '室蘭市', nameEn: 'Muroran City', kind: 'municipality' };
    await op('add', registry, { id: '012050', ...institution, networkUrl: 'https://127.0.0.1:9' }, 303);
    await op('add, refused', registry, { id: 'BAD ID', ...institution, networkUrl: 'https://x' }, 400);
    await op('rotate', `${registry}/012050/rotate-key`, {}, 303, registry);
    await op('rotate, refused', `${registry}/012050/rotate-key`, {}, 409, registry);
    for (const action of ['suspend', 'reinstate']) {
      const url = `${registry}/012050/${action}`;
      await op(`${action}, asked`, url, { reason: 'audit' }, 200, registry);
      await op(`${action}, no reason`, url, { reason: ' ', confirmed: 'yes' }, 400, registry);
      await op(`${action}, confirmed`, url, { reason: 'audit', confirmed: 'yes' }, 303, registry);
    }
    const load = '/operator/legal/load';
    const C = testLegalFiles(({ clauses }) => {
      const clause = (clauses as { clauseNo: string; requester: unknown }[]).find((c) => c.clauseNo === '74');
      if (clause) clause.requester = { kinds: ['municipality', 'prefecture'], institutions: [] };
    });
    const form = (files: LegalFiles) => ({ effectiveFrom: '2025-07-10', ...files });
    await op('load, invalid', load, form({ ...C, items: 'a: [1,\n  b: }\n' }), 422);
    await op('load, checked', load, form(C), 200);
    const digest = legalTableFromFiles(C).digest;
    await op('load, changed', load, { ...form(BASE), digest, confirmed: 'yes' }, 400);
    await op('load, stored', load, { ...form(C), digest, confirmed: 'yes' }, 303);

    const over = (what: string, from: string, url: string, fields: Record<string, string>, status: number) =>
      post(ppc, from, url, fields).then((a) => seen(what, ppc, a, OVERSIGHT_WORDS, status));
    await over('verify', '/oversight/log', '/oversight/log/verify', {}, 200);
    const [record] = await core.core.services.records.list({ limit: 1 });
    const pn = record?.processingNumber ?? '';
    await over(
      'verify a record',
      '/oversight/log',
      '/oversight/log/verify-record',
      { processingNumber: pn },
      200,
    );
    const person = { institutionId: '131016', personCode: code, reason: 'complaint R7-0013' };
    await over('person', '/oversight/person', '/oversight/person', person, 200);
    await over('person, no reason', '/oversight/person', '/oversight/person', { ...person, reason: '' }, 400);
    await over('cross-check', '/oversight/cross-check', '/oversight/cross-check', { limit: '50' }, 200);
    await over(
      'cross-check, refused',
      '/oversight/cross-check',
      '/oversight/cross-check',
      { limit: '501' },
      400,
    );

    for (const { what, body, words } of results) {
      expect(body, what).toContain('<html lang="en"');
      expect(
        words.filter((w) => body.includes(w)),
        what,
      ).toEqual([]);
    }
    const changed = results.find((r) => r.what === 'load, changed')?.body ?? '';
    expect(changed).toContain(LOAD_MESSAGES.changed.en);
    expect(changed).toContain('id="legal-load"');
    // The diff's labels in English; the same diff in Japanese on a Japanese page.
    const checked = results.find((r) => r.what === 'load, checked')?.body ?? '';
    expect(checked).toMatch(/<pre id="diff">[\s\S]*Clauses[\s\S]*~ clause 74[\s\S]*<\/pre>/);
    operator.set('lang', 'ja');
    const ja = await post(operator, load, load, { ...form(C), effectiveFrom: '2025-07-09' });
    expect(ja.statusCode, /id="problem"[\s\S]*?<\/p>/.exec(ja.body)?.[0]).toBe(200);
    expect(ja.body).toMatch(/<pre id="diff">[\s\S]*項[\s\S]*~ 項 74[\s\S]*<\/pre>/);
    expect(ja.body).not.toMatch(/<pre id="diff">[\s\S]*Clauses/);
  });

  it('names the institution kinds in the page’s language on the statistics and the registry, in Japanese in the CSV', async () => {
    const operator = await login('operator');
    const period = '?from=2025-05-01&to=2025-06-30';
    for (const url of [`/operator/statistics${period}`, '/operator/registry']) {
      const ja = await get(operator, url);
      expect(ja.body, url).toContain('市区町村');
      expect(ja.body, url).not.toContain('Municipality');
      operator.set('lang', 'en');
      const en = await get(operator, url);
      operator.set('lang', 'ja');
      expect(en.body, url).toContain('Municipality');
      expect(
        KIND_WORDS.filter((w) => en.body.includes(w)),
        url,
      ).toEqual([]);
    }
    operator.set('lang', 'en');
    const legal = await get(operator, '/operator/legal');
    expect(legal.body).toMatch(/<td>Municipality(, [A-Z][^<]*)?<\/td>/);
    // The CSV is the same in either language: the kind's code and its Japanese name.
    const csv = await get(operator, `/operator/statistics.csv${period}`);
    expect(csv.body).toContain('requester-kind,municipality,市区町村,');
    expect(csv.body).not.toContain('Municipality');
  });

  it('shows dates in 和暦 with the Western year in Japanese and Western in English', async () => {
    const ppc = await login('ppc');
    const query = '/oversight/institutions?from=2025-05-01&to=2025-06-30';
    const ja = await get(ppc, query);
    expect(ja.body).toContain('令和7年5月1日（2025年）');
    ppc.set('lang', 'en');
    const en = await get(ppc, query);
    expect(en.body).toContain('1 May 2025');
    expect(en.body).not.toContain('令和');
  });
});
