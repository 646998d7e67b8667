/**
 * Group commit in the core's store (src/shared/group-commit.ts): record changes issued together are
 * committed in one transaction, with their events in one Merkle append, and a caller hears of its
 * write only once it is committed. Run on SQLite and on PostgreSQL in its run.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeDatabase, type DatabaseTarget, type PostgresOption } from '../../shared/db.ts';
import { silentLogger } from '../../shared/logger.ts';
import { fixedClock } from '../../shared/clock.ts';
import { dropTestSchemas, testPostgres } from '../../shared/test-databases.ts';
import { openCoreStore, type KyselyCoreStore } from './kysely-store.ts';
import { RecordLogService } from './service/record-log.ts';
import { pendingInquiry } from './test-support.ts';

let dir: string;
let postgres: PostgresOption | undefined;
let target: DatabaseTarget;
const open: KyselyCoreStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-group-commit-'));
  postgres = testPostgres();
  target = nodeDatabase(postgres, join(dir, 'core.sqlite'), 'core');
});
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  await dropTestSchemas(postgres);
  rmSync(dir, { recursive: true, force: true });
});

async function store(): Promise<KyselyCoreStore> {
  const opened = await openCoreStore(target);
  open.push(opened);
  return opened;
}

async function verify(core: KyselyCoreStore) {
  return new RecordLogService({
    store: core,
    clock: fixedClock('2026-01-01T00:00:00.000Z'),
    logger: silentLogger(),
  }).verify();
}

describe('group commit in the core store', () => {
  it('writes record changes issued together, their events in call order, and a log that verifies', async () => {
    const core = await store();
    const numbers = Array.from({ length: 40 }, () => randomUUID());
    await Promise.all(numbers.map((pn) => core.recordInquiry(...pendingInquiry(pn))));
    const outcomes = await Promise.all(
      numbers.map((pn, i) =>
        core.recordOutcome(pn, i % 2 === 0 ? 'provided' : 'not_held', null, '2026-01-01T00:00:01.000Z'),
      ),
    );
    expect(outcomes.every((updated) => updated)).toBe(true);

    const events = await core.listRecordEvents(-1, 1000);
    expect(events.map((e) => e.idx)).toEqual(Array.from({ length: 80 }, (_, i) => i));
    expect(events.map((e) => (e.body === null ? null : e.processingNumber))).toEqual([
      ...numbers,
      ...numbers,
    ]);
    const report = await verify(core);
    expect(report.findings).toEqual([]);
    expect(report).toMatchObject({ events: 80, records: 40 });
  });

  it('undoes only the write that fails in a group: its neighbours commit, and it leaves no event', async () => {
    const core = await store();
    const taken = randomUUID();
    await core.recordInquiry(...pendingInquiry(taken));
    const fresh = Array.from({ length: 9 }, () => randomUUID());
    const calls = [...fresh.slice(0, 4), taken, ...fresh.slice(4)].map((pn) =>
      core.recordInquiry(...pendingInquiry(pn)),
    );
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual([
      ...Array<string>(4).fill('fulfilled'),
      'rejected',
      ...Array<string>(5).fill('fulfilled'),
    ]);
    for (const pn of fresh) expect((await core.findRecord(pn))?.record.outcome).toBe('pending');
    const events = await core.listRecordEvents(-1, 100);
    expect(events.length).toBe(10);
    expect((await verify(core)).findings).toEqual([]);
  });

  it('has every write it acknowledged in the database after its process is killed (SIGKILL)', async () => {
    // A writer process records inquiries 16 at a time and prints each processing number once its
    // promise resolves; it is killed mid-stream, with groups in flight.
    const kysely = fileURLToPath(new URL('./kysely-store.ts', import.meta.url));
    const support = fileURLToPath(new URL('./test-support.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `
        const { openCoreStore } = await import(${JSON.stringify(kysely)});
        const { randomUUID } = await import('node:crypto');
        const store = await openCoreStore(JSON.parse(process.argv[1]));
        const { pendingInquiry } = await import(${JSON.stringify(support)});
        const writer = async () => {
          for (;;) {
            const pn = randomUUID();
            await store.recordInquiry(...pendingInquiry(pn));
            process.stdout.write(pn + '\\n');
          }
        };
        await Promise.all(Array.from({ length: 16 }, writer));
        `,
        JSON.stringify(target),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const acknowledged: string[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        acknowledged.push(...lines);
        if (acknowledged.length >= 300) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`the writer exited on its own: ${stderr}`)));
    });
    expect(await exited).toBe('SIGKILL');

    const core = await store();
    const missing: string[] = [];
    for (const pn of acknowledged) if ((await core.findRecord(pn)) === undefined) missing.push(pn);
    expect(missing).toEqual([]);
    const report = await verify(core);
    expect(report.findings).toEqual([]);
    expect(report.records).toBeGreaterThanOrEqual(acknowledged.length);
  });
});
