/**
 * Key rotation end to end on the demo network: the core rotates an institution's key, exchanges keep
 * working while the institution re-keys the codes it holds, and the next rotation waits for that
 * re-keying. Real nodes, real SQLite files, real HTTP; the CLI runs as a separate process.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network } from '../src/network/launch.ts';
import { DEMO_SCENARIOS, runScenario } from '../src/network/scenarios.ts';
import type { SeededWorld } from '../src/network/seed.ts';
import type { CodeReissuePage } from '../src/protocol/business.ts';
import { RenkeiError } from '../src/shared/errors.ts';
import { startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'renkei.js');
const CHILD_ALLOWANCE = DEMO_SCENARIOS.find((s) => s.id === 'a');
const PROVIDER = '131041'; // 新宿区 (A市), the provider of scenario a
const REQUESTER = '152048'; // 三条市 (X市), its requester

let demo: DemoNetwork | undefined;
let dir: string;
let network: Network;
let world: SeededWorld;
let core: ReturnType<Network['admin']>;

beforeAll(async () => {
  demo = await startDemoNetwork('rotation');
  ({ dir, network, world } = demo);
  core = network.admin();
});

afterAll(async () => {
  await demo?.dispose();
});

async function childAllowanceOutcomes(): Promise<string[]> {
  if (!CHILD_ALLOWANCE) throw new Error('scenario a is missing');
  const exchanges = await runScenario(network, world, CHILD_ALLOWANCE);
  return exchanges.map((e) => e.outcome);
}

function rotate(institutionId: string): Promise<{ keyVersion: number }> {
  return core.rotateInstitutionKey({ params: { id: institutionId } });
}

async function rotationError(institutionId: string): Promise<string | undefined> {
  try {
    await rotate(institutionId);
    return undefined;
  } catch (error) {
    return error instanceof RenkeiError ? error.code : String(error);
  }
}

/** The key version of every code the institution's intermediate server holds (the code's first byte). */
function heldCodeVersions(institutionId: string): number[] {
  const db = new Database(join(dir, 'institutions', institutionId, 'intermediate.sqlite'), {
    readonly: true,
  });
  try {
    const rows = db.prepare('SELECT person_code FROM persons WHERE person_code IS NOT NULL').all() as {
      person_code: string;
    }[];
    return rows.map((r) => Buffer.from(r.person_code, 'base64url')[0] ?? 0);
  } finally {
    db.close();
  }
}

async function renkei(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('key rotation on the demo network', () => {
  it('a rotated provider keeps answering from its copies, before and after it re-keys', async () => {
    expect(await childAllowanceOutcomes()).toEqual(['provided', 'provided']);
    expect((await rotate(PROVIDER)).keyVersion).toBe(2);

    // The provider still holds version-1 codes; the core sends both versions, so it finds its copies.
    expect(new Set(heldCodeVersions(PROVIDER))).toEqual(new Set([1]));
    expect(await childAllowanceOutcomes()).toEqual(['provided', 'provided']);
    // The next rotation waits for the re-keying.
    expect(await rotationError(PROVIDER)).toBe('ERR_REKEY_PENDING');

    // Re-key one code per page, as a large institution would page through thousands.
    const provider = network.institution(PROVIDER);
    const held = heldCodeVersions(PROVIDER).length;
    const pages: CodeReissuePage[] = [];
    let after: string | null | undefined;
    do {
      const page: CodeReissuePage = await provider.reissueCodes({
        body: {
          limit: 1,
          ...(after ? { after } : {}),
          ...(pages[0] ? { keyVersion: pages[0].keyVersion } : {}),
        },
      });
      pages.push(page);
      after = page.next;
    } while (after);
    expect(pages.length).toBe(held + 1); // the last page is the empty one that completes
    expect(pages.reduce((n, p) => n + p.reissued, 0)).toBe(held);
    expect(pages.at(-1)?.completed).toBe(true);
    expect(heldCodeVersions(PROVIDER)).toEqual(Array.from({ length: held }, () => 2));

    const registered = await core.getInstitution({ params: { id: PROVIDER } });
    expect(registered).toMatchObject({ keyVersion: 2, rekeyedVersion: 2 });
    expect(await childAllowanceOutcomes()).toEqual(['provided', 'provided']);
    expect((await rotate(PROVIDER)).keyVersion).toBe(3);
  });

  it('refuses to mix key versions within one re-keying', async () => {
    const requester = network.institution(REQUESTER);
    let code: string | undefined;
    try {
      await requester.reissueCodes({ body: { limit: 1, keyVersion: 9 } });
    } catch (error) {
      code = error instanceof RenkeiError ? error.code : String(error);
    }
    expect(code).toBe('ERR_KEY_VERSION_CHANGED');
    expect(new Set(heldCodeVersions(REQUESTER))).toEqual(new Set([1])); // nothing was written
  });

  it('renkei codes rotate and renkei codes reissue do the same from the command line', async () => {
    const rotated = await renkei([
      '--data-dir',
      dir,
      'codes',
      'rotate',
      '--core-url',
      network.core.url,
      '--institution',
      REQUESTER,
    ]);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain('renkei codes reissue');

    // Inquiries under the requester's version-1 codes still work during the grace version.
    expect(await childAllowanceOutcomes()).toEqual(['provided', 'provided']);

    const institutionUrl = network.institutions.get(REQUESTER)?.url ?? '';
    const held = heldCodeVersions(REQUESTER).length;
    const reissued = await renkei([
      '--data-dir',
      dir,
      'codes',
      'reissue',
      '--institution-url',
      institutionUrl,
      '--batch-size',
      '2',
    ]);
    expect(reissued.code).toBe(0);
    expect(reissued.stdout).toMatch(new RegExp(`│ 2\\s+│ ${held}\\s+│ ${held}\\s+│ 0\\s+│ 0`));
    expect(reissued.stdout).toContain('Re-keying is complete');
    expect(new Set(heldCodeVersions(REQUESTER))).toEqual(new Set([2]));
    expect(await childAllowanceOutcomes()).toEqual(['provided', 'provided']);

    const bad = await renkei(['codes', 'rotate', '--core-url', network.core.url, '--institution', 'no such']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ERR_VALIDATION: --institution must be an institution code');
    const tooBig = await renkei([
      '--data-dir',
      dir,
      'codes',
      'reissue',
      '--institution-url',
      institutionUrl,
      '--batch-size',
      '5000',
    ]);
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toContain('--batch-size must be a whole number from 1 to 1000');
  });
});
