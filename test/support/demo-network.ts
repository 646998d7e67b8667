import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLegalTable } from '../../src/domain/legal-table/index.ts';
import { launchNetwork, type LaunchOptions, type Network } from '../../src/network/launch.ts';
import { seedWorld, type SeededWorld } from '../../src/network/seed.ts';
import { DEMO_WORLD } from '../../src/network/world.ts';
import type { InquiryInput } from '../../src/protocol/business.ts';
import type { PostgresOption } from '../../src/shared/db.ts';
import { dropTestSchemas, testPostgres } from '../../src/shared/test-databases.ts';

export interface DemoNetwork {
  /** The data directory: every node's database and log lives below it. */
  dir: string;
  network: Network;
  world: SeededWorld;
  /** Where the nodes keep their databases in the suite's PostgreSQL run; undefined on SQLite. */
  postgres: PostgresOption | undefined;
  /** Close every node (idempotent) and delete the data directory. */
  dispose(): Promise<void>;
}

/**
 * The demo network as `npx renkei demo` runs it (core, J-LIS, the demo institutions) on free ports
 * and real SQLite files in a fresh temporary directory, seeded through the nodes' public APIs.
 */
export async function startDemoNetwork(
  name: string,
  options: Pick<LaunchOptions, 'secure' | 'revocationMaxAgeMs' | 'startCore' | 'startInstitution'> = {},
): Promise<DemoNetwork> {
  const dir = mkdtempSync(join(tmpdir(), `renkei-${name}-`));
  const legalTable = loadLegalTable();
  const postgres = testPostgres();
  const network = await launchNetwork({
    ...(postgres ? { postgres } : {}),
    dataDir: dir,
    legalTable,
    institutions: DEMO_WORLD.institutions,
    basePort: 0,
    ...options,
  });
  const world = await seedWorld(network, DEMO_WORLD, legalTable);
  return {
    dir,
    network,
    world,
    postgres,
    async dispose() {
      await network.close();
      await dropTestSchemas(postgres);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * What the demo's everyday inquiry asks, whoever it is about: item 2 (地方税関係情報) of 新宿区 under
 * clause 74 (procedure 074-01).
 */
const clause74 = () => ({ providerId: '131041', clauseNo: '74', procedureId: '074-01', itemNos: [2] });

/**
 * The demo's everyday inquiry (the seeds' 児童手当 example), as a clerk's `inquire` takes it, about
 * the person with this addressee number. The options change one part of it while the test still
 * means this inquiry: another provider (the institution harness, being 新宿区, asks 三条市), more items,
 * non-disclosure, an idempotency key, or `waitMs` to wait for the answer.
 */
export function clause74Inquiry(
  addresseeNumber: string,
  options: Partial<
    Pick<InquiryInput, 'providerId' | 'itemNos' | 'nonDisclosure' | 'requestId' | 'waitMs'>
  > = {},
) {
  return { body: { addresseeNumber, ...clause74(), ...options } };
}

/** The same inquiry about many persons at once, as a clerk's `submitBulkInquiry` takes it. */
export function clause74BulkInquiry(addresseeNumbers: string[]) {
  return { body: { ...clause74(), addresseeNumbers } };
}
