/**
 * Start a whole network in this process: the core, J-LIS and one institution node per institution,
 * each its own HTTP service with its own database under `dataDir`, talking over real HTTP. `renkei
 * demo`, `renkei start --in-process`, the scenario tests and the benchmark go through here.
 *
 * `renkei start` runs each node as its own process instead (node-processes.ts, `renkei node …`);
 * this launcher is the in-process way, and nothing in the nodes depends on sharing a process.
 */
import type { PostgresOption } from '../shared/db.ts';
import type { LegalTable } from '../domain/legal-table/types.ts';
import { startCore, type StartCoreOptions } from '../nodes/core/main.ts';
import { startInstitution, type InstitutionOptions } from '../nodes/institution/main.ts';
import { startJlis } from '../nodes/jlis/main.ts';
import { startCorporate } from '../nodes/corporate/main.ts';
import type { Clock } from '../shared/clock.ts';
import { systemClock } from '../shared/clock.ts';
import { ensureNetworkPki } from './pki-setup.ts';
import type { RunningNode } from '../shared/node.ts';
import { refreshCrl } from '../trust/pki/authority.ts';
import { connectNetwork, type NetworkClients } from './clients.ts';
import { DEMO_CORE_ACCOUNTS, demoClerk, demoDirectory, type WorldInstitution } from './world.ts';
import type { ScryptParameters } from '../shared/web/console/passwords.ts';

export interface LaunchOptions {
  dataDir: string;
  legalTable: LegalTable;
  institutions: WorldInstitution[];
  /** First port: core on `basePort`, J-LIS on `basePort + 1`, institutions from `basePort + 10`. 0 picks free ports. */
  basePort: number;
  clock?: Clock;
  /** Retention of provision records at every node, in years (default 7). */
  retentionYears?: number;
  /**
   * The trust layer (default on): mutual TLS with the network's certificates, callers checked,
   * messages signed. Off only for the benchmark's bare comparison.
   */
  secure?: boolean;
  /** How long nodes trust a fetched CRL (default 5 minutes). */
  revocationMaxAgeMs?: number;
  /**
   * How the core is started with the options the launcher chose (default `startCore`, in this
   * process). The privacy test starts it in a process of its own, to take its heap snapshot.
   */
  startCore?: (options: StartCoreOptions) => Promise<RunningNode>;
  /** How each institution is started (default `startInstitution`, in this process): as `startCore`. */
  startInstitution?: (options: InstitutionOptions) => Promise<RunningNode>;
  /** Every node's databases in schemas of this PostgreSQL database instead of SQLite files. */
  postgres?: PostgresOption;
  /**
   * Also run the corporate-number service (on `basePort + 3`), its register seeded with the demo's
   * corporations and this many synthetic ones.
   */
  corporate?: { demoCorporations: number };
  /**
   * Serve each institution's clerk console (on its port + 100, or a free port), with the demo's
   * clerk account and the world's institutions as the providers to pick from; and the core's console
   * (operators, oversight) on the core's port + 100, with the demo's two accounts.
   */
  consoles?: { scrypt?: ScryptParameters } | boolean;
}

export interface Network extends NetworkClients {
  core: RunningNode;
  jlis: RunningNode;
  /** The corporate-number service, when the network runs it. */
  corporate?: RunningNode | undefined;
  institutions: Map<string, RunningNode>;
  /** Every node, in start order. */
  nodes(): RunningNode[];
  /** The PKI directory (`<data dir>/pki`), when the network is secured. */
  pkiDir: string | undefined;
}

