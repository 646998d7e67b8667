/**
 * The Myna Portal's two faces:
 *
 * - **the web** (`registerPortalPages`): the pages a resident opens in a browser. They are HTML
 *   forms and redirects, not a network API, so they are listed here rather than in the route table:
 *
 *   | method, path                 | what                                                             |
 *   | ---------------------------- | ---------------------------------------------------------------- |
 *   | `GET /`                      | home (logged in) or to the login page                            |
 *   | `GET /login`                 | a new challenge and the link to the card reader                  |
 *   | `POST /login/complete`       | the card's answer, posted back by the reader                     |
 *   | `GET /login/finish`          | the session, in the browser that began the login                 |
 *   | `POST /logout`               | end the session (CSRF token)                                     |
 *   | `GET /logged-out`            | said so                                                          |
 *   | `GET /exchanges[?after=]`    | A, やりとり履歴: the core's records about the resident, paged     |
 *   | `GET /assets/exchanges.js`   | A's in-browser check of the records' proofs (bundled at start)   |
 *   | `GET /notices`               | お知らせ: the person's inbox, unread in bold                       |
 *   | `GET /notices/:id`           | one notice, marked read                                          |
 *   | `GET /notices/events`        | Server-Sent Events: the unread count, each notice as it arrives  |
 *   | `GET /services…`, `/signing-requests/…` | E, ぴったりサービス: finder, form, signing (`onestop-router.ts`) |
 *   | `GET /my-information`        | B, わたしの情報: the button, and the session's answers             |
 *   | `POST /my-information`       | ask the institutions (CSRF token): one inquiry per provider      |
 *   | `GET /my-information/results`| the answers block again, for the page's script while they arrive |
 *   | `/account`, `/payments/…`    | D, 公金受取口座・公金決済: money-router.ts                         |
 *   | `/oidc/…`, `/api/v1/…`, `/connected-services` | 自己情報取得API, 連携サービス: api-router.ts |
 *   | `GET /assets/*`, `/healthz`  | stylesheet, design tokens, scripts; health                       |
 *
 * - **the network** (`registerPortalNetworkRoutes`): `deliverCode` and `checkRecords` of
 *   `portalNetworkApi` (the part of `networkApi` the portal serves, as institutions do) and
 *   `portalApi.deliverPortalNotice` of the route table, on the node's mutual-TLS listener, where the
 *   core delivers the portal's codes as it does an institution's, and institutions' notices; and
 *   ぴったりサービス's 申請データダウンロード for municipalities (`registerApplicationDownloads`).
 *   `deliverAnswer` (`registerMyInformationNetworkRoute`): the answers to the portal's own inquiries
 *   (わたしの情報). The provider's routes are money-router.ts's; the listener's OpenAPI document
 *   (`/openapi.json`) lists exactly those of `NODE_APIS.portal` the listener has (`serveOpenApi`).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LegalTable } from '../../domain/legal-table/index.ts';
import { PersonRecordCursor } from '../../protocol/person-records.ts';
import { LoginNonce } from '../../protocol/portal.ts';
import { PortalNoticeId } from '../../protocol/portal-notices.ts';
import { portalApi, portalNetworkApi } from '../../protocol/routes.ts';
import { serve, type SecurityEventSink } from '../../protocol/server.ts';
import type { Clock } from '../../shared/clock.ts';
import { HTTP_STATUS, RenkeiError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Html } from '../../shared/web/html.ts';
import { cookieOptions, formFields } from '../../shared/web/server.ts';
import type { ApplicationService } from './service/applications.ts';
import type { ExchangeService } from './service/exchanges.ts';
import type { LoginService } from './service/login.ts';
import { sha256Hex } from '../../shared/hash.ts';
import type { MyInformationService } from './service/my-information.ts';
import type { NoticeEvent, NoticeService } from './service/notices.ts';
import type { PortalRecordLogService } from './service/record-log.ts';
import type { PersonCodeService } from './service/person-codes.ts';
import type { Session, SessionService } from './service/sessions.ts';
import { EXCHANGES_SCRIPT, exchangesPage, exchangesUnavailablePage } from './web/exchanges-page.ts';
import { myInformationPage, myInformationResults } from './web/my-information-page.ts';
import { toText } from '../../shared/web/html.ts';
import { dateTimeIn } from './web/dates.ts';
import { rateLimited } from './rate-limits.ts';
import { refusalRecorder } from './refusals.ts';
import { NEXT_COOKIE, NEXT_PATTERN } from './api-router.ts';
import { landingPage, loggedOutPage, loginPage, noticePage, noticesPage, viewOf } from './web/pages.ts';
import { requestLang, type Lang } from '../../shared/web/lang.ts';

export const SESSION_COOKIE = 'portal_session';
export const LOGIN_COOKIE = 'portal_login';

export interface PortalPagesDeps {
  login: LoginService;
  sessions: SessionService;
  notices: NoticeService;
  clock: Clock;
  /** The portal's origin, as browsers see it. */
  origin: () => string;
  /** The card reader's base URL (the resident's local reader application). */
  readerUrl: string;
  tls: boolean;
  record?: SecurityEventSink | undefined;
  /**
   * An institution's English name by its id (the registry's), for the notices' senders in English:
   * a notice keeps the sender's name as the core gave it on delivery, in Japanese.
   */
  englishName?: ((institutionId: string) => string | undefined) | undefined;
  /**
   * Told the token of a session that logs out (its answers of わたしの情報 are dropped, the
   * authorization server's session of the browser ends).
   */
  onLogout?:
    ((token: string | undefined, request: FastifyRequest, reply: FastifyReply) => Promise<void>) | undefined;
  /** A notice's payment panel, when it carries a payment request (service D, money-router.ts). */
  noticeExtra?: ((personId: string, noticeId: string, lang: Lang) => Promise<Html | undefined>) | undefined;
}

