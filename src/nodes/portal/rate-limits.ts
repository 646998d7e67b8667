/**
 * The portal's rate limits, with `@fastify/rate-limit` (registered on the web listener by
 * `createPortal`, `global: false`): the route option that applies one limit to a route, and refuses
 * past it with a stable code (429, `Retry-After` set by the plugin), the caller told to wait.
 * In memory, per process: a portal run as several processes behind a balancer multiplies each
 * limit by their number.
 */
import type { FastifyRequest } from 'fastify';
import { RenkeiError } from '../../shared/errors.ts';

export interface RateLimit {
  /** Requests per window, per key. */
  max: number;
  windowMs: number;
}

export function rateLimited(options: {
  limit: RateLimit;
  /** Keeps this route's counts apart from another's with the same keys. */
  groupId: string;
  code: 'ERR_LOGIN_THROTTLED' | 'ERR_API_THROTTLED';
  /** The refusal's message, given how long to wait ("1 minute"). */
  message: (after: string) => string;
  /** Whose count a request is (default: its address). */
  keyGenerator?: ((request: FastifyRequest) => string | Promise<string>) | undefined;
  /** Each refusal, to be recorded (the key names the caller counted). */
  onExceeded: (request: FastifyRequest, key: string) => void;
}) {
  return {
    config: {
      rateLimit: {
        max: options.limit.max,
        timeWindow: options.limit.windowMs,
        groupId: options.groupId,
        ...(options.keyGenerator ? { keyGenerator: options.keyGenerator } : {}),
        onExceeded: options.onExceeded,
        errorResponseBuilder: (_request: FastifyRequest, context: { after: string }) =>
          new RenkeiError(options.code, options.message(context.after)),
      },
    },
  };
}
