/**
 * One bad provider cannot hold the others up, and nothing accepted is lost: on the demo network, real
 * nodes over mutual TLS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCore } from '../src/nodes/core/main.ts';
import { verifyNetworkRecords } from '../src/network/records.ts';
import { DEMO_SCENARIOS, runScenario } from '../src/network/scenarios.ts';
import { startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

let demo: DemoNetwork | undefined;

beforeAll(async () => {
  // A core that waits for a provider a few milliseconds only, so every provider answers after the
  // core stopped waiting: "silent past the bound". Its clock runs 10 s ahead of the others' (inside
  // the 30 s the signed messages allow), so the `answerBy` it sends still lies ahead at the
  // provider: the provider provides and records `provided`, as one whose answer came just too late,
  // and the core must then tell it that the inquiry failed.
  demo = await startDemoNetwork('limits', {
    startCore: (options) =>
      startCore({
        ...options,
        providerTimeoutMs: 3,
        clock: { now: () => new Date(Date.now() + 10_000) },
      }),
  });
});

afterAll(async () => {
  await demo?.dispose();
});

describe('a provider silent past the core’s deadline', () => {
  it('ends the inquiry failed (provider_unavailable) at all three parties, and records verify clean', async () => {
    if (!demo) throw new Error('no network');
    const scenario = DEMO_SCENARIOS[0];
    if (!scenario) throw new Error('no scenario');
    const exchanges = await runScenario(demo.network, demo.world, scenario);
    expect(exchanges.length).toBeGreaterThan(0);
    for (const exchange of exchanges) {
      expect(exchange).toMatchObject({ outcome: 'failed', reason: 'provider_unavailable' });
    }
    const numbers = exchanges.map((e) => e.processingNumber);
    const admin = demo.network.admin();
    const provider = demo.network.institution(scenario.providerId);
    // The provider is told until it acknowledges: wait for its record to say failed.
    let providerRecords: { processingNumber: string; outcome: string; reason?: string }[] = [];
    for (let i = 0; i < 100; i++) {
      providerRecords = (
        await provider.listProvisionRecords({ query: { role: 'provider', limit: 100 } })
      ).records.filter((r) => numbers.includes(r.processingNumber));
      if (providerRecords.length > 0 && providerRecords.every((r) => r.outcome === 'failed')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The provider may never have seen a request the core gave up on before sending it; each one it
    // saw, it provided (its clock was well before `answerBy`), then recorded failed when told.
    expect(providerRecords.length).toBeGreaterThan(0);
    for (const record of providerRecords) {
      expect(record).toMatchObject({ outcome: 'failed', reason: 'provider_unavailable' });
    }
    const core = (await admin.listProvisionRecords({ query: { limit: 100 } })).records.filter((r) =>
      numbers.includes(r.processingNumber),
    );
    expect(core).toHaveLength(numbers.length);
    for (const record of core) {
      expect(record).toMatchObject({ outcome: 'failed', reason: 'provider_unavailable' });
    }
    await demo.network.close();
    const report = await verifyNetworkRecords({ dataDir: demo.dir });
    expect(report.ok).toBe(true);
  });
});
