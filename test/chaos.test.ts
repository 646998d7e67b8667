/**
 * Nothing accepted is lost when nodes die: `renkei chaos` as a user runs it (the network as one
 * supervised OS process per node, under load), with a few SIGKILLs — the core, the requester, the
 * provider and J-LIS, each once — then every accepted inquiry must end at the requester, and
 * `records verify` over the three parties must find nothing. The full run (≥100 kills) is
 * `npm run chaos`; its figures are in the README.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'renkei-chaos-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('renkei chaos', () => {
  it('loses no accepted inquiry and leaves no record missing when the core, the requester, the provider and J-LIS are killed', async () => {
    const result = await run(
      process.execPath,
      [
        'bin/renkei.js',
        '--data-dir',
        dir,
        'chaos',
        '--kills',
        '4',
        '--concurrency',
        '4',
        '--settle-seconds',
        '60',
        '--victims',
        'institution:152048,core,institution:131041,jlis',
      ],
      { timeout: 170_000 },
    ).catch((error: unknown) => error as { stdout: string; stderr: string; code: number });
    const out = result.stdout;
    // The figures' row: kills, restarts, load s, accepted, completed, lost, records findings, …
    const row = out
      .split('\n')
      .find((line) => /^│ 4 /.test(line))
      ?.split('│')
      .map((cell) => cell.trim())
      .filter((cell) => cell !== '');
    expect(row, out + result.stderr).toBeDefined();
    const [, , , accepted, completed, lost, findings] = row ?? [];
    expect(Number(accepted)).toBeGreaterThan(0);
    expect(completed).toBe(accepted);
    expect(lost).toBe('0');
    expect(findings, out).toBe('0');
    expect(out).toContain('kills per node: core 1, institution:131041 1, institution:152048 1, jlis 1');
    expect('code' in result ? result.code : 0).toBe(0);
  }, 180_000);
});
