/**
 * The consoles' foundation: staff accounts, login, sessions, CSRF and the page chrome, for a web
 * console on any node (the institution's clerk console now; the core's operator console and the
 * oversight console to come). A node builds its web app with `createWebApp` (helmet's CSP and
 * security headers, cookies, the stylesheet), then:
 *
 * ```ts
 * const console = await registerConsole(app, {
 *   store,                     // ConsoleStore over the node's database (createKyselyConsoleStore)
 *   clock, logger, tls,
 *   service: { name: '三条市 窓口', nameEn: 'Sanjo City counter' },
 *   roles: ['clerk'],          // the roles this node's console accepts
 *   institutionId: '152048',   // clerks must be of this institution (omit for operator/oversight)
 *   cookieScope: '152048',     // cookies ignore ports: one scope per console on a host
 *   nav: [{ href: '/intake', label: { ja: '窓口', en: 'Intake' } }],
 *   home: '/intake',
 *   record,                    // the node's security log: every refused login and form
 * });
 * app.get('/intake', { preHandler: console.requireRole('clerk') }, async (request, reply) => {
 *   const staff = console.staff(request);  // account, lang, csrfToken (for the page's forms)
 *   return reply.type('text/html; charset=utf-8').send(console.page(request, { title, body }));
 * });
 * ```
 *
 * `requireRole(role)` is a preHandler (an array of two): without a live session the browser is sent
 * to `/login` (303); a session of another role, or of a clerk of another institution, is refused
 * (ERR_CALLER_NOT_ALLOWED, 403, recorded); a disabled account's sessions end at once. Every request
 * but GET and HEAD must carry the form's CSRF token (`_csrf` field or `x-csrf-token` header, made by
 * @fastify/csrf-protection from a secret in an HttpOnly SameSite=Strict cookie): a missing or wrong
 * one is refused (403, ERR_CALLER_NOT_ALLOWED) and recorded. Pages it registers:
 *
 * | method, path   | what                                                                 |
 * | -------------- | -------------------------------------------------------------------- |
 * | `GET /`        | to `home` (logged in) or to the login page                           |
 * | `GET /login`   | the login form (CSRF token included)                                 |
 * | `POST /login`  | log in: ERR_LOGIN_FAILED 401, ERR_LOGIN_THROTTLED 429, ERR_CALLER_NOT_ALLOWED 403 (role), each recorded |
 * | `POST /logout` | end the session                                                      |
 *
 * The language switch `GET /lang` is every web app's (shared/web/server.ts).
 *
 * Sessions are the shared browser sessions (shared/web/sessions.ts): idle 15 minutes, absolute 8 hours
 * by default here (a clerk's working day), both configurable.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import type { Clock } from '../../clock.ts';
import { RenkeiError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { cookieOptions, formFields } from '../server.ts';
import { SessionService, type SessionPolicy } from '../sessions.ts';
import { AccountService, ACCOUNT_ID, type ConsoleAccount, type ThrottlePolicy } from './accounts.ts';
import { requestLang } from '../lang.ts';
import { CHROME, pick, type Lang } from './messages.ts';
import { consolePage, loginPage, type ConsoleChrome, type ConsolePageOptions } from './pages.ts';
import type { ScryptParameters } from './passwords.ts';
import type { ConsoleRole, ConsoleStore } from './store.ts';

/** Where refusals go: the node's security log (the same shape as the trust layer's `SecurityEventSink`). */
export type ConsoleRefusalSink = (event: {
  at: string;
  route: string;
  partyId: string | null;
  claimedPartyId: string | null;
  code: string;
  remoteAddress: string | null;
}) => Promise<void> | void;

export const CONSOLE_SESSION_POLICY: SessionPolicy = { idleMs: 15 * 60_000, absoluteMs: 8 * 3600_000 };

