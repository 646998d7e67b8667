/**
 * The serving half of the route table: `serve` binds one route of `routes.ts` to a node's Fastify
 * app, parsing its path parameters, query and body with the route's schemas (failing closed with
 * `ERR_VALIDATION`) before the handler sees them, and answering the route's success status. The
 * handler's return type is the route's answer schema, so the compiler checks a router against the
 * table its callers use.
 *
 * On a node with a trust context (`secureApp`), `serve` is also where the trust layer stands in front
 * of every handler, in this order:
 *
 * 1. who calls: the client certificate of the mutual-TLS connection, checked against the network's
 *    CA, its validity, its purpose and the CRL (ERR_CLIENT_CERT_REQUIRED, ERR_CERT_*);
 * 2. may they: the route's `callers` against the certificate's role and party
 *    (ERR_CALLER_NOT_ALLOWED);
 * 3. node-to-node routes: the body is a signed message of the route's type, from that same party,
 *    to this node, fresh and never seen before (ERR_MESSAGE_*, ERR_SIGNATURE_INVALID…);
 * 4. a body field naming the caller (`requesterId`…) must name the certificate's party
 *    (ERR_IDENTITY_MISMATCH);
 * 5. the answer of a node-to-node route is signed back, naming the request's hash.
 *
 * Every refusal is recorded (`SecurityEventSink`) with the route, the caller's party when known, the
 * code and the peer's address: never the body. A refused certificate's party is not known, but the
 * party it names is kept apart, as a claim (`claimedPartyId`), for the auditor asking who tried. Every
 * signed request received and every signed answer sent is kept in the node's message archive
 * (`MessageArchive`) with the signer's certificate, under the processing number it belongs to: a
 * refused inquiry's too.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { signMessage } from '../trust/envelope/sign-message.ts';
import { verifyMessage } from '../trust/envelope/verify-message.ts';
import { randomUUID } from 'node:crypto';
import { messageHash } from '../trust/envelope/message-hash.ts';
import { partyIdOf } from '../trust/pki/verify.ts';
import { RenkeiError } from '../shared/errors.ts';
import { parseInput } from '../shared/http.ts';
import { batchOf, type ArchivedMessage, type MessageArchive } from '../shared/message-archive.ts';
import { PLAIN_HTTP_REFUSED } from '../shared/plain-http-refusal.ts';
import { metricsOf } from '../shared/metrics.ts';
import type { Caller as CallerKind, NamedRoute, RouteDef } from './api.ts';
import { derToPem, type Caller, type NodeTrust } from './node-trust.ts';

type Parsed<R, K extends 'params' | 'query' | 'body'> = R extends {
  readonly [P in K]: infer S extends z.ZodType;
}
  ? z.output<S>
  : undefined;

export interface Served<R extends RouteDef> {
  params: Parsed<R, 'params'>;
  query: Parsed<R, 'query'>;
  body: Parsed<R, 'body'>;
  /** The caller as its certificate names it; undefined on a node without a trust context. */
  caller: Caller | undefined;
  /** A node-to-node request's signed message as received, and its hash (kept with the record). */
  signed: { jws: string; hash: string; id: string } | undefined;
  request: FastifyRequest;
  /** To answer another success status than the route's (e.g. 200 for an idempotent repeat of a 201). */
  reply: FastifyReply;
  /**
   * Record a refusal the handler decides (a party asking for another's inquiry) in the node's
   * security log, as the trust layer records its own; returns the error, for the handler to throw.
   * Records nothing on a node without a trust context.
   */
  refuse: (error: RenkeiError) => Promise<RenkeiError>;
}

export type Handler<R extends RouteDef> = (
  input: Served<R>,
) => z.input<R['response']> | Promise<z.input<R['response']>>;

/** A refusal by the trust layer, as a node records it. */
export interface SecurityEvent {
  at: string;
  /** `api.name` of the route, e.g. `core.submitInquiry`. */
  route: string;
  /** The caller's party, from a certificate the trust layer verified; null when none was. */
  partyId: string | null;
  /**
   * The party a refused certificate names (expired, revoked, another CA's…), read without trusting
   * it: who the caller claimed to be, never who it is. Null when the certificate was accepted (see
   * `partyId`), absent, names no party, or names one that looks like an Individual Number.
   */
  claimedPartyId: string | null;
  code: string;
  remoteAddress: string | null;
}

