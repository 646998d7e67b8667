/**
 * An answer the core could not deliver is not lost: on the secured demo network (real nodes, real
 * SQLite files, mutual TLS), the core keeps the provider's sealed items until the requester has them.
 * The requester is "down" to the core by pointing its registration at a closed port (then really
 * stopped where the scenario says so), so the answer lands at the core and stays there.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCore } from '../src/nodes/core/main.ts';
import { startInstitution } from '../src/nodes/institution/main.ts';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import type { Network } from '../src/network/launch.ts';
import type { SeededWorld } from '../src/network/seed.ts';
import { DEMO_WORLD } from '../src/network/world.ts';
import { createClient } from '../src/protocol/api.ts';
import { credentialTransport } from '../src/protocol/client-credentials.ts';
import { coreApi } from '../src/protocol/routes.ts';
import type { Transport } from '../src/protocol/transport.ts';
import { systemClock } from '../src/shared/clock.ts';
import { RenkeiError } from '../src/shared/errors.ts';
import type { RunningNode } from '../src/shared/node.ts';
import { pkiPaths } from '../src/trust/pki/files.ts';
import { clause74Inquiry, startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const REQUESTER = '152048'; // 三条市 (X市)
const PROVIDER = '131041'; // 新宿区 (A市)
const NOWHERE = 'https://127.0.0.1:1';

let demo: DemoNetwork | undefined;
let dir: string;
let network: Network;
let world: SeededWorld;
let pkiDir: string;
/** Nodes this file restarted: closed by it, before the network's own. */
const restarted: RunningNode[] = [];
const transports: Transport[] = [];
let core: RunningNode;

beforeAll(async () => {
  demo = await startDemoNetwork('undelivered', { secure: true });
  ({ dir, network, world } = demo);
  pkiDir = network.pkiDir ?? '';
  core = network.core;
});

afterAll(async () => {
  for (const node of restarted.filter((n) => n.name !== 'core')) await node.close();
  await network.close();
  for (const node of restarted.filter((n) => n.name === 'core')) await node.close();
  for (const transport of transports) await transport.close();
  await demo?.dispose();
});

const portOf = (url: string) => Number(new URL(url).port);

async function registerRequesterAt(networkUrl: string): Promise<void> {
  const admin = network.admin();
  const current = await admin.getInstitution({ params: { id: REQUESTER } });
  await admin.registerInstitution({
    params: { id: REQUESTER },
    body: { name: current.name, nameEn: current.nameEn, kind: current.kind, networkUrl },
  });
}

/** A clerk at the requester asks the provider for the child-allowance item (scenario a). */
async function inquire(): Promise<string> {
  const accepted = await network
    .institution(REQUESTER)
    .inquire(clause74Inquiry(world.addresseeNumber('yamada-taro', REQUESTER)));
  return accepted.processingNumber;
}

