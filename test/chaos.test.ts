/**
 * Nothing accepted is lost when nodes die: `renkei chaos` as a user runs it (the network as one
 * supervised OS process per node, under load), with a SIGKILL of each node on the inquiry path — the
 * requester under load, then the core and the provider while it restarts — then every accepted
 * inquiry must end at the requester, none may stay in doubt, and `records verify` over the three
 * parties must find nothing. Lean on purpose: two institutions, three kills that overlap so the
 * three restart side by side (a node's start is 5–20 s on the loaded 2-core machine, so one kill
 * waiting for the last victim's restart cost the test that much each). The full run (≥100 kills,
 * most waiting for the network to be whole) is `npm run chaos`; its figures are in the README.
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
  it('loses no accepted inquiry and leaves no record missing when the requester, the core and the provider are killed', async () => {
    const result = await run(
      process.execPath,
      [
        'bin/renkei.js',
        '--data-dir',
        dir,
        'chaos',
        '--kills',
        '3',
        '--concurrency',
        '4',
        '--settle-seconds',
        '60',
        '--overlap',
        '1',
        '--victims',
        'institution:152048,core,institution:131041',
      ],
      { timeout: 150_000 },
    ).catch((error: unknown) => error as { stdout: string; stderr: string; code: number });
    const out = result.stdout;
    // The figures' row: kills, restarts, load s, accepted, completed, lost, records findings, in doubt, …
    const row = out
      .split('\n')
      .find((line) => /^│ 3 /.test(line))
      ?.split('│')
      .map((cell) => cell.trim())
      .filter((cell) => cell !== '');
    expect(row, out + result.stderr).toBeDefined();
    const [, , , accepted, completed, lost, findings, inDoubt] = row ?? [];
    expect(Number(accepted)).toBeGreaterThan(0);
    expect(completed).toBe(accepted);
    expect(lost).toBe('0');
    expect(findings, out).toBe('0');
    expect(inDoubt, out).toBe('0');
    expect(out).toContain('kills per node: core 1, institution:131041 1, institution:152048 1');
    expect('code' in result ? result.code : 0).toBe(0);
  }, 160_000);
});
