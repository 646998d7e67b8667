import { Agent } from 'undici';
import { RenkeiError } from '../shared/errors.ts';
import { DEFAULT_MAX_ANSWER_BYTES, boundedRequest } from './bounded-request.ts';
import { isErrorBody } from '../shared/http.ts';

/**
 * JSON over HTTP to another node. A node's error answer becomes a `RenkeiError` with the same code;
 * a node that cannot be reached becomes `ERR_UPSTREAM_UNAVAILABLE` naming the node, never the payload.
 *
 * We use undici's `request` over a keep-alive agent rather than `fetch`: on the exchange path the
 * core makes two calls per inquiry, and `fetch`'s WHATWG stream machinery cost about a third of the
 * core's CPU in profiles, for features (CORS, redirects, streams) that node-to-node calls never use.
 */
export interface RawClient {
  post<T>(path: string, body: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  get<T>(path: string): Promise<T>;
}

/** One keep-alive connection pool per process, shared by every client. */
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 128 });

export function rawClient(baseUrl: string, peer: string, timeoutMs = 10_000): RawClient {
  async function call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
    const { status, text } = await boundedRequest({
      url: new URL(path, baseUrl),
      method,
      dispatcher: agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      peer,
      timeoutMs,
      maxAnswerBytes: DEFAULT_MAX_ANSWER_BYTES,
    });
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `${peer} answered with a body that is not JSON.`, {
          peer,
          status,
        });
      }
    }
    if (status < 200 || status >= 300) {
      if (isErrorBody(parsed)) {
        throw new RenkeiError(parsed.error.code, parsed.error.message, { ...parsed.error.details, peer });
      }
      throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `${peer} answered HTTP ${status}.`, { peer, status });
    }
    return parsed as T;
  }
  return {
    post: (path, body) => call('POST', path, body),
    put: (path, body) => call('PUT', path, body),
    get: (path) => call('GET', path),
  };
}
