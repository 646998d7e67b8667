import type { Command } from 'commander';
import { backupNode } from '../network/backup.ts';
import { NODE_KINDS, loadNodeConfig, type NodeKind } from '../network/node-config.ts';
import { RenkeiError } from '../shared/errors.ts';
import { plural, table } from './output.ts';

/**
 * `renkei backup <kind> --config <file> --to <dir>`: a running node's own files and SQLite databases,
 * each database one consistent snapshot, checked and listed with its SHA-256 in `<dir>/backup.json`
 * (src/network/backup.ts). The node goes on running. To restore: stop the node, put the backup's
 * files (all but backup.json) in place of its directory under `dataDir`, start it.
 *
 * Errors (printed as `CODE: message`, exit 1): ERR_CONFIG_INVALID (the config file), ERR_VALIDATION
 * (the kind; `--to` exists already; the node has never run under its dataDir), ERR_DATABASE_BUSY,
 * ERR_STORAGE_FULL. Nothing is left under `--to` after a failure.
 */
export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description(
      'back up a node’s databases and files while it runs (a consistent snapshot of each database)',
    )
    .argument('<kind>', `which node: ${NODE_KINDS.join(', ')}`)
    .requiredOption('--config <file>', 'the node’s config file (examples/config/<kind>.yaml)')
    .requiredOption('--to <dir>', 'a new directory for the backup (it holds the node’s keys: keep it safe)')
    .action((kind: string, options: { config: string; to: string }) => {
      if (!(NODE_KINDS as readonly string[]).includes(kind)) {
        throw new RenkeiError('ERR_VALIDATION', `The node must be one of ${NODE_KINDS.join(', ')}.`);
      }
      const config = loadNodeConfig(kind as NodeKind, options.config);
      const manifest = backupNode(config, options.to, {
        onFile: (file) => console.error(`backup: ${file.path} (${file.kind})`),
      });
      const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
      console.log(
        table(
          ['file', 'kind', 'bytes', 'SHA-256'],
          manifest.files.map((f) => [f.path, f.kind, f.bytes, `${f.sha256.slice(0, 16)}…`]),
        ),
      );
      console.log(
        `${manifest.node}: ${plural(manifest.files.length, 'file')}, ${String(bytes)} bytes, in ${options.to} (listed in backup.json).`,
      );
      if (manifest.postgresSchemas.length > 0) {
        console.log(
          `Its databases are in PostgreSQL: take them with pg_dump as well, e.g. pg_dump ${manifest.postgresSchemas
            .map((s) => `--schema=${s}`)
            .join(' ')} <database URL>.`,
        );
      }
    });
}