export type SecurityEventSink = (event: SecurityEvent) => Promise<void> | void;

interface ServerTrust {
  trust: NodeTrust;
  /** This node's institution id, for `business` routes (a business credential of *this* institution). */
  institutionId: string | undefined;
  record: SecurityEventSink;
  archive: MessageArchive | undefined;
}

const secured = new WeakMap<FastifyInstance, ServerTrust>();

/**
 * Put `app` behind the trust layer: every route `serve` binds afterwards checks its caller. The app
 * must listen with TLS and request client certificates (`createHttpApp({ tls })`).
 */
export function secureApp(
  app: FastifyInstance,
  options: {
    trust: NodeTrust;
    institutionId?: string;
    record: SecurityEventSink;
    /** Where the signed messages this node receives and answers are kept. */
    archive?: MessageArchive;
  },
): void {
  secured.set(app, {
    trust: options.trust,
    institutionId: options.institutionId,
    record: options.record,
    archive: options.archive,
  });
  const record = (code: 'ERR_TLS_REQUIRED' | 'ERR_TLS_HANDSHAKE', socket: Socket) => {
    void Promise.resolve(
      options.record({
        at: options.trust.clock.now().toISOString(),
        route: 'tls.handshake',
        partyId: null,
        claimedPartyId: null,
        code,
        remoteAddress: socket.remoteAddress ?? null,
      }),
    ).catch(() => undefined);
  };
  // Neither reaches a route, so both are recorded here. Plain HTTP is answered (400 ERR_TLS_REQUIRED)
  // before TLS sees it (`createHttpApp`), which emits PLAIN_HTTP_REFUSED once per connection; any
  // other failed handshake is Node's `tlsClientError`.
  app.server.on(PLAIN_HTTP_REFUSED, (socket: Socket) => record('ERR_TLS_REQUIRED', socket));
  app.server.on('tlsClientError', (_error: Error, socket: TLSSocket) => record('ERR_TLS_HANDSHAKE', socket));
  // What stops a node without warning unless watched: its own certificate expiring (peers then refuse
  // it), and the CRL it holds going stale (it then refuses every peer, failing closed).
  const metrics = metricsOf(app.server);
  metrics?.gauge({
    name: 'renkei_certificate_expiry_timestamp_seconds',
    help: "When this node's own certificates expire (Unix time): issue new ones (renkei pki issue) and restart the node before.",
    labelNames: ['certificate'] as const,
    read: () =>
      options.trust.certificates.map((c) => ({
        labels: { certificate: c.use },
        value: c.notAfter.getTime() / 1000,
      })),
  });
  metrics?.gauge({
    name: 'renkei_crl_current_until_timestamp_seconds',
    help: 'Until when the CRL this node holds is current (its nextUpdate, Unix time): past it, with no newer one, every peer is refused (ERR_REVOCATION_UNAVAILABLE).',
    labelNames: [] as const,
    read: () => {
      const until = options.trust.crlHeldUntil();
      return until === undefined ? [] : [{ labels: {}, value: until.getTime() / 1000 }];
    },
  });
}

