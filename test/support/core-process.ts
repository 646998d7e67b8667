/**
 * The core in an OS process of its own, for tests that must look at the core alone (its heap, its
 * files): `spawnCore` is a `LaunchOptions.startCore` that runs this file with `node --import tsx` and
 * the options the launcher chose, and this file, run that way, starts the core from its main.ts with
 * them, logging to the core's usual log file at the most verbose level (`trace`).
 *
 * The legal table and the clock cannot cross a process boundary: the child loads the same legal
 * table (`loadLegalTable()`, checked by digest) and uses the system clock, as the launcher does by
 * default.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLegalTable } from '../../src/domain/legal-table/index.ts';
import { startCore, type StartCoreOptions } from '../../src/nodes/core/main.ts';
import { closeLogger, createLogger } from '../../src/shared/logger.ts';
import type { RunningNode } from '../../src/shared/node.ts';

const OPTIONS_ENV = 'RENKEI_TEST_CORE_OPTIONS';
const HERE = fileURLToPath(import.meta.url);

type Portable = Pick<
  StartCoreOptions,
  'dataDir' | 'port' | 'retentionYears' | 'security' | 'publicationPort'
> & { legalTableDigest: string };

export interface SpawnedCore extends RunningNode {
  readonly pid: number;
}

/**
 * Start the core in a child process. `diagnosticDir` is where `kill -USR2 <pid>` makes it write a
 * heap snapshot (`--heapsnapshot-signal`).
 */
export function spawnCore(diagnosticDir: string): (options: StartCoreOptions) => Promise<SpawnedCore> {
  return async (options) => {
    if (options.logger !== undefined || options.transport !== undefined) {
      throw new TypeError('spawnCore: a logger or a transport cannot cross a process boundary');
    }
    const portable: Portable = {
      dataDir: options.dataDir,
      port: options.port,
      legalTableDigest: options.legalTable.digest,
      ...(options.retentionYears === undefined ? {} : { retentionYears: options.retentionYears }),
      ...(options.security === undefined ? {} : { security: options.security }),
      ...(options.publicationPort === undefined ? {} : { publicationPort: options.publicationPort }),
    };
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${diagnosticDir}`, HERE],
      {
        cwd: join(import.meta.dirname, '..', '..'),
        env: { ...process.env, [OPTIONS_ENV]: JSON.stringify(portable) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit');
    const started = await new Promise<{ url: string; publicationUrl?: string }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n') && line !== undefined) resolve(JSON.parse(line) as { url: string });
      });
      void exited.then(([code]) => reject(new Error(`the core process exited (${String(code)}): ${stderr}`)));
    });
    let closing: Promise<void> | undefined;
    return {
      name: 'core',
      pid: child.pid ?? 0,
      url: started.url,
      ...(started.publicationUrl === undefined ? {} : { publicationUrl: started.publicationUrl }),
      close: () =>
        (closing ??= (async () => {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            await exited;
          }
        })()),
    };
  };
}

async function main(options: Portable): Promise<void> {
  const legalTable = loadLegalTable();
  if (legalTable.digest !== options.legalTableDigest) {
    throw new Error('the core process loaded another legal table than the launcher');
  }
  const logger = await createLogger({
    node: 'core',
    file: join(options.dataDir, 'logs', 'core.log'),
    level: 'trace',
  });
  const { legalTableDigest: _digest, ...rest } = options;
  const node = await startCore({ ...rest, legalTable, logger });
  process.on('SIGTERM', () => {
    void node
      .close()
      .then(() => closeLogger(logger))
      .then(() => process.exit(0));
  });
  process.stdout.write(`${JSON.stringify({ url: node.url, publicationUrl: node.publicationUrl })}\n`);
}

const passed = process.env[OPTIONS_ENV];
if (passed !== undefined && process.argv[1] === HERE) {
  main(JSON.parse(passed) as Portable).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
