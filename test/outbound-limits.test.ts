/**
 * One bad provider cannot hold the others up, and nothing accepted is lost: on the demo network, real
 * nodes over mutual TLS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCore } from '../src/nodes/core/main.ts';
import type { Transport, TransportRequest } from '../src/protocol/transport.ts';
import { RenkeiError } from '../src/shared/errors.ts';
import { verifyNetworkRecords } from '../src/network/records.ts';
import { DEMO_SCENARIOS, runScenario } from '../src/network/scenarios.ts';
import { startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

let demo: DemoNetwork | undefined;

/** How long the core waits for a provider here: the provider answers, and the core hears it after. */
const PROVIDER_TIMEOUT_MS = 1_500;

/**
 * The core's own transport, with every provision answer held until the call's deadline has passed and
 * then dropped as a timeout: the request reaches the provider, which provides and records `provided`
 * (its `answerBy` still ahead), but its answer comes "just too late". Fault injection on the real
 * network (mutual TLS, signed messages); nothing of the provider or the stores is replaced.
 */
function answersTooLate(transport: Transport): Transport {
  return {
    async send(request: TransportRequest) {
      const name = request.route.name;
      if (name !== 'requestProvision' && name !== 'requestProvisionBatch') return transport.send(request);
      const started = Date.now();
      // The provider gets as long as it needs: only its answer is late.
      const answer = await transport.send({ ...request, timeoutMs: undefined });
      const late = (request.timeoutMs ?? PROVIDER_TIMEOUT_MS) - (Date.now() - started);
      if (late > 0) await new Promise((resolve) => setTimeout(resolve, late));
      void answer;
      throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `${request.peer} did not answer in time.`);
    },
    close: () => transport.close(),
  };
}

beforeAll(async () => {
  demo = await startDemoNetwork('limits', {
    startCore: (options) =>
      startCore({ ...options, providerTimeoutMs: PROVIDER_TIMEOUT_MS, wrapTransport: answersTooLate }),
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
    // Every request reached the provider, which provided, then recorded failed when told.
    expect(providerRecords.map((r) => r.processingNumber).sort()).toEqual([...numbers].sort());
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