export interface ConsoleOptions {
  store: ConsoleStore;
  clock: Clock;
  logger: Logger;
  tls: boolean;
  service: { name: string; nameEn: string };
  roles: readonly ConsoleRole[];
  institutionId?: string | undefined;
  cookieScope: string;
  /** The menu; an item with `roles` is shown only to accounts of one of them. */
  nav: readonly { href: string; label: { ja: string; en: string }; roles?: readonly ConsoleRole[] }[];
  /** Where a logged-in account lands: one page, or one per role (a console of several roles). */
  home: string | ((role: ConsoleRole) => string);
  record?: ConsoleRefusalSink | undefined;
  sessionPolicy?: SessionPolicy | undefined;
  scrypt?: ScryptParameters | undefined;
  accountThrottle?: ThrottlePolicy | undefined;
  addressThrottle?: ThrottlePolicy | undefined;
}

export interface Staff {
  account: ConsoleAccount;
  lang: Lang;
  /** For the forms of the page being made. */
  csrfToken: string;
}

export interface Console {
  accounts: AccountService;
  sessions: SessionService;
  /** The guard of a console page: see the module's comment. */
  requireRole(role: ConsoleRole): preHandlerHookHandler[];
  /** The staff member of a request that passed `requireRole`. */
  staff(request: FastifyRequest): Staff;
  /** A whole page in the console's chrome, for the staff member of the request. */
  page(request: FastifyRequest, options: ConsolePageOptions): string;
  /** The request's language (the `lang` cookie; Japanese by default). */
  lang(request: FastifyRequest): Lang;
}

const HTML = 'text/html; charset=utf-8';

