/**
 * The seeds' scenarios end to end: a real network (core, J-LIS, twelve institutions) on real SQLite files
 * and real HTTP, seeded through the nodes' public APIs. Nothing of our own is mocked.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network } from '../src/network/launch.ts';
import { DEMO_SCENARIOS, runScenario, type Exchange } from '../src/network/scenarios.ts';
import type { SeededWorld } from '../src/network/seed.ts';
import { DEMO_WORLD } from '../src/network/world.ts';
import { startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

let demo: DemoNetwork | undefined;
let dir: string;
let network: Network;
let world: SeededWorld;
const exchanges = new Map<string, Exchange[]>();

beforeAll(async () => {
  demo = await startDemoNetwork('scenarios');
  ({ dir, network, world } = demo);
  for (const scenario of DEMO_SCENARIOS)
    exchanges.set(scenario.id, await runScenario(network, world, scenario));
});

afterAll(async () => {
  await demo?.dispose();
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

        const core = (await network.admin().listProvisionRecords({ query: { limit: 1000 } })).records;
        expect(core.find((r) => r.processingNumber === pn)?.outcome).toBe(scenario.expect.outcome);

        const requester = (
          await network
            .institution(scenario.requesterId)
            .listProvisionRecords({ query: { role: 'requester', limit: 1000 } })
        ).records;
        expect(requester.find((r) => r.processingNumber === pn)?.outcome).toBe(scenario.expect.outcome);

        const provider = (
          await network
            .institution(scenario.providerId)
            .listProvisionRecords({ query: { role: 'provider', limit: 1000 } })
        ).records;
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

  it('logs no code, resident record code, addressee number, name or address', () => {
    // Run after the test above has closed the network, so every log line is flushed.
    const files = filesUnder(dir);
    const column = (file: string, sql: string) => {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare(sql).pluck().all() as (string | null)[]).filter((v): v is string => !!v);
      } finally {
        db.close();
      }
    };
    const intermediates = files.filter((f) => f.endsWith('intermediate.sqlite'));
    const personCodes = intermediates.flatMap((f) => column(f, 'SELECT person_code FROM persons'));
    const addresseeNumbers = intermediates.flatMap((f) => column(f, 'SELECT addressee_number FROM persons'));
    const jlis = files.filter((f) => f.endsWith('jlis.sqlite'));
    const residentRecordCodes = jlis.flatMap((f) => column(f, 'SELECT resident_record_code FROM residents'));
    const personal = DEMO_WORLD.residents.flatMap((r) => [r.name, r.address]);
    expect(personCodes.length).toBeGreaterThan(0);
    expect(addresseeNumbers.length).toBeGreaterThan(0);
    expect(residentRecordCodes.length).toBeGreaterThan(0);

    const logs = files.filter((f) => f.endsWith('.log'));
    expect(logs.length).toBeGreaterThan(0);
    const text = logs.map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(text.length).toBeGreaterThan(0);
    for (const [what, values] of Object.entries({
      'a person code': personCodes,
      'an addressee number': addresseeNumbers,
      'a resident record code': residentRecordCodes,
      'a name or address': personal,
    })) {
      const leaked = values.filter((v) => text.includes(v));
      expect(leaked, `a log holds ${what}`).toEqual([]);
    }
  });
});
