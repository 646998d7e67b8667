/**
 * The core in an OS process of its own, for tests that must look at the core alone (its heap, its
 * files): `spawnCore` is a `LaunchOptions.startCore` that writes the options the launcher chose into
 * a core config file and runs `renkei node core --config <file>`, as a deployment does, logging to
 * the core's usual log file at the most verbose level (`trace`).
 *
 * The legal table and the clock cannot cross a process boundary: the child loads the same legal
 * table (`loadLegalTable()`) and uses the system clock, as the launcher does by default.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { CoreConfig } from '../../src/network/node-config.ts';
import type { StartCoreOptions } from '../../src/nodes/core/main.ts';
import type { RunningNode } from '../../src/shared/node.ts';

const BIN = fileURLToPath(new URL('../../bin/renkei.js', import.meta.url));

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
    if (!options.security) throw new TypeError('spawnCore: renkei node core runs with the trust layer only');
    const config: CoreConfig = {
      node: 'core',
      dataDir: options.dataDir,
      port: options.port,
      pki: {
        dir: options.security.pkiDir,
        ...(options.security.revocationMaxAgeMs === undefined
          ? {}
          : { revocationMaxAgeMs: options.security.revocationMaxAgeMs }),
      },
      ...(options.publicationPort === undefined ? {} : { publicationPort: options.publicationPort }),
      ...(options.retentionYears === undefined ? {} : { retentionYears: options.retentionYears }),
      ...(options.postgres === undefined ? {} : { database: options.postgres }),
      log: { file: join(options.dataDir, 'logs', 'core.log'), level: 'trace' },
    };
    const file = join(diagnosticDir, 'core.yaml');
    writeFileSync(file, stringify(config), { mode: 0o600 });
    const child = spawn(
      process.execPath,
      [
        '--heapsnapshot-signal=SIGUSR2',
        `--diagnostic-dir=${diagnosticDir}`,
        BIN,
        'node',
        'core',
        '--config',
        file,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
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
