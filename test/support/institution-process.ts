/**
 * An institution in an OS process of its own, started as a deployment starts it (`renkei node
 * institution --config <file>`), for tests that must kill it outright: `kill('SIGKILL')` ends it with
 * no chance to finish anything, as a crash or the OOM killer would.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { InstitutionConfig } from '../../src/network/node-config.ts';

const BIN = fileURLToPath(new URL('../../bin/renkei.js', import.meta.url));

export interface InstitutionProcess {
  readonly pid: number;
  readonly url: string;
  /** Send a signal and wait for the process to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Write the config to `<configDir>/<id>.yaml` and start the node; resolves at its ready line. */
export async function spawnInstitution(
  config: Omit<InstitutionConfig, 'node'>,
  configDir: string,
): Promise<InstitutionProcess> {
  const file = join(configDir, `institution-${config.institution.id}.yaml`);
  writeFileSync(file, stringify({ node: 'institution', ...config }), { mode: 0o600 });
  const child = spawn(process.execPath, [BIN, 'node', 'institution', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) resolve((JSON.parse(line) as { url: string }).url);
    });
    void exited.then(([code]) => reject(new Error(`the institution exited (${String(code)}): ${stderr}`)));
  });
  return {
    pid: child.pid ?? 0,
    url,
    kill: async (signal) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
