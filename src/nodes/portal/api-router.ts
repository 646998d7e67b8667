/**
 * The Myna Portal's APIs for other services (自己情報取得API), on the web listener:
 *
 * | method, path                              | what                                                        |
 * | ----------------------------------------- | ----------------------------------------------------------- |
 * | `/oidc/*`                                 | oidc-provider: discovery, `auth`, `token`, `jwks`, revocation |
 * | `GET /oidc-interaction/:uid`              | the login (the portal's card login) or the consent page     |
 * | `POST /oidc-interaction/:uid/consent`     | the resident's answer (CSRF token): allow or deny           |
 * | `/api/v1/*`                               | the 自己情報取得API and the 申請API: src/protocol/portal-web-api.ts |
 * | `GET /api/v1/openapi.json`                | their OpenAPI 3.1 document, generated from that table (public) |
 * | `GET /connected-services`                 | 連携サービス: consents and every release, newest first        |
 * | `POST /connected-services/revoke`         | withdraw a consent (CSRF token): its tokens die at once      |
 *
 * The API answers JSON, and refuses with `{ error: { code, message } }` and `WWW-Authenticate:
 * Bearer error=…` (RFC 6750): ERR_INVALID_TOKEN (401: none, unknown, expired, or of a withdrawn
 * consent), ERR_INSUFFICIENT_SCOPE (403: items the resident did not consent to), ERR_NO_PERSON_CODE,
 * ERR_VALIDATION (the table's schemas, which also make the document), ERR_API_THROTTLED (429).
 * Every refusal is a row of the security log (route `portal.api.*`, the client the token names).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { v7 as uuidv7 } from 'uuid';
import type { LegalTable } from '../../domain/legal-table/types.ts';
import type { SecurityEventSink } from '../../protocol/server.ts';
import type { Clock } from '../../shared/clock.ts';
import { RenkeiError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { cookieOptions, formFields } from '../../shared/web/server.ts';
import { requestLang, type Lang } from '../../shared/web/lang.ts';
import type { ApiStore } from './api-store.ts';
import secureJson from 'secure-json-parse';
import type { ApplicationService } from './service/applications.ts';
import type { FinderService } from './service/finder.ts';
import {
  APPLICATION_SCOPE,
  INTERACTION_PATH,
  MOUNT_PATH,
  OFFLINE_SCOPE,
  createAuthorizationServer,
  itemScope,
  itemsOfScopes,
  pairwiseSubject,
  type ApiClient,
  type ApiKeys,
} from './api/authorization-server.ts';
import type { createOidcAdapterFactory } from './api/oidc-adapter.ts';
import type { MyInformationService, Retrieval } from './service/my-information.ts';
import type { NoticeService } from './service/notices.ts';
import type { SessionService } from './service/sessions.ts';
import { connectedServicesPage, consentPage } from './web/api-pages.ts';
import { rateLimited, type RateLimit } from './rate-limits.ts';
import { refusalRecorder } from './refusals.ts';
import { portalWebApiDocument } from '../../protocol/openapi.ts';
import { portalWebApi } from '../../protocol/portal-web-api.ts';
import type { OpenApiDocument } from '../../protocol/routes.ts';
import { parseInput } from '../../shared/http.ts';
import { errorPage, viewOf } from './web/pages.ts';

const SESSION_COOKIE = 'portal_session';
/** Where `/login/finish` sends the resident back to (an interaction of the authorization server). */
export const NEXT_COOKIE = 'portal_next';
export const NEXT_PATTERN = /^\/oidc-interaction\/[A-Za-z0-9_-]{1,64}$/;
const HTML = 'text/html; charset=utf-8';

