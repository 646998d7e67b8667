import { randomUUID } from 'node:crypto';
import { Server as TlsServer } from 'node:tls';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify';
import secureJson from 'secure-json-parse';
import type { z } from 'zod';
import { HTTP_STATUS, RenkeiError, isErrorCode, storageFull, type ErrorBody } from './errors.ts';
import type { Logger } from './logger.ts';
import { countRequests, metricsOf } from './metrics.ts';
import { refusePlainHttp } from './plain-http-refusal.ts';
import { checkReadiness } from './readiness.ts';

export interface HttpAppOptions {
  logger: Logger;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Node name reported by `GET /healthz`. */
  node: string;
  /**
   * Listen with TLS 1.3 and ask every client for its certificate (PEM). The certificate is not
   * checked here: `serve` (src/protocol/server.ts) checks it against the network's CA and the CRL and
   * answers a stable error code, which a refused TLS handshake could not.
   *
   * A plain-HTTP request to the port is answered 400 ERR_TLS_REQUIRED (`plain-http-refusal.ts`), and
   * the server emits `PLAIN_HTTP_REFUSED` for the trust layer to record it.
   */
  tls?: { key: string; cert: string; ca: string };
}

/**
 * A Fastify instance with the behaviour every node shares: one error mapping (code → status), JSON
 * bodies only (415 for any other content type), a size limit, request ids for correlation,
 * `GET /healthz`, `GET /readyz` (readiness.ts: the databases the node's main adds to it), and each
 * answered request and error counted for `GET /metrics` (metrics.ts; served by protocol/monitoring.ts).
 *
 * Request logging (opt-in, `RENKEI_REQUEST_LOG=1`) is Fastify's own (method, route, status, time),
 * except that it logs the matched route's pattern rather than the URL as sent: no route carries an
 * Individual Number or a person code in its URL, but a caller's mistaken URL may, and a log line must
 * not keep it. Bodies are never logged.
 */
