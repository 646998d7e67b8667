/**
 * The resident's card reader (the real portal's マイナポータルアプリ / reader application, here a small
 * local web program, since no physical reader exists): it holds demo residents' virtual card files,
 * and answers a portal's login challenge. The portal's login page sends the resident here with the
 * challenge and a return address; the resident picks their card and types the 4-digit PIN on this
 * reader's own page; the card signs (`signWithAuthenticationKey`, which counts a wrong PIN on the
 * card: 3, then locked) and the page posts the certificate and the signature back to the portal.
 * The PIN never leaves this program, and is never logged.
 *
 * It also signs ぴったりサービス's applications (`/sign-document`): it fetches the document from the
 * portal that asked (a registered origin, by the request's unguessable id), shows it, and after the
 * signing password (署名用電子証明書, 6–16 characters; a wrong one counts on the card: 5, then locked)
 * the card signs it as a CMS SignedData (RSA PKCS#1 v1.5, SHA-256, the signing certificate carried),
 * which the page posts back to the portal. The password never leaves this program either.
 *
 * What it guards against:
 * - a site posing as the portal: it answers only for return addresses of registered portal origins,
 *   at their `/login/complete`, and what the card signs names that origin (src/protocol/portal.ts),
 *   so an answer is worth something only at the portal that asked;
 * - a page of another site driving the reader to burn the resident's PIN tries: every POST needs the
 *   token of a page this reader rendered (single use, 10 minutes), and a foreign Origin is refused.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LoginNonce, loginMessage, type LoginChallenge } from '../../protocol/portal.ts';
import type { Clock } from '../../shared/clock.ts';
import { systemClock } from '../../shared/clock.ts';
import { RenkeiError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { requestLang, viewPath } from '../../shared/web/lang.ts';
import { createWebApp, formFields } from '../../shared/web/server.ts';
import { VirtualCard } from '../virtual-card.ts';
import { createSignedData } from '../../trust/pki/cms.ts';
import {
  answerPage,
  documentAnswerPage,
  errorPage,
  homePage,
  signDocumentPage,
  signPage,
  type CardChoice,
  type DocumentView,
  type ReaderView,
} from './pages.ts';

export interface CardReaderOptions {
  /** The directory of card files (`*.card`, as `renkei card issue --out` writes them). */
  cardsDir: string;
  /** The portals this reader answers (their origins: `http://127.0.0.1:7180`). */
  portalOrigins: readonly string[];
  logger: Logger;
  clock?: Clock;
}

const FORM_TOKEN_TTL_MS = 10 * 60_000;

/**
 * The reader's language: the host's `lang` cookie, which the portal's switch sets (cookies ignore
 * ports), and the GET page the reader's own switch comes back to.
 */
function readerView(request: FastifyRequest, path?: string): ReaderView {
  return { lang: requestLang(request), path: path ?? viewPath(request) };
}

/** The PIN page of a login challenge, as a GET: where a page of that login switches language back to. */
function signView(
  request: FastifyRequest,
  login: { challenge: LoginChallenge; returnUrl: string },
): ReaderView {
  const query = new URLSearchParams({
    challenge: login.challenge.nonce,
    expires: login.challenge.expiresAt,
    return: login.returnUrl,
  });
  return readerView(request, `/sign?${query.toString()}`);
}

/** The signing page of an application, as a GET. */
function documentView(request: FastifyRequest, target: { request: string; portal: string }): ReaderView {
  return readerView(request, `/sign-document?${new URLSearchParams(target).toString()}`);
}
const HTML = 'text/html; charset=utf-8';

/** The challenge as the portal's link gives it, checked: the return address must be a registered portal's. */
interface Request {
  challenge: LoginChallenge;
  returnUrl: string;
}

