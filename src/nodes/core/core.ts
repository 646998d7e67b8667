/**
 * `createCore`: build the core system (コアシステム) from its collaborators. Nothing here reads
 * configuration or the environment (that is `main.ts`), and nothing is a module-level singleton:
 * tests build a core over a real SQLite file, a fixed clock and fresh keys.
 */
import type { FastifyInstance } from 'fastify';
import type { LegalTable } from '../../domain/legal-table/types.ts';
import { createClient } from '../../protocol/api.ts';
import type { NodeSecurity } from '../../protocol/node-security.ts';
import { healthApi, networkApi, portalApi } from '../../protocol/routes.ts';
import { secureApp } from '../../protocol/server.ts';
import type { Transport } from '../../protocol/transport.ts';
import type { Clock } from '../../shared/clock.ts';
import { createHttpApp } from '../../shared/http.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { metricsOf } from '../../shared/metrics.ts';
import type { Logger } from '../../shared/logger.ts';
import type { CoreKeys } from './keys.ts';
import { registerCoreRoutes, type CoreServices } from './router.ts';
import { CodeCipher } from './service/code-cipher.ts';
import { RecordCheckService } from './service/record-checks.ts';
import { CodeService } from './service/codes.ts';
import {
  DEFAULT_MAX_CALLS_PER_INSTITUTION,
  DEFAULT_MAX_OUTBOUND_CALLS,
  OutboundLimits,
} from './service/concurrency.ts';
import { DEFAULT_MAX_RETRY_DELAY_MS, InquiryService, type ResumeSummary } from './service/inquiries.ts';
import { InquiryBatchService } from './service/inquiry-batches.ts';
import { LegalVersionService } from './service/legal-versions.ts';
import { NetworkHealthService } from './service/network-health.ts';
import type { InstitutionReach, PortalReach } from './service/reach.ts';
import { PortalNoticeService } from './service/portal-notices.ts';
import { PaymentConfirmationRelay } from './service/payment-confirmations.ts';
import { PersonRecordService } from './service/person-records.ts';
import { RecordLogService, type RecordLogSigner } from './service/record-log.ts';
import { RecordService } from './service/records.ts';
import { ResidentNoticeService } from './service/resident-notices.ts';
import { Registry } from './service/registry.ts';
import type { CoreStore } from './store.ts';

export interface CoreDeps {
  store: CoreStore;
  /**
   * The table the core starts with (`legal/`): stored as a version by `services.legalVersions.open()`
   * if new, and used alone until then (unit tests that never open the versions).
   */
  legalTable: LegalTable;
  clock: Clock;
  logger: Logger;
  keys: CoreKeys;
  /** How the core reaches institutions; the caller owns it (closes it). */
  transport: Transport;
  /** The trust layer: mutual TLS, callers checked, messages signed. Absent only in unit tests. */
  security?: NodeSecurity;
  /** Deadline of each call to an institution but a provision request (default 10 s). */
  fetchTimeoutMs?: number;
  /**
   * How long the core waits for a provider's answer, from acceptance (default 30 s); past it the
   * inquiry fails (`provider_unavailable`) at all three parties.
   */
  providerTimeoutMs?: number;
  /** Most calls in flight to one institution (default 32); the rest wait their turn. */
  maxCallsPerInstitution?: number;
  /** The longest wait between two attempts of a delivery (default 60 s). */
  maxRetryDelayMs?: number;
  /** How long provision records are kept (default 7 years). */
  retentionYears?: number;
  /** The first waits between attempts to deliver an answer (default 200 ms, 1 s, 5 s); then doubling. */
  deliveryRetryDelaysMs?: readonly number[];
  /** How long an undelivered answer's sealed items are kept for its requester (default 7 days). */
  answerRetentionMs?: number;
  /** How long a cached registry entry is trusted (default 5 s). */
  registryCacheMs?: number;
  /** Most calls to institutions in flight at once (default 256); the rest wait their turn. */
  maxOutboundCalls?: number;
  /**
   * The tamper-evident record log: `signer` is the core's identity key (from its certificate), with
   * which it signs a tree head every `everyAppends` events (default 100), every `everyMs` (default
   * 60 s) if the log grew, and at close. Without a signer the log is kept but no head is signed.
   */
  recordLog?: { signer?: RecordLogSigner; everyAppends?: number; everyMs?: number };
}

