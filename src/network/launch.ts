/**
 * Start a whole network on one machine: the core, J-LIS and one institution node per institution,
 * each its own HTTP service with its own database under `dataDir`, talking over real HTTP. `npm start`,
 * `renkei demo`, the scenario tests and the benchmark all go through here.
 *
 * Later, each node runs as its own process (`renkei node core …`); this launcher is then one way
 * among others to start them, and nothing in the nodes depends on sharing a process.
 */
import type { LegalTable } from '../domain/legal-table/types.ts';
import { startCore } from '../nodes/core/main.ts';
import { startInstitution } from '../nodes/institution/main.ts';
import { startJlis } from '../nodes/jlis/main.ts';
import type { Clock } from '../shared/clock.ts';
import { systemClock } from '../shared/clock.ts';
import type { RunningNode } from '../shared/node.ts';
import { createClient, type Client } from '../protocol/api.ts';
import { httpTransport } from '../protocol/http-transport.ts';
import { adminApi, businessApi, jlisApi } from '../protocol/routes.ts';
import type { WorldInstitution } from './world.ts';

export interface LaunchOptions {
  dataDir: string;
  legalTable: LegalTable;
  institutions: WorldInstitution[];
  /** First port: core on `basePort`, J-LIS on `basePort + 1`, institutions from `basePort + 10`. 0 picks free ports. */
  basePort: number;
  clock?: Clock;
  /** Retention of provision records at every node, in years (default 7). */
  retentionYears?: number;
}

export interface Network {
  core: RunningNode;
  jlis: RunningNode;
  institutions: Map<string, RunningNode>;
  /** Every node, in start order. */
  nodes(): RunningNode[];
  /** A client for an institution's business API (business systems and clerks use this). */
  institution(id: string): Client<typeof businessApi>;
  /** A client for the core's operator API. */
  admin(): Client<typeof adminApi>;
  /** A client for J-LIS (municipalities report residents through it). */
  jlisClient(): Client<typeof jlisApi>;
  close(): Promise<void>;
}

export async function launchNetwork(options: LaunchOptions): Promise<Network> {
  const clock = options.clock ?? systemClock;
  const port = (offset: number) => (options.basePort === 0 ? 0 : options.basePort + offset);
  const started: RunningNode[] = [];
  // The launcher's own calls (registration, and the clients it hands out) share one pool.
  const transport = httpTransport({ timeoutMs: 60_000 });
  let closing: Promise<void> | undefined;
  const closeAll = () =>
    (closing ??= (async () => {
      for (const node of [...started].reverse()) await node.close();
      await transport.close();
    })());
  const retention = options.retentionYears === undefined ? {} : { retentionYears: options.retentionYears };
  try {
    const core = await startCore({
      dataDir: options.dataDir,
      port: port(0),
      legalTable: options.legalTable,
      clock,
      ...retention,
    });
    started.push(core);
    const jlis = await startJlis({ dataDir: options.dataDir, port: port(1), coreUrl: core.url, clock });
    started.push(jlis);

    const coreAdmin = createClient(adminApi, { transport, baseUrl: core.url, peer: 'core' });
    const institutions = new Map<string, RunningNode>();
    let offset = 10;
    for (const institution of options.institutions) {
      const node = await startInstitution({
        dataDir: options.dataDir,
        port: port(offset++),
        institutionId: institution.id,
        kind: institution.kind,
        coreUrl: core.url,
        jlisUrl: jlis.url,
        legalTable: options.legalTable,
        clock,
        ...retention,
      });
      started.push(node);
      institutions.set(institution.id, node);
      await coreAdmin.registerInstitution({
        params: { id: institution.id },
        body: {
          name: institution.name,
          nameEn: institution.nameEn,
          kind: institution.kind,
          networkUrl: node.url,
        },
      });
    }

    return {
      core,
      jlis,
      institutions,
      nodes: () => [...started],
      institution(id) {
        const node = institutions.get(id);
        if (!node) throw new TypeError(`no institution ${id} in this network`);
        return createClient(businessApi, { transport, baseUrl: node.url, peer: `institution ${id}` });
      },
      admin: () => coreAdmin,
      jlisClient: () => createClient(jlisApi, { transport, baseUrl: jlis.url, peer: 'J-LIS' }),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
