import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { LegalTable } from '../../domain/legal-table/types.ts';
import { createClient } from '../../protocol/api.ts';
import { httpTransport } from '../../protocol/http-transport.ts';
import {
  archiveFailed,
  openNodeSecurity,
  type NodeSecurityOptions,
  type OpenedNodeSecurity,
} from '../../protocol/node-security.ts';
import { coreApi, jlisApi } from '../../protocol/routes.ts';
import type { Transport } from '../../protocol/transport.ts';
import { InstitutionId, type InstitutionKind } from '../../protocol/identifiers.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { migrateToLatest, nodeDatabase, openDatabase, type PostgresOption } from '../../shared/db.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { listen } from '../../shared/http.ts';
import { includeListener } from '../../shared/metrics.ts';
import { closeLogger, type Logger, type LogRotation } from '../../shared/logger.ts';
import { lockAndLog } from '../../shared/lock.ts';
import type { RunningNode } from '../../shared/node.ts';
import { createPortalNoticeSealer } from '../../protocol/portal-notice-sealing.ts';
import { createInstitution } from './institution.ts';
import { KyselyAddresseeStore, type AddresseeDatabase } from './addressee/kysely-store.ts';
import { addresseeMigrations } from './addressee/migrations.ts';
import { KyselyIntermediateStore, type IntermediateDatabase } from './intermediate/kysely-store.ts';
import type { IntermediateStore } from './intermediate/store.ts';
import { intermediateMigrations } from './intermediate/migrations.ts';
import { KyselyBulkInquiryStore } from './intermediate/kysely-bulk-store.ts';
import { createClerkConsole } from './console/clerk-console.ts';
import { createKyselyIntakeStore, type IntakeDatabase } from './console/kysely-intake-store.ts';
import { ProviderDirectory, type DirectoryEntry } from './console/directory.ts';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { AccountService } from '../../shared/web/console/accounts.ts';
import { createKyselyConsoleStore, type ConsoleDatabase } from '../../shared/web/console/kysely-store.ts';
import type { ScryptParameters } from '../../shared/web/console/passwords.ts';
import { addDatabaseCheck, addDiskCheck, pingDatabase } from '../../shared/readiness.ts';

export interface InstitutionOptions {
  dataDir: string;
  /** `GET /readyz` answers ERR_STORAGE_FULL below this much free on the data directory's disk (default 64 MiB). */
  minFreeDiskBytes?: number;
  port: number;
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
  institutionId: string;
  kind: InstitutionKind;
  coreUrl: string;
  jlisUrl: string;
  legalTable: LegalTable;
  clock?: Clock;
  logger?: Logger;
  /** When the node's own log file rotates and how many are kept (default 100 MB or daily, 14 kept). */
  logRotation?: LogRotation;
  /** Provision records are kept this many years (default 7). */
  retentionYears?: number;
  /** How the node reaches the core and J-LIS (default: a plain HTTP transport of its own). */
  transport?: Transport;
  /**
   * Wraps the transport the node would use (its own secure one included): fault injection for the
   * tests that lose the core's answer to a send. Never set by `renkei` itself.
   */
  wrapTransport?: (transport: Transport) => Transport;
  /** The trust layer: PKI directory and the core's CRL URL. */
  security?: NodeSecurityOptions;
  /** PostgreSQL instead of the SQLite files: schemas `i_<id>_addressee` and `i_<id>_intermediate`. */
  postgres?: PostgresOption;
  /**
   * For tests of a crash between two writes: wraps the intermediate store the node uses (the real
   * one, on the real files), e.g. to fail the write after the one under test as a dying node would.
   */
  wrapIntermediateStore?: (store: IntermediateStore) => IntermediateStore;
  /** The clerk console (窓口端末): a web listener of its own. Absent: no console. */
  console?: InstitutionConsoleOptions;
}