export interface Core {
  app: FastifyInstance;
  services: CoreServices;
  /** The record log: tree heads, verification, `renkei records show`. */
  recordLog: RecordLogService;
  /** Settle inquiries a previous run left in flight (see `InquiryService.resumeInFlight`). */
  resumeInFlight(): Promise<ResumeSummary>;
  /** Resolves when no forwarding or delivery is in flight. */
  whenIdle(): Promise<void>;
  /** Stop the HTTP app, cut retries short, wait for in-flight work, close the store. */
  close(): Promise<void>;
}

export function createCore(deps: CoreDeps): Core {
  const fetchTimeoutMs = deps.fetchTimeoutMs ?? 10_000;
  const reach: InstitutionReach = (institution, limits) =>
    createClient(networkApi, {
      transport: deps.transport,
      baseUrl: institution.networkUrl,
      peer: `institution ${institution.id}`,
      party: institution.id,
      timeoutMs: limits?.timeoutMs ?? fetchTimeoutMs,
      ...(limits?.maxAnswerBytes === undefined ? {} : { maxAnswerBytes: limits.maxAnswerBytes }),
    });
  const reachPortal: PortalReach = (portal) =>
    createClient(portalApi, {
      transport: deps.transport,
      baseUrl: portal.networkUrl,
      peer: `institution ${portal.id}`,
      party: portal.id,
      timeoutMs: fetchTimeoutMs,
    });
  // One set of bounds for every call to institutions: a code delivery to a slow institution waits in
  // its queue like a forward does, and holds no slot another institution needs.
  const outbound = new OutboundLimits({
    total: deps.maxOutboundCalls ?? DEFAULT_MAX_OUTBOUND_CALLS,
    perPeer: deps.maxCallsPerInstitution ?? DEFAULT_MAX_CALLS_PER_INSTITUTION,
  });
  const cipher = new CodeCipher(deps.keys);
  const registry = new Registry({
    store: deps.store,
    clock: deps.clock,
    keys: deps.keys,
    cacheMs: deps.registryCacheMs,
  });
  const codes = new CodeService({
    store: deps.store,
    registry,
    cipher,
    clock: deps.clock,
    logger: deps.logger,
    reach,
    outbound,
    queueTimeoutMs: fetchTimeoutMs,
    // The portal's first code for a person releases the notices held for them (portal-notices.ts).
    onPortalCode: (residentKey, portalId) => portalNotices.release(residentKey, portalId),
  });
  const legalVersions = new LegalVersionService({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    startTable: deps.legalTable,
  });
  const inquiries = new InquiryService({
    store: deps.store,
    registry,
    cipher,
    legalTables: legalVersions,
    clock: deps.clock,
    logger: deps.logger,
    reach,
    deliveryRetryDelaysMs: deps.deliveryRetryDelaysMs,
    outbound,
    ...(deps.providerTimeoutMs === undefined ? {} : { providerTimeoutMs: deps.providerTimeoutMs }),
    ...(deps.maxRetryDelayMs === undefined ? {} : { maxRetryDelayMs: deps.maxRetryDelayMs }),
    ...(deps.answerRetentionMs === undefined ? {} : { answerRetentionMs: deps.answerRetentionMs }),
  });
  const batches = new InquiryBatchService({
    store: deps.store,
    registry,
    cipher,
    legalTables: legalVersions,
    clock: deps.clock,
    logger: deps.logger,
    reach,
    outbound,
    inquiries,
    ...(deps.deliveryRetryDelaysMs === undefined
      ? {}
      : { deliveryRetryDelaysMs: deps.deliveryRetryDelaysMs }),
    ...(deps.providerTimeoutMs === undefined ? {} : { providerTimeoutMs: deps.providerTimeoutMs }),
    ...(deps.maxRetryDelayMs === undefined ? {} : { maxRetryDelayMs: deps.maxRetryDelayMs }),
    ...(deps.answerRetentionMs === undefined ? {} : { answerRetentionMs: deps.answerRetentionMs }),
  });
  const records = new RecordService({
    store: deps.store,
    clock: deps.clock,
    retentionYears: deps.retentionYears,
    legalTables: legalVersions,
  });
  const residentNotices = new ResidentNoticeService({
    store: deps.store,
    registry,
    cipher,
    clock: deps.clock,
    logger: deps.logger,
    reach,
    outbound,
    retryDelaysMs: deps.deliveryRetryDelaysMs,
    maxRetryDelayMs: deps.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS,
  });
  const portalNotices = new PortalNoticeService({
    store: deps.store,
    registry,
    cipher,
    clock: deps.clock,
    logger: deps.logger,
    reach: reachPortal,
    outbound,
    retryDelaysMs: deps.deliveryRetryDelaysMs,
    maxRetryDelayMs: deps.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS,
  });
  const recordLog = new RecordLogService({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    ...deps.recordLog,
  });
  const personRecords = new PersonRecordService({
    store: deps.store,
    registry,
    cipher,
    clock: deps.clock,
    logger: deps.logger,
    signHead: () => recordLog.signHead(),
  });
  // The operator's health page: each node's /readyz over the core's own transport (its certificate),
  // so a node whose database is down shows as such (ERR_DATABASE_UNAVAILABLE); /healthz for a node of
  // a version before /readyz (the core is upgraded first).
  const health = new NetworkHealthService({
    store: deps.store,
    registry,
    clock: deps.clock,
    probe: async (institution) => {
      const node = createClient(healthApi, {
        transport: deps.transport,
        baseUrl: institution.networkUrl,
        peer: `institution ${institution.id}`,
        party: institution.id,
        timeoutMs: 3_000,
      });
      await node.ready().catch(async (error: unknown) => {
        if (!(error instanceof RenkeiError && error.code === 'ERR_ROUTE_NOT_FOUND')) throw error;
        await node.health();
      });
    },
  });
  const services: CoreServices = {
    registry,
    codes,
    inquiries,
    batches,
    records,
    residentNotices,
    personRecords,
    portalNotices,
    paymentConfirmations: new PaymentConfirmationRelay({
      store: deps.store,
      registry,
      reach,
      logger: deps.logger,
    }),
    legalVersions,
    health,
    recordChecks: new RecordCheckService({
      store: deps.store,
      registry,
      recordLog,
      reach,
      clock: deps.clock,
      logger: deps.logger,
      keptSince: () => new Date(records.retentionCutoff(deps.clock.now()).getTime() + 86_400_000),
    }),
  };

  const app = createHttpApp({
    logger: deps.logger,
    node: 'core',
    ...(deps.security ? { tls: deps.security.trust.tls } : {}),
  });
  if (deps.security) secureApp(app, deps.security);
  registerCoreRoutes(app, services);
  metricsOf(app.server)?.gauge({
    name: 'renkei_core_outbound_calls',
    help: 'The core’s calls to other parties now, by party (`(all)`: the shared pool): holding a slot (state active, running or waiting for the pool) or waiting for one (state waiting). A party with calls waiting is slower than its slots.',
    labelNames: ['peer', 'state'],
    read: () =>
      outbound.load().flatMap(({ peer, active, waiting }) => [
        { labels: { peer: peer ?? '(all)', state: 'active' }, value: active },
        { labels: { peer: peer ?? '(all)', state: 'waiting' }, value: waiting },
      ]),
  });

  let closing: Promise<void> | undefined;
  return {
    app,
    services,
    recordLog,
    // Batches first: the provider notices they keep are sent by the inquiries' resume.
    resumeInFlight: async () => {
      await batches.resume();
      await residentNotices.resume();
      await portalNotices.resume();
      return inquiries.resumeInFlight();
    },
    whenIdle: async () => {
      await batches.whenIdle();
      await inquiries.whenIdle();
    },
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await batches.close();
        await inquiries.close();
        await residentNotices.close();
        await portalNotices.close();
        legalVersions.close();
        await recordLog.close();
        await deps.store.close();
      })()),
  };
}
