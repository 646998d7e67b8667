/**
 * Every procedure of `legal/` runnable by a demo clerk: one inquiry per procedure on one demo network
 * (core, J-LIS, twelve institutions; real SQLite files, real HTTP), from a requester the clause allows
 * to a provider it names, about a demo resident the provider holds copies for. The plan is derived
 * from `legal/` and the demo world (src/network/procedure-plan.ts), so a procedure added without an
 * institution or a copy to run it fails here by name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import { planProcedureInquiries } from '../src/network/procedure-plan.ts';
import { runScenario, type Exchange } from '../src/network/scenarios.ts';
import { DEMO_WORLD } from '../src/network/world.ts';
import { startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const legalTable = loadLegalTable();
const plan = planProcedureInquiries(legalTable, DEMO_WORLD);
let demo: DemoNetwork | undefined;
const exchanges = new Map<string, Exchange[]>();

beforeAll(async () => {
  demo = await startDemoNetwork('procedures');
  const { network, world } = demo;
  // One after another: the point is that each is allowed and answered, not the network's throughput.
  for (const scenario of plan.scenarios) {
    exchanges.set(scenario.procedureId, await runScenario(network, world, scenario));
  }
}, 120_000);

afterAll(async () => {
  await demo?.dispose();
});

describe('every procedure of legal/ on the demo network', () => {
  it('has a requester, a provider and a resident with copies in the demo world for every procedure', () => {
    expect(plan.unrunnable).toEqual([]);
    expect(
      [...plan.scenarios.map((s) => s.procedureId), ...plan.byPortal, ...plan.portalProvided].toSorted(),
    ).toEqual(legalTable.procedures.map((p) => p.procedureId).toSorted());
    // The portal's own procedure (自己情報表示) runs in test/portal-my-information.test.ts; the
    // public-funds receiving account is the portal's to give (test/portal-money.test.ts).
    expect(plan.byPortal).toEqual(['900-01']);
    expect(plan.portalProvided).toEqual(['130-01']);
  });

  it('runs 037-01 from the prefectural board of education and 027-01 from the municipal one', () => {
    const byId = new Map(plan.scenarios.map((s) => [s.procedureId, s]));
    expect(byId.get('037-01')?.requesterId).toBe('130001-boe');
    expect(byId.get('027-01')?.requesterId).toBe('152048-boe');
  });

  const byOthers = [...plan.byPortal, ...plan.portalProvided];
  for (const procedure of legalTable.procedures.filter((p) => !byOthers.includes(p.procedureId))) {
    it(`${procedure.procedureId} ${procedure.name}: provided`, () => {
      const done = exchanges.get(procedure.procedureId) ?? [];
      expect(done).toHaveLength(1);
      const [exchange] = done;
      expect(exchange?.outcome, exchange?.reason).toBe('provided');
      // Every item asked for came back, under the layout's field names.
      const items = new Set(exchange?.receivedFields.map((f) => f.slice(0, f.indexOf(']') + 1)));
      expect([...items].toSorted()).toEqual(exchange?.itemNos.map((n) => `[${n}]`).toSorted());
    });
  }
});
