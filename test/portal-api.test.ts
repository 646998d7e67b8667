/**
 * The 自己情報取得API on a real network (core, J-LIS, 三条市, 新宿区; real SQLite files, mutual TLS):
 * a registered client completes the authorization code flow with PKCE at the portal over real HTTP
 * with openid-client (an independent, certified client library), the resident logging in with the
 * card and consenting on the portal's page; the client then reads the consented items of the
 * resident's information, and the release is recorded and shown on 連携サービス, where the resident
 * withdraws it. Each refusal the brief lists is tried and found in the portal's security log.
 */
import { compileErrors, validate } from '@readme/openapi-parser';
import * as client from 'openid-client';
import { openApiPath } from '../src/protocol/openapi.ts';
import { sha256Hex } from '../src/shared/hash.ts';
import type { OpenApiDocument } from '../src/protocol/routes.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualCard } from '../src/card/virtual-card.ts';
import { createClient, type Client } from '../src/protocol/api.ts';
import { credentialTransport } from '../src/protocol/client-credentials.ts';
import { portalApi } from '../src/protocol/routes.ts';
import type { Transport } from '../src/protocol/transport.ts';
import { systemClock } from '../src/shared/clock.ts';
import { createSignedData } from '../src/trust/pki/cms.ts';
import { pkiPaths } from '../src/trust/pki/files.ts';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import { DEMO_INSTITUTIONS } from '../src/network/world.ts';
import { openDatabase } from '../src/shared/db.ts';
import { openSecurityLog, type SecurityEventRow } from '../src/shared/security-log.ts';
import { MUNICIPALITY, startPortalNetwork, type PortalNetwork } from './support/portal-network.ts';
import { Browser, formOf, logIn, logInAs } from './support/portal-web.ts';
import { join } from 'node:path';
import { renkei } from '../src/cli/test-support.ts';

const SHINJUKU = DEMO_INSTITUTIONS.find((i) => i.id === '131041')!;
const legal = loadLegalTable();
const TAX_EXAMPLE = legal.layoutFor(2, new Date())!.example;
const REDIRECT = 'http://127.0.0.1:9/callback';
const BUDGET = {
  clientId: 'kakeibo-demo',
  name: 'デモ家計簿アプリ',
  redirectUris: [REDIRECT],
  scopes: ['item:2', 'item:1'],
  secret: 'kakeibo-demo-secret-0123456789abcdef',
};
const OTHER = {
  clientId: 'other-demo',
  name: 'もう一つのデモサービス',
  redirectUris: ['http://127.0.0.1:9/other'],
  scopes: ['item:2'],
  secret: 'other-demo-secret-0123456789abcdef01',
};
const APPLY = {
  clientId: 'e-shinsei-demo',
  name: 'デモ電子申請サイト',
  redirectUris: ['http://127.0.0.1:9/apply'],
  scopes: ['application'],
  secret: 'e-shinsei-demo-secret-0123456789abcdef',
};
const OFFLINE = {
  clientId: 'offline-demo',
  name: 'デモ定期取込サービス',
  redirectUris: ['http://127.0.0.1:9/offline'],
  scopes: ['item:2', 'offline_access'],
  secret: 'offline-demo-secret-0123456789abcdef0',
};
const SIGNING_PASSWORD = 'SANJO2024';
const CHILD_ALLOWANCE = {
  childName: '連携 一太',
  childDateOfBirth: '2024-04-01',
  relationship: '子',
  payeeAccount: '公金受取口座',
  phone: '0256345111',
};
const CODE_TTL_SECONDS = 2;
/** The test portal's limit per client (and per address) a minute, on `/oidc/token` and `/api/v1/`. */
const RATE_LIMIT = 30;

let net: PortalNetwork;
let issuer: URL;
let individualNumber: string;

beforeAll(async () => {
  net = await startPortalNetwork('portal-api', {
    institutions: [SHINJUKU],
    portal: {
      apiClients: [BUDGET, OTHER, APPLY, OFFLINE],
      apiPolicy: {
        codeTtlSeconds: CODE_TTL_SECONDS,
        waitMs: 15_000,
        rateLimits: {
          token: { max: RATE_LIMIT, windowMs: 60_000 },
          api: { max: RATE_LIMIT, windowMs: 60_000 },
        },
      },
    },
  });
  const card = await net.issueCard('api-ichiro', '連携 一郎');
  individualNumber = card.individualNumber;
  await net.issueCard('api-hanako', '連携 花子');
  await net.network.institution(MUNICIPALITY.id).registerPerson({ body: { individualNumber } });
  const { addresseeNumber } = await net.network
    .institution(SHINJUKU.id)
    .registerPerson({ body: { individualNumber } });
  await net.network
    .institution(SHINJUKU.id)
    .putCopy({ body: { addresseeNumber, itemNo: 2, data: { ...TAX_EXAMPLE, totalIncome: 2718281 } } });
  issuer = new URL(`${net.portal.url}/oidc`);
}, 120_000);

afterAll(async () => {
  await net?.dispose();
});

async function configFor(c: { clientId: string; secret: string }, secret = c.secret) {
  return client.discovery(issuer, c.clientId, undefined, client.ClientSecretBasic(secret), {
    execute: [client.allowInsecureRequests],
  });
}

