/**
 * An institution suspended on the demo network: the child-allowance scenario's inquiries are refused
 * while its provider is suspended, and while its requester is, recorded so at the core and at the
 * requester (the same processing number, the same reason), and provided again once reinstated. The
 * operator's commands (`renkei registry suspend|reinstate|history`) run as separate processes over
 * the trust layer, so the history names the operator's certificate.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network } from '../src/network/launch.ts';
import { DEMO_SCENARIOS, runScenario } from '../src/network/scenarios.ts';
import type { SeededWorld } from '../src/network/seed.ts';
import { startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'renkei.js');
const CHILD_ALLOWANCE = DEMO_SCENARIOS.find((s) => s.id === 'a');
const PROVIDER = '131041'; // 新宿区 (A市), the provider of scenario a
const REQUESTER = '152048'; // 三条市 (X市), its requester

let demo: DemoNetwork | undefined;
let dir: string;
let network: Network;
let world: SeededWorld;

beforeAll(async () => {
  demo = await startDemoNetwork('suspension');
  ({ dir, network, world } = demo);
});

afterAll(async () => {
  await demo?.dispose();
});

async function renkei(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [BIN, '--data-dir', dir, ...args],
      { encoding: 'utf8', timeout: 30_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const registry = (action: string, id: string, ...more: string[]) =>
  renkei(['registry', action, '--core-url', network.core.url, '--institution', id, ...more]);

/** The scenario's exchanges, each checked against the core's record and the requester's own. */
async function exchanges(): Promise<{ outcome: string; reason: string | null | undefined }[]> {
  if (!CHILD_ALLOWANCE) throw new Error('scenario a is missing');
  const done = await runScenario(network, world, CHILD_ALLOWANCE);
  const atCore = await network.admin().listProvisionRecords({ query: { limit: 100 } });
  return Promise.all(
    done.map(async (e) => {
      const processingNumber = e.processingNumber ?? '';
      const core = atCore.records.find((r) => r.processingNumber === processingNumber);
      const requester = await network
        .institution(REQUESTER)
        .getInquiry({ params: { processingNumber }, query: {} });
      expect(core?.outcome).toBe(e.outcome);
      expect(requester.outcome).toBe(e.outcome);
      expect([core?.reason ?? null, requester.reason ?? null]).toEqual([
        e.outcome === 'refused' ? 'ERR_INSTITUTION_SUSPENDED' : null,
        e.outcome === 'refused' ? 'ERR_INSTITUTION_SUSPENDED' : null,
      ]);
      return { outcome: e.outcome, reason: e.reason };
    }),
  );
}

describe('an institution suspended on the demo network', () => {
  it('has its inquiries, and inquiries to it, refused and recorded at the core and the requester until reinstated', async () => {
    expect((await exchanges()).map((e) => e.outcome)).toEqual(['provided', 'provided']);

    const suspended = await registry('suspend', PROVIDER, '--reason', '監査のため停止');
    expect(suspended.code, suspended.stderr).toBe(0);
    expect(suspended.stdout).toContain(`${PROVIDER} `);
    expect(suspended.stdout).toContain('SUSPENDED');
    const refused = await exchanges();
    expect(refused).toEqual([
      { outcome: 'refused', reason: 'ERR_INSTITUTION_SUSPENDED' },
      { outcome: 'refused', reason: 'ERR_INSTITUTION_SUSPENDED' },
    ]);
    expect((await registry('reinstate', PROVIDER, '--reason', '監査完了')).code).toBe(0);
    expect((await exchanges()).map((e) => e.outcome)).toEqual(['provided', 'provided']);

    expect((await registry('suspend', REQUESTER, '--reason', 'requester suspended')).code).toBe(0);
    expect((await exchanges()).map((e) => e.outcome)).toEqual(['refused', 'refused']);
    expect((await registry('reinstate', REQUESTER, '--reason', 'done')).code).toBe(0);
    expect((await exchanges()).map((e) => e.outcome)).toEqual(['provided', 'provided']);

    const history = await registry('history', PROVIDER);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain('active');
    expect(history.stdout).toMatch(/suspended\s+│ operator:registry:\S+\s+│ 監査のため停止/);
    expect(history.stdout).toMatch(/reinstated\s+│ operator:registry:\S+\s+│ 監査完了/);

    const bad = await registry('suspend', 'no such', '--reason', 'x');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ERR_VALIDATION: --institution must be an institution code');
    const unknown = await registry('suspend', '999999', '--reason', 'x');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('ERR_UNKNOWN_INSTITUTION');
  }, 120_000);
});
