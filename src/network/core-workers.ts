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
 *
 * A scrape of `/metrics` reaches one worker; it asks the primary, which gathers every worker's
 * figures over the cluster's IPC channel and merges them (each series labelled with its `worker`),
 * so that one scrape sees the whole core.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { LegalTable } from '../domain/legal-table/types.ts';
import { RenkeiError, isErrorCode } from '../shared/errors.ts';
import { lockDirectory } from '../shared/lock.ts';
import { mergedText, type MetricFamily, type NodeMetrics } from '../shared/metrics.ts';
import type { CoreConfig } from './node-config.ts';
import { runNode } from './run-node.ts';

const SLOT_ENV = 'RENKEI_CORE_WORKER';

type WorkerMessage =
  | { type: 'ready'; url: string; publicationUrl?: string; consoleUrl?: string }
  | { type: 'failed'; code: string; message: string }
  /** A worker was scraped: the primary is to gather every worker's figures. */
  | { type: 'metrics-gather'; requestId: string }
  /** A worker's figures, asked for by `metrics-collect`. */
  | { type: 'metrics-part'; requestId: string; families: MetricFamily[] };

type PrimaryMessage =
  | { type: 'metrics-collect'; requestId: string }
  | { type: 'metrics-gathered'; requestId: string; text: string };

/**
 * How long the primary waits for the workers' figures for one scrape; a worker that has not answered
 * by then (starting, stopping, busy) is left out of it, and says so by its missing `worker` series.
 */
const GATHER_MS = 2_000;
/** How long a scraped worker waits for the primary before it answers with its own figures alone. */
const GATHERED_MS = GATHER_MS + 1_000;

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
  /** The scrapes being gathered: each takes the workers' parts as they come. */
  const gathering = new Map<string, (families: MetricFamily[]) => void>();
  // A scrape reaches one worker (the primary hands connections out in turn); it asks here, and every
  // worker's figures are merged into its answer, so that one scrape sees the whole core.
  const gather = async (asker: Worker, requestId: string) => {
    const live = [...bySlot.values()].filter((worker) => worker.isConnected());
    const parts: MetricFamily[][] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, GATHER_MS);
      gathering.set(requestId, (families) => {
        parts.push(families);
        if (parts.length === live.length) {
          clearTimeout(timer);
          resolve();
        }
      });
      for (const worker of live) sendTo(worker, { type: 'metrics-collect', requestId });
    });
    gathering.delete(requestId);
    sendTo(asker, { type: 'metrics-gathered', requestId, text: await mergedText(parts) });
  };
  const fork = (slot: number): Promise<WorkerMessage & { type: 'ready' }> => {
    // Every worker listens on the config's ports; with port 0 they share the one the first got, as
    // node:cluster keys a shared listener by the address and port asked for.
    const worker = cluster.fork({ [SLOT_ENV]: String(slot) });
    bySlot.set(slot, worker);
    const startedAt = Date.now();
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'metrics-gather') {
          void gather(worker, message.requestId).catch(() => undefined);
        } else if (message.type === 'metrics-part') {
          gathering.get(message.requestId)?.(message.families);
        } else if (message.type === 'ready') {
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
    node = await runNode(config, legalTable, {
      // The first worker watches the institutions' heads for all of them (one watch per machine).
      worker: { id: `${hostname()}#${slot}`, shareMetrics: gatherThroughPrimary, watchesHeads: slot === '1' },
    });
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

/** A message to a worker that may have gone meanwhile (its channel closed): then nothing is sent. */
function sendTo(worker: Worker, message: PrimaryMessage): void {
  if (!worker.isConnected()) return;
  worker.send(message, (error: Error | null) => void error);
}

/**
 * In a worker: give the primary this worker's figures when it gathers them, and answer a scrape with
 * every worker's (the primary's merge), or with this worker's alone when the primary does not answer.
 */
function gatherThroughPrimary(metrics: NodeMetrics): void {
  const waiting = new Map<string, (text: string) => void>();
  process.on('message', (message: PrimaryMessage) => {
    if (message.type === 'metrics-collect') {
      void metrics.families().then(
        (families) =>
          process.send?.({
            type: 'metrics-part',
            requestId: message.requestId,
            families,
          } satisfies WorkerMessage),
        () => undefined, // the primary leaves this worker out when its wait is over
      );
    } else if (message.type === 'metrics-gathered') {
      waiting.get(message.requestId)?.(message.text);
    }
  });
  metrics.gatherWith(async () => {
    const requestId = randomUUID();
    const text = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), GATHERED_MS);
      waiting.set(requestId, (gathered) => {
        clearTimeout(timer);
        resolve(gathered);
      });
      if (!process.connected) resolve(undefined);
      else process.send?.({ type: 'metrics-gather', requestId } satisfies WorkerMessage);
    });
    waiting.delete(requestId);
    return text ?? metrics.ownText();
  });
}
