/**
 * The seeds' scenarios end to end: a real network (core, J-LIS, ten institutions) on real SQLite files
 * and real HTTP, seeded through the nodes' public APIs. Nothing of our own is mocked.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import { nodeClient, type NodeClient } from '../src/network/client.ts';
import { launchNetwork, type Network } from '../src/network/launch.ts';
import { DEMO_SCENARIOS, runScenario, type Exchange } from '../src/network/scenarios.ts';
import { seedWorld, type SeededWorld } from '../src/network/seed.ts';
import { DEMO_WORLD } from '../src/network/world.ts';

let dir: string;
let network: Network;
let world: SeededWorld;
const exchanges = new Map<string, Exchange[]>();

interface RecordRow {
  processingNumber: string;
  outcome: string;
}

async function recordsAt(client: NodeClient, path: string): Promise<RecordRow[]> {
  const body = await client.get<RecordRow[] | { records: RecordRow[] }>(path);
  return Array.isArray(body) ? body : body.records;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-scenarios-'));
  const legalTable = loadLegalTable();
  network = await launchNetwork({
    dataDir: dir,
    legalTable,
    institutions: DEMO_WORLD.institutions,
    basePort: 0,
  });
  world = await seedWorld(network, DEMO_WORLD, legalTable);
  for (const scenario of DEMO_SCENARIOS)
    exchanges.set(scenario.id, await runScenario(network, world, scenario));
});

afterAll(async () => {
  await network?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the seeds' scenarios", () => {
  for (const scenario of DEMO_SCENARIOS) {
    it(`(${scenario.id}) ${scenario.title}`, async () => {
      const done = exchanges.get(scenario.id) ?? [];
      expect(done).toHaveLength(scenario.residents.length);
      for (const exchange of done) {
        expect(exchange.outcome).toBe(scenario.expect.outcome);
        expect(exchange.asExpected).toBe(true);
        const pn = exchange.processingNumber;
        expect(pn).toBeDefined();

        const core = await recordsAt(
          nodeClient(network.core.url, 'core'),
          '/admin/v1/provision-records?limit=1000',
        );
        expect(core.find((r) => r.processingNumber === pn)?.outcome).toBe(scenario.expect.outcome);

        const requester = await recordsAt(
          network.institution(scenario.requesterId),
          '/business/v1/provision-records?role=requester&limit=1000',
        );
        expect(requester.find((r) => r.processingNumber === pn)?.outcome).toBe(scenario.expect.outcome);

        const provider = await recordsAt(
          network.institution(scenario.providerId),
          '/business/v1/provision-records?role=provider&limit=1000',
        );
        const atProvider = provider.find((r) => r.processingNumber === pn);
        if (scenario.expect.outcome === 'refused') {
          expect(atProvider).toBeUndefined(); // nothing reaches the provider
        } else {
          expect(atProvider?.outcome).toBe(scenario.expect.outcome);
        }
      }
    });
  }

  it('delivers the items asked for when provided, and nothing when not held', () => {
    const provided = exchanges.get('a') ?? [];
    for (const e of provided) expect(e.receivedFields.every((f) => f.startsWith('[2] '))).toBe(true);
    for (const e of provided) expect(e.receivedFields.length).toBeGreaterThan(0);
    for (const e of exchanges.get('f') ?? []) expect(e.receivedFields).toEqual([]);
  });
});

describe('privacy', () => {
  function filesUnder(root: string): string[] {
    return readdirSync(root, { recursive: true, encoding: 'utf8' })
      .map((name) => join(root, name))
      .filter((path) => statSync(path).isFile());
  }

  it('never stores an Individual Number in the core, an intermediate server or a log', async () => {
    await network.close(); // flush logs and checkpoint databases before reading their bytes
    const numbers = [...world.residents.values()].map((r) => r.individualNumber);
    expect(numbers.length).toBeGreaterThan(0);
    const files = filesUnder(dir);
    const forbidden = files.filter((f) => !f.includes('addressee') && !f.includes(`${join('jlis', '')}`));
    expect(forbidden.some((f) => f.includes('core.sqlite'))).toBe(true);
    expect(forbidden.some((f) => f.includes('intermediate.sqlite'))).toBe(true);
    expect(forbidden.some((f) => f.endsWith('.log'))).toBe(true);
    for (const file of forbidden) {
      const bytes = readFileSync(file).toString('latin1');
      for (const number of numbers) {
        expect(bytes.includes(number), `${file} holds an Individual Number`).toBe(false);
      }
    }
    // The search itself works: the addressee systems do hold the numbers.
    const addressee = files.filter((f) => f.includes('addressee.sqlite'));
    const all = addressee.map((f) => readFileSync(f).toString('latin1')).join('');
    expect(numbers.every((n) => all.includes(n))).toBe(true);
  });
});