const HTML = 'text/html; charset=utf-8';

/**
 * How often one address may begin a login (each makes a challenge row) and hand in a card's answer
 * (each costs a signature check and a status query at J-LIS), per minute. A resident logs in a few
 * times a day; a household behind one address a few more. The card's own PIN lock stops guessing at
 * the PIN; this stops one address from filling the challenge table or keeping J-LIS busy. In memory,
 * per process: a portal run as several processes behind a balancer multiplies it by their number.
 */
export const LOGIN_RATE = { begin: 30, answer: 10, windowMs: 60_000 } as const;

/** The route option that applies `@fastify/rate-limit` (registered by the portal) to a login route. */
function loginRate(max: number, deps: PortalPagesDeps, route: string) {
  const refuse = refusalRecorder(deps);
  return rateLimited({
    limit: { max, windowMs: LOGIN_RATE.windowMs },
    groupId: route,
    code: 'ERR_LOGIN_THROTTLED',
    message: (after) => `Too many logins from this address: try again in ${after}.`,
    onExceeded: (request) => void refuse(request, route, 'ERR_LOGIN_THROTTLED'),
  });
}

export function registerPortalPages(app: FastifyInstance, deps: PortalPagesDeps): void {
  const { login, sessions, notices } = deps;
  const refuse = refusalRecorder(deps);
  const sessionOf = (request: FastifyRequest) => sessions.find(request.cookies[SESSION_COOKIE]);

  /** A POST from a page of another site is refused before anything (the CSRF token is the main guard). */
  const sameOrigin = async (request: FastifyRequest, route: string) => {
    const origin = request.headers.origin;
    if (origin === undefined || origin === deps.origin()) return;
    await refuse(request, route, 'ERR_CALLER_NOT_ALLOWED');
    throw new RenkeiError('ERR_CALLER_NOT_ALLOWED', 'A form of another site cannot act here.');
  };

  const requireSession = async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<Session | undefined> => {
    const session = await sessionOf(request);
    if (!session) {
      void reply.clearCookie(SESSION_COOKIE, cookieOptions(deps.tls)).redirect('/login', 303);
      return undefined;
    }
    return session;
  };

  app.get('/', async (request, reply) => {
    const session = await requireSession(request, reply);
    if (!session) return reply;
    return reply
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(
        landingPage(viewOf(request), {
          csrfToken: session.csrfToken,
          unread: await notices.unread(session.personId),
        }),
      );
  });

  app.get('/login', loginRate(LOGIN_RATE.begin, deps, 'portal.login.begin'), async (request, reply) => {
    const { challenge, binding } = await login.issue();
    const link = new URL('/sign', deps.readerUrl);
    link.search = new URLSearchParams({
      challenge: challenge.nonce,
      expires: challenge.expiresAt,
      return: `${deps.origin()}/login/complete`,
    }).toString();
    return reply
      .setCookie(
        LOGIN_COOKIE,
        binding,
        cookieOptions(deps.tls, '/login', Math.ceil(login.challengeTtlMs / 1000) + 60),
      )
      .header('cache-control', 'no-store')
      .type(HTML)
      .send(loginPage(viewOf(request), { readerLink: link.toString(), expiresAt: challenge.expiresAt }));
  });

  // From the reader's page (another origin, so no same-origin check): the challenge and the card's
  // signature are the proof, and `finish` ties the login to the browser that began it.
  app.post('/login/complete', loginRate(LOGIN_RATE.answer, deps, 'portal.login'), async (request, reply) => {
    const fields = formFields(request.body);
    const nonce = LoginNonce.safeParse(fields.challenge);
    const certificate = base64(fields.certificate, 8192);
    const signature = base64(fields.signature, 1024);
    if (!nonce.success || !certificate || !signature) {
      await refuse(request, 'portal.login', 'ERR_VALIDATION');
      throw new RenkeiError('ERR_VALIDATION', 'The card reader’s answer is incomplete.');
    }
    await login.answer({ nonce: nonce.data, certificate, signature, remoteAddress: request.ip ?? null });
    return reply.redirect(`/login/finish?${new URLSearchParams({ challenge: nonce.data }).toString()}`, 303);
  });

  app.get('/login/finish', async (request, reply) => {
    const nonce = LoginNonce.safeParse((request.query as Record<string, unknown>).challenge);
    if (!nonce.success) throw new RenkeiError('ERR_MESSAGE_STALE', 'This login is unknown.');
    const personId = await login.finish({
      nonce: nonce.data,
      binding: request.cookies[LOGIN_COOKIE],
      remoteAddress: request.ip ?? null,
    });
    // A session fixed before login is never reused: the old one (if any) ends, a new token is made.
    await sessions.end(request.cookies[SESSION_COOKIE]);
    const { token } = await sessions.create(personId);
    // Back to where the login was asked for: only an interaction of the authorization server (a
    // service asking for the resident's consent), never an address of another site.
    const next = request.cookies[NEXT_COOKIE];
    return reply
      .clearCookie(LOGIN_COOKIE, cookieOptions(deps.tls, '/login'))
      .clearCookie(NEXT_COOKIE, cookieOptions(deps.tls, '/login'))
      .setCookie(SESSION_COOKIE, token, cookieOptions(deps.tls))
      .redirect(next !== undefined && NEXT_PATTERN.test(next) ? next : '/', 303);
  });

  app.post('/logout', async (request, reply) => {
    await sameOrigin(request, 'portal.logout');
    const session = await sessionOf(request);
    if (session) {
      if (!sameToken(formFields(request.body)._csrf, session.csrfToken)) {
        await refuse(request, 'portal.logout', 'ERR_CALLER_NOT_ALLOWED');
        throw new RenkeiError('ERR_CALLER_NOT_ALLOWED', 'The form’s CSRF token is missing or wrong.');
      }
      await deps.onLogout?.(request.cookies[SESSION_COOKIE], request, reply);
      await sessions.end(request.cookies[SESSION_COOKIE]);
    }
    return reply.clearCookie(SESSION_COOKIE, cookieOptions(deps.tls)).redirect('/logged-out', 303);
  });

  app.get('/logged-out', async (request, reply) => reply.type(HTML).send(loggedOutPage(viewOf(request))));

  registerNoticePages(app, deps, requireSession);
}

