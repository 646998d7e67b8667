/**
 * The portal's refusals of its own (a form of another site, a stale CSRF token, a throttled login, an
 * API token without the scope…), each a row of its security log, as the trust layer records its own:
 * the route's name, the code, the caller's address, and on the API the client the token or the
 * request names (`claimedPartyId`: never trusted as the caller, only said). The web pages, the money
 * and application pages and the API all write them through this one function.
 */
import type { FastifyRequest } from 'fastify';
import type { SecurityEventSink } from '../../protocol/server.ts';
import type { Clock } from '../../shared/clock.ts';
import type { ErrorCode } from '../../shared/errors.ts';

/** Record one refusal of `request` at `route` (`portal.*`); nothing when the portal has no sink. */
export type RecordRefusal = (
  request: FastifyRequest,
  route: string,
  code: ErrorCode,
  claimedPartyId?: string | null,
) => Promise<void>;

export function refusalRecorder(deps: {
  record?: SecurityEventSink | undefined;
  clock: Clock;
}): RecordRefusal {
  return async (request, route, code, claimedPartyId = null) => {
    await deps.record?.({
      at: deps.clock.now().toISOString(),
      route,
      partyId: null,
      claimedPartyId,
      code,
      remoteAddress: request.ip ?? null,
    });
  };
}
