import { RenkeiError } from '../shared/errors.ts';
import { isErrorBody } from '../shared/http.ts';

/**
 * JSON over HTTP to another node. A node's error answer becomes a `RenkeiError` with the same code;
 * a node that cannot be reached becomes `ERR_UPSTREAM_UNAVAILABLE` naming the node, never the payload.
 */
export interface NodeClient {
  post<T>(path: string, body: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  get<T>(path: string): Promise<T>;
}

export function nodeClient(baseUrl: string, peer: string, timeoutMs = 10_000): NodeClient {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, baseUrl), {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `${peer} could not be reached.`, {
        peer,
        cause: cause instanceof Error ? cause.name : 'unknown',
      });
    }
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `${peer} answered with a body that is not JSON.`, {
          peer,
          status: response.status,
        });
      }
    }
    if (!response.ok) {
      if (isErrorBody(parsed)) {
        throw new RenkeiError(parsed.error.code, parsed.error.message, { ...parsed.error.details, peer });
      }
      throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `${peer} answered HTTP ${response.status}.`, {
        peer,
        status: response.status,
      });
    }
    return parsed as T;
  }
  return {
    post: (path, body) => call('POST', path, body),
    put: (path, body) => call('PUT', path, body),
    get: (path) => call('GET', path),
  };
}