export async function createCardReader(options: CardReaderOptions): Promise<FastifyInstance> {
  const clock = options.clock ?? systemClock;
  const app = await createWebApp({
    logger: options.logger,
    formActions: options.portalOrigins,
    errorPage: (error, view) => errorPage(error, view),
  });
  /** Form tokens of pages rendered, until used or expired. */
  const tokens = new Map<string, number>();
  const newToken = () => {
    const now = clock.now().getTime();
    for (const [token, expires] of tokens) if (expires < now) tokens.delete(token);
    const token = randomBytes(32).toString('base64url');
    tokens.set(token, now + FORM_TOKEN_TTL_MS);
    return token;
  };
  /** One operation at a time on a card file (a chip serves one command at a time too). */
  const busy = new Map<string, Promise<unknown>>();
  const withCard = <T>(file: string, work: () => Promise<T>): Promise<T> => {
    const previous = busy.get(file) ?? Promise.resolve();
    const next = previous.then(work, work);
    busy.set(
      file,
      next.catch(() => undefined),
    );
    return next;
  };

  const cards = (): CardChoice[] =>
    readdirSync(options.cardsDir)
      .filter((name) => name.endsWith('.card'))
      .sort()
      .map((file) => {
        try {
          const status = VirtualCard.open(join(options.cardsDir, file)).status();
          return { file, label: file.slice(0, -'.card'.length), pinTriesLeft: status.pinTriesLeft };
        } catch {
          return undefined;
        }
      })
      .filter((c): c is CardChoice => c !== undefined);

  const parse = (fields: Record<string, unknown>): Request => {
    const nonce = LoginNonce.safeParse(fields.challenge);
    const expires = typeof fields.expires === 'string' ? fields.expires : '';
    let returnUrl: URL | undefined;
    try {
      returnUrl = new URL(typeof fields.return === 'string' ? fields.return : '');
    } catch {
      returnUrl = undefined;
    }
    if (
      !nonce.success ||
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/.test(expires) ||
      !returnUrl ||
      !options.portalOrigins.includes(returnUrl.origin) ||
      returnUrl.pathname !== '/login/complete' ||
      returnUrl.search !== ''
    ) {
      throw new RenkeiError(
        'ERR_CALLER_NOT_ALLOWED',
        'This request does not come from a portal this reader answers.',
      );
    }
    return {
      challenge: { origin: returnUrl.origin, nonce: nonce.data, expiresAt: expires },
      returnUrl: returnUrl.href,
    };
  };

  const render = (
    reply: FastifyReply,
    status: number,
    request: Request,
    extra: { error?: string; selected?: string },
  ) =>
    reply
      .status(status)
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(
        signPage(signView(reply.request, request), {
          cards: cards(),
          portal: request.challenge.origin,
          fields: {
            challenge: request.challenge.nonce,
            expires: request.challenge.expiresAt,
            return: request.returnUrl,
            token: newToken(),
          },
          ...extra,
        }),
      );

  app.get('/', async (request, reply) =>
    reply.type(HTML).send(homePage(readerView(request), { cards: cards() })),
  );

  app.get('/sign', async (request, reply) =>
    render(reply, 200, parse(request.query as Record<string, unknown>), {}),
  );

  app.post('/sign', async (request, reply) => {
    const fields = formFields(request.body);
    const own = `${request.protocol}://${request.host}`;
    const origin = request.headers.origin;
    const token = fields.token ?? '';
    const expires = tokens.get(token);
    if (
      (origin !== undefined && origin !== own) ||
      expires === undefined ||
      expires < clock.now().getTime()
    ) {
      throw new RenkeiError(
        'ERR_CALLER_NOT_ALLOWED',
        'This form was not made by this reader, or is too old.',
      );
    }
    tokens.delete(token);
    const parsed = parse(fields);
    const file = cards().find((c) => c.file === fields.card)?.file;
    if (file === undefined) return render(reply, 400, parsed, { error: 'choose' });
    const pin = fields.pin ?? '';
    if (!/^\d{4}$/.test(pin)) return render(reply, 400, parsed, { error: 'format', selected: file });
    try {
      const answer = await withCard(file, async () => {
        const card = VirtualCard.open(join(options.cardsDir, file));
        const signature = await card.signWithAuthenticationKey(pin, loginMessage(parsed.challenge));
        const certificate = await card.readCertificate('authentication');
        return { signature, certificate: certificate.certificateDer };
      });
      options.logger.info('a login challenge signed');
      return reply
        .type(HTML)
        .header('cache-control', 'no-store')
        .send(
          answerPage(signView(request, parsed), {
            action: parsed.returnUrl,
            portal: parsed.challenge.origin,
            challenge: parsed.challenge.nonce,
            certificate: Buffer.from(answer.certificate).toString('base64'),
            signature: Buffer.from(answer.signature).toString('base64'),
          }),
        );
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_WRONG_PIN') {
        const left = Number(error.details.remainingTries ?? 0);
        return render(reply, 401, parsed, { error: left > 0 ? `wrong:${left}` : 'locked', selected: file });
      }
      if (error instanceof RenkeiError && error.code === 'ERR_PIN_LOCKED') {
        return render(reply, 423, parsed, { error: 'locked', selected: file });
      }
      throw error;
    }
  });
  registerDocumentSigning(app, { options, clock, newToken, tokens, withCard, cards });
  return app;
}

const RequestId = /^[A-Za-z0-9_-]{43}$/;