/** Follow the portal's redirects in the resident's browser until one leaves the portal. */
async function follow(
  browser: Browser,
  url: string,
  hops = 10,
): Promise<{ url: string; page?: string; status: number }> {
  let at = url;
  for (let i = 0; i < hops; i++) {
    if (!at.startsWith(net.portal.url)) return { url: at, status: 303 };
    const { response, text } = await browser.go(at);
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) {
      return { url: at, page: text, status: response.status };
    }
    at = new URL(location, at).href;
  }
  return { url: at, status: 303 };
}

/** The resident's answer on the consent page; the client's redirect URI it leads to. */
async function answerConsent(browser: Browser, page: string, decision: 'allow' | 'deny'): Promise<string> {
  const action = /action="(\/oidc-interaction\/[^"]+\/consent)"/.exec(page)?.[1];
  expect(action).toBeDefined();
  const answered = await browser.go(`${net.portal.url}${action}`, {
    form: { ...formOf(page, action!), decision },
    origin: net.portal.url,
  });
  expect(answered.response.status).toBe(303);
  const back = await follow(
    browser,
    new URL(answered.response.headers.get('location')!, net.portal.url).href,
  );
  return back.url;
}

interface Flow {
  verifier: string;
  state: string;
  nonce: string;
  url: URL;
}

async function begin(
  config: client.Configuration,
  scope: string,
  redirectUri = REDIRECT,
  extra: Record<string, string> = {},
): Promise<Flow> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { verifier, state, nonce, url };
}

/** A whole authorization, consented: the callback URL the client receives. */
async function authorize(browser: Browser, flow: Flow): Promise<URL> {
  const reached = await follow(browser, flow.url.href);
  if (reached.page !== undefined) {
    expect(reached.page).toContain('情報の提供への同意');
    return new URL(await answerConsent(browser, reached.page, 'allow'));
  }
  return new URL(reached.url);
}

async function securityEvents(): Promise<SecurityEventRow[]> {
  const log = await openSecurityLog(join(net.dir, 'portal', 'security.sqlite'));
  try {
    return await log.list(500);
  } finally {
    await log.close();
  }
}

