/**
 * `renkei demo` as a newcomer runs it: a real child process through bin/renkei.js, its own network.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attachmentsLine } from './demo-command.ts';
import type { Exchange } from '../network/scenarios.ts';
import { lockDirectory } from '../shared/lock.ts';
import { renkei } from './test-support.ts';

const temp = mkdtempSync(join(tmpdir(), 'renkei-demo-cli-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** The lines printed for one scenario, from its `(id)` line to the blank line after it. */
function scenario(stdout: string, id: string): string {
  const start = stdout.indexOf(`(${id}) `);
  return start < 0 ? '' : stdout.slice(start, stdout.indexOf('\n\n', start));
}

describe('renkei demo', () => {
  it('refuses to start while another demo uses the data directory, deleting nothing of it', async () => {
    const dir = join(temp, 'busy');
    const first = await renkei('--data-dir', dir, 'demo');
    expect(first.status).toBe(0);
    const database = join(dir, 'demo', 'core', 'core.sqlite');
    expect(existsSync(database)).toBe(true);

    const running = lockDirectory(dir, 'demo'); // as a demo in progress holds it
    try {
      const second = await renkei('--data-dir', dir, 'demo');
      expect(second.status).toBe(1);
      expect(second.stderr).toContain('ERR_DATA_DIR_IN_USE');
      expect(existsSync(database)).toBe(true);
    } finally {
      running.release();
    }
  });

  it('tells which attachments are no longer needed, still needed, or why the core refused', async () => {
    const run = await renkei('--data-dir', temp, 'demo');
    expect(run.status).toBe(0);
    // Scenario a asks for item 2 only: it replaces 課税証明書, not the procedure's other attachment 住民票.
    expect(scenario(run.stdout, 'a')).toContain('No longer needed: 課税証明書\n');
    expect(scenario(run.stdout, 'a')).not.toContain('住民票');

    const refused = scenario(run.stdout, 'e');
    expect(refused).toContain('    Refused by the core: a health insurer may not use clause 74');
    expect(refused).not.toContain('none:');
    expect(refused).not.toContain('needed');

    const notHeld = scenario(run.stdout, 'f');
    expect(notHeld).toContain('    Still needed: 課税証明書 (the provider holds no copy)');
    expect(notHeld).not.toContain('No longer needed');
  });
});

describe('attachmentsLine', () => {
  const exchange = (resident: string, outcome: Exchange['outcome']) => ({ resident, outcome }) as Exchange;

  it('names the residents still bringing them when only some exchanges provided the information', () => {
    expect(attachmentsLine(['住民票'], [exchange('a', 'provided'), exchange('b', 'failed')])).toBe(
      'Still needed for b: 住民票 (the exchange failed)',
    );
    expect(attachmentsLine(['住民票'], [exchange('a', 'provided')])).toBe('No longer needed: 住民票');
  });
});
