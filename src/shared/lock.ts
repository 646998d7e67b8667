import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RenkeiError } from './errors.ts';
import { createLogger, type Logger, type LogRotation } from './logger.ts';

/** A node's hold on its data directory; `release` is idempotent. */
export interface DirectoryLock {
  readonly path: string;
  release(): void;
}

/** Locks held by this process, so that one process cannot run the same node twice either. */
const heldHere = new Set<string>();

/**
 * Take `${dir}/${node}.lock` so that no second node runs on the same files: two cores over one
 * database would each settle the other's inquiries in flight and rewrite the registry under it.
 * The lock file names the holding process; a lock left by a process that is gone (a crash, a
 * `kill -9`) is taken over. SQLite's own locking guards single writes, not a node's whole run.
 *
 * Errors: ERR_DATA_DIR_IN_USE while a live process holds the lock.
 */
export function lockDirectory(dir: string, node: string): DirectoryLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${node}.lock`);
  const mine = JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() });
  for (let attempt = 0; ; attempt++) {
    try {
      if (heldHere.has(path)) throw inUse(dir, node, process.pid);
      writeFileSync(path, mine, { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if (error instanceof RenkeiError || (error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = holderOf(path);
      // Our own pid in a lock this process does not hold is a previous run's: the pid was reused.
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) throw inUse(dir, node, holder);
      if (attempt > 0) throw inUse(dir, node, holder ?? 0); // lost a race for a stale lock
      unlinkSync(path); // stale: its process is gone
    }
  }
  heldHere.add(path);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      heldHere.delete(path);
      try {
        if (readFileSync(path, 'utf8') === mine) unlinkSync(path);
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
}

function holderOf(path: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined; // unreadable or half-written: treated as stale
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, but another user's
  }
}

function inUse(dir: string, node: string, pid: number): RenkeiError {
  return new RenkeiError(
    'ERR_DATA_DIR_IN_USE',
    `The ${node} data in ${dir} is in use by a running Renkei node (process ${pid}). ` +
      'Stop that one first, or give this one its own data directory (--data-dir).',
    { node, pid },
  );
}

/**
 * How every node's start begins: its directory locked (none for a core worker, `dir` undefined:
 * the first core process holds it), then its logger, writing `logFile` (rotated) unless one is
 * given. A log that cannot be opened (a directory not writable) lets go of the lock: nothing started.
 * `ownLogger` says whether the node must close the logger when it stops.
 */
export async function lockAndLog(options: {
  dir: string | undefined;
  lockName: string;
  node: string;
  logFile: string;
  logger?: Logger | undefined;
  logRotation?: LogRotation | undefined;
}): Promise<{ lock: DirectoryLock; logger: Logger; ownLogger: boolean }> {
  const lock =
    options.dir === undefined
      ? { path: '', release: () => undefined }
      : lockDirectory(options.dir, options.lockName);
  if (options.logger !== undefined) return { lock, logger: options.logger, ownLogger: false };
  try {
    const logger = await createLogger({
      node: options.node,
      file: options.logFile,
      ...(options.logRotation === undefined ? {} : { rotation: options.logRotation }),
    });
    return { lock, logger, ownLogger: true };
  } catch (error) {
    lock.release();
    throw error;
  }
}
