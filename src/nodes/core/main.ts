/**
 * `startCore`: the one place that decides where the core's files live and wires real collaborators.
 *
 * - database: `${dataDir}/core/core.sqlite`
 * - keys: `${dataDir}/core/master-keys.json`, created at first start with mode 0600, never logged
 *   (the data directory is git-ignored)
 * - log: `${dataDir}/logs/core.N.log` (asynchronous JSON lines, rotated: `logRotation`) unless a
 *   logger is passed
 *
 * On start, inquiries a previous run left in flight are settled before the port opens; see
 * `InquiryService.resumeInFlight`: forwarded-but-unanswered ones are recorded failed
 * (`provider_unavailable`), that failure is delivered to the requester and told to the provider; none
 * is re-forwarded; provided answers whose sealed items were kept are pushed again, and failure
 * notices not yet acknowledged sent again. Kept answers past
 * `answerRetentionDays` are dropped at start and hourly.
 */
import type { AnomalyRules } from './service/anomalies.ts';
import { join } from 'node:path';
import type { LegalTable } from '../../domain/legal-table/types.ts';
import type { FastifyInstance } from 'fastify';
import { httpTransport } from '../../protocol/http-transport.ts';
import { archiveFailed, openNodeSecurity, type OpenedNodeSecurity } from '../../protocol/node-security.ts';
import { pkiPaths } from '../../trust/pki/files.ts';
import { loadPki } from '../../trust/pki/view.ts';
import type { Transport } from '../../protocol/transport.ts';
import { nodeDatabase, type PostgresOption } from '../../shared/db.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { listen } from '../../shared/http.ts';
import { lockAndLog } from '../../shared/lock.ts';
import { closeLogger, type Logger, type LogRotation } from '../../shared/logger.ts';
import type { RunningNode } from '../../shared/node.ts';
import { createCore } from './core.ts';
import { includeListener, metricsOf, type NodeMetrics } from '../../shared/metrics.ts';
import { createPublicationApp } from './publication.ts';
import { coreKeyFileExists, fileCoreKeys } from './keys.ts';
import { readFileSync } from 'node:fs';
import { importX509 } from 'jose';
import { AccountService } from '../../shared/web/console/accounts.ts';
import type { ScryptParameters } from '../../shared/web/console/passwords.ts';
import { createCoreConsole } from './console/core-console.ts';
import { openCoreStore } from './kysely-store.ts';
import type { CoreStore } from './store.ts';
import { addDatabaseCheck, addDiskCheck } from '../../shared/readiness.ts';
import { partyHeadKey } from '../../trust/pki/party-key.ts';
import { HeadWatch, type HeadWatchResult } from './service/head-watch.ts';

/** One of several core processes (`CoreOptions.worker`). */
export interface CoreWorkerOptions {
  id: string;
  /** Given the core's metrics once it has them: a worker under node:cluster gathers every worker's. */
  shareMetrics?: (metrics: NodeMetrics) => void;
  /** Whether this process runs the head watch (`headWatchMs`): one of the workers does, for all. */
  watchesHeads?: boolean;
}

