import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { createClient } from '../../protocol/api.ts';
import { httpTransport } from '../../protocol/http-transport.ts';
import {
  archiveFailed,
  openNodeSecurity,
  type NodeSecurityOptions,
  type OpenedNodeSecurity,
} from '../../protocol/node-security.ts';
import { coreApi, jlisApi, jpkiApi } from '../../protocol/routes.ts';
import type { LegalTable } from '../../domain/legal-table/index.ts';
import type { Transport } from '../../protocol/transport.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { nodeDatabase, openDatabase, type PostgresOption } from '../../shared/db.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { listen } from '../../shared/http.ts';
import { closeLogger, type Logger, type LogRotation } from '../../shared/logger.ts';
import { lockAndLog } from '../../shared/lock.ts';
import type { RunningNode } from '../../shared/node.ts';
import { createKyselyPortalStore, type PortalDatabase } from './kysely-store.ts';
import { createKyselyMoneyStore, type MoneyDatabase } from './kysely-money-store.ts';
import { migratePortalDatabase } from './migrations.ts';
import { KyselyPortalRecordLog } from './record-log-store.ts';
import { createKyselyMyInformationStore } from './my-information-store.ts';
import type { InformationProvider } from './service/my-information.ts';
import { PORTAL_PARTY, createPortal } from './portal.ts';
import { readJpkiTrust } from './service/jpki-verifier.ts';
import { createKyselyApplicationStore } from './kysely-application-store.ts';
import { DEMO_ONESTOP_DIR } from './demo-onestop.ts';
import { parseOnestop, type Onestop } from './service/finder.ts';
import { createKyselyApiStore } from './api-store.ts';
import { loadOrCreateApiKeys } from './api/api-keys.ts';
import type { ApiClient } from './api/authorization-server.ts';
import { createOidcAdapterFactory } from './api/oidc-adapter.ts';
import type { ApiRateLimits } from './api-router.ts';
import { addDatabaseCheck, addDiskCheck, pingDatabase } from '../../shared/readiness.ts';

export interface StartPortalOptions {
  dataDir: string;
  /** `GET /readyz` answers ERR_STORAGE_FULL below this much free on the data directory's disk (default 64 MiB). */
  minFreeDiskBytes?: number;
  /** The web listener's port (residents' browsers). */
  port: number;
  /** The network listener's port (mutual TLS: the core's code deliveries); 0 picks one. */
  networkPort: number;
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
  /** The origin browsers see (default `http(s)://<host>:<port>` as it listens). */
  origin?: string;
  /** The card reader's base URL (default http://127.0.0.1:7181). */
  readerUrl?: string;
  jlisUrl: string;
  /** The core (mutual TLS): the exchanges about a resident. */
  coreUrl: string;
  /** The core's publication listener (`http://127.0.0.1:7102`): its record-log key, its CRL. */
  corePublicationUrl: string;
  /** The legal table: names of procedures, items and clauses on page A. */
  legalTable: LegalTable;
  /** J-LIS's JPKI publication (CA bundle, OCSP): `http://127.0.0.1:7104`. */
  jpkiPublicationUrl: string;
  /**
   * J-LIS's JPKI CA bundle (PEM), as J-LIS gave it out of band. Fetched from the publication URL when
   * omitted, which trusts whoever answers there at first start: fine for the demo on one machine,
   * not for a deployment.
   */
  jpkiCaBundleFile?: string;
  /** HTTPS for the web listener: PEM files of its key and certificate. */
  webTls?: { keyFile: string; certFile: string };
  clock?: Clock;
  logger?: Logger;
  logRotation?: LogRotation;
  /** How the portal reaches J-LIS (default: the secure transport with `security`, plain HTTP otherwise). */
  transport?: Transport;
  security?: NodeSecurityOptions;
  /** PostgreSQL instead of the SQLite file: schema `portal`. */
  postgres?: PostgresOption;
  /**
   * ぴったりサービス's data: `catalogue.yaml` and `registrations/*.yaml` (default: `DEMO_ONESTOP_DIR`,
   * the demo's; a node run from its config file has none unless the file names one). `false`: a
   * portal without ぴったりサービス, so no finder, no application pages, no 申請API and no
   * 申請データダウンロード on the network listener (nor in its document).
   */
  onestopDir?: string | false;
  /** わたしの情報: the institutions the portal may ask (those its clause names are asked). */
  informationProviders?: readonly InformationProvider[];
  /** The 自己情報取得API's clients, registered by the operator (none: the API refuses every client). */
  apiClients?: readonly ApiClient[];
  /**
   * The API's timings (tests shorten them): authorization code, consent, waiting for answers; and
   * the rate limits of `/oidc/token` and `/api/v1/` (DEFAULT_API_RATE_LIMITS).
   */
  apiPolicy?: {
    codeTtlSeconds?: number;
    grantTtlSeconds?: number;
    waitMs?: number;
    rateLimits?: Partial<ApiRateLimits>;
  };
}

