import type { Command } from 'commander';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { isCoreWorker, runCoreWorker, startCoreWorkers } from '../network/core-workers.ts';
import { NODE_KINDS, loadNodeConfig, type CoreConfig, type NodeKind } from '../network/node-config.ts';
import type { RunningNode } from '../shared/node.ts';
import { nodeName, runNode } from '../network/run-node.ts';
import { RenkeiError } from '../shared/errors.ts';

/**
 * Set by `renkei start` for the nodes it supervises: such a node also stops when its standard input
 * closes, so that a supervisor killed outright (`kill -9`) leaves no node behind.
 */
export const SUPERVISED_ENV = 'RENKEI_SUPERVISED';

/** The line a node prints on standard output once it listens: one JSON object, for supervisors. */
export interface ReadyLine {
  ready: string;
  url: string;
  publicationUrl?: string;
  /** The portal's network listener (the core's registry names it). */
  networkUrl?: string;
  /** The institution's clerk console, when it serves one. */
  consoleUrl?: string;
  pid: number;
  /** The core's worker processes, when it runs several. */
  workers?: number[];
}

/**
 * `renkei node <core|jlis|institution|corporate|portal> --config <file>`: one node alone, as a real deployment runs
 * it (README "Deploying"; examples/config/). Prints one line when it listens (a `ReadyLine`), then
 * runs until SIGTERM or SIGINT, on which it stops taking requests, finishes, closes its databases,
 * flushes its log and exits 0.
 *
 * With `workers:` above 1 (PostgreSQL only) the core runs as that many processes sharing its port
 * (src/network/core-workers.ts); its ready line lists them.
 *
 * Errors (printed as `CODE: message`, exit 1): ERR_CONFIG_INVALID (the file, naming each wrong
 * field; `workers` above 1 on SQLite), ERR_NO_PKI, ERR_PORT_IN_USE, ERR_DATA_DIR_IN_USE, ERR_DATABASE_UNAVAILABLE.
 */
export function registerNodeCommand(program: Command): void {
  program
    .command('node')
    .description('run one node (core, jlis, institution, corporate or portal) from its YAML config file')
    .argument('<kind>', `which node: ${NODE_KINDS.join(', ')}`)
    .requiredOption('--config <file>', 'the node’s config file (examples/config/<kind>.yaml)')
    .action(async (kind: string, options: { config: string }) => {
      if (!(NODE_KINDS as readonly string[]).includes(kind)) {
        throw new RenkeiError('ERR_VALIDATION', `The node must be one of ${NODE_KINDS.join(', ')}.`);
      }
      const config = loadNodeConfig(kind as NodeKind, options.config);
      // Its warnings are for whoever edits legal/ (`renkei legal check` shows them), not for every start.
      const legalTable = loadLegalTable();
      if (config.node === 'core' && isCoreWorker()) return runCoreWorker(config, legalTable);
      const workers = config.node === 'core' ? (config.workers ?? 1) : 1;
      checkWorkers(workers, config.database !== undefined);
      const node: RunningNode & { workerPids?: () => number[] } =
        config.node === 'core' && workers > 1
          ? await coreWorkersNode(config, workers)
          : await runNode(config, legalTable);
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        node.close().then(
          () => process.exit(0),
          (error: unknown) => {
            console.error(`${nodeName(config)} did not stop cleanly:`, error);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      if (process.env[SUPERVISED_ENV] === '1') {
        process.stdin.on('end', stop).on('error', stop).resume();
      }
      const ready: ReadyLine = {
        ready: nodeName(config),
        url: node.url,
        ...(node.publicationUrl === undefined ? {} : { publicationUrl: node.publicationUrl }),
        ...(node.networkUrl === undefined ? {} : { networkUrl: node.networkUrl }),
        ...(node.consoleUrl === undefined ? {} : { consoleUrl: node.consoleUrl }),
        pid: process.pid,
        ...(node.workerPids === undefined ? {} : { workers: node.workerPids() }),
      };
      process.stdout.write(`${JSON.stringify(ready)}\n`);
    });
}

/**
 * Several core processes need PostgreSQL: a SQLite file belongs to one process, as does the data
 * directory's lock. Errors: ERR_CONFIG_INVALID naming `workers`.
 */
export function checkWorkers(workers: number, postgres: boolean): void {
  if (workers <= 1 || postgres) return;
  throw new RenkeiError(
    'ERR_CONFIG_INVALID',
    'workers: more than one core process needs PostgreSQL (database: postgres://… in its config, --database for renkei start); on the SQLite default, run one.',
    { fields: ['workers'] },
  );
}

/** The core as a primary process and `workers` workers sharing its ports (src/network/core-workers.ts). */
async function coreWorkersNode(
  config: CoreConfig,
  workers: number,
): Promise<RunningNode & { workerPids: () => number[] }> {
  const started = await startCoreWorkers(config, workers, (line) => console.error(line));
  return {
    name: 'core',
    url: started.url,
    ...(started.publicationUrl === undefined ? {} : { publicationUrl: started.publicationUrl }),
    ...(started.consoleUrl === undefined ? {} : { consoleUrl: started.consoleUrl }),
    workerPids: started.pids,
    close: () => started.close(),
  };
}
