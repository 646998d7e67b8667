/**
 * A small network for the Myna Portal's tests: the core, J-LIS (with JPKI) and one municipality
 * (三条市, whose systems issue the cards) as `launchNetwork` starts them, the portal with its own
 * certificate (role `portal`) registered in the core's registry as an institution of kind `portal`,
 * and the card reader holding the residents' card files. Free ports, a fresh temporary directory.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../../src/shared/ports.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { createCardReader } from '../../src/card/reader/card-reader.ts';
import { writeCardFile } from '../../src/card/virtual-card.ts';
import { loadLegalTable } from '../../src/domain/legal-table/index.ts';
import { launchNetwork, type Network } from '../../src/network/launch.ts';
import { issueDemoCards, registerPortalRelyingParty } from '../../src/network/portal-demo.ts';
import { seedWorld, type SeededWorld } from '../../src/network/seed.ts';
import { DEMO_INSTITUTIONS, DEMO_WORLD, type WorldInstitution } from '../../src/network/world.ts';
import { PORTAL_PARTY } from '../../src/nodes/portal/portal.ts';
import type { Transport } from '../../src/protocol/transport.ts';
import { startPortal, type RunningPortal, type StartPortalOptions } from '../../src/nodes/portal/main.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { RenkeiError } from '../../src/shared/errors.ts';
import { nodeDatabase, type DatabaseTarget, type PostgresOption } from '../../src/shared/db.ts';
import { listen } from '../../src/shared/http.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { dropTestSchemas, testPostgres } from '../../src/shared/test-databases.ts';
import { issuePartyCertificates } from '../../src/trust/pki/authority.ts';
import { clause74Inquiry } from './demo-network.ts';

export const MUNICIPALITY = DEMO_INSTITUTIONS.find((i) => i.id === '152048')!;
export const PIN = '1234';

/**
 * A clerk's inquiry at 三条市 (scenario a's: 児童手当, 地方税関係情報 from 新宿区) about `resident` of
 * the demo world (`world: true`), under non-disclosure or not, waited for and expected provided: its
 * processing number.
 */
export async function providedInquiry(
  net: PortalNetwork,
  resident: string,
  nonDisclosure = false,
): Promise<string> {
  const requester = net.network.institution(MUNICIPALITY.id);
  const accepted = await requester.inquire(
    clause74Inquiry(net.world!.addresseeNumber(resident, MUNICIPALITY.id), { nonDisclosure }),
  );
  const status = await requester.getInquiry({
    params: { processingNumber: accepted.processingNumber },
    query: { waitMs: 20_000 },
  });
  expect(status.outcome).toBe('provided');
  return accepted.processingNumber;
}
const SIGNING_PASSWORD = 'SANJO2024';

export interface PortalNetwork {
  dir: string;
  network: Network;
  portal: RunningPortal;
  readerUrl: string;
  cardsDir: string;
  /**
   * With `world`: the demo world as `renkei demo` seeds it, and a card for each demo card holder
   * (`<resident key>.card`: yamada-taro, yamada-hanako, sato-misaki).
   */
  world: SeededWorld | undefined;
  /** The suite's PostgreSQL run: where the nodes' schemas are; undefined on SQLite. */
  postgres: PostgresOption | undefined;
  /** The portal's database (for the tests to read what it holds). */
  portalDatabase: DatabaseTarget;
  /** Register a resident at J-LIS and issue, deliver and write their card (`<label>.card`). */
  issueCard(
    label: string,
    name: string,
  ): Promise<{ cardId: string; residentRecordCode: string; individualNumber: string; file: string }>;
  /** Stop the portal (both listeners), as an outage; `startPortalAgain` brings it back on its ports. */
  stopPortal(): Promise<void>;
  startPortalAgain(): Promise<void>;
  /** A new card for the same resident (再交付): new keys, new serials; the old card's revoked. */
  reissueCard(label: string, cardId: string): Promise<{ cardId: string; file: string }>;
  dispose(): Promise<void>;
}

/** After a file's tests: close every transport they made, then dispose of the network (if it started). */
export async function disposeWithTransports(
  net: PortalNetwork | undefined,
  transports: readonly Transport[],
): Promise<void> {
  for (const transport of transports) await transport.close?.();
  await net?.dispose();
}

/**
 * 国税庁 (seed 000: it only sends notices), for the notices' tests: an institution of its own kind
 * (`tax_agency`), to which the legal table gives no inquiry.
 */
export const TAX_AGENCY: WorldInstitution = {
  id: 'nta',
  name: '国税庁',
  nameEn: 'National Tax Agency',
  kind: 'tax_agency',
};

export interface PortalNetworkOptions {
  /** The demo world (every demo institution, its residents and copies) and the demo residents' cards. */
  world?: boolean;
  /** Let the portal write its own log, `<dir>/logs/portal.log` (silent otherwise). */
  portalLog?: boolean;
  /** Institutions besides the one municipality (without `world`). */
  institutions?: readonly WorldInstitution[];
  /**
   * The 自己情報取得API's registered clients and timings; `onestopDir: false` for a portal without
   * ぴったりサービス.
   */
  portal?: Pick<StartPortalOptions, 'apiClients' | 'apiPolicy' | 'onestopDir'>;
}

