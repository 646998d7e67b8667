/**
 * `renkei node <kind> --config <file>` as an operator runs it: configs shaped as examples/config/
 * (read from there, then pointed at a temp directory), each node a real process through
 * bin/renkei.js, reached over TLS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNodeConfig, NODE_KINDS } from '../network/node-config.ts';
import { demoOperator, ensureNetworkPki } from '../network/pki-setup.ts';
import { DEMO_INSTITUTIONS } from '../network/world.ts';
import { DEMO_ONESTOP_DIR } from '../nodes/portal/demo-onestop.ts';
import { readLog } from '../shared/logger.ts';
import { dropTestSchemas } from '../shared/test-databases.ts';
import { partyPaths, pkiPaths } from '../trust/pki/files.ts';
import { BIN, renkei } from './test-support.ts';

/** Several core processes need PostgreSQL: that test runs when the suite is given one (README, "Tests"). */
const POSTGRES = process.env.RENKEI_TEST_POSTGRES;
const EXAMPLES = fileURLToPath(new URL('../../examples/config/', import.meta.url));
const temp = mkdtempSync(join(tmpdir(), 'renkei-node-cli-'));
const institution = DEMO_INSTITUTIONS[0]!;
let pkiDir = '';
const running: ChildProcess[] = [];

beforeAll(async () => {
  pkiDir = await ensureNetworkPki({ dataDir: temp, institutions: [institution], portal: true });
}, 60_000);
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(temp, { recursive: true, force: true });
});

/** The example config for `kind`, with its machine-specific fields pointed at this test's files. */
function exampleConfig(kind: string, overrides: Record<string, unknown>): string {
  const example = parse(readFileSync(join(EXAMPLES, `${kind}.yaml`), 'utf8')) as Record<string, unknown>;
  const { database: _database, log: _log, ...rest } = example;
  const file = join(temp, `${kind}.yaml`);
  writeFileSync(file, stringify({ ...rest, dataDir: 'data', host: '127.0.0.1', port: 0, ...overrides }));
  return file;
}

/** Start a node and wait for its ready line. */
async function startNode(
  kind: string,
  config: string,
): Promise<{ child: ChildProcess; url: string; publicationUrl?: string }> {
  const child = spawn(process.execPath, [BIN, 'node', kind, '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
    });
    child.once('exit', (code) =>
      reject(new Error(`renkei node ${kind} exited (${String(code)}): ${stderr}`)),
    );
  });
  const ready = JSON.parse(line) as { ready: string; url: string; publicationUrl?: string; pid: number };
  expect(ready.pid).toBe(child.pid);
  return { child, url: ready.url, ...(ready.publicationUrl ? { publicationUrl: ready.publicationUrl } : {}) };
}

