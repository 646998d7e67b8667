import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import {
  archiveFailed,
  openNodeSecurity,
  type NodeSecurityOptions,
  type OpenedNodeSecurity,
} from '../../protocol/node-security.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { nodeDatabase, openDatabase, type PostgresOption } from '../../shared/db.ts';
import { listen } from '../../shared/http.ts';
import { closeLogger, type Logger, type LogRotation } from '../../shared/logger.ts';
import { lockAndLog } from '../../shared/lock.ts';
import type { RunningNode } from '../../shared/node.ts';
import { NTA_PARTY, createCorporate } from './corporate.ts';
import { createKyselyCorporateStore, type CorporateDatabase } from './kysely-store.ts';
import { migrateCorporateDatabase } from './migrations.ts';
import { seedCorporations } from './seed.ts';
import { addDatabaseCheck, addDiskCheck, pingDatabase } from '../../shared/readiness.ts';

export interface StartCorporateOptions {
  dataDir: string;
  /** `GET /readyz` answers ERR_STORAGE_FULL below this much free on the data directory's disk (default 64 MiB). */
  minFreeDiskBytes?: number;
  port: number;
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
  clock?: Clock;
  logger?: Logger;
  /** When the node's own log file rotates and how many are kept (default 100 MB or daily, 14 kept). */
  logRotation?: LogRotation;
  /** The trust layer: PKI directory and the core's CRL URL. */
  security?: NodeSecurityOptions;
  /** PostgreSQL instead of the SQLite file: schema `corporate`. */
  postgres?: PostgresOption;
  /**
   * Seed an empty register with the demo's corporations: the real public bodies and companies, the
   * demo world's local governments, and this many synthetic companies (`seed.ts`). Never in a real
   * deployment (its register comes from the NTA's designations).
   */
  demoCorporations?: number;
}

/**
 * Start the corporate-number service: database `${dataDir}/corporate/corporate.sqlite`, logs
 * `${dataDir}/logs/corporate.N.log` (rotated) unless a logger is given.
 */
export async function startCorporate(options: StartCorporateOptions): Promise<RunningNode> {
  const dir = join(options.dataDir, 'corporate');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { lock, logger, ownLogger } = await lockAndLog({
    dir,
    lockName: 'corporate',
    node: 'corporate',
    logFile: join(options.dataDir, 'logs', 'corporate.log'),
    logger: options.logger,
    logRotation: options.logRotation,
  });
  let db: Kysely<CorporateDatabase> | undefined;
  let app: FastifyInstance | undefined;
  let security: OpenedNodeSecurity | undefined;
  const closeAll = async () => {
    await app?.close();
    await security?.close();
    await db?.destroy();
    lock.release();
    if (ownLogger) await closeLogger(logger);
  };
  try {
    if (options.security) {
      security = await openNodeSecurity({
        security: options.security,
        partyId: NTA_PARTY,
        nodeDir: dir,
        onArchiveError: (error) => archiveFailed(logger, error),
      });
    }
    db = await openDatabase<CorporateDatabase>(
      nodeDatabase(options.postgres, join(dir, 'corporate.sqlite'), 'corporate'),
    );
    await migrateCorporateDatabase(db);
    const node = createCorporate({
      store: createKyselyCorporateStore(db),
      clock: options.clock ?? systemClock,
      logger,
      ...(security ? { security } : {}),
    });
    app = node.app;
    if (options.demoCorporations !== undefined) {
      const seeded = await seedCorporations(node.service, options.demoCorporations);
      if (seeded > 0) logger.info({ seeded }, 'demo corporations designated');
    }
    const corporateDb = db;
    addDatabaseCheck(app.server, 'corporate', () => pingDatabase(corporateDb));
    addDiskCheck(app.server, dir, options.minFreeDiskBytes);
    const url = await listen(app, options.port, options.host);
    logger.info({ url }, 'corporate-number service started');
    let closing: Promise<void> | undefined;
    return { name: 'corporate', url, close: () => (closing ??= closeAll()) };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