export function createHttpApp(options: HttpAppOptions): FastifyInstance {
  const https = options.tls && {
    key: options.tls.key,
    cert: options.tls.cert,
    ca: options.tls.ca,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3' as const,
  };
  const app = Fastify({
    ...(https ? { https } : {}),
    // pino's Logger is a FastifyBaseLogger; the cast only widens it so the app keeps the default type.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    genReqId: () => randomUUID(),
    logController: new RouteLogController({
      disableRequestLogging: process.env.RENKEI_REQUEST_LOG !== '1',
    }),
  }) as unknown as FastifyInstance;

  // Closing waits for no keep-alive connection. Fastify's close destroys the connections idle at
  // that moment, but one whose request is still being answered is left, answered keep-alive, and
  // then stays open until the client drops it or Fastify's keepAliveTimeout (72 s) passes: a node
  // that answered every request took about 70 s to close (a push from the core landed as it began to
  // close; reproduced with a bare Fastify app and an undici keep-alive client). So a response sent
  // once closing has begun says `Connection: close`, and any connection idle after a response then
  // (one whose headers had gone out before) is closed as well.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (_request, _reply, done) => {
    if (closing) setImmediate(() => app.server.closeIdleConnections());
    done();
  });
  countRequests(app);

  if (https) {
    const server: unknown = app.server;
    if (!(server instanceof TlsServer)) throw new TypeError('expected Fastify to serve HTTPS');
    const refusal = refusePlainHttp(server, {
      status: HTTP_STATUS.ERR_TLS_REQUIRED,
      body: new RenkeiError('ERR_TLS_REQUIRED', PLAIN_HTTP_MESSAGE).toJSON(),
    });
    // Fastify closes idle HTTP connections, not those still undecided: without this, closing would
    // wait for a silent client's timeout.
    app.addHook('preClose', (done) => {
      refusal.destroyPending();
      done();
    });
  }

  app.setErrorHandler((error: FastifyError | RenkeiError | Error, request, reply) => {
    const { status, body } = loggedErrorResponse(error, request);
    return reply.status(status).send(body);
  });

  // Fastify also parses text/plain by default; a node takes JSON only, so anything else is a 415.
  app.removeContentTypeParser('text/plain');
  // JSON parsed as Fastify's default does (secure-json-parse, refusing prototype-poisoning keys), but
  // failing with an error that says which of the three problems the body has.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.length === 0) {
      done(new RenkeiError('ERR_BODY_NOT_JSON', 'The request body is empty; send a JSON object.'), undefined);
      return;
    }
    if (nestingDepth(text) > MAX_JSON_DEPTH) {
      // Parsing it would exhaust the stack (a 500): refuse it for what it is first.
      done(
        new RenkeiError(
          'ERR_VALIDATION',
          `The request body is nested deeper than ${MAX_JSON_DEPTH} levels, which no message of this network is.`,
          { maxDepth: MAX_JSON_DEPTH },
        ),
        undefined,
      );
      return;
    }
    try {
      done(null, secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (error) {
      const poisoned = error instanceof SyntaxError && error.message.includes('forbidden prototype property');
      done(
        poisoned
          ? new RenkeiError(
              'ERR_VALIDATION',
              'The request body has a "__proto__" or "constructor.prototype" key, which no message of this network has; remove it.',
            )
          : new RenkeiError('ERR_BODY_NOT_JSON', 'The request body is not valid JSON.'),
        undefined,
      );
    }
  });

  // A signed message between nodes: a compact JWS (RFC 7515 §9.2.1's media type), checked by `serve`.
  app.addContentTypeParser('application/jose', { parseAs: 'string' }, (_request, body, done) => {
    done(null, body);
  });

  app.setNotFoundHandler((request, reply) => {
    // The path is not echoed: a caller who put an Individual Number or a code into a wrong URL must
    // not get it back (or see it in a proxy's log of our answers). The caller knows what it sent.
    const body: ErrorBody = {
      error: {
        code: 'ERR_ROUTE_NOT_FOUND',
        message: `This node has no ${request.method} route at this path; check the method and the path.`,
        details: { method: request.method },
      },
    };
    return reply.status(404).send(body);
  });

  app.get('/healthz', () => ({ status: 'ok', node: options.node }));
  app.get('/readyz', async () => {
    await checkReadiness(app.server);
    return { status: 'ready', node: options.node };
  });
  return app;
}

/** What a client that spoke plain HTTP to a TLS port reads. */
export const PLAIN_HTTP_MESSAGE =
  'This node speaks HTTPS only, with mutual TLS: use an https:// URL and connect with your party’s certificate from the network’s CA.';

/** Deeper than any message of the network; the envelope's own limit for signed messages is 32. */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of arrays and objects in JSON text, by one pass that skips strings. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/**
 * Logs an incoming request by its route's pattern (`/v1/inquiries/:processingNumber`), never by the
 * URL as sent (path values and query string), which is untrusted input. The reqId correlates it.
 */
class RouteLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    const route = request.routeOptions.url ?? '(no route)';
    // Not under `req`: Fastify's serializer for `req` would log the URL again.
    request.log.info({ method: request.method, route }, 'incoming request');
  }
}

/**
 * `toErrorResponse`, logged as a request's failure is: the code and stack of an unexpected error, the
 * code of a refusal; never the request body, which may hold personal data. `what` names the failure
 * (a request, or one part of it answered on its own, such as an inquiry of a set).
 */
export function loggedErrorResponse(
  error: unknown,
  request: FastifyRequest,
  what = 'request',
): { status: number; body: ErrorBody } {
  const answer = toErrorResponse(error, request.id);
  const { code } = answer.body.error;
  metricsOf(request.server.server)?.error(code);
  if (answer.status >= 500) {
    const stack = error instanceof Error ? error.stack : undefined;
    request.log.error({ err: { code, stack } }, `${what} failed`); // request.log carries the reqId
  } else {
    request.log.info({ code }, `${what} refused`);
  }
  return answer;
}

