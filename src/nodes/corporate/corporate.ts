/**
 * `createCorporate`: build the corporate-number service node from its collaborators. Nothing here
 * reads configuration or opens files (that is `main.ts`).
 */
import type { FastifyInstance } from 'fastify';
import type { NodeSecurity } from '../../protocol/node-security.ts';
import { secureApp } from '../../protocol/server.ts';
import type { Clock } from '../../shared/clock.ts';
import { createHttpApp } from '../../shared/http.ts';
import type { Logger } from '../../shared/logger.ts';
import type { CorporateStore } from './store.ts';
import { registerCorporateRoutes } from './router.ts';
import { CorporateNumberService } from './service/corporations.ts';

/** The party of the service's node certificate, and of the NTA's business credential (`nta:business`). */
export const NTA_PARTY = 'nta';

export interface CorporateDeps {
  store: CorporateStore;
  clock: Clock;
  logger: Logger;
  /** The trust layer: TLS, callers checked. Absent only in unit tests. */
  security?: NodeSecurity;
}

export interface CorporateNode {
  app: FastifyInstance;
  service: CorporateNumberService;
}

export function createCorporate(deps: CorporateDeps): CorporateNode {
  const service = new CorporateNumberService(deps);
  const app = createHttpApp({
    logger: deps.logger,
    node: 'corporate',
    ...(deps.security ? { tls: deps.security.trust.tls } : {}),
  });
  if (deps.security) secureApp(app, { ...deps.security, institutionId: NTA_PARTY });
  registerCorporateRoutes(app, service);
  return { app, service };
}
