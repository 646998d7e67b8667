import { join } from 'node:path';
import { systemClock, type Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { openMessageArchive, type MessageArchive } from '../shared/message-archive.ts';
import { openSecurityLog, type SecurityLog } from '../shared/security-log.ts';
import { loadNodeTrust, type NodeTrust } from './node-trust.ts';
import type { ReplayGuard } from '../trust/envelope/replay-guard.ts';
import { secureTransport } from './secure-transport.ts';
import type { SecurityEventSink } from './server.ts';
import type { Transport } from './transport.ts';

/** How a node joins the network's trust layer (what `renkei start` and a node's config give it). */
export interface NodeSecurityOptions {
  /** The network's PKI directory, holding this node's certificates and the CA bundle. */
  pkiDir: string;
  /** Where the CRL comes from: the core's publication URL, or (for the core) the PKI's file. */
  crl: { url: string } | { file: string };
  /** How long a fetched CRL is trusted (default 5 minutes). */
  revocationMaxAgeMs?: number;
  /**
   * The trust layer's clock (certificate validity, CRL age, message age): real time by default,
   * whatever clock the node's business logic runs on (a demo may replay a scenario on a past date,
   * but TLS peers check certificates against real time).
   */
  clock?: Clock;
}

/** The file in a node's directory where it keeps the signed messages it sent and received. */
export const MESSAGE_ARCHIVE_FILE = 'messages.sqlite';

/** What a node's factory needs to stand behind the trust layer. */
export interface NodeSecurity {
  trust: NodeTrust;
  record: SecurityEventSink;
  /** Where the node keeps the signed messages it sends and receives. */
  archive: MessageArchive;
}

export interface OpenedNodeSecurity extends NodeSecurity {
  transport: Transport;
  log: SecurityLog;
  archive: MessageArchive;
  close(): Promise<void>;
}

/**
 * Load a node's certificates and keys, open its security log (`<nodeDir>/security.sqlite`) and its
 * message archive (`<nodeDir>/messages.sqlite`), and make its mutual-TLS, signing transport. Errors: ERR_CONFIG_INVALID (no certificate for the party),
 * ERR_NO_PKI, and the ERR_CERT_* codes when its own certificate is expired or revoked.
 */
export async function openNodeSecurity(options: {
  security: NodeSecurityOptions;
  partyId: string;
  nodeDir: string;
  /** Told when kept messages could not be written (the node logs it; the exchange goes on). */
  onArchiveError?: (error: unknown) => void;
  /** Where seen message ids are kept (default in memory: one process's own). */
  replay?: ReplayGuard;
}): Promise<OpenedNodeSecurity> {
  const trust = await loadNodeTrust({
    pkiDir: options.security.pkiDir,
    partyId: options.partyId,
    clock: options.security.clock ?? systemClock,
    crl: options.security.crl,
    ...('url' in options.security.crl ? { crlSaveFile: join(options.nodeDir, 'crl.der') } : {}),
    ...(options.replay === undefined ? {} : { replay: options.replay }),
    ...(options.security.revocationMaxAgeMs === undefined
      ? {}
      : { revocationMaxAgeMs: options.security.revocationMaxAgeMs }),
  });
  const log = await openSecurityLog(join(options.nodeDir, 'security.sqlite'));
  let archive: MessageArchive;
  try {
    archive = await openMessageArchive(join(options.nodeDir, MESSAGE_ARCHIVE_FILE), {
      // The code only: the message itself holds a person code and must not reach a log.
      onError: (error) => options.onArchiveError?.(error),
    });
  } catch (error) {
    await log.close();
    throw error;
  }
  const transport = secureTransport(trust, { archive });
  return {
    trust,
    transport,
    log,
    archive,
    record: (event) => log.record(event),
    async close() {
      await transport.close();
      await archive.close();
      await log.close();
    },
  };
}

/**
 * Log that kept messages could not be written: the error's name and code only, since a SQLite error can
 * quote what it was given and a message holds a person code.
 */
export function archiveFailed(logger: Logger, error: unknown): void {
  const code = (error as { code?: unknown } | undefined)?.code;
  logger.error(
    {
      err: {
        name: error instanceof Error ? error.name : typeof error,
        code: typeof code === 'string' ? code : undefined,
      },
    },
    'signed messages could not be kept in the message archive',
  );
}
