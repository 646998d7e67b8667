/**
 * How an API of the network is described, once, so that the node serving it and every caller agree:
 * a route table (`routes.ts`) names each operation with its method, path, input schemas, answer
 * schema, success status and who may call it. `createClient` turns a table into a typed client over
 * a `Transport`; `serve` (server.ts) binds the same entries to a node's HTTP app. Neither side writes
 * a path or a status by hand, so they cannot drift apart.
 */
import { z } from 'zod';
import { RenkeiError, isErrorCode, type ErrorBody } from '../shared/errors.ts';
import type { Transport } from './transport.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * Who may call a route. Today this documents the contract (and the tests check each router serves
 * exactly its table); the trust layer enforces it from the caller's certificate or credential.
 *
 * - `core`, `jlis`, `institution`: a node of the network, proven by its node certificate.
 * - `portal`: the Myna Portal (マイナポータル), a node of the network whose certificate's role is `portal`.
 * - `business`: a business system or clerk of the institution whose node serves the route.
 * - `operator:<role>`: a person running the network, with that role.
 * - `municipality`: a municipality reporting residents to J-LIS (住基ネット).
 * - `relying-party`: a business or an institution verifying JPKI signatures (署名検証者); J-LIS also
 *   checks it is registered as one.
 * - `api-client`: a service registered with the Myna Portal, with a resident's OAuth 2.0 access token
 *   (the portal's `/api/v1/`, on its web listener; portal-web-api.ts).
 * - `anyone`: public (health checks, the CRL).
 */
export type Caller =
  | 'core'
  | 'jlis'
  | 'institution'
  | 'portal'
  | 'business'
  | 'municipality'
  | 'relying-party'
  | 'operator:registry'
  | 'operator:legal'
  | 'operator:keys'
  | 'operator:audit'
  | 'operator:monitoring'
  | 'api-client'
  | 'anyone';

export interface RouteDef {
  readonly method: Method;
  /** Express-style path; `:name` segments are filled from `params`. */
  readonly path: string;
  /** HTTP status of success. 204 routes answer no body (`response: NoContent`). */
  readonly status: 200 | 201 | 202 | 204;
  readonly callers: readonly Caller[];
  /** What the body is, in an error message: "The inquiry is invalid: …". */
  readonly label: string;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  readonly response: z.ZodType;
  /**
   * The success answer's media type when it is not JSON: the answer is then text of that type, read
   * as a string (`GET /metrics`, Prometheus's text format).
   */
  readonly answerMediaType?: string;
  /** Largest accepted body in bytes, when not the node's default (1 MiB). */
  readonly bodyLimit?: number;
  /**
   * Node-to-node routes: the request body travels as a signed message (a compact JWS, content type
   * `application/jose`) of this type, from the caller's key to this node.
   */
  readonly message?: string;
  /** …and the success answer travels as a signed message of this type, naming the request's hash. */
  readonly answer?: string;
  /**
   * A body field that names the caller itself (`requesterId`, `institutionId`): it must be the party
   * of the caller's certificate, or the request is refused (ERR_IDENTITY_MISMATCH). A party's
   * identity comes from its certificate, never from the body.
   */
  readonly boundTo?: string;
}

/** A route of a named API: what a transport sees, so that it can sign and log by operation. */
export interface NamedRoute extends RouteDef {
  readonly api: string;
  readonly name: string;
}

export type Api = Readonly<Record<string, NamedRoute>>;

/** The answer of a 204 route. */
export const NoContent = z.undefined();

/** Name each route of a table after its key, under the API's name (`core.submitInquiry`). */
export function defineApi<const T extends Record<string, RouteDef>>(
  api: string,
  routes: T,
): { readonly [K in keyof T]: T[K] & NamedRoute } {
  const named: Record<string, NamedRoute> = {};
  for (const [name, route] of Object.entries(routes)) named[name] = { ...route, api, name };
  return named as { readonly [K in keyof T]: T[K] & NamedRoute };
}

/**
 * Some routes of an API, for a node that serves only part of it (the Myna Portal serves six of
 * `networkApi`'s): the same entries, not copies, so the part cannot drift from the table. A node
 * serving from the part cannot serve a route outside it (the compiler refuses the name), and its
 * OpenAPI document (`NODE_APIS`) lists the part.
 */
export function pickRoutes<A extends Api, const K extends keyof A & string>(
  api: A,
  names: readonly K[],
): { readonly [N in K]: A[N] } {
  const picked: Partial<Record<K, A[K]>> = {};
  for (const name of names) picked[name] = api[name];
  return picked as { readonly [N in K]: A[N] };
}

type Part<R, K extends 'params' | 'query' | 'body'> = R extends {
  readonly [P in K]: infer S extends z.ZodType;
}
  ? { [P in K]: z.input<S> }
  : unknown;

/** What a caller passes to one route: `{ params?, query?, body? }` as the route declares them. */
export type CallInput<R extends RouteDef> = Part<R, 'params'> & Part<R, 'query'> & Part<R, 'body'>;

/** What a route answers on success, parsed. */
export type CallOutput<R extends RouteDef> = z.output<R['response']>;

type Call<R extends RouteDef> =
  Record<string, never> extends CallInput<R>
    ? (input?: CallInput<R>) => Promise<CallOutput<R>>
    : (input: CallInput<R>) => Promise<CallOutput<R>>;

export type Client<A extends Api> = { readonly [N in keyof A]: Call<A[N]> };

export interface ClientTarget {
  transport: Transport;
  /** The peer's base URL (`https://127.0.0.1:7100`). */
  baseUrl: string;
  /** The peer's name in errors: "the core", "institution 131016". */
  peer: string;
  /**
   * The peer's party id (`core`, `jlis`, `131016`): a secure transport checks the server's
   * certificate names it and addresses signed messages to it.
   */
  party?: string;
  /** Each call's deadline in ms, headers and body together (the transport's default otherwise). */
  timeoutMs?: number;
  /** Most bytes of each answer read (the transport's default otherwise). */
  maxAnswerBytes?: number;
}

/**
 * A typed client for `api` at one peer. Every answer is parsed against the route's schema: a peer's
 * answer is untrusted input, and a malformed one is `ERR_UPSTREAM_UNAVAILABLE` naming the peer. A
 * peer's error answer becomes a `RenkeiError` with the peer's code and message and `details.peer`.
 */
export function createClient<A extends Api>(api: A, target: ClientTarget): Client<A> {
  const client: Record<string, (input?: Record<string, unknown>) => Promise<unknown>> = {};
  for (const [name, route] of Object.entries(api)) {
    client[name] = (input = {}) => call(route, target, input);
  }
  return client as Client<A>;
}

async function call(
  route: NamedRoute,
  target: ClientTarget,
  input: { params?: unknown; query?: unknown; body?: unknown },
): Promise<unknown> {
  const { status, body } = await target.transport.send({
    route,
    peer: target.peer,
    party: target.party,
    baseUrl: target.baseUrl,
    path: fillPath(route.path, input.params),
    query: queryOf(input.query),
    body: input.body,
    timeoutMs: target.timeoutMs,
    maxAnswerBytes: target.maxAnswerBytes,
  });
  const { peer } = target;
  if (status < 200 || status >= 300) {
    if (isErrorBody(body)) {
      const details =
        typeof body.error.details === 'object' && body.error.details !== null ? body.error.details : {};
      throw new RenkeiError(body.error.code, body.error.message, { ...details, peer });
    }
    throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `${peer} answered HTTP ${status}.`, { peer, status });
  }
  const parsed = route.response.safeParse(body);
  if (!parsed.success) {
    throw new RenkeiError(
      'ERR_UPSTREAM_UNAVAILABLE',
      `${peer} answered ${route.method} ${route.path} with a body that does not follow the protocol.`,
      { peer, status, path: parsed.error.issues[0]?.path.join('.') ?? '' },
    );
  }
  return parsed.data;
}

function fillPath(path: string, params: unknown): string {
  // `::` is Fastify's escape for a literal colon (`/copies::batch` serves `/copies:batch`).
  return path.replace(/(::)|:([A-Za-z]+)/g, (_, escaped: string | undefined, key: string) => {
    if (escaped) return ':';
    const value = (params as Record<string, string | number | undefined> | undefined)?.[key];
    if (value === undefined) throw new TypeError(`missing path parameter ${key} for ${path}`);
    return encodeURIComponent(String(value));
  });
}

function queryOf(query: unknown): Record<string, string> | undefined {
  if (query === undefined) return undefined;
  const entries = Object.entries(query as Record<string, string | number | boolean | undefined>).filter(
    ([, v]) => v !== undefined,
  );
  return entries.length === 0 ? undefined : Object.fromEntries(entries.map(([k, v]) => [k, String(v)]));
}

/** Narrow an `ErrorBody` received from another node. */
export function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return (
    typeof error === 'object' &&
    error !== null &&
    isErrorCode(error.code) &&
    typeof error.message === 'string'
  );
}