export async function launchNetwork(options: LaunchOptions): Promise<Network> {
  const clock = options.clock ?? systemClock;
  const port = (offset: number) => (options.basePort === 0 ? 0 : options.basePort + offset);
  const started: RunningNode[] = [];
  const secure = options.secure ?? true;
  let clients: NetworkClients | undefined;
  let crlTimer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;
  const closeAll = () =>
    (closing ??= (async () => {
      if (crlTimer) clearInterval(crlTimer);
      for (const node of [...started].reverse()) await node.close();
      await clients?.close();
    })());
  const pkiDir = secure
    ? await ensureNetworkPki({
        dataDir: options.dataDir,
        institutions: options.institutions,
        corporate: options.corporate !== undefined,
      })
    : undefined;
  if (pkiDir) {
    // The CRL is current for a day; re-sign it twice a day while the demo runs.
    crlTimer = setInterval(
      () => void refreshCrl({ dir: pkiDir, clock: systemClock }).catch(() => undefined),
      12 * 3600_000,
    );
    crlTimer.unref();
  }
  const revocation =
    options.revocationMaxAgeMs === undefined ? {} : { revocationMaxAgeMs: options.revocationMaxAgeMs };
  const retention = {
    ...(options.retentionYears === undefined ? {} : { retentionYears: options.retentionYears }),
    ...(options.postgres === undefined ? {} : { postgres: options.postgres }),
  };
  try {
    const core = await (options.startCore ?? startCore)({
      dataDir: options.dataDir,
      port: port(0),
      legalTable: options.legalTable,
      clock,
      ...retention,
      ...(pkiDir ? { security: { pkiDir, ...revocation }, publicationPort: port(2) } : {}),
      ...(options.consoles
        ? {
            console: {
              port: port(0) === 0 ? 0 : port(0) + 100,
              demoAccounts: DEMO_CORE_ACCOUNTS,
              ...(typeof options.consoles === 'object' && options.consoles.scrypt
                ? { scrypt: options.consoles.scrypt }
                : {}),
            },
          }
        : {}),
    });
    started.push(core);
    const security = pkiDir && {
      pkiDir,
      crl: { url: `${core.publicationUrl ?? ''}/pki/v1/crl` },
      ...revocation,
    };
    const jlis = await startJlis({
      dataDir: options.dataDir,
      port: port(1),
      coreUrl: core.url,
      // JPKI's CRLs and OCSP: J-LIS's port + 3 (7104 with the default port base).
      jpkiPublicationPort: port(1) === 0 ? 0 : port(1) + 3,
      clock,
      ...(options.postgres === undefined ? {} : { postgres: options.postgres }),
      ...(security ? { security } : {}),
    });
    started.push(jlis);
    const corporate =
      options.corporate === undefined
        ? undefined
        : await startCorporate({
            dataDir: options.dataDir,
            port: port(3),
            clock,
            demoCorporations: options.corporate.demoCorporations,
            ...(options.postgres === undefined ? {} : { postgres: options.postgres }),
            ...(security ? { security } : {}),
          });
    if (corporate) started.push(corporate);

    // The institutions side by side, as `renkei start` starts them: each start is mostly waiting on
    // its databases (on PostgreSQL, two schemas' creation and migrations each), so one after another
    // the demo network's start took ~20 s on a loaded machine and ran past a test hook's timeout.
    const starts = await Promise.allSettled(
      options.institutions.map((institution, index) =>
        (options.startInstitution ?? startInstitution)({
          dataDir: options.dataDir,
          port: port(10 + index),
          institutionId: institution.id,
          kind: institution.kind,
          coreUrl: core.url,
          jlisUrl: jlis.url,
          legalTable: options.legalTable,
          clock,
          ...retention,
          ...(security ? { security } : {}),
          ...(options.consoles
            ? {
                console: {
                  port: port(10 + index) === 0 ? 0 : port(10 + index) + 100,
                  name: institution.name,
                  nameEn: institution.nameEn,
                  directory: demoDirectory({ institutions: options.institutions, residents: [] }),
                  demoClerk: demoClerk(institution),
                  ...(typeof options.consoles === 'object' && options.consoles.scrypt
                    ? { scrypt: options.consoles.scrypt }
                    : {}),
                },
              }
            : {}),
        }),
      ),
    );
    const institutions = new Map<string, RunningNode>();
    starts.forEach((start, index) => {
      if (start.status !== 'fulfilled') return;
      started.push(start.value);
      institutions.set(options.institutions[index]?.id ?? '', start.value);
    });
    const failed = starts.find((start) => start.status === 'rejected');
    if (failed) throw failed.reason;
    const { institution, admin, jlisClient } = await connectNetwork(
      { pkiDir, core, jlis, institutions: options.institutions, nodes: institutions },
      (made) => (clients = made),
    );
    return {
      core,
      jlis,
      corporate,
      institutions,
      pkiDir,
      nodes: () => [...started],
      institution,
      admin,
      jlisClient,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
