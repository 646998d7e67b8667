import type { FastifyInstance } from 'fastify';
import type { LegalTable } from '../../domain/legal-table/types.ts';
import type { NodeClient } from '../../network/client.ts';
import type { InstitutionId, InstitutionKind } from '../../network/messages.ts';
import type { Clock } from '../../shared/clock.ts';
import { createHttpApp } from '../../shared/http.ts';
import type { Logger } from '../../shared/logger.ts';
import { AddresseeService } from './addressee/service.ts';
import type { AddresseeStore } from './addressee/store.ts';
import { IntermediateService } from './intermediate/service.ts';
import type { IntermediateStore } from './intermediate/store.ts';
import { registerInstitutionRoutes } from './router.ts';

export interface InstitutionDeps {
  institutionId: InstitutionId;
  kind: InstitutionKind;
  /** The addressee system's store: the only one that holds Individual Numbers. */
  addresseeStore: AddresseeStore;
  /** The intermediate server's store: a separate database, never an Individual Number. */
  intermediateStore: IntermediateStore;
  legalTable: LegalTable;
  clock: Clock;
  logger: Logger;
  core: NodeClient;
  jlis: NodeClient;
  /** Provision records are kept this many years (default 7). */
  retentionYears?: number;
}

export interface Institution {
  app: FastifyInstance;
  addressee: AddresseeService;
  intermediate: IntermediateService;
  /** Stop the HTTP app (waking long-polls first). The stores belong to the caller. */
  close(): Promise<void>;
}

/**
 * Build an institution node (one per institution: a municipality, 日本年金機構, 協会けんぽ…) from its
 * collaborators: the addressee system and the intermediate server, each on its own store, behind
 * one HTTP app. Opening databases and reading configuration is `startInstitution`'s job.
 */
export function createInstitution(deps: InstitutionDeps): Institution {
  const node = `institution:${deps.institutionId}`;
  const intermediate = new IntermediateService({
    institutionId: deps.institutionId,
    store: deps.intermediateStore,
    legalTable: deps.legalTable,
    core: deps.core,
    clock: deps.clock,
    logger: deps.logger.child({ system: 'intermediate' }),
    ...(deps.retentionYears === undefined ? {} : { retentionYears: deps.retentionYears }),
  });
  const addressee = new AddresseeService({
    institutionId: deps.institutionId,
    store: deps.addresseeStore,
    intermediate,
    jlis: deps.jlis,
    clock: deps.clock,
    logger: deps.logger.child({ system: 'addressee' }),
  });
  const app = createHttpApp({ logger: deps.logger, node });
  registerInstitutionRoutes(app, { addressee, intermediate });
  let closing: Promise<void> | undefined;
  return {
    app,
    addressee,
    intermediate,
    close: () =>
      (closing ??= (async () => {
        intermediate.close();
        await app.close();
      })()),
  };
}