/** GET /healthz over TLS, trusting only the network's CA. */
function healthz(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/healthz`, { ca: readFileSync(pkiPaths(pkiDir).caBundle) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET /readyz over TLS, trusting only the network's CA: its status and body. */
function readyz(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/readyz`, { ca: readFileSync(pkiPaths(pkiDir).caBundle) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET /metrics over TLS as the demo monitoring party, the text of a 200 (fails otherwise). */
function scrape(url: string): Promise<string> {
  const party = partyPaths(pkiDir, demoOperator('monitoring'));
  return new Promise((resolve, reject) => {
    const options = {
      ca: readFileSync(pkiPaths(pkiDir).caBundle),
      key: readFileSync(party.identityKey),
      cert: readFileSync(party.identityCert),
      agent: false as const, // a new connection each time, as a scraper's may land on any worker
    };
    const req = request(`${url}/metrics`, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(text) : reject(new Error(`HTTP ${res.statusCode}: ${text}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** The core workers whose process figures a scrape holds, by their `worker` label. */
const workersIn = (text: string) =>
  [...text.matchAll(/^process_cpu_seconds_total\{worker="([^"]+)"\}/gm)].map((m) => m[1]).sort();

/** Poll until `done`; fails after `ms`. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > ms) throw new Error(`not done within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

describe('renkei node', () => {
  it('reads every example config as valid', () => {
    for (const kind of NODE_KINDS) {
      expect(loadNodeConfig(kind, join(EXAMPLES, `${kind}.yaml`)).node).toBe(kind);
    }
  });

  it('runs the core, J-LIS and an institution from example-shaped configs, each answering over TLS, and stops each on SIGTERM with exit 0', async () => {
    const core = await startNode(
      'core',
      exampleConfig('core', { pki: { dir: pkiDir }, publicationPort: 0, workers: 1 }),
    );
    expect(core.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const peerPki = { dir: pkiDir, crlUrl: `${core.publicationUrl ?? ''}/pki/v1/crl` };
    // J-LIS asked to keep more free than any disk here has (1 TiB): unready, as a node on a full disk.
    const jlis = await startNode(
      'jlis',
      exampleConfig('jlis', { pki: peerPki, coreUrl: core.url, minFreeDiskMiB: 1_048_576 }),
    );
    const node = await startNode(
      'institution',
      exampleConfig('institution', {
        pki: peerPki,
        coreUrl: core.url,
        jlisUrl: jlis.url,
        institution: { id: institution.id, kind: institution.kind },
      }),
    );
    for (const started of [core, jlis, node]) expect(await healthz(started.url)).toBe(200);
    expect((await readyz(core.url)).status).toBe(200);
    // The portal: ぴったりサービス only where its config names the directory, never the demo's unasked.
    const portalConfig = (onestop?: string) =>
      exampleConfig('portal', {
        pki: peerPki,
        coreUrl: core.url,
        jlisUrl: jlis.url,
        jpkiPublicationUrl: jlis.publicationUrl,
        networkPort: 0,
        jpkiCaBundle: undefined,
        webTls: undefined,
        apiClients: undefined,
        origin: undefined,
        onestop,
      });
    const bare = await startNode('portal', portalConfig());
    expect((await fetch(`${bare.url}/login`)).status).toBe(200);
    expect((await fetch(`${bare.url}/services`, { redirect: 'manual' })).status).toBe(404);
    expect(await stop(bare.child)).toBe(0);
    cpSync(DEMO_ONESTOP_DIR, join(temp, 'onestop'), { recursive: true });
    const withOnestop = await startNode('portal', portalConfig('onestop')); // relative to the config file
    // The finder is there now, behind the login as every resident's page.
    const finder = await fetch(`${withOnestop.url}/services`, { redirect: 'manual' });
    expect(finder.status).toBe(303);
    expect(finder.headers.get('location')).toMatch(/^\/login\b/);
    expect(await stop(withOnestop.child)).toBe(0);
    const missing = await renkei('node', 'portal', '--config', portalConfig('no-such-dir'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('ERR_CONFIG_INVALID');
    expect(missing.stderr).toContain(join(temp, 'no-such-dir', 'catalogue.yaml'));
    const unready = await readyz(jlis.url);
    expect(unready.status).toBe(503);
    expect(JSON.parse(unready.body)).toMatchObject({
      error: { code: 'ERR_STORAGE_FULL', details: { minimumBytes: 1_048_576 * 1024 * 1024 } },
    });
    // Backed up while it runs, as an operator does every night: the core's databases and master keys.
    const backup = await renkei(
      'backup',
      'core',
      '--config',
      join(temp, 'core.yaml'),
      '--to',
      join(temp, 'backup'),
    );
    expect(backup.stderr).toContain('backup: core.sqlite (database)');
    expect(backup.stdout).toMatch(/│ master-keys\.json\s+│ file\s+│/);
    expect(backup.stdout).toContain(`core: 4 files`);
    expect(backup.status).toBe(0);
    for (const started of [node, jlis, core]) expect(await stop(started.child)).toBe(0);
    // Restored into a data directory of its own, the core starts on it and answers.
    cpSync(join(temp, 'backup'), join(temp, 'restored', 'core'), { recursive: true });
    rmSync(join(temp, 'restored', 'core', 'backup.json'));
    const restored = await startNode(
      'core',
      exampleConfig('core', { dataDir: 'restored', pki: { dir: pkiDir }, publicationPort: 0, workers: 1 }),
    );
    expect(await healthz(restored.url)).toBe(200);
    expect((await readyz(restored.url)).status).toBe(200);
    expect(await stop(restored.child)).toBe(0);
    // With the same master keys, not new ones: every code the network issued still converts.
    expect(readFileSync(join(temp, 'restored', 'core', 'master-keys.json'), 'utf8')).toBe(
      readFileSync(join(temp, 'data', 'core', 'master-keys.json'), 'utf8'),
    );
    // Each logged to its own file under the data directory, relative to the config file.
    const log = readLog(join(temp, 'data', 'logs', `institution-${institution.id}.log`));
    expect(log).toContain('institution node started');
  }, 120_000);

  it('refuses a bad config naming each wrong field, and never its value', async () => {
    const file = join(temp, 'bad.yaml');
    writeFileSync(
      file,
      stringify({
        node: 'jlis',
        dataDir: 'data',
        port: 70_000,
        pki: { dir: pkiDir },
        coreUrl: 'https://core.example:7100/v1',
        database: 'mysql://renkei:s3cret@db.example/renkei',
        colour: 'blue',
      }),
    );
    const run = await renkei('node', 'jlis', '--config', file);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ERR_CONFIG_INVALID: /);
    for (const field of ['port', 'pki.crlUrl', 'coreUrl', 'database', 'colour']) {
      expect(run.stderr).toContain(`${field}:`);
    }
    expect(run.stderr).not.toContain('s3cret');
    expect(run.stdout).toBe('');
  });

  it('refuses several core processes on SQLite, whose file belongs to one process', async () => {
    const run = await renkei(
      'node',
      'core',
      '--config',
      exampleConfig('core', { pki: { dir: pkiDir }, workers: 2 }),
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ERR_CONFIG_INVALID: workers: .*PostgreSQL/);
  });

  it.skipIf(!POSTGRES)(
    'runs the core as several processes on one port over PostgreSQL, and restarts a worker that is killed',
    async () => {
      const database = { url: POSTGRES ?? '', schemaPrefix: `w${randomBytes(4).toString('hex')}_` };
      try {
        const config = exampleConfig('core', {
          dataDir: 'workers',
          pki: { dir: pkiDir },
          publicationPort: 0,
          workers: 2,
          database,
        });
        const child = spawn(process.execPath, [BIN, 'node', 'core', '--config', config], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        running.push(child);
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        await until(() => stdout.includes('\n') || child.exitCode !== null, 60_000);
        const ready = JSON.parse(stdout.split('\n')[0] ?? '') as {
          url: string;
          pid: number;
          workers: number[];
        };
        expect(ready.workers).toHaveLength(2);
        expect(new Set([ready.pid, ...ready.workers]).size).toBe(3);
        for (let i = 0; i < 4; i++) expect(await healthz(ready.url)).toBe(200);
        // Whichever worker a scrape reaches, it answers every worker's figures, each family once.
        const ids = [`${hostname()}#1`, `${hostname()}#2`];
        for (let i = 0; i < 4; i++) {
          const text = await scrape(ready.url);
          expect(workersIn(text)).toEqual(ids);
          for (const id of ids)
            expect(text).toMatch(new RegExp(`^process_start_time_seconds\\{worker="${id}"\\} \\d+`, 'm'));
          expect(text.match(/^# TYPE renkei_http_request_duration_seconds /gm)).toHaveLength(1);
          expect(text).toMatch(/^renkei_http_request_duration_seconds_count\{.*worker="[^"]+#[12]"\} \d+/m);
        }

        process.kill(ready.workers[0] ?? 0, 'SIGKILL');
        await until(() => stderr.includes('core worker 1 restarted'), 60_000);
        expect(stderr).toContain(`core worker 1 (process ${ready.workers[0]}) exited (signal SIGKILL)`);
        for (let i = 0; i < 4; i++) expect(await healthz(ready.url)).toBe(200);
        expect(workersIn(await scrape(ready.url))).toEqual(ids);
        const restarted = Number(/core worker 1 restarted \(process (\d+)\)/.exec(stderr)?.[1]);

        expect(await stop(child)).toBe(0);
        expect([ready.workers[1], restarted].filter((pid) => pid !== undefined && alive(pid))).toEqual([]);
      } finally {
        await dropTestSchemas({ ...database });
      }
    },
    120_000,
  );

  it('refuses a config written for another node', async () => {
    const run = await renkei('node', 'core', '--config', join(EXAMPLES, 'jlis.yaml'));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('ERR_CONFIG_INVALID');
    expect(run.stderr).toContain('node:');
  });
});
