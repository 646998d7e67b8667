import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { RenkeiError } from '../shared/errors.ts';
import { launchNetwork, type Network } from './launch.ts';
import { DEMO_INSTITUTIONS } from './world.ts';

const legalTable = loadLegalTable();
const institutions = DEMO_INSTITUTIONS.slice(0, 2);
let dir: string;
const open: Network[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-launch-'));
});
afterEach(async () => {
  for (const network of open.splice(0)) await network.close();
  rmSync(dir, { recursive: true, force: true });
});

async function launch(basePort = 0): Promise<Network> {
  const network = await launchNetwork({ dataDir: dir, legalTable, institutions, basePort });
  open.push(network);
  return network;
}

async function failure(basePort = 0): Promise<RenkeiError> {
  try {
    await launch(basePort);
  } catch (error) {
    if (error instanceof RenkeiError) return error;
    throw error;
  }
  throw new Error('the launch succeeded');
}

describe('launching a network', () => {
  it('refuses a second network on the same data directory, leaving the first one serving', async () => {
    const first = await launch();
    const refused = await failure();
    expect(refused.code).toBe('ERR_DATA_DIR_IN_USE');
    expect(refused.message).toContain('--data-dir');
    const registered = await first.admin().listInstitutions();
    expect(registered.institutions.map((i) => i.networkUrl).sort()).toEqual(
      [...first.institutions.values()].map((n) => n.url).sort(),
    );
  });

  it('reports a port in use with the way out, and leaves nothing held behind', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      const refused = await failure(address.port); // the core's port is taken
      expect(refused.code).toBe('ERR_PORT_IN_USE');
      expect(refused.message).toContain(`Port ${address.port}`);
      expect(refused.message).toContain('--port-base');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
    // The failed launch released its data directory: the next one starts.
    const network = await launch();
    expect(network.institutions.size).toBe(2);
  });
});
