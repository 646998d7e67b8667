/**
 * Start one node from its config file's contents (`renkei node`): the config's fields become the
 * options of the node's `start*` in its main.ts, the same options `launchNetwork` passes in-process.
 */
import { anomalyRules } from '../nodes/core/service/anomalies.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LegalTable } from '../domain/legal-table/types.ts';
import { startCore, type CoreWorkerOptions } from '../nodes/core/main.ts';
import { startCorporate } from '../nodes/corporate/main.ts';
import { startInstitution } from '../nodes/institution/main.ts';
import { startJlis } from '../nodes/jlis/main.ts';
import { startPortal } from '../nodes/portal/main.ts';
import type { PostgresOption } from '../shared/db.ts';
import { closeLogger, createLogger } from '../shared/logger.ts';
import type { RunningNode } from '../shared/node.ts';
import type { NodeConfig, PortalConfig } from './node-config.ts';
import type { ApiClient } from '../nodes/portal/api/authorization-server.ts';
import type { ApiRateLimits } from '../nodes/portal/api-router.ts';
import { RenkeiError } from '../shared/errors.ts';

/** The node's name in logs and on the console: `core`, `jlis`, `institution:152048`. */
export function nodeName(config: NodeConfig): string {
  return config.node === 'institution' ? `institution:${config.institution.id}` : config.node;
}

/** Where a node logs unless its config says: the file the in-process launcher uses too. */
export function defaultLogFile(config: NodeConfig): string {
  const file =
    config.node === 'institution' ? `institution-${config.institution.id}.log` : `${config.node}.log`;
  return join(config.dataDir, 'logs', file);
}

/** The portal's API clients, each confidential one's secret read from its file (never logged). */
/** The YAML's per-minute counts as the portal's limits (the defaults for those not given). */
function apiRateLimits(given: NonNullable<PortalConfig['apiRateLimits']>): Partial<ApiRateLimits> {
  const perMinute = (max: number | undefined) => (max === undefined ? undefined : { max, windowMs: 60_000 });
  const token = perMinute(given.tokenPerMinute);
  const api = perMinute(given.apiPerMinute);
  return { ...(token ? { token } : {}), ...(api ? { api } : {}) };
}

function readApiClients(clients: NonNullable<PortalConfig['apiClients']>): ApiClient[] {
  return clients.map(({ secretFile, ...client }) => {
    if (secretFile === undefined) return client;
    let secret: string;
    try {
      secret = readFileSync(secretFile, 'utf8').trim();
    } catch {
      throw new RenkeiError(
        'ERR_CONFIG_INVALID',
        `The secret file of API client ${client.clientId} cannot be read.`,
        {
          fields: ['apiClients'],
        },
      );
    }
    if (secret.length < 32) {
      throw new RenkeiError(
        'ERR_CONFIG_INVALID',
        `The secret of API client ${client.clientId} is shorter than 32 characters.`,
        {
          fields: ['apiClients'],
        },
      );
    }
    return { ...client, secret };
  });
}

function postgresOf(config: NodeConfig): { postgres?: PostgresOption } {
  if (config.database === undefined) return {};
  return { postgres: typeof config.database === 'string' ? { url: config.database } : config.database };
}

/**
 * Start the node a config describes, logging to its log file. `close()` stops it and then flushes
 * and closes the log. Errors: those of the node's `start*` (ERR_CONFIG_INVALID, ERR_NO_PKI,
 * ERR_PORT_IN_USE, ERR_DATA_DIR_IN_USE, ERR_DATABASE_UNAVAILABLE…).
 */
