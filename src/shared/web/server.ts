/**
 * A Fastify app for pages a person opens in a browser (the Myna Portal, the card reader), with what
 * every such page needs and a node's JSON API does not: security headers from @fastify/helmet (a
 * Content-Security-Policy with no inline script or style, no framing, no referrer to other sites),
 * cookies (@fastify/cookie), the stylesheet, the Digital Agency's design tokens and the pages' ES
 * modules (@fastify/static), HTML forms as bodies, errors rendered as a page in the reader's language
 * rather than JSON, and the language switch `GET /lang` (shared/web/lang.ts). Request logs name the route pattern, never the URL (a query may carry a challenge).
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { HTTP_STATUS, RenkeiError, type ErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { countRequests } from '../metrics.ts';
import { LANG_COOKIE, langOf, requestLang, safeReturnPath, viewPath, type Lang } from './lang.ts';

const ASSETS_DIR = join(import.meta.dirname, 'assets');
const TOKENS_DIR = dirname(
  createRequire(import.meta.url).resolve('@digital-go-jp/design-tokens/dist/tokens.css'),
);
const ASSETS = new Set([
  '/renkei.css',
  '/console.css',
  '/auto-submit.js',
  '/countdown.js',
  '/notices.js',
  '/my-information.js',
  '/tokens.css',
]);

export interface WebAppOptions {
  logger: Logger;
  /** Serve HTTPS with this key and certificate (PEM): cookies are then `Secure` and HSTS is sent. */
  tls?: { key: string; cert: string } | undefined;
  /** Other origins the pages' forms may post to (CSP form-action), besides their own. */
  formActions?: readonly string[];
  /** More files under /assets/ (a console's ES modules): their directory and names. */
  assets?: { dir: string; files: readonly string[] } | undefined;
  /**
   * The page for an error: its status, stable code and a message safe to show, in the request's
   * language, with the page the language switch comes back to.
   */
  errorPage: (
    error: { status: number; code: ErrorCode; message: string },
    view: { lang: Lang; path: string },
  ) => string;
}

export async function createWebApp(options: WebAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.tls ? { https: { key: options.tls.key, cert: options.tls.cert } } : {}),
    loggerInstance: options.logger,
    bodyLimit: 64 * 1024,
    genReqId: () => randomUUID(),
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
  const tls = options.tls !== undefined;
  // Counted as a node's API is; the node's /metrics shows them under its `listener` (NodeMetrics.include).
  const metrics = countRequests(app);
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'", ...(options.formActions ?? [])],
        ...(tls ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // HSTS means nothing over plain HTTP (browsers ignore it there) and would pin a demo host to TLS.
    strictTransportSecurity: tls ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // Not no-referrer: under it browsers send `Origin: null` with every form POST, even to the page's
    // own origin, and the origin check of our forms could not tell a page of ours from a sandboxed
    // attacker. same-origin still keeps URLs (a login challenge) from other sites.
    referrerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
  });
  await app.register(fastifyCookie);
  await app.register(fastifyStatic, {
    root: [ASSETS_DIR, TOKENS_DIR, ...(options.assets ? [options.assets.dir] : [])],
    prefix: '/assets/',
    allowedPath: (path) => ASSETS.has(path) || (options.assets?.files.includes(path.slice(1)) ?? false),
    index: false,
    list: false,
    maxAge: 3600_000,
  });
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      const fields: Record<string, string> = {};
      for (const [key, value] of new URLSearchParams(body as string)) {
        if (!Object.hasOwn(fields, key) && key !== '__proto__') fields[key] = value;
      }
      done(null, fields);
    },
  );
  app.addHook('onRequest', (request, _reply, done) => {
    request.log.debug({ method: request.method, route: request.routeOptions.url ?? '(no route)' }, 'request');
    done();
  });
  app.setErrorHandler((error, request, reply) => {
    let status: number;
    let code: ErrorCode;
    let message: string;
    if (error instanceof RenkeiError) {
      ({ status, code } = error);
      ({ message } = error);
    } else if ((error as { statusCode?: number }).statusCode === 413) {
      [status, code, message] = [413, 'ERR_BODY_TOO_LARGE', 'The form is larger than this page accepts.'];
    } else if (String((error as { code?: unknown }).code).startsWith('FST_CSRF_')) {
      // @fastify/csrf-protection (the consoles' forms): a form from elsewhere, or one kept too long.
      [status, code, message] = [
        403,
        'ERR_CALLER_NOT_ALLOWED',
        'The form’s CSRF token is missing or wrong: reload the page and send the form again.',
      ];
    } else if ((error as { statusCode?: number }).statusCode === 415) {
      [status, code, message] = [415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the form as a form.'];
    } else {
      request.log.error(
        { err: { name: (error as Error).name, stack: (error as Error).stack } },
        'page failed',
      );
      [status, code, message] = [
        500,
        'ERR_INTERNAL',
        `An unexpected error occurred (request ${request.id}).`,
      ];
    }
    metrics.error(code);
    return reply
      .status(status)
      .type('text/html; charset=utf-8')
      .send(
        options.errorPage({ status, code, message }, { lang: requestLang(request), path: viewPath(request) }),
      );
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .type('text/html; charset=utf-8')
      .send(
        options.errorPage(
          {
            status: HTTP_STATUS.ERR_ROUTE_NOT_FOUND,
            code: 'ERR_ROUTE_NOT_FOUND',
            message: 'There is no page here.',
          },
          { lang: requestLang(request), path: '/' },
        ),
      ),
  );
  app.get('/healthz', () => ({ status: 'ok' }));
  // The language switch of every page (shared/web/lang.ts says why a GET is safe here).
  app.get('/lang', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const to = langOf(typeof query.to === 'string' ? query.to : undefined);
    return reply
      .setCookie(LANG_COOKIE, to, { ...cookieOptions(tls, '/', 365 * 86_400), httpOnly: false })
      .header('cache-control', 'no-store')
      .redirect(safeReturnPath(query.return) ?? '/', 303);
  });
  return app;
}

/** Cookie attributes for a browser session: HttpOnly, SameSite=Lax, Secure where served over TLS. */
export function cookieOptions(tls: boolean, path = '/', maxAgeSeconds?: number) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: tls,
    path,
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
  };
}

/** A form's fields as the form parser gives them; {} for anything else. */
export function formFields(body: unknown): Record<string, string> {
  return typeof body === 'object' && body !== null ? (body as Record<string, string>) : {};
}