describe('自己情報取得API (self-information API)', () => {
  let ichiro: Browser;
  let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  let config: client.Configuration;

  it('completes the code flow with PKCE over real HTTP: card login, the consent page, the code, the token', async () => {
    config = await configFor(BUDGET);
    const flow = await begin(config, 'openid item:2');
    // Not logged in yet: the portal's own card login, then back to the consent page.
    ichiro = new Browser();
    const first = await follow(ichiro, flow.url.href);
    expect(first.url).toBe(`${net.portal.url}/login`);
    const interaction = decodeURIComponent(ichiro.cookies.get('portal_next') ?? '');
    expect(interaction).toMatch(/^\/oidc-interaction\/[\w-]+$/);
    await logIn(net, ichiro, 'api-ichiro', undefined, interaction);
    const again = await follow(ichiro, `${net.portal.url}${interaction}`);
    expect(again.page).toContain('デモ家計簿アプリ');
    expect(again.page).toContain('地方税関係情報');
    expect(again.page).not.toContain('住民基本台帳関係情報');
    expect(again.page).toMatch(/同意の期間/);
    const callback = new URL(await answerConsent(ichiro, again.page!, 'allow'));
    expect(callback.origin + callback.pathname).toBe(REDIRECT);
    tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.scope?.split(' ').toSorted()).toEqual(['item:2', 'openid']);
  });

  it('gives the client the consented items, under a pairwise subject, with no Individual Number or code in any token', async () => {
    const response = await client.fetchProtectedResource(
      config,
      tokens.access_token,
      new URL(`${net.portal.url}/api/v1/self-information`),
      'GET',
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      subject: string;
      complete: boolean;
      institutions: {
        institutionId: string;
        outcome: string;
        items?: { itemNo: number; data: Record<string, unknown> }[];
      }[];
    };
    expect(body.complete).toBe(true);
    const shinjuku = body.institutions.find((i) => i.institutionId === SHINJUKU.id)!;
    expect(shinjuku.outcome).toBe('provided');
    expect(shinjuku.items?.[0]?.data.totalIncome).toBe(2718281);
    // Only the consented item was asked for.
    expect(body.institutions.every((i) => JSON.stringify(i).includes('"itemsAsked":[2]'))).toBe(true);
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(body.subject);
    const db = await openDatabase<Record<string, Record<string, unknown>>>(net.portalDatabase);
    try {
      const persons = (await db.selectFrom('persons').selectAll().execute()) as {
        person_id: string;
        person_code: string;
      }[];
      for (const p of persons) {
        for (const token of [tokens.id_token!, tokens.access_token, body.subject]) {
          expect(token).not.toContain(p.person_id);
          expect(token).not.toContain(p.person_code);
        }
      }
      const idToken = Buffer.from(tokens.id_token!.split('.')[1]!, 'base64url').toString();
      expect(idToken).not.toContain(individualNumber);
      expect(idToken).not.toMatch(/\d{12}/);
      // The release is recorded: who, which items, from whom; never the information.
      const releases = (await db.selectFrom('api_releases').selectAll().execute()) as Record<
        string,
        string
      >[];
      expect(releases.map((r) => [r.client_id, r.provider_id, r.item_nos])).toEqual([
        [BUDGET.clientId, SHINJUKU.id, '[2]'],
      ]);
      expect(JSON.stringify(await db.selectFrom('oidc_artifacts').selectAll().execute())).not.toContain(
        '2718281',
      );
    } finally {
      await db.destroy();
    }
  });

  it('gives another client another subject for the same resident', async () => {
    const other = await configFor(OTHER);
    const flow = await begin(other, 'openid item:2', OTHER.redirectUris[0]);
    const callback = await authorize(ichiro, flow);
    const theirs = await client.authorizationCodeGrant(other, callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    expect(theirs.claims()!.sub).not.toBe(tokens.claims()!.sub);
  });

  it('shows the release on 連携サービス', async () => {
    const { text } = await ichiro.go(`${net.portal.url}/connected-services`);
    expect(text).toContain('デモ家計簿アプリ');
    expect(text).toMatch(/<td>デモ家計簿アプリ<\/td>\s*<td>地方税関係情報<\/td>\s*<td>新宿区<\/td>/);
    const { text: home } = await ichiro.go(`${net.portal.url}/`);
    expect(home).toContain('href="/connected-services"');
  });

  it('refuses an access token for items the resident did not consent to', async () => {
    const response = await callApi(tokens.access_token, '?items=1');
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('insufficient_scope');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'ERR_INSUFFICIENT_SCOPE',
    );
    await expectRecorded('portal.api.selfInformation', 'ERR_INSUFFICIENT_SCOPE', BUDGET.clientId);
  });

  it('refuses a scope the client is not registered for', async () => {
    const other = await configFor(OTHER);
    const flow = await begin(other, 'openid item:1', OTHER.redirectUris[0]);
    const reached = await follow(ichiro, flow.url.href);
    // An error the client can be told: back to its redirect URI with invalid_scope.
    expect(new URL(reached.url).searchParams.get('error')).toBe('invalid_scope');
    await expectRecorded('portal.oidc.authorize', 'ERR_OAUTH_INVALID_SCOPE', OTHER.clientId);
  });

  it('refuses an unregistered client, on a page of the portal, recorded', async () => {
    const url = new URL(`${net.portal.url}/oidc/auth`);
    url.search = new URLSearchParams({
      client_id: 'not-registered',
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid item:2',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    }).toString();
    const reached = await follow(ichiro, url.href);
    expect(reached.status).toBe(400);
    expect(reached.page).toContain('ERR_OAUTH_INVALID_CLIENT');
    expect(reached.page).not.toContain('<style');
    await expectRecorded('portal.oidc.authorize', 'ERR_OAUTH_INVALID_CLIENT', 'not-registered');
  });

  it('refuses a redirect URI that is not registered, without going there', async () => {
    const flow = await begin(config, 'openid item:2', 'http://127.0.0.1:9/elsewhere');
    const reached = await follow(ichiro, flow.url.href);
    expect(reached.url.startsWith(net.portal.url)).toBe(true);
    expect(reached.status).toBe(400);
    await expectRecorded('portal.oidc.authorize', 'ERR_OAUTH_INVALID_REDIRECT_URI', BUDGET.clientId);
  });

  it('refuses an authorization request without PKCE', async () => {
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid item:2',
      state: 's',
    });
    const reached = await follow(ichiro, url.href);
    const back = new URL(reached.url);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    await expectRecorded('portal.oidc.authorize', 'ERR_OAUTH_INVALID_REQUEST', BUDGET.clientId);
  });

  it('refuses a code with a wrong PKCE verifier, a reused code, and an expired code', async () => {
    // A wrong verifier.
    let flow = await begin(config, 'openid item:2');
    let callback = await authorize(ichiro, flow);
    await expect(
      client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: flow.state,
        expectedNonce: flow.nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    await expectRecorded('portal.oidc.token', 'ERR_OAUTH_INVALID_GRANT', BUDGET.clientId);
    // A code used once already: refused, and the tokens it gave revoked.
    flow = await begin(config, 'openid item:2');
    callback = await authorize(ichiro, flow);
    const checks = { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce };
    const once = await client.authorizationCodeGrant(config, callback, checks);
    await expect(client.authorizationCodeGrant(config, callback, checks)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const revoked = await callApi(once.access_token);
    expect(revoked.status).toBe(401);
    // An expired code.
    flow = await begin(config, 'openid item:2');
    callback = await authorize(ichiro, flow);
    await new Promise((resolve) => setTimeout(resolve, CODE_TTL_SECONDS * 1000 + 500));
    await expect(
      client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a client with a wrong secret at the token endpoint', async () => {
    const flow = await begin(config, 'openid item:2');
    const callback = await authorize(ichiro, flow);
    const wrong = await configFor(BUDGET, 'not-the-secret-0123456789abcdef0123');
    await expect(
      client.authorizationCodeGrant(wrong, callback, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
      }),
    ).rejects.toMatchObject({ status: 401, cause: [{ parameters: { error: 'invalid_client' } }] });
    await expectRecorded('portal.oidc.token', 'ERR_OAUTH_INVALID_CLIENT', BUDGET.clientId);
  });

  it('tells the client when the resident does not consent', async () => {
    const other = await configFor(OTHER);
    // A fresh browser session: the earlier consent to OTHER is remembered in the first one.
    const hanako = await logInAs(net, 'api-hanako');
    const flow = await begin(other, 'openid item:2', OTHER.redirectUris[0]);
    const reached = await follow(hanako, flow.url.href);
    expect(reached.page).toContain('もう一つのデモサービス');
    const back = new URL(await answerConsent(hanako, reached.page!, 'deny'));
    expect(back.searchParams.get('error')).toBe('access_denied');
    await expectRecorded('portal.oidc.authorize', 'ERR_OAUTH_ACCESS_DENIED', OTHER.clientId);
  });

  it('refuses an unknown token, and every token of a consent the resident withdrew', async () => {
    const unknown = await fetch(`${net.portal.url}/api/v1/self-information`, {
      headers: { authorization: 'Bearer not-a-token' },
    });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toContain('invalid_token');
    // A live token, then the resident withdraws the consent on 連携サービス.
    const flow = await begin(config, 'openid item:2');
    const callback = await authorize(ichiro, flow);
    const live = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    const { text } = await ichiro.go(`${net.portal.url}/connected-services`);
    const grant = /data-grant="([^"]+)" data-live="true"[\s\S]*?<h3>デモ家計簿アプリ<\/h3>/.exec(text)?.[1];
    expect(grant).toBeDefined();
    const withdrawn = await ichiro.go(`${net.portal.url}/connected-services/revoke`, {
      form: { ...formOf(text, '/connected-services/revoke'), grant: grant! },
      origin: net.portal.url,
    });
    expect(withdrawn.response.status).toBe(303);
    const after = await callApi(live.access_token);
    expect(after.status).toBe(401);
    const { text: page } = await ichiro.go(`${net.portal.url}/connected-services?revoked=1`);
    expect(page).toContain('連携を取り消しました');
    expect(page).toContain('取り消し済み');
    // The token is gone with its grant: the refusal cannot name the client any more.
    await expectRecorded('portal.api.selfInformation', 'ERR_INVALID_TOKEN', null);
    // Another resident can neither see nor withdraw the first one's consents.
    const live2 = /data-grant="([^"]+)" data-live="true"/.exec(
      (await ichiro.go(`${net.portal.url}/connected-services`)).text,
    )?.[1];
    expect(live2).toBeDefined();
    const hanako = await logInAs(net, 'api-hanako');
    const { text: theirs } = await hanako.go(`${net.portal.url}/connected-services`);
    expect(theirs).not.toContain(live2);
    const refused = await hanako.go(`${net.portal.url}/connected-services/revoke`, {
      form: { _csrf: formOf(theirs, '/logout')._csrf ?? '', grant: live2! },
      origin: net.portal.url,
    });
    expect(refused.response.status).toBe(404);
    expect((await ichiro.go(`${net.portal.url}/connected-services`)).text).toContain(
      `data-grant="${live2}" data-live="true"`,
    );
  });
});