/** Wait until the core has recorded the provider's answer. */
async function answeredAtCore(processingNumber: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { records } = await network
      .admin()
      .listProvisionRecords({ query: { requesterId: REQUESTER, limit: 20 } });
    const record = records.find((r) => r.processingNumber === processingNumber);
    if (record && record.outcome !== 'pending') {
      expect(record.outcome).toBe('provided');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the core never recorded the answer');
}

/** What the core's database says of an inquiry's delivery, and whether it still keeps its answer. */
function atCore(processingNumber: string): { delivery: string | undefined; kept: boolean } {
  const db = new Database(join(dir, 'core', 'core.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const state = db
      .prepare('SELECT delivery FROM inquiries WHERE processing_number = ?')
      .get(processingNumber) as { delivery: string } | undefined;
    const kept = db.prepare('SELECT 1 FROM kept_answers WHERE processing_number = ?').get(processingNumber);
    return { delivery: state?.delivery, kept: kept !== undefined };
  } finally {
    db.close();
  }
}

async function restartRequester(): Promise<void> {
  const old = network.institutions.get(REQUESTER);
  if (!old) throw new Error('no requester');
  await old.close();
  const world = DEMO_WORLD.institutions.find((i) => i.id === REQUESTER);
  const node = await startInstitution({
    dataDir: dir,
    port: portOf(old.url),
    institutionId: REQUESTER,
    kind: world?.kind ?? 'municipality',
    coreUrl: core.url,
    jlisUrl: network.jlis.url,
    legalTable: loadLegalTable(),
    security: { pkiDir, crl: { url: `${core.publicationUrl ?? ''}/pki/v1/crl` } },
  });
  restarted.push(node);
}

async function restartCore(): Promise<void> {
  const old = core;
  await old.close();
  core = await startCore({
    dataDir: dir,
    port: portOf(old.url),
    legalTable: loadLegalTable(),
    security: { pkiDir },
    publicationPort: portOf(old.publicationUrl ?? ''),
  });
  restarted.push(core);
}

async function clerkReads(processingNumber: string) {
  return network
    .institution(REQUESTER)
    .getInquiry({ params: { processingNumber }, query: { waitMs: 15_000 } });
}

describe('an answer the requester could not take', () => {
  it('is kept by the core while the requester is down, refused (fetch or acknowledgement) to another institution, and fetched when the requester comes back', async () => {
    await registerRequesterAt(NOWHERE);
    const processingNumber = await inquire();
    await answeredAtCore(processingNumber);
    expect(atCore(processingNumber)).toEqual({ delivery: 'pending', kept: true });
    await network.institutions.get(REQUESTER)?.close();

    // Another institution asks for it in its own name, with its own certificate.
    const transport = await credentialTransport({
      pkiDir,
      parties: [PROVIDER],
      clock: systemClock,
      crl: { file: pkiPaths(pkiDir).crlDer },
    });
    transports.push(transport);
    const asProvider = createClient(coreApi, { transport, baseUrl: core.url, peer: 'core', party: 'core' });
    const refusal = await asProvider
      .fetchAnswer({ body: { requesterId: PROVIDER, processingNumber } })
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RenkeiError);
    expect((refusal as RenkeiError).code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
    const security = new Database(join(dir, 'core', 'security.sqlite'), { readonly: true });
    try {
      expect(
        security
          .prepare('SELECT route, party_id AS partyId, code FROM security_events ORDER BY id DESC LIMIT 1')
          .get(),
      ).toEqual({ route: 'core.fetchAnswer', partyId: PROVIDER, code: 'ERR_UNKNOWN_PROCESSING_NUMBER' });
    } finally {
      security.close();
    }
    expect(atCore(processingNumber)).toEqual({ delivery: 'pending', kept: true });

    // Nor can it acknowledge it (which would end the delivery and drop the answer): in its own name
    // the inquiry does not exist, and in the requester's name its certificate is not the requester.
    const acknowledged = await asProvider
      .acknowledgeAnswer({ body: { requesterId: PROVIDER, processingNumber } })
      .catch((error: unknown) => error);
    expect((acknowledged as RenkeiError).code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
    const latestRefusal = () => {
      const db = new Database(join(dir, 'core', 'security.sqlite'), { readonly: true });
      try {
        return db
          .prepare('SELECT route, party_id AS partyId, code FROM security_events ORDER BY id DESC LIMIT 1')
          .get();
      } finally {
        db.close();
      }
    };
    expect(latestRefusal()).toEqual({
      route: 'core.acknowledgeAnswer',
      partyId: PROVIDER,
      code: 'ERR_UNKNOWN_PROCESSING_NUMBER',
    });
    const impersonated = await asProvider
      .acknowledgeAnswer({ body: { requesterId: REQUESTER, processingNumber } })
      .catch((error: unknown) => error);
    expect((impersonated as RenkeiError).code).toBe('ERR_IDENTITY_MISMATCH');
    const fetchedAsRequester = await asProvider
      .fetchAnswer({ body: { requesterId: REQUESTER, processingNumber } })
      .catch((error: unknown) => error);
    expect((fetchedAsRequester as RenkeiError).code).toBe('ERR_IDENTITY_MISMATCH');
    expect(atCore(processingNumber)).toEqual({ delivery: 'pending', kept: true });

    // The core still pushes to where the requester was; the requester fetches when it starts.
    await restartRequester();
    const answer = await clerkReads(processingNumber);
    expect(answer).toMatchObject({ status: 'answered', outcome: 'provided' });
    expect(answer.items?.map((item) => item.itemNo)).toEqual([2]);
    // The requester acknowledges a fetched answer once it has recorded it: just after the clerk's read.
    await vi.waitFor(() => expect(atCore(processingNumber)).toEqual({ delivery: 'delivered', kept: false }), {
      timeout: 5_000,
    });
  });

  it('still reaches the requester when the core restarts between the answer and its delivery', async () => {
    await registerRequesterAt(NOWHERE);
    const processingNumber = await inquire();
    await answeredAtCore(processingNumber);
    await registerRequesterAt(network.institutions.get(REQUESTER)?.url ?? '');
    // Stopped while its pushes to the old address still retry: the delivery stays pending.
    await restartCore();
    const answer = await clerkReads(processingNumber);
    expect(answer).toMatchObject({ status: 'answered', outcome: 'provided' });
    expect(answer.items?.map((item) => item.itemNo)).toEqual([2]);
    // The core records a push delivered once the requester has acknowledged it, so the clerk may
    // read the answer a moment before the core's record of the delivery is committed.
    await vi.waitFor(() => expect(atCore(processingNumber)).toEqual({ delivery: 'delivered', kept: false }), {
      timeout: 5_000,
    });
  });
});