export interface InstitutionConsoleOptions {
  /** Its port (the demo: the node's port + 100, e.g. 7211 for 三条市 on 7111); 0 picks one. */
  port: number;
  /** HTTPS with these PEM files; plain HTTP without (only on 127.0.0.1, as the demo runs it). */
  tls?: { keyFile: string; certFile: string } | undefined;
  /** The institution's name in the console's header. */
  name?: string | undefined;
  /** Its English name, in the header in English (the name where none is given). */
  nameEn?: string | undefined;
  /**
   * Providers a clerk picks from, until the core's directory (`coreApi.getDirectory`, fetched when
   * the console needs it, a minute at a time) answers; the core's then serves.
   */
  directory?: readonly DirectoryEntry[] | undefined;
  /**
   * The demo only: make this clerk account when there is none of that id (its password is printed
   * by `renkei start`). Never in a deployment: make accounts with `renkei console-accounts add`.
   */
  demoClerk?: { accountId: string; displayName: string; password: string } | undefined;
  /** How long a clerk's intake sheet is kept, in hours (default 8: the working day). */
  intakeHours?: number | undefined;
  /** Faster password hashes, for tests only. */
  scrypt?: ScryptParameters | undefined;
}

const DAY_MS = 24 * 3600_000;

/**
 * Start an institution node on the embedded SQLite default: two database files, one per system,
 * under `${dataDir}/institutions/${institutionId}/`, and a log at
 * `${dataDir}/logs/institution-${institutionId}.N.log` (rotated) unless a logger is given. Pending acquisition
 * numbers left by a crash are deleted, and records past retention are purged at start and daily.
 * Once listening, it fetches from the core the answers of inquiries still pending (in the background).
 */
