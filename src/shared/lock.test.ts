import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RenkeiError } from './errors.ts';
import { lockAndLog, lockDirectory } from './lock.ts';
import { closeLogger } from './logger.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    return error instanceof RenkeiError ? error.code : String(error);
  }
}

/** The pid of a process that has certainly exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

describe('a data directory lock', () => {
  it('lets one node hold a directory at a time, and frees it on release', () => {
    const lock = lockDirectory(dir, 'core');
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ pid: process.pid });
    expect(codeOf(() => lockDirectory(dir, 'core'))).toBe('ERR_DATA_DIR_IN_USE');
    // Another node's lock in the same directory is a different lock.
    lockDirectory(dir, 'jlis').release();
    lock.release();
    lock.release(); // idempotent
    expect(existsSync(lock.path)).toBe(false);
    lockDirectory(dir, 'core').release();
  });

  it('refuses while another live process holds it, naming the process', () => {
    writeFileSync(join(dir, 'core.lock'), JSON.stringify({ pid: process.ppid }));
    let message = '';
    try {
      lockDirectory(dir, 'core');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(`process ${process.ppid}`);
    expect(message).toContain('--data-dir');
  });

  it('takes over a lock left by a process that is gone, or a half-written one', () => {
    writeFileSync(join(dir, 'core.lock'), JSON.stringify({ pid: deadPid() }));
    lockDirectory(dir, 'core').release();
    writeFileSync(join(dir, 'core.lock'), '{"pi');
    lockDirectory(dir, 'core').release();
  });

  it('does not remove a lock that another process has taken since', () => {
    const lock = lockDirectory(dir, 'core');
    writeFileSync(lock.path, JSON.stringify({ pid: process.ppid }));
    lock.release();
    expect(existsSync(lock.path)).toBe(true);
  });
});

describe('a node start: its lock, then its log', () => {
  it('lets go of the lock when the log cannot be opened, so that the node can be started again', async () => {
    const node = join(dir, 'node');
    writeFileSync(join(dir, 'logs'), 'a file where the log directory should be');
    await expect(
      lockAndLog({ dir: node, lockName: 'jlis', node: 'jlis', logFile: join(dir, 'logs', 'jlis.log') }),
    ).rejects.toThrow();
    expect(existsSync(join(node, 'jlis.lock'))).toBe(false);
    rmSync(join(dir, 'logs'));
    const started = await lockAndLog({
      dir: node,
      lockName: 'jlis',
      node: 'jlis',
      logFile: join(dir, 'logs', 'jlis.log'),
    });
    try {
      expect(started.ownLogger).toBe(true);
      expect(codeOf(() => lockDirectory(node, 'jlis'))).toBe('ERR_DATA_DIR_IN_USE');
    } finally {
      started.lock.release();
      await closeLogger(started.logger);
    }
  });
});