export interface StartCoreOptions {
  dataDir: string;
  /** `GET /readyz` answers ERR_STORAGE_FULL below this much free on the data directory's disk (default 64 MiB). */
  minFreeDiskBytes?: number;
  port: number;
  /** The address to listen on (default 127.0.0.1; `0.0.0.0` on a machine of its own). */
  host?: string;
  legalTable: LegalTable;
  clock?: Clock;
  logger?: Logger;
  /** When the node's own log file rotates and how many are kept (default 100 MB or daily, 14 kept). */
  logRotation?: LogRotation;
  /** How long provision records are kept (default 7 years); expired ones are purged at start and daily. */
  retentionYears?: number;
  /**
   * How long an undelivered answer's sealed items are kept for its requester to fetch (default 7; a
   * fraction of a day is allowed). Expired ones are dropped at start and hourly, their delivery
   * recorded failed.
   */
  answerRetentionDays?: number;
  /**
   * How long the core waits for a provider, from acceptance (default 30 s); past it the inquiry is
   * `failed` / `provider_unavailable` at all three parties.
   */
  providerTimeoutMs?: number;
  /**
   * How often the core asks every institution for its signed tree head and checks it against the one
   * it kept (service/head-watch.ts; default `HEAD_WATCH_MS`, 10 minutes; 0: never).
   */
  headWatchMs?: number;
  /** How the core reaches institutions (default: the secure transport when `security` is given, plain HTTP otherwise). */
  transport?: Transport;
  /**
   * Wraps the transport the core would use (its own secure one included): fault injection for the
   * tests that play a provider answering too late. Never set by `renkei` itself.
   */
  wrapTransport?: (transport: Transport) => Transport;
  /** The trust layer: the PKI directory (the core reads the CRL from it and publishes it). */
  /** PostgreSQL instead of the SQLite file: schema `core`. */
  postgres?: PostgresOption;
  security?: { pkiDir: string; revocationMaxAgeMs?: number };
  /** Port of the plain-HTTP publication listener (CRL, OCSP, CA bundle); with `security` only. 0 picks one. */
  publicationPort?: number;
  /**
   * One of several core processes over one PostgreSQL database (`renkei node core` with `workers:`):
   * `id` (stable across this process's restarts) owns the inquiries it carries, renewing a lease on
   * them; at start and every `LEASE_MS` it resumes only those of processes whose lease ran out; the
   * replay guard is the database's, shared by all; and the data directory's lock is the caller's
   * (the primary process holds it for all). PostgreSQL only (ERR_CONFIG_INVALID otherwise).
   */
  worker?: CoreWorkerOptions;
  /**
   * The core's console (operators and the oversight commission), a web listener of its own
   * (console/core-console.ts). Absent: no console.
   */
  console?: CoreConsoleOptions;
}

export interface CoreConsoleOptions {
  /** Its port (the demo: the core's port + 100, 7200); 0 picks one. */
  port: number;
  /** HTTPS with these PEM files; plain HTTP without (only on 127.0.0.1, as the demo runs it). */
  tls?: { keyFile: string; certFile: string } | undefined;
  /**
   * The demo only: make these accounts when there is none of their id (their password is printed by
   * `renkei start`). Never in a deployment: make accounts with `renkei console-accounts add`.
   */
  demoAccounts?: readonly DemoConsoleAccount[] | undefined;
  /** The oversight console's anomaly rules (service/anomalies.ts); the defaults without. */
  anomalyRules?: AnomalyRules | undefined;
  /** Faster password hashes, for tests only. */
  scrypt?: ScryptParameters | undefined;
}

export interface DemoConsoleAccount {
  accountId: string;
  displayName: string;
  role: 'operator' | 'oversight';
  password: string;
}

/** A core process's lease on the inquiries it carries, renewed every third of it. */
const LEASE_MS = 30_000;

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The head watch's default interval: a rewritten log is found within ten minutes of its next head,
 * for one request per institution per interval (3,600 institutions: six a second).
 */
export const HEAD_WATCH_MS = 10 * 60_000;