export async function startInstitution(options: InstitutionOptions): Promise<RunningNode> {
  const parsedId = InstitutionId.safeParse(options.institutionId);
  if (!parsedId.success) {
    throw new RenkeiError(
      'ERR_CONFIG_INVALID',
      'The institution id must be 2-32 lower-case letters, digits or hyphens.',
    );
  }
  const institutionId = parsedId.data;
  const name = `institution:${institutionId}`;
  const clock = options.clock ?? systemClock;
  const dir = join(options.dataDir, 'institutions', institutionId);
  const { lock, logger, ownLogger } = await lockAndLog({
    dir,
    lockName: 'institution',
    node: name,
    logFile: join(options.dataDir, 'logs', `institution-${institutionId}.log`),
    logger: options.logger,
    logRotation: options.logRotation,
  });
  let addresseeDb: Kysely<AddresseeDatabase> | undefined;
  let intermediateDb: Kysely<IntermediateDatabase> | undefined;
  let intermediateStore: KyselyIntermediateStore | undefined;
  let institution: ReturnType<typeof createInstitution> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let consoleApp: FastifyInstance | undefined;
  const ownTransport = options.transport === undefined;
  let transport: Transport | undefined;
  let security: OpenedNodeSecurity | undefined;
  const closeAll = async () => {
    if (timer) clearInterval(timer);
    await consoleApp?.close();
    await institution?.close();
    if (ownTransport) await transport?.close();
    await security?.close();
    await intermediateStore?.drainWrites();
    await addresseeDb?.destroy();
    await intermediateDb?.destroy();
    lock.release();
    if (ownLogger) await closeLogger(logger);
    else await new Promise<void>((resolve) => logger.flush(() => resolve()));
  };
  try {
    if (options.security) {
      security = await openNodeSecurity({
        security: options.security,
        partyId: institutionId,
        nodeDir: dir,
        onArchiveError: (error) => archiveFailed(logger, error),
      });
    }
    transport = options.transport ?? security?.transport ?? httpTransport();
    if (options.wrapTransport) transport = options.wrapTransport(transport);
    addresseeDb = await openDatabase<AddresseeDatabase>(
      nodeDatabase(options.postgres, join(dir, 'addressee.sqlite'), 'i', institutionId, 'addressee'),
    );
    intermediateDb = await openDatabase<IntermediateDatabase>(
      nodeDatabase(options.postgres, join(dir, 'intermediate.sqlite'), 'i', institutionId, 'intermediate'),
    );
    // Migrations are written against an untyped schema; the stores see the typed one.
    await migrateToLatest(addresseeDb as unknown as Kysely<unknown>, addresseeMigrations);
    await migrateToLatest(intermediateDb as unknown as Kysely<unknown>, intermediateMigrations);
    intermediateStore = new KyselyIntermediateStore(intermediateDb);
    await intermediateStore.clearAcquisitions();
    const core = createClient(coreApi, { transport, baseUrl: options.coreUrl, peer: 'core', party: 'core' });
    institution = createInstitution({
      institutionId,
      kind: options.kind,
      addresseeStore: new KyselyAddresseeStore(addresseeDb),
      intermediateStore: options.wrapIntermediateStore?.(intermediateStore) ?? intermediateStore,
      bulkStore: new KyselyBulkInquiryStore(intermediateDb),
      legalTable: options.legalTable,
      clock,
      logger,
      core,
      jlis: createClient(jlisApi, { transport, baseUrl: options.jlisUrl, peer: 'J-LIS', party: 'jlis' }),
      ...(security && options.security
        ? {
            security,
            recordLog: { signer: { key: security.trust.self.signingKey, kid: security.trust.self.kid } },
            portalNoticeSealer: createPortalNoticeSealer(security.trust, options.security.pkiDir),
          }
        : {}),
      ...(options.retentionYears === undefined ? {} : { retentionYears: options.retentionYears }),
    });
    const { records } = institution.services;
    const purge = () =>
      records.purgeProvisionRecords().catch((error: unknown) => {
        logger.error(
          { err: { message: error instanceof Error ? error.message : 'unknown' } },
          'purge failed',
        );
      });
    await purge();
    timer = setInterval(() => void purge(), DAY_MS).unref();
    const [addressees, intermediates] = [addresseeDb, intermediateDb];
    addDatabaseCheck(institution.app.server, 'addressee', () => pingDatabase(addressees));
    addDatabaseCheck(institution.app.server, 'intermediate', () => pingDatabase(intermediates));
    addDiskCheck(institution.app.server, dir, options.minFreeDiskBytes);
    const url = await listen(institution.app, options.port, options.host);
    // Answers the core kept while this node was down (see InquiryService.fetchPendingAnswers).
    institution.services.inquiries.catchUp();
    await institution.services.bulkInquiries.resume();
    let consoleUrl: string | undefined;
    if (options.console) {
      const consoleStore = createKyselyConsoleStore(intermediateDb as unknown as Kysely<ConsoleDatabase>);
      const demo = options.console.demoClerk;
      if (demo && !(await consoleStore.findAccount(demo.accountId))) {
        await new AccountService({
          store: consoleStore,
          clock,
          ...(options.console.scrypt ? { scrypt: options.console.scrypt } : {}),
        }).create({ ...demo, role: 'clerk', institutionId });
      }
      const tlsFiles = options.console.tls;
      consoleApp = await createClerkConsole({
        institutionId,
        kind: options.kind,
        name: options.console.name,
        nameEn: options.console.nameEn,
        services: institution.services,
        legalTable: options.legalTable,
        store: consoleStore,
        intakes: createKyselyIntakeStore(intermediateDb as unknown as Kysely<IntakeDatabase>),
        intakeHours: options.console.intakeHours,
        clock,
        logger: logger.child({ system: 'console' }),
        tls: tlsFiles && {
          key: readFileSync(tlsFiles.keyFile, 'utf8'),
          cert: readFileSync(tlsFiles.certFile, 'utf8'),
        },
        record: security?.record,
        directory: new ProviderDirectory({
          fetch: () => core.getDirectory({}),
          configured: options.console.directory,
          logger: logger.child({ system: 'console' }),
        }),
        scrypt: options.console.scrypt,
      });
      includeListener(institution.app, consoleApp, 'console');
      consoleUrl = await listen(consoleApp, options.console.port, options.host);
    }
    logger.info(
      { url, consoleUrl, kind: options.kind, legalTable: options.legalTable.digest },
      'institution node started',
    );
    let closing: Promise<void> | undefined;
    return {
      name,
      url,
      ...(consoleUrl === undefined ? {} : { consoleUrl }),
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