/** Sign a ぴったりサービス application: fetch it from the portal, show it, sign with the signing key. */
function registerDocumentSigning(
  app: FastifyInstance,
  ctx: {
    options: CardReaderOptions;
    clock: Clock;
    newToken: () => string;
    tokens: Map<string, number>;
    withCard: <T>(file: string, work: () => Promise<T>) => Promise<T>;
    cards: () => CardChoice[];
  },
): void {
  const { options } = ctx;
  const parse = (fields: Record<string, unknown>) => {
    const request = typeof fields.request === 'string' ? fields.request : '';
    const portal = typeof fields.portal === 'string' ? fields.portal : '';
    if (!RequestId.test(request) || !options.portalOrigins.includes(portal)) {
      throw new RenkeiError(
        'ERR_CALLER_NOT_ALLOWED',
        'This request does not come from a portal this reader answers.',
      );
    }
    return { request, portal };
  };
  /** The document, from the portal itself (never from the page: the card signs what the portal holds). */
  const fetchDocument = async (target: { request: string; portal: string }) => {
    let response: Response;
    try {
      response = await fetch(`${target.portal}/signing-requests/${target.request}/document`, {
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', 'The portal could not be reached.', {
        peer: 'portal',
      });
    }
    if (response.status !== 200) {
      throw new RenkeiError('ERR_MESSAGE_STALE', 'The portal has no application awaiting a signature here.');
    }
    const body = (await response.json()) as DocumentView & { content: string };
    if (typeof body.content !== 'string' || !Array.isArray(body.lines)) {
      throw new RenkeiError('ERR_MESSAGE_MALFORMED', 'The portal’s answer is not a document to sign.');
    }
    return { view: body, content: new Uint8Array(Buffer.from(body.content, 'base64')) };
  };
  const render = (
    reply: FastifyReply,
    status: number,
    target: { request: string; portal: string },
    document: DocumentView,
    extra: { error?: string; selected?: string },
  ) =>
    reply
      .status(status)
      .type(HTML)
      .header('cache-control', 'no-store')
      .send(
        signDocumentPage(documentView(reply.request, target), {
          cards: ctx.cards(),
          portal: target.portal,
          document,
          fields: { ...target, token: ctx.newToken() },
          ...extra,
        }),
      );

  app.get('/sign-document', async (request, reply) => {
    const target = parse(request.query as Record<string, unknown>);
    return render(reply, 200, target, (await fetchDocument(target)).view, {});
  });

  app.post('/sign-document', async (request, reply) => {
    const fields = formFields(request.body);
    const own = `${request.protocol}://${request.host}`;
    const origin = request.headers.origin;
    const token = fields.token ?? '';
    const expires = ctx.tokens.get(token);
    if (
      (origin !== undefined && origin !== own) ||
      expires === undefined ||
      expires < ctx.clock.now().getTime()
    ) {
      throw new RenkeiError(
        'ERR_CALLER_NOT_ALLOWED',
        'This form was not made by this reader, or is too old.',
      );
    }
    ctx.tokens.delete(token);
    const target = parse(fields);
    const document = await fetchDocument(target);
    const file = ctx.cards().find((c) => c.file === fields.card)?.file;
    if (file === undefined) return render(reply, 400, target, document.view, { error: 'choose' });
    const password = fields.password ?? '';
    if (!/^[A-Z0-9]{6,16}$/.test(password)) {
      return render(reply, 400, target, document.view, { error: 'format', selected: file });
    }
    try {
      const signedData = await ctx.withCard(file, async () => {
        const card = VirtualCard.open(join(options.cardsDir, file));
        const certificate = await card.readCertificate('signing', password);
        return createSignedData({
          content: document.content,
          certificate: certificate.certificateDer,
          sign: (tbs) => card.signWithSigningKey(password, tbs),
          signingTime: ctx.clock.now(),
        });
      });
      options.logger.info('an application signed');
      return reply
        .type(HTML)
        .header('cache-control', 'no-store')
        .send(
          documentAnswerPage(documentView(request, target), {
            action: `${target.portal}/signing-requests/${target.request}/signature`,
            portal: target.portal,
            signedData: Buffer.from(signedData).toString('base64'),
          }),
        );
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_WRONG_PIN') {
        const left = Number(error.details.remainingTries ?? 0);
        return render(reply, 401, target, document.view, {
          error: left > 0 ? `wrong:${left}` : 'locked',
          selected: file,
        });
      }
      if (error instanceof RenkeiError && error.code === 'ERR_PIN_LOCKED') {
        return render(reply, 423, target, document.view, { error: 'locked', selected: file });
      }
      if (error instanceof RenkeiError && error.code === 'ERR_UNKNOWN_CERTIFICATE') {
        return render(reply, 400, target, document.view, { error: 'nosigning', selected: file });
      }
      throw error;
    }
  });
}