export interface RunningPortal extends RunningNode {
  /** The network listener's URL: the core's registry names it (`networkUrl`). */
  readonly networkUrl: string;
  /** The routes the web listener serves under `/api/v1/` (`METHOD /path`), each in its OpenAPI document. */
  apiRoutes(): string[];
}

/**
 * Start the Myna Portal: database `${dataDir}/portal/portal.sqlite`, security log and message
 * archive beside it, logs `${dataDir}/logs/portal.N.log` unless a logger is given. Errors:
 * ERR_CONFIG_INVALID (the JPKI CA bundle unusable), ERR_UPSTREAM_UNAVAILABLE (it could not be
 * fetched), and those of every node (ERR_NO_PKI, ERR_PORT_IN_USE, ERR_DATA_DIR_IN_USE…).
 */
export async function startPortal(options: StartPortalOptions): Promise<RunningPortal> {
  const dir = join(options.dataDir, 'portal');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { lock, logger, ownLogger } = await lockAndLog({
    dir,
    lockName: 'portal',
    node: 'portal',
    logFile: join(options.dataDir, 'logs', 'portal.log'),
    logger: options.logger,
    logRotation: options.logRotation,
  });
  let db: Kysely<PortalDatabase> | undefined;
  let web: FastifyInstance | undefined;
  let network: FastifyInstance | undefined;
  let security: OpenedNodeSecurity | undefined;
  let payments: { close(): Promise<void> } | undefined;
  let recordLog: { close(): Promise<void> } | undefined;
  let transport: Transport | undefined;
  const ownTransport = options.transport === undefined;
  const closeAll = async () => {
    await web?.close();
    await network?.close();
    await payments?.close();
    // Signs what the last head does not cover, before the database closes.
    await recordLog?.close();
    if (ownTransport) await transport?.close();
    await security?.close();
    await db?.destroy();
    lock.release();
    if (ownLogger) await closeLogger(logger);
  };
  try {
    if (options.security) {
      security = await openNodeSecurity({
        security: options.security,
        partyId: PORTAL_PARTY,
        nodeDir: dir,
        onArchiveError: (error) => archiveFailed(logger, error),
      });
    }
    transport = options.transport ?? security?.transport ?? httpTransport();
    const bundle = options.jpkiCaBundleFile
      ? readFileSync(options.jpkiCaBundleFile, 'utf8')
      : await fetchBundle(options.jpkiPublicationUrl);
    const jpki = await readJpkiTrust(bundle, `${options.jpkiPublicationUrl}/jpki/v1/ocsp`);
    db = await openDatabase<PortalDatabase>(
      nodeDatabase(options.postgres, join(dir, 'portal.sqlite'), 'portal'),
    );
    await migratePortalDatabase(db);
    const log = new KyselyPortalRecordLog(db as unknown as Kysely<unknown>);
    const onestopDir = options.onestopDir ?? DEMO_ONESTOP_DIR;
    const catalogue = onestopDir === false ? undefined : readOnestop(onestopDir, options.legalTable);
    const webTls = options.webTls && {
      key: readFileSync(options.webTls.keyFile, 'utf8'),
      cert: readFileSync(options.webTls.certFile, 'utf8'),
    };
    // The origin browsers see is known once the web listener listens (port 0 picks one).
    const listening = { url: '' };
    const portal = await createPortal({
      store: createKyselyPortalStore(db, log),
      moneyStore: createKyselyMoneyStore(db as unknown as Kysely<MoneyDatabase>, log),
      recordLog: {
        log,
        // Heads signed with the portal's identity key, as every party's (its certificate's key).
        ...(security
          ? { signer: { key: security.trust.self.signingKey, kid: security.trust.self.kid } }
          : {}),
      },
      pkiDir: options.security?.pkiDir,
      clock: options.clock ?? systemClock,
      logger,
      origin: options.origin ?? (() => listening.url),
      readerUrl: options.readerUrl ?? 'http://127.0.0.1:7181',
      jpki,
      jlis: createClient(jlisApi, { transport, baseUrl: options.jlisUrl, peer: 'J-LIS', party: 'jlis' }),
      core: createClient(coreApi, { transport, baseUrl: options.coreUrl, peer: 'the core', party: 'core' }),
      corePublicationUrl: options.corePublicationUrl,
      legalTable: options.legalTable,
      security,
      webTls,
      onestop: catalogue && {
        catalogue,
        store: createKyselyApplicationStore(db as unknown as Kysely<unknown>),
        jpki: createClient(jpkiApi, { transport, baseUrl: options.jlisUrl, peer: 'J-LIS', party: 'jlis' }),
      },
      myInformationStore: createKyselyMyInformationStore(db, log),
      demoCheckoutsFile: join(dir, 'demo-checkouts.json'),
      informationProviders: options.informationProviders,
      api: {
        store: createKyselyApiStore(db),
        adapter: createOidcAdapterFactory(db, options.clock ?? systemClock),
        keys: await loadOrCreateApiKeys(join(dir, 'api-keys.json')),
        clients: options.apiClients ?? [],
        ...options.apiPolicy,
      },
    });
    ({ web, network, payments, recordLog } = portal);
    const portalDb = db;
    addDatabaseCheck(network.server, 'portal', () => pingDatabase(portalDb));
    addDiskCheck(network.server, dir, options.minFreeDiskBytes);
    const networkUrl = await listen(network, options.networkPort, options.host);
    listening.url = await listen(web, options.port, options.host);
    const webUrl = listening.url;
    logger.info({ url: webUrl, networkUrl }, 'portal started');
    // Payment confirmations a previous run could not hand to the core (in the background).
    void portal.payments.resume().catch((error: unknown) => {
      logger.warn(
        { code: error instanceof RenkeiError ? error.code : undefined },
        'payments could not resume',
      );
    });
    let closing: Promise<void> | undefined;
    const { api } = portal;
    return {
      name: 'portal',
      url: webUrl,
      networkUrl,
      apiRoutes: () => api?.servedRoutes() ?? [],
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function fetchBundle(publicationUrl: string): Promise<string> {
  try {
    const response = await fetch(`${publicationUrl}/jpki/v1/ca-bundle.pem`, {
      signal: AbortSignal.timeout(10_000),
    });
    if (response.status === 200) return await response.text();
  } catch {
    // reported below, without the cause's text (it may quote the URL's credentials)
  }
  throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', 'J-LIS’s JPKI CA bundle could not be fetched.', {
    peer: 'J-LIS publication',
  });
}

/**
 * ぴったりサービス's catalogue and the municipalities' registrations, from `dir`. Errors:
 * ERR_CONFIG_INVALID when the directory, its `catalogue.yaml` or its `registrations/` cannot be read
 * (naming which), or when their content is wrong (`parseOnestop`).
 */
export function readOnestop(dir: string, legalTable: LegalTable): Onestop {
  const registrationsDir = join(dir, 'registrations');
  const readOr = <T>(read: () => T, what: string): T => {
    try {
      return read();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'an error';
      throw new RenkeiError(
        'ERR_CONFIG_INVALID',
        `ぴったりサービス (onestop): cannot read ${what} (${code}). The directory holds catalogue.yaml and registrations/<municipality>.yaml; fix the path, or omit onestop for a portal without ぴったりサービス.`,
        { file: what },
      );
    }
  };
  const catalogue = readOr(
    () => readFileSync(join(dir, 'catalogue.yaml'), 'utf8'),
    join(dir, 'catalogue.yaml'),
  );
  const names = readOr(() => readdirSync(registrationsDir), registrationsDir);
  return parseOnestop(
    {
      catalogue,
      registrations: new Map(
        names
          .filter((f) => f.endsWith('.yaml'))
          .map((f) => [
            f,
            readOr(() => readFileSync(join(registrationsDir, f), 'utf8'), join(registrationsDir, f)),
          ]),
      ),
    },
    legalTable,
  );
}
