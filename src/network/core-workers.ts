/**
 * The core as several processes over one PostgreSQL database (`workers:` in its config): a primary
 * process that holds the core's data-directory lock and forks `workers` processes with node:cluster,
 * which share the core's port and its publication port (the primary accepts connections and hands
 * them out in turn). Each worker is a whole core (`startCore` with `worker: { id }`): the inquiries
 * it carries are its own, under a lease in the database, so a worker that dies has its inquiries
 * resumed by the others (or by its restart) and a live one's are never touched.
 *
 * We chose node:cluster over N ports behind a load balancer: peers and the registry know one core
 * URL, nothing else has to be installed or configured, and a worker that dies only takes its own
 * connections with it. Past one machine, run one such core per machine behind a TCP load balancer,
 * each with its own host in its workers' ids (the default, `<hostname>#<n>`). Processing numbers
 * need no coordination: they are UUIDv7 (48 bits of time, 74 random), and a duplicate would be
 * refused by the records' primary key rather than merged.
 */
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { LegalTable } from '../domain/legal-table/types.ts';
import { RenkeiError, isErrorCode } from '../shared/errors.ts';
import { lockDirectory } from '../shared/lock.ts';
import type { CoreConfig } from './node-config.ts';
import { runNode } from './run-node.ts';

const SLOT_ENV = 'RENKEI_CORE_WORKER';

type WorkerMessage =
  | { type: 'ready'; url: string; publicationUrl?: string; consoleUrl?: string }
  | { type: 'failed'; code: string; message: string };

export interface CoreWorkers {
  url: string;
  publicationUrl: string | undefined;
  /** The core's console (every worker serves it on the one port), when its config has one. */
  consoleUrl: string | undefined;
  /** The workers' process ids, by slot. */
  pids: () => number[];
  /** SIGTERM every worker (SIGKILL after `graceMs`), then release the lock. */
  close: (graceMs?: number) => Promise<void>;
}

/** Whether this process is one of the core's workers (forked by `startCoreWorkers`). */
export function isCoreWorker(): boolean {
  return cluster.isWorker && process.env[SLOT_ENV] !== undefined;
}

/**
 * In the primary: take the lock, fork the workers (the first alone, so that it creates the key file
 * and migrates the database before the others start), and wait until all are ready. A worker that
 * exits unexpectedly is reported with `report` and forked again after a second (five after a
 * failure right after starting).
 * Errors: ERR_DATA_DIR_IN_USE, and the first worker's start-up error (ERR_PORT_IN_USE,
 * ERR_DATABASE_UNAVAILABLE…).
 */
export async function startCoreWorkers(
  config: CoreConfig,
  workers: number,
  report: (line: string) => void,
): Promise<CoreWorkers> {
  const lock = lockDirectory(join(config.dataDir, 'core'), 'core');
  const bySlot = new Map<number, Worker>();
  let stopping = false;
  const fork = (slot: number): Promise<WorkerMessage & { type: 'ready' }> => {
    // Every worker listens on the config's ports; with port 0 they share the one the first got, as
    // node:cluster keys a shared listener by the address and port asked for.
    const worker = cluster.fork({ [SLOT_ENV]: String(slot) });
    bySlot.set(slot, worker);
    const startedAt = Date.now();
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          ready = true;
          resolve(message);
        } else {
          reject(
            isErrorCode(message.code)
              ? new RenkeiError(message.code, message.message)
              : new Error(message.message),
          );
        }
      });
      worker.once('exit', (code, signal) => {
        if (!ready) {
          reject(new Error(`core worker ${slot} exited before it was ready (exit code ${String(code)})`));
          return;
        }
        if (stopping || bySlot.get(slot) !== worker) return;
        const how = signal ? `signal ${signal}` : `exit code ${String(code)}`;
        const fast = Date.now() - startedAt < 10_000;
        report(`core worker ${slot} (process ${worker.process.pid ?? 0}) exited (${how}); restarting it`);
        setTimeout(
          () => {
            if (stopping) return;
            fork(slot).then(
              () => report(`core worker ${slot} restarted (process ${bySlot.get(slot)?.process.pid ?? 0})`),
              (error: unknown) => report(`core worker ${slot} failed to restart: ${String(error)}`),
            );
          },
          fast ? 5_000 : 1_000,
        ).unref();
      });
    });
  };
  const close = async (graceMs = 10_000) => {
    stopping = true;
    await Promise.all(
      [...bySlot.values()].map(async (worker) => {
        if (worker.process.exitCode !== null || worker.process.signalCode !== null) return;
        const exited = once(worker, 'exit');
        worker.process.kill('SIGTERM');
        const timer = setTimeout(() => worker.process.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    lock.release();
  };
  try {
    const first = await fork(1);
    const rest = [];
    for (let slot = 2; slot <= workers; slot++) rest.push(fork(slot));
    await Promise.all(rest);
    return {
      url: first.url,
      publicationUrl: first.publicationUrl,
      consoleUrl: first.consoleUrl,
      pids: () => [...bySlot.values()].map((w) => w.process.pid ?? 0),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * In a worker: start the core as `<hostname>#<slot>`, tell the primary, and stop cleanly on SIGTERM
 * or SIGINT, or when the primary is gone. A start-up failure is sent to the primary, which reports it.
 */
export async function runCoreWorker(config: CoreConfig, legalTable: LegalTable): Promise<void> {
  const slot = process.env[SLOT_ENV] ?? '1';
  const send = (message: WorkerMessage) => process.send?.(message);
  let node;
  try {
    node = await runNode(config, legalTable, { worker: { id: `${hostname()}#${slot}` } });
  } catch (error) {
    send(
      error instanceof RenkeiError
        ? { type: 'failed', code: error.code, message: error.message }
        : { type: 'failed', code: 'ERR_INTERNAL', message: String(error) },
    );
    process.exitCode = 1;
    process.disconnect?.();
    return;
  }
  const running = node;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
  send({
    type: 'ready',
    url: running.url,
    ...(running.publicationUrl === undefined ? {} : { publicationUrl: running.publicationUrl }),
    ...(running.consoleUrl === undefined ? {} : { consoleUrl: running.consoleUrl }),
  });
}