/** The single mapping from any thrown value to an HTTP status and an `ErrorBody`. */
export function toErrorResponse(error: unknown, requestId: string): { status: number; body: ErrorBody } {
  if (error instanceof RenkeiError) {
    return { status: error.status, body: error.toJSON() };
  }
  const fastifyCode = (error as { code?: string }).code;
  switch (fastifyCode ?? '') {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errorOf('ERR_BODY_TOO_LARGE', 'The request body is larger than this node accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errorOf('ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errorOf('ERR_BODY_NOT_JSON', 'The request body is not valid JSON.');
    default:
      break;
  }
  if (error instanceof SyntaxError || (error as { statusCode?: number }).statusCode === 400) {
    return errorOf('ERR_BODY_NOT_JSON', 'The request body is not valid JSON.');
  }
  if (storageFull(error)) {
    return errorOf(
      'ERR_STORAGE_FULL',
      'This node’s storage is full, so it cannot record anything and takes no work: nothing of this request was kept. Try again once the operator has freed space (its /readyz says when).',
    );
  }
  if ((error as { code?: unknown } | null)?.code === 'SQLITE_BUSY') {
    return errorOf(
      'ERR_DATABASE_BUSY',
      'Another process holds this node’s database file locked; try again shortly (an inquiry sent again with its requestId is answered once).',
    );
  }
  if (databaseUnreachable(error)) {
    return errorOf(
      'ERR_DATABASE_UNAVAILABLE',
      'This node cannot reach its database just now; try again shortly (an inquiry sent again with its requestId is answered once).',
    );
  }
  return {
    status: 500,
    body: {
      error: {
        code: 'ERR_INTERNAL',
        message: `An unexpected error occurred; quote request id ${requestId} to the operator.`,
        details: { requestId },
      },
    },
  };
}

/**
 * An error of the node's PostgreSQL connection, while it runs (at start, `openDatabase` answers
 * ERR_DATABASE_UNAVAILABLE itself): a connection exception or a server shutting down (SQLSTATE class
 * 08, 57P01–57P03), pg-pool's own errors for a connection lost or never made, or the socket's. A
 * request handler meets no other socket error unwrapped: calls to other nodes fail as
 * ERR_UPSTREAM_UNAVAILABLE (bounded-request.ts).
 */
function databaseUnreachable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code)) return true;
    if (
      ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'].includes(
        code,
      )
    ) {
      return true;
    }
  }
  return (
    typeof message === 'string' &&
    /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/.test(
      message,
    )
  );
}

function errorOf(code: keyof typeof HTTP_STATUS, message: string): { status: number; body: ErrorBody } {
  return { status: HTTP_STATUS[code], body: { error: { code, message, details: {} } } };
}

/**
 * Parse untrusted input with a zod schema, failing closed with `ERR_VALIDATION`. The issues name the
 * field and the rule broken; zod's messages do not echo the rejected value.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'request'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.join('.') || '(root)',
    message: issue.message,
  }));
  const first = issues[0];
  throw new RenkeiError(
    'ERR_VALIDATION',
    `The ${what} is invalid: ${first ? `${first.path}: ${first.message}` : 'unknown problem'}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}.`,
    { issues },
  );
}

/** Start listening and return the base URL (`https://127.0.0.1:PORT` with TLS). Port 0 picks a free port. */
export async function listen(app: FastifyInstance, port: number, host = '127.0.0.1'): Promise<string> {
  try {
    await app.listen({ port, host });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new RenkeiError(
      'ERR_PORT_IN_USE',
      `Port ${port} on ${host} is already in use, by another Renkei network or another program. ` +
        'Stop it, or choose other ports (renkei start --port-base 7300; npm start -- --port-base 7300).',
      { port, host },
    );
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
  return `${app.server instanceof TlsServer ? 'https' : 'http'}://${host}:${address.port}`;
}

/** Narrow an `ErrorBody` received from another node. */
export function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as { error?: { code?: unknown } } | null)?.error;
  return typeof error === 'object' && error !== null && isErrorCode(error.code);
}