export interface ApiRoutesDeps {
  sessions: SessionService;
  notices: NoticeService;
  myInformation: MyInformationService;
  store: ApiStore;
  adapter: ReturnType<typeof createOidcAdapterFactory>;
  keys: ApiKeys;
  clients: readonly ApiClient[];
  legalTable: LegalTable;
  /** The institutions' names (the configured providers of わたしの情報). */
  /** An institution's name in the registry, in the page's language (undefined: the id is shown). */
  providerName: (providerId: string, lang: Lang) => string;
  clock: Clock;
  logger: Logger;
  origin: () => string;
  tls: boolean;
  record?: SecurityEventSink | undefined;
  codeTtlSeconds?: number | undefined;
  grantTtlSeconds?: number | undefined;
  /** 申請API: the finder and the applications (ぴったりサービス); without them, no 申請API. */
  onestop?: { finder: FinderService; applications: ApplicationService } | undefined;
  /** How long the API waits for the institutions' answers before it answers with what it has (20 s). */
  waitMs?: number | undefined;
  /** Rate limits of `/oidc/token` and `/api/v1/` (DEFAULT_API_RATE_LIMITS for those not given). */
  rateLimits?: Partial<ApiRateLimits> | undefined;
}

export interface ApiRateLimits {
  /** `POST /oidc/token`, per authenticated client (per address for a public client or a wrong secret). */
  token: RateLimit;
  /** Every route under `/api/v1/`, per client of the access token (per address without a valid one). */
  api: RateLimit;
}

/**
 * 120 a minute each: a client exchanges a code or refreshes a token a few times per resident and
 * session, and each self-information call sends an inquiry to every institution holding the items;
 * a service with more residents than that at once asks the portal's operator for more.
 */
export const DEFAULT_API_RATE_LIMITS: ApiRateLimits = {
  token: { max: 120, windowMs: 60_000 },
  api: { max: 120, windowMs: 60_000 },
};

/** Every scope the portal knows: one per item of わたしの情報's procedure, and `application`. */
export function knownScopes(myInformation: MyInformationService, on: Date): string[] {
  const items = new Set(myInformation.plan(on).flatMap((p) => p.itemNos));
  return [...[...items].sort((a, b) => a - b).map(itemScope), 'application'];
}

/** The authorization server, made on first use: its issuer is the web listener's origin, known once it listens. */
export interface ApiRoutes {
  provider(): Promise<Provider>;
  /** The routes the web listener serves under `/api/v1/`, `METHOD /path` (Fastify's syntax). */
  servedRoutes(): string[];
  /** End this browser's session at the authorization server (the portal's logout). */
  endSession(request: IncomingMessage, response: ServerResponse): Promise<void>;
}

