/**
 * The one seam through which a node reaches another node. A service calls a typed client
 * (`createClient`); the client hands each call to the `Transport` it was given. Everything about
 * *how* a call crosses the network lives behind this interface: today plain HTTP with keep-alive
 * (`httpTransport`); with the trust layer, mutual TLS, a signed envelope around every message and the
 * end-to-end encryption of answers. Services and clients do not change when the transport does.
 */
import type { NamedRoute } from './api.ts';

export interface TransportRequest {
  /** The operation: its API and name tell a signing transport what message type it carries. */
  route: NamedRoute;
  /** The peer's name in errors ("the core", "institution 131016"). */
  peer: string;
  /** The peer's party id, when the caller knows it (always, between nodes). */
  party: string | undefined;
  baseUrl: string;
  /** The route's path with its parameters filled in and encoded. */
  path: string;
  query: Record<string, string> | undefined;
  /** The message; serialized by the transport. Undefined for routes without a body. */
  body: unknown;
  /** The whole call's deadline, headers and body together (the transport's default otherwise). */
  timeoutMs: number | undefined;
  /** Most bytes of answer read before the call is cut (the transport's default otherwise). */
  maxAnswerBytes: number | undefined;
}

export interface TransportResponse {
  status: number;
  /** The parsed JSON answer; undefined for an empty body. */
  body: unknown;
}

export interface Transport {
  /**
   * Send one request and return the peer's answer, whatever its status. A peer that cannot be
   * reached, answers past the call's deadline, or answers something that is not JSON, is
   * `ERR_UPSTREAM_UNAVAILABLE` naming the peer; one whose answer is larger than the call's bound is
   * `ERR_ANSWER_TOO_LARGE`, and no more of it is read.
   */
  send(request: TransportRequest): Promise<TransportResponse>;
  /** Release connections. */
  close(): Promise<void>;
}