export async function startPortalNetwork(
  name: string,
  options: PortalNetworkOptions = {},
): Promise<PortalNetwork> {
  const dir = mkdtempSync(join(tmpdir(), `renkei-${name}-`));
  const postgres = testPostgres();
  const cardsDir = join(dir, 'cards');
  mkdirSync(cardsDir, { mode: 0o700 });
  const legalTable = loadLegalTable();
  const institutions = options.world
    ? [...DEMO_WORLD.institutions, ...(options.institutions ?? [])]
    : [MUNICIPALITY, ...(options.institutions ?? [])];
  const network = await launchNetwork({
    ...(postgres ? { postgres } : {}),
    dataDir: dir,
    legalTable,
    institutions,
    basePort: 0,
  });
  let portal: RunningPortal | undefined;
  let reader: FastifyInstance | undefined;
  const dispose = async () => {
    await reader?.close();
    await portal?.close();
    await network.close();
    await dropTestSchemas(postgres);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pkiDir = network.pkiDir!;
    await issuePartyCertificates({
      dir: pkiDir,
      partyId: PORTAL_PARTY,
      role: 'portal',
      hosts: ['127.0.0.1', 'localhost'],
      clock: systemClock,
    });
    // A fixed network port, so that a restarted portal is where the core's registry says it is.
    let [portalPort, readerPort, networkPort] = [await freePort(), await freePort(), await freePort()];
    let readerUrl = `http://127.0.0.1:${readerPort}`;
    const start = () =>
      startPortal({
        dataDir: dir,
        port: portalPort,
        networkPort,
        readerUrl,
        jlisUrl: network.jlis.url,
        coreUrl: network.core.url,
        corePublicationUrl: network.core.publicationUrl!,
        legalTable,
        jpkiPublicationUrl: network.jlis.publicationUrl!,
        security: { pkiDir, crl: { url: `${network.core.publicationUrl}/pki/v1/crl` } },
        ...(options.portalLog ? {} : { logger: silentLogger() }),
        ...(postgres ? { postgres } : {}),
        // わたしの情報: every institution of this network (the portal asks those its clause names).
        informationProviders: institutions.map(({ id, name, nameEn, kind }) => ({ id, name, nameEn, kind })),
        ...options.portal,
      });
    // Ports picked free are released before the portal takes them, and another process (the next test
    // file's nodes on ephemeral ports) may take one meanwhile: the first start picks again then.
    for (let attempt = 1; ; attempt++) {
      try {
        portal = await start();
        break;
      } catch (error) {
        if (attempt === 5 || !(error instanceof RenkeiError) || error.code !== 'ERR_PORT_IN_USE') throw error;
        [portalPort, readerPort, networkPort] = [await freePort(), await freePort(), await freePort()];
        readerUrl = `http://127.0.0.1:${readerPort}`;
      }
    }
    await network.admin().registerInstitution({
      params: { id: PORTAL_PARTY },
      body: { name: 'マイナポータル', nameEn: 'Myna Portal', kind: 'portal', networkUrl: portal.networkUrl },
    });
    await registerPortalRelyingParty(pkiDir, network.jlis.url);
    reader = await createCardReader({ cardsDir, portalOrigins: [portal.url], logger: silentLogger() });
    await listen(reader, readerPort);
    const world = options.world ? await seedWorld(network, DEMO_WORLD, legalTable) : undefined;
    if (world) await issueDemoCards(network, world, cardsDir);
    const jlis = network.jlisClient();
    const handle: PortalNetwork = {
      dir,
      network,
      portal,
      readerUrl,
      cardsDir,
      world,
      postgres,
      portalDatabase: nodeDatabase(postgres, join(dir, 'portal', 'portal.sqlite'), 'portal'),
      async issueCard(label, holder) {
        const { residentRecordCode, individualNumber } = await jlis.registerResident({
          body: {
            name: holder,
            address: '新潟県三条市旭町二丁目3番1号',
            dateOfBirth: '1990-06-01',
            sex: 'female',
          },
        });
        const { cardId } = await jlis.applyForCard({ body: { residentRecordCode, clerkId: 'clerk-01' } });
        const issued = await jlis.issueCard({
          body: { cardId, pin: PIN, signingPassword: SIGNING_PASSWORD, clerkId: 'clerk-01' },
        });
        await jlis.deliverCard({ body: { cardId, clerkId: 'clerk-01' } });
        const file = join(cardsDir, `${label}.card`);
        writeCardFile(file, Buffer.from(issued.archive, 'base64'));
        return { cardId, residentRecordCode, individualNumber, file };
      },
      async reissueCard(label, cardId) {
        const issued = await jlis.reissueCard({
          body: {
            cardId,
            reason: 'damage',
            pin: PIN,
            signingPassword: SIGNING_PASSWORD,
            clerkId: 'clerk-01',
          },
        });
        await jlis.deliverCard({ body: { cardId: issued.card.cardId, clerkId: 'clerk-01' } });
        const file = join(cardsDir, `${label}.card`);
        writeCardFile(file, Buffer.from(issued.archive, 'base64'));
        return { cardId: issued.card.cardId, file };
      },
      async stopPortal() {
        await portal?.close();
        portal = undefined;
      },
      async startPortalAgain() {
        portal = await start();
        handle.portal = portal;
      },
      dispose,
    };
    return handle;
  } catch (error) {
    await dispose();
    throw error;
  }
}