export async function runNode(
  config: NodeConfig,
  legalTable: LegalTable,
  /** For one of several core processes (core-workers.ts): its id, and how it shares its metrics. */
  extra: { worker?: CoreWorkerOptions } = {},
): Promise<RunningNode> {
  const logger = await createLogger({
    node: nodeName(config),
    file: config.log?.file ?? defaultLogFile(config),
    ...(config.log?.level === undefined ? {} : { level: config.log.level }),
  });
  const common = {
    dataDir: config.dataDir,
    port: config.port,
    logger,
    ...(config.host === undefined ? {} : { host: config.host }),
    ...(config.minFreeDiskMiB === undefined ? {} : { minFreeDiskBytes: config.minFreeDiskMiB * 1024 * 1024 }),
    ...postgresOf(config),
  };
  const revocation =
    config.pki.revocationMaxAgeMs === undefined ? {} : { revocationMaxAgeMs: config.pki.revocationMaxAgeMs };
  const retention = config.retentionYears === undefined ? {} : { retentionYears: config.retentionYears };
  let node: RunningNode;
  try {
    switch (config.node) {
      case 'core':
        node = await startCore({
          ...common,
          ...retention,
          legalTable,
          security: { pkiDir: config.pki.dir, ...revocation },
          publicationPort: config.publicationPort ?? (config.port === 0 ? 0 : config.port + 2),
          ...(config.headWatchMinutes === undefined ? {} : { headWatchMs: config.headWatchMinutes * 60_000 }),
          ...(extra.worker === undefined ? {} : { worker: extra.worker }),
          ...(config.console === undefined
            ? {}
            : {
                console: {
                  port: config.console.port,
                  demoAccounts: config.console.demoAccounts,
                  anomalyRules: anomalyRules(config.console.anomalyRules),
                  tls: config.console.tls && {
                    keyFile: config.console.tls.key,
                    certFile: config.console.tls.cert,
                  },
                },
              }),
        });
        break;
      case 'jlis':
        node = await startJlis({
          ...common,
          coreUrl: config.coreUrl,
          security: { pkiDir: config.pki.dir, crl: { url: config.pki.crlUrl }, ...revocation },
          jpkiPublicationPort: config.jpkiPublicationPort ?? (config.port === 0 ? 0 : config.port + 3),
        });
        break;
      case 'institution':
        node = await startInstitution({
          ...common,
          ...retention,
          legalTable,
          institutionId: config.institution.id,
          kind: config.institution.kind,
          coreUrl: config.coreUrl,
          jlisUrl: config.jlisUrl,
          security: { pkiDir: config.pki.dir, crl: { url: config.pki.crlUrl }, ...revocation },
          ...(config.console === undefined
            ? {}
            : {
                console: {
                  port: config.console.port,
                  name: config.console.name,
                  nameEn: config.console.nameEn,
                  directory: config.console.directory,
                  demoClerk: config.console.demoClerk,
                  intakeHours: config.console.intakeHours,
                  tls: config.console.tls && {
                    keyFile: config.console.tls.key,
                    certFile: config.console.tls.cert,
                  },
                },
              }),
        });
        break;
      case 'portal':
        node = await startPortal({
          ...common,
          networkPort: config.networkPort ?? (config.port === 0 ? 0 : config.port + 2),
          jlisUrl: config.jlisUrl,
          coreUrl: config.coreUrl,
          corePublicationUrl: config.corePublicationUrl ?? new URL(config.pki.crlUrl).origin,
          legalTable,
          jpkiPublicationUrl: config.jpkiPublicationUrl,
          ...(config.origin === undefined ? {} : { origin: config.origin }),
          ...(config.readerUrl === undefined ? {} : { readerUrl: config.readerUrl }),
          ...(config.informationProviders === undefined
            ? {}
            : { informationProviders: config.informationProviders }),
          ...(config.jpkiCaBundle === undefined ? {} : { jpkiCaBundleFile: config.jpkiCaBundle }),
          // ぴったりサービス only where the config names its data: a deployment never serves the demo's.
          onestopDir: config.onestop ?? false,
          ...(config.apiClients === undefined ? {} : { apiClients: readApiClients(config.apiClients) }),
          ...(config.apiRateLimits === undefined
            ? {}
            : { apiPolicy: { rateLimits: apiRateLimits(config.apiRateLimits) } }),
          ...(config.webTls === undefined
            ? {}
            : { webTls: { keyFile: config.webTls.key, certFile: config.webTls.cert } }),
          security: { pkiDir: config.pki.dir, crl: { url: config.pki.crlUrl }, ...revocation },
        });
        break;
      case 'corporate':
        node = await startCorporate({
          ...common,
          security: { pkiDir: config.pki.dir, crl: { url: config.pki.crlUrl }, ...revocation },
          ...(config.demoCorporations === undefined ? {} : { demoCorporations: config.demoCorporations }),
        });
        break;
    }
  } catch (error) {
    await closeLogger(logger);
    throw error;
  }
  const started = node;
  let closing: Promise<void> | undefined;
  return {
    ...started,
    close: () =>
      (closing ??= (async () => {
        await started.close();
        await closeLogger(logger);
      })()),
  };
}