export function serve<R extends NamedRoute>(app: FastifyInstance, route: R, handler: Handler<R>): void {
  app.route({
    method: route.method,
    url: route.path,
    ...(route.bodyLimit === undefined ? {} : { bodyLimit: route.bodyLimit }),
    handler: async (request, reply) => {
      const guard = secured.get(app);
      let caller: Caller | undefined;
      let signed: Served<R>['signed'];
      let rawBody: unknown = request.body;
      if (guard) {
        try {
          caller = await identify(request, guard.trust);
          authorize(route, caller, guard);
          if (route.message !== undefined && caller) {
            const verified = await verifySigned(request.body, route, caller, request, guard.trust);
            rawBody = verified.msg;
            signed = { jws: request.body as string, hash: verified.hash, id: verified.id };
          }
        } catch (error) {
          await recordRefusal(guard, route, caller, request, error);
          throw error;
        }
      }
      const params = route.params ? parseInput(route.params, request.params, 'path') : undefined;
      const query = route.query ? parseInput(route.query, request.query, 'query') : undefined;
      const body = route.body ? parseInput(route.body, rawBody ?? {}, route.label) : undefined;
      if (guard && route.boundTo !== undefined && caller) {
        const named = (body as Record<string, unknown> | undefined)?.[route.boundTo];
        if (named !== caller.partyId) {
          const error = new RenkeiError(
            'ERR_IDENTITY_MISMATCH',
            `The ${route.label} names another party in ${route.boundTo} than the certificate it was sent with; a party acts only in its own name.`,
            { field: route.boundTo },
          );
          await recordRefusal(guard, route, caller, request, error);
          throw error;
        }
      }
      reply.status(route.status);
      // The signed request as received, kept with the exchange it belongs to whatever the handler does.
      const received = (processingNumber: unknown, answered?: unknown): ArchivedMessage | undefined =>
        guard && caller && signed && route.message !== undefined
          ? {
              ...batchOf(body, answered),
              processingNumber: typeof processingNumber === 'string' ? processingNumber : null,
              direction: 'received',
              type: route.message,
              sender: caller.partyId,
              audience: guard.trust.self.partyId,
              id: signed.id,
              hash: signed.hash,
              inResponseTo: null,
              at: guard.trust.clock.now().toISOString(),
              jws: signed.jws,
              certificate: peerCertificatePem(request),
            }
          : undefined;
      const keep = (...messages: (ArchivedMessage | undefined)[]) => {
        const kept = messages.filter((m): m is ArchivedMessage => m !== undefined);
        if (guard?.archive && kept.length > 0) guard.archive.keep(kept);
      };
      const pnOfBody = (body as { processingNumber?: unknown } | undefined)?.processingNumber;
      const refuse = async (error: RenkeiError) => {
        if (guard) await recordRefusal(guard, route, caller, request, error);
        return error;
      };
      let answer: Awaited<ReturnType<Handler<R>>>;
      try {
        answer = await handler({
          params,
          query,
          body,
          caller,
          signed,
          request,
          reply,
          refuse,
        } as Served<R>);
      } catch (error) {
        keep(received(pnOfBody ?? (error instanceof RenkeiError ? error.details.processingNumber : null)));
        throw error;
      }
      const pnOfAnswer = (answer as { processingNumber?: unknown } | undefined)?.processingNumber;
      if (route.status === 204) {
        keep(received(pnOfBody ?? null));
        return reply.send();
      }
      if (guard && route.answer !== undefined && caller && signed) {
        const { trust } = guard;
        const id = randomUUID();
        const jws = await signMessage({
          id,
          type: route.answer,
          payload: answer as Record<string, unknown>,
          sender: trust.self.partyId,
          audience: caller.partyId,
          key: trust.self.signingKey,
          kid: trust.self.kid,
          clock: trust.clock,
          inResponseTo: signed.hash,
        });
        const processingNumber = pnOfBody ?? pnOfAnswer ?? null;
        keep(received(processingNumber, answer), {
          ...batchOf(answer, body),
          processingNumber: typeof processingNumber === 'string' ? processingNumber : null,
          direction: 'sent',
          type: route.answer,
          sender: trust.self.partyId,
          audience: caller.partyId,
          id,
          hash: messageHash(jws),
          inResponseTo: signed.hash,
          at: trust.clock.now().toISOString(),
          jws,
          certificate: trust.tls.cert,
        });
        return reply.type('application/jose').send(jws);
      }
      keep(received(pnOfBody ?? pnOfAnswer ?? null));
      return reply.send(answer);
    },
  });
}

/** The client certificate of each connection, read once (verification is cached by NodeTrust). */
const peers = new WeakMap<TLSSocket, { der: Uint8Array; pem?: string }>();

/** The caller's certificate as PEM, for the message archive (converted once per connection). */
function peerCertificatePem(request: FastifyRequest): string {
  const peer = peers.get(request.raw.socket as TLSSocket);
  if (!peer) return '';
  return (peer.pem ??= derToPem(peer.der));
}

async function identify(request: FastifyRequest, trust: NodeTrust): Promise<Caller | undefined> {
  const socket = request.raw.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') {
    throw new RenkeiError('ERR_TLS_REQUIRED', 'This node speaks HTTPS with a client certificate only.');
  }
  let peer = peers.get(socket);
  if (!peer) {
    const certificate = socket.getPeerCertificate(false);
    if (!certificate.raw) return undefined;
    peer = { der: new Uint8Array(certificate.raw) };
    peers.set(socket, peer);
  }
  return trust.verifyPeer(peer.der, 'tls-client');
}