/** The resource call as any client makes it (openid-client throws on a challenge; the status is what we check). */
function callApi(accessToken: string, query = ''): Promise<Response> {
  return fetch(`${net.portal.url}/api/v1/self-information${query}`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
}

async function expectRecorded(route: string, code: string, client: string | null): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const events = await securityEvents();
    if (events.some((e) => e.route === route && e.code === code && e.claimedPartyId === client)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const events = await securityEvents();
  throw new Error(`not recorded: ${route} ${code} ${client}; have ${JSON.stringify(events.slice(-5))}`);
}

describe('申請API (application API)', () => {
  let ichiro: Browser;
  let config: client.Configuration;
  let accessToken: string;
  let applicationNumber: string;
  let sanjo: Client<typeof portalApi>;
  const transports: Transport[] = [];

  beforeAll(async () => {
    ichiro = await logInAs(net, 'api-ichiro');
    config = await configFor(APPLY);
    const pkiDir = net.network.pkiDir!;
    const transport = await credentialTransport({
      pkiDir,
      parties: ['152048:business'],
      clock: systemClock,
      crl: { file: pkiPaths(pkiDir).crlDer },
      timeoutMs: 30_000,
    });
    transports.push(transport);
    sanjo = createClient(portalApi, {
      transport,
      baseUrl: net.portal.networkUrl,
      peer: 'the portal',
      party: 'portal',
    });
  });

  afterAll(async () => {
    for (const t of transports) await t.close();
  });

  const post = (path: string, body: unknown, token = accessToken) =>
    fetch(`${net.portal.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** What the card reader does: the card signs the bytes with the signing key, as CMS SignedData. */
  const signAtReader = async (card: string, content: Uint8Array) => {
    const file = join(net.cardsDir, `${card}.card`);
    const opened = VirtualCard.open(file);
    const certificate = await opened.readCertificate('signing', SIGNING_PASSWORD);
    return Buffer.from(
      await createSignedData({
        content,
        certificate: certificate.certificateDer,
        sign: (tbs) => opened.signWithSigningKey(SIGNING_PASSWORD, tbs),
      }),
    ).toString('base64');
  };

  it('asks the resident’s consent to apply on their behalf, and finds the procedure through the finder', async () => {
    const flow = await begin(config, 'openid application', APPLY.redirectUris[0]);
    const reached = await follow(ichiro, flow.url.href);
    expect(reached.page).toContain('デモ電子申請サイト');
    expect(reached.page).toContain('あなたに代わって、ぴったりサービスの手続を申請すること');
    const callback = new URL(await answerConsent(ichiro, reached.page!, 'allow'));
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    accessToken = tokens.access_token;
    const found = (await (
      await fetch(`${net.portal.url}/api/v1/procedures?event=kosodate&municipality=152048&q=児童手当`)
    ).json()) as { procedures: { procedure: { id: string; attachmentsOmitted: string[] } }[] };
    expect(found.procedures.map((p) => p.procedure.id)).toContain('kosodate-01');
    expect(found.procedures[0]?.procedure.attachmentsOmitted).toContain('課税証明書');
  });

  it('validates the form exactly as the portal’s own, then takes the signature made at the card and stores the application', async () => {
    const wrong = await post('/api/v1/applications', {
      municipality: '152048',
      procedure: 'kosodate-01',
      fields: { ...CHILD_ALLOWANCE, childDateOfBirth: '2024-02-30' },
    });
    expect(wrong.status).toBe(400);
    const problem = (await wrong.json()) as {
      error: { code: string; fields: Record<string, { ja: string }> };
    };
    expect(problem.error.code).toBe('ERR_VALIDATION');
    expect(problem.error.fields.childDateOfBirth?.ja).toBe('日付を正しく入力してください。');
    const prepared = await post('/api/v1/applications', {
      municipality: '152048',
      procedure: 'kosodate-01',
      fields: CHILD_ALLOWANCE,
    });
    expect(prepared.status).toBe(201);
    const { requestId, content } = (await prepared.json()) as { requestId: string; content: string };
    const document = JSON.parse(Buffer.from(content, 'base64').toString('utf8')) as Record<string, unknown>;
    expect(document).toMatchObject({
      relyingPartyId: 'portal',
      submittedVia: { clientId: APPLY.clientId, name: APPLY.name },
    });
    const signed = await post(`/api/v1/applications/${requestId}/signature`, {
      signedData: await signAtReader('api-ichiro', Buffer.from(content, 'base64')),
    });
    expect(signed.status).toBe(201);
    ({ applicationNumber } = (await signed.json()) as { applicationNumber: string });
    // A second answer to the same request is a replay.
    const again = await post(`/api/v1/applications/${requestId}/signature`, {
      signedData: await signAtReader('api-ichiro', Buffer.from(content, 'base64')),
    });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('ERR_MESSAGE_REPLAYED');
  });

  it('lets 三条市 download it like any other application, verified, and shows it in the resident’s 申請履歴', async () => {
    const one = await sanjo.getApplication({ params: { applicationNumber } });
    expect(one.verification).toMatchObject({ signature: 'valid', certificateStatus: 'good' });
    expect(one.procedureId).toBe('kosodate-01');
    expect(Buffer.from(one.content, 'base64').toString('utf8')).toContain(APPLY.clientId);
    const { text } = await ichiro.go(`${net.portal.url}/services/applications`);
    expect(text).toContain(applicationNumber);
  });

  it('refuses a token without the application scope, another card’s signature, and a request not the client’s', async () => {
    // The household-budget app's consent covers item:2 only.
    const budget = await configFor(BUDGET);
    const flow = await begin(budget, 'openid item:2');
    const callback = await authorize(ichiro, flow);
    const itemsOnly = await client.authorizationCodeGrant(budget, callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    const noScope = await post(
      '/api/v1/applications',
      { municipality: '152048', procedure: 'kosodate-01', fields: CHILD_ALLOWANCE },
      itemsOnly.access_token,
    );
    expect(noScope.status).toBe(403);
    await expectRecorded('portal.api.applications', 'ERR_INSUFFICIENT_SCOPE', BUDGET.clientId);
    // Signed with another resident's card: refused by the same check as the portal's own form.
    const prepared = (await (
      await post('/api/v1/applications', {
        municipality: '152048',
        procedure: 'kosodate-01',
        fields: CHILD_ALLOWANCE,
      })
    ).json()) as { requestId: string; content: string };
    const otherCard = await post(`/api/v1/applications/${prepared.requestId}/signature`, {
      signedData: await signAtReader('api-hanako', Buffer.from(prepared.content, 'base64')),
    });
    expect(otherCard.status).toBe(403);
    expect(((await otherCard.json()) as { error: { code: string } }).error.code).toBe(
      'ERR_IDENTITY_MISMATCH',
    );
    // A request of the portal's own form (the resident's browser) is not the client's to answer.
    const path = '/services/152048/kosodate-01/apply';
    const { text: form } = await ichiro.go(`${net.portal.url}${path}`);
    const own = await ichiro.go(`${net.portal.url}${path}`, {
      form: { ...formOf(form, path), ...CHILD_ALLOWANCE },
      origin: net.portal.url,
    });
    const ownRequest = /\/services\/signing\/([\w-]+)/.exec(own.response.headers.get('location') ?? '')?.[1];
    expect(ownRequest).toBeDefined();
    const notTheirs = await post(`/api/v1/applications/${ownRequest}/signature`, { signedData: 'AAAA' });
    expect(notTheirs.status).toBe(401);
    await expectRecorded('portal.api.applications', 'ERR_MESSAGE_STALE', APPLY.clientId);
    expect((await sanjo.listApplications({ query: {} })).applications).toHaveLength(1);
  });
});

describe('refresh tokens (offline_access)', () => {
  let ichiro: Browser;
  let config: client.Configuration;

  /** A consented code flow asking for offline_access (with prompt=consent, as OpenID Connect requires). */
  const offlineTokens = async (browser: Browser) => {
    const flow = await begin(config, 'openid item:2 offline_access', OFFLINE.redirectUris[0], {
      prompt: 'consent',
    });
    const reached = await follow(browser, flow.url.href);
    expect(reached.page).toContain('デモ定期取込サービス');
    expect(reached.page).toContain('data-testid="consent-offline"');
    expect(reached.page).toContain('同意の期間が終わるか、あなたが取り消すまで');
    const callback = new URL(await answerConsent(browser, reached.page!, 'allow'));
    return client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
  };

  /** The expiry of the row oidc-provider stored for a model and id (the grant's, a refresh token's). */
  const expiryOf = async (model: string, where: { id?: string; grantId?: string }) => {
    const db = await openDatabase<Record<string, Record<string, unknown>>>(net.portalDatabase);
    try {
      const rows = (await db
        .selectFrom('oidc_artifacts')
        .selectAll()
        .where('model', '=', model)
        .execute()) as {
        id: string;
        grant_id: string | null;
        expires_at: string;
      }[];
      const row = rows.find((r) => (where.id ? r.id === where.id : r.grant_id === where.grantId));
      return row && new Date(row.expires_at).getTime();
    } finally {
      await db.destroy();
    }
  };

  beforeAll(async () => {
    ichiro = await logInAs(net, 'api-ichiro');
    config = await configFor(OFFLINE);
  });

  it('gives a refresh token only with offline_access and prompt=consent; it lives as long as the consent', async () => {
    // Without prompt=consent, oidc-provider drops offline_access: no refresh token.
    const plain = await begin(config, 'openid item:2 offline_access', OFFLINE.redirectUris[0]);
    const plainTokens = await client.authorizationCodeGrant(config, await authorize(ichiro, plain), {
      pkceCodeVerifier: plain.verifier,
      expectedState: plain.state,
      expectedNonce: plain.nonce,
    });
    expect(plainTokens.refresh_token).toBeUndefined();
    // The client not registered for offline_access gets none either.
    const budget = await configFor(BUDGET);
    const flow = await begin(budget, 'openid item:2 offline_access', REDIRECT, { prompt: 'consent' });
    const budgetTokens = await client.authorizationCodeGrant(budget, await authorize(ichiro, flow), {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    expect(budgetTokens.refresh_token).toBeUndefined();

    const tokens = await offlineTokens(ichiro);
    expect(tokens.refresh_token).toBeDefined();
    expect(tokens.scope?.split(' ')).toContain('offline_access');
    const access = await oidcFind('AccessToken', tokens.access_token);
    const grantExpiry = await expiryOf('Grant', { id: access!.grantId });
    const refreshExpiry = await expiryOf('RefreshToken', { id: tokens.refresh_token! });
    expect(grantExpiry).toBeGreaterThan(Date.now() + 89 * 24 * 3600 * 1000);
    expect(Math.abs(refreshExpiry! - grantExpiry!)).toBeLessThan(2000);
  });

  it('rotates the refresh token at each use; a used one presented again is refused, recorded, and kills the chain', async () => {
    const first = await offlineTokens(ichiro);
    const grantId = (await oidcFind('AccessToken', first.access_token))!.grantId;
    const second = await client.refreshTokenGrant(config, first.refresh_token!);
    expect(second.refresh_token).toBeDefined();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await callApi(second.access_token)).status).toBe(200);
    const third = await client.refreshTokenGrant(config, second.refresh_token!);
    expect((await callApi(third.access_token)).status).toBe(200);
    // The first, used already: refused, and every token of the grant with it.
    await expect(client.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expectRecorded('portal.oidc.token', 'ERR_OAUTH_INVALID_GRANT', OFFLINE.clientId);
    await expect(client.refreshTokenGrant(config, third.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await callApi(third.access_token)).status).toBe(401);
    expect(await oidcFind('RefreshToken', third.refresh_token!)).toBeUndefined();
    // The consent is over, and 連携サービス says so.
    const { text } = await ichiro.go(`${net.portal.url}/connected-services`);
    expect(text).toContain(`data-grant="${grantId}" data-live="false"`);
  });

  it('refuses the refresh token of a consent the resident withdrew', async () => {
    const tokens = await offlineTokens(ichiro);
    const grantId = (await oidcFind('AccessToken', tokens.access_token))!.grantId;
    const { text } = await ichiro.go(`${net.portal.url}/connected-services`);
    expect(text).toContain(`data-grant="${grantId}" data-live="true"`);
    const withdrawn = await ichiro.go(`${net.portal.url}/connected-services/revoke`, {
      form: { ...formOf(text, '/connected-services/revoke'), grant: grantId },
      origin: net.portal.url,
    });
    expect(withdrawn.response.status).toBe(303);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expectRecorded('portal.oidc.token', 'ERR_OAUTH_INVALID_GRANT', OFFLINE.clientId);
    expect((await callApi(tokens.access_token)).status).toBe(401);
  });
});

/** An artifact of oidc-provider as stored (AccessToken, RefreshToken…), by its id. */
async function oidcFind(model: string, id: string): Promise<{ grantId: string } | undefined> {
  const db = await openDatabase<Record<string, Record<string, unknown>>>(net.portalDatabase);
  try {
    const row = (await db
      .selectFrom('oidc_artifacts')
      .selectAll()
      .where('model', '=', model)
      .where('id', '=', id)
      .executeTakeFirst()) as { payload: string } | undefined;
    return row && (JSON.parse(row.payload) as { grantId: string });
  } finally {
    await db.destroy();
  }
}

describe('rate limits on /oidc/token and /api/v1/', () => {
  const throttled = async (response: Response) => {
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('ERR_API_THROTTLED');
  };
  /** Calls until one is refused with 429: the calls that were not. */
  const until429 = async (call: () => Promise<Response>): Promise<{ passed: number; refused: Response }> => {
    for (let passed = 0; passed <= RATE_LIMIT; passed++) {
      const response = await call();
      if (response.status === 429) return { passed, refused: response };
      await response.body?.cancel();
    }
    throw new Error('never throttled');
  };
  const tokenRequest = (c: { clientId: string; secret: string }) =>
    fetch(`${net.portal.url}/oidc/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${c.clientId}:${c.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: 'not-a-code',
        redirect_uri: c === BUDGET ? REDIRECT : OTHER.redirectUris[0]!,
        code_verifier: 'v'.repeat(43),
      }).toString(),
    });

  it('throttles one client on /api/v1/ past its limit, recorded, while another client goes on', async () => {
    const browser = await logInAs(net, 'api-ichiro');
    const tokenOf = async (c: typeof BUDGET | typeof OTHER) => {
      const config = await configFor(c);
      const flow = await begin(config, 'openid item:2', c.redirectUris[0]);
      return (
        await client.authorizationCodeGrant(config, await authorize(browser, flow), {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
        })
      ).access_token;
    };
    const other = await tokenOf(OTHER);
    const budget = await tokenOf(BUDGET);
    // Each call refused for its scope (cheap), but counted: the limit's next one is 429.
    const { passed, refused } = await until429(() => callApi(other, '?items=1'));
    expect(passed).toBe(RATE_LIMIT);
    await throttled(refused);
    await expectRecorded('portal.api', 'ERR_API_THROTTLED', OTHER.clientId);
    // Another client's calls are counted apart.
    expect((await callApi(budget, '?items=1')).status).toBe(403);
    // Calls without a valid token are counted per address, apart from the clients'.
    const anonymous = await until429(() => callApi('not-a-token'));
    expect(anonymous.passed).toBeLessThanOrEqual(RATE_LIMIT);
    await throttled(anonymous.refused);
    await expectRecorded('portal.api', 'ERR_API_THROTTLED', null);
    expect((await callApi(budget, '?items=1')).status).toBe(403);
  });

  it('throttles one client at the token endpoint past its limit, recorded, while another client goes on', async () => {
    const { passed, refused } = await until429(() => tokenRequest(OTHER));
    expect(passed).toBeGreaterThan(0);
    await throttled(refused);
    await expectRecorded('portal.oidc.token', 'ERR_API_THROTTLED', OTHER.clientId);
    const budget = await tokenRequest(BUDGET);
    expect(budget.status).toBe(400);
    expect(((await budget.json()) as { error: string }).error).toBe('invalid_grant');
    // A wrong secret is no client's: counted by address, never against the client it names.
    const wrong = await tokenRequest({
      clientId: BUDGET.clientId,
      secret: 'wrong-secret-0123456789abcdef0123',
    });
    expect(wrong.status).toBe(401);
    expect((await tokenRequest(BUDGET)).status).toBe(400);
  });
});

