import type { Command } from 'commander';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { NODE_KINDS, loadNodeConfig, type NodeKind } from '../network/node-config.ts';
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
  pid: number;
}

/**
 * `renkei node <core|jlis|institution> --config <file>`: one node alone, as a real deployment runs
 * it (README "Deploying"; examples/config/). Prints one line when it listens (a `ReadyLine`), then
 * runs until SIGTERM or SIGINT, on which it stops taking requests, finishes, closes its databases,
 * flushes its log and exits 0.
 *
 * Errors (printed as `CODE: message`, exit 1): ERR_CONFIG_INVALID (the file, naming each wrong
 * field), ERR_NO_PKI, ERR_PORT_IN_USE, ERR_DATA_DIR_IN_USE, ERR_DATABASE_UNAVAILABLE.
 */
export function registerNodeCommand(program: Command): void {
  program
    .command('node')
    .description('run one node (core, jlis or institution) from its YAML config file')
    .argument('<kind>', `which node: ${NODE_KINDS.join(', ')}`)
    .requiredOption('--config <file>', 'the node’s config file (examples/config/<kind>.yaml)')
    .action(async (kind: string, options: { config: string }) => {
      if (!(NODE_KINDS as readonly string[]).includes(kind)) {
        throw new RenkeiError('ERR_VALIDATION', `The node must be one of ${NODE_KINDS.join(', ')}.`);
      }
      const config = loadNodeConfig(kind as NodeKind, options.config);
      if (config.node === 'core') checkWorkers(config.workers ?? 1, config.database !== undefined);
      // Its warnings are for whoever edits legal/ (`renkei legal check` shows them), not for every start.
      const legalTable = loadLegalTable();
      const node = await runNode(config, legalTable);
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
        pid: process.pid,
      };
      process.stdout.write(`${JSON.stringify(ready)}\n`);
    });
}

/**
 * Several core processes need PostgreSQL: a SQLite file belongs to one process, and the data
 * directory's lock lets one core run on it. On PostgreSQL they are not supported yet either: an
 * inquiry in flight has no owner, so a starting process would settle another's (see README, "Not yet").
 * Errors: ERR_CONFIG_INVALID naming `workers`.
 */
export function checkWorkers(workers: number, postgres: boolean): void {
  if (workers <= 1) return;
  throw new RenkeiError(
    'ERR_CONFIG_INVALID',
    postgres
      ? 'workers: more than one core process is not supported yet; set workers: 1.'
      : 'workers: more than one core process needs PostgreSQL (database: postgres://… in its config, --database for renkei start); on the SQLite default, run one.',
    { fields: ['workers'] },
  );
}
