import type { Client } from '../../../protocol/api.ts';
import type { networkApi, portalApi } from '../../../protocol/routes.ts';
import type { Institution } from '../model.ts';

/**
 * How the core reaches an institution: a typed client for its network side at the URL the registry
 * holds. `createCore` makes it from the transport it is given, so services never see a URL scheme,
 * a certificate or a connection pool.
 */
export type InstitutionReach = (
  institution: Pick<Institution, 'id' | 'networkUrl'>,
  /** Bounds on each call, where they differ from the core's defaults (a provision request's). */
  limits?: { timeoutMs?: number; maxAnswerBytes?: number },
) => Client<typeof networkApi>;

/** How the core reaches the Myna Portal's network side beyond `networkApi` (its notices). */
export type PortalReach = (portal: Pick<Institution, 'id' | 'networkUrl'>) => Client<typeof portalApi>;
