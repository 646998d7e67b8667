import { join } from 'node:path';
import { systemClock, type Clock } from '../shared/clock.ts';
import { openSecurityLog, type SecurityLog } from '../shared/security-log.ts';
import { loadNodeTrust, type NodeTrust } from './node-trust.ts';
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

/** What a node's factory needs to stand behind the trust layer. */
export interface NodeSecurity {
  trust: NodeTrust;
  record: SecurityEventSink;
}

export interface OpenedNodeSecurity extends NodeSecurity {
  transport: Transport;
  log: SecurityLog;
  close(): Promise<void>;
}

/**
 * Load a node's certificates and keys, open its security log (`<nodeDir>/security.sqlite`) and make
 * its mutual-TLS, signing transport. Errors: ERR_CONFIG_INVALID (no certificate for the party),
 * ERR_NO_PKI, and the ERR_CERT_* codes when its own certificate is expired or revoked.
 */
export async function openNodeSecurity(options: {
  security: NodeSecurityOptions;
  partyId: string;
  nodeDir: string;
}): Promise<OpenedNodeSecurity> {
  const trust = await loadNodeTrust({
    pkiDir: options.security.pkiDir,
    partyId: options.partyId,
    clock: options.security.clock ?? systemClock,
    crl: options.security.crl,
    ...(options.security.revocationMaxAgeMs === undefined
      ? {}
      : { revocationMaxAgeMs: options.security.revocationMaxAgeMs }),
  });
  const log = await openSecurityLog(join(options.nodeDir, 'security.sqlite'));
  const transport = secureTransport(trust);
  return {
    trust,
    transport,
    log,
    record: (event) => log.record(event),
    async close() {
      await transport.close();
      await log.close();
    },
  };
}
