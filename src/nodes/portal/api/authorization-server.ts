/**
 * The portal as an OAuth 2.0 / OpenID Connect authorization server for the 自己情報取得API and the
 * 申請API: oidc-provider (an OpenID-certified implementation) rather than one of our own, mounted
 * under `/oidc` on the web listener.
 *
 * - Only the authorization code flow, with PKCE (S256) required of every client, public or not.
 * - Clients are registered by the portal's operator (configuration `apiClients`), each with the
 *   scopes it may ask for; no dynamic registration. An unknown client, a redirect URI not
 *   registered, a scope not allowed: refused by oidc-provider, and recorded here (security log,
 *   route `portal.oidc.*`, the code and the client id it claimed; never a token or a code).
 * - Scopes: `openid`, one `item:<n>` per item of the portal's clause 900 (the resident's own
 *   information, as わたしの情報 shows it), and `application` (the 申請API).
 * - The login is the portal's own card login; the consent page is the portal's (api-router.ts).
 * - Tokens carry no Individual Number and no code: the subject is a pairwise identifier per client
 *   (HMAC of the client id and the portal's own person id under a secret of the portal), so two
 *   clients cannot link their users, and the person id itself never leaves the portal. Access tokens
 *   are opaque (the portal's own API is their only audience), 10 minutes.
 * - Refresh tokens only to a client registered for `offline_access` that asks for it (with
 *   `prompt=consent`, as OpenID Connect requires): they rotate at every use, a used one presented again
 *   revokes the whole grant (oidc-provider's reuse detection), and they expire with the consent's
 *   period (the grant's own expiry), or when the resident withdraws the consent.
 */
import { createHmac } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { ClientMetadata, KoaContextWithOIDC, OidcAdapter } from 'oidc-provider';
import type { SecurityEventSink } from '../../../protocol/server.ts';
import type { Clock } from '../../../shared/clock.ts';
import type { ErrorCode } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import { langOfCookieHeader, type Lang } from '../../../shared/web/lang.ts';

/** A client registered by the portal's operator. */
export interface ApiClient {
  clientId: string;
  /** The service's name, as the consent page and the 連携サービス page show it. */
  name: string;
  /** Its name in English, for those pages in English (the Japanese name where none is given). */
  nameEn?: string | undefined;
  redirectUris: string[];
  /** The scopes it may ask for (besides `openid`). */
  scopes: string[];
  /** A confidential client's secret (client_secret_basic); none: a public client (PKCE only). */
  secret?: string | undefined;
}

/** The authorization server's keys, kept in the portal's directory (api-keys.ts). */
export interface ApiKeys {
  /** The ID token's signing key (RS256), a private JWK. */
  signingKey: Record<string, unknown>;
  /** oidc-provider's cookie-signing keys, newest first. */
  cookieKeys: string[];
  /** The pairwise subject's HMAC secret (base64url). */
  pairwiseSecret: string;
}

export const APPLICATION_SCOPE = 'application';
/** The scope a client asks for refresh tokens with: access while the resident is not there. */
export const OFFLINE_SCOPE = 'offline_access';
export const itemScope = (itemNo: number) => `item:${itemNo}`;
export const MOUNT_PATH = '/oidc';
export const INTERACTION_PATH = '/oidc-interaction';

/** Item numbers of the `item:<n>` scopes among `scopes`. */
export function itemsOfScopes(scopes: readonly string[]): number[] {
  return scopes.flatMap((s) => {
    const m = /^item:(\d{1,3})$/.exec(s);
    return m ? [Number(m[1])] : [];
  });
}

export interface AuthorizationServerDeps {
  /** `<origin>/oidc`. */
  issuer: string;
  clients: readonly ApiClient[];
  /** Every scope the portal knows (`openid` added). */
  scopes: readonly string[];
  adapter: (model: string) => OidcAdapter;
  keys: ApiKeys;
  clock: Clock;
  logger: Logger;
  record?: SecurityEventSink | undefined;
  /** The page shown for an error that cannot go back to the client (unknown client, wrong redirect URI). */
  errorPage: (
    error: { status: number; code: ErrorCode; message: string },
    view: { lang: Lang; path: string },
  ) => string;
  /** How long an authorization code is valid (default 60 s). */
  codeTtlSeconds?: number | undefined;
  /** How long a consent is remembered (default 90 days). */
  grantTtlSeconds?: number | undefined;
  /**
   * Told when the authorization server revokes a grant itself (a used refresh token or code presented
   * again, a client revoking its refresh token): the consent it was is then over.
   */
  onGrantRevoked?: ((grantId: string, personId: string) => void) | undefined;
}

const OAUTH_CODES: Record<string, ErrorCode> = {
  invalid_client: 'ERR_OAUTH_INVALID_CLIENT',
  invalid_grant: 'ERR_OAUTH_INVALID_GRANT',
  invalid_redirect_uri: 'ERR_OAUTH_INVALID_REDIRECT_URI',
  invalid_scope: 'ERR_OAUTH_INVALID_SCOPE',
  invalid_request: 'ERR_OAUTH_INVALID_REQUEST',
  unauthorized_client: 'ERR_OAUTH_UNAUTHORIZED_CLIENT',
  access_denied: 'ERR_OAUTH_ACCESS_DENIED',
};