export async function registerApiRoutes(app: FastifyInstance, deps: ApiRoutesDeps): Promise<ApiRoutes> {
  // Every route served under /api/v1/ (`METHOD /path`), for checking it is in the OpenAPI document.
  const served: string[] = [];
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/v1/')) return;
    for (const method of [route.method].flat()) if (method !== 'HEAD') served.push(`${method} ${route.url}`);
  });
  let provider: Promise<Provider> | undefined;
  let callback: ReturnType<Provider['callback']> | undefined;
  const grantTtlSeconds = deps.grantTtlSeconds ?? 90 * 24 * 3600;
  const getProvider = () =>
    (provider ??= createAuthorizationServer({
      issuer: `${deps.origin()}${MOUNT_PATH}`,
      clients: deps.clients,
      scopes: knownScopes(deps.myInformation, deps.clock.now()),
      adapter: deps.adapter.factory,
      keys: deps.keys,
      clock: deps.clock,
      logger: deps.logger,
      record: deps.record,
      errorPage,
      codeTtlSeconds: deps.codeTtlSeconds,
      grantTtlSeconds,
      // A used refresh token (or code) presented again: oidc-provider revoked the grant and its tokens;
      // the consent is over, and 連携サービス says so.
      onGrantRevoked: (grantId, personId) => {
        deps.logger.warn({}, 'api: a grant was revoked by the authorization server (a token reused)');
        void deps.store.revokeGrant(personId, grantId, deps.clock.now()).catch(() => undefined);
      },
    }));
  const clientName = (clientId: string, lang: Lang = 'ja') => {
    const client = deps.clients.find((c) => c.clientId === clientId);
    return (lang === 'en' ? (client?.nameEn ?? client?.name) : client?.name) ?? clientId;
  };

  const refuse = refusalRecorder(deps);

  /**
   * A route option limiting calls per caller: `client:<id>|` when `caller` knows the client, the
   * address otherwise. Each refusal is recorded with the client counted (ERR_API_THROTTLED, 429).
   */
  const limits = { ...DEFAULT_API_RATE_LIMITS, ...deps.rateLimits };
  const throttle = (
    limit: RateLimit,
    route: string,
    caller: (request: FastifyRequest) => Promise<string | undefined>,
  ) =>
    rateLimited({
      limit,
      groupId: route,
      code: 'ERR_API_THROTTLED',
      message: (after) => `Too many calls: try again in ${after}.`,
      keyGenerator: async (request) => {
        const clientId = await caller(request);
        return clientId === undefined ? `address:${request.ip}|` : `client:${clientId}|`;
      },
      onExceeded: (request, key) => {
        const clientId = /^client:([^|]+)\|/.exec(key)?.[1] ?? null;
        deps.logger.warn({ route, clientId }, 'api: a caller was throttled');
        void refuse(request, route, 'ERR_API_THROTTLED', clientId).catch(() => undefined);
      },
    });
  /** The client a token request authenticates as (client_secret_basic, the secret right); none: public or wrong. */
  const tokenCaller = (request: FastifyRequest) => {
    const basic = /^Basic ([A-Za-z0-9+/]{1,700}={0,2})$/.exec(request.headers.authorization ?? '')?.[1];
    const decoded = basic === undefined ? '' : Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const id = colon > 0 ? formDecoded(decoded.slice(0, colon)) : undefined;
    const secret = colon > 0 ? formDecoded(decoded.slice(colon + 1)) : undefined;
    const client = deps.clients.find((c) => c.clientId === id);
    return Promise.resolve(
      client?.secret !== undefined && sameToken(secret, client.secret) ? client.clientId : undefined,
    );
  };
  /** The client of a call's live access token; none without one. */
  const apiCaller = async (request: FastifyRequest) => {
    const value = bearerOf(request);
    const token = value === undefined ? undefined : await (await getProvider()).AccessToken.find(value);
    return token?.clientId;
  };
  const tokenRate = throttle(limits.token, 'portal.oidc.token', tokenCaller);
  const apiRate = throttle(limits.api, 'portal.api', apiCaller);

  /**
   * End the browser's session at the authorization server unless it is `keep`'s: oidc-provider's
   * session (its own cookie) would otherwise let a next authorization through without the card.
   */
  const endOidcSession = async (req: IncomingMessage, res: ServerResponse, keep?: string) => {
    const session = await (await getProvider()).Session.get({ req, res });
    if (session.accountId !== undefined && session.accountId !== keep) {
      await session.destroy();
      deps.logger.info({}, 'api: an authorization server session ended with the portal’s');
    }
  };

  // oidc-provider reads its own bodies: under /oidc no parser of ours consumes the stream.
  await app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, next) => next(null, undefined));
    const handOver = async (request: FastifyRequest, reply: FastifyReply) => {
      const server = await getProvider();
      // An authorization in a browser whose portal session ended (logged out, expired) or is another
      // person's: the authorization server's session of it ends first, so the card login is asked again.
      if (request.url.startsWith(`${MOUNT_PATH}/auth`)) {
        const portal = await deps.sessions.find(request.cookies[SESSION_COOKIE]);
        await endOidcSession(request.raw, reply.raw, portal?.personId);
      }
      reply.hijack();
      const raw = request.raw as IncomingMessage & { originalUrl?: string };
      raw.originalUrl = raw.url;
      raw.url = (raw.url ?? '/').slice(MOUNT_PATH.length) || '/';
      callback ??= server.callback();
      callback(raw, reply.raw);
    };
    // The token endpoint, limited per client; the refusal in JSON, as the API's.
    scope.post(`${MOUNT_PATH}/token`, tokenRate, handOver);
    scope.all(`${MOUNT_PATH}/*`, handOver);
    scope.setErrorHandler((error, _request, reply) => {
      if (error instanceof RenkeiError) return apiError(reply, error);
      throw error;
    });
    done();
  });

  app.get(`${INTERACTION_PATH}/:uid`, async (request, reply) => {
    const details = await (await getProvider()).interactionDetails(request.raw, reply.raw);
    const session = await deps.sessions.find(request.cookies[SESSION_COOKIE]);
    if (!session) {
      // The portal's own card login, then back here (`/login/finish` reads the cookie).
      return reply
        .setCookie(NEXT_COOKIE, `${INTERACTION_PATH}/${details.uid}`, cookieOptions(deps.tls, '/login', 600))
        .redirect('/login', 303);
    }
    if (details.prompt.name === 'login' || details.session?.accountId !== session.personId) {
      const to = await (
        await getProvider()
      ).interactionResult(
        request.raw,
        reply.raw,
        { login: { accountId: session.personId } },
        { mergeWithLastSubmission: false },
      );
      return reply.redirect(to, 303);
    }
    const clientId = String(details.params.client_id ?? '');
    const missing = details.prompt.details.missingOIDCScope;
    const scopes = (Array.isArray(missing) ? (missing as string[]) : []).filter((s) => s !== 'openid');
    const asked = String(details.params.scope ?? '').split(' ');
    return reply
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(
        consentPage(viewOf(request), {
          csrfToken: session.csrfToken,
          unread: await deps.notices.unread(session.personId),
          uid: details.uid,
          clientName: clientName(clientId, requestLang(request)),
          scopes,
          offline: asked.includes(OFFLINE_SCOPE),
          legal: deps.legalTable,
          until: new Date(deps.clock.now().getTime() + grantTtlSeconds * 1000),
        }),
      );
  });

  app.post(`${INTERACTION_PATH}/:uid/consent`, async (request, reply) => {
    const origin = request.headers.origin;
    const session = await deps.sessions.find(request.cookies[SESSION_COOKIE]);
    const fields = formFields(request.body);
    if (
      (origin !== undefined && origin !== deps.origin()) ||
      !session ||
      !sameToken(fields._csrf, session.csrfToken)
    ) {
      await refuse(request, 'portal.oidc.consent', 'ERR_CALLER_NOT_ALLOWED', null);
      throw new RenkeiError('ERR_CALLER_NOT_ALLOWED', 'The form’s CSRF token is missing or wrong.');
    }
    const server = await getProvider();
    const details = await server.interactionDetails(request.raw, reply.raw);
    const clientId = String(details.params.client_id ?? '');
    if (details.prompt.name !== 'consent' || details.session?.accountId !== session.personId) {
      await refuse(request, 'portal.oidc.consent', 'ERR_IDENTITY_MISMATCH', clientId || null);
      throw new RenkeiError('ERR_IDENTITY_MISMATCH', 'This consent was asked of another login.');
    }
    if (fields.decision !== 'allow') {
      // Recorded by the authorization server as `access_denied` when the client is told.
      const to = await server.interactionResult(
        request.raw,
        reply.raw,
        { error: 'access_denied', error_description: 'The resident did not consent.' },
        { mergeWithLastSubmission: false },
      );
      return reply.redirect(to, 303);
    }
    const existing = details.grantId ? await server.Grant.find(details.grantId) : undefined;
    const grant = existing ?? new server.Grant({ accountId: session.personId, clientId });
    const missing = details.prompt.details.missingOIDCScope;
    if (Array.isArray(missing) && missing.length > 0) grant.addOIDCScope((missing as string[]).join(' '));
    const grantId = await grant.save();
    const now = deps.clock.now();
    await deps.store.saveGrant({
      grantId,
      personId: session.personId,
      clientId,
      scopes: grant
        .getOIDCScope()
        .split(' ')
        .filter((s) => s !== '' && s !== 'openid'),
      grantedAt: now,
      expiresAt: new Date(now.getTime() + grantTtlSeconds * 1000),
    });
    deps.logger.info({ clientId }, 'api: a resident consented');
    // Expired codes, tokens, interactions and sessions of the authorization server: deleted now and then.
    void deps.adapter.sweep().catch(() => undefined);
    const to = await server.interactionResult(
      request.raw,
      reply.raw,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
    return reply.redirect(to, 303);
  });

  /** The access token of a call, checked: live, of a consent not withdrawn, of a registered client. */
  const authenticate = async (request: FastifyRequest, route: string) => {
    const value = bearerOf(request);
    const token = value === undefined ? undefined : await (await getProvider()).AccessToken.find(value);
    const grant = token && (await deps.store.findGrant(token.grantId));
    const now = deps.clock.now();
    if (
      !value ||
      !token ||
      !grant ||
      grant.revokedAt !== undefined ||
      grant.expiresAt <= now ||
      grant.personId !== token.accountId ||
      !deps.clients.some((c) => c.clientId === token.clientId)
    ) {
      await refuse(request, route, 'ERR_INVALID_TOKEN', token?.clientId ?? null);
      throw new RenkeiError(
        'ERR_INVALID_TOKEN',
        'The access token is missing, unknown, expired or withdrawn.',
      );
    }
    return { value, token, grant, scopes: (token.scope ?? '').split(' ').filter(Boolean) };
  };

  /**
   * 申請API: a registered client applies to a ぴったりサービス procedure for the resident whose access
   * token carries `application`. The form is validated exactly as the portal's own; the document
   * (naming the client, `submittedVia`) is signed at the resident's card reader with the signing
   * certificate, and the signature is taken by the same checks as the portal's own form
   * (`ApplicationService.receiveSignature`): the application is then stored with every other, for
   * the municipality's 申請データダウンロード.
   */
  const registerApplicationApi = (api: FastifyInstance, onestop: NonNullable<ApiRoutesDeps['onestop']>) => {
    const { finder, applications } = onestop;
    const route = 'portal.api.applications';
    const withApplicationScope = async (request: FastifyRequest) => {
      const access = await authenticate(request, route);
      if (!access.scopes.includes(APPLICATION_SCOPE)) {
        await refuse(request, route, 'ERR_INSUFFICIENT_SCOPE', access.token.clientId);
        throw new RenkeiError(
          'ERR_INSUFFICIENT_SCOPE',
          'The resident did not consent to applications by this service.',
          {
            granted: access.scopes,
          },
        );
      }
      return access;
    };

    // 申請API's search: the finder, as the portal's page uses it (public: the procedures are no secret).
    api.get(portalWebApi.searchProcedures.path, apiRate, async (request, reply) => {
      const q = parseInput(portalWebApi.searchProcedures.query, request.query, 'query');
      const results = finder.search({
        lifeEvent: q.event || undefined,
        municipalityId: q.municipality || undefined,
        keyword: q.q || undefined,
      });
      return reply.send({
        procedures: results.map(({ municipality, procedure }) => ({
          municipality: { id: municipality.id, name: municipality.name },
          procedure: {
            id: procedure.id,
            name: procedure.name,
            attachmentsOmitted: procedure.attachmentsOmitted,
            form: procedure.form,
          },
        })),
      });
    });

    api.post(portalWebApi.prepareApplication.path, apiRate, async (request, reply) => {
      const access = await withApplicationScope(request);
      const body = parseInput(portalWebApi.prepareApplication.body, request.body ?? {}, 'application');
      const found = finder.find(body.municipality, body.procedure);
      if (!found) {
        throw new RenkeiError(
          'ERR_ROUTE_NOT_FOUND',
          'This municipality does not accept this procedure online.',
        );
      }
      const text = Object.fromEntries(Object.entries(body.fields ?? {}).map(([k, v]) => [k, String(v)]));
      const checked = applications.validate(found.procedure, text);
      if ('errors' in checked) {
        throw new RenkeiError('ERR_VALIDATION', 'Some fields of the form are wrong.', {
          fields: checked.errors,
        });
      }
      const prepared = await applications.prepare({
        personId: access.grant.personId,
        found,
        values: checked.values,
        via: { clientId: access.token.clientId, name: clientName(access.token.clientId) },
      });
      deps.logger.info({ clientId: access.token.clientId }, 'api: an application prepared');
      return reply.status(201).send({
        requestId: prepared.requestId,
        content: Buffer.from(prepared.content).toString('base64'),
        expiresAt: prepared.expiresAt.toISOString(),
      });
    });

    api.post(portalWebApi.signApplication.path, apiRate, async (request, reply) => {
      const access = await withApplicationScope(request);
      const { request: requestId } = parseInput(portalWebApi.signApplication.params, request.params, 'path');
      const pending = await applications.pendingOf(access.grant.personId, requestId);
      const via =
        pending &&
        (JSON.parse(Buffer.from(pending.content).toString('utf8')) as {
          submittedVia?: { clientId?: string };
        });
      if (!pending || via?.submittedVia?.clientId !== access.token.clientId) {
        // Another resident's, another client's, or the portal's own form: not this client's to sign.
        await refuse(request, route, 'ERR_MESSAGE_STALE', access.token.clientId);
        throw new RenkeiError(
          'ERR_MESSAGE_STALE',
          'No application of this service awaits a signature by this number.',
        );
      }
      const signature = portalWebApi.signApplication.body.safeParse(request.body ?? {});
      if (!signature.success) {
        await refuse(request, route, 'ERR_VALIDATION', access.token.clientId);
        throw new RenkeiError('ERR_VALIDATION', 'signedData: the CMS SignedData in base64.');
      }
      const application = await applications.receiveSignature({
        requestId,
        signedData: new Uint8Array(Buffer.from(signature.data.signedData, 'base64')),
        remoteAddress: request.ip ?? null,
      });
      return reply.status(201).send({
        applicationNumber: application.applicationNumber,
        municipality: application.municipalityId,
        procedure: application.procedureId,
        receivedAt: application.receivedAt.toISOString(),
      });
    });
  };

  // The APIs' own scope: JSON bodies (secure-json-parse) and JSON errors, never the pages' HTML.
  await app.register((api, _options, done) => {
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, next) => {
      try {
        next(null, secureJson.parse(body, undefined, { protoAction: 'error', constructorAction: 'error' }));
      } catch {
        next(new RenkeiError('ERR_BODY_NOT_JSON', 'The request body is not JSON.'), undefined);
      }
    });
    api.setErrorHandler((error, request, reply) => {
      if (error instanceof RenkeiError) return apiError(reply, error);
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 413)
        return apiError(reply, new RenkeiError('ERR_BODY_TOO_LARGE', 'The request body is too large.'));
      if (status === 415) {
        return apiError(
          reply,
          new RenkeiError('ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.'),
        );
      }
      request.log.error(
        { err: { name: (error as Error).name, stack: (error as Error).stack } },
        'api failed',
      );
      return apiError(
        reply,
        new RenkeiError('ERR_INTERNAL', `An unexpected error occurred (request ${request.id}).`),
      );
    });
    api.get(portalWebApi.selfInformation.path, apiRate, async (request, reply) => {
      const route = 'portal.api.selfInformation';
      try {
        const access = await authenticate(request, route);
        const granted = itemsOfScopes(access.scopes);
        const query = parseInput(portalWebApi.selfInformation.query, request.query, 'query');
        const items = query.items?.split(',').map(Number) ?? granted;
        if (granted.length === 0 || items.some((n) => !granted.includes(n))) {
          await refuse(request, route, 'ERR_INSUFFICIENT_SCOPE', access.token.clientId);
          throw new RenkeiError('ERR_INSUFFICIENT_SCOPE', 'The resident did not consent to these items.', {
            granted: granted.map(itemScope),
          });
        }
        const key = `api:${createHash('sha256').update(access.value).digest('hex')}`;
        const { personId } = access.grant;
        try {
          await deps.myInformation.start(key, personId, items);
          const retrieval = await settled(deps.myInformation, key, personId, deps.waitMs ?? 20_000);
          const body = await release(deps, retrieval, access.token.clientId, access.grant.grantId);
          return await reply
            .header('cache-control', 'no-store')
            .type('application/json; charset=utf-8')
            .send({
              subject: pairwiseSubject(deps.keys.pairwiseSecret, access.token.clientId, personId),
              ...body,
            });
        } finally {
          deps.myInformation.forget(key);
        }
      } catch (error) {
        return apiError(reply, error);
      }
    });

    if (deps.onestop) registerApplicationApi(api, deps.onestop);

    // This API's OpenAPI document, from the schemas above, listing the routes registered here; made at
    // the first call (the origin is known once the web listener listens, and the routes are final).
    let document: OpenApiDocument | undefined;
    api.get(portalWebApi.apiDocument.path, apiRate, async (_request, reply) => {
      document ??= portalWebApiDocument({
        origin: deps.origin(),
        scopes: scopeDescriptions(deps),
        served: api,
      });
      return reply.header('cache-control', 'no-cache').send(document);
    });
    done();
  });

  app.get('/connected-services', async (request, reply) => {
    const session = await deps.sessions.find(request.cookies[SESSION_COOKIE]);
    if (!session) return reply.clearCookie(SESSION_COOKIE, cookieOptions(deps.tls)).redirect('/login', 303);
    const [grants, releases, unread] = await Promise.all([
      deps.store.listGrants(session.personId),
      deps.store.listReleases(session.personId, 100),
      deps.notices.unread(session.personId),
    ]);
    return reply
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(
        connectedServicesPage(viewOf(request), {
          csrfToken: session.csrfToken,
          unread,
          grants,
          releases,
          clientName: (clientId) => clientName(clientId, requestLang(request)),
          providerName: (providerId) => deps.providerName(providerId, requestLang(request)),
          legal: deps.legalTable,
          now: deps.clock.now(),
          revoked: (request.query as Record<string, unknown>).revoked === '1',
        }),
      );
  });

  app.post('/connected-services/revoke', async (request, reply) => {
    const origin = request.headers.origin;
    const session = await deps.sessions.find(request.cookies[SESSION_COOKIE]);
    const fields = formFields(request.body);
    if (
      (origin !== undefined && origin !== deps.origin()) ||
      !session ||
      !sameToken(fields._csrf, session.csrfToken)
    ) {
      await refuse(request, 'portal.connectedServices', 'ERR_CALLER_NOT_ALLOWED', null);
      throw new RenkeiError('ERR_CALLER_NOT_ALLOWED', 'The form’s CSRF token is missing or wrong.');
    }
    const grantId = String(fields.grant ?? '').slice(0, 128);
    const result = await deps.store.revokeGrant(session.personId, grantId, deps.clock.now());
    if (result === 'unknown') {
      await refuse(request, 'portal.connectedServices', 'ERR_ROUTE_NOT_FOUND', null);
      throw new RenkeiError('ERR_ROUTE_NOT_FOUND', 'There is no such consent.');
    }
    // Its tokens and codes, then the grant itself: nothing of it answers any more.
    await deps.adapter.factory('AccessToken').revokeByGrantId(grantId);
    await deps.adapter.factory('Grant').destroy(grantId);
    deps.logger.info({}, 'api: a resident withdrew a consent');
    return reply.redirect('/connected-services?revoked=1', 303);
  });

  return {
    provider: getProvider,
    servedRoutes: () => [...served],
    endSession: (request, response) => endOidcSession(request, response),
  };
}

