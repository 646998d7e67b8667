/**
 * `renkei bench` as a person runs it: a real child process through bin/renkei.js.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { renkei } from './test-support.ts';

const temp = mkdtempSync(join(tmpdir(), 'renkei-bench-cli-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('renkei bench', () => {
  it('caps --concurrency at 10000, and says so in --help', async () => {
    const [over, help] = await Promise.all([
      renkei('--data-dir', temp, 'bench', '--concurrency', '10001'),
      renkei('bench', '--help'),
    ]);
    expect(over.status).toBe(1);
    expect(over.stderr.trim()).toBe('ERR_VALIDATION: --concurrency must be a whole number from 1 to 10000.');
    expect(help.stdout).toMatch(/--concurrency <n>\s+exchanges in flight at once, at most 10000/);
  });

  it('refuses a --warmup that is not a whole number, and says what it is for in --help', async () => {
    const [bad, help] = await Promise.all([
      renkei('--data-dir', temp, 'bench', '--warmup', '-1'),
      renkei('bench', '--help'),
    ]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe('ERR_VALIDATION: --warmup must be a whole number from 0 to 10000000.');
    expect(help.stdout).toMatch(/--warmup <n>\s+exchanges run unmeasured before measuring/);
  });

  it("prints the CPU floor the brief's decisions set per exchange: each operation's cost times its count, summed", async () => {
    const [run, bad] = await Promise.all([
      renkei('bench', '--unit-costs', '200'),
      renkei('bench', '--unit-costs', '10'),
    ]);
    expect(run.status).toBe(0);
    const rows = [...run.stdout.matchAll(/^│ (.+?)\s+│ ([\d.]+)\s+│ (\d+)\s+│ (\d+)\s+│$/gm)];
    expect(rows.map((row) => row[1])).toEqual([
      'HTTPS request, mutual TLS 1.3, keep-alive, 1 KB each way (both ends)',
      'ES256 signature (node:crypto, as every message is signed)',
      'ES256 verification',
      "seal the items (ECDH-ES P-256 + A256GCM, to the requester's key)",
      'open the sealed items',
      'record written and committed (SQLite, WAL, one row and its leaf hash)',
    ]);
    for (const row of rows) expect(Number(row[2]) * Number(row[3])).toBeCloseTo(Number(row[4]), -1);
    const floor = Number(/│ floor: one message per hop\s+│\s+│\s+│ (\d+)/.exec(run.stdout)?.[1]);
    const sum = rows.reduce((total, row) => total + Number(row[2]) * Number(row[3]), 0);
    expect(Math.abs(floor - sum)).toBeLessThanOrEqual(2); // the rows show each figure to 0.1 µs
    expect(run.stdout).toContain(`takes at least ${(floor / 1000).toFixed(2)} CPU ms here`);
    // In batches: one send of one is the floor itself; larger sends share all but the clerk's request.
    const batched = [...run.stdout.matchAll(/^│ (\d+)\s+│ (\d+)\s+│ (\d+)\s+│ ([\d.]+)\s+│ (\d+) ms\s+│$/gm)];
    expect(batched.map((row) => Number(row[1]))).toEqual([1, 2, 5, 10, 20, 50]);
    expect(Math.abs(Number(batched[0]?.[2]) - floor)).toBeLessThanOrEqual(1);
    const https = Number(rows[0]?.[2]);
    for (const row of batched) {
      expect(Number(row[2])).toBeCloseTo(https + (floor - https) / Number(row[1]), -1);
    }
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe(
      'ERR_VALIDATION: --unit-costs must be a whole number from 100 to 1000000.',
    );
  });

  it('measures the secured path through one process per node', async () => {
    const run = await renkei('--data-dir', temp, 'bench', '--persons', '1', '--count', '1');
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('secured: starting the network, one process per node…');
    expect(run.stdout).toMatch(/│ secured\s+│ 1 .*provided: 1/);
    expect(run.stdout).toContain('One OS process per node');
    // Four node processes start one after another: slow on a busy machine.
  }, 120_000);

  it('measures the bare and the secured path in one run in process, and speaks of one resident in the singular', async () => {
    const run = await renkei('--data-dir', temp, 'bench', '--in-process', '--persons', '1', '--count', '1');
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('bare: seeding 1 resident…');
    expect(run.stderr).toContain('secured: seeding 1 resident…');
    expect(run.stdout).toMatch(/│ bare\s+│ 1 .*provided: 1/);
    expect(run.stdout).toMatch(/│ secured\s+│ 1 .*provided: 1/);
  });

  it('puts several inquiries in each clerk request with --per-request, on both paths and the bare chain, counting exchanges', async () => {
    const run = await renkei(
      ...['--data-dir', temp, 'bench', '--in-process', '--persons', '2', '--count', '5'],
      ...['--per-request', '3', '--concurrency', '2', '--baseline'],
    );
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('bench: --count 5 is measured as 6: whole requests of 3.');
    for (const path of ['bare', 'secured', 'bare chain']) {
      expect(run.stdout).toMatch(new RegExp(`│ ${path}\\s+│ 6\\s+│ 2 × 3\\s+│.*provided: 6`));
    }
    expect(run.stdout).toContain('Each clerk’s POST carries 3 inquiries');
  });

  it('refuses --workers above 1 without --database (core processes share one PostgreSQL database)', async () => {
    const run = await renkei('--data-dir', temp, 'bench', '--workers', '2', '--count', '1');
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      'ERR_VALIDATION: --workers above 1 needs --database: core processes share one PostgreSQL database.',
    );
  });

  const postgres = process.env.RENKEI_TEST_POSTGRES;
  it.skipIf(postgres === undefined)(
    'runs the network on PostgreSQL with --database, counts the server’s CPU, and drops its schemas afterwards',
    async () => {
      const benchSchemas = async () => {
        const client = new pg.Client({ connectionString: postgres });
        await client.connect();
        try {
          const { rows } = await client.query<{ n: string }>(
            "select count(*) as n from pg_namespace where nspname like 'bench%'",
          );
          return Number(rows[0]!.n);
        } finally {
          await client.end();
        }
      };
      const before = await benchSchemas();
      const run = await renkei(
        '--data-dir',
        temp,
        'bench',
        '--database',
        postgres!,
        '--persons',
        '1',
        // Enough for the server's CPU to show: /proc counts it in 10 ms ticks, and 5 exchanges (about
        // 3 ms of it) once read 0.00.
        '--count',
        '200',
      );
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/│ secured\s+│ 200 .*provided: 200/);
      const pgCpu = /PostgreSQL (\d+\.\d+)/.exec(run.stdout);
      expect(Number(pgCpu?.[1])).toBeGreaterThan(0);
      // Read from the core's schema: the warm-up's 200 and the 200 measured.
      expect(run.stdout).toMatch(
        /Sends to the core \(warm-up included\): secured: 400 inquiries in \d+ sends/,
      );
      expect(await benchSchemas()).toBe(before);
    },
    180_000,
  );
});
