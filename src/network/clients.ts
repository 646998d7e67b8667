/**
 * The clients a launcher hands out for a running network, whether its nodes run in this process
 * (`launchNetwork`) or each in its own (`startNodeProcesses`): the core's operator API as the demo
 * operators, each institution's business API as its business system, J-LIS as a municipality's
 * systems. They present the demo credentials from the network's PKI.
 */
import { createClient, type Client } from '../protocol/api.ts';
import { credentialTransport } from '../protocol/client-credentials.ts';
import { httpTransport } from '../protocol/http-transport.ts';
import { adminApi, businessApi, jlisApi } from '../protocol/routes.ts';
import type { Transport } from '../protocol/transport.ts';
import { systemClock } from '../shared/clock.ts';
import { pkiPaths } from '../trust/pki/files.ts';
import { OPERATOR_ROLES, businessParty, demoOperator } from './pki-setup.ts';
import type { WorldInstitution } from './world.ts';

export interface NetworkClients {
  /** A client for an institution's business API (business systems and clerks use this). */
  institution: (id: string) => Client<typeof businessApi>;
  /** A client for the core's operator API, presenting the demo operator of each route's role. */
  admin: () => Client<typeof adminApi>;
  /** A client for J-LIS (municipalities report residents through it). */
  jlisClient: () => Client<typeof jlisApi>;
  close: () => Promise<void>;
}

export async function networkClients(options: {
  /** The network's PKI; plain HTTP without it (the benchmark's bare path). */
  pkiDir: string | undefined;
  coreUrl: string;
  jlisUrl: string;
  institutions: readonly WorldInstitution[];
  /** Institution id → its node's URL. */
  institutionUrls: ReadonlyMap<string, string>;
}): Promise<NetworkClients> {
  const transports: Transport[] = [];
  const transportAs = async (parties: string[]): Promise<Transport> => {
    const transport = options.pkiDir
      ? await credentialTransport({
          pkiDir: options.pkiDir,
          parties,
          clock: systemClock,
          crl: { file: pkiPaths(options.pkiDir).crlDer },
          timeoutMs: 60_000,
        })
      : httpTransport({ timeoutMs: 60_000 });
    transports.push(transport);
    return transport;
  };
  const close = async () => {
    for (const transport of transports.splice(0)) await transport.close();
  };
  try {
    const coreAdmin = createClient(adminApi, {
      transport: await transportAs(OPERATOR_ROLES.map(demoOperator)),
      baseUrl: options.coreUrl,
      peer: 'core',
      party: 'core',
    });
    const business = new Map<string, Transport>();
    for (const institution of options.institutions) {
      business.set(institution.id, await transportAs([businessParty(institution.id)]));
    }
    // Residents are reported to J-LIS by a municipality's systems: the first municipality's.
    const municipality = options.institutions.find((i) => i.kind === 'municipality');
    const reporting = business.get(municipality?.id ?? '') ?? (await transportAs([]));
    return {
      institution: (id) => {
        const baseUrl = options.institutionUrls.get(id);
        const transport = business.get(id);
        if (baseUrl === undefined || !transport) throw new TypeError(`no institution ${id} in this network`);
        return createClient(businessApi, { transport, baseUrl, peer: `institution ${id}`, party: id });
      },
      admin: () => coreAdmin,
      jlisClient: () =>
        createClient(jlisApi, {
          transport: reporting,
          baseUrl: options.jlisUrl,
          peer: 'J-LIS',
          party: 'jlis',
        }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The clients for a network whose nodes have started, with every institution registered with the
 * core at the URL its node answers on. `hold` gets the clients as soon as they exist, before any
 * registration: a launcher's close then closes them too when a registration fails.
 */
export async function connectNetwork(
  options: {
    pkiDir: string | undefined;
    core: { url: string };
    jlis: { url: string };
    institutions: readonly WorldInstitution[];
    /** Institution id → its node. */
    nodes: ReadonlyMap<string, { url: string }>;
  },
  hold: (clients: NetworkClients) => void,
): Promise<NetworkClients> {
  const urls = new Map([...options.nodes].map(([id, node]) => [id, node.url]));
  const clients = await networkClients({
    pkiDir: options.pkiDir,
    coreUrl: options.core.url,
    jlisUrl: options.jlis.url,
    institutions: options.institutions,
    institutionUrls: urls,
  });
  hold(clients);
  await registerInstitutions(clients, options.institutions, urls);
  return clients;
}

/** Register (or update) every institution in the core's registry, with the URL its node answers on. */
export async function registerInstitutions(
  clients: NetworkClients,
  institutions: readonly WorldInstitution[],
  urls: ReadonlyMap<string, string>,
): Promise<void> {
  for (const institution of institutions) {
    await clients.admin().registerInstitution({
      params: { id: institution.id },
      body: {
        name: institution.name,
        nameEn: institution.nameEn,
        kind: institution.kind,
        networkUrl: urls.get(institution.id) ?? '',
      },
    });
  }
}
