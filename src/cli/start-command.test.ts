/**
 * `npm start` (`renkei start`) as a newcomer runs it: a real child process through bin/renkei.js,
 * stopped with Ctrl-C's signal once it says it is ready.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from './test-support.ts';

const temp = mkdtempSync(join(tmpdir(), 'renkei-start-cli-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('renkei start', () => {
  it('starts without warnings about the legal table, which are for `renkei legal check`', async () => {
    const child = spawn(process.execPath, [BIN, '--data-dir', temp, 'start', '--port-base', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const ready = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        if (stdout.includes('Press Ctrl-C to stop.')) resolve();
      });
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([ready, exited, new Promise((resolve) => (timer = setTimeout(resolve, 20_000)))]);
    } finally {
      clearTimeout(timer);
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stdout).toContain('Press Ctrl-C to stop.');
    expect(stderr).toBe('');
    expect(stdout).not.toContain('Warning');
  });
});