export interface ExchangePagesDeps {
  sessions: SessionService;
  exchanges: ExchangeService;
  /** The notices the person received, each with its entry in the portal's record log. */
  notices: NoticeService;
  recordLog: PortalRecordLogService;
  legalTable: LegalTable;
  logger: Logger;
  tls: boolean;
  /** The browser's check, bundled (`web/exchanges-bundle.ts`). */
  script: string;
}

/**
 * Page A, やりとり履歴. The core unreachable (or refusing, or its key not to be had) is a page that
 * says so and what to do, with status 503; the log line names the error code only, never the person.
 */
export function registerExchangePages(app: FastifyInstance, deps: ExchangePagesDeps): void {
  app.get(`/assets/${EXCHANGES_SCRIPT}`, (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(deps.script),
  );

  app.get('/exchanges', async (request, reply) => {
    const session = await deps.sessions.find(request.cookies[SESSION_COOKIE]);
    if (!session) {
      return reply.clearCookie(SESSION_COOKIE, cookieOptions(deps.tls)).redirect('/login', 303);
    }
    const after = (request.query as Record<string, unknown>).after;
    const cursor = after === undefined ? undefined : PersonRecordCursor.safeParse(after);
    if (cursor && !cursor.success) return reply.redirect('/exchanges', 303);
    reply.type(HTML).header('cache-control', 'no-store');
    try {
      const [page, key, notices, signedSize] = await Promise.all([
        deps.exchanges.page(session.personId, cursor?.data),
        deps.exchanges.recordLogKey(),
        cursor ? [] : deps.notices.list(session.personId),
        deps.recordLog.signedSize(),
      ]);
      return reply.send(
        exchangesPage(viewOf(request), {
          csrfToken: session.csrfToken,
          page,
          key,
          legal: deps.legalTable,
          later: !!cursor,
          notices: { rows: notices, signedSize },
        }),
      );
    } catch (error) {
      if (!(error instanceof RenkeiError)) throw error;
      deps.logger.warn({ code: error.code }, 'exchanges: the core’s records could not be read');
      return reply
        .status(503)
        .send(exchangesUnavailablePage(viewOf(request), { csrfToken: session.csrfToken }));
    }
  });
}

/**
 * The network side: the core's delivery of the portal's codes and of institutions' notices, and the
 * core's three-party cross-check of the portal's records (`networkApi.checkRecords`, read-only; the
 * answer has no field for a code or a person id).
 */
export function registerPortalNetworkRoutes(
  app: FastifyInstance,
  codes: PersonCodeService,
  notices: NoticeService,
  recordLog: PortalRecordLogService,
): void {
  serve(app, portalNetworkApi.checkRecords, async ({ body }) =>
    recordLog.check(body.processingNumbers, body.since, body.numbered),
  );
  serve(app, portalNetworkApi.deliverCode, async ({ body }) => {
    await codes.deliverCode(body);
    return undefined;
  });
  // A notice the portal cannot place or open (no such person, not sealed by its sender) is recorded.
  serve(app, portalApi.deliverPortalNotice, async ({ body, refuse }) => {
    try {
      await notices.receive(body);
    } catch (error) {
      if (error instanceof RenkeiError && HTTP_STATUS[error.code] < 500) throw await refuse(error);
      throw error;
    }
    return undefined;
  });
}

/**
 * お知らせ: the inbox, one notice, and the events an open page listens to. The event stream is a
 * plain GET of the page's own origin (EventSource), so the CSP's `connect-src 'self'` admits it; a
 * request without a live session is answered 401 once, and the script's stream stops retrying then.
 */
function registerNoticePages(
  app: FastifyInstance,
  deps: PortalPagesDeps,
  requireSession: (request: FastifyRequest, reply: FastifyReply) => Promise<Session | undefined>,
): void {
  const { notices, sessions } = deps;
  const streams = new Set<() => void>();
  /** The notice with its sender named in the page's language; its own text stays as sent. */
  const senderIn = <T extends { senderId: string; senderName: string }>(lang: Lang, notice: T): T =>
    lang === 'en'
      ? { ...notice, senderName: deps.englishName?.(notice.senderId) ?? notice.senderName }
      : notice;
  // Open streams would hold the listener's close forever: end them first.
  app.addHook('preClose', (done) => {
    for (const end of streams) end();
    done();
  });

  app.get('/notices', async (request, reply) => {
    const session = await requireSession(request, reply);
    if (!session) return reply;
    const [list, unread] = await Promise.all([
      notices.list(session.personId),
      notices.unread(session.personId),
    ]);
    const view = viewOf(request);
    return reply
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(
        noticesPage(view, {
          csrfToken: session.csrfToken,
          unread,
          notices: list.map((notice) => senderIn(view.lang, notice)),
        }),
      );
  });

  app.get('/notices/events', async (request, reply) => {
    const session = await sessions.find(request.cookies[SESSION_COOKIE]);
    if (!session) throw new RenkeiError('ERR_CALLER_NOT_ALLOWED', 'Log in to receive notices.');
    const lang = requestLang(request);
    const raw = reply.hijack().raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    const send = (event: NoticeEvent) => {
      const notice = event.notice && {
        id: event.notice.noticeId,
        senderName: senderIn(lang, event.notice).senderName,
        title: event.notice.title,
        sentAt: event.notice.sentAt.toISOString(),
        date: dateTimeIn(lang, event.notice.sentAt),
      };
      raw.write(`event: unread\ndata: ${JSON.stringify({ unread: event.unread, notice })}\n\n`);
    };
    send({ unread: await notices.unread(session.personId) });
    const unsubscribe = notices.subscribe(session.personId, send);
    // A comment now and then keeps proxies from closing an idle stream.
    const heartbeat = setInterval(() => raw.write(': \n\n'), 25_000);
    const end = () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(end);
      raw.end();
    };
    streams.add(end);
    request.raw.on('close', end);
  });

  app.get('/notices/:id', async (request, reply) => {
    const session = await requireSession(request, reply);
    if (!session) return reply;
    const id = PortalNoticeId.safeParse((request.params as { id?: string }).id);
    if (!id.success) throw new RenkeiError('ERR_ROUTE_NOT_FOUND', 'There is no such notice.');
    const notice = await notices.open(session.personId, id.data);
    return reply
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(
        noticePage(viewOf(request), {
          csrfToken: session.csrfToken,
          unread: await notices.unread(session.personId),
          notice: senderIn(requestLang(request), notice),
          extra: await deps.noticeExtra?.(session.personId, notice.noticeId, requestLang(request)),
        }),
      );
  });
}

