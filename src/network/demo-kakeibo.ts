/**
 * デモ家計簿アプリ (a demo household-budget app): the other side of the Myna Portal's 自己情報取得API,
 * a client as another company would write it, with openid-client (an independent, certified client
 * library) rather than anything of ours. The resident presses a button; the app sends them to the
 * portal (authorization code flow, PKCE S256, state and nonce), the portal logs them in with the card
 * and asks their consent, and the app exchanges the code (client_secret_basic) and reads the
 * consented items from `/api/v1/self-information`, which it shows. It keeps nothing: the flow's
 * verifier in memory for 10 minutes, the information only in the page it renders.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import * as client from 'openid-client';
import { RenkeiError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { html, page } from '../shared/web/html.ts';
import { cookieOptions, createWebApp } from '../shared/web/server.ts';

export interface DemoKakeiboOptions {
  /** The portal's web origin (its issuer is `<origin>/oidc`). */
  portalOrigin: string;
  clientId: string;
  secret: string;
  /** This app's own origin: its redirect URI is `<origin>/callback`. */
  origin: string;
  /** The scope it asks for (default `openid item:2`, the local tax information). */
  scope?: string;
  logger: Logger;
}

const SERVICE = { name: 'デモ家計簿アプリ', nameEn: 'Demo household-budget app', href: '/' };
const FLOW_COOKIE = 'kakeibo_flow';
const FLOW_TTL_MS = 10 * 60_000;

interface Flow {
  verifier: string;
  state: string;
  nonce: string;
  expiresAt: number;
}

interface SelfInformation {
  complete: boolean;
  institutions: {
    name: string;
    outcome: string;
    items?: { itemNo: number; name?: string; data: Record<string, unknown> }[];
  }[];
}

export async function createDemoKakeibo(options: DemoKakeiboOptions): Promise<FastifyInstance> {
  const tls = options.origin.startsWith('https:');
  const app = await createWebApp({
    logger: options.logger,
    errorPage: ({ code }) =>
      page({
        title: 'エラー',
        service: SERVICE,
        body: html`<p class="notice notice--error" role="alert">
            マイナポータルとの連携に失敗しました。もう一度お試しください。<span class="en" lang="en"
              >The connection with the Myna Portal failed. Please try again.</span
            >
          </p>
          <p class="hint">コード: <code>${code}</code></p>
          <p><a href="/">戻る</a></p>`,
      }),
  });
  const flows = new Map<string, Flow>();
  let configuration: client.Configuration | undefined;
  const config = async () =>
    (configuration ??= await client.discovery(
      new URL(`${options.portalOrigin}/oidc`),
      options.clientId,
      undefined,
      client.ClientSecretBasic(options.secret),
      options.portalOrigin.startsWith('http:') ? { execute: [client.allowInsecureRequests] } : {},
    ));
  const redirectUri = `${options.origin}/callback`;

  app.get('/', (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(
      page({
        title: '家計簿',
        service: SERVICE,
        body: html`<p class="lead">
            マイナポータルから、あなたの所得・住民税の情報を取り込めます。<br /><span class="en" lang="en"
              >Import your income and resident tax from the Myna Portal.</span
            >
          </p>
          <p>
            <a class="button" href="/connect" data-testid="kakeibo-connect"
              >マイナポータルから取り込む <span lang="en">Import from the Myna Portal</span></a
            >
          </p>`,
      }),
    ),
  );

  app.get('/connect', async (_request, reply) => {
    const now = Date.now();
    for (const [id, flow] of flows) if (flow.expiresAt <= now) flows.delete(id);
    const flow: Flow = {
      verifier: client.randomPKCECodeVerifier(),
      state: client.randomState(),
      nonce: client.randomNonce(),
      expiresAt: now + FLOW_TTL_MS,
    };
    const id = randomBytes(32).toString('base64url');
    flows.set(id, flow);
    const url = client.buildAuthorizationUrl(await config(), {
      redirect_uri: redirectUri,
      scope: options.scope ?? 'openid item:2',
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return reply
      .setCookie(FLOW_COOKIE, id, cookieOptions(tls, '/', FLOW_TTL_MS / 1000))
      .redirect(url.href, 303);
  });

  app.get('/callback', async (request, reply) => {
    const id = request.cookies[FLOW_COOKIE] ?? '';
    const flow = flows.get(id);
    flows.delete(id);
    if (!flow || flow.expiresAt <= Date.now()) {
      throw new RenkeiError('ERR_MESSAGE_STALE', 'This connection was not begun here, or expired.');
    }
    const current = new URL(request.url, options.origin);
    if (current.searchParams.get('error') === 'access_denied') {
      return reply.type('text/html; charset=utf-8').send(
        page({
          title: '連携しませんでした',
          service: SERVICE,
          body: html`<p class="notice" data-testid="kakeibo-denied">
            マイナポータルで同意されなかったため、情報は取り込まれていません。<span class="en" lang="en"
              >You did not consent at the Myna Portal: nothing was imported.</span
            >
          </p>`,
        }),
      );
    }
    const cfg = await config();
    const tokens = await client.authorizationCodeGrant(cfg, current, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    });
    const response = await client.fetchProtectedResource(
      cfg,
      tokens.access_token,
      new URL(`${options.portalOrigin}/api/v1/self-information`),
      'GET',
    );
    const body = (await response.json()) as SelfInformation;
    const provided = body.institutions.filter((i) => i.outcome === 'provided');
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(
        page({
          title: 'マイナポータルから取り込んだ情報',
          service: SERVICE,
          body: html`${
              provided.length === 0
                ? html`<p class="hint">取り込める情報はありませんでした。</p>`
                : provided.map(
                    (i) =>
                      html`<section data-testid="kakeibo-institution">
                        <h2>${i.name}</h2>
                        ${(i.items ?? []).map(
                          (item) =>
                            html`<h3>${item.name ?? String(item.itemNo)}</h3>
                              <dl class="summary">
                                ${Object.entries(item.data).map(
                                  ([k, v]) =>
                                    html`<dt>${k}</dt>
                                      <dd>
                                        ${typeof v === 'string' || typeof v === 'number' ? v : JSON.stringify(v)}
                                      </dd>`,
                                )}
                              </dl>`,
                        )}
                      </section>`,
                  )
            }
            <p><a href="/">家計簿に戻る</a></p>`,
        }),
      );
  });
  return app;
}
