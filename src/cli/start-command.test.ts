/**
 * `npm start` (`renkei start`) as a newcomer runs it: a real child process through bin/renkei.js,
 * which runs every node as a process of its own, stopped with Ctrl-C's signal.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient } from '../protocol/api.ts';
import { credentialTransport } from '../protocol/client-credentials.ts';
import { businessApi } from '../protocol/routes.ts';
import { systemClock } from '../shared/clock.ts';
import { pkiPaths } from '../trust/pki/files.ts';
import { clause74Inquiry } from '../../test/support/demo-network.ts';
import { BIN, renkei } from './test-support.ts';

const temp = mkdtempSync(join(tmpdir(), 'renkei-start-cli-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** Resolves when the output so far contains `text`; rejects after `ms`. */
function waitFor(output: () => string, text: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = setInterval(() => {
      if (output().includes(text)) {
        clearInterval(check);
        resolve();
      } else if (Date.now() - started > ms) {
        clearInterval(check);
        reject(new Error(`no "${text}" within ${ms} ms; output so far:\n${output()}`));
      }
    }, 100);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('renkei start', () => {
  it('runs every node as its own process, restarts one that is killed, and stops them all on Ctrl-C', async () => {
    const child = spawn(process.execPath, [BIN, '--data-dir', temp, 'start', '--port-base', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const pids = new Map<string, number>();
    try {
      await waitFor(() => stdout + stderr, 'Press Ctrl-C to stop.', 150_000);
      // The table: │ node │ name │ URL │ clerk console │ process │ (no colour: stdout is not a terminal).
      const rows = stdout
        .split('\n')
        .map((line) => line.split('│').map((cell) => cell.trim()))
        .filter((cells) => cells.length === 7 && /^\d+$/.test(cells[5] ?? ''));
      for (const cells of rows) pids.set(cells[1] ?? '', Number(cells[5]));
      const urls = new Map(rows.map((cells) => [cells[1] ?? '', cells[3] ?? '']));
      expect(pids.size).toBe(16); // core, J-LIS, the corporate-number service, twelve institutions, the portal
      expect(new Set(pids.values()).size).toBe(16);
      expect([...pids.values()]).not.toContain(child.pid);
      expect([...pids.values()].every(alive)).toBe(true);
      // J-LIS's JPKI publication, as printed: its signing CRL is served, in DER (a SEQUENCE).
      const jpki = /JPKI \(plain HTTP, public\): (\S+)\/jpki\/v1\/crl\/signing/.exec(stdout)?.[1];
      expect(jpki, stdout).toBeDefined();
      const crl = await fetch(`${jpki ?? ''}/jpki/v1/crl/signing`);
      expect(crl.status).toBe(200);
      expect(new Uint8Array(await crl.arrayBuffer())[0]).toBe(0x30);
      // The Myna Portal, as printed: its login page links to the card reader, which holds the demo cards.
      const portal = /Myna Portal: (\S+)\/login +\(card reader (\S+);/.exec(stdout);
      expect(portal, stdout).not.toBeNull();
      const login = await (await fetch(`${portal?.[1] ?? ''}/login`)).text();
      expect(login).toContain(`${portal?.[2] ?? ''}/sign?`);
      // With the demo's ぴったりサービス, which its config names: the finder is there, behind the login.
      const finder = await fetch(`${portal?.[1] ?? ''}/services`, { redirect: 'manual' });
      expect(finder.status).toBe(303);
      const reader = await (await fetch(portal?.[2] ?? '')).text();
      expect(reader).toContain('yamada-taro');
      // デモ家計簿アプリ, registered with the portal: it sends the resident to the portal's authorization
      // endpoint with PKCE, which takes the request (its login interaction, not an error page).
      const kakeibo = /デモ家計簿アプリ \(a client of the portal's 自己情報取得API\): (\S+)\//.exec(stdout);
      expect(kakeibo, stdout).not.toBeNull();
      const connect = await fetch(`${kakeibo?.[1] ?? ''}/connect`, { redirect: 'manual' });
      const authorize = new URL(connect.headers.get('location') ?? '');
      expect(authorize.href.startsWith(`${portal?.[1] ?? ''}/oidc/auth?`)).toBe(true);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      const interaction = await fetch(authorize, { redirect: 'manual' });
      expect(interaction.status).toBe(303);
      expect(interaction.headers.get('location')).toMatch(/\/oidc-interaction\//);
      // The core's console (operators, the oversight commission), as printed: its login page.
      const coreConsole = /Core console: (\S+)\/login/.exec(stdout)?.[1];
      expect(coreConsole, stdout).toBeDefined();
      expect(await (await fetch(`${coreConsole ?? ''}/login`)).text()).toContain('name="_csrf"');

      const pkiDir = join(temp, 'network', 'pki');
      const transport = await credentialTransport({
        pkiDir,
        parties: ['152048:business'],
        clock: systemClock,
        crl: { file: pkiPaths(pkiDir).crlDer },
        timeoutMs: 30_000,
      });
      const clerk = createClient(businessApi, {
        transport,
        baseUrl: urls.get('institution:152048') ?? '',
        peer: 'institution 152048',
        party: '152048',
      });
      const world = JSON.parse(readFileSync(join(temp, 'network', 'world.json'), 'utf8')) as {
        resident: string;
        addressees: Record<string, string>;
      }[];
      const addresseeNumber = world.find((r) => r.resident === 'yamada-taro')?.addressees['152048'] ?? '';
      const exchange = async () => {
        const accepted = await clerk.inquire(clause74Inquiry(addresseeNumber));
        const answer = await clerk.getInquiry({
          params: { processingNumber: accepted.processingNumber },
          query: { waitMs: 20_000 },
        });
        return answer.outcome;
      };
      try {
        expect(await exchange()).toBe('provided');
        // The example it prints runs as printed, against this network's data directory.
        const printed = /^ {2}npx renkei (--data-dir \S+ inquiry send .*)$/m.exec(stdout)?.[1];
        expect(printed, stdout).toContain(`--addressee ${addresseeNumber} `);
        const example = await renkei(...(printed ?? '').split(' '));
        expect(example.stderr).toBe('');
        expect(example.stdout).toMatch(/│ answered\s+│ provided\s+│/);

        // The provider dies; the supervisor says so, restarts it on the same port, and it answers again.
        const provider = pids.get('institution:131041') ?? 0;
        process.kill(provider, 'SIGKILL');
        await waitFor(() => stdout, 'institution:131041 restarted', 60_000);
        expect(stdout).toContain(
          `institution:131041 (process ${provider}) exited unexpectedly (signal SIGKILL)`,
        );
        const restarted = Number(/institution:131041 restarted \(process (\d+)\)/.exec(stdout)?.[1]);
        expect(alive(restarted)).toBe(true);
        pids.set('institution:131041', restarted);
        expect(await exchange()).toBe('provided');
      } finally {
        await transport.close();
      }
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect([...pids].filter(([, pid]) => alive(pid))).toEqual([]);
    expect(stderr).toBe('');
    expect(stdout).not.toContain('Warning');
  }, 240_000);

  it("refuses to start when the core's port is taken, naming it, and leaves no node running", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const other = mkdtempSync(join(tmpdir(), 'renkei-start-taken-'));
    try {
      const run = await renkei('--data-dir', other, 'start', '--port-base', String(address.port));
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^ERR_PORT_IN_USE: core: Port ${address.port} `));
      // The core's lock is free again: its process is gone.
      expect(existsSync(join(other, 'network', 'core', 'core.lock'))).toBe(false);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      rmSync(other, { recursive: true, force: true });
    }
  }, 60_000);
});
