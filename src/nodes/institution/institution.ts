import type { FastifyInstance } from 'fastify';
import type { LegalTable } from '../../domain/legal-table/types.ts';
import type { Client } from '../../protocol/api.ts';
import { createItemSealer } from '../../protocol/item-sealing.ts';
import { createResidentNoticeOpener } from '../../protocol/resident-notice-sealing.ts';
import type { PortalNoticeSealer } from '../../protocol/portal-notice-sealing.ts';
import type { NodeSecurity } from '../../protocol/node-security.ts';
import type { coreApi, jlisApi } from '../../protocol/routes.ts';
import { secureApp } from '../../protocol/server.ts';
import type { InstitutionId, InstitutionKind } from '../../protocol/identifiers.ts';
import type { Clock } from '../../shared/clock.ts';
import { createHttpApp } from '../../shared/http.ts';
import { metricsOf } from '../../shared/metrics.ts';
import type { Logger } from '../../shared/logger.ts';
import { AddresseeService } from './addressee/service/persons.ts';
import { ResidentNoticeReceiver } from './addressee/service/resident-notices.ts';
import type { AddresseeStore } from './addressee/store.ts';
import { CopyService } from './intermediate/service/copies.ts';
import { InquiryService } from './intermediate/service/inquiries.ts';
import { PersonCodeService } from './intermediate/service/person-codes.ts';
import { ProvisionService } from '../../protocol/provider.ts';
import { RecordLogService, type RecordLogSigner } from './intermediate/service/record-log.ts';
import { NonDisclosureService } from './intermediate/service/non-disclosure.ts';
import { PortalNoticeSender } from './intermediate/service/portal-notices.ts';
import { PaymentRequestService } from './intermediate/service/payment-requests.ts';
import { RecordService } from './intermediate/service/records.ts';
import type { IntermediateStore } from './intermediate/store.ts';
import { registerInstitutionRoutes, type InstitutionServices } from './router.ts';
import { BulkInquiryService } from './intermediate/service/bulk-inquiries.ts';
import type { BulkInquiryStore } from './intermediate/store.ts';

export interface InstitutionDeps {
  institutionId: InstitutionId;
  kind: InstitutionKind;
  /** The addressee system's store: the only one that holds Individual Numbers. */
  addresseeStore: AddresseeStore;
  /** The intermediate server's store: a separate database, never an Individual Number. */
  intermediateStore: IntermediateStore;
  /** Bulk inquiries (一括照会), in the intermediate database. */
  bulkStore: BulkInquiryStore;
  legalTable: LegalTable;
  clock: Clock;
  logger: Logger;
  core: Client<typeof coreApi>;
  jlis: Client<typeof jlisApi>;
  /** Provision records are kept this many years (default 7). */
  retentionYears?: number;
  /** The trust layer: mutual TLS, callers checked, messages signed. Absent only in unit tests. */
  security?: NodeSecurity;
  /** Seals notices to the Myna Portal (from the network's PKI directory); absent without the trust layer. */
  portalNoticeSealer?: PortalNoticeSealer | undefined;
  /**
   * The tamper-evident record log: `signer` is the institution's identity key (from its certificate),
   * with which it signs a tree head every `everyAppends` events (default 100), every `everyMs` (default
   * 60 s) if the log grew, and at close. Without a signer the log is kept but no head is signed.
   */
  recordLog?: { signer?: RecordLogSigner; everyAppends?: number; everyMs?: number };
}

export interface Institution {
  app: FastifyInstance;
  services: InstitutionServices;
  /** The intermediate server's record log: tree heads, verification, `renkei records show`. */
  recordLog: RecordLogService;
  /** Stop the HTTP app (waking long-polls first), sign a last tree head. The stores belong to the caller. */
  close(): Promise<void>;
}

/**
 * Build an institution node (one per institution: a municipality, 日本年金機構, 協会けんぽ…) from its
 * collaborators: the addressee system and the intermediate server, each on its own store, behind
 * one HTTP app. Opening databases and reading configuration is `startInstitution`'s job.
 */