function authorize(route: NamedRoute, caller: Caller | undefined, guard: ServerTrust): void {
  if (route.callers.includes('anyone')) return;
  if (!caller) {
    throw new RenkeiError(
      'ERR_CLIENT_CERT_REQUIRED',
      'This route needs a client certificate from the network’s CA; connect with your party’s certificate.',
    );
  }
  if (route.callers.some((kind) => allows(kind, caller, guard))) return;
  throw new RenkeiError(
    'ERR_CALLER_NOT_ALLOWED',
    `${route.method} ${route.path.replace('::', ':')} is not for a ${caller.role} certificate.`,
    { role: caller.role, allowed: [...route.callers] },
  );
}

/** The institution a business or clerk credential belongs to: the first part of its party id. */
function institutionOf(partyId: string): string {
  return partyId.split(':')[0] ?? '';
}

function allows(kind: CallerKind, caller: Caller, guard: ServerTrust): boolean {
  switch (kind) {
    case 'anyone':
      return true;
    case 'core':
    case 'jlis':
      return caller.role === kind && caller.partyId === kind;
    case 'portal':
      return caller.role === 'portal';
    case 'institution':
      return caller.role === 'institution';
    case 'business':
      return caller.role === 'business' && institutionOf(caller.partyId) === guard.institutionId;
    case 'municipality':
      // A municipality's own systems: its institution id is its six-digit local-government code, and
      // municipalities' codes do not end in 0000 (prefectures' do).
      return caller.role === 'business' && /^\d{2}(?!0000)\d{4}$/.test(institutionOf(caller.partyId));
    case 'relying-party':
      // Whether it is registered as one is J-LIS's to check (ERR_NOT_REGISTERED_RELYING_PARTY). The
      // portal is one for ぴったりサービス's signed applications (their S→R lookup).
      return caller.role === 'business' || caller.role === 'institution' || caller.role === 'portal';
    case 'operator:registry':
    case 'operator:legal':
    case 'operator:keys':
    case 'operator:audit':
    case 'operator:monitoring':
      // An operator's certificate names its role: `operator:<role>:<person>`.
      return caller.role === 'operator' && caller.partyId.startsWith(`${kind}:`);
    case 'api-client':
      // A resident's access token on the portal's web listener, never a certificate of the network.
      return false;
  }
}

async function verifySigned(
  body: unknown,
  route: NamedRoute,
  caller: Caller,
  request: FastifyRequest,
  trust: NodeTrust,
) {
  if (typeof body !== 'string') {
    throw new RenkeiError(
      'ERR_MESSAGE_MALFORMED',
      `Send the ${route.label} as a signed message (a compact JWS, content type application/jose).`,
      { reason: 'not_signed' },
    );
  }
  const socket = request.raw.socket as TLSSocket;
  const der = peers.get(socket)?.der;
  return verifyMessage(body, {
    expectedType: route.message ?? '',
    audience: trust.self.partyId,
    expectedSender: caller.partyId,
    resolveKey: async (kid, sender) =>
      der && kid === caller.serial && sender === caller.partyId ? trust.signingKeyOf(der, caller) : undefined,
    replay: trust.replay,
    clock: trust.clock,
  });
}

async function recordRefusal(
  guard: ServerTrust,
  route: NamedRoute,
  caller: Caller | undefined,
  request: FastifyRequest,
  error: unknown,
): Promise<void> {
  const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
  try {
    await guard.record({
      at: guard.trust.clock.now().toISOString(),
      route: `${route.api}.${route.name}`,
      partyId: caller?.partyId ?? null,
      claimedPartyId: caller ? null : claimedPartyOf(request),
      code,
      remoteAddress: request.ip ?? null,
    });
  } catch {
    request.log.error({ code }, 'a refusal could not be recorded');
  }
}

/**
 * The party named by the certificate of a request whose certificate was refused, read as
 * `partyIdOf` reads it but not trusted: anyone can write any name into a certificate of their own
 * CA. Withheld when it holds twelve digits in a row, the shape of an Individual Number, which a
 * forger could plant to get one into our logs.
 */
function claimedPartyOf(request: FastifyRequest): string | null {
  const der = peers.get(request.raw.socket as TLSSocket)?.der;
  if (der === undefined) return null;
  try {
    const claimed = partyIdOf(der);
    return /(?<!\d)\d{12}(?!\d)/.test(claimed) ? null : claimed;
  } catch {
    return null;
  }
}
