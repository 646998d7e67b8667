import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { createClient } from '../../protocol/api.ts';
import { httpTransport } from '../../protocol/http-transport.ts';
import {
  archiveFailed,
  openNodeSecurity,
  type NodeSecurityOptions,
  type OpenedNodeSecurity,
} from '../../protocol/node-security.ts';
import { createResidentNoticeSealer } from '../../protocol/resident-notice-sealing.ts';
import { coreApi } from '../../protocol/routes.ts';
import type { Transport } from '../../protocol/transport.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { nodeDatabase, openDatabase, type PostgresOption } from '../../shared/db.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { listen } from '../../shared/http.ts';
import { includeListener } from '../../shared/metrics.ts';
import { closeLogger, type Logger, type LogRotation } from '../../shared/logger.ts';
import { lockAndLog } from '../../shared/lock.ts';
import type { RunningNode } from '../../shared/node.ts';
import { migrateJlisDatabase } from './migrations.ts';
import { NUMBERING_KEY_BYTES } from './numbering.ts';
import { createJlis, jpkiStoreOf, type Jlis } from './jlis.ts';
import { openJpkiAuthority } from './jpki/authority.ts';
import { createJpkiPublicationApp } from './jpki-publication.ts';
import { createKyselyJlisStore, type JlisDatabase } from './kysely-store.ts';
import { newNumberingKey } from './service/residents.ts';
import { addDatabaseCheck, addDiskCheck, pingDatabase } from '../../shared/readiness.ts';

export interface StartJlisOptions {
  dataDir: string;
  /** `GET /readyz` answers ERR_STORAGE_FULL below this much free on the data directory's disk (default 64 MiB). */
  minFreeDiskBytes?: number;
  port: number;
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
  coreUrl: string;
  clock?: Clock;
  logger?: Logger;
  /** When the node's own log file rotates and how many are kept (default 100 MB or daily, 14 kept). */
  logRotation?: LogRotation;
  /** How J-LIS reaches the core (default: the secure transport with `security`, plain HTTP otherwise). */
  transport?: Transport;
  /** The trust layer: PKI directory and the core's CRL URL. */
  security?: NodeSecurityOptions;
  /** PostgreSQL instead of the SQLite file: schema `jlis`. */
  postgres?: PostgresOption;
  /**
   * Port of JPKI's plain-HTTP publication listener (CRLs, OCSP, CA bundle): `jpki-publication.ts`.
   * Not started when omitted; 0 picks one.
   */
  jpkiPublicationPort?: number;
  /** The URL JPKI's certificates name for their CRL and OCSP (`http://host:port`); none when omitted. */
  jpkiPublicationUrl?: string;
}

/**
 * Start J-LIS: database `${dataDir}/jlis/jlis.sqlite`, numbering key `${dataDir}/jlis/numbering-key`
 * (created at first start, mode 0600), JPKI's CA `${dataDir}/jlis/jpki/` (created at first start), logs `${dataDir}/logs/jlis.N.log` (rotated) unless a logger is given.
 */
export async function startJlis(options: StartJlisOptions): Promise<RunningNode> {
  const dir = join(options.dataDir, 'jlis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { lock, logger, ownLogger } = await lockAndLog({
    dir,
    lockName: 'jlis',
    node: 'jlis',
    logFile: join(options.dataDir, 'logs', 'jlis.log'),
    logger: options.logger,
    logRotation: options.logRotation,
  });
  let db: Kysely<JlisDatabase> | undefined;
  let app: FastifyInstance | undefined;
  let jlis: Jlis | undefined;
  let publication: FastifyInstance | undefined;
  const ownTransport = options.transport === undefined;
  let transport: Transport | undefined;
  let security: OpenedNodeSecurity | undefined;
  const clock = options.clock ?? systemClock;
  const closeAll = async () => {
    await app?.close();
    // Notices not yet accepted stay pending in the database: the next start sends them.
    await jlis?.notices.close();
    await publication?.close();
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
        partyId: 'jlis',
        nodeDir: dir,
        onArchiveError: (error) => archiveFailed(logger, error),
      });
    }
    transport = options.transport ?? security?.transport ?? httpTransport();
    const numberingKey = loadOrCreateNumberingKey(join(dir, 'numbering-key'), logger);
    db = await openDatabase<JlisDatabase>(nodeDatabase(options.postgres, join(dir, 'jlis.sqlite'), 'jlis'));
    await migrateJlisDatabase(db);
    const authority = await openJpkiAuthority({ dir: join(dir, 'jpki'), clock, logger });
    jlis = createJlis({
      store: createKyselyJlisStore(db),
      clock,
      logger,
      core: createClient(coreApi, { transport, baseUrl: options.coreUrl, peer: 'core', party: 'core' }),
      numberingKey,
      ...(security && options.security
        ? { security, noticeSealer: createResidentNoticeSealer(security.trust, options.security.pkiDir) }
        : {}),
      jpki: {
        authority,
        store: jpkiStoreOf(db),
        ...(options.jpkiPublicationUrl === undefined ? {} : { publicationUrl: options.jpkiPublicationUrl }),
      },
    });
    app = jlis.app;
    // Before listening, so that no change committed by this run is also among them. The sending is
    // in the background: a core that is down must not hold up the start.
    await jlis.notices.resume();
    const jlisDb = db;
    addDatabaseCheck(app.server, 'jlis', () => pingDatabase(jlisDb));
    addDiskCheck(app.server, dir, options.minFreeDiskBytes);
    const url = await listen(app, options.port, options.host);
    let publicationUrl: string | undefined;
    if (options.jpkiPublicationPort !== undefined && jlis.jpki) {
      publication = createJpkiPublicationApp(jlis.jpki.certificates, authority, logger);
      includeListener(app, publication, 'publication');
      publicationUrl = await listen(publication, options.jpkiPublicationPort, options.host);
    }
    logger.info({ url, publicationUrl }, 'J-LIS started');
    let closing: Promise<void> | undefined;
    return {
      name: 'jlis',
      url,
      ...(publicationUrl === undefined ? {} : { publicationUrl }),
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * The numbering key, created with mode 0600 on first start (exclusive create, so two starts cannot
 * race into two keys). Stored as hex. Losing it does not lose anyone's number (numbers are stored);
 * it only changes how new ones are derived. A key readable by others is reported, not refused.
 */
export function loadOrCreateNumberingKey(file: string, logger: Logger): Uint8Array {
  if (!existsSync(file)) {
    try {
      writeFileSync(file, `${Buffer.from(newNumberingKey()).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600); // the umask may have narrowed `mode`; never widened it, but be exact
      logger.info('numbering key created');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  if ((statSync(file).mode & 0o077) !== 0) {
    logger.warn('the numbering key file is readable by group or others; it should be mode 0600');
  }
  const hex = readFileSync(file, 'utf8').trim();
  if (!new RegExp(`^[0-9a-f]{${NUMBERING_KEY_BYTES * 2}}$`).test(hex)) {
    throw new RenkeiError(
      'ERR_CONFIG_INVALID',
      `The J-LIS numbering key file is not ${NUMBERING_KEY_BYTES} bytes of hex.`,
      {
        file,
      },
    );
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