export function createInstitution(deps: InstitutionDeps): Institution {
  const node = `institution:${deps.institutionId}`;
  const logger = deps.logger.child({ system: 'intermediate' });
  const { institutionId, clock, legalTable } = deps;
  const store = deps.intermediateStore;
  const personCodes = new PersonCodeService({ institutionId, store, core: deps.core, clock, logger });
  const sealer = deps.security ? createItemSealer(deps.security.trust, deps.security.archive) : undefined;
  const sealing = sealer ? { sealer } : {};
  const inquiries = new InquiryService({
    institutionId,
    store,
    legalTable,
    core: deps.core,
    clock,
    logger,
    ...sealing,
  });
  const recordLog = new RecordLogService({ store, clock, logger, ...deps.recordLog });
  const services: InstitutionServices = {
    recordLog,
    addressee: new AddresseeService({
      institutionId,
      store: deps.addresseeStore,
      intermediate: personCodes,
      jlis: deps.jlis,
      clock,
      logger: deps.logger.child({ system: 'addressee' }),
    }),
    personCodes,
    copies: new CopyService({ store, legalTable, clock }),
    inquiries,
    bulkInquiries: new BulkInquiryService({
      store: deps.bulkStore,
      persons: store,
      inquiries,
      clock,
      logger,
    }),
    provisions: new ProvisionService({ store, legalTable, clock, logger, ...sealing }),
    residentNotices: new ResidentNoticeReceiver({
      store: deps.addresseeStore,
      intermediate: store,
      opener: deps.security ? createResidentNoticeOpener(deps.security.trust) : undefined,
      clock,
      logger: deps.logger.child({ system: 'addressee' }),
    }),
    nonDisclosure: new NonDisclosureService({ institutionId, store, core: deps.core, clock, logger }),
    portalNotices: new PortalNoticeSender({
      institutionId,
      store,
      core: deps.core,
      sealer: deps.portalNoticeSealer,
      clock,
      logger,
    }),
    paymentRequests: new PaymentRequestService({ store, trust: deps.security?.trust, logger }),
    records: new RecordService({
      store,
      clock,
      logger,
      ...(deps.retentionYears === undefined ? {} : { retentionYears: deps.retentionYears }),
    }),
  };
  const app = createHttpApp({
    logger: deps.logger,
    node,
    ...(deps.security ? { tls: deps.security.trust.tls } : {}),
  });
  if (deps.security) secureApp(app, { ...deps.security, institutionId: deps.institutionId });
  registerInstitutionRoutes(app, services);
  metricsOf(app.server)?.gauge({
    name: 'renkei_requester_inquiries',
    help: 'Inquiries of this institution’s business systems and clerks the core has not yet numbered: waiting for a send of their kind, sending, or in doubt (the core did not answer; sent again until it does).',
    labelNames: ['state'],
    read: async () => {
      const { waiting, sending, inDoubt } = await inquiries.load();
      return [
        { labels: { state: 'waiting' }, value: waiting },
        { labels: { state: 'sending' }, value: sending },
        { labels: { state: 'in_doubt' }, value: inDoubt },
      ];
    },
  });
  for (const [name, help, part] of [
    [
      'renkei_requester_sends_total',
      'Sends of inquiries to the core since start, by kind: one inquiry alone (single), clerks’ inquiries sent together (coalesced), a bulk inquiry’s batch (bulk).',
      'sends',
    ],
    [
      'renkei_requester_sent_inquiries_total',
      'Inquiries carried by those sends, by kind: divided by the sends, how many each carried.',
      'inquiries',
    ],
  ] as const) {
    metricsOf(app.server)?.counter({
      name,
      help,
      labelNames: ['kind'],
      read: () =>
        Object.entries(inquiries.sends).map(([kind, tally]) => ({ labels: { kind }, value: tally[part] })),
    });
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    services,
    recordLog,
    close: () =>
      (closing ??= (async () => {
        inquiries.close();
        await services.bulkInquiries.close();
        await app.close();
        await inquiries.whenIdle();
        // Before the caller closes the store: the last head covers every record.
        await recordLog.close();
      })()),
  };
}