/** The bearer token of a call (RFC 6750 §2.1), when well-formed. */
function bearerOf(request: FastifyRequest): string | undefined {
  return /^Bearer ([A-Za-z0-9._~+/-]{1,512}=*)$/.exec(request.headers.authorization ?? '')?.[1];
}

/** An `application/x-www-form-urlencoded` part of a Basic credential (RFC 6749 §2.3.1). */
function formDecoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Each scope the portal knows, in words, for the OpenAPI document's OAuth 2.0 flow. */
function scopeDescriptions(deps: ApiRoutesDeps): Record<string, string> {
  return portalScopeDescriptions(deps.legalTable, knownScopes(deps.myInformation, deps.clock.now()));
}

/** What each of `scopes` lets a service read or do, in the words of the OpenAPI document. */
export function portalScopeDescriptions(
  legalTable: LegalTable,
  scopes: readonly string[],
): Record<string, string> {
  const described: Record<string, string> = {
    openid: 'OpenID Connect: an ID token naming the resident by a pairwise subject (never their number).',
    [OFFLINE_SCOPE]:
      'A refresh token (rotating), for access until the consent’s period ends or the resident withdraws it.',
  };
  for (const scope of scopes) {
    const [itemNo] = itemsOfScopes([scope]);
    described[scope] =
      itemNo === undefined
        ? 'Apply to ぴったりサービス procedures for the resident (each application signed with their card).'
        : `Read the resident’s ${legalTable.findItem(itemNo)?.nameEn ?? `item ${itemNo}`} (${
            legalTable.findItem(itemNo)?.name ?? ''
          }).`;
  }
  return described;
}

