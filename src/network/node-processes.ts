/**
 * A whole network on one machine with every node in an OS process of its own (`renkei start`): the
 * same nodes, ports and files as `launchNetwork`, but each started by `renkei node <kind> --config
 * <file>` from a config this module writes under `<data dir>/config/`, and supervised
 * (src/network/supervisor.ts). The core starts first (J-LIS and the institutions need its
 * publication URL for the CRL), then J-LIS, then the institutions side by side.
 *
 * We considered node:cluster or worker threads instead, and rejected them for the nodes: a process
 * per node is what a deployment runs (one machine per node), so the demo exercises the same command,
 * the same config files and the same failure modes (a node down while its peers run on).
 */
import { registerPortalRelyingParty } from './portal-demo.ts';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresOption } from '../shared/db.ts';
import { freePortOutsideEphemeral, reservePort, type PortReservation } from '../shared/ports.ts';
import { systemClock } from '../shared/clock.ts';
import { refreshCrl } from '../trust/pki/authority.ts';
import { connectNetwork, type NetworkClients } from './clients.ts';
import type { Network } from './launch.ts';
import { formatNodeConfig, type NodeConfig } from './node-config.ts';
import { ensureNetworkPki } from './pki-setup.ts';
import { defaultLogFile, nodeName } from './run-node.ts';
import { SupervisedNode, type SupervisorEvent } from './supervisor.ts';
import { DEMO_ONESTOP_DIR } from '../nodes/portal/demo-onestop.ts';
import { DEMO_CORE_ACCOUNTS, demoClerk, demoDirectory, type WorldInstitution } from './world.ts';

export interface NodeProcessesOptions {
  dataDir: string;
  institutions: readonly WorldInstitution[];
  /** Core on `basePort`, J-LIS on +1, the core's publication listener on +2, institutions from +10; 0 picks free ports (kept across restarts). */
  basePort: number;
  retentionYears?: number;
  postgres?: PostgresOption;
  /** Core processes (its config's `workers`; default 1). */
  workers?: number;
  /** Told when a node exits unexpectedly, is restarted, or is given up. */
  report: (event: SupervisorEvent) => void;
  /** Restart policy, for tests: see `SupervisedNodeOptions`. */
  fastFailureMs?: number;
  /**
   * Also run the corporate-number service (on `basePort + 3`), its register seeded with the demo's
   * corporations and this many synthetic ones.
   */
  corporate?: { demoCorporations: number };
  /**
   * Also run the Myna Portal: its web listener on `basePort + 80` (7180), its network listener on
   * `+ 82`, sending residents to the card reader at `+ 81` (which `renkei start` runs itself).
   */
  portal?: boolean;
}

export interface NodeProcesses extends Network {
  core: SupervisedNode;
  jlis: SupervisedNode;
  corporate: SupervisedNode | undefined;
  /** The Myna Portal, when the network runs it. */
  portal: SupervisedNode | undefined;
  /** Where the portal sends residents for their card (the reader `renkei start` runs). */
  readerUrl: string | undefined;
  /**
   * デモ家計簿アプリ, a client of the portal's 自己情報取得API registered in its config (`renkei start`
   * runs it): where it listens, its client id and secret.
   */
  demoClient: { url: string; clientId: string; secret: string } | undefined;
  /**
   * With `basePort` 0, the reader's and the demo client's ports stay bound here from the moment they
   * are chosen (the portal's config names them) until their server is about to listen: call this just
   * before (the ports are released on `close` too). Chosen and then left free through the first start's
   * seeding, another program's connection once took one meanwhile (ERR_PORT_IN_USE in a full test run).
   */
  releasePort: (url: string) => Promise<void>;
  institutions: Map<string, SupervisedNode>;
  nodes: () => SupervisedNode[];
  /** Stop every node (institutions, then J-LIS, then the core): SIGTERM, SIGKILL after `graceMs`. */
  close: (graceMs?: number) => Promise<void>;
}

/**
 * Start the network's nodes as supervised processes and return once every one is ready and every
 * institution is registered with the core. If any node fails to start, the ones started are stopped
 * and its error (e.g. ERR_PORT_IN_USE, ERR_DATA_DIR_IN_USE, ERR_DATABASE_UNAVAILABLE) is thrown.
 * `signal` aborts a start in progress (Ctrl-C during start-up).
 */