/** The municipality of a business-system certificate: the first part of its party id (`152048:business`). */
function municipalityOf(partyId: string | undefined): string {
  return (partyId ?? '').split(':')[0] ?? '';
}

/**
 * 申請データダウンロード on the network listener. The trust layer admits only municipalities'
 * business systems (`callers: ['municipality']`); each sees only applications made to itself, so
 * another municipality's number is not found (ERR_UNKNOWN_APPLICATION), never refused as such.
 */
export function registerApplicationDownloads(app: FastifyInstance, applications: ApplicationService): void {
  serve(app, portalApi.listApplications, async ({ query, caller }) => ({
    applications: await applications.list(municipalityOf(caller?.partyId), query.state),
  }));
  serve(app, portalApi.getApplication, async ({ params, caller }) =>
    applications.download(municipalityOf(caller?.partyId), params.applicationNumber),
  );
  serve(app, portalApi.downloadApplications, async ({ body, caller }) => ({
    applications: await applications.downloadMany(municipalityOf(caller?.partyId), body.applicationNumbers),
  }));
}

function base64(value: string | undefined, max: number): Uint8Array | undefined {
  if (
    value === undefined ||
    value.length === 0 ||
    value.length > max ||
    !/^[A-Za-z0-9+/]+={0,2}$/.test(value)
  ) {
    return undefined;
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface MyInformationPagesDeps {
  sessions: SessionService;
  myInformation: MyInformationService;
  legalTable: LegalTable;
  clock: Clock;
  origin: () => string;
  tls: boolean;
  /** How long answers are kept, in minutes (said on the page). */
  keepMinutes: number;
  record?: SecurityEventSink | undefined;
}

/**
 * B, わたしの情報. Only a logged-in resident, for their own person: the retrieval is the session's
 * (by the hash of its token), so another session, the same person's included, never sees it. The
 * POST needs the session's CSRF token and a same-origin `Origin` (refusals recorded, route
 * `portal.myInformation`). Nothing personal in a URL: the answers are in the page and in the block
 * its script fetches, both `no-store`.
 */
export function registerMyInformationPages(app: FastifyInstance, deps: MyInformationPagesDeps): void {
  const { sessions, myInformation } = deps;
  const sessionKey = (request: FastifyRequest) => sha256Hex(request.cookies[SESSION_COOKIE] ?? '');
  const refuse = refusalRecorder(deps);
  const refuseHere = async (request: FastifyRequest, why: string) => {
    await refuse(request, 'portal.myInformation', 'ERR_CALLER_NOT_ALLOWED');
    throw new RenkeiError('ERR_CALLER_NOT_ALLOWED', why);
  };

  app.get('/my-information', async (request, reply) => {
    const session = await sessions.find(request.cookies[SESSION_COOKIE]);
    if (!session) return reply.clearCookie(SESSION_COOKIE, cookieOptions(deps.tls)).redirect('/login', 303);
    const retrieval = myInformation.view(sessionKey(request), session.personId);
    return reply
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(
        myInformationPage(viewOf(request), {
          csrfToken: session.csrfToken,
          retrieval,
          legal: deps.legalTable,
          keepMinutes: deps.keepMinutes,
        }),
      );
  });

  app.get('/my-information/results', async (request, reply) => {
    const session = await sessions.find(request.cookies[SESSION_COOKIE]);
    if (!session) throw new RenkeiError('ERR_CALLER_NOT_ALLOWED', 'Log in to see your information.');
    const retrieval = myInformation.view(sessionKey(request), session.personId);
    return reply
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(toText(myInformationResults({ lang: requestLang(request), retrieval, legal: deps.legalTable })));
  });

  app.post('/my-information', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== deps.origin()) {
      await refuseHere(request, 'A form of another site cannot act here.');
    }
    const session = await sessions.find(request.cookies[SESSION_COOKIE]);
    if (!session) return reply.clearCookie(SESSION_COOKIE, cookieOptions(deps.tls)).redirect('/login', 303);
    if (!sameToken(formFields(request.body)._csrf, session.csrfToken)) {
      await refuseHere(request, 'The form’s CSRF token is missing or wrong.');
    }
    await myInformation.start(sessionKey(request), session.personId);
    return reply.redirect('/my-information', 303);
  });
}

/** The answers to the portal's own inquiries (callers: the core only, on the mutual-TLS listener). */
export function registerMyInformationNetworkRoute(
  app: FastifyInstance,
  myInformation: MyInformationService,
): void {
  serve(app, portalNetworkApi.deliverAnswer, async ({ body }) => {
    await myInformation.receiveAnswer(body);
    return undefined;
  });
}