/** Wait until every institution answered (or `waitMs`), reading the retrieval as the page's script does. */
async function settled(
  myInformation: MyInformationService,
  key: string,
  personId: string,
  waitMs: number,
): Promise<Retrieval | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const retrieval = myInformation.view(key, personId);
    if (!retrieval || retrieval.entries.every((e) => e.state !== 'pending') || Date.now() >= deadline) {
      return retrieval;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The answer to the client, and a release record for each institution's information given. */
async function release(
  deps: ApiRoutesDeps,
  retrieval: Retrieval | undefined,
  clientId: string,
  grantId: string,
) {
  const entries = retrieval?.entries ?? [];
  const now = deps.clock.now();
  for (const entry of entries) {
    if (entry.state !== 'provided' || !entry.items || entry.items.length === 0) continue;
    await deps.store.recordRelease({
      releaseId: uuidv7({ msecs: now.getTime() }),
      personId: retrieval!.personId,
      clientId,
      grantId,
      providerId: entry.providerId,
      itemNos: entry.items.map((i) => i.itemNo),
      processingNumber: entry.processingNumber ?? '',
      releasedAt: now,
    });
  }
  deps.logger.info({ clientId, institutions: entries.length }, 'api: information released to a client');
  return {
    complete: entries.every((e) => e.state !== 'pending'),
    institutions: entries.map((e) => ({
      institutionId: e.providerId,
      name: e.providerName,
      outcome: e.state,
      itemsAsked: e.itemNos,
      ...(e.state === 'provided'
        ? {
            items: (e.items ?? []).map((i) => ({
              itemNo: i.itemNo,
              name: deps.legalTable.findItem(i.itemNo)?.name,
              layoutVersion: i.layoutVersion,
              data: i.data,
            })),
          }
        : {}),
    })),
  };
}

function apiError(reply: FastifyReply, error: unknown): FastifyReply {
  if (!(error instanceof RenkeiError)) throw error;
  if (error.code === 'ERR_INVALID_TOKEN')
    void reply.header('www-authenticate', 'Bearer error="invalid_token"');
  if (error.code === 'ERR_INSUFFICIENT_SCOPE') {
    void reply.header('www-authenticate', 'Bearer error="insufficient_scope"');
  }
  return reply
    .status(error.status)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({
      error: {
        code: error.code,
        message: error.message,
        ...(error.code === 'ERR_VALIDATION' && error.details.fields ? { fields: error.details.fields } : {}),
      },
    });
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
