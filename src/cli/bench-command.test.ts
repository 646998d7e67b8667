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