describe('the OpenAPI document of /api/v1/', () => {
  it('is public, valid OpenAPI 3.1 by an independent validator, and lists every route the portal serves under /api/v1/', async () => {
    const response = await fetch(`${net.portal.url}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as OpenApiDocument;
    expect(document.openapi).toMatch(/^3\.1\./);
    // The parser dereferences in place: give it a copy.
    const result = await validate(structuredClone(document) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const served = net.portal.apiRoutes().map((route) => {
      const [method, path] = route.split(' ');
      return `${method} ${openApiPath(path!)}`;
    });
    expect(served).toHaveLength(5);
    for (const route of served) expect(documented).toContain(route);
    expect(documented.toSorted()).toEqual([...new Set(served)].toSorted());
  });

  it('is what `renkei openapi portal-web --server <origin>` prints, but for the scopes of providers this portal lacks', async () => {
    const served = (await (await fetch(`${net.portal.url}/api/v1/openapi.json`)).json()) as OpenApiDocument;
    const run = await renkei('openapi', 'portal-web', '--server', net.portal.url);
    expect(run.status, run.stderr).toBe(0);
    const printed = JSON.parse(run.stdout) as OpenApiDocument;
    const scopesOf = (document: OpenApiDocument) =>
      (
        document.components as {
          securitySchemes: { oauth2: { flows: { authorizationCode: { scopes: Record<string, string> } } } };
        }
      ).securitySchemes.oauth2.flows.authorizationCode.scopes;
    // Every scope this portal knows is printed, with the same words; the CLI knows every item the
    // legal table lets a portal read, whatever its providers.
    expect(scopesOf(printed)).toMatchObject(scopesOf(served));
    const withoutScopes = (document: OpenApiDocument) =>
      JSON.parse(
        JSON.stringify(document, (key, value: unknown) =>
          key === 'scopes' || key === 'security' ? undefined : value,
        ),
      ) as unknown;
    expect(withoutScopes(printed)).toEqual(withoutScopes(served));
  });

  it('describes the bearer token and the authorization code flow the portal’s authorization server runs', async () => {
    const document = (await (await fetch(`${net.portal.url}/api/v1/openapi.json`)).json()) as Record<
      string,
      unknown
    >;
    const discovery = (await (await fetch(`${issuer.href}/.well-known/openid-configuration`)).json()) as {
      authorization_endpoint: string;
      token_endpoint: string;
    };
    const schemes = (document.components as { securitySchemes: Record<string, Record<string, unknown>> })
      .securitySchemes;
    expect(schemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const flow = (schemes.oauth2 as { flows: { authorizationCode: Record<string, unknown> } }).flows
      .authorizationCode;
    expect(flow.authorizationUrl).toBe(discovery.authorization_endpoint);
    expect(flow.tokenUrl).toBe(discovery.token_endpoint);
    expect(Object.keys(flow.scopes as object)).toEqual(
      expect.arrayContaining(['openid', 'offline_access', 'item:2', 'application']),
    );
    const paths = document.paths as Record<string, Record<string, { security: unknown[] }>>;
    expect(paths['/api/v1/self-information']!.get!.security).toEqual([
      { bearer: [] },
      { oauth2: expect.arrayContaining(['item:2']) as unknown },
    ]);
    expect(paths['/api/v1/applications']!.post!.security).toEqual([
      { bearer: [] },
      { oauth2: ['application'] },
    ]);
    expect(paths['/api/v1/procedures']!.get!.security).toEqual([]);
    // The query's schema is the one the route validates with: what it refuses, the document forbids.
    const items = (
      paths['/api/v1/self-information']!.get as unknown as {
        parameters: { name: string; schema: { pattern: string } }[];
      }
    ).parameters.find((p) => p.name === 'items')!;
    expect(new RegExp(items.schema.pattern).test('2,x')).toBe(false);
    const refused = await fetch(`${net.portal.url}/api/v1/procedures?municipality=1520480`);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('ERR_VALIDATION');
  });
});

describe('the portal’s logout and session expiry end the authorization server’s session', () => {
  /** A browser logged in at the portal that has consented to BUDGET: its authorization server session live. */
  const consented = async () => {
    const browser = await logInAs(net, 'api-ichiro');
    const config = await configFor(BUDGET);
    await authorize(browser, await begin(config, 'openid item:2'));
    // The authorization server's session of this browser (its cookie holds the session's id).
    const sessionId = decodeURIComponent(browser.cookies.get('_session') ?? '');
    expect(await oidcFind('Session', sessionId)).toBeDefined();
    // While the portal's session lives, a next authorization goes straight back: no login, no consent.
    const again = await follow(browser, (await begin(config, 'openid item:2')).url.href);
    expect(again.url.startsWith(REDIRECT)).toBe(true);
    return { browser, config, sessionId };
  };

  it('ends it at the portal’s logout: the next authorization asks for the card again', async () => {
    const { browser, config, sessionId } = await consented();
    const { text: home } = await browser.go(`${net.portal.url}/`);
    const out = await browser.go(`${net.portal.url}/logout`, {
      form: formOf(home, '/logout'),
      origin: net.portal.url,
    });
    expect(out.response.status).toBe(303);
    expect(await oidcFind('Session', sessionId)).toBeUndefined();
    const next = await follow(browser, (await begin(config, 'openid item:2')).url.href);
    expect(next.url).toBe(`${net.portal.url}/login`);
  });

  it('ends it when the portal’s session expired: the next authorization asks for the card again', async () => {
    const { browser, config, sessionId } = await consented();
    const token = browser.cookies.get('portal_session')!;
    const db = await openDatabase<Record<string, Record<string, unknown>>>(net.portalDatabase);
    try {
      const past = new Date(Date.now() - 1000).toISOString();
      await db
        .updateTable('sessions')
        .set({ idle_expires_at: past })
        .where('token_hash', '=', sha256Hex(decodeURIComponent(token)))
        .executeTakeFirstOrThrow();
    } finally {
      await db.destroy();
    }
    const next = await follow(browser, (await begin(config, 'openid item:2')).url.href);
    expect(next.url).toBe(`${net.portal.url}/login`);
    expect(await oidcFind('Session', sessionId)).toBeUndefined();
  });
});