export function oauthErrorCode(error: unknown): ErrorCode {
  const name = (error as { error?: unknown }).error;
  return (typeof name === 'string' && OAUTH_CODES[name]) || 'ERR_OAUTH_INVALID_REQUEST';
}

/** A client id as claimed, for the record: only a plausible id, never arbitrary text. */
export function claimedClient(value: unknown): string | null {
  return typeof value === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(value) ? value : null;
}

/** The pairwise subject of a person at a client: never the person id, never the same at two clients. */
export function pairwiseSubject(secret: string, clientId: string, personId: string): string {
  return createHmac('sha256', Buffer.from(secret, 'base64url'))
    .update(`renkei.portal.pairwise.v1\n${clientId}\n${personId}`)
    .digest('base64url');
}

/**
 * The authorization server. oidc-provider is imported here, on first use, not with the module: only
 * the portal's web listener needs it, and every CLI command that loads the portal's modules would
 * otherwise load it and Koa. We use its 8.x line: 9.x supports Node.js 22 LTS and later only (it
 * warns at import under our Node 20), while 8.x supports Node 18 LTS and later.
 */
export async function createAuthorizationServer(deps: AuthorizationServerDeps): Promise<Provider> {
  const { default: Provider } = await import('oidc-provider');
  const { keys } = deps;
  const grantTtl = deps.grantTtlSeconds ?? 90 * 24 * 3600;
  const clients: ClientMetadata[] = deps.clients.map((c) => ({
    client_id: c.clientId,
    client_name: c.name,
    redirect_uris: c.redirectUris,
    grant_types: c.scopes.includes(OFFLINE_SCOPE)
      ? ['authorization_code', 'refresh_token']
      : ['authorization_code'],
    response_types: ['code'],
    scope: ['openid', ...c.scopes].join(' '),
    subject_type: 'pairwise',
    ...(c.secret === undefined
      ? { token_endpoint_auth_method: 'none' }
      : { token_endpoint_auth_method: 'client_secret_basic', client_secret: c.secret }),
  }));
  const provider = new Provider(deps.issuer, {
    adapter: deps.adapter,
    clients,
    scopes: ['openid', OFFLINE_SCOPE, ...deps.scopes.filter((s) => s !== 'openid' && s !== OFFLINE_SCOPE)],
    claims: { openid: ['sub'] },
    subjectTypes: ['pairwise'],
    pairwiseIdentifier: (_ctx, accountId, client) =>
      pairwiseSubject(keys.pairwiseSecret, client.clientId, accountId),
    findAccount: (_ctx, sub) => Promise.resolve({ accountId: sub, claims: () => ({ sub }) }),
    pkce: { required: () => true },
    clientAuthMethods: ['client_secret_basic', 'none'],
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      userinfo: { enabled: false },
    },
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PATH}/${interaction.uid}` },
    cookies: { keys: keys.cookieKeys },
    jwks: { keys: [keys.signingKey] },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: deps.codeTtlSeconds ?? 60,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
      Grant: grantTtl,
      // A refresh token lives as long as the consent it is of: the grant's own expiry, at issue and
      // at each rotation (the grant is the request's entity then), never beyond.
      RefreshToken: (ctx) => {
        const exp = ctx?.oidc?.entities.Grant?.exp;
        const now = Math.floor(deps.clock.now().getTime() / 1000);
        return typeof exp === 'number' ? Math.max(exp - now, 1) : grantTtl;
      },
    },
    issueRefreshToken: (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has(OFFLINE_SCOPE),
    rotateRefreshToken: true,
    renderError: (ctx, out, error) => {
      const code = oauthErrorCode(out);
      ctx.type = 'html';
      ctx.body = deps.errorPage(
        {
          status: (error as { status?: number }).status ?? 400,
          code,
          message: 'The request from the other service was refused.',
        },
        {
          lang: langOfCookieHeader((ctx as { req?: { headers?: { cookie?: string } } }).req?.headers?.cookie),
          path: '/',
        },
      );
    },
  });
  const record = (route: string) => (ctx: KoaContextWithOIDC, error: unknown) => {
    const code = oauthErrorCode(error);
    const claimed = ctx.oidc?.client?.clientId ?? claimedClient(ctx.oidc?.params?.client_id);
    deps.logger.info({ route, code }, 'api: an OAuth request was refused');
    void Promise.resolve(
      deps.record?.({
        at: deps.clock.now().toISOString(),
        route,
        partyId: null,
        claimedPartyId: claimed ?? null,
        code,
        remoteAddress: ctx.ip ?? null,
      }),
    ).catch(() => undefined);
  };
  provider.on('authorization.error', record('portal.oidc.authorize'));
  provider.on('grant.error', record('portal.oidc.token'));
  provider.on('revocation.error', record('portal.oidc.revocation'));
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    const accountId = ctx.oidc?.entities.Grant?.accountId;
    if (accountId !== undefined) deps.onGrantRevoked?.(grantId, accountId);
  });
  provider.on('server_error', (_ctx: KoaContextWithOIDC, error: Error) => {
    deps.logger.error({ err: { name: error.name, stack: error.stack } }, 'api: authorization server error');
  });
  return provider;
}
