import { Agent } from 'undici';
import { RenkeiError } from '../shared/errors.ts';
import { DEFAULT_MAX_ANSWER_BYTES, DEFAULT_TIMEOUT_MS, boundedRequest } from './bounded-request.ts';
import type { Transport, TransportRequest, TransportResponse } from './transport.ts';

export interface HttpTransportOptions {
  /** Default deadline of a whole call, headers and body together (default 10 s). */
  timeoutMs?: number;
  /** Default bound on an answer's body (default 16 MiB). */
  maxAnswerBytes?: number;
  /** Most connections kept open to one origin (default 128). */
  connections?: number;
}

/**
 * JSON over HTTP with a keep-alive pool: the transport of the network until the trust layer adds
 * mutual TLS and signing. One transport (one pool) per node, made by the node's `main`.
 *
 * We use undici's `request` over a keep-alive agent rather than `fetch`: on the exchange path the
 * core makes two calls per inquiry, and `fetch`'s WHATWG stream machinery cost about a third of the
 * core's CPU in profiles, for features (CORS, redirects, streams) that node-to-node calls never use.
 */
export function httpTransport(options: HttpTransportOptions = {}): Transport {
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const defaultMaxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: options.connections ?? 128 });
  let closing: Promise<void> | undefined;
  return {
    async send(call: TransportRequest): Promise<TransportResponse> {
      const url = urlOf(call);
      const { peer } = call;
      const { status, text } = await boundedRequest({
        url,
        method: call.route.method,
        dispatcher: agent,
        headers: call.body === undefined ? {} : { 'content-type': 'application/json' },
        body: call.body === undefined ? null : JSON.stringify(call.body),
        peer,
        timeoutMs: call.timeoutMs ?? defaultTimeoutMs,
        maxAnswerBytes: call.maxAnswerBytes ?? defaultMaxAnswerBytes,
      });
      return { status, body: answerBody(call, text, status) };
    },
    close: () => (closing ??= agent.close()),
  };
}

/** The request's URL: base, filled path and query. */
export function urlOf(call: TransportRequest): URL {
  const url = new URL(call.path, call.baseUrl);
  if (call.query) for (const [key, value] of Object.entries(call.query)) url.searchParams.set(key, value);
  return url;
}

/** A success answer of a route whose answer is text (`answerMediaType`) as it came; any other body as JSON. */
export function answerBody(call: TransportRequest, text: string, status: number): unknown {
  if (call.route.answerMediaType !== undefined && status >= 200 && status < 300) return text;
  return parseJson(text, call.peer, status);
}

export function parseJson(text: string, peer: string, status: number): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `${peer} answered with a body that is not JSON.`, {
      peer,
      status,
    });
  }
}