export async function registerConsole(app: FastifyInstance, options: ConsoleOptions): Promise<Console> {
  const sessionCookie = `console_session_${options.cookieScope}`;
  const csrfCookie = `console_csrf_${options.cookieScope}`;
  await app.register(fastifyCsrfProtection, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: csrfCookie,
    cookieOpts: { ...cookieOptions(options.tls), sameSite: 'strict' },
  });
  const accounts = new AccountService({
    store: options.store,
    clock: options.clock,
    ...(options.scrypt ? { scrypt: options.scrypt } : {}),
    ...(options.accountThrottle ? { accountThrottle: options.accountThrottle } : {}),
    ...(options.addressThrottle ? { addressThrottle: options.addressThrottle } : {}),
  });
  const sessions = new SessionService({
    store: options.store,
    clock: options.clock,
    policy: options.sessionPolicy ?? CONSOLE_SESSION_POLICY,
  });
  const staffOf = new WeakMap<FastifyRequest, Staff>();
  const lang = requestLang;

  const record = async (request: FastifyRequest, route: string, code: string, claimed?: string) => {
    await options.record?.({
      at: options.clock.now().toISOString(),
      route,
      partyId: null,
      claimedPartyId: claimed === undefined ? null : `${options.cookieScope}:${claimed}`,
      code,
      remoteAddress: request.ip ?? null,
    });
  };

  // A refused CSRF token is recorded like every refusal (the error page says what to do).
  app.addHook('onError', async (request, _reply, error) => {
    if (String((error as { code?: unknown }).code).startsWith('FST_CSRF_')) {
      await record(request, `console.${request.routeOptions.url ?? 'form'}`, 'ERR_CALLER_NOT_ALLOWED');
    }
  });

  const chrome = (request: FastifyRequest, staff?: Staff): ConsoleChrome => {
    const current = new URL(request.url, 'http://x').pathname;
    return {
      service: options.service,
      lang: lang(request),
      path: request.method === 'GET' ? request.url : current,
      ...(staff
        ? {
            staff: {
              displayName: staff.account.displayName,
              csrfToken: staff.csrfToken,
              nav: options.nav
                .filter((item) => item.roles === undefined || item.roles.includes(staff.account.role))
                .map((item) => ({
                  href: item.href,
                  label: item.label[staff.lang],
                  current: current === item.href || current.startsWith(`${item.href}/`),
                })),
            },
          }
        : {}),
    };
  };

  const allowed = (account: ConsoleAccount) =>
    options.roles.includes(account.role) &&
    (account.role !== 'clerk' || account.institutionId === options.institutionId);

  const guard = (role: ConsoleRole): preHandlerHookHandler =>
    async function consoleGuard(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const session = await sessions.find(request.cookies[sessionCookie]);
      const account = session && (await accounts.findActive(session.subjectId));
      if (!session || !account) {
        if (session) await sessions.end(request.cookies[sessionCookie]);
        const expired = request.cookies[sessionCookie] !== undefined;
        await reply
          .clearCookie(sessionCookie, cookieOptions(options.tls))
          .redirect(expired ? '/login?expired=1' : '/login', 303);
        return reply;
      }
      if (account.role !== role || !allowed(account)) {
        await record(
          request,
          `console.${request.routeOptions.url ?? ''}`,
          'ERR_CALLER_NOT_ALLOWED',
          account.accountId,
        );
        throw new RenkeiError('ERR_CALLER_NOT_ALLOWED', 'This account may not use this page.');
      }
      staffOf.set(request, { account, lang: lang(request), csrfToken: reply.generateCsrf() });
      return undefined;
    };

  const csrf: preHandlerHookHandler = function consoleCsrf(request, reply, done) {
    if (request.method === 'GET' || request.method === 'HEAD') {
      done();
      return;
    }
    app.csrfProtection(request, reply, done);
  };

  const html = (reply: FastifyReply) => reply.type(HTML).header('cache-control', 'no-store');

  const homeOf = (role: ConsoleRole) =>
    typeof options.home === 'string' ? options.home : options.home(role);

  app.get('/', async (request, reply) => {
    const session = await sessions.find(request.cookies[sessionCookie]);
    const account = session && (await accounts.findActive(session.subjectId));
    return reply.redirect(account ? homeOf(account.role) : '/login', 303);
  });

  app.get('/login', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const t = pick(CHROME, lang(request));
    const notice =
      query.bye !== undefined ? t.loggedOut : query.expired !== undefined ? t.expired : undefined;
    return html(reply).send(loginPage(chrome(request), { csrfToken: reply.generateCsrf(), notice }));
  });

  app.post('/login', { preHandler: csrf }, async (request, reply) => {
    const fields = formFields(request.body);
    const loginId = (fields.loginId ?? '').trim().toLowerCase();
    const password = fields.password ?? '';
    const t = pick(CHROME, lang(request));
    const again = (status: number, error: string) =>
      html(reply)
        .status(status)
        .send(
          loginPage(chrome(request), {
            csrfToken: reply.generateCsrf(),
            error,
            loginId: ACCOUNT_ID.test(loginId) ? loginId : '',
          }),
        );
    const claimed = ACCOUNT_ID.test(loginId) ? loginId : undefined;
    let account: ConsoleAccount;
    try {
      account = await accounts.login(loginId, password, request.ip ?? null);
    } catch (error) {
      if (!(error instanceof RenkeiError)) throw error;
      await record(request, 'console.login', error.code, claimed);
      if (error.code === 'ERR_LOGIN_THROTTLED') {
        const seconds = Number(error.details.retryAfterSeconds ?? 60);
        void reply.header('retry-after', String(seconds));
        return again(429, t.throttled.replace('{s}', String(seconds)));
      }
      return again(401, t.loginFailed);
    }
    if (!allowed(account)) {
      await record(request, 'console.login', 'ERR_CALLER_NOT_ALLOWED', account.accountId);
      return again(403, t.roleRefused);
    }
    // A session fixed before login is never reused: the old one ends, a new token is made, and the
    // CSRF secret is made anew with it.
    await sessions.end(request.cookies[sessionCookie]);
    const { token } = await sessions.create(account.accountId);
    options.logger.info({ account: account.accountId, role: account.role }, 'console login');
    return reply
      .setCookie(sessionCookie, token, { ...cookieOptions(options.tls), sameSite: 'strict' })
      .clearCookie(csrfCookie, cookieOptions(options.tls))
      .redirect(homeOf(account.role), 303);
  });

  app.post('/logout', { preHandler: csrf }, async (request, reply) => {
    await sessions.end(request.cookies[sessionCookie]);
    return reply.clearCookie(sessionCookie, cookieOptions(options.tls)).redirect('/login?bye=1', 303);
  });

  return {
    accounts,
    sessions,
    requireRole: (role) => [guard(role), csrf],
    staff(request) {
      const staff = staffOf.get(request);
      if (!staff) throw new TypeError('console.staff() outside a route guarded by requireRole()');
      return staff;
    },
    page: (request, pageOptions) => consolePage(chrome(request, staffOf.get(request)), pageOptions),
    lang,
  };
}