export async function startNodeProcesses(
  options: NodeProcessesOptions,
  signal?: AbortSignal,
): Promise<NodeProcesses> {
  const port = (offset: number) => (options.basePort === 0 ? 0 : options.basePort + offset);
  const started: SupervisedNode[] = [];
  const reserved = new Map<number, PortReservation>();
  const reserve = async () => {
    const reservation = await reservePort();
    reserved.set(reservation.port, reservation);
    return reservation.port;
  };
  const releasePort = async (url: string) => {
    const reservation = reserved.get(portOf(url));
    reserved.delete(portOf(url));
    await reservation?.release();
  };
  let clients: NetworkClients | undefined;
  let crlTimer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;
  const close = (graceMs?: number) =>
    (closing ??= (async () => {
      clearInterval(crlTimer);
      // Institutions first, side by side; then J-LIS; the core last, so the others' last calls land.
      const byKind = (kind: string) => started.filter((n) => nodeKind(n) === kind);
      for (const kind of ['portal', 'institution', 'corporate', 'jlis', 'core']) {
        await Promise.all(byKind(kind).map((node) => node.stop(graceMs)));
      }
      await clients?.close();
      for (const reservation of reserved.values()) await reservation.release();
      reserved.clear();
    })());
  const aborted = () => {
    if (signal?.aborted) throw new Error('start-up interrupted');
  };
  const configDir = join(options.dataDir, 'config');
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const common = {
    dataDir: options.dataDir,
    ...(options.retentionYears === undefined ? {} : { retentionYears: options.retentionYears }),
    ...(options.postgres === undefined ? {} : { database: options.postgres }),
  };
  /** Write a node's config, start it, and pin a port it picked (port 0) so a restart keeps its URL. */
  const startNode = async (config: NodeConfig): Promise<SupervisedNode> => {
    aborted();
    const name = nodeName(config);
    const file = join(configDir, `${fileStem(name)}.yaml`);
    writeConfig(file, config);
    const node = new SupervisedNode({
      name,
      kind: config.node,
      configFile: file,
      outputFile: defaultLogFile(config).replace(/\.log$/, '.console.log'),
      report: options.report,
      ...(options.fastFailureMs === undefined ? {} : { fastFailureMs: options.fastFailureMs }),
    });
    started.push(node);
    await node.start();
    if (
      config.port === 0 ||
      (config.node === 'core' && config.publicationPort === 0) ||
      (config.node === 'portal' && config.networkPort === 0)
    ) {
      writeConfig(file, {
        ...config,
        port: portOf(node.url),
        ...(config.node === 'core' && node.publicationUrl !== undefined
          ? { publicationPort: portOf(node.publicationUrl) }
          : {}),
        // The core's registry names the portal's network URL: a restart must keep it.
        ...(config.node === 'portal' && node.networkUrl !== undefined
          ? { networkPort: portOf(node.networkUrl) }
          : {}),
      });
    }
    return node;
  };
  const onAbort = () => void close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const pkiDir = await ensureNetworkPki({
      dataDir: options.dataDir,
      institutions: options.institutions,
      corporate: options.corporate !== undefined,
      portal: options.portal === true,
    });
    // The CRL is current for a day; re-sign it twice a day while the network runs (the core reads the file).
    crlTimer = setInterval(
      () => void refreshCrl({ dir: pkiDir, clock: systemClock }).catch(() => undefined),
      12 * 3600_000,
    ).unref();
    const core = await startNode({
      node: 'core',
      ...common,
      port: port(0),
      publicationPort: port(2),
      pki: { dir: pkiDir },
      ...(options.workers === undefined || options.workers === 1 ? {} : { workers: options.workers }),
      // The operator's and the oversight console on the core's port + 100 (7200).
      console: { port: port(0) === 0 ? 0 : port(0) + 100, demoAccounts: [...DEMO_CORE_ACCOUNTS] },
    });
    const peerPki = { dir: pkiDir, crlUrl: `${core.publicationUrl ?? ''}/pki/v1/crl` };
    // J-LIS starts beside the institutions, not before them: they only need its URL (nothing calls it
    // while starting), so its port is chosen here, outside the ephemeral range so that nothing is
    // given it while J-LIS starts. A node's start is seconds on the 2-core machine
    // (loading modules, mostly); one fewer in a row is that much sooner a network.
    const jlisPort = options.basePort === 0 ? await freePortOutsideEphemeral() : port(1);
    const jlisUrl = `https://127.0.0.1:${jlisPort}`;
    const jlisStarted = startNode({
      node: 'jlis',
      ...common,
      port: jlisPort,
      // JPKI's CRLs and OCSP: base + 4 (7104), or any free port with a random base.
      jpkiPublicationPort: options.basePort === 0 ? 0 : port(4),
      pki: peerPki,
      coreUrl: core.url,
    });
    // Its failure is thrown where it is awaited below, not as an unhandled rejection meanwhile.
    jlisStarted.catch(() => undefined);
    const corporate =
      options.corporate === undefined
        ? undefined
        : await startNode({
            node: 'corporate',
            ...common,
            port: port(3),
            pki: peerPki,
            demoCorporations: options.corporate.demoCorporations,
          });
    const institutionNodes = await Promise.all(
      options.institutions.map((institution, index) =>
        startNode({
          node: 'institution',
          ...common,
          port: port(10 + index),
          pki: peerPki,
          institution: { id: institution.id, kind: institution.kind },
          coreUrl: core.url,
          jlisUrl,
          // The clerk console on the node's port + 100 (7210 for the first institution's 7110).
          console: {
            port: port(10 + index) === 0 ? 0 : port(10 + index) + 100,
            name: institution.name,
            nameEn: institution.nameEn,
            directory: demoDirectory({ institutions: [...options.institutions], residents: [] }),
            demoClerk: demoClerk(institution),
          },
        }),
      ),
    );
    const jlis = await jlisStarted;
    const institutions = new Map(options.institutions.map((i, index) => [i.id, institutionNodes[index]!]));
    aborted();
    clients = await connectNetwork(
      { pkiDir, core, jlis, institutions: options.institutions, nodes: institutions },
      (made) => (clients = made),
    );
    aborted();
    const readerUrl = options.portal
      ? `http://127.0.0.1:${options.basePort === 0 ? await reserve() : port(81)}`
      : undefined;
    const demoClient =
      readerUrl === undefined
        ? undefined
        : {
            url: `http://127.0.0.1:${options.basePort === 0 ? await reserve() : port(83)}`,
            ...demoClientSecret(options.dataDir),
          };
    const portal =
      readerUrl === undefined || demoClient === undefined
        ? undefined
        : await startNode({
            node: 'portal',
            ...common,
            port: port(80),
            networkPort: port(82),
            readerUrl,
            jlisUrl: jlis.url,
            coreUrl: core.url,
            jpkiPublicationUrl: jlis.publicationUrl ?? '',
            pki: peerPki,
            onestop: DEMO_ONESTOP_DIR,
            // わたしの情報: the portal asks the network's institutions (those its clause names).
            informationProviders: options.institutions.map(({ id, name, nameEn, kind }) => ({
              id,
              name,
              nameEn,
              kind,
            })),
            // 自己情報取得API: the demo household-budget app, registered as the operator would.
            apiClients: [
              {
                clientId: demoClient.clientId,
                name: 'デモ家計簿アプリ',
                nameEn: 'Demo household-budget app',
                redirectUris: [`${demoClient.url}/callback`],
                scopes: ['item:1', 'item:2', 'item:53'],
                secretFile: demoClient.secretFile,
              },
            ],
          });
    if (portal) {
      // The portal is a party the core issues codes to: in its registry as an institution of kind portal.
      await clients.admin().registerInstitution({
        params: { id: 'portal' },
        body: {
          name: 'マイナポータル',
          nameEn: 'Myna Portal',
          kind: 'portal',
          networkUrl: portal.networkUrl ?? '',
        },
      });
      // ぴったりサービス: the portal checks signed applications as a relying party of JPKI.
      await registerPortalRelyingParty(pkiDir, jlis.url);
    }
    aborted();
    const { institution, admin, jlisClient } = clients;
    return {
      core,
      jlis,
      corporate,
      portal,
      readerUrl,
      releasePort,
      demoClient: demoClient && {
        url: demoClient.url,
        clientId: demoClient.clientId,
        secret: demoClient.secret,
      },
      institutions,
      pkiDir,
      nodes: () => [...started],
      institution,
      admin,
      jlisClient,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The demo client's secret, made once in the data directory (mode 0600) and kept across starts. */
function demoClientSecret(dataDir: string): { clientId: string; secret: string; secretFile: string } {
  const secretFile = join(dataDir, 'demo-kakeibo.secret');
  if (!existsSync(secretFile)) {
    writeFileSync(secretFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  return { clientId: 'kakeibo-demo', secret: readFileSync(secretFile, 'utf8').trim(), secretFile };
}

function nodeKind(node: SupervisedNode): string {
  return node.name.split(':')[0] ?? node.name;
}

function fileStem(name: string): string {
  return name.replace(':', '-');
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Mode 0600: a database URL may carry a password. */
function writeConfig(file: string, config: NodeConfig): void {
  writeFileSync(
    file,
    formatNodeConfig(config, 'written by `renkei start`; see examples/config/ for every field'),
    { mode: 0o600 },
  );
  chmodSync(file, 0o600);
}
