import { request, type Dispatcher } from 'undici';
import { RenkeiError } from '../shared/errors.ts';

/** Default bound on one call: headers and the whole body together. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * Default bound on an answer's size. Every answer of the route table but a provision answer is small
 * (a page of records, a status); 16 MiB is room for any of them, while an answer that never ends can
 * no longer take the caller's memory with it.
 */
export const DEFAULT_MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export interface BoundedRequest {
  url: URL;
  method: string;
  dispatcher: Dispatcher;
  headers: Record<string, string>;
  body: string | null;
  peer: string;
  /** The whole call's deadline: connecting, the headers and the last byte of the body. */
  timeoutMs: number;
  /** Most bytes of answer body read; past it the call is cut (`ERR_ANSWER_TOO_LARGE`). */
  maxAnswerBytes: number;
}

/**
 * One HTTP call under a total deadline and a size limit, answering the status and the body as text.
 *
 * undici's `headersTimeout` and `bodyTimeout` bound each *gap*: a peer that trickles a byte every few
 * seconds restarts the body timer with every byte and holds the call (and its slot in the caller's
 * queues) for as long as it trickles. So one timer over the whole call aborts it, whatever the peer
 * sends. We read the body chunk by chunk and stop at the limit rather than `body.text()`, which
 * would hold the whole answer, however large, before anything could look at its size.
 *
 * Errors: ERR_UPSTREAM_UNAVAILABLE (unreachable, or past the deadline: `details.cause` is `deadline`),
 * ERR_ANSWER_TOO_LARGE (`details.maxAnswerBytes`).
 */
export async function boundedRequest(call: BoundedRequest): Promise<{ status: number; text: string }> {
  const { peer, maxAnswerBytes } = call;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, call.timeoutMs);
  let tooLarge = false;
  try {
    const response = await request(call.url, {
      method: call.method,
      dispatcher: call.dispatcher,
      headers: call.headers,
      body: call.body,
      signal: controller.signal,
      // The deadline above bounds the call; these only keep undici's own per-gap timers out of its way.
      headersTimeout: call.timeoutMs,
      bodyTimeout: call.timeoutMs,
    });
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxAnswerBytes) {
      tooLarge = true;
      controller.abort();
      throw tooLargeError(peer, maxAnswerBytes);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      const bytes = chunk as Buffer;
      size += bytes.length;
      if (size > maxAnswerBytes) {
        tooLarge = true;
        controller.abort();
        throw tooLargeError(peer, maxAnswerBytes);
      }
      chunks.push(bytes);
    }
    return { status: response.statusCode, text: Buffer.concat(chunks, size).toString('utf8') };
  } catch (cause) {
    if (tooLarge) throw tooLargeError(peer, maxAnswerBytes);
    if (timedOut) {
      throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `${peer} did not answer in time.`, {
        peer,
        cause: 'deadline',
        timeoutMs: call.timeoutMs,
      });
    }
    throw unreachable(peer, cause);
  } finally {
    clearTimeout(timer);
  }
}

function tooLargeError(peer: string, maxAnswerBytes: number): RenkeiError {
  return new RenkeiError('ERR_ANSWER_TOO_LARGE', `${peer} answered with more than the call allows.`, {
    peer,
    maxAnswerBytes,
  });
}

export function unreachable(peer: string, cause: unknown): RenkeiError {
  return new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `${peer} could not be reached.`, {
    peer,
    cause: cause instanceof Error ? ((cause as { code?: string }).code ?? cause.name) : 'unknown',
  });
}