export async function startCore(options: StartCoreOptions): Promise<RunningNode> {
  if (options.worker && !options.postgres) {
    throw new RenkeiError('ERR_CONFIG_INVALID', 'Several core processes need PostgreSQL (database:).', {
      fields: ['workers'],
    });
  }
  const { lock, logger, ownLogger } = await lockAndLog({
    // A worker shares the first core process's directory, which that process holds.
    dir: options.worker ? undefined : join(options.dataDir, 'core'),
    lockName: 'core',
    node: 'core',
    logFile: join(options.dataDir, 'logs', 'core.log'),
    logger: options.logger,
    logRotation: options.logRotation,
  });
  let store: CoreStore | undefined;
  let core: ReturnType<typeof createCore> | undefined;
  let security: OpenedNodeSecurity | undefined;
  let publication: FastifyInstance | undefined;
  let consoleApp: FastifyInstance | undefined;
  let transport: Transport | undefined;
  const ownTransport = options.transport === undefined;
  const clock = options.clock ?? systemClock;
  let leaseTimer: NodeJS.Timeout | undefined;
  const closeSecurity = async () => {
    clearInterval(leaseTimer);
    await consoleApp?.close();
    await publication?.close();
    if (ownTransport) await transport?.close();
    await security?.close();
  };
  try {
    const opened = await openCoreStore(
      nodeDatabase(options.postgres, join(options.dataDir, 'core', 'core.sqlite'), 'core'),
      options.worker && { id: options.worker.id, now: () => systemClock.now() },
    );
    store = opened;
    if (options.security) {
      const { pkiDir } = options.security;
      security = await openNodeSecurity({
        security: { ...options.security, crl: { file: pkiPaths(pkiDir).crlDer } },
        partyId: 'core',
        nodeDir: join(options.dataDir, 'core'),
        onArchiveError: (error) => archiveFailed(logger, error),
        // Several processes: a message replayed to another one must be refused too.
        ...(options.worker ? { replay: opened.replayGuard(() => systemClock.now()) } : {}),
      });
    }
    transport = options.transport ?? security?.transport ?? httpTransport();
    if (options.wrapTransport) transport = options.wrapTransport(transport);
    const keyFile = join(options.dataDir, 'core', 'master-keys.json');
    if (!coreKeyFileExists(keyFile) && (await store.listInstitutions()).length > 0) {
      // Fresh keys would silently turn every code already issued into a forgery, and give every
      // person a second linking code: refuse to start instead.
      throw new RenkeiError(
        'ERR_CONFIG_INVALID',
        `The core's database has institutions but its key file ${keyFile} is missing; restore it.`,
      );
    }
    const keys = fileCoreKeys(keyFile);
    core = createCore({
      store,
      legalTable: options.legalTable,
      clock,
      logger,
      keys,
      transport,
      ...(security
        ? {
            security,
            recordLog: { signer: { key: security.trust.self.signingKey, kid: security.trust.self.kid } },
          }
        : {}),
      ...(options.retentionYears === undefined ? {} : { retentionYears: options.retentionYears }),
      ...(options.providerTimeoutMs === undefined ? {} : { providerTimeoutMs: options.providerTimeoutMs }),
      ...(options.answerRetentionDays === undefined
        ? {}
        : { answerRetentionMs: options.answerRetentionDays * DAY_MS }),
    });
    // Before any inquiry is decided: the versions of the legal table, the start files stored if new.
    await core.services.legalVersions.open();
    if (options.worker) {
      const leased = opened;
      // A previous run under this id is gone (this process has its id now): resume what it carried.
      await leased.dropLease();
      await core.resumeInFlight();
      const renew = () => leased.renewLease(new Date(systemClock.now().getTime() + LEASE_MS));
      await renew();
      let beats = 0;
      const resuming = core;
      leaseTimer = setInterval(() => {
        // Every third beat, resume what another process left when it died (its lease ran out).
        const sweep = ++beats % 3 === 0;
        void renew()
          .then(() => (sweep ? resuming.resumeInFlight() : undefined))
          .catch(() => logger.error('renewing the lease or resuming inquiries failed'));
      }, LEASE_MS / 3).unref();
    } else {
      await core.resumeInFlight();
    }
    const { inquiries } = core.services;
    const expireAnswers = () =>
      inquiries.expireKeptAnswers().catch(() => logger.error('expiring kept answers failed'));
    const answerTimer = setInterval(() => void expireAnswers(), HOUR_MS).unref();
    const { records } = core.services;
    const purge = () =>
      records.purgeExpiredRecords().then(
        (purged) => {
          if (purged > 0) logger.info({ purged }, 'expired provision records purged');
        },
        () => logger.error('purging expired provision records failed'),
      );
    await purge();
    const purgeTimer = setInterval(() => void purge(), DAY_MS).unref();
    let publicationUrl: string | undefined;
    if (options.security && options.publicationPort !== undefined) {
      publication = createPublicationApp(
        await loadPki({ dir: options.security.pkiDir, clock: systemClock }),
        logger,
        security && { certificatePem: security.trust.tls.cert, kid: security.trust.self.kid },
      );
      includeListener(core.app, publication, 'publication');
      publicationUrl = await listen(publication, options.publicationPort, options.host);
    }
    // Workers share the core's port: a scrape of /metrics reaches one of them, which answers every
    // worker's figures (core-workers.ts gathers them), each labelled with its worker.
    if (options.worker) {
      const metrics = metricsOf(core.app.server);
      metrics?.labelWith({ worker: options.worker.id });
      if (metrics) options.worker.shareMetrics?.(metrics);
    }
    addDatabaseCheck(core.app.server, 'core', () => opened.ping());
    addDiskCheck(core.app.server, join(options.dataDir, 'core'), options.minFreeDiskBytes);
    const url = await listen(core.app, options.port, options.host);
    let consoleUrl: string | undefined;
    if (options.console) {
      const consoleStore = opened.consoleStore();
      for (const demo of options.console.demoAccounts ?? []) {
        if (await consoleStore.findAccount(demo.accountId)) continue;
        await new AccountService({
          store: consoleStore,
          clock,
          ...(options.console.scrypt ? { scrypt: options.console.scrypt } : {}),
        }).create(demo);
      }
      const tlsFiles = options.console.tls;
      consoleApp = await createCoreConsole({
        services: core.services,
        coreStore: opened,
        recordLog: core.recordLog,
        store: consoleStore,
        clock,
        logger: logger.child({ system: 'console' }),
        tls: tlsFiles && {
          key: readFileSync(tlsFiles.keyFile, 'utf8'),
          cert: readFileSync(tlsFiles.certFile, 'utf8'),
        },
        record: security?.record,
        pkiDir: options.security?.pkiDir,
        headKey: security ? await importX509(security.trust.tls.cert, 'ES256') : undefined,
        anomalyRules: options.console.anomalyRules,
        scrypt: options.console.scrypt,
      });
      includeListener(core.app, consoleApp, 'console');
      consoleUrl = await listen(consoleApp, options.console.port, options.host);
    }
    const headWatch = startHeadWatch(core, {
      intervalMs: options.headWatchMs ?? HEAD_WATCH_MS,
      runs: options.worker === undefined || options.worker.watchesHeads === true,
      pkiDir: options.security?.pkiDir,
      store: opened,
      clock,
      logger,
    });
    logger.info(
      { url, publicationUrl, consoleUrl, legalTableDigest: options.legalTable.digest },
      'core started',
    );
    const started = core;
    let closing: Promise<void> | undefined;
    return {
      name: 'core',
      url,
      ...(publicationUrl === undefined ? {} : { publicationUrl }),
      ...(consoleUrl === undefined ? {} : { consoleUrl }),
      close: () =>
        (closing ??= (async () => {
          clearInterval(purgeTimer);
          clearInterval(answerTimer);
          clearInterval(leaseTimer);
          await headWatch?.close();
          await consoleApp?.close();
          await started.close();
          await closeSecurity();
          lock.release();
          if (ownLogger) await closeLogger(logger);
        })()),
    };
  } catch (error) {
    if (core) await core.close();
    else await store?.close();
    await closeSecurity();
    lock.release();
    if (ownLogger) {
      logger.error(
        { err: { code: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL' } },
        'core failed to start',
      );
      await closeLogger(logger);
    }
    throw error;
  }
}

/**
 * The head watch (service/head-watch.ts) over the core's registry, every `intervalMs`, its results
 * counted in the core's metrics; heads checked with the network's PKI where the core has it. None when
 * the interval is 0 or another process of the core runs it.
 */
function startHeadWatch(
  core: ReturnType<typeof createCore>,
  deps: {
    intervalMs: number;
    runs: boolean;
    pkiDir: string | undefined;
    store: CoreStore;
    clock: Clock;
    logger: Logger;
  },
): HeadWatch | undefined {
  if (!deps.runs || deps.intervalMs <= 0) return undefined;
  const { pkiDir } = deps;
  const tally: Record<HeadWatchResult, number> = {
    first: 0,
    same: 0,
    consistent: 0,
    'no-head': 0,
    finding: 0,
    unreachable: 0,
  };
  metricsOf(core.app.server)?.counter({
    name: 'renkei_core_head_watch_total',
    help: 'Institutions’ tree heads checked by the head watch since start, by result: first, same, consistent (the log grew), no-head, finding (rewritten, shrunk, unproved or badly signed: alert on any), unreachable.',
    labelNames: ['result'],
    read: () => Object.entries(tally).map(([result, value]) => ({ labels: { result }, value })),
  });
  const watch = new HeadWatch({
    registry: core.services.registry,
    recordChecks: core.services.recordChecks,
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    headKeyOf: pkiDir === undefined ? undefined : (id, kid, at) => partyHeadKey(pkiDir, id, kid, at),
    onResult: (result) => (tally[result] += 1),
  });
  watch.start(deps.intervalMs);
  return watch;
}
